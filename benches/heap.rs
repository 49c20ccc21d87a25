//! Heap bytes per idle task, side by side: corun, tokio, async-executor, futures.
//!
//! A counting global allocator (wrapping `std::alloc::System`) tracks the bytes currently
//! allocated. Inside each running runtime the bench spawns N tasks that each note their first
//! poll and then wait forever (`std::future::pending`), yields until every one of them has been
//! polled once, and reports `(bytes now - bytes before spawning) / N`. Handles are dropped or
//! detached at once, so only what the runtime keeps per task is counted: the task allocation
//! and its share of run queues and registries (whose spare capacity makes the figure move a
//! little with N; two sizes are shown).
//!
//! This is a separate bench binary so that the counting allocator does not slow the timings of
//! `benches/runtimes.rs`.
//!
//! # Running
//!
//! ```text
//! cargo bench --bench heap
//! BENCH_RUNTIMES=corun,tokio cargo bench --bench heap     # only some columns
//! ```

#[path = "common/yield_once.rs"]
mod yield_once;
use yield_once::yield_once;

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::future::Future;
use std::sync::atomic::{AtomicUsize, Ordering};

/// Wraps the system allocator and counts the bytes currently allocated.
struct Counting;

static ALLOCATED: AtomicUsize = AtomicUsize::new(0);

// SAFETY: every method forwards to `System` with the caller's arguments unchanged, so `System`'s
// guarantees are ours; the counter updates have no effect on the memory handed out.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: the caller upholds `GlobalAlloc::alloc`'s contract (non-zero size), which is
        // exactly what `System.alloc` needs.
        let ptr = unsafe { System.alloc(layout) };
        if !ptr.is_null() {
            ALLOCATED.fetch_add(layout.size(), Ordering::Relaxed);
        }
        ptr
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        // SAFETY: as for `alloc`; the caller's layout has a non-zero size.
        let ptr = unsafe { System.alloc_zeroed(layout) };
        if !ptr.is_null() {
            ALLOCATED.fetch_add(layout.size(), Ordering::Relaxed);
        }
        ptr
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: the caller guarantees `ptr` came from this allocator (hence from `System`,
        // as every method here forwards to it) with this same `layout`.
        unsafe { System.dealloc(ptr, layout) };
        ALLOCATED.fetch_sub(layout.size(), Ordering::Relaxed);
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // SAFETY: the caller guarantees `ptr` was allocated here (so by `System`) with `layout`,
        // and that `new_size` is non-zero and does not overflow when rounded to the alignment.
        let new_ptr = unsafe { System.realloc(ptr, layout, new_size) };
        if !new_ptr.is_null() {
            ALLOCATED.fetch_sub(layout.size(), Ordering::Relaxed);
            ALLOCATED.fetch_add(new_size, Ordering::Relaxed);
        }
        new_ptr
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

fn allocated() -> usize {
    ALLOCATED.load(Ordering::Relaxed)
}

thread_local! {
    /// How many idle tasks have been polled at least once.
    static POLLED: Cell<usize> = const { Cell::new(0) };
}

/// The idle task: counts its first poll, then waits forever.
async fn idle() {
    POLLED.with(|polled| polled.set(polled.get() + 1));
    std::future::pending::<()>().await;
}

fn polled() -> usize {
    POLLED.with(Cell::get)
}

/// Spawns `n` idle tasks with `spawn`, yields with `yield_now` until all have been polled, and
/// returns the bytes they added per task.
async fn bytes_per_idle_task<Y: Future<Output = ()>>(
    n: usize,
    spawn: impl Fn(),
    yield_now: impl Fn() -> Y,
) -> f64 {
    POLLED.with(|polled| polled.set(0));
    // Let the runtime settle (lazy queues, first timers) before the baseline.
    yield_now().await;
    let before = allocated();
    for _ in 0..n {
        spawn();
    }
    while polled() < n {
        yield_now().await;
    }
    let after = allocated();
    (after as f64 - before as f64) / n as f64
}

fn corun_bytes(n: usize) -> f64 {
    corun::run(bytes_per_idle_task(
        n,
        || {
            // Dropping a corun `Task` detaches it.
            let _detached = corun::spawn(idle());
        },
        corun::yield_now,
    ))
}

fn tokio_bytes(n: usize) -> f64 {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .unwrap();
    tokio::task::LocalSet::new().block_on(
        &runtime,
        bytes_per_idle_task(
            n,
            || {
                // Dropping a `JoinHandle` detaches the task.
                let _detached = tokio::task::spawn_local(idle());
            },
            tokio::task::yield_now,
        ),
    )
}

fn executor_bytes(n: usize) -> f64 {
    let ex = async_executor::LocalExecutor::new();
    futures_lite::future::block_on(ex.run(bytes_per_idle_task(
        n,
        || ex.spawn(idle()).detach(),
        yield_once,
    )))
}

fn futures_bytes(n: usize) -> f64 {
    use futures::task::LocalSpawnExt;
    let mut pool = futures::executor::LocalPool::new();
    let spawner = pool.spawner();
    pool.run_until(bytes_per_idle_task(
        n,
        || spawner.spawn_local(idle()).unwrap(),
        yield_once,
    ))
}

/// A runtime's name and its measurement: heap bytes per idle task for N tasks.
type Column = (&'static str, fn(usize) -> f64);

fn main() {
    let columns: [Column; 4] = [
        ("corun", corun_bytes),
        ("tokio", tokio_bytes),
        ("async-executor", executor_bytes),
        ("futures", futures_bytes),
    ];
    let selected = |name: &str| {
        std::env::var("BENCH_RUNTIMES")
            .map_or(true, |list| list.split(',').any(|n| n.trim() == name))
    };
    println!(
        "heap bytes per idle task (the spawned future itself is {} byte(s))",
        std::mem::size_of_val(&idle())
    );
    println!();
    println!("| tasks | corun | tokio | async-executor | futures | corun/tokio |");
    println!("|------:|------:|------:|---------------:|--------:|------------:|");
    for n in [10_000, 100_000] {
        let figures: Vec<Option<f64>> = columns
            .iter()
            .map(|&(name, bytes)| selected(name).then(|| bytes(n)))
            .collect();
        let cells: Vec<String> = figures
            .iter()
            .map(|f| f.map_or("n/a".to_owned(), |b| format!("{b:.0}")))
            .collect();
        let ratio = match (figures[0], figures[1]) {
            (Some(corun), Some(tokio)) if tokio > 0.0 => format!("{:.2}", corun / tokio),
            _ => "n/a".to_owned(),
        };
        println!("| {n} | {} | {ratio} |", cells.join(" | "));
    }
}
