//! `task_group` side by side with tokio's `JoinSet` (`spawn_local` in a `LocalSet`, on tokio's
//! current-thread runtime) and futures' `FuturesUnordered` (on corun), with 10,000 children in
//! one group, each yielding once, in one process run.
//!
//! Each measurement starts before the first spawn and ends when every child has finished and
//! the group (set, stream) is empty: spawning, the first poll, the wake, the second poll and the
//! cleanup of each child.
//!
//! Run: `cargo bench --bench group` (median of 15 samples, time per child).

#[path = "common/yield_once.rs"]
mod yield_once;
use yield_once::yield_once;

use std::time::{Duration, Instant};

use futures::stream::{FuturesUnordered, StreamExt};

/// Children per group.
const CHILDREN: u32 = 10_000;
/// Samples per measurement; the median is reported.
const SAMPLES: usize = 15;

fn main() {
    println!("{CHILDREN} children in one group, each yielding once: median of {SAMPLES} samples, per child");
    let group = median(on_corun_group);
    let join_set = median(on_tokio_join_set);
    let unordered = median(on_corun_unordered);
    let per = |d: Duration| format!("{:.1?}", d / CHILDREN);
    println!(
        "{:>22} {:>22} {:>26} {:>14} {:>14}",
        "corun task_group",
        "tokio JoinSet",
        "FuturesUnordered (corun)",
        "vs JoinSet",
        "vs Unordered"
    );
    println!(
        "{:>22} {:>22} {:>26} {:>13.2}x {:>13.2}x",
        per(group),
        per(join_set),
        per(unordered),
        group.as_secs_f64() / join_set.as_secs_f64(),
        group.as_secs_f64() / unordered.as_secs_f64()
    );
    println!("ratios: corun task_group / the peer (lower is better)");
}

fn on_corun_group() -> Duration {
    corun::Config::new().handle_signals(false).run(async {
        let start = Instant::now();
        corun::task_group(async |g| {
            for _ in 0..CHILDREN {
                g.spawn(yield_once());
            }
            Ok::<_, ()>(())
        })
        .await
        .expect("no child fails");
        start.elapsed()
    })
}

fn on_tokio_join_set() -> Duration {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("a tokio runtime");
    let local = tokio::task::LocalSet::new();
    local.block_on(&runtime, async {
        let start = Instant::now();
        let mut set = tokio::task::JoinSet::new();
        for _ in 0..CHILDREN {
            set.spawn_local(yield_once());
        }
        while let Some(joined) = set.join_next().await {
            joined.expect("no child fails");
        }
        start.elapsed()
    })
}

fn on_corun_unordered() -> Duration {
    corun::Config::new().handle_signals(false).run(async {
        let start = Instant::now();
        let mut children: FuturesUnordered<_> = (0..CHILDREN).map(|_| yield_once()).collect();
        while children.next().await.is_some() {}
        start.elapsed()
    })
}

fn median(mut measure: impl FnMut() -> Duration) -> Duration {
    measure(); // warm-up
    let mut samples: Vec<Duration> = (0..SAMPLES).map(|_| measure()).collect();
    samples.sort();
    samples[SAMPLES / 2]
}
