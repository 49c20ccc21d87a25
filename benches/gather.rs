//! `gather_all` side by side with `futures::future::join_all` (on corun and on tokio's
//! current-thread runtime; tokio has no join-all of its own for futures, only `JoinSet` for
//! spawned tasks), with 10,000 futures, in one process run.
//!
//! - relay back: future `i` waits for a message from future `i + 1`, then sends one to `i - 1`
//!   (the last future starts); each wake makes exactly one future ready, so a combinator that
//!   polls every pending future on each wake does O(n²) polls where one with a waker per future
//!   does O(n).
//! - relay fwd: the same chain in polling order (`i - 1` wakes `i`): a poll-everything pass
//!   finishes it in one sweep, the best case for such a combinator.
//! - yield x10: every future yields 10 times (waking itself each time), all at once.
//!
//! Run: `cargo bench --bench gather` (median of 9 samples, time per future).

#[path = "common/yield_once.rs"]
mod yield_once;
use yield_once::yield_once;

use std::future::Future;
use std::pin::Pin;
use std::time::{Duration, Instant};

use futures::channel::oneshot;

/// Futures per gather.
const FUTURES: u32 = 10_000;
/// Samples per measurement; the median is reported.
const SAMPLES: usize = 9;

/// The futures of one workload.
type Futures = Vec<Pin<Box<dyn Future<Output = u32>>>>;

/// Makes the futures of one workload.
type Workload = fn() -> Futures;

/// A way to gather them.
type Gather = fn(Futures) -> Pin<Box<dyn Future<Output = Vec<u32>>>>;

fn main() {
    println!("gather of {FUTURES} futures: median of {SAMPLES} samples, per future");
    println!(
        "{:<12} {:>22} {:>22} {:>22} {:>10}",
        "", "corun gather_all", "join_all on corun", "join_all on tokio", "ratio"
    );
    let workloads: [(&str, Workload); 3] = [
        ("relay back", relay_back),
        ("relay fwd", relay_forward),
        ("yield x10", yields),
    ];
    for (name, make) in workloads {
        let corun = median(|| on_corun(make, |f| Box::pin(corun::gather_all(f))));
        let join_corun = median(|| on_corun(make, |f| Box::pin(futures::future::join_all(f))));
        let join_tokio = median(|| on_tokio(make));
        let per = |d: Duration| format!("{:.1?}", d / FUTURES);
        println!(
            "{name:<12} {:>22} {:>22} {:>22} {:>9.2}x",
            per(corun),
            per(join_corun),
            per(join_tokio),
            corun.as_secs_f64() / join_corun.as_secs_f64()
        );
    }
    println!("ratio: corun gather_all / join_all on corun (lower is better)");
}

/// The relay in polling order: future `i` waits for `i - 1`, then wakes `i + 1`.
fn relay_forward() -> Futures {
    let (first, mut previous) = oneshot::channel::<u32>();
    let mut futures: Futures = Vec::new();
    for _ in 0..FUTURES {
        let (next, receiver) = oneshot::channel::<u32>();
        let waiting = std::mem::replace(&mut previous, receiver);
        futures.push(Box::pin(async move {
            let value = waiting.await.expect("the predecessor sends");
            let _ = next.send(value + 1); // the last one has no successor
            value
        }));
    }
    drop(previous);
    first.send(0).expect("the first future listens");
    futures
}

/// The relay against polling order: future `i` waits for `i + 1`, then wakes `i - 1`.
fn relay_back() -> Futures {
    let mut futures = relay_forward();
    futures.reverse();
    futures
}

/// Futures that each yield 10 times.
fn yields() -> Futures {
    (0..FUTURES)
        .map(|i| {
            Box::pin(async move {
                for _ in 0..10 {
                    yield_once().await;
                }
                i
            }) as Pin<Box<dyn Future<Output = u32>>>
        })
        .collect()
}

fn on_corun(make: fn() -> Futures, gather: Gather) -> Duration {
    corun::Config::new().handle_signals(false).run(async move {
        let futures = make();
        let start = Instant::now();
        let outputs = gather(futures).await;
        let elapsed = start.elapsed();
        assert_eq!(outputs.len(), FUTURES as usize);
        elapsed
    })
}

fn on_tokio(make: fn() -> Futures) -> Duration {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("a tokio runtime");
    runtime.block_on(async move {
        let futures = make();
        let start = Instant::now();
        let outputs = futures::future::join_all(futures).await;
        let elapsed = start.elapsed();
        assert_eq!(outputs.len(), FUTURES as usize);
        elapsed
    })
}

fn median(mut measure: impl FnMut() -> Duration) -> Duration {
    measure(); // warm-up
    let mut samples: Vec<Duration> = (0..SAMPLES).map(|_| measure()).collect();
    samples.sort();
    samples[SAMPLES / 2]
}
