#[corun::entry(workers = 2.5)]
async fn main() {}
