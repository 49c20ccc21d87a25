//! Layer 1, the record: what a task is made of and what crosses threads. The task's header and
//! flags ([`header`]), its id ([`id`]), the [`task_ref::TaskRef`] copied out of it (and the
//! [`control`] through which one cancels the task), the reports
//! raised about tasks ([`report`]), a loop's [`mailbox`] and the task allocation ([`raw_task`]). Imports nothing of the crate
//! outside this directory: every other layer may use it.

pub(crate) mod control;
#[cfg(test)]
pub(crate) mod count_wakes;
pub(crate) mod header;
pub(crate) mod id;
pub(crate) mod mailbox;
pub(crate) mod raw_task;
pub(crate) mod report;
pub(crate) mod task_ref;
