//! Task ids. Layer 1 (the record): imports nothing of the crate.

use std::cell::Cell;
use std::fmt;
use std::num::NonZeroU64;
use std::sync::atomic::{AtomicU64, Ordering};

/// A task's id: unique within the process, counting up from 1 in spawn order.
///
/// # Examples
///
/// ```
/// corun_runtime::run(async {
///     let a = corun_runtime::spawn(async {});
///     let b = corun_runtime::spawn(async {});
///     assert!(a.id() < b.id());
/// });
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct TaskId(NonZeroU64);

impl TaskId {
    /// The next id. Threads take ids from the process-wide counter in blocks, so ids are
    /// unique in the process and count up in spawn order on each thread, without a shared
    /// atomic operation per spawn.
    pub(crate) fn next() -> TaskId {
        const BLOCK: u64 = 1024;
        static NEXT_BLOCK: AtomicU64 = AtomicU64::new(1);
        thread_local! {
            static RANGE: Cell<(u64, u64)> = const { Cell::new((0, 0)) };
        }
        let id = RANGE
            .try_with(|range| {
                let (mut next, mut end) = range.get();
                if next == end {
                    next = NEXT_BLOCK.fetch_add(BLOCK, Ordering::Relaxed);
                    end = next + BLOCK;
                }
                range.set((next + 1, end));
                next
            })
            .unwrap_or_else(|_| NEXT_BLOCK.fetch_add(1, Ordering::Relaxed));
        TaskId(NonZeroU64::new(id).expect("task ids do not wrap around in 2^64 spawns"))
    }

    /// The id as a number.
    ///
    /// # Examples
    ///
    /// ```
    /// corun_runtime::run(async {
    ///     let id = corun_runtime::current_task().unwrap().id();
    ///     assert!(id.get() >= 1);
    /// });
    /// ```
    pub fn get(self) -> u64 {
        self.0.get()
    }

    /// The name of a task spawned without one: `Task-N`.
    pub(crate) fn default_name(self) -> String {
        format!("Task-{}", self.0)
    }
}

impl fmt::Display for TaskId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}
