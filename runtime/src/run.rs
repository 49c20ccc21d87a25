//! `run`, `Config` and `Runner`: one run from making the loop to closing it, in asyncio's order.

use std::fmt;
use std::future::{Future, IntoFuture};
use std::panic::{catch_unwind, resume_unwind, AssertUnwindSafe, Location};
use std::pin::pin;
use std::rc::Rc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::task::{Context as PollContext, Poll, Wake, Waker};
use std::time::Duration;

use crate::context::{self, Context, Remote, Shared, BUDGET};
use crate::event_loop::EventLoop;
use crate::loops::DefaultLoop;
use crate::report::{self, Report, ReportKind};
use crate::signals::{self, SignalGuard};
use crate::task::{Header, TaskId, CANCEL_REQUESTED, COOPERATIVE};

/// Runs `future` to completion on a fresh loop and returns its output (asyncio's `run`).
///
/// The same as [`Config::new().run(future)`](Config::run): see there for the order of a run.
///
/// # Panics
///
/// When called from inside a running loop on this thread (the message contains "cannot be
/// called from a running event loop" and says where that loop was started), and with the main
/// future's own panic.
///
/// # Examples
///
/// ```
/// let answer = corun_runtime::run(async {
///     let a = corun_runtime::spawn(async { 40 });
///     a.await + 2
/// });
/// assert_eq!(answer, 42);
/// ```
#[track_caller]
pub fn run<F: IntoFuture>(future: F) -> F::Output {
    let future = future.into_future();
    if const { crate::task::large::<F::IntoFuture>() } {
        return Config::new().run(Box::pin(future));
    }
    Config::new().run(future)
}

/// Whether the running loop is in debug mode; `false` outside a loop.
///
/// # Examples
///
/// ```
/// let debug = corun_runtime::Config::new().debug(true).run(async { corun_runtime::is_debug() });
/// assert!(debug);
/// ```
pub fn is_debug() -> bool {
    context::current().is_some_and(|ctx| ctx.debug)
}

type LoopFactory = Box<dyn FnOnce() -> Box<dyn EventLoop>>;

/// How to run: every setting optional, each with asyncio's default.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use corun_runtime::{loops::VirtualTimeLoop, Config};
///
/// let output = Config::new()
///     .debug(true)
///     .loop_factory(VirtualTimeLoop::new)
///     .shutdown_grace(Duration::from_secs(1))
///     .run(async { "done" });
/// assert_eq!(output, "done");
/// ```
#[must_use = "a Config does nothing until you call run or try_run"]
pub struct Config {
    debug: Option<bool>,
    loop_factory: Option<LoopFactory>,
    slow_poll_threshold: Duration,
    shutdown_timeout: Duration,
    shutdown_grace: Duration,
    exception_handler: Option<report::Handler>,
    handle_signals: Option<bool>,
    main_name: String,
    /// Sees every report after the exception handler (`crate::testing`'s hook).
    observer: Option<report::Handler>,
}

impl Default for Config {
    fn default() -> Self {
        Config::new()
    }
}

impl fmt::Debug for Config {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Config")
            .field("debug", &self.debug)
            .field(
                "loop_factory",
                &self.loop_factory.as_ref().map(|_| "custom"),
            )
            .field("slow_poll_threshold", &self.slow_poll_threshold)
            .field("shutdown_timeout", &self.shutdown_timeout)
            .field("shutdown_grace", &self.shutdown_grace)
            .field("handle_signals", &self.handle_signals)
            .field("main_name", &self.main_name)
            .finish_non_exhaustive()
    }
}

impl Config {
    /// The defaults: debug from `CORUN_DEBUG`, the [`DefaultLoop`], a 100 ms slow-poll
    /// threshold, a 300 s shutdown timeout, a 5 s shutdown grace, reports to stderr.
    ///
    /// # Examples
    ///
    /// ```
    /// assert_eq!(corun_runtime::Config::new().run(async { 1 }), 1);
    /// ```
    pub fn new() -> Self {
        Config {
            debug: None,
            loop_factory: None,
            slow_poll_threshold: Duration::from_millis(100),
            shutdown_timeout: Duration::from_secs(300),
            shutdown_grace: Duration::from_secs(5),
            exception_handler: None,
            handle_signals: None,
            main_name: "main".to_owned(),
            observer: None,
        }
    }

    /// Turns debug mode on or off. Unset, it follows the `CORUN_DEBUG` environment variable:
    /// unset, `""`, `"0"`, `"false"`, `"no"` and `"off"` (in any case) mean off, anything else
    /// on.
    ///
    /// In debug mode the loop also reports ([`ReportKind`](crate::ReportKind)): each poll that
    /// held the loop longer than the [slow-poll threshold](Self::slow_poll_threshold), each task
    /// cancelled at the end of the run (or dropped when the shutdown grace ran out), and each task
    /// cancelled before its first poll; and every spawn captures a backtrace that reports about
    /// the task carry ([`Report::spawn_backtrace`]). Off, all of it costs one branch per poll.
    ///
    /// # Examples
    ///
    /// ```
    /// let on = corun_runtime::Config::new().debug(true).run(async { corun_runtime::is_debug() });
    /// assert!(on);
    /// ```
    pub fn debug(mut self, on: bool) -> Self {
        self.debug = Some(on);
        self
    }

    /// Makes the loop with `factory` instead of [`DefaultLoop::new`]. It is called once, on the
    /// thread of the run, when the loop is first needed.
    ///
    /// # Examples
    ///
    /// ```
    /// use corun_runtime::{loops::VirtualTimeLoop, Config};
    /// Config::new().loop_factory(VirtualTimeLoop::new).run(async {
    ///     corun_runtime::sleep(std::time::Duration::from_secs(86_400)).await;
    /// });
    /// ```
    pub fn loop_factory<L, F>(mut self, factory: F) -> Self
    where
        F: FnOnce() -> L + 'static,
        L: EventLoop + 'static,
    {
        self.loop_factory = Some(Box::new(move || Box::new(factory()) as Box<dyn EventLoop>));
        self
    }

    /// In debug mode, a single poll of a task (the main task included) that takes longer than
    /// this is reported as [`ReportKind::SlowPoll`](crate::ReportKind::SlowPoll), with the task's
    /// name, spawn site and the poll's duration. Measured in real time, whatever the loop's
    /// clock. Default 100 ms.
    ///
    /// # Examples
    ///
    /// ```
    /// # use std::time::Duration;
    /// let config = corun_runtime::Config::new().debug(true).slow_poll_threshold(Duration::from_millis(10));
    /// # drop(config);
    /// ```
    pub fn slow_poll_threshold(mut self, threshold: Duration) -> Self {
        self.slow_poll_threshold = threshold;
        self
    }

    /// How long the end of a run waits for `to_thread` work still running before it reports
    /// what is left and returns. Default 300 s, as asyncio's.
    ///
    /// # Examples
    ///
    /// ```
    /// # use std::time::Duration;
    /// let config = corun_runtime::Config::new().shutdown_timeout(Duration::from_secs(10));
    /// # drop(config);
    /// ```
    pub fn shutdown_timeout(mut self, timeout: Duration) -> Self {
        self.shutdown_timeout = timeout;
        self
    }

    /// Where reports go. Default: one line each on stderr.
    ///
    /// # Examples
    ///
    /// ```
    /// let config = corun_runtime::Config::new().exception_handler(|report| {
    ///     eprintln!("[my-app] {report}");
    /// });
    /// # drop(config);
    /// ```
    pub fn exception_handler(mut self, handler: impl Fn(&Report) + 'static) -> Self {
        self.exception_handler = Some(Rc::new(handler));
        self
    }

    /// How long tasks that listen on [`cancelled`](crate::cancelled) get to finish at the end
    /// of a run, on the loop's clock, before they are dropped. Default 5 s.
    ///
    /// # Examples
    ///
    /// ```
    /// # use std::time::Duration;
    /// let config = corun_runtime::Config::new().shutdown_grace(Duration::from_millis(500));
    /// # drop(config);
    /// ```
    pub fn shutdown_grace(mut self, grace: Duration) -> Self {
        self.shutdown_grace = grace;
        self
    }

    /// Whether SIGINT (Ctrl-C) and SIGTERM stop the run (Unix only; elsewhere nothing happens).
    ///
    /// Unset, it is on when the run is on the main thread, for each of the two signals whose
    /// disposition is still the default: a process that installed its own handler, or inherited
    /// an ignored signal, is left alone.
    ///
    /// While on, the first signal cancels the main task as [`Task::cancel`](crate::Task::cancel)
    /// cancels a task: a main that listens on [`cancelled`](crate::cancelled) is woken and may
    /// finish, and then its value is returned; otherwise its future is dropped, shutdown runs in
    /// full (tasks cancelled, thread work waited for), and [`run`](Self::run) exits the process
    /// with 130 (SIGINT) or 143 (SIGTERM), while [`try_run`](Self::try_run) and
    /// [`Runner::run`] return [`RunError::Interrupted`]. A second signal exits at once with the
    /// same codes. After the run the signals behave as their default disposition again (the
    /// process dies of them). One run at a time handles signals: a run started while another
    /// handles them leaves them to it.
    ///
    /// A signal that arrives after main finished, while the end of a [`run`](Self::run) or
    /// [`try_run`](Self::try_run) waits out the [shutdown grace](Self::shutdown_grace) or
    /// `to_thread` work or sweeps tasks, is not lost: it ends those waits at once, the tasks
    /// still alive are dropped (tasks their destructors spawn then are abandoned, never run, so
    /// that destructors that spawn forever cannot keep the run alive), what was cut short is
    /// reported, and the run ends as interrupted (130/143, or [`RunError::Interrupted`]). An
    /// interrupted run says what happened in one [`ReportKind::Signal`] report (one line on
    /// stderr by default), debug mode or not.
    ///
    /// # Examples
    ///
    /// ```
    /// let config = corun_runtime::Config::new().handle_signals(false);
    /// # drop(config);
    /// ```
    pub fn handle_signals(mut self, on: bool) -> Self {
        self.handle_signals = Some(on);
        self
    }

    /// The name of the main task, which [`current_task`](crate::current_task) and reports show.
    /// Default `"main"`; `#[corun::entry]` passes the function's name.
    ///
    /// # Examples
    ///
    /// ```
    /// let name = corun_runtime::Config::new()
    ///     .main_name("serve")
    ///     .run(async { corun_runtime::current_task().unwrap().name().to_owned() });
    /// assert_eq!(name, "serve");
    /// ```
    pub fn main_name(mut self, name: impl Into<String>) -> Self {
        self.main_name = name.into();
        self
    }

    /// Has `observer` see every report too, after the exception handler (which it does not
    /// replace): how `#[corun::test]` learns that something failed during its run.
    pub(crate) fn observe_reports(mut self, observer: impl Fn(&Report) + 'static) -> Self {
        self.observer = Some(Rc::new(observer));
        self
    }

    /// Runs `future` to completion on a fresh loop, in asyncio's order: make the loop → run the
    /// future as the main task → when it returns or panics, the work that was already ready
    /// gets its turn (asyncio's `loop.stop()` runs the current batch: a task that main spawned
    /// just before returning runs up to its first pending `.await`) → cancel every task still
    /// alive (dropping each future inside the loop's context, reporting panics raised
    /// meanwhile) → wait for `to_thread` work → close the loop → return the output, or resume
    /// main's panic.
    ///
    /// # Panics
    ///
    /// With [`RunError`]'s message where [`try_run`](Self::try_run) would return it (the panic
    /// points at the caller's line; for a nested run it adds "the running loop was started at
    /// file:line:col"), and with the main future's own panic.
    ///
    /// # Examples
    ///
    /// ```
    /// let three = corun_runtime::Config::new().run(async { 1 + 2 });
    /// assert_eq!(three, 3);
    /// ```
    ///
    /// A task spawned just before main returns still runs up to its first pending `.await`:
    ///
    /// ```
    /// use std::cell::Cell;
    /// use std::rc::Rc;
    ///
    /// let started = Rc::new(Cell::new(false));
    /// let flag = started.clone();
    /// corun_runtime::Config::new().run(async move {
    ///     drop(corun_runtime::spawn(async move {
    ///         flag.set(true);
    ///         std::future::pending::<()>().await; // cancelled here by the shutdown
    ///     }));
    /// });
    /// assert!(started.get());
    /// ```
    #[track_caller]
    pub fn run<F: IntoFuture>(self, future: F) -> F::Output {
        let caller = Location::caller();
        let future = future.into_future();
        let ended = if const { crate::task::large::<F::IntoFuture>() } {
            self.run_to_end(Box::pin(future), caller)
        } else {
            self.run_to_end(future, caller)
        };
        match ended {
            (Ok(output), _) => output,
            (Err(RunError::Interrupted), Some(signal)) => {
                std::process::exit(signals::exit_code(signal))
            }
            (Err(error), _) => panic!("{}", crate::debug::run_error_message(error)),
        }
    }

    /// Like [`run`](Self::run), but misuse comes back as a [`RunError`].
    ///
    /// # Errors
    ///
    /// [`RunError::NestedRun`] when a loop is already running on this thread;
    /// [`RunError::Interrupted`] when a signal stopped the run, also one that came while the run
    /// was shutting down (see [`handle_signals`](Self::handle_signals)).
    ///
    /// # Examples
    ///
    /// ```
    /// use corun_runtime::{Config, RunError};
    ///
    /// let nested = corun_runtime::run(async { Config::new().try_run(async {}) });
    /// assert!(matches!(nested, Err(RunError::NestedRun)));
    /// ```
    #[track_caller]
    pub fn try_run<F: IntoFuture>(self, future: F) -> Result<F::Output, RunError> {
        let caller = Location::caller();
        let future = future.into_future();
        if const { crate::task::large::<F::IntoFuture>() } {
            return self.run_to_end(Box::pin(future), caller).0;
        }
        self.run_to_end(future, caller).0
    }

    /// One whole run, with signals handled until the loop has closed; also gives the signal that
    /// interrupted it, if one did.
    fn run_to_end<F: Future>(
        self,
        future: F,
        caller: &'static Location<'static>,
    ) -> (Result<F::Output, RunError>, Option<i32>) {
        let mut runner = Runner::new(self);
        let outcome = runner.run_main(future, caller);
        let interrupted_shutdown = runner.close_interruptibly();
        let signal = runner.signals.take().and_then(|guard| guard.received());
        match (outcome, interrupted_shutdown) {
            (Ok(Ok(output)), None) => (Ok(output), signal),
            // A signal during the shutdown: the run ends as interrupted, main's value dropped.
            (Ok(Ok(_)), Some(signal)) => (Err(RunError::Interrupted), Some(signal)),
            // Main's panic says more than the signal, which was reported.
            (Ok(Err(panic)), _) => resume_unwind(panic),
            (Err(error), _) => (Err(error), signal),
        }
    }
}

/// Why a run could not happen.
///
/// # Examples
///
/// ```
/// use corun_runtime::RunError;
/// assert_eq!(RunError::RunnerClosed.to_string(), "Runner is closed");
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum RunError {
    /// A run was started on a thread whose loop is running (asyncio's `RuntimeError`).
    NestedRun,
    /// [`Runner::run`] after [`Runner::close`].
    RunnerClosed,
    /// A signal (SIGINT, SIGTERM) stopped the run: before main finished (and main did not
    /// finish on its own after hearing it), or while the run was shutting down.
    Interrupted,
}

impl fmt::Display for RunError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            RunError::NestedRun => {
                "corun::run() cannot be called from a running event loop; \
                 inside async code, await the future (or corun::spawn it) instead"
            }
            RunError::RunnerClosed => "Runner is closed",
            RunError::Interrupted => "the run was interrupted by a signal",
        })
    }
}

impl std::error::Error for RunError {}

/// One loop for several runs (asyncio's `Runner`).
///
/// The loop is made on the first [`run`](Self::run). Tasks that outlive one run stay on the loop
/// and go on in the next; [`close`](Self::close) (or dropping the runner) cancels them, waits for
/// `to_thread` work and closes the loop.
///
/// # Examples
///
/// ```
/// use corun_runtime::{Config, Runner};
///
/// let mut runner = Runner::new(Config::new());
/// assert_eq!(runner.run(async { 1 }).unwrap(), 1);
/// assert_eq!(runner.run(async { 2 }).unwrap(), 2);
/// runner.close();
/// assert!(runner.is_closed());
/// ```
pub struct Runner {
    config: Option<Config>,
    state: State,
    /// Signals reach the run while this is set: during `run`, and for `Config::run` until the
    /// loop has closed.
    signals: Option<SignalGuard>,
}

enum State {
    /// No loop yet.
    Fresh,
    Open(Rc<Context>, Settings),
    Closed,
}

/// What a run needs of the config once the loop exists.
struct Settings {
    main_name: String,
    shutdown_grace: Duration,
    shutdown_timeout: Duration,
    handle_signals: Option<bool>,
}

impl fmt::Debug for Runner {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let state = match self.state {
            State::Fresh => "fresh",
            State::Open(..) => "open",
            State::Closed => "closed",
        };
        f.debug_struct("Runner").field("state", &state).finish()
    }
}

impl Runner {
    /// A runner that will make its loop from `config` when first used.
    ///
    /// # Examples
    ///
    /// ```
    /// let runner = corun_runtime::Runner::new(corun_runtime::Config::new());
    /// assert!(!runner.is_closed());
    /// ```
    pub fn new(config: Config) -> Self {
        Runner {
            config: Some(config),
            state: State::Fresh,
            signals: None,
        }
    }

    /// Runs `future` as the main task on this runner's loop and returns its output. Tasks it
    /// leaves behind stay for the next run. A panic of the main future is resumed here.
    ///
    /// # Errors
    ///
    /// [`RunError::RunnerClosed`] after [`close`](Self::close); [`RunError::NestedRun`] when a
    /// loop is already running on this thread.
    ///
    /// # Examples
    ///
    /// ```
    /// use corun_runtime::{Config, Runner, RunError};
    ///
    /// let mut runner = Runner::new(Config::new());
    /// runner.close();
    /// assert_eq!(runner.run(async {}).unwrap_err(), RunError::RunnerClosed);
    /// ```
    #[track_caller]
    pub fn run<F: IntoFuture>(&mut self, future: F) -> Result<F::Output, RunError> {
        let caller = Location::caller();
        let future = future.into_future();
        let outcome = if const { crate::task::large::<F::IntoFuture>() } {
            self.run_main(Box::pin(future), caller)
        } else {
            self.run_main(future, caller)
        };
        self.signals = None;
        match outcome? {
            Ok(output) => Ok(output),
            Err(panic) => resume_unwind(panic),
        }
    }

    /// Cancels the tasks still alive, waits for `to_thread` work and closes the loop. Does
    /// nothing the second time.
    ///
    /// # Examples
    ///
    /// ```
    /// let mut runner = corun_runtime::Runner::new(corun_runtime::Config::new());
    /// runner.close();
    /// runner.close();
    /// assert!(runner.is_closed());
    /// ```
    pub fn close(&mut self) {
        self.close_interruptibly();
    }

    /// [`close`](Self::close), giving the signal that interrupted the shutdown, if one did (only
    /// while this runner handles signals: for `Config::run`, until the loop has closed).
    fn close_interruptibly(&mut self) -> Option<i32> {
        let State::Open(ctx, settings) = std::mem::replace(&mut self.state, State::Closed) else {
            return None;
        };
        let _entered = context::enter(ctx.clone());
        let mut interrupted = None;
        let signals = self.signals.as_ref();
        ctx.event_loop
            .enter(&mut || interrupted = shutdown(&ctx, &settings, signals));
        interrupted
    }

    /// Whether [`close`](Self::close) has run.
    ///
    /// # Examples
    ///
    /// ```
    /// let runner = corun_runtime::Runner::new(corun_runtime::Config::new());
    /// assert!(!runner.is_closed());
    /// ```
    pub fn is_closed(&self) -> bool {
        matches!(self.state, State::Closed)
    }

    /// Runs the main future, catching its panic so the caller decides when to resume it. A large
    /// future arrives boxed already (see `task::BOX_LARGER_THAN`).
    fn run_main<F: Future>(
        &mut self,
        future: F,
        caller: &'static Location<'static>,
    ) -> Result<std::thread::Result<F::Output>, RunError> {
        if self.is_closed() {
            return Err(RunError::RunnerClosed);
        }
        if context::is_running() {
            return Err(RunError::NestedRun);
        }
        let (ctx, settings) = self.open();
        ctx.started_at.set(Some(caller));
        let header = Header::new(
            Some(settings.main_name.clone()),
            caller,
            ctx.shared.clone(),
            0,
            false,
        );
        let handle_signals = settings.handle_signals;
        if self.signals.is_none() {
            self.signals = signals::handle(handle_signals, &ctx.event_loop.unparker());
        }
        let signals = self.signals.as_ref();
        let mut main = Some((header, future));
        let mut outcome = None;
        let _entered = context::enter(ctx.clone());
        ctx.event_loop.enter(&mut || {
            if let Some((header, future)) = main.take() {
                let driven = drive_main(&ctx, header, future, signals);
                run_current_batch(&ctx);
                if let (Err(RunError::Interrupted), Some(signal)) =
                    (&driven, signals.and_then(SignalGuard::received))
                {
                    let message = format!(
                        "{} received: the main task was cancelled and the run ends as \
                         interrupted",
                        signals::name(signal)
                    );
                    ctx.report(&Report::new(ReportKind::Signal, message));
                }
                outcome = Some(driven);
            }
        });
        outcome.expect("EventLoop::enter must call the function it is given")
    }

    fn open(&mut self) -> (Rc<Context>, &Settings) {
        if let State::Fresh = self.state {
            let config = self
                .config
                .take()
                .expect("a fresh runner still has its config");
            let event_loop = match config.loop_factory {
                Some(factory) => factory(),
                None => Box::new(DefaultLoop::new()),
            };
            let debug = config.debug.unwrap_or_else(debug_from_env);
            let handler = config
                .exception_handler
                .unwrap_or_else(|| Rc::new(report::default_handler));
            let handler: report::Handler = match config.observer {
                Some(observer) => Rc::new(move |report: &Report| {
                    handler(report);
                    observer(report);
                }),
                None => handler,
            };
            let mut ctx = Context::new(event_loop, debug, handler);
            ctx.slow_poll_threshold = config.slow_poll_threshold;
            let ctx = Rc::new(ctx);
            let settings = Settings {
                main_name: config.main_name,
                shutdown_grace: config.shutdown_grace,
                shutdown_timeout: config.shutdown_timeout,
                handle_signals: config.handle_signals,
            };
            self.state = State::Open(ctx, settings);
        }
        match &self.state {
            State::Open(ctx, settings) => (ctx.clone(), settings),
            _ => unreachable!("the runner was opened above"),
        }
    }
}

impl Drop for Runner {
    fn drop(&mut self) {
        self.close();
    }
}

/// Debug mode as `CORUN_DEBUG` asks: on unless it is unset or one of the values that mean off.
fn debug_from_env() -> bool {
    std::env::var_os("CORUN_DEBUG").is_some_and(|value| !means_off(&value))
}

/// Whether a value of `CORUN_DEBUG` means off: empty, `0`, `false`, `no` or `off`, in any case
/// (surrounding spaces ignored), as `PYTHONASYNCIODEBUG` users and shell scripts write it.
fn means_off(value: &std::ffi::OsStr) -> bool {
    let value = value.to_string_lossy();
    let value = value.trim();
    value.is_empty()
        || ["0", "false", "no", "off"]
            .iter()
            .any(|off| value.eq_ignore_ascii_case(off))
}

/// Main's waker: it queues main's turn in the ready queue, so main is woken, queued and polled
/// in FIFO order with every other task, from this thread or any other. Main is not an async-task
/// task (the driver polls it, as a local of its own frame), so its waker is this small one; a
/// task of async-task's standing in for main would compile a second copy of async-task's
/// machinery into every program.
struct MainWaker {
    shared: Arc<Shared>,
    /// Main's turn is queued and has not come yet: further wakes add nothing.
    queued: AtomicBool,
}

impl MainWaker {
    /// A waker for the main task of the loop behind `shared`, and the state behind it.
    fn new(shared: Arc<Shared>) -> (Arc<MainWaker>, Waker) {
        let state = Arc::new(MainWaker {
            shared,
            queued: AtomicBool::new(false),
        });
        (state.clone(), Waker::from(state))
    }

    /// Main's turn came: a wake from now on queues another.
    fn turn_came(&self) {
        self.queued.store(false, Ordering::Release);
    }
}

impl Wake for MainWaker {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        if self.queued.swap(true, Ordering::AcqRel) {
            return;
        }
        match context::current() {
            Some(ctx) if Arc::ptr_eq(&ctx.shared, &self.shared) => {
                ctx.call_soon(crate::event_loop::Runnable::main());
            }
            // Another thread: the loop takes it in when it drains its remote queue. A closed
            // loop has no main left to wake.
            _ => drop(self.shared.send(Remote::RunMain)),
        }
    }
}

/// Ends driving main when `drive_main` returns (or unwinds).
struct MainDriven<'c>(&'c Context, TaskId);

impl Drop for MainDriven<'_> {
    fn drop(&mut self) {
        self.0.set_main(None);
        self.0.forget_control(self.1);
    }
}

/// Polls the main future whenever its turn comes, running the other ready work in between,
/// until it is done.
///
/// Main is cancelled as a task is: once its header has `CANCEL_REQUESTED` (set here when a
/// signal arrives), it is woken; if it is listening on `cancelled()` it becomes cooperative and
/// may finish with its value, otherwise its future is dropped and the run is
/// [`RunError::Interrupted`].
fn drive_main<F: Future>(
    ctx: &Context,
    header: Header,
    future: F,
    signals: Option<&SignalGuard>,
) -> Result<std::thread::Result<F::Output>, RunError> {
    let main = &header;
    let (main_waker, waker) = MainWaker::new(ctx.shared.clone());
    ctx.set_main(Some((main.task_ref(), waker.clone())));
    let _driven = MainDriven(ctx, main.id());
    waker.wake_by_ref();
    let mut cx = PollContext::from_waker(&waker);
    let mut future = pin!(Some(future));
    let mut cancel_seen = false;
    let mut by_signal = false;
    let mut budget = BUDGET;
    loop {
        ctx.apply_cancel_request(main);
        if let Some(signal) = signals.and_then(SignalGuard::take_new) {
            by_signal = true;
            if ctx.debug {
                let message = format!(
                    "{} received: cancelling the main task",
                    signals::name(signal)
                );
                ctx.report(&Report::for_task(
                    ReportKind::Signal,
                    &main.task_ref(),
                    message,
                ));
            }
            main.request_cancel();
        }
        if !cancel_seen && main.has(CANCEL_REQUESTED) {
            cancel_seen = true;
            waker.wake_by_ref();
        }
        if ctx.run_ready(&mut budget) {
            main_waker.turn_came();
            if cancel_seen && !main.has(COOPERATIVE) {
                if ctx.is_listening(main.id()) {
                    main.set(COOPERATIVE);
                } else {
                    let dropped =
                        ctx.as_task(main, || catch_unwind(AssertUnwindSafe(|| future.set(None))));
                    if let Err(payload) = dropped {
                        ctx.report_panic(ReportKind::PanicWhileCancelling, main, &*payload);
                    }
                    if by_signal {
                        return Err(RunError::Interrupted);
                    }
                    // Cancelled through a `TaskRef`: no value, as a cancelled task's `await`.
                    let message = format!(
                        "the main task '{}' was cancelled (TaskRef::cancel), so the run has no \
                         value to return; to finish with a value, listen on corun::cancelled() \
                         in main",
                        main.name()
                    );
                    return Ok(Err(Box::new(message)));
                }
            }
            let poll = || {
                catch_unwind(AssertUnwindSafe(|| {
                    let future = future.as_mut().as_pin_mut();
                    future
                        .expect("main is not polled after it finished")
                        .poll(&mut cx)
                }))
            };
            let polled = if ctx.debug {
                crate::debug::poll_timed(ctx, main, poll)
            } else {
                ctx.as_task(main, poll)
            };
            match polled {
                Ok(Poll::Pending) => {}
                Ok(Poll::Ready(output)) => return Ok(Ok(output)),
                Err(panic) => return Ok(Err(panic)),
            }
            budget = budget.saturating_sub(1);
            if budget > 0 {
                continue;
            }
        }
        ctx.park(ctx.has_ready());
        budget = BUDGET;
    }
}

/// Gives their turn to the runnables that were ready when main finished, and to no others
/// (asyncio's `loop.stop()`, which lets the current batch of callbacks run): a task that main
/// spawned just before returning runs up to its first pending `.await`, as it would in asyncio.
/// What they queue in turn (tasks they spawn or wake) waits for the shutdown, which cancels it.
fn run_current_batch(ctx: &Context) {
    ctx.drain_remote();
    // The queue is FIFO: a budget of what is queued now runs exactly those runnables. Main's
    // driving has ended, so a turn of main among them is skipped.
    ctx.run_ready(&mut ctx.ready_count());
}

/// Sets a flag when the shutdown grace runs out.
struct GraceWaker {
    expired: AtomicBool,
}

impl Wake for GraceWaker {
    fn wake(self: Arc<Self>) {
        self.expired.store(true, Ordering::Release);
    }
}

/// The end of a run: cancel every task, sweeping until none remains, wait for thread work, then
/// close the loop. Returns the signal that interrupted it, if one did (see [`Interruption`]).
fn shutdown(ctx: &Context, settings: &Settings, signals: Option<&SignalGuard>) -> Option<i32> {
    ctx.start_closing();
    let mut interruption = Interruption::new(signals);
    let grace = Arc::new(GraceWaker {
        expired: AtomicBool::new(false),
    });
    // Armed only when some task outlives the first sweeps (a cooperative one, finishing its
    // cleanup): most runs end without a timer.
    let mut grace_timer = None;
    loop {
        if interruption.check(ctx) {
            break;
        }
        if grace.expired.load(Ordering::Acquire) && !ctx.is_forcing() {
            ctx.start_forcing();
        }
        ctx.run_ready(&mut BUDGET.clone());
        if !ctx.has_ready() && ctx.live_tasks() == 0 && !ctx.shared.has_remote() {
            break;
        }
        if !ctx.has_ready() && grace_timer.is_none() {
            grace_timer = Some(ctx.deadline_after(settings.shutdown_grace).map(|deadline| {
                ctx.event_loop
                    .add_timer(deadline, Waker::from(grace.clone()))
            }));
        }
        ctx.park(ctx.has_ready());
    }
    if let Some(Some(timer)) = grace_timer {
        ctx.event_loop.remove_timer(timer);
    }
    if let Some(interrupter) = ctx.threads.interrupter() {
        if interruption.check(ctx) {
            interrupter.wake();
        } else if let Some(signals) = signals {
            signals.also_wake(interrupter);
        }
    }
    let jobs_left = crate::threads::wait_at_shutdown(ctx, settings.shutdown_timeout);
    ctx.close_remote();
    // Work that arrived while the remote queue closed is run now, and so cancelled.
    while ctx.has_ready() && !interruption.check(ctx) {
        ctx.run_ready(&mut BUDGET.clone());
    }
    let signal = interruption.report(ctx, jobs_left);
    // Last, the task panics that handles still hold (leaked, or kept past the run): none lost.
    ctx.report_kept_panics();
    ctx.event_loop.close();
    signal
}

/// A signal that arrives while the run shuts down (the first of the run: a second one exits at
/// once). It ends the shutdown's waits at once: the grace of cooperative tasks, the sweep, the
/// wait for thread work; and the run ends as interrupted.
struct Interruption<'s> {
    signals: Option<&'s SignalGuard>,
    /// The signal, once it came; and what the shutdown then dropped and abandoned.
    signal: Option<i32>,
    dropped: usize,
    abandoned: usize,
}

impl<'s> Interruption<'s> {
    fn new(signals: Option<&'s SignalGuard>) -> Self {
        Interruption {
            signals,
            signal: None,
            dropped: 0,
            abandoned: 0,
        }
    }

    /// Whether a signal stopped the shutdown (now or before). When one has just come, every
    /// task still alive is dropped now (its future, destructors run inside the loop's context,
    /// cooperative or not), and what that queues (tasks spawned by those destructors, which
    /// could respawn forever) is abandoned: leaked, never run nor dropped.
    fn check(&mut self, ctx: &Context) -> bool {
        if self.signal.is_some() {
            return true;
        }
        let Some(signal) = self.signals.and_then(SignalGuard::take_new) else {
            return false;
        };
        self.signal = Some(signal);
        self.dropped = ctx.live_tasks();
        ctx.start_forcing();
        ctx.run_ready(&mut ctx.ready_count());
        self.abandoned = ctx.abandon_ready();
        true
    }

    /// Reports what the signal cut short, and gives the signal; `jobs_left` is the thread work
    /// the shutdown left running. A shutdown that no signal reached reports nothing.
    fn report(&mut self, ctx: &Context, jobs_left: usize) -> Option<i32> {
        self.check(ctx);
        let signal = self.signal?;
        self.abandoned += ctx.abandon_ready();
        let message = format!(
            "{} received while the run was shutting down: it stopped waiting and ends as \
             interrupted; {} task(s) dropped, {} task(s) spawned meanwhile abandoned, {} \
             to_thread job(s) left running",
            signals::name(signal),
            self.dropped,
            self.abandoned,
            jobs_left
        );
        ctx.report(&Report::new(ReportKind::Signal, message));
        Some(signal)
    }
}
