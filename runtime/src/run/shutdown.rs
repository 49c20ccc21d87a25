//! The end of a run: cancel every task, sweeping until none remains, drop the loop's foreign
//! tasks (a tokio runtime's) and sweep again for what their destructors spawned, wait for thread
//! work, report the task panics that handles still hold, then close the loop; and how a signal
//! cuts that short ([`Interruption`]). Layer 5 (the run): uses the context, `to_thread`, the record,
//! `signals` and `run::config`.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::task::{Wake, Waker};
use std::time::Duration;

use super::config::Settings;
use crate::context::core::Context;
use crate::context::turn::BUDGET;
use crate::event_loop::{EventLoop, TimerId};
use crate::record::report::{Report, ReportKind};
use crate::signals::{self, SignalGuard};
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

/// The end of a run: cancel every task, sweeping until none remains (driven by the loop, so that
/// cooperative tasks can still do IO); drop the loop's foreign tasks and sweep again for what
/// they spawned while being dropped; wait for thread work; then close the loop. Returns the
/// signal that interrupted it, if one did (see [`Interruption`]).
pub(super) fn shutdown(
    ctx: &Context,
    settings: &Settings,
    signals: Option<&SignalGuard>,
) -> Option<i32> {
    ctx.start_closing();
    let mut interruption = Interruption::new(signals);
    sweep(ctx, settings, &mut interruption);
    // A signal ends the waits at once, this one for the foreign runtime's threads too.
    let foreign_timeout = if interruption.check(ctx) {
        Duration::ZERO
    } else {
        settings.shutdown_timeout
    };
    let dropped = ctx.event_loop.shutdown_foreign(foreign_timeout);
    if ctx.debug && dropped > 0 {
        let message = format!(
            "{dropped} task(s) of the loop's own runtime were dropped at shutdown, after every \
             corun task was cancelled"
        );
        ctx.report(&Report::new(ReportKind::CancelledAtShutdown, message));
    }
    // What those tasks spawned while being dropped is cancelled too.
    sweep(ctx, settings, &mut interruption);
    // The wait for thread work blocks on the pool, not in the loop's park: a signal wakes it
    // through the pool's interrupter.
    if let Some(interrupter) = ctx.threads.interrupter() {
        if interruption.check(ctx) {
            interrupter.wake();
        } else if let Some(signals) = signals {
            signals.also_wake(interrupter);
        }
    }
    let jobs_left = to_thread::wait_at_shutdown(ctx, settings.shutdown_timeout);
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

/// Runs turns until no task is alive and nothing is queued, or a signal stops the shutdown: each
/// task still alive is dropped at its next turn, except cooperative ones, which get the shutdown
/// grace.
fn sweep(ctx: &Context, settings: &Settings, interruption: &mut Interruption<'_>) {
    // Nothing alive, queued or sent: the sweep would be one empty turn. The runner's default
    // loop does not own the drive (nothing hears of the turn), so a run on it skips that turn;
    // a signal is looked for right after either way. Most runs end so, twice (~250
    // instructions of a `run()`; BENCHMARKS.md, "Cheaper `run()`").
    if settings.default_loop
        && !ctx.has_ready()
        && ctx.live_tasks() == 0
        && !ctx.shared.has_remote()
    {
        return;
    }
    // Armed only when some task outlives the first sweeps (a cooperative one, finishing its
    // cleanup): most runs end without a timer, and without allocating its waker.
    let mut grace: Option<(Arc<GraceWaker>, TimerId)> = None;
    ctx.event_loop.drive(&mut || {
        if interruption.check(ctx) {
            return None;
        }
        let expired = grace
            .as_ref()
            .is_some_and(|(waker, _)| waker.expired.load(Ordering::Acquire));
        if expired && !ctx.is_forcing() {
            ctx.start_forcing();
        }
        ctx.run_ready(&mut BUDGET.clone());
        if !ctx.has_ready() && ctx.live_tasks() == 0 && !ctx.shared.has_remote() {
            return None;
        }
        if !ctx.has_ready() && grace.is_none() {
            let deadline = ctx.deadline_after(settings.shutdown_grace);
            let waker = Arc::new(GraceWaker {
                expired: AtomicBool::new(false),
            });
            let timer = ctx
                .event_loop
                .add_timer(deadline, Waker::from(waker.clone()));
            grace = Some((waker, timer));
        }
        Some(ctx.park_mode())
    });
    if let Some((_, timer)) = grace {
        ctx.event_loop.remove_timer(timer);
    }
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
        ctx.run_current_batch();
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
