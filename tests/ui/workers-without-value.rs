#[corun::entry(debug, workers)]
async fn main() {}
