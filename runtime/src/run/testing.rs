//! What `#[corun::test]` runs: a run that fails the test when something failed anywhere in it,
//! not only in the test's own future (pytest's unraisable-exception check; tokio's unstable
//! `unhandled_panic = "shutdown_runtime"`).
//!
//! Layer 5 (the run): uses `run::config`, `run::workers` and the record's reports. Only the
//! attribute's expansion reaches it, through the facade's `__private::run_test` and
//! `__private::run_workers_test`.

use std::cell::RefCell;
use std::fmt::Write;
use std::future::{Future, IntoFuture};
use std::rc::Rc;
use std::sync::{Arc, Mutex, PoisonError};

use super::config::Config;
use super::workers::{Worker, Workers};
use crate::record::report::{Report, ReportKind};

/// Runs `future` as [`Config::run`] does, then fails (panics) if the run reported an
/// unretrieved task panic or a panic while cancelling, listing those reports. They still reach
/// the configured exception handler (by default, stderr) as they happen.
///
/// # Panics
///
/// With the main future's own panic, as [`Config::run`]; else, after the run, when a report of
/// those kinds was made during it.
///
/// # Examples
///
/// ```
/// use corun_runtime::{Config, __private::run_test};
///
/// assert_eq!(run_test(Config::new(), async { 1 + 1 }), 2);
///
/// let failed = std::panic::catch_unwind(|| {
///     run_test(Config::new().exception_handler(|_| {}), async {
///         drop(corun_runtime::spawn(async { panic!("lost") }));
///         corun_runtime::yield_now().await;
///     })
/// });
/// assert!(failed.is_err());
/// ```
#[track_caller]
pub fn run_test<F: IntoFuture>(config: Config, future: F) -> F::Output {
    let failures = Rc::new(RefCell::new(Vec::new()));
    let sink = failures.clone();
    let config = config.observe_reports(move |report| {
        if fails_a_test(report) {
            sink.borrow_mut().push(report.to_string());
        }
    });
    let output = config.run(future);
    let failures = failures.take();
    if !failures.is_empty() {
        panic!("{}", failure_message(&failures));
    }
    output
}

/// [`run_test`] for `#[corun::test(workers = N)]`: runs `main` on `workers` as
/// [`Workers::run`] does, then fails if any worker's run reported an unretrieved task panic or a
/// panic while cancelling, listing those reports, each with its worker.
///
/// # Panics
///
/// With a worker's panic, as [`Workers::run`]; else, after every worker's run, when a report of
/// those kinds was made during one.
///
/// # Examples
///
/// ```
/// use corun_runtime::{Workers, __private::run_workers_test};
///
/// assert_eq!(run_workers_test(Workers::new(2), |w| async move { w.index() }), [0, 1]);
///
/// let failed = std::panic::catch_unwind(|| {
///     let quiet = || corun_runtime::Config::new().exception_handler(|_| {});
///     let workers = Workers::new(2).config(quiet);
///     run_workers_test(workers, |_| async {
///         drop(corun_runtime::spawn(async { panic!("lost") }));
///         corun_runtime::yield_now().await;
///     })
/// });
/// assert!(failed.is_err());
/// ```
#[track_caller]
pub fn run_workers_test<F, Fut>(workers: Workers, main: F) -> Vec<Fut::Output>
where
    F: Fn(Worker) -> Fut + Send + Sync + 'static,
    Fut: Future + 'static,
    Fut::Output: Send + 'static,
{
    let failures = Arc::new(Mutex::new(Vec::new()));
    let sink = failures.clone();
    let workers = workers.observe_reports(move |index, report| {
        if fails_a_test(report) {
            let mut sink = sink.lock().unwrap_or_else(PoisonError::into_inner);
            sink.push(format!("worker {index}: {report}"));
        }
    });
    let outputs = workers.run(main);
    let failures = std::mem::take(&mut *failures.lock().unwrap_or_else(PoisonError::into_inner));
    if !failures.is_empty() {
        panic!("{}", failure_message(&failures));
    }
    outputs
}

/// Whether `report` says that something failed: a task panic nobody retrieved, or a panic
/// while a task was being cancelled.
fn fails_a_test(report: &Report) -> bool {
    matches!(
        report.kind(),
        ReportKind::UnretrievedPanic | ReportKind::PanicWhileCancelling
    )
}

/// The test's failure: each report on a line of its own, and what to do about it.
fn failure_message(failures: &[String]) -> String {
    // Written line by line rather than with `[String]::join`, whose generic code is about 1,000
    // of this crate's LLVM IR lines (1.5 %), for this one message.
    let mut message = format!(
        "the test's run reported {} failure(s) outside the test's own future:\n",
        failures.len()
    );
    for line in failures {
        let _ = writeln!(message, "  {line}");
    }
    message.push_str(
        "retrieve a task's panic by awaiting or joining its Task, or catch it inside the task; a \
         test passes only if nothing went wrong anywhere in it",
    );
    message
}
