//! Task ids. Layer 1 (the record): imports nothing of the crate.

use std::fmt;
use std::num::NonZeroU64;
use std::sync::atomic::{AtomicU64, Ordering};

/// A task's id: unique within the process, counting up from 1 in creation order across every
/// thread (the main task of each run takes one too).
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
    /// The next id: one process-wide counter, so ids (and the `Task-N` names made from them)
    /// count the tasks created in the process, 1, 2, 3, ..., in creation order, whatever thread,
    /// loop or `Handle` creates them (asyncio's `Task-N` counter is process-wide too). One
    /// relaxed atomic add per spawn, which the allocation beside it dwarfs.
    pub(crate) fn next() -> TaskId {
        static NEXT: AtomicU64 = AtomicU64::new(1);
        let id = NEXT.fetch_add(1, Ordering::Relaxed);
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
