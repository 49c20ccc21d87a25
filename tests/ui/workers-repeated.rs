#[corun::entry(workers = 2, loop_factory = corun::loops::DefaultLoop::new, workers = 4)]
async fn main() {}
