#[corun::entry(debug true)]
async fn main() {}
