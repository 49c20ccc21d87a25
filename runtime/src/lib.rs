//! The runtime behind corun: the event loop layer, tasks, timers and asyncio's structured
//! shutdown. Usable on its own, without the attribute macros.
//!
//! ```
//! let output = corun_runtime::run(async {
//!     let task = corun_runtime::spawn(async { 21 * 2 });
//!     task.await
//! });
//! assert_eq!(output, 42);
//! ```
//!
//! Layers, bottom up: an [`EventLoop`] schedules ready work, keeps time and parks
//! ([`loops`] ships two, and with the `tokio` and `async-io` features two more that turn those
//! runtimes' IO reactors); tasks ([`spawn`], [`Task`]), time ([`sleep`], [`timeout`]) and the
//! combinators ([`gather!`], [`gather_all`]) and threads ([`to_thread`], [`Handle`]) are built
//! once on top of the trait and work on every loop, as are task groups ([`task_group`]: child
//! tasks that may borrow, stopped together at the first failure); [`run`], [`Config`] and
//! [`Runner`] drive one run from making the loop to closing it, and [`Workers`] runs N of them at
//! once, a thread each.
// docs.rs (`--cfg docsrs`, nightly): each feature-gated item says which feature it needs.
#![cfg_attr(docsrs, feature(doc_cfg))]

// Layers, bottom up; a file uses only its own layer and those below (checked by
// `tests/layering.rs`). ARCHITECTURE.md draws them.
// 1. the record: task header, flags, ids, `TaskRef`, reports, a loop's mailbox
mod record;
mod report_sink;
#[cfg(feature = "tracing")]
mod tracing_events;
// 2. the loop layer: the `EventLoop` trait, the shipped loops; the thread pool beside it
mod event_loop;
pub mod loops;
mod thread_pool;
// 3. the context: the running loop's state, registry, listeners, turn and park
mod context;
// 4. tasks, cancellation, time, threads, debug mode, gather
mod cancel;
mod debug;
mod gather;
mod gather_all;
mod task;
mod time;
mod to_thread;
mod woken;
// 5. the run, and signals
mod run;
mod signals;

pub use cancel::{cancelled, Cancelled};
pub use event_loop::{EventLoop, Park, Runnable, TimerId};
pub use gather_all::gather_all;
pub use record::id::TaskId;
pub use record::report::{Report, ReportKind};
pub use record::task_ref::TaskRef;
pub use run::config::Config;
pub use run::entry::{is_debug, run};
pub use run::error::RunError;
pub use run::runner::Runner;
pub use run::workers::{worker, Worker, Workers};
pub use task::current::current_task;
pub use task::error::TaskError;
pub use task::group::child::{Child, ChildJoin};
pub use task::group::error::{ChildFailure, Failure, GroupError};
pub use task::group::run::task_group;
pub use task::group::scope::TaskGroup;
pub use task::handle::Handle;
pub use task::join::{Join, Task};
pub use task::spawn::{spawn, spawn_named};
pub use time::{now, sleep, sleep_until, timeout, yield_now, Elapsed, Sleep, YieldNow};
pub use to_thread::{to_thread, ToThread};

/// What `gather!`, `try_gather!` and the facade's attributes (`#[corun::test]`,
/// `workers = N`) need. Not public API.
#[doc(hidden)]
pub mod __private {
    pub use crate::gather::{poll_ok_slot, poll_slot, take_output};
    pub use crate::run::testing::{run_test, run_workers_test};
    pub use crate::run::workers::first_error;
}
