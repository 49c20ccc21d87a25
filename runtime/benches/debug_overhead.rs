//! What debug mode costs: 1,000 tasks × 1,000 yields, and 10,000 spawns, with debug off and on.
//! Run with `cargo bench -p corun-runtime --bench debug_overhead`.

use std::hint::black_box;
use std::time::{Duration, Instant};

use corun_runtime::{spawn, yield_now, Config};

const TASKS: usize = 1_000;
const YIELDS: usize = 1_000;
const SPAWNS: usize = 10_000;
const ROUNDS: usize = 7;

/// One run of `TASKS` tasks that each yield `YIELDS` times; the time of the whole run.
fn yields(debug: bool) -> Duration {
    let started = Instant::now();
    Config::new().debug(debug).run(async {
        let tasks: Vec<_> = (0..TASKS)
            .map(|_| {
                spawn(async {
                    for _ in 0..YIELDS {
                        yield_now().await;
                    }
                })
            })
            .collect();
        for task in tasks {
            task.await;
        }
    });
    started.elapsed()
}

/// One run that spawns `SPAWNS` empty tasks and awaits them; the time of the whole run.
fn spawns(debug: bool) -> Duration {
    let started = Instant::now();
    Config::new().debug(debug).run(async {
        let tasks: Vec<_> = (0..SPAWNS)
            .map(|i| spawn(async move { black_box(i) }))
            .collect();
        for task in tasks {
            black_box(task.await);
        }
    });
    started.elapsed()
}

/// The median of `ROUNDS` measurements, after one warm-up.
fn median(mut measure: impl FnMut() -> Duration) -> Duration {
    measure();
    let mut times: Vec<Duration> = (0..ROUNDS).map(|_| measure()).collect();
    times.sort();
    times[ROUNDS / 2]
}

fn per(total: Duration, count: usize) -> f64 {
    total.as_nanos() as f64 / count as f64
}

fn main() {
    let polls = TASKS * YIELDS;
    println!("debug overhead, median of {ROUNDS} runs after a warm-up");
    println!("{:<34} {:>12} {:>12}", "", "debug off", "debug on");
    // Interleave the modes' measurements so that drift in the machine's load hits both.
    let (mut off, mut on) = (Vec::new(), Vec::new());
    for _ in 0..ROUNDS {
        off.push(yields(false));
        on.push(yields(true));
    }
    off.sort();
    on.sort();
    let (off, on) = (off[ROUNDS / 2], on[ROUNDS / 2]);
    println!(
        "{:<34} {:>9.1} ns {:>9.1} ns",
        format!("{TASKS} tasks x {YIELDS} yields, per poll"),
        per(off, polls),
        per(on, polls)
    );
    let spawn_off = median(|| spawns(false));
    let spawn_on = median(|| spawns(true));
    println!(
        "{:<34} {:>9.1} ns {:>9.1} ns",
        format!("{SPAWNS} spawns, per spawn+poll"),
        per(spawn_off, SPAWNS),
        per(spawn_on, SPAWNS)
    );
}
