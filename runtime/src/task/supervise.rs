//! The body the loop actually runs for a task: the user's future wrapped so that every poll
//! knows its task, panics are caught, and cancellation drops the future between polls. Layer 4
//! (tasks): uses the context, the record and `debug`.

use std::any::Any;
use std::future::Future;
use std::mem::ManuallyDrop;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::task::{Context as PollContext, Poll};

use crate::context::core::Context;
use crate::context::this_thread;
use crate::debug;
use crate::record::header::{Header, Shared, FINISHED, POLLED};
use crate::record::raw_task::{Body, TaskPtr};
use crate::record::report::{panic_message, Report, ReportKind};
use crate::record::task_ref::TaskRef;

/// How a task ended, as its handle receives it: its output, or why it has none.
///
/// The failure is behind one pointer: the outcome shares its place in the task's allocation with
/// the future, so for a small output it must be no larger than one word for an idle task to cost
/// no more than it has to. Failures
/// are the rare path; the allocation they cost is made only when a task panics or is cancelled.
pub(crate) type Outcome<T> = Result<T, Box<Failure>>;

/// Why a task has no output.
pub(crate) enum Failure {
    Panicked(Unretrieved),
    Cancelled,
}

/// A task's panic on its way to the task's handle. If it is dropped before the handle takes it
/// (the handle was dropped, or never awaited), the panic is reported: none is lost silently.
/// If neither happens by the time the loop closes (the handle was leaked, or outlives the run),
/// the loop reports it then, through the run's exception handler (see `Context::keep_panic`).
pub(crate) struct Unretrieved {
    payload: Option<Box<dyn Any + Send>>,
    task: TaskRef,
    shared: Arc<Shared>,
    /// Set by whoever settles the panic first: the handle taking it, this value's drop reporting
    /// it, or the loop reporting it as it closes. Shared with the loop.
    settled: Arc<AtomicBool>,
}

impl Unretrieved {
    /// Wraps the panic of the task `header`, and has its loop keep an eye on it.
    fn new(ctx: &Context, header: &Header, payload: Box<dyn Any + Send>) -> Self {
        let task = header.task_ref();
        let settled = Arc::new(AtomicBool::new(false));
        let message = format!(
            "Task exception was never retrieved: {} (a handle to the task still held the panic \
             when the loop closed)",
            panic_message(&*payload)
        );
        let report = Report::for_task(ReportKind::UnretrievedPanic, &task, message);
        ctx.keep_panic(settled.clone(), report);
        Unretrieved {
            payload: Some(payload),
            task,
            shared: header.shared.clone(),
            settled,
        }
    }

    pub(crate) fn take(&mut self) -> Box<dyn Any + Send> {
        self.settled.store(true, Ordering::Release);
        self.payload
            .take()
            .expect("a task's panic is retrieved once")
    }
}

impl Drop for Unretrieved {
    fn drop(&mut self) {
        let Some(payload) = self.payload.take() else {
            return;
        };
        if !self.settled.swap(true, Ordering::AcqRel) {
            let report = Report::for_task(
                ReportKind::UnretrievedPanic,
                &self.task,
                format!(
                    "Task exception was never retrieved: {}",
                    panic_message(&*payload)
                ),
            );
            this_thread::deliver(&self.shared, report);
        }
    }
}

/// The body of a task: the user's future, polled with the task's header at hand (`poll`),
/// and dropped between polls when the task is cancelled. A struct with a pinned field rather
/// than an `async fn` that pins the future in its own state: one layer per poll instead of an
/// async block around `poll_fn`, and no self-reference in the task's state.
///
/// The poll that ends the task drops the future in place, and returns `Ready`, after which the
/// task never drops the body (`Body`'s contract). So the body needs no tag saying whether the
/// future is still there, as an `Option` would keep: a word of every idle task's allocation,
/// which took it past a malloc size class (the peers' heap per idle task 90.6 -> 82.6 bytes, RSS
/// 120 -> 104, BENCHMARKS.md, round 6).
pub(crate) struct Supervise<F> {
    future: ManuallyDrop<F>,
}

/// Wraps `future` as the body of a task.
pub(crate) fn supervise<F: Future>(future: F) -> Supervise<F> {
    Supervise {
        future: ManuallyDrop::new(future),
    }
}

impl<F> Supervise<F> {
    fn future(self: Pin<&mut Self>) -> Pin<&mut F> {
        // SAFETY: structural pinning of the future: nothing moves it out of the body, which is
        // itself pinned (in the task's allocation) until the future is dropped in place.
        unsafe { self.map_unchecked_mut(|body| &mut *body.future) }
    }

    /// Drops the future in place.
    ///
    /// # Safety
    ///
    /// Called at most once, by the poll that then returns `Ready`: the future is never touched
    /// again, and the body, by `Body`'s contract, never dropped.
    unsafe fn drop_future(self: Pin<&mut Self>) {
        // SAFETY: dropping a pinned value in place is what pinning allows (its memory is reused
        // only after the drop); once, as the caller promises.
        unsafe { ManuallyDrop::drop(&mut self.get_unchecked_mut().future) }
    }
}

impl<F> Drop for Supervise<F> {
    /// The task drops a body only when its runnable is dropped unpolled (`Body::abandon`): no
    /// poll has returned `Ready`, so none dropped the future.
    fn drop(&mut self) {
        // SAFETY: as just said, `drop_future` has not run; this is the body's last use.
        unsafe { ManuallyDrop::drop(&mut self.future) }
    }
}

impl<F: Future + 'static> Body<Header> for Supervise<F> {
    type Output = Outcome<F::Output>;

    /// Polls the user's future as task `header`: lent to the loop context as the current task
    /// for the poll; its `slot` is the task's key in the loop's registry of live tasks, from the
    /// end of the first poll that left it pending until the end.
    fn poll(
        self: Pin<&mut Self>,
        header: &Header,
        task: TaskPtr<Header>,
        cx: &mut PollContext<'_>,
    ) -> Poll<Self::Output> {
        this_thread::with_running(|ctx| poll_once(ctx, self, header, task, cx))
            .expect("tasks are only polled by their loop")
    }

    /// The loop dropped the task's runnable without running it (a loop closed without a
    /// shutdown, or a `Handle::spawn` on a closed loop): the task is forgotten as a finished
    /// one, then its future dropped.
    fn abandon(self: Pin<&mut Self>, header: &Header) {
        match this_thread::local(&header.shared) {
            Some(ctx) => finish(&ctx, header),
            // Not on its loop's thread: that loop has closed, and holds nothing of it.
            None => {
                header.set(FINISHED);
                header.unregister();
            }
        }
    }
}

/// One poll of task `header`'s future on the loop `ctx`: cancelled instead if it must be, else
/// run as the task, its panic caught; the future is dropped as soon as it is done.
fn poll_once<F: Future>(
    ctx: &Context,
    mut body: Pin<&mut Supervise<F>>,
    header: &Header,
    task: TaskPtr<Header>,
    cx: &mut PollContext<'_>,
) -> Poll<Outcome<F::Output>> {
    if ctx.cancel_before_poll(header) {
        // SAFETY: this poll returns `Ready` below.
        let drop_future = || unsafe { body.drop_future() };
        let dropped = ctx.as_task(header, || catch_unwind(AssertUnwindSafe(drop_future)));
        if ctx.debug {
            debug::report_cancelled(ctx, header);
        }
        if let Err(payload) = dropped {
            ctx.report_panic(ReportKind::PanicWhileCancelling, header, &*payload);
        }
        finish(ctx, header);
        return Poll::Ready(Err(Box::new(Failure::Cancelled)));
    }

    // A future that finished (or panicked) is dropped in the same turn as the task, still
    // inside the loop's context: its own fields' destructors run as the task (one
    // `as_task` instead of two a finished task).
    let poll = || {
        let polled = catch_unwind(AssertUnwindSafe(|| body.as_mut().future().poll(cx)));
        let dropped = match polled {
            Ok(Poll::Pending) => Ok(()),
            // SAFETY: the poll returns `Ready` below, with the output or the panic.
            _ => catch_unwind(AssertUnwindSafe(|| unsafe { body.as_mut().drop_future() })),
        };
        (polled, dropped)
    };
    let (polled, dropped) = debug::poll_as_task(ctx, header, poll);
    let outcome = match polled {
        Ok(Poll::Pending) => {
            // Set once: later polls only read it.
            if !header.has(POLLED) {
                header.set(POLLED);
            }
            // Registered once a poll leaves it pending: a task done in its first poll never
            // touches the registry (an entry, a fence: spawn + join 889 -> 803 instructions a
            // task). Its body is alive until `finish` or `abandon` deregisters it.
            if header.slot().is_none() {
                ctx.register_task(header, task);
            }
            return Poll::Pending;
        }
        Ok(Poll::Ready(output)) => Ok(output),
        Err(payload) => Err(Box::new(Failure::Panicked(Unretrieved::new(
            ctx, header, payload,
        )))),
    };
    if let Err(payload) = dropped {
        ctx.report_panic(ReportKind::PanicWhileCancelling, header, &*payload);
    }
    finish(ctx, header);
    Poll::Ready(outcome)
}

/// Marks task `header` finished and forgets it.
fn finish(ctx: &Context, header: &Header) {
    header.set(POLLED | FINISHED);
    ctx.forget_listeners(header.id());
    ctx.forget_control(header);
    if let Some(slot) = header.unregister() {
        ctx.deregister_task(slot);
    }
}

#[cfg(test)]
mod tests {
    use std::mem::size_of;

    use super::{supervise, Outcome};

    /// The outcome of a task without output takes no more room than a small future.
    #[test]
    fn outcome_of_a_unit_task_fits_in_a_word() {
        assert_eq!(size_of::<Outcome<()>>(), size_of::<usize>());
    }

    /// A task's body is its future and nothing more: no tag for a dropped future, which would
    /// take an idle task's allocation past a malloc size class.
    #[test]
    fn a_body_is_no_larger_than_its_future() {
        // A word captured, and a state: `Option` of it (the tag this replaced) took a third word.
        let word = 7_usize;
        let future = async move { std::hint::black_box(word) };
        let size = size_of_val(&future);
        assert_eq!(
            size_of_val(&Some(async move { word })),
            size + size_of::<usize>()
        );
        assert_eq!(size_of_val(&supervise(future)), size);
    }
}
