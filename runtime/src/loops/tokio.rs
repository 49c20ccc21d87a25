//! `TokioLoop`: corun's turns run inside a tokio runtime's `block_on` (and a `LocalSet` in it),
//! so every tokio-based crate works in corun tasks (feature `tokio`). On a current-thread runtime
//! tokio's IO and time drivers turn on the loop's thread; on a multi-thread one, on tokio's
//! workers, which also run what is `tokio::spawn`ed.
//!
//! Layer 2 (the loop layer): uses only `event_loop` and the other loops' files; never the
//! context, the run or the task layer (`tests/layering.rs`).

use std::cell::{Cell, RefCell};
use std::future::{poll_fn, Future};
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context as PollContext, Poll, Waker};
use std::time::{Duration, Instant};

use tokio::runtime::{Builder, Handle, Runtime};
use tokio::task::LocalSet;
use tokio::time::Sleep;

use super::reactor::{Alarm, Driven};
use crate::event_loop::{EventLoop, Park, Runnable, TimerId};

/// A loop on tokio's reactor: a tokio runtime drives corun's turns from inside its `block_on`,
/// on the loop's thread.
///
/// - **tokio's crates work in corun tasks.** The whole run happens inside the runtime's context,
///   and corun's tasks are polled inside its `block_on`: `tokio::net`, `tokio::time`,
///   `tokio::fs`, hyper, axum, reqwest, tonic, sqlx... find the runtime they expect, and tokio's
///   cooperative budget applies to each turn of corun's tasks as to a tokio task's poll.
/// - **Three flavours, as tokio's**: [`new`](Self::new) (`#[tokio::main(flavor =
///   "current_thread")]` or `"local"`: everything on the loop's thread),
///   [`multi_thread`](Self::multi_thread) (the `#[tokio::main]` default: corun's tasks on the
///   loop's thread, `tokio::spawn`ed work on tokio's workers, one per core) and `paused()`
///   (feature `tokio-test-util`; `#[tokio::test(start_paused = true)]`: one virtual clock for
///   corun and tokio, real IO). [`with_runtime`](Self::with_runtime) takes a runtime of your own.
/// - **Parking turns tokio's IO and time drivers**: on a current-thread runtime on this thread, so
///   IO readiness wakes corun's tasks directly, with no thread in between; on a multi-thread one
///   on whichever worker is idle, which wakes the loop's thread. corun's own timers
///   (`corun::sleep`, `corun::timeout`) wait on one tokio timer armed at the earliest of them,
///   and the loop's clock is tokio's.
/// - **`tokio::spawn` from corun code works**: those tasks run on the same thread between corun's
///   turns ([`new`](Self::new)) or on tokio's workers ([`multi_thread`](Self::multi_thread)).
///   **`tokio::task::spawn_local` works too**, on every flavour: corun's turns run inside a tokio
///   [`LocalSet`], whose tasks run on the loop's thread between corun's turns. At the end of the
///   last run on the loop both kinds are dropped after every corun task was cancelled and before
///   the loop closes (the `LocalSet`'s first, on the loop's thread inside both contexts; then the
///   runtime's, on the threads that run them); tasks that their destructors spawn are cancelled
///   too (tokio's by tokio, corun's by the shutdown sweep that follows). In debug mode, how many
///   of the runtime's were dropped is reported.
/// - **Blocking inside a task is refused as tokio refuses it**: `Handle::block_on` (or
///   `Runtime::block_on`) in a corun task panics with tokio's "Cannot start a runtime from within
///   a runtime" instead of hanging.
/// - **Dropping the runtime never waits forever**: tokio's blocking pool (`spawn_blocking`, DNS
///   lookups, `tokio::fs`) and a multi-thread runtime's workers are given the run's
///   `shutdown_timeout`, then left behind.
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
    /// Where `tokio::task::spawn_local` puts its tasks: every drive runs inside it. Dropped just
    /// before the runtime is shut down; shared with a drive under way as the runtime is.
    local: RefCell<Option<Rc<LocalSet>>>,
    /// Entered around each run; outlives the runtime, so that code after the runtime's shutdown
    /// still finds a (shut down) tokio context and its spawns are cancelled at once.
    handle: Handle,
    alarm: RefCell<TokioAlarm>,
    /// The runtime's clock is paused (tokio's `start_paused`): the loop reads it through the
    /// runtime's context, and keeps its alarm out of tokio's timers while thread work is under
    /// way, so that tokio's auto-advance does not jump to corun's next timer then.
    paused: bool,
    /// Set when the runtime is shut down: the loop's clock then (tokio's) and the real clock
    /// then. From there the loop's clock goes on at real speed (a paused one is no longer
    /// advanced by anyone).
    after_shutdown: Cell<Option<(Instant, Instant)>>,
}

/// corun's next timer, as one tokio `Sleep`.
struct TokioAlarm {
    /// Made at the first arming (and again after a disarm); `None` also once the loop closed.
    sleep: Option<Pin<Box<Sleep>>>,
    /// The deadline the sleep is armed at, until it fires.
    armed: Option<Instant>,
    /// The clock is paused: [`Park::Wait`] takes the sleep out of tokio's timers.
    paused: bool,
    /// The runtime was shut down: never armed again.
    closed: bool,
}

impl TokioAlarm {
    fn close(&mut self) {
        self.closed = true;
        self.armed = None;
        self.sleep = None;
    }
}

impl Alarm for TokioAlarm {
    fn poll_at(&mut self, deadline: Instant, mode: Park, cx: &mut PollContext<'_>) -> Poll<()> {
        if self.closed {
            return Poll::Pending;
        }
        if self.paused && mode == Park::Wait {
            // A paused clock jumps to tokio's next timer whenever the runtime is idle; while a
            // `to_thread` job runs, corun's clock must not jump (as tokio's `spawn_blocking`
            // inhibits the jump): no timer of ours in tokio's wheel. The job's end wakes the
            // loop, whose next turn arms the alarm again.
            self.armed = None;
            self.sleep = None;
            return Poll::Pending;
        }
        let target = tokio::time::Instant::from_std(deadline);
        let sleep = self
            .sleep
            .get_or_insert_with(|| Box::pin(tokio::time::sleep_until(target)));
        if self.armed != Some(deadline) {
            sleep.as_mut().reset(target);
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
    /// Makes a loop on a fresh tokio current-thread runtime with IO and time enabled: corun's
    /// turns, tokio's drivers, `tokio::spawn` and `tokio::task::spawn_local` work all on the
    /// loop's thread (what `#[tokio::main(flavor = "current_thread")]` and `flavor = "local"`
    /// give).
    ///
    /// # Panics
    ///
    /// When the operating system refuses the runtime's resources (an epoll instance).
    ///
    /// # Examples
    ///
    /// ```
    /// use corun_runtime::{loops::TokioLoop, Config};
    ///
    /// let same_thread = Config::new().loop_factory(TokioLoop::new).run(async {
    ///     let here = std::thread::current().id();
    ///     let local = tokio::task::spawn_local(async move { std::thread::current().id() == here });
    ///     local.await.unwrap()
    /// });
    /// assert!(same_thread);
    /// ```
    #[must_use]
    pub fn new() -> Self {
        Self::built(Builder::new_current_thread().enable_all(), false)
    }

    /// Makes a loop on a fresh tokio multi-thread runtime with IO and time enabled and one worker
    /// per core: what `#[tokio::main]` gives, so a server moved over from it keeps every core.
    ///
    /// corun's main and corun's tasks stay on the loop's thread, inside the runtime's
    /// `block_on` (where `#[tokio::main]` runs its main too); what is `tokio::spawn`ed (axum's and
    /// hyper's per-connection tasks) runs on tokio's workers. `tokio::task::spawn_local` works
    /// on the loop's thread, as on [`new`](Self::new) (its `LocalSet` costs a few tens of
    /// nanoseconds per wake of the loop, next to the wake itself).
    ///
    /// The IO and time drivers turn on the workers: a corun task's IO wake-up comes from a
    /// worker through the loop's mailbox and unparks the loop's thread. That hand-off is what a
    /// corun task pays here that it does not on [`new`](Self::new). Measured on a 2-core machine
    /// (`cargo bench --bench io --features tokio,async-io`, BENCHMARKS.md), an echo round trip
    /// between two corun tasks over loopback (two IO wakes) took 22.7 µs of CPU and of wall time,
    /// against 12.8 µs of CPU and 14.4 µs of wall time on [`new`](Self::new): about 5 µs per
    /// wake, within 5 % of what tokio's own `#[tokio::main]` main pays for IO it does itself
    /// (21.7 µs).
    /// So put the IO-heavy work in `tokio::spawn`ed tasks (as axum does), or pick
    /// [`new`](Self::new) when one core is enough.
    ///
    /// On the workers there is no corun loop: `corun::sleep`, `sleep_until`, `timeout` and `now`
    /// work there on tokio's timer (the same clock), `current_task()` is `None`, and
    /// `corun::spawn` panics (use `tokio::spawn` there, or a [`Handle`](crate::Handle) taken on
    /// the loop for a `Send` future that must run on it). A [`cancelled()`](crate::cancelled)
    /// made in a corun task may be awaited on a worker.
    ///
    /// # Panics
    ///
    /// When the operating system refuses the runtime's resources (an epoll instance, threads).
    ///
    /// # Examples
    ///
    /// ```
    /// use corun_runtime::{loops::TokioLoop, Config};
    ///
    /// let elsewhere = Config::new().loop_factory(TokioLoop::multi_thread).run(async {
    ///     let here = std::thread::current().id();
    ///     let worker = tokio::spawn(async move {
    ///         corun_runtime::sleep(std::time::Duration::from_millis(1)).await;
    ///         std::thread::current().id()
    ///     });
    ///     worker.await.unwrap() != here
    /// });
    /// assert!(elsewhere);
    /// ```
    #[must_use]
    pub fn multi_thread() -> Self {
        Self::built(Builder::new_multi_thread().enable_all(), false)
    }

    /// Makes a loop on a fresh tokio current-thread runtime whose clock is paused from the start
    /// (tokio's `start_paused`), and that clock is corun's: `corun::sleep`, `corun::timeout`,
    /// `corun::now`, `tokio::time::sleep`, `tokio::time::timeout` and the `Instant`s of both
    /// agree, and whenever every task waits on a timer the clock jumps to the next one (tokio's
    /// auto-advance, which corun's timers take part in). IO is real: a server on loopback whose
    /// timeouts are minutes long is tested in milliseconds. While a `to_thread` job is under way
    /// the clock does not jump to corun's timers (as tokio's does not while `spawn_blocking` work
    /// runs).
    ///
    /// Needs the feature `tokio-test-util` (tokio's `test-util`).
    ///
    /// # Panics
    ///
    /// When the operating system refuses the runtime's resources (an epoll instance).
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use corun_runtime::{loops::TokioLoop, Config};
    ///
    /// let (corun_waited, tokio_waited) = Config::new().loop_factory(TokioLoop::paused).run(async {
    ///     let start = corun_runtime::now();
    ///     corun_runtime::sleep(Duration::from_secs(3600)).await;
    ///     let corun_waited = corun_runtime::now() - start;
    ///     let start = tokio::time::Instant::now();
    ///     tokio::time::sleep(Duration::from_secs(60)).await;
    ///     (corun_waited, start.elapsed())
    /// });
    /// assert_eq!(corun_waited, Duration::from_secs(3600));
    /// assert_eq!(tokio_waited, Duration::from_secs(60));
    /// ```
    #[cfg(feature = "tokio-test-util")]
    #[cfg_attr(docsrs, doc(cfg(feature = "tokio-test-util")))]
    #[must_use]
    pub fn paused() -> Self {
        Self::built(
            Builder::new_current_thread()
                .enable_all()
                .start_paused(true),
            true,
        )
    }

    fn built(builder: &mut Builder, paused: bool) -> Self {
        let runtime = builder
            .build()
            .unwrap_or_else(|error| panic!("corun: could not build tokio's runtime: {error}"));
        Self::on_runtime(runtime, paused)
    }

    /// Makes a loop on `runtime`, for settings of your own (thread names, the number of workers,
    /// the blocking pool's size, an `on_thread_park` hook, a paused clock...). Any flavour: a
    /// current-thread runtime behaves as [`new`](Self::new) (or as `paused()` when its clock is
    /// paused), a multi-thread one as [`multi_thread`](Self::multi_thread). Its time driver must
    /// be enabled (corun's timers wait on it), and its IO driver too (what a `TokioLoop` is for:
    /// tokio's sockets, and the crates built on them).
    ///
    /// # Panics
    ///
    /// With tokio's own message, here rather than at the first timer or socket of the run, when
    /// the runtime's time driver ("timers are disabled", and what to call) or, on Unix, its IO
    /// driver ("IO is disabled. Call `enable_io`...") is not enabled. The IO driver is asked by
    /// registering one end of a fresh `UnixStream` pair with it and dropping both (a few system
    /// calls, no port); elsewhere a runtime without IO is told by tokio at its first socket.
    ///
    /// # Examples
    ///
    /// ```
    /// use corun_runtime::{loops::TokioLoop, Config};
    ///
    /// let factory = || {
    ///     let runtime = tokio::runtime::Builder::new_multi_thread()
    ///         .worker_threads(2)
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
        refuse_without_io(runtime.handle());
        let paused = clock_is_paused(runtime.handle());
        Self::on_runtime(runtime, paused)
    }

    fn on_runtime(runtime: Runtime, paused: bool) -> Self {
        let handle = runtime.handle().clone();
        // Made now, so that a runtime without its time driver is refused here, with tokio's
        // message, rather than at the first `corun::sleep`.
        let sleep = {
            let _entered = runtime.enter();
            Box::pin(tokio::time::sleep(Duration::from_secs(86_400)))
        };
        // A paused clock's durations are exact (tokio's ticks start at its clock's start); the
        // real one's timers due in the same millisecond share a wake-up, as tokio's do.
        let resolution = if paused {
            Duration::ZERO
        } else {
            Duration::from_millis(1)
        };
        TokioLoop {
            driven: Driven::new(resolution),
            runtime: RefCell::new(Some(Rc::new(runtime))),
            local: RefCell::new(Some(Rc::new(LocalSet::new()))),
            handle,
            alarm: RefCell::new(TokioAlarm {
                sleep: Some(sleep),
                armed: None,
                paused,
                closed: false,
            }),
            paused,
            after_shutdown: Cell::new(None),
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

    fn runtime(&self) -> Option<(Rc<Runtime>, Rc<LocalSet>)> {
        let runtime = self.runtime.borrow().clone()?;
        let local = self.local.borrow().clone()?;
        Some((runtime, local))
    }

    /// tokio's clock, so that a clock paused by `start_paused` or later by
    /// `tokio::time::pause()` is corun's too. Read in the runtime's context (entered for the
    /// whole run; entered here too when the clock is known to be paused, for reads outside a
    /// run). Without tokio's `test-util` this is `std`'s `Instant::now`; with it, measured on
    /// the 2-core CI machine: no slower than `std`'s (about 25 ns) while no clock in the process
    /// was ever paused, about 4 ns more once one was.
    fn tokio_now(&self) -> Instant {
        let _entered = self.paused.then(|| self.handle.enter());
        tokio::time::Instant::now().into_std()
    }
}

/// Whether the clock of `handle`'s runtime is paused: tokio's clock, read twice in its context
/// with the real clock past the first reading in between, stood still. (tokio has no query for
/// it.) A real clock is told in well under a microsecond; a paused one that is ahead of the real
/// clock costs up to a millisecond of waiting.
fn clock_is_paused(handle: &Handle) -> bool {
    let _entered = handle.enter();
    let first = tokio::time::Instant::now().into_std();
    let started = Instant::now();
    loop {
        let real = Instant::now();
        if real > first || real.duration_since(started) > Duration::from_millis(1) {
            break;
        }
        std::hint::spin_loop();
    }
    tokio::time::Instant::now().into_std() == first
}

/// Panics with tokio's message ("IO is disabled...") when `handle`'s runtime has no IO driver:
/// tokio has no query for it, so one end of a fresh socket pair is registered with the driver,
/// which is what panics, and dropped (deregistered, closed) at once.
#[cfg(unix)]
fn refuse_without_io(handle: &Handle) {
    let _entered = handle.enter();
    // An error of the system's (no file descriptors left) says nothing about the driver: the
    // probe is skipped then, and tokio tells at the first socket if IO is disabled.
    let _probe = std::os::unix::net::UnixStream::pair().and_then(|(probe, _other)| {
        probe.set_nonblocking(true)?; // as `from_std` asks
        tokio::net::UnixStream::from_std(probe)
    });
}

/// Without Unix's socket pairs, a runtime without IO is told by tokio at its first socket.
#[cfg(not(unix))]
fn refuse_without_io(_handle: &Handle) {}

impl Default for TokioLoop {
    fn default() -> Self {
        Self::new()
    }
}

impl std::fmt::Debug for TokioLoop {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokioLoop")
            .field("flavor", &self.handle.runtime_flavor())
            .field("paused", &self.paused)
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

    /// tokio's clock (so a paused runtime's clock is corun's); after the runtime's shutdown, that
    /// clock goes on at real speed.
    fn now(&self) -> Instant {
        match self.after_shutdown.get() {
            None => self.tokio_now(),
            Some((clock, real)) => clock + real.elapsed(),
        }
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

    /// Runs the turns inside the runtime's `block_on`, in the `LocalSet`; once the runtime is
    /// shut down, parks the thread as the default loop does.
    fn drive(&self, turn: &mut dyn FnMut() -> Option<Park>) {
        let now = || self.now();
        let Some((runtime, local)) = self.runtime() else {
            while let Some(mode) = turn() {
                self.driven.park_thread(mode, &now);
            }
            return;
        };
        // Taken out for the drive, so that no borrow is held while work runs.
        let mut alarm = self.alarm.replace(TokioAlarm {
            sleep: None,
            armed: None,
            paused: self.paused,
            closed: true,
        });
        self.driven.drive_in(turn, &mut alarm, &now, |poll| {
            local.block_on(&runtime, poll_fn(poll));
        });
        *self.alarm.borrow_mut() = alarm;
    }

    /// Drops the `LocalSet`'s tasks (on this thread), then shuts the tokio runtime down: its
    /// tasks are dropped (inside its context, on the threads that run them), its drivers stop,
    /// and its blocking pool and workers get `timeout` to finish. Returns how many of the
    /// runtime's tasks were alive.
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
        let local = self.local.borrow_mut().take();
        self.after_shutdown
            .set(Some((self.tokio_now(), Instant::now())));
        self.alarm.borrow_mut().close();
        // `spawn_local`'s tasks first, inside the runtime's context (still entered).
        drop(local);
        let alive = runtime.metrics().num_alive_tasks();
        runtime.shutdown_timeout(timeout);
        alive
    }

    fn close(&self) {
        self.driven.close();
        self.alarm.borrow_mut().close();
        let local = self.local.borrow_mut().take();
        drop(local);
        let runtime = self.runtime.borrow_mut().take();
        if let Some(runtime) = runtime.and_then(|runtime| Rc::try_unwrap(runtime).ok()) {
            runtime.shutdown_background();
        }
    }
}

impl Drop for TokioLoop {
    /// A loop dropped without closing (never run) never waits for tokio's blocking pool.
    fn drop(&mut self) {
        if let Some(local) = self.local.get_mut().take() {
            let _entered = self.handle.enter();
            drop(local);
        }
        if let Some(runtime) = self.runtime.get_mut().take() {
            if let Ok(runtime) = Rc::try_unwrap(runtime) {
                runtime.shutdown_background();
            }
        }
    }
}
