const WORKERS: &str = "4";

#[corun::entry(workers = WORKERS)]
async fn main() {}
