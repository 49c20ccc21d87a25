#[corun::entry]
const async fn main() {}
