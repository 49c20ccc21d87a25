#[corun::entry(flavor = "current_thread")]
async fn main() {}
