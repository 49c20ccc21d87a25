//! Debug mode: what the loop measures and reports only when `Config::debug` is on.
//!
//! - Slow polls: [`poll_timed`] times one poll of a task (spawned, main, a group's child) and
//!   reports it when it held the loop longer than the slow-poll threshold. Every poll goes
//!   through [`poll_as_task`], which outside debug mode branches once on `Context::debug` and
//!   calls `Context::as_task` directly, so it reads no clock.
//! - Cancellations: [`report_cancelled`] says which tasks the end of a run cancelled, which ones
//!   outlived the shutdown grace, and which were cancelled before they ever ran.
//! - Spawn backtraces: captured at spawn (see `Header::new`) and carried by
//!   every report about the task ([`Report::spawn_backtrace`](crate::Report::spawn_backtrace)).
//!
//! Layer 4 (beside tasks): uses the context and the record.

use std::cell::Cell;
use std::time::{Duration, Instant};

use crate::context::core::Context;
use crate::record::header::{Header, COOPERATIVE, POLLED};
use crate::record::report::{Report, ReportKind};

thread_local! {
    /// The time the polls nested in the current timed poll took (a task group's children,
    /// polled inside the poll of the task running the group): timed and reported on their own,
    /// so not counted again in the poll around them.
    static NESTED: Cell<Duration> = const { Cell::new(Duration::ZERO) };
}

/// Runs `poll` as the task `header` (`Context::as_task`), timed by [`poll_timed`] in debug mode:
/// what every poll of a task (spawned, main, a group's child) goes through. Outside debug mode
/// its only cost is this branch.
pub(crate) fn poll_as_task<R>(ctx: &Context, header: &Header, poll: impl FnOnce() -> R) -> R {
    if ctx.debug {
        poll_timed(ctx, header, poll)
    } else {
        ctx.as_task(header, poll)
    }
}

/// Debug mode's version of `Context::as_task`: runs `poll` as the task `header`, and reports a
/// slow poll if it took longer than the loop's threshold (wall-clock time, whatever the loop's
/// clock: a virtual clock stands still while the loop is held), not counting the polls of task
/// group children nested in it, which are timed and reported on their own.
pub(crate) fn poll_timed<R>(ctx: &Context, header: &Header, poll: impl FnOnce() -> R) -> R {
    // Only the call of `poll` is generic: the timing and its report are compiled once, in this
    // crate, instead of in every crate that polls a future of its own.
    let timing = PollTiming::start();
    let result = ctx.as_task(header, poll);
    timing.stop(ctx, header);
    result
}

/// The timing of one poll in debug mode: when it started, and the time the polls nested in the
/// poll around it took so far.
struct PollTiming {
    outer_nested: Duration,
    started: Instant,
}

impl PollTiming {
    fn start() -> Self {
        PollTiming {
            outer_nested: NESTED.replace(Duration::ZERO),
            started: Instant::now(),
        }
    }

    /// The poll of `header`'s task is over: reports it if it was slow.
    fn stop(self, ctx: &Context, header: &Header) {
        let total = self.started.elapsed();
        let elapsed = total.saturating_sub(NESTED.replace(self.outer_nested + total));
        if elapsed > ctx.slow_poll_threshold {
            let message = format!(
                "one poll held the loop longer than the slow-poll threshold ({:?}); \
                 blocking work belongs on a thread",
                ctx.slow_poll_threshold
            );
            let report = Report::for_task(ReportKind::SlowPoll, &header.task_ref(), message);
            ctx.report(&report.with_elapsed(elapsed));
        }
    }
}

/// Reports, in debug mode, why a task's future was just dropped by cancellation.
pub(crate) fn report_cancelled(ctx: &Context, header: &Header) {
    let (kind, message) = if ctx.is_closing() {
        let message = if ctx.is_forcing() && header.has(COOPERATIVE) {
            "dropped because it was still finishing when the shutdown grace ran out"
        } else if header.has(POLLED) {
            "cancelled because the run ended while it was still running"
        } else {
            "cancelled because the run ended before it was ever polled"
        };
        (ReportKind::CancelledAtShutdown, message)
    } else if !header.has(POLLED) {
        (
            ReportKind::NeverPolled,
            "cancelled by Task::cancel before it was ever polled: none of its code ran",
        )
    } else {
        // An ordinary cancellation of a task that ran: nothing to point out.
        return;
    };
    ctx.report(&Report::for_task(
        kind,
        &header.task_ref(),
        message.to_owned(),
    ));
}
