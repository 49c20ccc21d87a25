//! `TokioLoop`: corun's turns run inside a tokio current-thread runtime's `block_on`, so tokio's
//! IO and time drivers turn on the loop's thread and every tokio-based crate works in corun
//! tasks (feature `tokio`).
//!
//! Layer 2 (the loop layer): uses only `event_loop` and the other loops' files; never the
//! context, the run or the task layer (`tests/layering.rs`).

use std::cell::RefCell;
use std::future::{poll_fn, Future};
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context as PollContext, Poll, Waker};
use std::time::{Duration, Instant};

use tokio::runtime::{Builder, Handle, Runtime, RuntimeFlavor};
use tokio::time::Sleep;

use super::reactor::{Alarm, Driven};
use crate::event_loop::{EventLoop, Park, Runnable, TimerId};

/// A loop on tokio's reactor: a tokio current-thread runtime drives corun's turns from inside
/// its `block_on`, on the loop's thread.
///
/// - **tokio's crates work in corun tasks.** The whole run happens inside the runtime's context,
///   and corun's tasks are polled inside its `block_on`: `tokio::net`, `tokio::time`,
///   `tokio::fs`, hyper, axum, reqwest, tonic, sqlx... find the runtime they expect, and tokio's
///   cooperative budget applies to each turn of corun's tasks as to a tokio task's poll.
/// - **Parking turns tokio's IO and time drivers** on this thread: IO readiness wakes corun's
///   tasks directly, with no thread in between. corun's own timers (`corun::sleep`,
///   `corun::timeout`) wait on one tokio timer armed at the earliest of them.
/// - **`tokio::spawn` from corun code works**: those tasks run on the same thread, between
///   corun's turns. At the end of the last run on the loop they are dropped after every corun
///   task was cancelled and before the loop closes, inside both runtimes' contexts; tasks that
///   their destructors spawn are cancelled too (tokio's by tokio, corun's by the shutdown sweep
///   that follows). In debug mode, how many were dropped is reported.
/// - **Blocking inside a task is refused as tokio refuses it**: `Handle::block_on` (or
///   `Runtime::block_on`) in a corun task panics with tokio's "Cannot start a runtime from within
///   a runtime" instead of hanging.
/// - **Dropping the runtime never waits forever**: tokio's blocking pool (`spawn_blocking`, DNS
///   lookups, `tokio::fs`) is given the run's `shutdown_timeout`, then left behind.
///
/// Make it on the thread that will run it (a `loop_factory` is called there). Every
/// [`Runner`](crate::Runner) run on it shares the runtime; tokio tasks outlive a run as corun
/// tasks do, until the runner closes.
///
/// # Examples
///
/// ```
/// use corun_runtime::{loops::TokioLoop, Config};
///
/// let sum = Config::new().loop_factory(TokioLoop::new).run(async {
///     let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
///     let address = listener.local_addr().unwrap();
///     let server = corun_runtime::spawn(async move {
///         let (_stream, _) = listener.accept().await.unwrap();
///         1
///     });
///     let on_tokio = tokio::spawn(async move {
///         let _stream = tokio::net::TcpStream::connect(address).await.unwrap();
///         2
///     });
///     server.await + on_tokio.await.unwrap()
/// });
/// assert_eq!(sum, 3);
/// ```
#[cfg_attr(docsrs, doc(cfg(feature = "tokio")))]
pub struct TokioLoop {
    driven: Driven,
    /// `None` once the runtime was shut down (`shutdown_foreign`). Shared with a drive under way
    /// (which holds a clone, not a borrow).
    runtime: RefCell<Option<Rc<Runtime>>>,
    /// Entered around each run; outlives the runtime, so that code after the runtime's shutdown
    /// still finds a (shut down) tokio context and its spawns are cancelled at once.
    handle: Handle,
    alarm: RefCell<TokioAlarm>,
}

/// corun's next timer, as one tokio `Sleep`.
#[derive(Default)]
struct TokioAlarm {
    sleep: Option<Pin<Box<Sleep>>>,
    /// The deadline the sleep is armed at, until it fires.
    armed: Option<Instant>,
}

impl Alarm for TokioAlarm {
    fn poll_at(&mut self, deadline: Instant, cx: &mut PollContext<'_>) -> Poll<()> {
        let Some(sleep) = self.sleep.as_mut() else {
            return Poll::Pending;
        };
        if self.armed != Some(deadline) {
            sleep
                .as_mut()
                .reset(tokio::time::Instant::from_std(deadline));
            self.armed = Some(deadline);
        }
        let fired = sleep.as_mut().poll(cx);
        if fired.is_ready() {
            self.armed = None;
        }
        fired
    }
}

impl TokioLoop {
    /// Makes a loop on a fresh tokio current-thread runtime with IO and time enabled.
    ///
    /// # Panics
    ///
    /// When the operating system refuses the runtime's resources (an epoll instance).
    ///
    /// # Examples
    ///
    /// ```
    /// let event_loop = corun_runtime::loops::TokioLoop::new();
    /// # drop(event_loop);
    /// ```
    #[must_use]
    pub fn new() -> Self {
        let runtime = Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap_or_else(|error| panic!("corun: could not build tokio's runtime: {error}"));
        Self::with_runtime(runtime)
    }

    /// Makes a loop on `runtime`, for settings of your own (thread names, the blocking pool's
    /// size, an `on_thread_park` hook...). It must be a current-thread runtime with time enabled
    /// (`Builder::new_current_thread().enable_all()`); tokio's IO types also need IO enabled, and
    /// say so when it is not.
    ///
    /// # Panics
    ///
    /// When `runtime` is a multi-thread runtime: corun's tasks live on one thread, whose reactor
    /// must be that thread's. With tokio's own message when its time driver is disabled.
    ///
    /// # Examples
    ///
    /// ```
    /// use corun_runtime::{loops::TokioLoop, Config};
    ///
    /// let factory = || {
    ///     let runtime = tokio::runtime::Builder::new_current_thread()
    ///         .enable_all()
    ///         .max_blocking_threads(4)
    ///         .build()
    ///         .unwrap();
    ///     TokioLoop::with_runtime(runtime)
    /// };
    /// let four = Config::new().loop_factory(factory).run(async {
    ///     tokio::task::spawn_blocking(|| 2 + 2).await.unwrap()
    /// });
    /// assert_eq!(four, 4);
    /// ```
    #[must_use]
    pub fn with_runtime(runtime: Runtime) -> Self {
        let flavor = runtime.handle().runtime_flavor();
        assert!(
            flavor == RuntimeFlavor::CurrentThread,
            "corun's TokioLoop needs a current-thread tokio runtime, got a {flavor:?} one; \
             build it with tokio::runtime::Builder::new_current_thread().enable_all()"
        );
        let handle = runtime.handle().clone();
        // Made now, so that a runtime without its time driver is refused here, with tokio's
        // message, rather than at the first `corun::sleep`.
        let sleep = {
            let _entered = runtime.enter();
            Box::pin(tokio::time::sleep(Duration::from_secs(86_400)))
        };
        TokioLoop {
            driven: Driven::new(),
            runtime: RefCell::new(Some(Rc::new(runtime))),
            handle,
            alarm: RefCell::new(TokioAlarm {
                sleep: Some(sleep),
                armed: None,
            }),
        }
    }

    /// The runtime's handle: what `tokio::runtime::Handle::current()` gives inside the loop's
    /// runs.
    ///
    /// # Examples
    ///
    /// ```
    /// let event_loop = corun_runtime::loops::TokioLoop::new();
    /// let flavor = event_loop.handle().runtime_flavor();
    /// assert_eq!(flavor, tokio::runtime::RuntimeFlavor::CurrentThread);
    /// ```
    pub fn handle(&self) -> &Handle {
        &self.handle
    }

    fn runtime(&self) -> Option<Rc<Runtime>> {
        self.runtime.borrow().clone()
    }
}

impl Default for TokioLoop {
    fn default() -> Self {
        Self::new()
    }
}

impl std::fmt::Debug for TokioLoop {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokioLoop")
            .field("runtime_open", &self.runtime.borrow().is_some())
            .finish_non_exhaustive()
    }
}

impl EventLoop for TokioLoop {
    fn call_soon(&self, work: Runnable) {
        self.driven.call_soon(work);
    }

    fn next_ready(&self) -> Option<Runnable> {
        self.driven.next_ready()
    }

    fn now(&self) -> Instant {
        Instant::now()
    }

    fn add_timer(&self, deadline: Instant, waker: Waker) -> TimerId {
        self.driven.add_timer(deadline, waker)
    }

    fn remove_timer(&self, timer: TimerId) -> bool {
        self.driven.remove_timer(timer)
    }

    /// One turn of tokio's drivers (and of tokio's own ready tasks), as [`drive`](Self::drive)
    /// parks between turns.
    fn park(&self, mode: Park) {
        let mut once = Some(mode);
        self.drive(&mut || once.take());
    }

    fn unparker(&self) -> Waker {
        self.driven.unparker()
    }

    /// Enters the tokio runtime's context around the whole run.
    fn enter(&self, f: &mut dyn FnMut()) {
        let _entered = self.handle.enter();
        f()
    }

    /// Runs the turns inside the runtime's `block_on`; once the runtime is shut down, parks the
    /// thread as the default loop does.
    fn drive(&self, turn: &mut dyn FnMut() -> Option<Park>) {
        let Some(runtime) = self.runtime() else {
            while let Some(mode) = turn() {
                self.driven.park_thread(mode);
            }
            return;
        };
        // Taken out for the drive, so that no borrow is held while work runs.
        let mut alarm = self.alarm.take();
        self.driven.drive_in(turn, &mut alarm, |poll| {
            runtime.block_on(poll_fn(poll));
        });
        *self.alarm.borrow_mut() = alarm;
    }

    /// Shuts the tokio runtime down: its tasks are dropped (inside its context), its drivers
    /// stop, and its blocking pool gets `timeout` to finish. Returns how many tokio tasks were
    /// alive.
    fn shutdown_foreign(&self, timeout: Duration) -> usize {
        let Some(runtime) = self.runtime.borrow_mut().take() else {
            return 0;
        };
        let runtime = match Rc::try_unwrap(runtime) {
            Ok(runtime) => runtime,
            Err(shared) => {
                // Called from inside a drive: the runtime is busy; leave it to `close`.
                *self.runtime.borrow_mut() = Some(shared);
                return 0;
            }
        };
        let alive = runtime.metrics().num_alive_tasks();
        let sleep = self.alarm.borrow_mut().sleep.take();
        drop(sleep);
        runtime.shutdown_timeout(timeout);
        alive
    }

    fn close(&self) {
        self.driven.close();
        let sleep = self.alarm.borrow_mut().sleep.take();
        drop(sleep);
        let runtime = self.runtime.borrow_mut().take();
        if let Some(runtime) = runtime.and_then(|runtime| Rc::try_unwrap(runtime).ok()) {
            runtime.shutdown_background();
        }
    }
}

impl Drop for TokioLoop {
    /// A loop dropped without closing (never run) never waits for tokio's blocking pool.
    fn drop(&mut self) {
        if let Some(runtime) = self.runtime.get_mut().take() {
            if let Ok(runtime) = Rc::try_unwrap(runtime) {
                runtime.shutdown_background();
            }
        }
    }
}
