//! A loop whose clock only moves when every task waits: tests of timeouts run in no time.
//!
//! Layer 2 (the loop layer): uses only the rest of `loops/` and `event_loop`; never the
//! context, the run or the task layer (`tests/layering.rs`).
//!
//! Every method is `#[inline]`: the loop's vtable is made where a `loop_factory` names it, so
//! only programs that use it compile it (ARCHITECTURE.md, "Pay for what you use").

use std::cell::Cell;
use std::task::Waker;
use std::thread;
use std::time::Instant;

use super::core::LoopCore;
use crate::event_loop::{EventLoop, Park, Runnable, TimerId};

/// A loop with a virtual clock. The clock stands still while work runs and, whenever every task
/// waits and only timers can make progress ([`Park::Idle`]), jumps straight to the next timer. So
/// `sleep(Duration::from_secs(3600))` returns at once, and [`now`](crate::now) afterwards reads an
/// hour later than before.
///
/// While a `to_thread` job is under way the loop waits for it in real time and the clock does
/// not jump ([`Park::Wait`]), so a timeout around thread work still sees the work finish first.
/// The clock starts at the real [`Instant::now`] of the loop's creation. Timers fire exactly at
/// their deadlines (no rounding), so virtual durations are exact.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use corun_runtime::{loops::VirtualTimeLoop, Config};
///
/// let waited = Config::new().loop_factory(VirtualTimeLoop::new).run(async {
///     let start = corun_runtime::now();
///     corun_runtime::sleep(Duration::from_secs(3600)).await;
///     corun_runtime::now() - start
/// });
/// assert_eq!(waited, Duration::from_secs(3600));
/// ```
pub struct VirtualTimeLoop {
    core: LoopCore,
    clock: Cell<Instant>,
}

impl VirtualTimeLoop {
    /// Makes a virtual-time loop for the current thread.
    ///
    /// # Examples
    ///
    /// ```
    /// let event_loop = corun_runtime::loops::VirtualTimeLoop::new();
    /// # drop(event_loop);
    /// ```
    #[must_use]
    #[inline]
    pub fn new() -> Self {
        VirtualTimeLoop {
            core: LoopCore::new(std::time::Duration::ZERO),
            clock: Cell::new(Instant::now()),
        }
    }
}

impl Default for VirtualTimeLoop {
    #[inline]
    fn default() -> Self {
        Self::new()
    }
}

impl EventLoop for VirtualTimeLoop {
    #[inline]
    fn call_soon(&self, work: Runnable) {
        self.core.call_soon(work);
    }

    #[inline]
    fn next_ready(&self) -> Option<Runnable> {
        self.core.next_ready()
    }

    #[inline]
    fn now(&self) -> Instant {
        self.clock.get()
    }

    #[inline]
    fn add_timer(&self, deadline: Instant, waker: Waker) -> TimerId {
        self.core.add_timer(deadline, waker)
    }

    #[inline]
    fn remove_timer(&self, timer: TimerId) -> bool {
        self.core.remove_timer(timer)
    }

    #[inline]
    fn park(&self, mode: Park) {
        let next = self.core.next_deadline();
        let due_now = next.is_some_and(|deadline| deadline <= self.clock.get());
        match (mode, next) {
            (Park::Poll, _) => {}
            _ if due_now => {}
            (Park::Idle, Some(deadline)) => self.clock.set(deadline),
            (Park::Wait | Park::Idle, _) => thread::park(),
        }
        if self.core.has_timers() {
            self.core.fire_due(self.clock.get());
        }
    }

    #[inline]
    fn unparker(&self) -> Waker {
        self.core.unparker()
    }

    #[inline]
    fn close(&self) {
        self.core.close();
    }
}
