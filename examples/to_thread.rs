//! `to_thread` runs blocking work on the loop's thread pool while the loop keeps running tasks,
//! and `Handle::spawn` starts tasks on the loop from another thread.
//! Run: `cargo run --example to_thread`

use std::thread;
use std::time::{Duration, Instant};

fn main() {
    let start = Instant::now();
    let total = corun::run(async {
        // A ticker on the loop: it keeps ticking while the threads block.
        let ticker = corun::spawn(async {
            let mut ticks = 0;
            while ticks < 5 {
                corun::sleep(Duration::from_millis(20)).await;
                ticks += 1;
                println!("tick {ticks}");
            }
            ticks
        });
        // Three blocking jobs, run side by side on pool threads.
        let jobs = (1..=3u64).map(|n| {
            corun::to_thread(move || {
                thread::sleep(Duration::from_millis(50 * n));
                println!(
                    "job {n} done on {:?}",
                    thread::current().name().unwrap_or("?")
                );
                n * 10
            })
        });
        let results = corun::gather_all(jobs).await;
        // Another thread hands work back to the loop through a Handle.
        let handle = corun::Handle::current();
        let from_thread = thread::spawn(move || handle.spawn(async { 4 }))
            .join()
            .expect("the spawning thread does not panic");
        ticker.await;
        results.iter().sum::<u64>() + from_thread.await
    });
    println!("total {total} after {:?}", start.elapsed());
    assert_eq!(total, 64);
}
