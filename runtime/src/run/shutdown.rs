//! The end of a run: cancel every task, sweeping until none remains, drop the loop's foreign
//! tasks and sweep again, wait for thread work, then close the loop. Layer 5 (the run): uses the
//! context, the record's reports, `to_thread` and `run::config`.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::task::{Wake, Waker};

use super::config::Settings;
use crate::context::core::Context;
use crate::context::turn::BUDGET;
use crate::record::report::{Report, ReportKind};
use crate::to_thread;

/// Sets a flag when the shutdown grace runs out.
struct GraceWaker {
    expired: AtomicBool,
}

impl Wake for GraceWaker {
    fn wake(self: Arc<Self>) {
        self.expired.store(true, Ordering::Release);
    }
}

/// The end of a run: cancel every task, sweeping until none remains; drop the loop's foreign
/// tasks (a tokio runtime's) and sweep again for what their destructors spawned; wait for
/// thread work; close the loop.
pub(super) fn shutdown(ctx: &Context, settings: &Settings) {
    ctx.start_closing();
    sweep(ctx, settings);
    let dropped = ctx.event_loop.shutdown_foreign(settings.shutdown_timeout);
    if ctx.debug && dropped > 0 {
        let message = format!(
            "{dropped} task(s) of the loop's own runtime were dropped at shutdown, after every \
             corun task was cancelled"
        );
        ctx.report(&Report::new(ReportKind::CancelledAtShutdown, message));
    }
    // What those tasks spawned while being dropped is cancelled too.
    sweep(ctx, settings);
    to_thread::wait_at_shutdown(ctx, settings.shutdown_timeout);
    ctx.close_remote();
    // Work that arrived while the remote queue closed is run now, and so cancelled.
    while ctx.has_ready() {
        ctx.run_ready(&mut BUDGET.clone());
    }
    ctx.event_loop.close();
}

/// Runs turns until no task is alive and nothing is queued: each task still alive is dropped at
/// its next turn, except cooperative ones, which get the shutdown grace.
fn sweep(ctx: &Context, settings: &Settings) {
    let grace = Arc::new(GraceWaker {
        expired: AtomicBool::new(false),
    });
    // Armed only when some task outlives the first sweeps (a cooperative one, finishing its
    // cleanup): most runs end without a timer.
    let mut grace_timer = None;
    ctx.event_loop.drive(&mut || {
        if grace.expired.load(Ordering::Acquire) && !ctx.is_forcing() {
            ctx.start_forcing();
        }
        ctx.run_ready(&mut BUDGET.clone());
        if !ctx.has_ready() && ctx.live_tasks() == 0 && !ctx.shared.has_remote() {
            return None;
        }
        if !ctx.has_ready() && grace_timer.is_none() {
            let deadline = ctx.deadline_after(settings.shutdown_grace);
            grace_timer = Some(
                ctx.event_loop
                    .add_timer(deadline, Waker::from(grace.clone())),
            );
        }
        Some(ctx.park_mode())
    });
    if let Some(timer) = grace_timer {
        ctx.event_loop.remove_timer(timer);
    }
}
