//! `run`, `is_debug` and `Config::run`/`try_run`: one whole run, from making the loop to closing
//! it, through a [`Runner`]. Layer 5 (the run): uses the rest of `run/`, `signals`, the context
//! and `task::spawn`'s size rule.

use std::future::{Future, IntoFuture};
use std::panic::{resume_unwind, Location};

use super::config::Config;
use super::error::{run_error_message, RunError};
use super::runner::Runner;
use crate::context::this_thread;
use crate::signals;
use crate::task::spawn::large;

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
    if const { large::<F::IntoFuture>() } {
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
    this_thread::current().is_some_and(|ctx| ctx.debug)
}

impl Config {
    /// Runs `future` to completion on a fresh loop, in asyncio's order: make the loop → run the
    /// future as the main task → when it returns or panics, the work that was already ready
    /// gets its turn (asyncio's `loop.stop()` runs the current batch: a task that main spawned
    /// just before returning runs up to its first pending `.await`) → cancel every task still
    /// alive (dropping each future inside the loop's context, reporting panics raised
    /// meanwhile) → wait for `to_thread` work → close the loop → report the task panics that
    /// handles still hold → return the output, or resume main's panic.
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
        let ended = if const { large::<F::IntoFuture>() } {
            self.run_to_end(Box::pin(future), caller)
        } else {
            self.run_to_end(future, caller)
        };
        match ended {
            (Ok(output), _) => output,
            (Err(error), signal) => run_failed(error, signal),
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
        if const { large::<F::IntoFuture>() } {
            return self.run_to_end(Box::pin(future), caller).0;
        }
        self.run_to_end(future, caller).0
    }

    /// One whole run, with signals handled until the loop has closed; also gives the signal that
    /// interrupted it, if one did.
    pub(super) fn run_to_end<F: Future>(
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

/// How [`Config::run`] ends without the output: the process exits as the signal that interrupted
/// the run asks, or the caller panics with the error's message. Outside `run`'s generic body, so
/// compiled once, here, not in every program.
#[track_caller]
fn run_failed(error: RunError, signal: Option<i32>) -> ! {
    match (error, signal) {
        (RunError::Interrupted, Some(signal)) => std::process::exit(signals::exit_code(signal)),
        (error, _) => panic!("{}", run_error_message(error)),
    }
}
