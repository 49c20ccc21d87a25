//! The loops that ship with corun. Pick one with `Config::loop_factory` or
//! `#[corun::entry(loop_factory = ...)]`; write your own by implementing
//! [`EventLoop`](crate::EventLoop).
//!
//! Layer 2 (the loop layer), with `event_loop`: the loops use only each other, `event_loop` and
//! the record; never the context, the run or the task layer (`tests/layering.rs`).
//!
//! ```
//! use corun_runtime::{loops::VirtualTimeLoop, Config};
//!
//! let slept = Config::new().loop_factory(VirtualTimeLoop::new).run(async {
//!     corun_runtime::sleep(std::time::Duration::from_secs(60)).await;
//!     "a minute, at once"
//! });
//! assert_eq!(slept, "a minute, at once");
//! ```

mod core;
mod default;
pub(crate) mod timers;
mod virtual_time;

pub use default::DefaultLoop;
pub use virtual_time::VirtualTimeLoop;
