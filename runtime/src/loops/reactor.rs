//! What the two IO loops share: [`LoopCore`]'s ready queue and timers, driven from inside a
//! reactor's own `block_on`.
//!
//! The reactor's `block_on` polls one future, [`Driven::poll_turns`]: it fires due timers, runs
//! the runtime's turns, and when a turn says nothing is ready it returns `Pending` with an alarm
//! armed at the next timer. The reactor then waits for IO on this thread, runs its own tasks, and
//! polls the future again once woken: by a corun task's wake-up (which [`Driven::call_soon`]
//! turns into a wake of the `block_on` future), by the alarm, or by another thread through the
//! [`Doorbell`]. So IO is woken on the loop's thread and no helper thread hands it over.
//!
//! Layer 2 (the loop layer): uses only `event_loop` and the other loops' files; never the
//! context, the run or the task layer (`tests/layering.rs`).

use std::cell::{Cell, RefCell};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::task::{Context as PollContext, Poll, Wake, Waker};
use std::thread::{self, Thread};
use std::time::{Duration, Instant};

use super::core::LoopCore;
use crate::event_loop::{Park, Runnable, TimerId};

/// How an IO loop waits for its next timer inside the reactor: a timer of the reactor's own,
/// re-armed only when the next deadline changes.
pub(super) trait Alarm {
    /// Arms the alarm at `deadline` (unless it is armed there already) and polls it: `Ready` once
    /// the deadline has passed, else `Pending` with `cx` woken then. `mode` is how the turn said
    /// the loop may park: an alarm on a paused clock that jumps to the next timer when idle must
    /// not let it jump in [`Park::Wait`] (thread work under way).
    fn poll_at(&mut self, deadline: Instant, mode: Park, cx: &mut PollContext<'_>) -> Poll<()>;
}

/// Where an IO loop's clock comes from: the reactor's (`TokioLoop` on a paused tokio clock reads
/// tokio's), or the real one.
pub(super) type Clock<'a> = &'a dyn Fn() -> Instant;

/// Wakes the loop from any thread: the waker of the `block_on` future being driven, or, when
/// none is, the loop's thread (which then parks by itself).
struct Doorbell {
    waker: Mutex<Option<Waker>>,
    /// Rung since the loop last looked: a wake that comes before a park is not lost.
    rung: AtomicBool,
    thread: Thread,
}

impl Doorbell {
    fn set_waker(&self, waker: Option<Waker>) {
        let old = std::mem::replace(
            &mut *self.waker.lock().unwrap_or_else(PoisonError::into_inner),
            waker,
        );
        drop(old);
    }
}

impl Wake for Doorbell {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        self.rung.store(true, Ordering::Release);
        let waker = self
            .waker
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone();
        match waker {
            Some(waker) => waker.wake(),
            None => self.thread.unpark(),
        }
    }
}

/// The state of an IO loop apart from its reactor.
pub(super) struct Driven {
    core: LoopCore,
    doorbell: Arc<Doorbell>,
    unparker: Waker,
    /// The waker of the `block_on` future being driven, for wakes from this thread.
    local: RefCell<Option<Waker>>,
    /// The driven future is being polled: work queued now runs before the poll returns, so
    /// nobody needs waking.
    polling: Cell<bool>,
    /// The driven future was woken since its last poll: further wakes add nothing.
    woken: Cell<bool>,
}

/// Ends a poll of the driven future, also if a turn unwinds.
struct PollingGuard<'a>(&'a Cell<bool>);

impl Drop for PollingGuard<'_> {
    fn drop(&mut self) {
        self.0.set(false);
    }
}

/// Forgets the `block_on` future's waker when a drive ends (or unwinds).
struct DriveGuard<'a>(&'a Driven);

impl Drop for DriveGuard<'_> {
    fn drop(&mut self) {
        let local = self.0.local.take();
        drop(local);
        self.0.doorbell.set_waker(None);
        self.0.woken.set(false);
    }
}

impl Driven {
    /// Made on the loop's thread. Timers fire on multiples of `resolution` (one millisecond, as
    /// the reactors' own; zero on a paused clock, whose durations are exact).
    pub(super) fn new(resolution: Duration) -> Self {
        let doorbell = Arc::new(Doorbell {
            waker: Mutex::new(None),
            rung: AtomicBool::new(false),
            thread: thread::current(),
        });
        Driven {
            core: LoopCore::new(resolution),
            unparker: Waker::from(doorbell.clone()),
            doorbell,
            local: RefCell::new(None),
            polling: Cell::new(false),
            woken: Cell::new(false),
        }
    }

    /// Queues work; from outside a poll of the driven future (a reactor's IO event, a task of
    /// the reactor's runtime), also wakes that future so that a turn runs the work.
    pub(super) fn call_soon(&self, work: Runnable) {
        self.core.call_soon(work);
        if !self.polling.get() {
            self.wake_local();
        }
    }

    pub(super) fn next_ready(&self) -> Option<Runnable> {
        self.core.next_ready()
    }

    /// Arms a timer; from outside a poll of the driven future, wakes it so it re-arms its alarm.
    pub(super) fn add_timer(&self, deadline: Instant, waker: Waker) -> TimerId {
        let id = self.core.add_timer(deadline, waker);
        if !self.polling.get() {
            self.wake_local();
        }
        id
    }

    pub(super) fn remove_timer(&self, timer: TimerId) -> bool {
        self.core.remove_timer(timer)
    }

    pub(super) fn unparker(&self) -> Waker {
        self.unparker.clone()
    }

    pub(super) fn close(&self) {
        self.core.close();
    }

    /// Wakes the driven future from this thread, once per poll of it.
    fn wake_local(&self) {
        if self.woken.get() {
            return;
        }
        let waker = self.local.borrow().clone();
        if let Some(waker) = waker {
            self.woken.set(true);
            waker.wake();
        }
    }

    /// Drives `turn` inside a reactor: `block_on` is the reactor's `block_on`, given the future
    /// to drive; `alarm` waits for timers inside it; `now` is the loop's clock.
    pub(super) fn drive_in(
        &self,
        turn: &mut dyn FnMut() -> Option<Park>,
        alarm: &mut dyn Alarm,
        now: Clock<'_>,
        block_on: impl FnOnce(&mut dyn FnMut(&mut PollContext<'_>) -> Poll<()>),
    ) {
        let _drive = DriveGuard(self);
        block_on(&mut |cx| self.poll_turns(cx, turn, alarm, now));
    }

    /// One poll of the future a reactor's `block_on` drives: fire due timers and run turns until
    /// one says to wait, then leave the wait to the reactor, with `alarm` armed at the next timer.
    fn poll_turns(
        &self,
        cx: &mut PollContext<'_>,
        turn: &mut dyn FnMut() -> Option<Park>,
        alarm: &mut dyn Alarm,
        now: Clock<'_>,
    ) -> Poll<()> {
        self.register(cx.waker());
        self.polling.set(true);
        let _polling = PollingGuard(&self.polling);
        loop {
            self.woken.set(false);
            self.doorbell.rung.store(false, Ordering::Release);
            self.fire_due(now);
            let Some(mode) = turn() else {
                return Poll::Ready(());
            };
            if mode == Park::Poll || self.doorbell.rung.load(Ordering::Acquire) {
                // Let the reactor poll for IO and run its own tasks, then come back at once.
                self.woken.set(true);
                cx.waker().wake_by_ref();
                return Poll::Pending;
            }
            match self.core.next_deadline() {
                Some(deadline) if deadline <= now() => continue,
                Some(deadline) if alarm.poll_at(deadline, mode, cx).is_ready() => continue,
                _ => return Poll::Pending,
            }
        }
    }

    /// Keeps the waker of the future being driven, for wakes from this thread and others.
    fn register(&self, waker: &Waker) {
        if self
            .local
            .borrow()
            .as_ref()
            .is_some_and(|known| known.will_wake(waker))
        {
            return;
        }
        let old = self.local.replace(Some(waker.clone()));
        drop(old);
        self.doorbell.set_waker(Some(waker.clone()));
    }

    /// Wakes the timers due by `now`; with no timer set, reads no clock.
    fn fire_due(&self, now: Clock<'_>) {
        if self.core.has_timers() {
            self.core.fire_due(now());
        }
    }

    /// Parks without a reactor, as the default loop does, until the next deadline on `now`'s
    /// clock (which must run at real speed): for an IO loop whose reactor is gone (its runtime
    /// was shut down at the end of the run).
    pub(super) fn park_thread(&self, mode: Park, now: Clock<'_>) {
        if mode != Park::Poll && !self.doorbell.rung.swap(false, Ordering::AcqRel) {
            match self.core.next_deadline() {
                None => thread::park(),
                Some(deadline) => {
                    let wait = deadline.saturating_duration_since(now());
                    if !wait.is_zero() {
                        thread::park_timeout(wait);
                    }
                }
            }
        }
        self.fire_due(now);
    }
}
