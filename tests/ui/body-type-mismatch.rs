#[corun::entry]
async fn main() -> Result<(), std::io::Error> {
    let answer: u32 = 42;
    answer
}
