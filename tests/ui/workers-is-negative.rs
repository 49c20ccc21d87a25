#[corun::entry(workers = -1)]
async fn main() {}
