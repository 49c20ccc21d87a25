//! `#[corun::entry(loop_factory = ...)]` runs main on another loop: an hour of virtual time passes at once. Run with `cargo run --example entry_loop_factory`.

use std::time::{Duration, Instant};

#[corun::entry(loop_factory = corun::loops::VirtualTimeLoop::new)]
async fn main() {
    let wall_clock = Instant::now();
    let loop_clock = corun::now();
    corun::sleep(Duration::from_secs(3600)).await;
    println!(
        "slept {:?} on the loop's clock in {:?} of real time",
        corun::now() - loop_clock,
        wall_clock.elapsed()
    );
}
