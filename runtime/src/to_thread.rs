//! `to_thread`: blocking work on the loop's thread pool, awaited without blocking the loop.
//! Layer 4 (tasks and what they await): uses the context, the record and `thread_pool`.
//!
//! Each loop has a default pool (asyncio's default executor, `thread_pool.rs`), made on the
//! first `to_thread`. Every job catches its own panic and hands its outcome to a [`Slot`] that
//! the awaiting [`ToThread`] reads; a job whose awaiting task is gone still runs to completion,
//! its result is dropped and its panic reported.
//!
//! While jobs are in flight the loop parks with [`Park::Wait`](crate::Park::Wait), so that a
//! virtual clock does not jump past work that is really under way. At the end of a run the pool
//! stops taking jobs and the run waits for the ones in flight, up to `Config::shutdown_timeout`.

use std::any::Any;
use std::fmt;
use std::future::Future;
use std::panic::{catch_unwind, resume_unwind, AssertUnwindSafe};
use std::pin::Pin;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::task::{Context as PollContext, Poll, Waker};
use std::thread;
use std::time::Duration;

use crate::context::core::Context;
use crate::context::this_thread;
use crate::record::header::{Header, Shared};
use crate::record::report::{self, Report, ReportKind};
use crate::record::task_ref::TaskRef;
use crate::thread_pool::Job;

/// Runs `work` on the loop's thread pool and returns its value, or resumes its panic in the
/// awaiting task (asyncio's `to_thread`). The loop keeps running other tasks meanwhile.
///
/// Nothing starts until the returned future is first polled. From then on the work runs to
/// completion whatever happens to the awaiting task: if that task is cancelled, the work still
/// finishes, its value is dropped, and a panic in it is reported (kind
/// [`UnretrievedPanic`](crate::ReportKind::UnretrievedPanic)). At the end of a run, the run waits
/// for work still under way, up to `Config::shutdown_timeout`, then reports what is left (kind
/// [`ThreadWorkOutstanding`](crate::ReportKind::ThreadWorkOutstanding)) and returns without it.
///
/// The pool is the loop's own, made on first use; it runs at most `min(32, cores + 4)` threads
/// and a thread retires after 10 s without work. Closures run in the order they were submitted
/// when threads are scarce.
///
/// # Panics
///
/// When polled outside a running loop; when polled after the end of the run has started waiting
/// for thread work (the pool no longer takes jobs then); and, in the awaiting task, with the
/// panic of `work`.
///
/// # Examples
///
/// ```
/// let sum = corun_runtime::run(async {
///     corun_runtime::to_thread(|| (1..=100u64).sum::<u64>()).await
/// });
/// assert_eq!(sum, 5050);
/// ```
pub fn to_thread<F, T>(work: F) -> ToThread<T>
where
    F: FnOnce() -> T + Send + 'static,
    T: Send + 'static,
{
    ToThread {
        work: Some(Box::new(work)),
        slot: None,
    }
}

/// The future of [`to_thread`]: the closure's value once a worker thread has run it.
///
/// Dropping it does not stop the work (a thread cannot be interrupted); its result is dropped
/// when it comes.
///
/// # Examples
///
/// ```
/// corun_runtime::run(async {
///     let pending: corun_runtime::ToThread<u32> = corun_runtime::to_thread(|| 7);
///     assert_eq!(pending.await, 7);
/// });
/// ```
#[must_use = "futures do nothing unless awaited"]
pub struct ToThread<T> {
    /// The closure, until the first poll hands it to the pool.
    work: Option<Box<dyn FnOnce() -> T + Send>>,
    /// Where the worker puts the outcome, from the first poll on.
    slot: Option<Arc<Slot<T>>>,
}

impl<T> fmt::Debug for ToThread<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let state = match (&self.work, &self.slot) {
            (Some(_), _) => "not started",
            (None, Some(_)) => "submitted",
            (None, None) => "done",
        };
        f.debug_struct("ToThread").field("state", &state).finish()
    }
}

impl<T: Send + 'static> Future for ToThread<T> {
    type Output = T;

    fn poll(mut self: Pin<&mut Self>, cx: &mut PollContext<'_>) -> Poll<T> {
        if let Some(work) = self.work.take() {
            self.slot = Some(submit(work, cx.waker()));
            return Poll::Pending;
        }
        let slot = self
            .slot
            .as_ref()
            .expect("a ToThread is not polled after it completed");
        let outcome = {
            let mut state = slot.lock();
            match &mut *state {
                SlotState::Waiting(waker) => {
                    if !waker.will_wake(cx.waker()) {
                        waker.clone_from(cx.waker());
                    }
                    return Poll::Pending;
                }
                SlotState::Done(_) => match std::mem::replace(&mut *state, SlotState::Taken) {
                    SlotState::Done(outcome) => outcome,
                    _ => unreachable!("matched Done just above"),
                },
                SlotState::Taken | SlotState::Abandoned => {
                    unreachable!("only the future takes the outcome, and it is still alive")
                }
            }
        };
        self.slot = None;
        match outcome {
            Ok(value) => Poll::Ready(value),
            Err(payload) => resume_unwind(payload),
        }
    }
}

impl<T> Drop for ToThread<T> {
    fn drop(&mut self) {
        let Some(slot) = self.slot.take() else {
            return;
        };
        let left = std::mem::replace(&mut *slot.lock(), SlotState::Abandoned);
        // Dropped after the lock is released: a value's destructor may do anything.
        if let SlotState::Done(Err(payload)) = left {
            slot.report_abandoned_panic(&*payload);
        }
    }
}

/// Hands `work` to the running loop's pool; the returned slot receives its outcome.
fn submit<T: Send + 'static>(work: Box<dyn FnOnce() -> T + Send>, waker: &Waker) -> Arc<Slot<T>> {
    let Some(ctx) = this_thread::current() else {
        panic!(
            "corun::to_thread was awaited outside a running event loop; await it inside \
             corun::run or #[corun::entry]"
        );
    };
    let slot = Arc::new(Slot {
        state: Mutex::new(SlotState::Waiting(waker.clone())),
        task: ctx.with_current(Header::task_ref),
        shared: ctx.shared.clone(),
    });
    let filled = slot.clone();
    let job: Job = Box::new(move || {
        let outcome = catch_unwind(AssertUnwindSafe(work));
        filled.complete(outcome);
    });
    if let Err(error) = ctx.threads.submit(job) {
        panic!("{error}");
    }
    slot
}

/// Where a job's outcome meets the future that awaits it.
struct Slot<T> {
    state: Mutex<SlotState<T>>,
    /// The task that submitted the work, named in a report if the work panics unawaited.
    task: Option<TaskRef>,
    /// The loop to report to.
    shared: Arc<Shared>,
}

enum SlotState<T> {
    /// The work is queued or running; the waker is the awaiting task's.
    Waiting(Waker),
    /// The work finished; the future has not taken the outcome yet.
    Done(thread::Result<T>),
    /// The future took the outcome.
    Taken,
    /// The future was dropped first: whatever comes is dropped (a panic reported).
    Abandoned,
}

impl<T> Slot<T> {
    fn lock(&self) -> MutexGuard<'_, SlotState<T>> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Called on the worker thread when the work has finished.
    fn complete(&self, outcome: thread::Result<T>) {
        let mut state = self.lock();
        match &*state {
            SlotState::Waiting(_) => {
                let waiting = std::mem::replace(&mut *state, SlotState::Done(outcome));
                drop(state);
                if let SlotState::Waiting(waker) = waiting {
                    waker.wake();
                }
            }
            _ => {
                drop(state);
                if let Err(payload) = &outcome {
                    self.report_abandoned_panic(&**payload);
                }
                drop(outcome);
            }
        }
    }

    fn report_abandoned_panic(&self, payload: &(dyn Any + Send)) {
        let message = format!(
            "to_thread work panicked after its task stopped waiting for it: {}",
            report::panic_message(payload)
        );
        let report = match &self.task {
            Some(task) => Report::for_task(ReportKind::UnretrievedPanic, task, message),
            None => Report::new(ReportKind::UnretrievedPanic, message),
        };
        this_thread::deliver(&self.shared, report);
    }
}

/// The end of a run's thread work: wait for it up to `timeout` (or until the pool's interrupter
/// is woken), then report what the timeout left. Returns how many jobs were left running; when a
/// signal ended the wait, the signal's one report says so instead.
pub(crate) fn wait_at_shutdown(ctx: &Context, timeout: Duration) -> usize {
    let Some(left) = ctx.threads.shut_down(timeout) else {
        return 0;
    };
    if !left.interrupted {
        let message = format!(
            "{} to_thread job(s) still running when the shutdown timeout ({timeout:?}) ran out; \
             the run returns without them and their results will be dropped",
            left.jobs
        );
        let report =
            Report::new(ReportKind::ThreadWorkOutstanding, message).with_elapsed(left.waited);
        ctx.report(&report);
    }
    left.jobs
}
