//! `loop_factory` with `VirtualTimeLoop`: an hour of sleeping and a timeout, in no real time.
//! Run: `cargo run --example virtual_time`

use std::time::{Duration, Instant};

use corun::{loops::VirtualTimeLoop, Config};

fn main() {
    let real_start = Instant::now();
    let virtual_elapsed = Config::new().loop_factory(VirtualTimeLoop::new).run(async {
        let start = corun::now();
        corun::sleep(Duration::from_secs(3600)).await;
        let late = corun::timeout(
            Duration::from_secs(60),
            corun::sleep(Duration::from_secs(600)),
        );
        assert!(late.await.is_err());
        corun::now() - start
    });
    println!(
        "virtual time passed: {virtual_elapsed:?}; real time: {:?}",
        real_start.elapsed()
    );
}
