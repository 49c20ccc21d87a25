//! Threads side by side with tokio (current-thread runtime): a `to_thread` round trip against
//! `spawn_blocking`, and `Handle::spawn` from another thread against tokio's `Handle::spawn`.
//! Run: `cargo bench --bench threads`

use std::hint::black_box;
use std::thread;
use std::time::{Duration, Instant};

use futures::channel::oneshot;

/// Samples per measurement; the median is reported.
const SAMPLES: usize = 9;
/// Operations per sample.
const OPS: u32 = 2_000;
/// Tasks per burst in the burst measurement.
const BURST: u32 = 10_000;

fn main() {
    println!("threads: median of {SAMPLES} samples, per operation");
    println!("{:<44} {:>12} {:>12} {:>8}", "", "corun", "tokio", "ratio");
    row(
        "to_thread vs spawn_blocking (round trip)",
        OPS,
        corun_to_thread,
        tokio_spawn_blocking,
    );
    row(
        "Handle::spawn from a thread (round trip)",
        OPS,
        corun_handle_round_trip,
        tokio_handle_round_trip,
    );
    row(
        "Handle::spawn from a thread (burst of 10k)",
        BURST,
        corun_handle_burst,
        tokio_handle_burst,
    );
}

/// Prints one line: the median time per operation of each side and corun / tokio.
fn row(name: &str, ops: u32, corun: fn() -> Duration, tokio: fn() -> Duration) {
    let corun = median(corun) / ops;
    let tokio = median(tokio) / ops;
    let ratio = corun.as_secs_f64() / tokio.as_secs_f64();
    println!(
        "{name:<44} {:>12} {:>12} {ratio:>7.2}x",
        format!("{corun:.2?}"),
        format!("{tokio:.2?}")
    );
}

fn median(measure: fn() -> Duration) -> Duration {
    measure(); // warm-up: threads started, caches filled
    let mut samples: Vec<Duration> = (0..SAMPLES).map(|_| measure()).collect();
    samples.sort();
    samples[SAMPLES / 2]
}

fn tokio_runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("a tokio runtime")
}

fn corun_to_thread() -> Duration {
    corun::Config::new().handle_signals(false).run(async {
        corun::to_thread(|| ()).await; // the pool's first thread
        let start = Instant::now();
        for i in 0..OPS {
            black_box(corun::to_thread(move || black_box(i)).await);
        }
        start.elapsed()
    })
}

fn tokio_spawn_blocking() -> Duration {
    tokio_runtime().block_on(async {
        tokio::task::spawn_blocking(|| ()).await.unwrap();
        let start = Instant::now();
        for i in 0..OPS {
            black_box(
                tokio::task::spawn_blocking(move || black_box(i))
                    .await
                    .unwrap(),
            );
        }
        start.elapsed()
    })
}

/// Another thread spawns a task on the loop and blocks on its result, `ops` times; the loop's
/// main waits for the thread's verdict meanwhile.
fn corun_handle_round_trip() -> Duration {
    corun::Config::new().handle_signals(false).run(async {
        let handle = corun::Handle::current();
        let (done, elapsed) = oneshot::channel();
        thread::spawn(move || {
            let start = Instant::now();
            for i in 0..OPS {
                let task = handle.spawn(async move { black_box(i) });
                black_box(futures::executor::block_on(task));
            }
            done.send(start.elapsed()).unwrap();
        });
        elapsed.await.unwrap()
    })
}

fn tokio_handle_round_trip() -> Duration {
    let runtime = tokio_runtime();
    let handle = runtime.handle().clone();
    runtime.block_on(async move {
        let (done, elapsed) = oneshot::channel();
        thread::spawn(move || {
            let start = Instant::now();
            for i in 0..OPS {
                let task = handle.spawn(async move { black_box(i) });
                black_box(futures::executor::block_on(task).unwrap());
            }
            done.send(start.elapsed()).unwrap();
        });
        elapsed.await.unwrap()
    })
}

/// Another thread spawns a burst of tasks, then waits for all of them.
fn corun_handle_burst() -> Duration {
    corun::Config::new().handle_signals(false).run(async {
        let handle = corun::Handle::current();
        let (done, elapsed) = oneshot::channel();
        thread::spawn(move || {
            let start = Instant::now();
            let tasks: Vec<_> = (0..BURST)
                .map(|i| handle.spawn(async move { black_box(i) }))
                .collect();
            for task in tasks {
                black_box(futures::executor::block_on(task));
            }
            done.send(start.elapsed()).unwrap();
        });
        elapsed.await.unwrap()
    })
}

fn tokio_handle_burst() -> Duration {
    let runtime = tokio_runtime();
    let handle = runtime.handle().clone();
    runtime.block_on(async move {
        let (done, elapsed) = oneshot::channel();
        thread::spawn(move || {
            let start = Instant::now();
            let tasks: Vec<_> = (0..BURST)
                .map(|i| handle.spawn(async move { black_box(i) }))
                .collect();
            for task in tasks {
                black_box(futures::executor::block_on(task).unwrap());
            }
            done.send(start.elapsed()).unwrap();
        });
        elapsed.await.unwrap()
    })
}
