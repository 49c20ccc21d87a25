#[corun::entry]
async fn main(argc: i32, argv: Vec<String>) {}
