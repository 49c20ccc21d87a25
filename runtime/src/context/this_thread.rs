//! How code finds the loop running on its thread: the thread-local slot holding its [`Context`],
//! and the two paths that choose between the loop's own thread and its mailbox (a task's
//! wake, a report). Layer 3 (the context): uses `context::core`, the loop layer, the record and
//! the reports.

use std::cell::{Cell, RefCell};
use std::mem::ManuallyDrop;
use std::ptr;
use std::rc::Rc;
use std::sync::Arc;

use super::core::Context;
use crate::event_loop::Runnable;
use crate::record::header::{RawRunnable, Remote, Shared};
use crate::record::report::Report;
use crate::report_sink;

thread_local! {
    /// The context of the loop running on this thread, if any.
    ///
    /// `ManuallyDrop` gives the slot no destructor, so it is never torn down at thread exit and
    /// stays usable from other thread-locals' destructors (a `Runner` kept in a thread-local is
    /// closed from one). Nothing is lost by not dropping it: the slot holds a context only
    /// while a run (or a close) is under way on the thread, and `EnterGuard` empties it after.
    static CONTEXT: ManuallyDrop<RefCell<Option<Rc<Context>>>> =
        const { ManuallyDrop::new(RefCell::new(None)) };

    /// The mailbox of the loop in `CONTEXT` (null when none), only ever compared: whether a task
    /// belongs to the loop on this thread, asked at every wake, is one load and compare (a yield
    /// 259 -> N instructions) instead of a borrow and a reference count.
    static LOOP: Cell<*const Shared> = const { Cell::new(ptr::null()) };
}

/// The context of the loop running on this thread.
#[inline]
pub(crate) fn current() -> Option<Rc<Context>> {
    CONTEXT
        .try_with(|slot| slot.borrow().clone())
        .ok()
        .flatten()
}

/// Calls `f` with the context of the loop running on this thread, borrowed rather than cloned
/// (for the hot paths; `f` must not enter or leave a run).
#[inline]
pub(crate) fn with_current<R>(f: impl FnOnce(&Context) -> R) -> Option<R> {
    CONTEXT
        .try_with(|slot| slot.borrow().as_deref().map(f))
        .ok()
        .flatten()
}

/// Whether a loop is running on this thread.
pub(crate) fn is_running() -> bool {
    CONTEXT
        .try_with(|slot| slot.borrow().is_some())
        .unwrap_or(false)
}

/// Installs `ctx` as this thread's running loop until the guard drops, restoring whatever was
/// there before (a `Runner` closed from inside another run lends its context this way).
pub(crate) fn enter(ctx: Rc<Context>) -> EnterGuard {
    LOOP.with(|current| current.set(Arc::as_ptr(&ctx.shared)));
    let previous = CONTEXT.with(|slot| slot.borrow_mut().replace(ctx));
    EnterGuard { previous }
}

pub(crate) struct EnterGuard {
    previous: Option<Rc<Context>>,
}

impl Drop for EnterGuard {
    fn drop(&mut self) {
        let previous = self.previous.take();
        let previous_loop = previous
            .as_ref()
            .map_or(ptr::null(), |ctx| Arc::as_ptr(&ctx.shared));
        _ = LOOP.try_with(|current| current.set(previous_loop));
        // The replaced context is dropped after the slot's borrow ends: dropping it can run
        // arbitrary code, which may look at the slot.
        let ours = CONTEXT.try_with(|slot| std::mem::replace(&mut *slot.borrow_mut(), previous));
        drop(ours);
    }
}

/// Whether the loop behind `shared` is the one running on this thread.
#[inline]
pub(crate) fn runs_here(shared: &Arc<Shared>) -> bool {
    LOOP.try_with(|current| ptr::eq(current.get(), Arc::as_ptr(shared)))
        .unwrap_or(false)
}

/// Queues a runnable on its loop directly when that loop is running on this thread. Borrows the
/// context rather than cloning its `Rc`: this is on every wake's path.
pub(crate) fn call_soon_local(runnable: RawRunnable) -> Result<(), RawRunnable> {
    let mut runnable = Some(runnable);
    // A thread-local being torn down has no loop: the runnable stays in `runnable`.
    _ = CONTEXT.try_with(|slot| match &*slot.borrow() {
        Some(ctx)
            if runnable
                .as_ref()
                .is_some_and(|r| Arc::ptr_eq(&ctx.shared, &r.header().shared)) =>
        {
            let runnable = runnable.take().expect("checked just above");
            ctx.call_soon(Runnable::new(runnable));
        }
        _ => {}
    });
    runnable.map_or(Ok(()), Err)
}

/// Delivers a report raised anywhere to the loop behind `shared`: at once if that loop runs on
/// this thread, through its remote queue otherwise, and to stderr if it has closed.
pub(crate) fn deliver(shared: &Arc<Shared>, report: Report) {
    if let Some(ctx) = current() {
        if Arc::ptr_eq(&ctx.shared, shared) {
            ctx.report(&report);
            return;
        }
    }
    if let Err(Remote::Report(report)) = shared.send(Remote::Report(report)) {
        report_sink::default_handler(&report);
    }
}
