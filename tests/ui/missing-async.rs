#[corun::entry]
fn main() {
    println!("not a coroutine");
}
