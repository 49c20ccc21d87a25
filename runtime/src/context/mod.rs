//! Layer 3, the context: the running loop's state that tasks reach ([`core::Context`]), its
//! registry of live tasks ([`registry`]), the awaiters of pending tasks' handles ([`awaiters`]), its `cancelled()` listeners ([`listeners`]), one turn
//! of the loop and how it parks ([`turn`]), and the thread-local that finds it
//! ([`this_thread`]). Uses the loop layer, the record, the reports and `thread_pool`; never the
//! task layer or the run.

pub(crate) mod awaiters;
pub(crate) mod core;
pub(crate) mod listeners;
pub(crate) mod registry;
pub(crate) mod the_loop;
pub(crate) mod this_thread;
pub(crate) mod turn;
