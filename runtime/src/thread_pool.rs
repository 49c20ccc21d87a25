//! The loop's thread pool (asyncio's default executor): a queue of jobs under a mutex, and
//! worker threads started on demand up to [`max_threads`], each retiring after
//! [`IDLE_TIMEOUT`] without work; and [`spawn_thread`], the one `thread::Builder::spawn` of the
//! crate. The context holds a loop's pool as [`Threads`], a trait object made on first use.
//!
//! Layer 2 (beside the loop layer): imports nothing of the crate. `to_thread.rs` submits jobs.

use std::cell::OnceCell;
use std::collections::VecDeque;
use std::fmt;
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::task::{Wake, Waker};
use std::thread;
use std::time::{Duration, Instant};

/// How long a worker thread waits for a job before it retires.
pub(crate) const IDLE_TIMEOUT: Duration = Duration::from_secs(10);

/// The bound on a loop's worker threads: asyncio's `min(32, cores + 4)`.
pub(crate) fn max_threads() -> usize {
    let cores = thread::available_parallelism().map_or(1, |n| n.get());
    (cores + 4).min(32)
}

/// A job as the pool runs it. It catches its own panic, so running it never unwinds.
pub(crate) type Job = Box<dyn FnOnce() + Send>;

/// The loop's side of its thread pool: made with the loop, the pool itself on first use.
///
/// The pool is held as a trait object made by [`Threads::submit`], which only the generic
/// [`to_thread`](crate::to_thread) reaches: a program that never calls `to_thread` never
/// compiles the pool (its queue, condition variables and worker loop), while the end of a run waits for it through the
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
    /// the [`interrupter`](Self::interrupter) is woken. Returns what is left, if any.
    fn shut_down(&self, timeout: Duration) -> Option<Outstanding>;

    /// A waker that ends the shutdown's wait at once, from any thread (a signal's).
    fn interrupter(&self) -> Waker;
}

/// The thread work a shutdown left behind.
pub(crate) struct Outstanding {
    /// How many jobs are still queued or running.
    pub(crate) jobs: usize,
    /// How long the wait took.
    pub(crate) waited: Duration,
    /// Whether the interrupter ended the wait (else the timeout did).
    pub(crate) interrupted: bool,
}

impl Threads {
    pub(crate) fn new(unparker: Waker) -> Self {
        Threads {
            pool: OnceCell::new(),
            unparker,
        }
    }

    /// Whether a job was ever submitted, which starts the pool.
    pub(crate) fn started(&self) -> bool {
        self.pool.get().is_some()
    }

    /// How many jobs are queued or running.
    pub(crate) fn in_flight(&self) -> usize {
        self.pool.get().map_or(0, |pool| pool.in_flight())
    }

    /// Inline: only [`to_thread`](crate::to_thread) reaches it (see [`Threads`]).
    #[inline]
    pub(crate) fn submit(&self, job: Job) -> Result<(), SubmitError> {
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

    pub(crate) fn shut_down(&self, timeout: Duration) -> Option<Outstanding> {
        self.pool.get()?.shut_down(timeout)
    }

    /// A waker that ends the wait of [`shut_down`](Self::shut_down) at once, from any thread;
    /// `None` if no thread work was ever started (then there is nothing to wait for).
    pub(crate) fn interrupter(&self) -> Option<Waker> {
        Some(self.pool.get()?.interrupter())
    }
}

/// Why the pool refused a job.
pub(crate) enum SubmitError {
    Shut,
    Spawn(std::io::Error),
}

impl fmt::Display for SubmitError {
    /// Inline: only [`to_thread`](crate::to_thread) reaches it (see [`Threads`]).
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

/// The default pool. Every method is `#[inline]`: only [`to_thread`](crate::to_thread) makes a
/// pool, so a program that never calls it never compiles them (see [`Threads`]).
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
