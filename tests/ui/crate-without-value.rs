#[corun::entry(crate)]
async fn main() {}
