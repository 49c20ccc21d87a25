//! One run per thread: several threads each run their own loop at the same time.
//! Run: `cargo run --example runs_in_threads`

use std::time::Duration;

fn main() {
    let threads: Vec<_> = (0..3)
        .map(|n| {
            std::thread::spawn(move || {
                corun::run(async move {
                    corun::sleep(Duration::from_millis(10 * (3 - n))).await;
                    let task = corun::spawn(async move { n * 10 });
                    task.await
                })
            })
        })
        .collect();
    for (n, thread) in threads.into_iter().enumerate() {
        println!("thread {n}'s run returned {}", thread.join().unwrap());
    }
}
