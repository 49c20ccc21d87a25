//! `#[corun::entry(debug)]` turns the loop's debug mode on whatever `CORUN_DEBUG` says (try `CORUN_DEBUG=0`). Run with `cargo run --example entry_debug`.

use std::time::Duration;

#[corun::entry(debug)]
async fn main() {
    println!("debug mode: {}", corun::is_debug());
    // In debug mode the loop reports, on stderr, any single poll that holds it longer than the
    // slow-poll threshold (100 ms by default), naming the task and where it was spawned.
    let blocker = corun::spawn_named("blocker", async {
        std::thread::sleep(Duration::from_millis(150));
    });
    blocker.await;
}
