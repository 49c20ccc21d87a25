//! The default loop: a FIFO ready queue, a heap of timers on the real clock, and a parked thread.
//!
//! Layer 2 (the loop layer): uses only the rest of `loops/` and `event_loop`; never the
//! context, the run or the task layer (`tests/layering.rs`).

use std::task::Waker;
use std::time::{Duration, Instant};

use super::core::LoopCore;
use crate::event_loop::{EventLoop, Park, Runnable, TimerId};

/// The default loop's timer resolution.
const RESOLUTION: Duration = Duration::from_millis(1);

/// The loop `corun::run` uses unless told otherwise: a FIFO ready queue, timers on
/// [`Instant::now`], and `std::thread::park_timeout` when idle. It does no IO of its own.
///
/// Timers have a resolution of one millisecond, as tokio's: a deadline is rounded up to the next
/// millisecond tick of the loop, so a timer fires late by less than a millisecond, never early,
/// and timers due within the same millisecond cost one wake-up of the thread.
///
/// Make it on the thread that will run it (a `loop_factory` is called there).
///
/// # Examples
///
/// ```
/// use corun_runtime::{loops::DefaultLoop, Config};
///
/// let answer = Config::new().loop_factory(DefaultLoop::new).run(async { 42 });
/// assert_eq!(answer, 42);
/// ```
pub struct DefaultLoop {
    core: LoopCore,
}

impl DefaultLoop {
    /// Makes a loop for the current thread.
    ///
    /// # Examples
    ///
    /// ```
    /// let event_loop = corun_runtime::loops::DefaultLoop::new();
    /// # drop(event_loop);
    /// ```
    #[must_use]
    pub fn new() -> Self {
        DefaultLoop {
            core: LoopCore::new(RESOLUTION),
        }
    }
}

impl Default for DefaultLoop {
    fn default() -> Self {
        Self::new()
    }
}

// `#[inline]` on the queue's two methods: a run on the default loop calls them directly, not
// through the trait (`context::the_loop`), in every wake, spawn and turn.
impl EventLoop for DefaultLoop {
    #[inline]
    fn call_soon(&self, work: Runnable) {
        self.core.call_soon(work);
    }

    #[inline]
    fn next_ready(&self) -> Option<Runnable> {
        self.core.next_ready()
    }

    fn now(&self) -> Instant {
        Instant::now()
    }

    fn add_timer(&self, deadline: Instant, waker: Waker) -> TimerId {
        self.core.add_timer(deadline, waker)
    }

    fn remove_timer(&self, timer: TimerId) -> bool {
        self.core.remove_timer(timer)
    }

    fn park(&self, mode: Park) {
        if mode != Park::Poll {
            self.core.park_until_next_deadline();
        }
        self.core.fire_due_now();
    }

    fn unparker(&self) -> Waker {
        self.core.unparker()
    }

    fn close(&self) {
        self.core.close();
    }
}
