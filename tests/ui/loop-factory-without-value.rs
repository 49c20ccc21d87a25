#[corun::entry(loop_factory)]
async fn main() {}
