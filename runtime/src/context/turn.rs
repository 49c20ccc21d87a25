//! One turn of the loop, as asyncio's `_run_once`: take in what other threads sent, run ready
//! work in FIFO order while the budget lasts, then say how the loop may park. Layer 3 (the
//! context): uses `context::core`, the loop layer and the record.
//!
//! The run's driver (`run/drive.rs`) calls [`Context::run_ready`] and parks with
//! [`Context::park_mode`]; neither looks at the thread-local.

use super::core::Context;
use crate::event_loop::{EventLoop, Park, Runnable};
use crate::record::header::Remote;

/// The most runnables one turn runs before the loop looks at timers and other threads again.
/// The ready queue is FIFO (the main task takes its place in it too), so a task that wakes
/// itself goes to the back and cannot starve other tasks; the budget keeps it from starving
/// timers and other threads.
pub(crate) const BUDGET: usize = 128;

impl Context {
    /// Moves what other threads sent into the loop: the messages queued on entry.
    // Inline, the rest out of line: one atomic load in the turn when nothing came (the usual
    // case), without a call (taking and iterating an empty queue cost about 50 instructions a
    // turn, 400 of a 6,000-instruction `run()`; the call ~20 more).
    #[inline]
    fn drain_remote(&self) {
        if self.shared.has_remote() {
            self.take_remote();
        }
    }

    #[cold]
    #[inline(never)]
    fn take_remote(&self) {
        for message in self.shared.take_all() {
            match message {
                Remote::Run(runnable) => self.call_soon(Runnable::new(runnable)),
                Remote::Wake(waker) => waker.wake(),
                Remote::Await { task, waker } => {
                    if task.is_complete() {
                        waker.wake();
                    } else {
                        self.park_awaiter(task.header().id(), &waker);
                    }
                }
                Remote::RunMain => {
                    if let Some(turn) = self.main_turn() {
                        self.call_soon(turn);
                    }
                }
                Remote::Cancel { id, slot } => self.wake_task_at(id, slot),
                Remote::Report(report) => self.report(&report),
            }
        }
    }

    /// Takes in what other threads sent, then runs ready work in FIFO order while `budget`
    /// lasts. Returns `true` as soon as the main task's turn comes: the caller polls main and may
    /// call again with what is left of the budget. A turn of main queued by a waker that outlived
    /// its run (none is being driven) is skipped.
    pub(crate) fn run_ready(&self, budget: &mut usize) -> bool {
        self.drain_remote();
        while *budget > 0 {
            let Some(runnable) = self.event_loop.next_ready() else {
                self.queued.set(0);
                break;
            };
            self.queued.set(self.queued.get().saturating_sub(1));
            *budget -= 1;
            if runnable.run() && self.main_active.get() {
                return true;
            }
        }
        false
    }

    /// Gives their turn to the runnables that were ready when main finished, and to no others
    /// (asyncio's `loop.stop()`, which lets the current batch of callbacks run): a task that
    /// main spawned just before returning runs up to its first pending `.await`, as it would in
    /// asyncio. What they queue in turn (tasks they spawn or wake) waits for the shutdown, which
    /// cancels it. Called once main is no longer driven, so a turn of main among them is skipped.
    pub(crate) fn run_current_batch(&self) {
        self.drain_remote();
        // The queue is FIFO: a budget of what is queued now runs exactly those runnables.
        self.run_ready(&mut self.queued.get());
    }

    /// Leaks every queued runnable instead of running or dropping it, and returns how many
    /// there were. Only for a shutdown stopped by a signal: dropping a task's future runs its
    /// destructors, which may spawn again, and the signal asked the run to stop now.
    pub(crate) fn abandon_ready(&self) -> usize {
        let mut abandoned = 0;
        while let Some(runnable) = self.event_loop.next_ready() {
            std::mem::forget(runnable);
            abandoned += 1;
        }
        self.queued.set(0);
        abandoned
    }

    /// How the loop may park after a turn: without blocking if work is ready (here or sent from
    /// another thread), else until a timer or another thread wakes it; while `to_thread` work is
    /// in flight, without letting a virtual clock jump.
    pub(crate) fn park_mode(&self) -> Park {
        if self.has_ready() || self.shared.has_remote() {
            Park::Poll
        } else if self.threads.in_flight() > 0 {
            Park::Wait
        } else {
            Park::Idle
        }
    }

    /// Closes the remote queue and handles what was still in it.
    pub(crate) fn close_remote(&self) {
        self.shared.close();
        // As in `drain_remote`: one atomic load when nothing came.
        if !self.shared.has_remote() {
            return;
        }
        for message in self.shared.take_all() {
            match message {
                Remote::Run(runnable) => self.call_soon(Runnable::new(runnable)),
                // Every task completed before the close: the awaiting code sees it when polled.
                Remote::Await { waker, .. } => waker.wake(),
                Remote::Wake(_) | Remote::RunMain | Remote::Cancel { .. } => {}
                Remote::Report(report) => self.report(&report),
            }
        }
    }
}
