//! Debug mode names a task that blocks the loop: `cargo run --example debug`.
//!
//! `corun::Config::new().debug(true)` is what `#[corun::entry(debug)]` or `CORUN_DEBUG=1` turn on.
//! Expect a "slow poll" line naming the task `checksum` and the line that spawned it, then a
//! "cancelled at shutdown" line for the `heartbeat` task that main left running.

use std::time::Duration;

fn main() {
    corun::Config::new()
        .debug(true)
        .slow_poll_threshold(Duration::from_millis(50))
        .run(async {
            let heartbeat = corun::spawn_named("heartbeat", async {
                loop {
                    corun::sleep(Duration::from_millis(10)).await;
                }
            });
            // A blocking call inside async code holds the whole loop: the heartbeat stops too.
            let checksum = corun::spawn_named("checksum", async {
                std::thread::sleep(Duration::from_millis(200));
                42
            });
            println!("checksum = {}", checksum.await);
            drop(heartbeat); // Detached: the end of the run cancels it.
        });
}
