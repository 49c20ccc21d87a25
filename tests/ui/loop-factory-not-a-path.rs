#[corun::entry(loop_factory = || corun::loops::DefaultLoop::new())]
async fn main() {}
