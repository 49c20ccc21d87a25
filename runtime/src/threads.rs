//! `to_thread`: blocking work on the loop's thread pool, awaited without blocking the loop.
//!
//! Each loop has a default pool (asyncio's default executor), made on the first `to_thread`:
//! a queue of jobs under a mutex, and worker threads started on demand up to
//! [`max_threads`], each retiring after [`IDLE_TIMEOUT`] without work. Every job catches its own
//! panic and hands its outcome to a [`Slot`] that the awaiting [`ToThread`] reads; a job whose
//! awaiting task is gone still runs to completion, its result is dropped and its panic reported.
//!
//! While jobs are in flight the loop parks with [`Park::Wait`](crate::Park::Wait), so that a
//! virtual clock does not jump past work that is really under way. At the end of a run the pool
//! stops taking jobs and the run waits for the ones in flight, up to `Config::shutdown_timeout`.

use std::any::Any;
use std::cell::OnceCell;
use std::collections::VecDeque;
use std::fmt;
use std::future::Future;
use std::panic::{catch_unwind, resume_unwind, AssertUnwindSafe};
use std::pin::Pin;
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::task::{Context as PollContext, Poll, Wake, Waker};
use std::thread;
use std::time::{Duration, Instant};

use crate::context::{self, Context, Shared};
use crate::report::{self, Report, ReportKind};
use crate::task::{Header, TaskRef};

/// How long a worker thread waits for a job before it retires.
pub(crate) const IDLE_TIMEOUT: Duration = Duration::from_secs(10);

/// The bound on a loop's worker threads: asyncio's `min(32, cores + 4)`.
pub(crate) fn max_threads() -> usize {
    let cores = thread::available_parallelism().map_or(1, |n| n.get());
    (cores + 4).min(32)
}

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
    let Some(ctx) = context::current() else {
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

/// A job as the pool runs it. It catches its own panic, so running it never unwinds.
type Job = Box<dyn FnOnce() + Send>;

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
        context::deliver(&self.shared, report);
    }
}

/// The loop's side of its thread pool: made with the loop, the pool itself on first use.
///
/// The pool is held as a trait object made by [`Threads::submit`], which only the generic
/// [`to_thread`] reaches: a program that never calls `to_thread` never compiles the pool (its
/// queue, condition variables and worker loop), while the end of a run waits for it through the
/// vtable (see "Pay for what you use" in ARCHITECTURE.md).
pub(crate) struct Threads {
    pool: OnceCell<Box<dyn ThreadPool>>,
    /// The loop's unparker, woken when the last job in flight finishes.
    unparker: Waker,
}

/// What the loop asks of its pool; implemented by [`Pool`], reached through a vtable.
trait ThreadPool {
    fn submit(&self, job: Job) -> Result<(), SubmitError>;

    /// How many jobs are queued or running.
    fn in_flight(&self) -> usize;

    /// Stops taking jobs and waits up to `timeout` (real time) for the ones in flight, or until
    /// the [`interrupter`](Self::interrupter) is woken. Returns how many are left, how long the
    /// wait took and whether it was interrupted, if any are left.
    fn shut_down(&self, timeout: Duration) -> Option<Outstanding>;

    /// A waker that ends the shutdown's wait at once, from any thread (a signal's).
    fn interrupter(&self) -> Waker;
}

/// The thread work a shutdown left behind.
pub(crate) struct Outstanding {
    jobs: usize,
    waited: Duration,
    interrupted: bool,
}

impl Threads {
    pub(crate) fn new(unparker: Waker) -> Self {
        Threads {
            pool: OnceCell::new(),
            unparker,
        }
    }

    /// How many jobs are queued or running.
    pub(crate) fn in_flight(&self) -> usize {
        self.pool.get().map_or(0, |pool| pool.in_flight())
    }

    /// Inline: only [`to_thread`] reaches it (see [`Threads`]).
    #[inline]
    fn submit(&self, job: Job) -> Result<(), SubmitError> {
        let pool = self.pool.get_or_init(|| {
            Box::new(Pool(Arc::new(PoolShared {
                state: Mutex::new(PoolState::default()),
                job_queued: Condvar::new(),
                all_done: Condvar::new(),
                max_threads: max_threads(),
                unparker: self.unparker.clone(),
            })))
        });
        pool.submit(job)
    }

    fn shut_down(&self, timeout: Duration) -> Option<Outstanding> {
        self.pool.get()?.shut_down(timeout)
    }

    /// A waker that ends the wait of [`wait_at_shutdown`] at once, from any thread; `None` if
    /// no thread work was ever started (then there is nothing to wait for).
    pub(crate) fn interrupter(&self) -> Option<Waker> {
        Some(self.pool.get()?.interrupter())
    }
}

/// The end of a run's thread work: wait for it up to `timeout` (or until the interrupter is
/// woken), then report what is left. Returns how many jobs were left running.
pub(crate) fn wait_at_shutdown(ctx: &Context, timeout: Duration) -> usize {
    let Some(left) = ctx.threads.shut_down(timeout) else {
        return 0;
    };
    let jobs = left.jobs;
    let message = if left.interrupted {
        format!(
            "{jobs} to_thread job(s) still running when a signal ended the wait for them; the \
             run returns without them and their results will be dropped"
        )
    } else {
        format!(
            "{jobs} to_thread job(s) still running when the shutdown timeout ({timeout:?}) ran \
             out; the run returns without them and their results will be dropped"
        )
    };
    let report = Report::new(ReportKind::ThreadWorkOutstanding, message).with_elapsed(left.waited);
    ctx.report(&report);
    jobs
}

/// Why the pool refused a job.
enum SubmitError {
    Shut,
    Spawn(std::io::Error),
}

impl fmt::Display for SubmitError {
    /// Inline: only [`to_thread`] reaches it (see [`Threads`]).
    #[inline]
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SubmitError::Shut => f.write_str(
                "corun::to_thread was called after the run's shutdown stopped taking thread \
                 work; start thread work before the run ends (cleanup in tasks cancelled at \
                 shutdown may still use it)",
            ),
            SubmitError::Spawn(error) => write!(
                f,
                "corun::to_thread could not start a worker thread and none is running: {error}"
            ),
        }
    }
}

/// The default pool. Every method is `#[inline]`: only [`to_thread`] makes a pool, so a program
/// that never calls it never compiles them (see [`Threads`]).
struct Pool(Arc<PoolShared>);

/// What the pool's worker threads share with the loop.
struct PoolShared {
    state: Mutex<PoolState>,
    /// Idle workers wait here for a job (or for the shutdown).
    job_queued: Condvar,
    /// The shutdown waits here for the last job in flight.
    all_done: Condvar,
    max_threads: usize,
    unparker: Waker,
}

#[derive(Default)]
struct PoolState {
    queue: VecDeque<Job>,
    /// Worker threads alive (including those being started).
    threads: usize,
    /// Workers waiting on `job_queued`.
    idle: usize,
    /// Jobs queued or running.
    in_flight: usize,
    /// No more jobs are taken; idle workers leave once the queue is empty.
    shut: bool,
    /// The shutdown's wait for jobs in flight was interrupted (by a signal): it ends at once.
    interrupted: bool,
}

/// The pool's interrupter (see [`ThreadPool::interrupter`]): a wake ends the shutdown's wait.
impl Wake for PoolShared {
    #[inline]
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    #[inline]
    fn wake_by_ref(self: &Arc<Self>) {
        self.lock().interrupted = true;
        self.all_done.notify_all();
    }
}

impl ThreadPool for Pool {
    #[inline]
    fn submit(&self, job: Job) -> Result<(), SubmitError> {
        let shared = &self.0;
        let mut state = shared.lock();
        if state.shut {
            return Err(SubmitError::Shut);
        }
        state.queue.push_back(job);
        state.in_flight += 1;
        // Every idle worker not yet woken takes one queued job; start a thread only for the rest.
        if state.idle >= state.queue.len() {
            shared.job_queued.notify_one();
            return Ok(());
        }
        if state.threads >= shared.max_threads {
            return Ok(());
        }
        state.threads += 1;
        drop(state);
        let worker = shared.clone();
        let Err(error) = spawn_thread("corun-to-thread", Box::new(move || worker.work())) else {
            return Ok(());
        };
        let mut state = shared.lock();
        state.threads -= 1;
        if state.threads > 0 {
            // A running worker will get to the job.
            return Ok(());
        }
        let job = state.queue.pop_back();
        state.in_flight -= 1;
        drop(state);
        drop(job);
        Err(SubmitError::Spawn(error))
    }

    #[inline]
    fn in_flight(&self) -> usize {
        self.0.lock().in_flight
    }

    #[inline]
    fn interrupter(&self) -> Waker {
        Waker::from(self.0.clone())
    }

    #[inline]
    fn shut_down(&self, timeout: Duration) -> Option<Outstanding> {
        let shared = &self.0;
        let start = Instant::now();
        let deadline = start.checked_add(timeout);
        let mut state = shared.lock();
        state.shut = true;
        shared.job_queued.notify_all();
        while state.in_flight > 0 {
            let left = match deadline {
                Some(deadline) => deadline.saturating_duration_since(Instant::now()),
                None => Duration::MAX,
            };
            if left.is_zero() || state.interrupted {
                return Some(Outstanding {
                    jobs: state.in_flight,
                    waited: start.elapsed(),
                    interrupted: state.interrupted,
                });
            }
            state = shared
                .all_done
                .wait_timeout(state, left)
                .unwrap_or_else(PoisonError::into_inner)
                .0;
        }
        None
    }
}

impl PoolShared {
    #[inline]
    fn lock(&self) -> MutexGuard<'_, PoolState> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// A worker thread: run queued jobs; retire after [`IDLE_TIMEOUT`] without one, or once the
    /// pool is shut and the queue empty.
    #[inline]
    fn work(&self) {
        let mut state = self.lock();
        loop {
            if let Some(job) = state.queue.pop_front() {
                drop(state);
                job();
                state = self.lock();
                state.in_flight -= 1;
                if state.in_flight == 0 {
                    self.all_done.notify_all();
                    // A loop parked in `Park::Wait` re-decides how to park.
                    self.unparker.wake_by_ref();
                }
                continue;
            }
            if state.shut {
                break;
            }
            state.idle += 1;
            let (guard, waited) = self
                .job_queued
                .wait_timeout(state, IDLE_TIMEOUT)
                .unwrap_or_else(PoisonError::into_inner);
            state = guard;
            state.idle -= 1;
            if waited.timed_out() && state.queue.is_empty() {
                break;
            }
        }
        state.threads -= 1;
    }
}

/// Starts a named thread running `body`: the one instantiation of `std::thread::Builder::spawn`
/// that the pool's workers and the `corun-signals` thread share.
pub(crate) fn spawn_thread(name: &str, body: Box<dyn FnOnce() + Send>) -> std::io::Result<()> {
    thread::Builder::new().name(name.to_owned()).spawn(body)?;
    Ok(())
}
