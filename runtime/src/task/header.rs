//! The per-task state shared by the task's future, its handle and its wakers.

use std::backtrace::Backtrace;
use std::cell::Cell;
use std::fmt;
use std::num::NonZeroU64;
use std::panic::Location;
use std::sync::atomic::{AtomicU64, AtomicU8, AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock};

use crate::context::{self, Remote, Shared};

/// Set by `Task::cancel` (or a signal for the main task). Never cleared.
pub(crate) const CANCEL_REQUESTED: u8 = 1 << 0;
/// Set when a cancellation reached a task that was listening on `cancelled()`: from then on the
/// task finishes on its own and is only dropped when the shutdown grace runs out.
pub(crate) const COOPERATIVE: u8 = 1 << 1;
/// Set when the task's future was polled at least once.
pub(crate) const POLLED: u8 = 1 << 2;
/// Set when the task's future has completed, panicked or been dropped.
pub(crate) const FINISHED: u8 = 1 << 3;
/// Set for tasks made by `Handle::spawn`, whose futures are `Send` and may be dropped anywhere.
pub(crate) const SEND: u8 = 1 << 4;

/// `slot` before the task's first poll registered it with its loop.
const UNREGISTERED: usize = usize::MAX;

/// Everything about a task that outlives a single poll.
pub(crate) struct Header {
    id: TaskId,
    /// Set at spawn for a named task; formatted on first use as `Task-N` otherwise.
    name: OnceLock<Box<str>>,
    pub(crate) location: &'static Location<'static>,
    /// Debug mode: the stack that spawned the task, shown with reports about it.
    pub(crate) spawn_backtrace: Option<Arc<Backtrace>>,
    /// The loop the task belongs to, for wakes and reports that come from other threads.
    pub(crate) shared: Arc<Shared>,
    state: AtomicU8,
    /// The task's key in its loop's registry of live tasks.
    slot: AtomicUsize,
}

impl Header {
    pub(crate) fn new(
        name: Option<String>,
        location: &'static Location<'static>,
        shared: Arc<Shared>,
        flags: u8,
    ) -> Self {
        let header = Header {
            id: TaskId::next(),
            name: OnceLock::new(),
            location,
            spawn_backtrace: None,
            shared,
            state: AtomicU8::new(flags),
            slot: AtomicUsize::new(UNREGISTERED),
        };
        if let Some(name) = name {
            let _ = header.name.set(name.into_boxed_str());
        }
        header
    }

    /// Captures the calling stack as where the task was spawned (debug mode only: it costs
    /// microseconds).
    pub(crate) fn with_spawn_backtrace(mut self) -> Self {
        self.spawn_backtrace = Some(Arc::new(Backtrace::force_capture()));
        self
    }

    pub(crate) fn id(&self) -> TaskId {
        self.id
    }

    pub(crate) fn name(&self) -> &str {
        self.name
            .get_or_init(|| format!("Task-{}", self.id.0).into_boxed_str())
    }

    #[inline]
    pub(crate) fn has(&self, flag: u8) -> bool {
        self.state.load(Ordering::Acquire) & flag != 0
    }

    /// Sets `flag`; returns whether it was already set.
    #[inline]
    pub(crate) fn set(&self, flag: u8) -> bool {
        self.state.fetch_or(flag, Ordering::AcqRel) & flag != 0
    }

    #[inline]
    pub(crate) fn slot(&self) -> Option<usize> {
        match self.slot.load(Ordering::Acquire) {
            UNREGISTERED => None,
            slot => Some(slot),
        }
    }

    pub(crate) fn set_slot(&self, slot: Option<usize>) {
        self.slot
            .store(slot.unwrap_or(UNREGISTERED), Ordering::Release);
    }

    /// Asks the task to cancel, from any thread. Returns `false` if it had finished.
    pub(crate) fn request_cancel(self: &Arc<Self>) -> bool {
        if self.has(FINISHED) {
            return false;
        }
        if self.set(CANCEL_REQUESTED) {
            return true;
        }
        match context::current() {
            Some(ctx) if Arc::ptr_eq(&ctx.shared, &self.shared) => ctx.wake_task(self),
            // Another thread: the loop wakes the task when it drains its remote queue. A closed
            // loop has no live tasks left to wake.
            _ => drop(self.shared.send(Remote::Cancel(self.clone()))),
        }
        true
    }
}

impl fmt::Debug for Header {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Task")
            .field("id", &self.id)
            .field("name", &self.name())
            .field("spawned_at", &format_args!("{}", self.location))
            .finish()
    }
}

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
}

impl fmt::Display for TaskId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}
