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

    /// The context in `CONTEXT` (null when none), for [`with_running`]: what every poll, spawn
    /// and wake looks up, reached with a load instead of a borrow of `CONTEXT` and a clone of its
    /// `Rc` (spawn + join 52.2 -> 43.1 ns, a yield 15.0 -> 12.5 ns; BENCHMARKS.md, round 6).
    static RUNNING: Cell<*const Context> = const { Cell::new(ptr::null()) };
}

/// The context of the loop running on this thread.
#[inline]
pub(crate) fn current() -> Option<Rc<Context>> {
    CONTEXT
        .try_with(|slot| slot.borrow().clone())
        .ok()
        .flatten()
}

/// Whether a loop is running on this thread.
pub(crate) fn is_running() -> bool {
    with_running(|_| ()).is_some()
}

/// Installs `ctx` as this thread's running loop until the guard drops, restoring whatever was
/// there before (a `Runner` closed from inside another run lends its context this way).
///
/// The guard must be dropped by the frame that made it, guards nesting as the frames do:
/// [`with_running`] relies on it.
pub(crate) fn enter(ctx: Rc<Context>) -> EnterGuard {
    RUNNING.with(|current| current.set(Rc::as_ptr(&ctx)));
    let previous = CONTEXT.with(|slot| slot.borrow_mut().replace(ctx));
    EnterGuard { previous }
}

pub(crate) struct EnterGuard {
    previous: Option<Rc<Context>>,
}

impl Drop for EnterGuard {
    fn drop(&mut self) {
        let previous = self.previous.take();
        let previous_context = previous.as_ref().map_or(ptr::null(), Rc::as_ptr);
        _ = RUNNING.try_with(|current| current.set(previous_context));
        // The replaced context is dropped after the slot's borrow ends: dropping it can run
        // arbitrary code, which may look at the slot.
        let ours = CONTEXT.try_with(|slot| std::mem::replace(&mut *slot.borrow_mut(), previous));
        drop(ours);
    }
}

/// Whether the loop behind `shared` is the one running on this thread: the question of every
/// path that chooses between the loop's own thread and its mailbox.
#[inline]
pub(crate) fn runs_here(shared: &Arc<Shared>) -> bool {
    with_running(|ctx| Arc::ptr_eq(&ctx.shared, shared)).unwrap_or(false)
}

/// The context of the loop behind `shared`, if that loop runs on this thread, for code that
/// keeps it while it runs other code (wakers, handlers).
pub(crate) fn local(shared: &Arc<Shared>) -> Option<Rc<Context>> {
    runs_here(shared).then(current).flatten()
}

/// Calls `f` with the context of the loop behind `shared`, borrowed rather than cloned, if that
/// loop runs on this thread: for the wake paths, whose `f` only queues work (it must not enter
/// or leave a run).
#[inline]
pub(crate) fn with_local<R>(shared: &Arc<Shared>, f: impl FnOnce(&Context) -> R) -> Option<R> {
    runs_here(shared).then(|| with_installed(f))
}

/// Queues a runnable on its loop directly when that loop is running on this thread.
pub(crate) fn call_soon_local(runnable: RawRunnable) -> Result<(), RawRunnable> {
    if !runs_here(&runnable.header().shared) {
        return Err(runnable);
    }
    call_soon_here(runnable);
    Ok(())
}

/// Queues a runnable on the loop running on this thread, which its caller knows is the
/// runnable's (a wake that asked `runs_here` already).
pub(crate) fn call_soon_here(runnable: RawRunnable) {
    debug_assert!(runs_here(&runnable.header().shared));
    with_installed(|ctx| ctx.call_soon(Runnable::new(runnable)));
}

/// Calls `f` with the installed context, borrowed: `runs_here` said there is one.
fn with_installed<R>(f: impl FnOnce(&Context) -> R) -> R {
    with_running(f).expect("a loop runs on this thread")
}

/// Calls `f` with the context of the loop running on this thread, borrowed, if one runs. `f`
/// may run any code, a task's poll included, even one that enters and leaves another run's
/// context (a `Runner` closed inside a task).
#[inline]
pub(crate) fn with_running<R>(f: impl FnOnce(&Context) -> R) -> Option<R> {
    let ctx = RUNNING.try_with(Cell::get).ok()?;
    // SAFETY: `RUNNING` points to the context in `CONTEXT` (set together by `enter` and put back
    // together by `EnterGuard`), or is null. That context's `Rc` is owned by `CONTEXT` until the
    // guard of the `enter` that installed it drops, and while a nested `enter` has replaced it,
    // by the nested guard's `previous`. Guards are dropped by the frames that made them, in
    // reverse order (see `enter`): the guard that installed this context belongs to a frame
    // below this call, which outlives `f`, whatever `f` enters and leaves meanwhile. So the
    // context stays alive for the whole call. It is only ever borrowed shared (its mutable parts
    // are `Cell`s and `RefCell`s), and the context is `!Send`, so no other thread reaches it.
    // The reference cannot outlive `f` (`R` cannot name its lifetime).
    let ctx = unsafe { ctx.as_ref() }?;
    Some(f(ctx))
}

/// Delivers a report raised anywhere to the loop behind `shared`: at once if that loop runs on
/// this thread, through its remote queue otherwise, and to stderr if it has closed.
pub(crate) fn deliver(shared: &Arc<Shared>, report: Report) {
    if let Some(ctx) = local(shared) {
        ctx.report(&report);
        return;
    }
    if let Err(Remote::Report(report)) = shared.send(Remote::Report(report)) {
        report_sink::default_handler(&report);
    }
}

#[cfg(test)]
mod tests {
    use std::rc::Rc;

    use super::{enter, runs_here, with_running, Context};
    use crate::context::the_loop::TheLoop;

    fn context() -> Rc<Context> {
        Rc::new(Context::new(TheLoop::Default(Box::default()), false, None))
    }

    /// What `with_running`'s safety rests on, checked under Miri (scripts/miri.sh): a context
    /// borrowed by `with_running` stays alive and installed again after code inside entered and
    /// left another one (a `Runner` closed inside a task's poll), though this thread held its
    /// only other `Rc` in the slot.
    #[test]
    fn a_borrowed_context_outlives_a_nested_enter_and_is_put_back() {
        assert!(with_running(|_| ()).is_none(), "no loop runs here yet");
        let outer = context();
        let outer_ptr = Rc::as_ptr(&outer);
        let guard = enter(outer);
        with_running(|ctx| {
            let inner = context();
            let inner_shared = inner.shared.clone();
            let nested = enter(inner);
            assert!(runs_here(&inner_shared));
            with_running(|now| assert!(!std::ptr::eq(now, ctx)));
            drop(nested);
            assert!(!runs_here(&inner_shared), "the nested loop is gone");
            assert!(runs_here(&ctx.shared), "the outer loop is back");
            assert!(std::ptr::eq(ctx, outer_ptr));
        })
        .expect("the outer context is installed");
        drop(guard);
        assert!(
            with_running(|_| ()).is_none(),
            "nothing installed after the guard"
        );
    }
}
