//! Driving a run's main task: [`drive_main`] alternates the context's turn
//! (`Context::run_ready`) with polls of main whenever main's turn comes, and parks the loop as
//! the context says (`Context::park_mode`). Layer 5 (the run): uses the context, the record,
//! `cancel`, `debug`, `signals` and `run::error`.

use std::any::Any;
use std::cell::Cell;
use std::future::Future;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::pin::{pin, Pin};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::task::{Context as PollContext, Poll, Wake, Waker};

use super::error::RunError;
use crate::cancel;
use crate::context::core::Context;
use crate::context::this_thread;
use crate::context::turn::BUDGET;
use crate::debug;
use crate::event_loop::EventLoop;
use crate::record::header::{Header, Remote, Shared, COOPERATIVE};
use crate::record::report::{Report, ReportKind};
use crate::signals::{self, SignalGuard};

/// What a run's main task ends with: its output or its panic, or why it gave none.
type MainOutcome<T> = Result<std::thread::Result<T>, RunError>;

/// Main's waker: it queues main's turn in the ready queue, so main is woken, queued and polled
/// in FIFO order with every other task, from this thread or any other. Main is not a spawned
/// task (the driver polls it, as a local of its own frame), so its waker is this small one; a
/// spawned task's allocation standing in for main would compile a second copy of the task
/// machinery, for main's future, into every program.
struct MainWaker {
    /// The loop of the main task this wakes; `None` while this is the thread's spare.
    shared: Option<Arc<Shared>>,
    /// Main's turn is queued and has not come yet: further wakes add nothing.
    queued: AtomicBool,
}

thread_local! {
    /// The waker of this thread's last main task, once nothing else held it: the next run on
    /// the thread reuses it instead of allocating one (BENCHMARKS.md, "Cheaper `run()`").
    static SPARE_WAKER: Cell<Option<Arc<MainWaker>>> = const { Cell::new(None) };
}

impl MainWaker {
    /// A waker for the main task of the loop behind `shared`, and the state behind it: the
    /// thread's spare if it has one.
    fn new(shared: Arc<Shared>) -> (Arc<MainWaker>, Waker) {
        let fresh = MainWaker {
            shared: Some(shared),
            queued: AtomicBool::new(false),
        };
        let state = match SPARE_WAKER.try_with(Cell::take).ok().flatten() {
            Some(mut spare) => match Arc::get_mut(&mut spare) {
                Some(unique) => {
                    *unique = fresh;
                    spare
                }
                None => Arc::new(fresh),
            },
            None => Arc::new(fresh),
        };
        (state.clone(), Waker::from(state))
    }

    /// Keeps `state`, whose main task is no longer driven, as the thread's spare if nothing
    /// else holds it (no clone of its waker is left); without its loop, so that the loop's
    /// mailbox is held by nothing of the ended run.
    fn keep_spare(mut state: Arc<MainWaker>) {
        let Some(unique) = Arc::get_mut(&mut state) else {
            return;
        };
        unique.shared = None;
        let _ = SPARE_WAKER.try_with(|spare| spare.set(Some(state)));
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
        let Some(shared) = &self.shared else {
            return;
        };
        if self.queued.swap(true, Ordering::AcqRel) {
            return;
        }
        let queued = this_thread::with_local(shared, |ctx| {
            if let Some(turn) = ctx.main_turn() {
                ctx.call_soon(turn);
            }
        });
        if queued.is_none() {
            // Another thread: the loop takes it in when it drains its remote queue. A closed
            // loop has no main left to wake.
            drop(shared.send(Remote::RunMain));
        }
    }
}

/// Ends driving main when `drive_main` returns (or unwinds).
struct MainDriven<'c>(&'c Context);

impl Drop for MainDriven<'_> {
    fn drop(&mut self) {
        self.0.set_main(None);
        self.0.set_main_control(None);
    }
}

/// Polls the main future whenever its turn comes, running the other ready work in between,
/// until it is done: the context's turn, main's turn when it comes, then the loop's park.
///
/// Main is cancelled as a task is: once its header has a cancellation request (set here when a
/// signal arrives, or when its `TaskRef` asked), it is woken; if it is listening on `cancelled()`
/// it becomes cooperative and may finish with its value, otherwise its future is dropped and the
/// run is [`RunError::Interrupted`] (a signal) or ends with a panic naming main (a `TaskRef`).
pub(super) fn drive_main<F: Future>(
    ctx: &Context,
    header: Header,
    future: F,
    signals: Option<&SignalGuard>,
) -> MainOutcome<F::Output> {
    let (main_waker, waker) = MainWaker::new(ctx.shared.clone());
    let outcome = drive_with(ctx, header, future, signals, &main_waker, waker);
    MainWaker::keep_spare(main_waker);
    outcome
}

/// [`drive_main`] with main's waker made.
fn drive_with<F: Future>(
    ctx: &Context,
    header: Header,
    future: F,
    signals: Option<&SignalGuard>,
    main_waker: &MainWaker,
    waker: Waker,
) -> MainOutcome<F::Output> {
    ctx.set_main(Some(header.task_ref()));
    // `TaskRef::cancel` on main wakes main's turn through this waker.
    ctx.set_main_control(Some((header.id(), waker.clone())));
    let _driven = MainDriven(ctx);
    let mut main = Main {
        ctx,
        header: &header,
        future: pin!(Some(future)),
        waker,
        cancel_seen: false,
        by_signal: false,
    };
    main.waker.wake_by_ref();
    let mut outcome = None;
    // The loop owns the drive (`EventLoop::drive`): each call runs one turn, polling main
    // whenever its turn comes while the budget lasts, then says how the loop may park, or stops
    // once main is done.
    ctx.event_loop.drive(&mut || {
        if outcome.is_some() {
            return None;
        }
        let mut budget = BUDGET;
        loop {
            main.take_signal(signals);
            if !ctx.run_ready(&mut budget) {
                break;
            }
            main_waker.turn_came();
            if let Some(done) = main.turn() {
                outcome = Some(done);
                return None;
            }
            budget = budget.saturating_sub(1);
            if budget == 0 {
                break;
            }
        }
        Some(ctx.park_mode())
    });
    outcome.expect("EventLoop::drive must call its turn until the turn returns None")
}

/// The main task while it is driven: its header, its future (a local of `drive_main`'s frame)
/// and its waker.
struct Main<'a, F> {
    ctx: &'a Context,
    header: &'a Header,
    future: Pin<&'a mut Option<F>>,
    waker: Waker,
    /// A cancellation request was seen and main woken for it.
    cancel_seen: bool,
    /// A signal asked main to cancel (else only a `TaskRef` did): the run is then interrupted.
    by_signal: bool,
}

impl<F: Future> Main<'_, F> {
    /// Turns a signal received since the last look, or a request through main's `TaskRef`,
    /// into a cancellation of main.
    fn take_signal(&mut self, signals: Option<&SignalGuard>) {
        if self.ctx.main_cancel_requested() && !self.header.cancel_requested() {
            cancel::request_cancel(self.header);
        }
        if let Some(signal) = signals.and_then(SignalGuard::take_new) {
            self.by_signal = true;
            if self.ctx.debug {
                report_signal(self.ctx, self.header, signal);
            }
            cancel::request_cancel(self.header);
        }
        if !self.cancel_seen && self.header.cancel_requested() {
            self.cancel_seen = true;
            self.waker.wake_by_ref();
        }
    }

    /// Main's turn came: cancel it or poll it. `Some` once it is done.
    fn turn(&mut self) -> Option<MainOutcome<F::Output>> {
        let (ctx, main) = (self.ctx, self.header);
        if self.cancel_seen && !main.has(COOPERATIVE) {
            if ctx.is_listening(main.id()) {
                main.set(COOPERATIVE);
            } else {
                let future = &mut self.future;
                let dropped =
                    ctx.as_task(main, || catch_unwind(AssertUnwindSafe(|| future.set(None))));
                if let Err(payload) = dropped {
                    ctx.report_panic(ReportKind::PanicWhileCancelling, main, &*payload);
                }
                if self.by_signal {
                    return Some(Err(RunError::Interrupted));
                }
                // Cancelled through a `TaskRef`: no value, as a cancelled task's `await`.
                return Some(Ok(Err(cancelled_by_task_ref(main))));
            }
        }
        let mut cx = PollContext::from_waker(&self.waker);
        let future = &mut self.future;
        let poll = || {
            catch_unwind(AssertUnwindSafe(|| {
                let future = future.as_mut().as_pin_mut();
                future
                    .expect("main is not polled after it finished")
                    .poll(&mut cx)
            }))
        };
        let polled = debug::poll_as_task(ctx, main, poll);
        match polled {
            Ok(Poll::Pending) => None,
            Ok(Poll::Ready(output)) => Some(Ok(Ok(output))),
            Err(panic) => Some(Ok(Err(panic))),
        }
    }
}

// Main's reports and messages, outside `Main`'s generic methods: compiled once, in this crate,
// not in every program.

/// Reports, in debug mode, that `signal` cancels main.
fn report_signal(ctx: &Context, main: &Header, signal: i32) {
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

/// The panic a run resumes when its main task was cancelled through its `TaskRef`.
fn cancelled_by_task_ref(main: &Header) -> Box<dyn Any + Send> {
    Box::new(format!(
        "the main task '{}' was cancelled (TaskRef::cancel), so the run has no value to return; \
         to finish with a value, listen on corun::cancelled() in main",
        main.name()
    ))
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::Ordering;
    use std::sync::Arc;
    use std::task::Waker;

    use super::MainWaker;
    use crate::record::header::Shared;

    fn mailbox() -> Arc<Shared> {
        Arc::new(Shared::new(Waker::noop().clone()))
    }

    #[test]
    fn the_next_main_on_a_thread_reuses_the_last_ones_waker_as_new_without_its_loop() {
        let first_loop = mailbox();
        let (state, waker) = MainWaker::new(first_loop.clone());
        state.queued.store(true, Ordering::Release);
        let first = Arc::as_ptr(&state);
        drop(waker);
        MainWaker::keep_spare(state);
        assert_eq!(Arc::strong_count(&first_loop), 1, "the spare holds no loop");

        let next_loop = mailbox();
        let (state, _waker) = MainWaker::new(next_loop.clone());
        assert_eq!(Arc::as_ptr(&state), first);
        assert!(!state.queued.load(Ordering::Acquire));
        assert!(Arc::ptr_eq(state.shared.as_ref().unwrap(), &next_loop));
    }

    #[test]
    fn a_main_waker_still_cloned_somewhere_is_not_reused() {
        let (state, waker) = MainWaker::new(mailbox());
        let kept = waker.clone();
        drop(waker);
        let first = Arc::as_ptr(&state);
        MainWaker::keep_spare(state);
        let (state, _waker) = MainWaker::new(mailbox());
        assert_ne!(Arc::as_ptr(&state), first);
        drop(kept);
    }
}
