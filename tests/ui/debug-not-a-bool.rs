#[corun::entry(debug = 1)]
async fn main() {}
