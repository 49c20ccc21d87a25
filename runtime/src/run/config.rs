//! `Config`: how to run, every setting optional with asyncio's default. Layer 5 (the run): uses
//! the loop layer and the reports.

use std::fmt;
use std::rc::Rc;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use crate::event_loop::EventLoop;
use crate::record::report::Report;
use crate::report_sink::Handler;
use crate::signals::SharedSignals;

pub(super) type LoopFactory = Box<dyn FnOnce() -> Box<dyn EventLoop>>;

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
    pub(super) debug: Option<bool>,
    pub(super) loop_factory: Option<LoopFactory>,
    pub(super) slow_poll_threshold: Duration,
    pub(super) shutdown_timeout: Duration,
    pub(super) shutdown_grace: Duration,
    pub(super) exception_handler: Option<Handler>,
    pub(super) handle_signals: Option<bool>,
    /// `None`: `"main"`.
    pub(super) main_name: Option<String>,
    /// Sees every report after the exception handler (`run::testing`'s hook).
    pub(super) observer: Option<Handler>,
    /// The signals a worker of a `Workers` shares with the others (`run::workers`), instead of
    /// handling them for this run alone.
    pub(super) shared_signals: Option<Arc<SharedSignals>>,
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
            .field("main_name", &self.main_name.as_deref().unwrap_or("main"))
            .finish_non_exhaustive()
    }
}

impl Config {
    /// The defaults: debug from `CORUN_DEBUG`, the [`DefaultLoop`](crate::loops::DefaultLoop), a
    /// 100 ms slow-poll threshold, a 300 s shutdown timeout, a 5 s shutdown grace, reports to
    /// stderr.
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
            main_name: None,
            observer: None,
            shared_signals: None,
        }
    }

    /// Turns debug mode on or off. Unset, it follows the `CORUN_DEBUG` environment variable:
    /// unset, `""`, `"0"`, `"false"`, `"no"` and `"off"` (in any case) mean off, anything else
    /// on. The variable is read once per process, by the first run that needs it (as the
    /// process's configuration; a later `set_var` is not seen).
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

    /// Makes the loop with `factory` instead of
    /// [`DefaultLoop::new`](crate::loops::DefaultLoop::new). It is called once, on the thread of
    /// the run, when the loop is first needed.
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
    /// It also bounds the wait for the threads of a loop's own runtime when the loop shuts it
    /// down ([`EventLoop::shutdown_foreign`](crate::EventLoop::shutdown_foreign)): with
    /// `TokioLoop`, tokio's blocking pool (`spawn_blocking`, DNS lookups, `tokio::fs`).
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
    /// [`Runner::run`](crate::Runner::run) return [`RunError::Interrupted`](crate::RunError::Interrupted). A second signal exits at once with the
    /// same codes. After the run the signals behave as their default disposition again (the
    /// process dies of them). One run at a time handles signals: a run started while another
    /// handles them leaves them to it.
    ///
    /// A signal that arrives after main finished, while the end of a [`run`](Self::run) or
    /// [`try_run`](Self::try_run) waits out the [shutdown grace](Self::shutdown_grace) or
    /// `to_thread` work or sweeps tasks, is not lost: it ends those waits at once, the tasks
    /// still alive are dropped (tasks their destructors spawn then are abandoned, never run, so
    /// that destructors that spawn forever cannot keep the run alive), what was cut short is
    /// reported, and the run ends as interrupted (130/143, or
    /// [`RunError::Interrupted`](crate::RunError::Interrupted)). An interrupted run says what
    /// happened in one [`ReportKind::Signal`](crate::ReportKind::Signal) report (one line on
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
        self.main_name = Some(name.into());
        self
    }

    /// Has `observer` see every report too, after the exception handler (which it does not
    /// replace): how `#[corun::test]` learns that something failed during its run.
    pub(super) fn observe_reports(mut self, observer: impl Fn(&Report) + 'static) -> Self {
        self.observer = Some(Rc::new(observer));
        self
    }
}

/// What a run needs of the config once the loop exists.
pub(super) struct Settings {
    /// The loop is the default one, made by the runner: once closed, the thread's next run may
    /// reuse it (`runner::keep_spare`).
    pub(super) default_loop: bool,
    /// The name given to main, if one was (see [`main_name`](Self::main_name)).
    pub(super) given_main_name: Option<Arc<str>>,
    pub(super) shutdown_grace: Duration,
    pub(super) shutdown_timeout: Duration,
    pub(super) handle_signals: Option<bool>,
    pub(super) shared_signals: Option<Arc<SharedSignals>>,
}

/// Debug mode as `CORUN_DEBUG` asks: on unless it is unset or one of the values that mean off.
/// Read once per process, by the first run that asks: reading it on every run (std's lock of
/// the environment, `getenv`'s scan of every variable) was about 6 % of a `run()`
/// (BENCHMARKS.md, "Where the time goes").
pub(super) fn debug_from_env() -> bool {
    static FROM_ENV: OnceLock<bool> = OnceLock::new();
    *FROM_ENV
        .get_or_init(|| std::env::var_os("CORUN_DEBUG").is_some_and(|value| !means_off(&value)))
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
