//! `current_task`. Layer 4 (tasks): uses the context, the record and `cancel`.

use crate::cancel;
use crate::context::this_thread;
use crate::record::task_ref::TaskRef;

/// The task being polled now, or `None` outside a task (asyncio's `current_task`). The main
/// future runs as a task too, named after the entry function (`main` by default). The reference
/// can cancel the task ([`TaskRef::cancel`]).
///
/// # Examples
///
/// ```
/// assert!(corun_runtime::current_task().is_none());
/// corun_runtime::run(async {
///     assert!(corun_runtime::current_task().is_some());
/// });
/// ```
pub fn current_task() -> Option<TaskRef> {
    let ctx = this_thread::current()?;
    ctx.with_current(|header| cancel::cancellable_ref(&ctx, header))
}
