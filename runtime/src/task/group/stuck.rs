//! Code stuck on a child that will give no value: awaiting a child that failed, or that its
//! group cancelled, cancels the awaiting code at that point. The child's handle marks the task
//! being polled; the group that polls that task drops it once the poll returns, unless the code
//! heard its cancellation through `cancelled()` in the same poll (a select of the child and
//! `cancelled()`), which clears the mark. Layer 4 (tasks): uses the context and the record.

use std::cell::Cell;

use crate::context::this_thread;
use crate::record::header::Header;
use crate::record::id::TaskId;

thread_local! {
    /// The task whose poll awaited a child that will give no value, if one did.
    static STUCK: Cell<Option<TaskId>> = const { Cell::new(None) };
}

/// The task being polled on this thread, if any.
fn current() -> Option<TaskId> {
    this_thread::current().and_then(|ctx| ctx.with_current(Header::id))
}

/// The task being polled awaited a child that will give no value.
pub(crate) fn mark() {
    STUCK.with(|stuck| stuck.set(current()));
}

/// The task being polled heard its cancellation: it goes on with its cleanup, it is not stuck.
pub(crate) fn heard() {
    if STUCK.with(Cell::get).is_none() {
        return;
    }
    let id = current();
    STUCK.with(|stuck| {
        if stuck.get() == id {
            stuck.set(None);
        }
    });
}

/// Whether the poll of task `id` that just returned was stuck (the mark is then cleared).
pub(crate) fn take(id: TaskId) -> bool {
    STUCK.with(|stuck| {
        if stuck.get() == Some(id) {
            stuck.set(None);
            true
        } else {
            false
        }
    })
}
