#[corun::entry(debug, debug = false)]
async fn main() {}
