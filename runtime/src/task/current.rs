//! `current_task`. Layer 4 (tasks): uses the context and the record.

use crate::context::this_thread;
use crate::record::header::Header;
use crate::record::task_ref::TaskRef;

/// The task being polled now, or `None` outside a task (asyncio's `current_task`). The main
/// future runs as a task too, named after the entry function (`main` by default).
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
    this_thread::current()?.with_current(Header::task_ref)
}
