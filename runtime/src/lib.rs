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
//! ([`loops`] ships two); tasks ([`spawn`], [`Task`]), time ([`sleep`], [`timeout`]) and the
//! combinators ([`gather!`], [`gather_all`]) and threads ([`to_thread`], [`Handle`]) are built
//! once on top of the trait and work on every loop; [`run`], [`Config`] and [`Runner`] drive one
//! run from making the loop to closing it.

mod cancel;
mod context;
mod debug;
mod event_loop;
mod gather;
pub mod loops;
mod report;
mod run;
mod signals;
mod task;
mod testing;
mod threads;
mod time;
#[cfg(feature = "tracing")]
mod tracing_events;

pub use cancel::{cancelled, Cancelled};
pub use event_loop::{EventLoop, Park, Runnable, TimerId};
pub use gather::gather_all;
pub use report::{Report, ReportKind};
pub use run::{is_debug, run, Config, RunError, Runner};
pub use task::{current_task, spawn, spawn_named, Handle, Join, Task, TaskError, TaskId, TaskRef};
pub use threads::{to_thread, ToThread};
pub use time::{now, sleep, sleep_until, timeout, yield_now, Elapsed, Sleep, YieldNow};

/// What `gather!`, `try_gather!` and the facade's `#[corun::test]` support need. Not public API.
#[doc(hidden)]
pub mod __private {
    pub use crate::gather::{poll_ok_slot, poll_slot, take_output};
    pub use crate::testing::run_test;
}
