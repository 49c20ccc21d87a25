//! Task groups (asyncio's `TaskGroup`, trio's nursery): [`task_group`](run::task_group) and its
//! future ([`run`]), the `TaskGroup` handle and the child set ([`scope`]), a child's record and
//! its `Child` handle ([`child`]), awaiting code stuck on a child that gives no value
//! ([`stuck`]), and `GroupError` ([`error`]). The group's ready list of woken children is
//! `crate::woken`, shared with `gather_all`.
//!
//! The children are futures owned by the group's future and polled by it, each as a task of its
//! own (a `Header`, made current while it is polled), not tasks of the loop: so they may borrow
//! what outlives the group, and a leaked group only stops them. Uses the context, the record,
//! `cancel`, `debug`, `woken` and `task::error`.

pub(crate) mod child;
pub(crate) mod error;
pub(crate) mod run;
pub(crate) mod scope;
pub(crate) mod stuck;
