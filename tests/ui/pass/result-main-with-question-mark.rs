// `-> Result<(), Box<dyn Error>>` with `?` in the body, as in any `fn main`.

use std::error::Error;

#[corun::entry]
async fn main() -> Result<(), Box<dyn Error>> {
    let number: u32 = "42".parse()?;
    let doubled = corun::spawn(async move { number * 2 }).await;
    if doubled != 84 {
        return Err("wrong answer".into());
    }
    Ok(())
}
