#[corun::entry(flavor = "current_thread", debug = "yes", loop_factory, debug)]
async fn main() {}
