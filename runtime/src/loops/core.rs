//! The state both shipped loops share: the ready queue, the timer queue and the unparker.
//!
//! Layer 2 (the loop layer): uses only the rest of `loops/` and `event_loop`; never the
//! context, the run or the task layer (`tests/layering.rs`).

use std::cell::{Cell, RefCell};
use std::collections::VecDeque;
use std::sync::{Arc, OnceLock};
use std::task::{Wake, Waker};
use std::thread::{self, Thread};
use std::time::Instant;

use super::timers::TimerQueue;
use crate::event_loop::{Runnable, TimerId};

/// Slots the ready queue keeps once it has drained: enough for the usual turn's work (the turn's
/// budget is 128 polls) without reallocating.
const KEPT_READY_CAPACITY: usize = 1024;

/// Slots a new loop's ready queue starts with, and a closed one keeps.
const FIRST_READY_CAPACITY: usize = 64;

pub(super) struct LoopCore {
    ready: RefCell<VecDeque<Runnable>>,
    timers: RefCell<TimerQueue>,
    /// Reused buffer for the wakers of due timers, woken after the timer borrow ends.
    due: RefCell<Vec<Waker>>,
    unparker: Waker,
    /// Deadlines are rounded up to a whole number of these since [`epoch`] (0: exact), so timers
    /// due close together fire in one wake-up instead of one each.
    resolution_nanos: u64,
    /// The tick the last deadline was rounded up to, and the tick before it. Deadlines armed one
    /// after another mostly fall in the same tick: two comparisons answer for them, instead of
    /// a subtraction of `Instant`s and a division (about 70 of the ~480 instructions an arm and
    /// disarm took).
    last_tick: Cell<Option<(Instant, Instant)>>,
}

/// The instant timer ticks are counted from: one per process, taken by the first loop that
/// rounds a deadline, rather than a clock read per loop made (`run()` reads no clock unless a
/// timer is armed).
fn epoch() -> Instant {
    static EPOCH: OnceLock<Instant> = OnceLock::new();
    *EPOCH.get_or_init(Instant::now)
}

thread_local! {
    /// This thread's unparker, made once: it only unparks the thread, so every loop made on the
    /// thread can share it, instead of each `run()` allocating its own.
    static UNPARKER: Waker = thread_unparker();
}

fn thread_unparker() -> Waker {
    Waker::from(Arc::new(ThreadUnparker(thread::current())))
}

/// Unparks the loop's thread. `Thread::unpark` keeps a token, so a wake that comes before the
/// loop parks is not lost.
struct ThreadUnparker(Thread);

impl Wake for ThreadUnparker {
    fn wake(self: Arc<Self>) {
        self.0.unpark();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        self.0.unpark();
    }
}

/// Halves the ready queue's room. Out of line and cold, so that the pop in `next_ready` does not
/// save and restore the registers the shrink needs (about 15 of the ~35 instructions a pop
/// took, on every task switch).
#[cold]
#[inline(never)]
fn give_back_half(ready: &mut VecDeque<Runnable>) {
    let capacity = ready.capacity();
    ready.shrink_to(capacity / 2);
}

impl LoopCore {
    /// Made on the thread that will run the loop; timers fire on multiples of `resolution`
    /// (`Duration::ZERO`: exactly at their deadline).
    pub(super) fn new(resolution: std::time::Duration) -> Self {
        LoopCore {
            ready: RefCell::new(VecDeque::with_capacity(FIRST_READY_CAPACITY)),
            timers: RefCell::default(),
            due: RefCell::default(),
            // A loop made while the thread-locals are torn down makes its own.
            unparker: UNPARKER
                .try_with(Waker::clone)
                .unwrap_or_else(|_| thread_unparker()),
            resolution_nanos: u64::try_from(resolution.as_nanos()).unwrap_or(u64::MAX),
            last_tick: Cell::new(None),
        }
    }

    #[inline]
    pub(super) fn call_soon(&self, work: Runnable) {
        self.ready.borrow_mut().push_back(work);
    }

    /// The oldest queued work. The room a burst grew the queue to (10,000 tasks spawned at once
    /// leave 16,384 slots behind) is given back as the queue drains: once it is less than a
    /// quarter full, its capacity is halved, down to [`KEPT_READY_CAPACITY`]. So queue memory
    /// follows the work that is ready, not the largest burst so far, as asyncio's deque frees its
    /// blocks as it drains. Each halving copies at most a quarter of the slots, paid for by the
    /// pops since the last one, so a pop stays O(1) amortized (`cargo bench --bench heap`,
    /// BENCHMARKS.md).
    #[inline]
    pub(super) fn next_ready(&self) -> Option<Runnable> {
        let mut ready = self.ready.borrow_mut();
        let work = ready.pop_front();
        let capacity = ready.capacity();
        if capacity > KEPT_READY_CAPACITY && ready.len() < capacity / 4 {
            give_back_half(&mut ready);
        }
        work
    }

    pub(super) fn add_timer(&self, deadline: Instant, waker: Waker) -> TimerId {
        let deadline = self.round_up(deadline);
        self.timers.borrow_mut().add(deadline, waker)
    }

    /// The first tick at or after `deadline`. Never earlier: a timer may fire late by less than
    /// the resolution, never early.
    fn round_up(&self, deadline: Instant) -> Instant {
        let resolution = self.resolution_nanos;
        if resolution <= 1 {
            return deadline;
        }
        if let Some((before, tick)) = self.last_tick.get() {
            if before < deadline && deadline <= tick {
                return tick;
            }
        }
        let epoch = epoch();
        let Some(since) = deadline.checked_duration_since(epoch) else {
            return deadline;
        };
        let Ok(nanos) = u64::try_from(since.as_nanos()) else {
            return deadline;
        };
        let ticks = nanos.div_ceil(resolution);
        let at = |ticks: u64| {
            let nanos = ticks.checked_mul(resolution)?;
            epoch.checked_add(std::time::Duration::from_nanos(nanos))
        };
        match (at(ticks.saturating_sub(1)), at(ticks)) {
            (Some(before), Some(tick)) => {
                self.last_tick.set(Some((before, tick)));
                tick
            }
            _ => epoch
                .checked_add(std::time::Duration::from_nanos(
                    ticks.saturating_mul(resolution),
                ))
                .unwrap_or(deadline),
        }
    }

    pub(super) fn remove_timer(&self, timer: TimerId) -> bool {
        // The waker is dropped after the borrow ends: dropping it may run arbitrary code.
        let removed = self.timers.borrow_mut().remove(timer);
        removed.is_some()
    }

    pub(super) fn has_timers(&self) -> bool {
        !self.timers.borrow().is_empty()
    }

    pub(super) fn next_deadline(&self) -> Option<Instant> {
        self.timers.borrow_mut().next_deadline()
    }

    /// Wakes every timer due at `now`. No borrow is held while wakers run.
    pub(super) fn fire_due(&self, now: Instant) {
        let mut due = std::mem::take(&mut *self.due.borrow_mut());
        self.timers.borrow_mut().take_due(now, &mut due);
        // A waker that panics leaves the rest to be dropped with the drain.
        for waker in due.drain(..) {
            waker.wake();
        }
        *self.due.borrow_mut() = due;
    }

    /// Wakes every timer due by now on the real clock; with no timer set, does nothing (and
    /// reads no clock).
    pub(super) fn fire_due_now(&self) {
        if self.has_timers() {
            self.fire_due(Instant::now());
        }
    }

    /// Parks this thread until the next timer's deadline (at once if it has passed), or while
    /// no timer is set until unparked; an unpark ends it early in either case.
    pub(super) fn park_until_next_deadline(&self) {
        match self.next_deadline() {
            None => thread::park(),
            Some(deadline) => {
                let now = Instant::now();
                if deadline > now {
                    thread::park_timeout(deadline - now);
                }
            }
        }
    }

    pub(super) fn unparker(&self) -> Waker {
        self.unparker.clone()
    }

    /// Drops the timers and the queued work. The loop works again afterwards: the runner reuses
    /// a closed default loop for the next run on its thread, so the emptied queue's room is
    /// kept (one allocation of a `run()`; BENCHMARKS.md, "Cheaper `run()`").
    pub(super) fn close(&self) {
        if !self.timers.borrow().is_unused() {
            let timers = self.timers.borrow_mut().clear();
            drop(timers);
        }
        let mut queue = self.ready.borrow_mut();
        if queue.is_empty() {
            if queue.capacity() > FIRST_READY_CAPACITY {
                queue.shrink_to(FIRST_READY_CAPACITY);
            }
            return;
        }
        // Emptied outside the borrow: dropping queued work cancels tasks, which may queue more.
        let mut ready = std::mem::take(&mut *queue);
        drop(queue);
        ready.clear();
        ready.shrink_to(FIRST_READY_CAPACITY);
        let mut queue = self.ready.borrow_mut();
        if queue.capacity() == 0 {
            *queue = ready;
        }
    }
}

#[cfg(test)]
mod tests {
    use std::panic::Location;
    use std::rc::Rc;
    use std::sync::OnceLock;
    use std::time::Duration;

    use crate::event_loop::Runnable;
    use crate::loops::core::{LoopCore, FIRST_READY_CAPACITY, KEPT_READY_CAPACITY};
    use crate::record::id::TaskId;
    use crate::record::task_ref::TaskRef;

    /// A reference to stand for main: what a main turn carries.
    fn main_ref() -> Rc<TaskRef> {
        Rc::new(TaskRef {
            id: TaskId::next(),
            location: Location::caller(),
            given_name: None,
            default_name: OnceLock::new(),
            spawn_backtrace: None,
            control: None,
        })
    }

    fn main_turn(main: &Rc<TaskRef>) -> Runnable {
        Runnable::main(Rc::clone(main))
    }

    /// A loop with `n` turns of `main` queued.
    fn with_turns_queued(main: &Rc<TaskRef>, n: usize) -> LoopCore {
        let core = LoopCore::new(Duration::ZERO);
        for _ in 0..n {
            core.call_soon(main_turn(main));
        }
        core
    }

    #[test]
    fn the_ready_queue_gives_back_a_bursts_room_as_it_drains() {
        let main = main_ref();
        let core = with_turns_queued(&main, 10_000);
        assert!(core.ready.borrow().capacity() >= 10_000);

        let mut popped = 0;
        while core.next_ready().is_some() {
            popped += 1;
        }
        assert_eq!(
            popped, 10_000,
            "every queued turn comes out, in spite of the shrinking"
        );
        assert!(core.ready.borrow().capacity() <= KEPT_READY_CAPACITY);
    }

    #[test]
    fn a_closed_loop_drops_its_work_keeps_its_first_room_and_works_again() {
        let main = main_ref();
        let core = with_turns_queued(&main, 10_000);
        core.close();
        assert_eq!(Rc::strong_count(&main), 1, "the queued turns were dropped");
        assert!(core.next_ready().is_none());
        let room = core.ready.borrow().capacity();
        assert!(
            (1..=FIRST_READY_CAPACITY).contains(&room),
            "{room} slots kept"
        );

        core.call_soon(main_turn(&main));
        assert!(core.next_ready().is_some());
        let timer = core.add_timer(std::time::Instant::now(), std::task::Waker::noop().clone());
        assert!(core.remove_timer(timer));
    }

    #[test]
    fn the_ready_queue_keeps_its_usual_room() {
        let core = LoopCore::new(Duration::ZERO);
        let main = main_ref();
        for _ in 0..KEPT_READY_CAPACITY {
            core.call_soon(main_turn(&main));
        }
        let capacity = core.ready.borrow().capacity();
        while core.next_ready().is_some() {}
        assert_eq!(core.ready.borrow().capacity(), capacity);
    }
}
