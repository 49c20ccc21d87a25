//! `RunError`: why a run could not happen, and the message `Config::run` panics with. Layer 5
//! (the run): uses the context.

use std::fmt;

use crate::context::this_thread;

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
    /// [`Runner::run`](crate::Runner::run) after [`Runner::close`](crate::Runner::close).
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

/// The message `Config::run` panics with for `error`. For a nested run it also says where the
/// running loop was started, which the unit variant [`RunError::NestedRun`] cannot carry.
pub(crate) fn run_error_message(error: RunError) -> String {
    let started_at = match error {
        RunError::NestedRun => this_thread::current().and_then(|ctx| ctx.started_at.get()),
        _ => None,
    };
    match started_at {
        Some(at) => format!("{error}; the running loop was started at {at}"),
        None => error.to_string(),
    }
}
