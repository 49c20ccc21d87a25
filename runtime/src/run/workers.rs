//! `Workers`: the same main run N times at once, one whole run per thread (uvicorn's and
//! gunicorn's `--workers`, actix-web's workers, glommio's and monoio's thread per core); `Worker`
//! and `worker()`, which tell a worker's code which one it is.
//!
//! Layer 5 (the run): uses `run::config`, `run::entry` (`Config::run_to_end`), `run::error`, the
//! record's reports,
//! `signals` (the handling the workers share), the context's thread-local (nested runs),
//! `task::current` (each main's `TaskRef`, to cancel it from another worker's thread) and
//! `task::spawn`'s size rule.
//!
//! Each worker thread makes its `Config` (the `config` closure, called there, since a `Config`
//! holds a loop factory that need not be `Send`), then runs `main(worker)` with
//! `Config::run_to_end`, as `Config::run` would, except for signals: the process handles them
//! once for all workers (`signals::SharedSignals`), so the first SIGINT/SIGTERM cancels every
//! worker's main on its own loop. A worker that panics (its main, its loop factory, its config)
//! is caught on its thread; it cancels the other workers' mains through their `TaskRef`s
//! ([`Stop`]), and the caller resumes a panic naming it once every worker has ended.

use std::any::Any;
use std::cell::Cell;
use std::fmt;
use std::future::Future;
use std::panic::{catch_unwind, AssertUnwindSafe, Location};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::thread;

use super::config::Config;
use super::error::{run_error_message, RunError};
use crate::context::this_thread;
use crate::record::report::Report;
use crate::record::task_ref::TaskRef;
use crate::signals::{self, SharedSignals};
use crate::task::current::current_task;
use crate::task::spawn::large;

/// Makes each worker's [`Config`], on the worker's thread.
type ConfigFactory = Arc<dyn Fn() -> Config + Send + Sync>;

/// N runs of the same main at once, each on a thread of its own with its own loop, tasks and
/// shutdown: the way the asyncio world uses more than one core (`uvicorn --workers N`,
/// gunicorn), as actix-web's workers and glommio's and monoio's thread per core do.
///
/// Each worker is an [`asyncio.run`](crate::run) of its own: `main` is called once per worker
/// (with its [`Worker`]: index and count) on that worker's thread, and its future runs there as
/// the main task, on the loop its [`config`](Self::config) makes. Workers share nothing but
/// what `main` captures, which is `Send + Sync`; a listening server shares its port between
/// workers with `SO_REUSEPORT` (tokio's `TcpSocket::set_reuseport`; see the `http_workers`
/// example).
///
/// - **One signal stops them all**: the process handles SIGINT and SIGTERM once, for every
///   worker (as [`Config::handle_signals`] says: by default when `run` is called on the main
///   thread and the signal's disposition is the default; the setting of the first worker to make
///   its loop decides for all).
///   The first signal cancels every worker's main (their [`cancelled`](crate::cancelled)
///   completes); each worker shuts down in full, and once all are done the whole ends as one
///   run would: the process exits with 130 (SIGINT) or 143 (SIGTERM), or
///   [`try_run`](Self::try_run) returns [`RunError::Interrupted`], if the signal stopped a
///   worker's main (the values of the mains that did return are then dropped, as a run's value is
///   when a signal stops its shutdown); if every main listened and returned, their values are
///   returned. A second signal exits at once.
/// - **A worker that panics** (its main, its loop factory, or the `config` closure) cancels the
///   other workers' mains, as [`TaskRef::cancel`] does; when every worker has ended, the panic is
///   resumed in the caller, its message naming the worker by index (`"worker 1 panicked:
///   ..."`). Under `#[corun::entry]` the process then exits with status 101.
/// - No worker is left running after `run` returns: it joins every worker thread.
///
/// # Examples
///
/// ```
/// use corun_runtime::Workers;
///
/// let squares = Workers::new(3).run(|worker| async move {
///     let n = worker.index();
///     corun_runtime::spawn(async move { n * n }).await
/// });
/// assert_eq!(squares, [0, 1, 4]);
/// ```
#[must_use = "Workers do nothing until you call run or try_run"]
pub struct Workers {
    count: usize,
    config: Option<ConfigFactory>,
}

impl fmt::Debug for Workers {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Workers")
            .field("count", &self.count)
            .field("config", &self.config.as_ref().map(|_| "custom"))
            .finish()
    }
}

impl Workers {
    /// `count` workers; 0 means one per core ([`std::thread::available_parallelism`], or 1 when
    /// it cannot be told).
    ///
    /// # Examples
    ///
    /// ```
    /// let counts = corun_runtime::Workers::new(0).run(|worker| async move { worker.count() });
    /// let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    /// assert_eq!(counts, vec![cores; cores]);
    /// ```
    pub fn new(count: usize) -> Self {
        let count = match count {
            0 => thread::available_parallelism().map_or(1, |cores| cores.get()),
            count => count,
        };
        Workers {
            count,
            config: None,
        }
    }

    /// Makes each worker's [`Config`] with `each`, called once per worker on that worker's
    /// thread (a `Config` holds a loop factory, which need not be `Send`). Default:
    /// [`Config::new`]. [`worker`] inside `each` tells which worker it is for.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use corun_runtime::{loops::VirtualTimeLoop, Config, Workers};
    ///
    /// let slept = Workers::new(2)
    ///     .config(|| Config::new().loop_factory(VirtualTimeLoop::new))
    ///     .run(|_| async {
    ///         corun_runtime::sleep(Duration::from_secs(3600)).await; // virtual: at once
    ///         "slept"
    ///     });
    /// assert_eq!(slept, ["slept", "slept"]);
    /// ```
    pub fn config(mut self, each: impl Fn() -> Config + Send + Sync + 'static) -> Self {
        self.config = Some(Arc::new(each));
        self
    }

    /// Has `observer` see every report of every worker's run too, with the worker's index
    /// (`run::testing`'s hook), after each worker's exception handler.
    pub(super) fn observe_reports(
        mut self,
        observer: impl Fn(usize, &Report) + Send + Sync + 'static,
    ) -> Self {
        let each = self.config.take();
        let observer = Arc::new(observer);
        self.config = Some(Arc::new(move || {
            let config = each.as_ref().map_or_else(Config::new, |each| each());
            let observer = observer.clone();
            let index = worker().map_or(0, Worker::index);
            config.observe_reports(move |report| observer(index, report))
        }));
        self
    }

    /// Runs `main` on every worker at once, each call's future as the main task of a whole run
    /// on that worker's thread, and returns their outputs in worker order (see [`Workers`] for
    /// signals and panics).
    ///
    /// # Panics
    ///
    /// With a worker's panic, once every worker has ended, the message naming the worker
    /// (`"worker 1 panicked: <its message>"`); with [`RunError`]'s message where
    /// [`try_run`](Self::try_run) would return it, except that a signal that stopped a worker's
    /// main exits the process with 130 (SIGINT) or 143 (SIGTERM), as [`Config::run`] does.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::sync::atomic::{AtomicUsize, Ordering};
    /// use std::sync::Arc;
    ///
    /// let served = Arc::new(AtomicUsize::new(0));
    /// let counter = served.clone();
    /// corun_runtime::Workers::new(4).run(move |_| {
    ///     let counter = counter.clone();
    ///     async move { counter.fetch_add(1, Ordering::Relaxed) }
    /// });
    /// assert_eq!(served.load(Ordering::Relaxed), 4);
    /// ```
    #[track_caller]
    pub fn run<F, Fut>(self, main: F) -> Vec<Fut::Output>
    where
        F: Fn(Worker) -> Fut + Send + Sync + 'static,
        Fut: Future + 'static,
        Fut::Output: Send + 'static,
    {
        match self.run_all(main, Location::caller()) {
            (Ok(outputs), _) => outputs,
            (Err(RunError::Interrupted), Some(signal)) => {
                std::process::exit(signals::exit_code(signal))
            }
            (Err(error), _) => panic!("{}", run_error_message(error)),
        }
    }

    /// Like [`run`](Self::run), but misuse comes back as a [`RunError`].
    ///
    /// # Errors
    ///
    /// [`RunError::NestedRun`] when a loop is already running on this thread (no worker is
    /// started); [`RunError::Interrupted`] when a signal stopped a worker's main, or a worker's
    /// shutdown (see [`Config::handle_signals`]).
    ///
    /// # Panics
    ///
    /// With a worker's panic, as [`run`](Self::run).
    ///
    /// # Examples
    ///
    /// ```
    /// use corun_runtime::{RunError, Workers};
    ///
    /// let nested = corun_runtime::run(async { Workers::new(2).try_run(|_| async {}) });
    /// assert_eq!(nested.unwrap_err(), RunError::NestedRun);
    /// ```
    #[track_caller]
    pub fn try_run<F, Fut>(self, main: F) -> Result<Vec<Fut::Output>, RunError>
    where
        F: Fn(Worker) -> Fut + Send + Sync + 'static,
        Fut: Future + 'static,
        Fut::Output: Send + 'static,
    {
        self.run_all(main, Location::caller()).0
    }

    /// Every worker's run, joined; the outputs in worker order, or why there are none, and the
    /// signal that stopped the workers, if one did. Resumes a worker's panic, at the caller's
    /// line.
    #[track_caller]
    fn run_all<F, Fut>(
        self,
        main: F,
        caller: &'static Location<'static>,
    ) -> (Result<Vec<Fut::Output>, RunError>, Option<i32>)
    where
        F: Fn(Worker) -> Fut + Send + Sync + 'static,
        Fut: Future + 'static,
        Fut::Output: Send + 'static,
    {
        if this_thread::is_running() {
            return (Err(RunError::NestedRun), None);
        }
        let Workers { count, config } = self;
        let shared = Shared {
            main,
            config,
            signals: Arc::new(SharedSignals::new()),
            stop: Stop::default(),
        };
        let ends: Vec<End<Fut::Output>> = thread::scope(|scope| {
            let started: Vec<_> = (0..count)
                .map(|index| {
                    let worker = Worker { index, count };
                    let shared = &shared;
                    thread::Builder::new()
                        .name(format!("corun-worker-{index}"))
                        .spawn_scoped(scope, move || shared.run_worker(worker, caller))
                        .inspect_err(|_| shared.stop.fail(index))
                })
                .collect();
            started
                .into_iter()
                .enumerate()
                .map(|(index, started)| match started {
                    Ok(thread) => thread.join().unwrap_or_else(|panic| {
                        // Not expected: a worker's body catches every panic.
                        shared.stop.fail(index);
                        End::Panicked(panic)
                    }),
                    Err(error) => End::NotStarted(error),
                })
                .collect()
        });
        shared.signals.end();
        if let Some(index) = shared.stop.failed() {
            panic!("{}", failure_message(index, &ends[index]));
        }
        let mut outputs = Vec::with_capacity(count);
        for end in ends {
            match end {
                End::Ran(Ok(output), _) => outputs.push(output),
                End::Ran(Err(error), signal) => return (Err(error), signal),
                End::Panicked(_) | End::NotStarted(_) => {
                    unreachable!("a worker that failed is recorded in `stop`")
                }
            }
        }
        (Ok(outputs), None)
    }
}

/// Which worker the code runs in, and how many there are; [`worker`] gives it inside a worker's
/// run, and `main` receives it.
///
/// # Examples
///
/// ```
/// let seen = corun_runtime::Workers::new(2).run(|worker| async move {
///     assert_eq!(corun_runtime::worker(), Some(worker));
///     (worker.index(), worker.count())
/// });
/// assert_eq!(seen, [(0, 2), (1, 2)]);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Worker {
    index: usize,
    count: usize,
}

impl Worker {
    /// This worker's index, from 0 to [`count`](Self::count) − 1: its place in the outputs of
    /// [`Workers::run`].
    ///
    /// # Examples
    ///
    /// ```
    /// let indices = corun_runtime::Workers::new(2).run(|worker| async move { worker.index() });
    /// assert_eq!(indices, [0, 1]);
    /// ```
    pub fn index(self) -> usize {
        self.index
    }

    /// How many workers run.
    ///
    /// # Examples
    ///
    /// ```
    /// let counts = corun_runtime::Workers::new(2).run(|worker| async move { worker.count() });
    /// assert_eq!(counts, [2, 2]);
    /// ```
    pub fn count(self) -> usize {
        self.count
    }
}

thread_local! {
    /// The worker whose thread this is, for the whole of its run.
    static CURRENT: Cell<Option<Worker>> = const { Cell::new(None) };
}

/// The worker whose run this code is in, or `None` outside the runs of [`Workers`] (in a plain
/// [`run`](crate::run), on a `to_thread` thread, or after the worker's run ended). Set on each
/// worker's thread for the whole of its run, its `config` closure and loop factory included.
///
/// # Examples
///
/// ```
/// assert_eq!(corun_runtime::worker(), None);
/// let indices = corun_runtime::Workers::new(2)
///     .run(|_| async { corun_runtime::worker().map(|worker| worker.index()) });
/// assert_eq!(indices, [Some(0), Some(1)]);
/// ```
pub fn worker() -> Option<Worker> {
    CURRENT.with(Cell::get)
}

/// Sets [`worker`] for the life of the value.
struct Current;

impl Current {
    fn enter(worker: Worker) -> Current {
        CURRENT.with(|current| current.set(Some(worker)));
        Current
    }
}

impl Drop for Current {
    fn drop(&mut self) {
        CURRENT.with(|current| current.set(None));
    }
}

/// How a worker ended.
enum End<T> {
    /// Its run ended, with the output or the run's error, and the signal that stopped it.
    Ran(Result<T, RunError>, Option<i32>),
    /// It panicked: its main, its loop factory or its `config` closure.
    Panicked(Box<dyn Any + Send>),
    /// Its thread could not be started.
    NotStarted(std::io::Error),
}

/// What every worker's thread shares.
struct Shared<F> {
    main: F,
    config: Option<ConfigFactory>,
    signals: Arc<SharedSignals>,
    stop: Stop,
}

impl<F> Shared<F> {
    /// A worker's thread: its config, then its whole run, with every panic caught (a failure
    /// stops the other workers).
    fn run_worker<Fut>(
        &self,
        worker: Worker,
        caller: &'static Location<'static>,
    ) -> End<Fut::Output>
    where
        F: Fn(Worker) -> Fut,
        Fut: Future + 'static,
    {
        let _current = Current::enter(worker);
        let ran = catch_unwind(AssertUnwindSafe(|| {
            let mut config = match &self.config {
                Some(each) => each(),
                None => Config::new(),
            };
            config.shared_signals = Some(self.signals.clone());
            let stop = &self.stop;
            let main = &self.main;
            let future = async move {
                stop.enter(current_task().expect("a worker's main runs as a task"));
                main(worker).await
            };
            if const { large::<Fut>() } {
                config.run_to_end(Box::pin(future), caller)
            } else {
                config.run_to_end(future, caller)
            }
        }));
        match ran {
            Ok((output, signal)) => End::Ran(output, signal),
            Err(panic) => {
                self.stop.fail(worker.index);
                End::Panicked(panic)
            }
        }
    }
}

/// How a failing worker stops the others: every main's `TaskRef`, to cancel it from any thread.
#[derive(Default)]
struct Stop {
    state: Mutex<StopState>,
}

#[derive(Default)]
struct StopState {
    /// The mains that started, to cancel when a worker fails.
    mains: Vec<TaskRef>,
    /// The first worker that failed: from then on every main is cancelled, those that start
    /// later as soon as they start.
    failed: Option<usize>,
}

impl Stop {
    fn state(&self) -> MutexGuard<'_, StopState> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// A worker's main started: cancelled at once if a worker has failed already.
    fn enter(&self, main: TaskRef) {
        let mut state = self.state();
        if state.failed.is_some() {
            drop(state);
            main.cancel();
            return;
        }
        state.mains.push(main);
    }

    /// Worker `index` failed: the first failure cancels every main started (outside the lock: a
    /// cancel wakes the main's loop).
    fn fail(&self, index: usize) {
        let mains = {
            let mut state = self.state();
            if state.failed.is_some() {
                return;
            }
            state.failed = Some(index);
            std::mem::take(&mut state.mains)
        };
        for main in mains {
            main.cancel();
        }
    }

    /// The first worker that failed, if any did.
    fn failed(&self) -> Option<usize> {
        self.state().failed
    }
}

/// The workers' `Result`s made one, as `#[corun::entry(workers = N)]` returns it: the first `Err`
/// in worker order, or `Ok(())`; every other `Err` is printed on stderr, naming its worker, so
/// that none is lost.
///
/// # Examples
///
/// ```
/// use corun_runtime::__private::first_error;
///
/// assert_eq!(first_error::<&str>(vec![Ok(()), Ok(())]), Ok(()));
/// // Prints "corun: worker 2 returned Err("late")" on stderr.
/// assert_eq!(first_error(vec![Ok(()), Err("first"), Err("late")]), Err("first"));
/// ```
pub fn first_error<E: fmt::Debug>(outputs: Vec<Result<(), E>>) -> Result<(), E> {
    let mut first = Ok(());
    for (index, output) in outputs.into_iter().enumerate() {
        match (output, &first) {
            (Ok(()), _) => {}
            (Err(error), Ok(())) => first = Err(error),
            (Err(error), Err(_)) => eprintln!("corun: worker {index} returned Err({error:?})"),
        }
    }
    first
}

/// The message of the panic resumed for worker `index`'s failure.
fn failure_message<T>(index: usize, end: &End<T>) -> String {
    match end {
        End::Panicked(payload) => match message_of(payload.as_ref()) {
            Some(message) => format!("worker {index} panicked: {message}"),
            None => format!("worker {index} panicked (with a payload that is not a string)"),
        },
        End::NotStarted(error) => format!("worker {index} could not start its thread: {error}"),
        End::Ran(..) => format!("worker {index} failed"),
    }
}

/// A panic's message, when its payload is a string (as `panic!` makes it).
fn message_of(payload: &(dyn Any + Send)) -> Option<&str> {
    payload
        .downcast_ref::<&'static str>()
        .copied()
        .or_else(|| payload.downcast_ref::<String>().map(String::as_str))
}
