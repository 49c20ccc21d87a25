// A factory is called with no arguments: one that takes parameters is not one.

fn make_loop(_clock_start: u64) -> corun::loops::VirtualTimeLoop {
    corun::loops::VirtualTimeLoop::new()
}

#[corun::entry(loop_factory = make_loop)]
async fn main() {}
