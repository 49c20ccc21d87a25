//! Side-by-side benchmarks of single-threaded runtimes, all in one process run.
//!
//! Every workload runs on corun's default loop (through `corun::run`), tokio's current-thread
//! runtime (`LocalSet` + `spawn_local`, time driver enabled), async-executor's `LocalExecutor`
//! and futures' `LocalPool`. Samples of the four runtimes are interleaved (corun, tokio,
//! async-executor, futures, corun, tokio, ...) so that a noisy neighbour hurts all of them
//! alike; the table shows the median of each, and the ratio corun/tokio (lower is better).
//!
//! | workload    | what is timed                                                              |
//! |-------------|----------------------------------------------------------------------------|
//! | spawn+join  | spawn N trivial tasks, then await every handle; ns per task                |
//! | … batches   | the same in batches of 1,000 (spawn 1,000, await them, again), the peers'  |
//! |             | harness's shape (/work/shared/peers-bench): handles held at once stay few  |
//! | yield       | T tasks each yielding Y times; ns per yield                                |
//! | ping-pong   | two tasks exchanging N messages over `futures::channel::mpsc`; ns per trip |
//! | timers      | N tasks sleeping a random 0–50 ms each; process CPU ns per timer, and wall |
//! | arm+cancel  | make a one-hour sleep, poll it once so it registers, drop it; ns per pair  |
//! | run()       | fresh runtime + one spawned task + teardown; ns per run                    |
//!
//! Everything but `run()` is timed inside an already running runtime, so building and tearing
//! down the runtime is not counted there. Heap bytes per idle task live in `benches/heap.rs`,
//! whose counting allocator would otherwise slow these timings.
//!
//! Drivers: async-executor is driven by `futures_lite::future::block_on`, except for the two
//! timer workloads, which use `async_io::block_on` so that async-io's reactor (and its timers)
//! is driven on the benchmark thread, as `smol::block_on` does. futures' `LocalPool` uses
//! `futures_timer::Delay`, whose timers live on a helper thread (counted in the CPU time).
//!
//! CPU time is the sum of the first field of `/proc/self/task/*/schedstat` (nanoseconds on the
//! CPU, every thread of the process); where that is missing, `utime + stime` of
//! `/proc/self/stat` (clock ticks, assumed 100 per second). Linux only; elsewhere CPU time
//! shows as `n/a`.
//!
//! # Running
//!
//! ```text
//! cargo bench --bench runtimes                       # full run, 7 samples
//! BENCH_QUICK=1 cargo bench --bench runtimes         # sizes / 10, 3 samples: under a minute
//! ```
//!
//! Other knobs: `BENCH_SAMPLES=N` (samples per cell), `BENCH_SCALE=F` (multiplies every size),
//! `BENCH_RUNTIMES=corun,tokio` (columns to run: corun, tokio, async-executor, futures),
//! `BENCH_FILTER=timers` (only workloads whose name contains the text).

#[path = "common/yield_once.rs"]
mod yield_once;
use yield_once::yield_once;

use std::future::Future;

use std::time::{Duration, Instant};

fn main() {
    let settings = Settings::from_env();
    print_machine(&settings);
    let workloads = workloads(&settings.sizes);
    let mut table = Vec::new();
    for workload in &workloads {
        if !settings.selects(workload.name) {
            continue;
        }
        eprintln!("running {} ...", workload.name);
        table.extend(measure(workload, &settings));
    }
    print_table(&table);
}

// ---------------------------------------------------------------------------------------------
// Settings and sizes
// ---------------------------------------------------------------------------------------------

/// The runtimes compared, in column order.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Runtime {
    Corun,
    Tokio,
    AsyncExecutor,
    Futures,
}

impl Runtime {
    const ALL: [Runtime; 4] = [
        Runtime::Corun,
        Runtime::Tokio,
        Runtime::AsyncExecutor,
        Runtime::Futures,
    ];

    fn name(self) -> &'static str {
        match self {
            Runtime::Corun => "corun",
            Runtime::Tokio => "tokio",
            Runtime::AsyncExecutor => "async-executor",
            Runtime::Futures => "futures",
        }
    }
}

/// Workload sizes; `BENCH_SCALE` and `BENCH_QUICK` scale all of them.
struct Sizes {
    spawn_tasks: usize,
    yield_tasks: usize,
    yields_per_task: usize,
    ping_pongs: usize,
    timers: usize,
    arm_cancels: usize,
    runs: usize,
}

impl Sizes {
    fn scaled(scale: f64) -> Self {
        let at_least_one = |n: f64| ((n * scale).round() as usize).max(1);
        Sizes {
            spawn_tasks: at_least_one(1_000_000.0),
            yield_tasks: at_least_one(1_000.0),
            // The yields per task stay fixed: scaling the tasks alone keeps the shape of the
            // workload (a run queue of many tasks) while making it shorter.
            yields_per_task: 1_000,
            ping_pongs: at_least_one(100_000.0),
            timers: at_least_one(100_000.0),
            arm_cancels: at_least_one(100_000.0),
            runs: at_least_one(10_000.0),
        }
    }
}

struct Settings {
    samples: usize,
    scale: f64,
    sizes: Sizes,
    runtimes: Vec<Runtime>,
    filter: Option<String>,
}

impl Settings {
    fn from_env() -> Self {
        let quick = env_flag("BENCH_QUICK");
        let samples = env_parse("BENCH_SAMPLES").unwrap_or(if quick { 3 } else { 7 });
        let scale = env_parse("BENCH_SCALE").unwrap_or(if quick { 0.1 } else { 1.0 });
        let runtimes = match std::env::var("BENCH_RUNTIMES") {
            Ok(list) => Runtime::ALL
                .into_iter()
                .filter(|runtime| list.split(',').any(|name| name.trim() == runtime.name()))
                .collect(),
            Err(_) => Runtime::ALL.to_vec(),
        };
        Settings {
            samples: samples.max(1),
            scale,
            sizes: Sizes::scaled(scale),
            runtimes,
            filter: std::env::var("BENCH_FILTER").ok(),
        }
    }

    fn selects(&self, workload: &str) -> bool {
        self.filter
            .as_deref()
            .is_none_or(|filter| workload.contains(filter))
    }
}

fn env_flag(name: &str) -> bool {
    std::env::var(name).is_ok_and(|value| !value.is_empty() && value != "0")
}

fn env_parse<T: std::str::FromStr>(name: &str) -> Option<T> {
    let value = std::env::var(name).ok()?;
    match value.parse() {
        Ok(parsed) => Some(parsed),
        Err(_) => panic!("{name}={value:?} is not a valid value"),
    }
}

fn print_machine(settings: &Settings) {
    let cpus = std::thread::available_parallelism().map_or(0, |n| n.get());
    let model = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|info| {
            info.lines()
                .find(|line| line.starts_with("model name"))
                .and_then(|line| line.split(':').nth(1))
                .map(|model| model.trim().to_owned())
        })
        .unwrap_or_else(|| "unknown".to_owned());
    let rustc = std::process::Command::new(std::env::var("RUSTC").unwrap_or("rustc".into()))
        .arg("--version")
        .output()
        .ok()
        .and_then(|out| String::from_utf8(out.stdout).ok())
        .map_or_else(|| "unknown".to_owned(), |v| v.trim().to_owned());
    let load = std::fs::read_to_string("/proc/loadavg")
        .map_or_else(|_| "unknown".to_owned(), |l| l.trim().to_owned());
    println!("machine: {cpus} CPUs ({model}), {rustc}");
    println!("load average at start: {load}");
    println!(
        "samples per cell: {}, size scale: {}, CPU clock: {}",
        settings.samples,
        settings.scale,
        cpu_time::source()
    );
    if env_flag("CORUN_DEBUG") {
        println!("WARNING: CORUN_DEBUG is set, corun runs in debug mode and will be slower");
    }
    println!();
}

// ---------------------------------------------------------------------------------------------
// Measuring
// ---------------------------------------------------------------------------------------------

/// What one timed section took.
#[derive(Clone, Copy)]
struct Measure {
    wall: Duration,
    cpu: Option<Duration>,
}

impl Measure {
    /// Times `f` on the wall clock and on the process CPU clock.
    fn of(f: impl FnOnce()) -> Self {
        let cpu_before = cpu_time::now();
        let start = Instant::now();
        f();
        let wall = start.elapsed();
        let cpu = cpu_time::now()
            .zip(cpu_before)
            .map(|(b, a)| b.saturating_sub(a));
        Measure { wall, cpu }
    }
}

/// Which figure of a `Measure` a table row shows, and how.
#[derive(Clone, Copy)]
enum Metric {
    /// Wall time divided by the operation count, in ns.
    WallPerOp,
    /// Process CPU time divided by the operation count, in ns.
    CpuPerOp,
    /// Total wall time, in ms.
    WallTotalMs,
}

struct Row {
    label: &'static str,
    unit: &'static str,
    metric: Metric,
}

struct Workload {
    name: &'static str,
    /// How many operations one sample performs (the divisor of the per-op metrics).
    ops: usize,
    rows: Vec<Row>,
    /// Runs one sample on the runtime and returns what the timed section took; `None` if the
    /// workload has no variant for that runtime.
    run: Box<dyn Fn(Runtime) -> Option<Measure>>,
}

struct TableRow {
    label: String,
    unit: &'static str,
    /// Per runtime in `Runtime::ALL` order: (median, relative spread) if it ran.
    cells: Vec<Option<(f64, f64)>>,
}

fn measure(workload: &Workload, settings: &Settings) -> Vec<TableRow> {
    // One unrecorded warm-up sample each, then the samples interleaved across runtimes.
    for &runtime in &settings.runtimes {
        (workload.run)(runtime);
    }
    let mut samples: Vec<Vec<Measure>> = vec![Vec::new(); Runtime::ALL.len()];
    for _ in 0..settings.samples {
        for &runtime in &settings.runtimes {
            let index = Runtime::ALL.iter().position(|&r| r == runtime).unwrap();
            samples[index].extend((workload.run)(runtime));
        }
    }
    workload
        .rows
        .iter()
        .map(|row| TableRow {
            label: row.label.replace("{}", &format_count(workload.ops)),
            unit: row.unit,
            cells: samples
                .iter()
                .map(|runs| {
                    let values: Option<Vec<f64>> = runs
                        .iter()
                        .map(|m| value_of(m, row.metric, workload.ops))
                        .collect();
                    values.filter(|v| !v.is_empty()).map(median_and_spread)
                })
                .collect(),
        })
        .collect()
}

fn value_of(measure: &Measure, metric: Metric, ops: usize) -> Option<f64> {
    match metric {
        Metric::WallPerOp => Some(measure.wall.as_nanos() as f64 / ops as f64),
        Metric::CpuPerOp => measure.cpu.map(|cpu| cpu.as_nanos() as f64 / ops as f64),
        Metric::WallTotalMs => Some(measure.wall.as_secs_f64() * 1e3),
    }
}

/// The median, and half the min–max range relative to it.
fn median_and_spread(mut values: Vec<f64>) -> (f64, f64) {
    values.sort_by(f64::total_cmp);
    let n = values.len();
    let median = if n % 2 == 1 {
        values[n / 2]
    } else {
        (values[n / 2 - 1] + values[n / 2]) / 2.0
    };
    let spread = if median > 0.0 {
        (values[n - 1] - values[0]) / (2.0 * median)
    } else {
        0.0
    };
    (median, spread)
}

fn format_count(n: usize) -> String {
    match n {
        n if n >= 1_000_000 && n % 1_000_000 == 0 => format!("{}M", n / 1_000_000),
        n if n >= 1_000 && n % 1_000 == 0 => format!("{}k", n / 1_000),
        n => n.to_string(),
    }
}

fn print_table(table: &[TableRow]) {
    let mut header = vec!["workload".to_owned(), "unit".to_owned()];
    header.extend(Runtime::ALL.iter().map(|r| r.name().to_owned()));
    header.push("corun/tokio".to_owned());
    let mut lines = vec![header];
    for row in table {
        let mut line = vec![row.label.clone(), row.unit.to_owned()];
        line.extend(row.cells.iter().map(|cell| match cell {
            Some((median, spread)) => {
                format!("{} ±{:.0}%", format_value(*median), spread * 100.0)
            }
            None => "n/a".to_owned(),
        }));
        line.push(match (row.cells[0], row.cells[1]) {
            (Some((corun, _)), Some((tokio, _))) if tokio > 0.0 => format!("{:.2}", corun / tokio),
            _ => "n/a".to_owned(),
        });
        lines.push(line);
    }
    let widths: Vec<usize> = (0..lines[0].len())
        .map(|col| lines.iter().map(|l| l[col].chars().count()).max().unwrap())
        .collect();
    println!();
    println!("medians (± half the min–max range); corun/tokio: lower is better");
    println!();
    for (i, line) in lines.iter().enumerate() {
        let cells: Vec<String> = line
            .iter()
            .zip(&widths)
            .enumerate()
            .map(|(col, (cell, &w))| {
                if col < 2 {
                    format!("{cell:<w$}")
                } else {
                    format!("{cell:>w$}")
                }
            })
            .collect();
        println!("| {} |", cells.join(" | "));
        if i == 0 {
            let rules: Vec<String> = widths
                .iter()
                .enumerate()
                .map(|(col, &w)| {
                    if col < 2 {
                        "-".repeat(w)
                    } else {
                        format!("{}:", "-".repeat(w - 1))
                    }
                })
                .collect();
            println!("| {} |", rules.join(" | "));
        }
    }
}

fn format_value(v: f64) -> String {
    if v >= 100.0 {
        format!("{v:.0}")
    } else if v >= 10.0 {
        format!("{v:.1}")
    } else {
        format!("{v:.2}")
    }
}

#[path = "common/cpu_time.rs"]
mod cpu_time;

// ---------------------------------------------------------------------------------------------
// The workloads
// ---------------------------------------------------------------------------------------------

fn workloads(sizes: &Sizes) -> Vec<Workload> {
    let spawn_tasks = sizes.spawn_tasks;
    let batch = SPAWN_BATCH.min(spawn_tasks);
    let (yield_tasks, yields) = (sizes.yield_tasks, sizes.yields_per_task);
    let ping_pongs = sizes.ping_pongs;
    let deadlines = random_deadlines(sizes.timers);
    let arm_cancels = sizes.arm_cancels;
    let runs = sizes.runs;
    vec![
        Workload {
            name: "spawn+join",
            ops: spawn_tasks,
            rows: vec![Row {
                label: "spawn+join {} tasks",
                unit: "ns/task",
                metric: Metric::WallPerOp,
            }],
            run: Box::new(move |rt| {
                Some(match rt {
                    Runtime::Corun => corun_side::spawn_join(spawn_tasks, spawn_tasks),
                    Runtime::Tokio => tokio_side::spawn_join(spawn_tasks, spawn_tasks),
                    Runtime::AsyncExecutor => executor_side::spawn_join(spawn_tasks, spawn_tasks),
                    Runtime::Futures => futures_side::spawn_join(spawn_tasks, spawn_tasks),
                })
            }),
        },
        Workload {
            name: "spawn+join batches",
            ops: spawn_tasks,
            rows: vec![Row {
                label: "spawn+join {} tasks, 1,000 at a time",
                unit: "ns/task",
                metric: Metric::WallPerOp,
            }],
            run: Box::new(move |rt| {
                Some(match rt {
                    Runtime::Corun => corun_side::spawn_join(spawn_tasks, batch),
                    Runtime::Tokio => tokio_side::spawn_join(spawn_tasks, batch),
                    Runtime::AsyncExecutor => executor_side::spawn_join(spawn_tasks, batch),
                    Runtime::Futures => futures_side::spawn_join(spawn_tasks, batch),
                })
            }),
        },
        Workload {
            name: "yield",
            ops: yield_tasks * yields,
            rows: vec![Row {
                label: "yield ({} yields in all)",
                unit: "ns/yield",
                metric: Metric::WallPerOp,
            }],
            run: Box::new(move |rt| {
                Some(match rt {
                    Runtime::Corun => corun_side::yields(yield_tasks, yields),
                    Runtime::Tokio => tokio_side::yields(yield_tasks, yields),
                    Runtime::AsyncExecutor => executor_side::yields(yield_tasks, yields),
                    Runtime::Futures => futures_side::yields(yield_tasks, yields),
                })
            }),
        },
        Workload {
            name: "ping-pong",
            ops: ping_pongs,
            rows: vec![Row {
                label: "ping-pong mpsc ({} trips)",
                unit: "ns/trip",
                metric: Metric::WallPerOp,
            }],
            run: Box::new(move |rt| {
                Some(match rt {
                    Runtime::Corun => corun_side::ping_pong(ping_pongs),
                    Runtime::Tokio => tokio_side::ping_pong(ping_pongs),
                    Runtime::AsyncExecutor => executor_side::ping_pong(ping_pongs),
                    Runtime::Futures => futures_side::ping_pong(ping_pongs),
                })
            }),
        },
        Workload {
            name: "timers",
            ops: deadlines.len(),
            rows: vec![
                Row {
                    label: "{} timers 0-50 ms: CPU",
                    unit: "CPU ns/timer",
                    metric: Metric::CpuPerOp,
                },
                Row {
                    label: "{} timers 0-50 ms: wall",
                    unit: "ms in all",
                    metric: Metric::WallTotalMs,
                },
            ],
            run: Box::new(move |rt| {
                Some(match rt {
                    Runtime::Corun => corun_side::timers(&deadlines),
                    Runtime::Tokio => tokio_side::timers(&deadlines),
                    Runtime::AsyncExecutor => executor_side::timers(&deadlines),
                    Runtime::Futures => futures_side::timers(&deadlines),
                })
            }),
        },
        Workload {
            name: "arm+cancel",
            ops: arm_cancels,
            rows: vec![Row {
                label: "arm+cancel 1 h sleep (x{})",
                unit: "ns/pair",
                metric: Metric::WallPerOp,
            }],
            run: Box::new(move |rt| {
                Some(match rt {
                    Runtime::Corun => corun_side::arm_cancel(arm_cancels),
                    Runtime::Tokio => tokio_side::arm_cancel(arm_cancels),
                    Runtime::AsyncExecutor => executor_side::arm_cancel(arm_cancels),
                    Runtime::Futures => futures_side::arm_cancel(arm_cancels),
                })
            }),
        },
        Workload {
            name: "run()",
            ops: runs,
            rows: vec![Row {
                label: "run(): new loop + 1 task (x{})",
                unit: "ns/run",
                metric: Metric::WallPerOp,
            }],
            run: Box::new(move |rt| {
                Some(match rt {
                    Runtime::Corun => corun_side::run_overhead(runs),
                    Runtime::Tokio => tokio_side::run_overhead(runs),
                    Runtime::AsyncExecutor => executor_side::run_overhead(runs),
                    Runtime::Futures => futures_side::run_overhead(runs),
                })
            }),
        },
        Workload {
            name: "run() without signals",
            ops: runs,
            rows: vec![Row {
                label: "corun Config::run, signals off (x{})",
                unit: "ns/run",
                metric: Metric::WallPerOp,
            }],
            // corun only: the part of `run()` that installing and restoring the SIGINT/SIGTERM
            // handlers costs is the difference from the row above.
            run: Box::new(move |rt| match rt {
                Runtime::Corun => Some(corun_side::config_run_overhead(runs)),
                _ => None,
            }),
        },
    ]
}

/// One hour: long enough that no arm+cancel sleep ever fires.
const ONE_HOUR: Duration = Duration::from_secs(3600);

/// `n` deadlines in 0..=50 ms, the same on every call (a fixed-seed splitmix64).
fn random_deadlines(n: usize) -> Vec<Duration> {
    let mut state: u64 = 0x5EED_0FC0_2017;
    let mut next = move || {
        state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = state;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    };
    (0..n)
        .map(|_| Duration::from_micros(next() % 50_001))
        .collect()
}

/// Polls `future` once from inside a task and asserts it is still pending (it registered its
/// timer), then drops it, which cancels the timer.
/// Tasks spawned before their handles are awaited in the batched spawn+join: the peers'
/// harness's `SPAWN_BATCH`.
const SPAWN_BATCH: usize = 1_000;

/// The sizes of the batches that spawn `n` tasks `batch` at a time.
fn batches(n: usize, batch: usize) -> impl Iterator<Item = usize> {
    (0..n).step_by(batch).map(move |start| batch.min(n - start))
}

async fn arm_and_cancel<F: Future>(future: F) {
    let mut future = std::pin::pin!(future);
    assert!(futures::poll!(future.as_mut()).is_pending());
}

mod corun_side {
    use super::{arm_and_cancel, batches, Measure, ONE_HOUR};
    use futures::channel::mpsc;
    use futures::StreamExt;
    use std::time::Duration;

    pub fn spawn_join(n: usize, batch: usize) -> Measure {
        corun::run(async move {
            Measure::of_async(async {
                for size in batches(n, batch) {
                    let tasks: Vec<_> = (0..size).map(|_| corun::spawn(async {})).collect();
                    for task in tasks {
                        task.await;
                    }
                }
            })
            .await
        })
    }

    pub fn yields(tasks: usize, yields: usize) -> Measure {
        corun::run(async move {
            Measure::of_async(async {
                let tasks: Vec<_> = (0..tasks)
                    .map(|_| {
                        corun::spawn(async move {
                            for _ in 0..yields {
                                corun::yield_now().await;
                            }
                        })
                    })
                    .collect();
                for task in tasks {
                    task.await;
                }
            })
            .await
        })
    }

    pub fn ping_pong(n: usize) -> Measure {
        corun::run(async move {
            Measure::of_async(async {
                let (ping_tx, mut ping_rx) = mpsc::unbounded::<usize>();
                let (pong_tx, mut pong_rx) = mpsc::unbounded::<usize>();
                let ponger = corun::spawn(async move {
                    while let Some(i) = ping_rx.next().await {
                        pong_tx.unbounded_send(i).unwrap();
                    }
                });
                let pinger = corun::spawn(async move {
                    for i in 0..n {
                        ping_tx.unbounded_send(i).unwrap();
                        assert_eq!(pong_rx.next().await, Some(i));
                    }
                });
                pinger.await;
                ponger.await;
            })
            .await
        })
    }

    pub fn timers(deadlines: &[Duration]) -> Measure {
        // Owned, so that the main future is `'static` whatever `run` asks of it.
        let deadlines = deadlines.to_vec();
        corun::run(async move {
            Measure::of_async(async {
                let tasks: Vec<_> = deadlines
                    .iter()
                    .map(|&d| corun::spawn(corun::sleep(d)))
                    .collect();
                for task in tasks {
                    task.await;
                }
            })
            .await
        })
    }

    pub fn arm_cancel(n: usize) -> Measure {
        corun::run(async move {
            Measure::of_async(async {
                for _ in 0..n {
                    arm_and_cancel(corun::sleep(ONE_HOUR)).await;
                }
            })
            .await
        })
    }

    pub fn run_overhead(n: usize) -> Measure {
        Measure::of(|| {
            for _ in 0..n {
                corun::run(async { corun::spawn(async {}).await });
            }
        })
    }

    pub fn config_run_overhead(n: usize) -> Measure {
        Measure::of(|| {
            for _ in 0..n {
                corun::Config::new()
                    .debug(false)
                    .handle_signals(false)
                    .run(async { corun::spawn(async {}).await });
            }
        })
    }
}

mod tokio_side {
    use super::{arm_and_cancel, batches, Measure, ONE_HOUR};
    use futures::channel::mpsc;
    use futures::StreamExt;
    use std::future::Future;
    use std::time::Duration;
    use tokio::task::{spawn_local, LocalSet};

    /// A current-thread runtime with the time driver (as corun's loop has a clock), running
    /// `f` inside a `LocalSet`.
    fn block_on<F: Future>(f: F) -> F::Output {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_time()
            .build()
            .unwrap();
        LocalSet::new().block_on(&runtime, f)
    }

    pub fn spawn_join(n: usize, batch: usize) -> Measure {
        block_on(Measure::of_async(async {
            for size in batches(n, batch) {
                let tasks: Vec<_> = (0..size).map(|_| spawn_local(async {})).collect();
                for task in tasks {
                    task.await.unwrap();
                }
            }
        }))
    }

    pub fn yields(tasks: usize, yields: usize) -> Measure {
        block_on(Measure::of_async(async {
            let tasks: Vec<_> = (0..tasks)
                .map(|_| {
                    spawn_local(async move {
                        for _ in 0..yields {
                            tokio::task::yield_now().await;
                        }
                    })
                })
                .collect();
            for task in tasks {
                task.await.unwrap();
            }
        }))
    }

    pub fn ping_pong(n: usize) -> Measure {
        block_on(Measure::of_async(async {
            let (ping_tx, mut ping_rx) = mpsc::unbounded::<usize>();
            let (pong_tx, mut pong_rx) = mpsc::unbounded::<usize>();
            let ponger = spawn_local(async move {
                while let Some(i) = ping_rx.next().await {
                    pong_tx.unbounded_send(i).unwrap();
                }
            });
            let pinger = spawn_local(async move {
                for i in 0..n {
                    ping_tx.unbounded_send(i).unwrap();
                    assert_eq!(pong_rx.next().await, Some(i));
                }
            });
            pinger.await.unwrap();
            ponger.await.unwrap();
        }))
    }

    pub fn timers(deadlines: &[Duration]) -> Measure {
        block_on(Measure::of_async(async {
            let tasks: Vec<_> = deadlines
                .iter()
                .map(|&d| spawn_local(tokio::time::sleep(d)))
                .collect();
            for task in tasks {
                task.await.unwrap();
            }
        }))
    }

    pub fn arm_cancel(n: usize) -> Measure {
        block_on(Measure::of_async(async {
            for _ in 0..n {
                arm_and_cancel(tokio::time::sleep(ONE_HOUR)).await;
            }
        }))
    }

    pub fn run_overhead(n: usize) -> Measure {
        Measure::of(|| {
            for _ in 0..n {
                block_on(async { spawn_local(async {}).await.unwrap() });
            }
        })
    }
}

mod executor_side {
    use super::{arm_and_cancel, batches, yield_once, Measure, ONE_HOUR};
    use async_executor::LocalExecutor;
    use futures::channel::mpsc;
    use futures::StreamExt;
    use futures_lite::future::block_on;
    use std::time::Duration;

    pub fn spawn_join(n: usize, batch: usize) -> Measure {
        let ex = LocalExecutor::new();
        block_on(ex.run(Measure::of_async(async {
            for size in batches(n, batch) {
                let tasks: Vec<_> = (0..size).map(|_| ex.spawn(async {})).collect();
                for task in tasks {
                    task.await;
                }
            }
        })))
    }

    pub fn yields(tasks: usize, yields: usize) -> Measure {
        let ex = LocalExecutor::new();
        block_on(ex.run(Measure::of_async(async {
            let tasks: Vec<_> = (0..tasks)
                .map(|_| {
                    ex.spawn(async move {
                        for _ in 0..yields {
                            yield_once().await;
                        }
                    })
                })
                .collect();
            for task in tasks {
                task.await;
            }
        })))
    }

    pub fn ping_pong(n: usize) -> Measure {
        let ex = LocalExecutor::new();
        block_on(ex.run(Measure::of_async(async {
            let (ping_tx, mut ping_rx) = mpsc::unbounded::<usize>();
            let (pong_tx, mut pong_rx) = mpsc::unbounded::<usize>();
            let ponger = ex.spawn(async move {
                while let Some(i) = ping_rx.next().await {
                    pong_tx.unbounded_send(i).unwrap();
                }
            });
            let pinger = ex.spawn(async move {
                for i in 0..n {
                    ping_tx.unbounded_send(i).unwrap();
                    assert_eq!(pong_rx.next().await, Some(i));
                }
            });
            pinger.await;
            ponger.await;
        })))
    }

    pub fn timers(deadlines: &[Duration]) -> Measure {
        let ex = LocalExecutor::new();
        async_io::block_on(ex.run(Measure::of_async(async {
            let tasks: Vec<_> = deadlines
                .iter()
                .map(|&d| {
                    ex.spawn(async move {
                        async_io::Timer::after(d).await;
                    })
                })
                .collect();
            for task in tasks {
                task.await;
            }
        })))
    }

    pub fn arm_cancel(n: usize) -> Measure {
        let ex = LocalExecutor::new();
        async_io::block_on(ex.run(Measure::of_async(async {
            for _ in 0..n {
                arm_and_cancel(async_io::Timer::after(ONE_HOUR)).await;
            }
        })))
    }

    pub fn run_overhead(n: usize) -> Measure {
        Measure::of(|| {
            for _ in 0..n {
                let ex = LocalExecutor::new();
                block_on(ex.run(async { ex.spawn(async {}).await }));
            }
        })
    }
}

mod futures_side {
    use super::{arm_and_cancel, batches, yield_once, Measure, ONE_HOUR};
    use futures::channel::mpsc;
    use futures::executor::LocalPool;
    use futures::task::LocalSpawnExt;
    use futures::StreamExt;
    use std::time::Duration;

    pub fn spawn_join(n: usize, batch: usize) -> Measure {
        let mut pool = LocalPool::new();
        let spawner = pool.spawner();
        pool.run_until(Measure::of_async(async {
            for size in batches(n, batch) {
                let tasks: Vec<_> = (0..size)
                    .map(|_| spawner.spawn_local_with_handle(async {}).unwrap())
                    .collect();
                for task in tasks {
                    task.await;
                }
            }
        }))
    }

    pub fn yields(tasks: usize, yields: usize) -> Measure {
        let mut pool = LocalPool::new();
        let spawner = pool.spawner();
        pool.run_until(Measure::of_async(async {
            let tasks: Vec<_> = (0..tasks)
                .map(|_| {
                    spawner
                        .spawn_local_with_handle(async move {
                            for _ in 0..yields {
                                yield_once().await;
                            }
                        })
                        .unwrap()
                })
                .collect();
            for task in tasks {
                task.await;
            }
        }))
    }

    pub fn ping_pong(n: usize) -> Measure {
        let mut pool = LocalPool::new();
        let spawner = pool.spawner();
        pool.run_until(Measure::of_async(async {
            let (ping_tx, mut ping_rx) = mpsc::unbounded::<usize>();
            let (pong_tx, mut pong_rx) = mpsc::unbounded::<usize>();
            let ponger = spawner
                .spawn_local_with_handle(async move {
                    while let Some(i) = ping_rx.next().await {
                        pong_tx.unbounded_send(i).unwrap();
                    }
                })
                .unwrap();
            let pinger = spawner
                .spawn_local_with_handle(async move {
                    for i in 0..n {
                        ping_tx.unbounded_send(i).unwrap();
                        assert_eq!(pong_rx.next().await, Some(i));
                    }
                })
                .unwrap();
            pinger.await;
            ponger.await;
        }))
    }

    pub fn timers(deadlines: &[Duration]) -> Measure {
        let mut pool = LocalPool::new();
        let spawner = pool.spawner();
        pool.run_until(Measure::of_async(async {
            let tasks: Vec<_> = deadlines
                .iter()
                .map(|&d| {
                    spawner
                        .spawn_local_with_handle(futures_timer::Delay::new(d))
                        .unwrap()
                })
                .collect();
            for task in tasks {
                task.await;
            }
        }))
    }

    pub fn arm_cancel(n: usize) -> Measure {
        let mut pool = LocalPool::new();
        pool.run_until(Measure::of_async(async {
            for _ in 0..n {
                arm_and_cancel(futures_timer::Delay::new(ONE_HOUR)).await;
            }
        }))
    }

    pub fn run_overhead(n: usize) -> Measure {
        Measure::of(|| {
            for _ in 0..n {
                let mut pool = LocalPool::new();
                pool.spawner().spawn_local(async {}).unwrap();
                pool.run();
            }
        })
    }
}

impl Measure {
    /// Times `f` (awaited inside the running runtime) on the wall and CPU clocks.
    async fn of_async(f: impl Future<Output = ()>) -> Self {
        let cpu_before = cpu_time::now();
        let start = Instant::now();
        f.await;
        let wall = start.elapsed();
        let cpu = cpu_time::now()
            .zip(cpu_before)
            .map(|(b, a)| b.saturating_sub(a));
        Measure { wall, cpu }
    }
}
