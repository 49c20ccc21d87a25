#[corun::entry(workers = "4")]
async fn main() {}
