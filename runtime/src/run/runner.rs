//! `Runner`: one loop for several runs; opens the loop, drives each run's main task
//! (`drive.rs`) and closes the loop (`shutdown.rs`). Layer 5 (the run): uses the rest of `run/`,
//! `signals`, the context, the loop layer, the record and the reports.

use std::cell::Cell;
use std::fmt;
use std::future::{Future, IntoFuture};
use std::panic::{resume_unwind, Location};
use std::rc::Rc;
use std::sync::Arc;

use super::config::{debug_from_env, Config, Settings};
use super::drive::drive_main;
use super::error::RunError;
use super::shutdown::shutdown;
use super::workers::worker;
use crate::context::core::Context;
use crate::context::the_loop::TheLoop;
use crate::context::this_thread;
use crate::event_loop::EventLoop;
use crate::record::header::{Header, MAIN};
use crate::record::report::{Report, ReportKind};
use crate::report_sink::{self, Handler};
use crate::signals::{self, SignalGuard};
use crate::task::spawn::large;

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
    pub(super) signals: Option<SignalGuard>,
}

enum State {
    /// No loop yet.
    Fresh,
    Open(Rc<Context>, Settings),
    Closed,
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
        let outcome = if const { large::<F::IntoFuture>() } {
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
    pub(super) fn close_interruptibly(&mut self) -> Option<i32> {
        let State::Open(ctx, settings) = std::mem::replace(&mut self.state, State::Closed) else {
            return None;
        };
        let entered = this_thread::enter(ctx.clone());
        let mut interrupted = None;
        let signals = self.signals.as_ref();
        ctx.event_loop
            .enter(&mut || interrupted = shutdown(&ctx, &settings, signals));
        drop(entered);
        // A shutdown cut short by a signal leaves tasks behind, leaked: that loop is not reused.
        if settings.default_loop && interrupted.is_none() {
            keep_spare(ctx);
        }
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
    pub(super) fn run_main<F: Future>(
        &mut self,
        future: F,
        caller: &'static Location<'static>,
    ) -> Result<std::thread::Result<F::Output>, RunError> {
        // Only what holds the future is generic: opening the loop, the signals and the report of
        // an interruption are compiled once, in this crate, not in every program
        // (BENCHMARKS.md, compile cost).
        let (ctx, header) = self.start_main(caller)?;
        let signals = self.signals.as_ref();
        let mut main = Some((header, future));
        let mut outcome = None;
        let _entered = this_thread::enter(ctx.clone());
        ctx.event_loop.enter(&mut || {
            if let Some((header, future)) = main.take() {
                let driven = drive_main(&ctx, header, future, signals);
                // asyncio's `loop.stop()`: the work already ready gets its turn (see there).
                ctx.run_current_batch();
                if let Err(RunError::Interrupted) = driven {
                    report_interruption(&ctx, signals);
                }
                outcome = Some(driven);
            }
        });
        outcome.expect("EventLoop::enter must call the function it is given")
    }

    /// What [`run_main`](Self::run_main) does before main runs: the checks, the loop opened,
    /// main's header, signals handled. Gives the context and main's header.
    fn start_main(
        &mut self,
        caller: &'static Location<'static>,
    ) -> Result<(Rc<Context>, Header), RunError> {
        if self.is_closed() {
            return Err(RunError::RunnerClosed);
        }
        if this_thread::is_running() {
            return Err(RunError::NestedRun);
        }
        let (ctx, settings) = self.open();
        ctx.started_at.set(Some(caller));
        // Main's default name is a flag of its header (`MAIN`), not a string of its own.
        let (name, flags) = match &settings.given_main_name {
            Some(name) => (Some(name.clone()), 0),
            None => (None, MAIN),
        };
        let header = Header::new(name, caller, ctx.shared.clone(), flags, false);
        let (setting, shared) = (settings.handle_signals, settings.shared_signals.clone());
        if self.signals.is_none() {
            // The loop's unparker is cloned only if signals are handled.
            let unparker = || ctx.event_loop.unparker();
            self.signals = match &shared {
                Some(shared) => shared.listen(setting, unparker),
                None => signals::handle(setting, unparker),
            };
        }
        Ok((ctx, header))
    }

    fn open(&mut self) -> (Rc<Context>, &Settings) {
        if let State::Fresh = self.state {
            let config = self
                .config
                .take()
                .expect("a fresh runner still has its config");
            let event_loop = config.loop_factory.map(|factory| factory());
            let default_loop = event_loop.is_none();
            let debug = config.debug.unwrap_or_else(debug_from_env);
            let handler = match (config.exception_handler, config.observer) {
                (handler, None) => handler,
                (handler, Some(observer)) => {
                    let both: Handler = Rc::new(move |report: &Report| {
                        report_sink::hand_to(handler.as_ref(), report);
                        observer(report);
                    });
                    Some(both)
                }
            };
            let mut ctx = match event_loop {
                Some(event_loop) => {
                    Rc::new(Context::new(TheLoop::Other(event_loop), debug, handler))
                }
                None => match take_spare() {
                    Some(mut spare) => {
                        Rc::get_mut(&mut spare)
                            .expect(ONLY_HERE)
                            .reopen(debug, handler);
                        spare
                    }
                    None => {
                        let default = TheLoop::Default(Box::default());
                        Rc::new(Context::new(default, debug, handler))
                    }
                },
            };
            Rc::get_mut(&mut ctx).expect(ONLY_HERE).slow_poll_threshold =
                config.slow_poll_threshold;
            let settings = Settings {
                default_loop,
                given_main_name: config.main_name.map(Arc::from),
                shutdown_grace: config.shutdown_grace,
                shutdown_timeout: config.shutdown_timeout,
                handle_signals: config.handle_signals,
                shared_signals: config.shared_signals,
            };
            self.state = State::Open(ctx, settings);
        }
        match &self.state {
            State::Open(ctx, settings) => (ctx.clone(), settings),
            _ => unreachable!("the runner was opened above"),
        }
    }
}

thread_local! {
    /// The context of the last run on this thread that used the default loop, renewed
    /// (`Context::renew`) once that run's loop closed: the next such run on the thread reuses
    /// it, with its loop, the loop's ready queue and its mailbox, instead of allocating them
    /// (four of the eleven allocations a `run()` made, about 660 of its 5,200 instructions;
    /// BENCHMARKS.md, "Cheaper `run()`").
    static SPARE: Cell<Option<Rc<Context>>> = const { Cell::new(None) };
}

/// Reports that a signal interrupted the run, if one did: main was cancelled for it.
fn report_interruption(ctx: &Context, signals: Option<&SignalGuard>) {
    let Some(signal) = signals.and_then(SignalGuard::received) else {
        return;
    };
    // A worker of a `Workers` says which one it is: every worker says it.
    let main = match worker() {
        Some(worker) => format!("worker {}'s main task", worker.index()),
        None => "the main task".to_owned(),
    };
    let message = format!(
        "{} received: {main} was cancelled and the run ends as interrupted",
        signals::name(signal)
    );
    ctx.report(&Report::new(ReportKind::Signal, message));
}

/// Why a context just made, or just taken from the spare, can be changed.
const ONLY_HERE: &str = "a context just made or taken from the spare is held only here";

/// This thread's spare context, if it has one (held by the caller only).
fn take_spare() -> Option<Rc<Context>> {
    let mut spare = SPARE.try_with(Cell::take).ok().flatten()?;
    Rc::get_mut(&mut spare)?;
    Some(spare)
}

/// Keeps `ctx`, whose run has ended and whose default loop has closed, as this thread's spare
/// context, if nothing else holds it.
fn keep_spare(mut ctx: Rc<Context>) {
    let Some(renewing) = Rc::get_mut(&mut ctx) else {
        return;
    };
    renewing.renew();
    // A spare already there (kept by a run closed inside this one) is dropped for this one.
    let _ = SPARE.try_with(|spare| spare.set(Some(ctx)));
}

impl Drop for Runner {
    fn drop(&mut self) {
        self.close();
    }
}

#[cfg(test)]
mod tests {
    use std::future::poll_fn;
    use std::rc::Rc;
    use std::sync::Arc;
    use std::task::Poll;

    use crate::context::this_thread;
    use crate::loops::DefaultLoop;
    use crate::{run, Config};

    /// What a run shows of its context: the context's and the mailbox's addresses, and the
    /// mailbox's id.
    fn context_seen() -> (usize, usize, u64) {
        let ctx = this_thread::current().expect("inside a run");
        let shared = Arc::as_ptr(&ctx.shared) as usize;
        (Rc::as_ptr(&ctx) as usize, shared, ctx.shared.id)
    }

    #[test]
    fn the_next_run_on_a_thread_reuses_the_context_and_mailbox_of_the_last_one_with_a_new_id() {
        let (first, first_mailbox, first_id) = run(async { context_seen() });
        let (second, second_mailbox, second_id) = run(async { context_seen() });
        assert_eq!(first, second);
        assert_eq!(first_mailbox, second_mailbox);
        assert_ne!(first_id, second_id, "a new loop has a new id");
    }

    #[test]
    fn a_mailbox_still_held_by_a_waker_of_an_ended_run_is_not_reused() {
        let (kept, (_, first_mailbox, _)) = run(async {
            let waker = poll_fn(|cx| Poll::Ready(cx.waker().clone())).await;
            (waker, context_seen())
        });
        let second_mailbox = run(async move {
            // Main's waker of the ended run reaches that run's closed mailbox, not this run.
            kept.wake_by_ref();
            let (_, mailbox, _) = context_seen();
            mailbox
        });
        assert_ne!(second_mailbox, first_mailbox);
    }

    #[test]
    fn a_run_on_a_loop_of_a_factory_leaves_the_spare_alone() {
        let (spare, _, _) = run(async { context_seen() });
        let (own, _, _) = Config::new()
            .loop_factory(DefaultLoop::new)
            .run(async { context_seen() });
        assert_ne!(
            own, spare,
            "the spare is not taken by a run with its own loop"
        );
        let (again, _, _) = run(async { context_seen() });
        assert_eq!(again, spare);
    }
}
