//! Layer 4, tasks: [`spawn`](spawn::spawn) and the one allocation per task
//! ([`spawn`]), the `Task` handle ([`join`]), [`TaskError`](error::TaskError) ([`error`]),
//! [`current_task`](current::current_task) ([`current`]), [`Handle`](handle::Handle) for other
//! threads ([`handle`]), and the wrapper every poll of a task goes through ([`supervise`]).
//!
//! A task is one allocation (`record::raw_task`) holding the user's future wrapped by
//! `supervise::supervise` and a `record::header::Header` shared by the future, the handle and
//! the task's wakers. The loop owns every live task: a task is registered with its loop once a
//! poll leaves it pending (one done in its first poll never is) and deregistered when its future
//! is gone, so shutdown can find and cancel all of them. Uses the context, the loop layer, the record, `cancel` and `debug`; never the run.

pub(crate) mod current;
pub(crate) mod error;
pub(crate) mod group;
pub(crate) mod handle;
pub(crate) mod join;
pub(crate) mod spawn;
pub(crate) mod supervise;
