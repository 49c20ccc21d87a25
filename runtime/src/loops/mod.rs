//! The loops that ship with corun. Pick one with `Config::loop_factory` or
//! `#[corun::entry(loop_factory = ...)]`; write your own by implementing
//! [`EventLoop`](crate::EventLoop).
//!
//! [`DefaultLoop`] and [`VirtualTimeLoop`] do no IO. For IO, the loop of the reactor your crates
//! expect: `TokioLoop` (feature `tokio`: tokio, hyper, axum, reqwest...) and `AsyncIoLoop`
//! (feature `async-io`: async-net and the smol family), each running corun's turns inside that
//! reactor's own `block_on` on the loop's thread. `TokioLoop` comes in tokio's flavours: one
//! thread (`new`), tokio's workers for `tokio::spawn`ed work (`multi_thread`), a paused clock
//! shared with corun (`paused`, feature `tokio-test-util`).
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

#[cfg(feature = "async-io")]
mod async_io;
mod core;
mod default;
#[cfg(any(feature = "tokio", feature = "async-io"))]
mod reactor;
pub(crate) mod timers;
#[cfg(feature = "tokio")]
mod tokio;
mod virtual_time;

#[cfg(feature = "async-io")]
pub use self::async_io::AsyncIoLoop;
#[cfg(feature = "tokio")]
pub use self::tokio::TokioLoop;
pub use default::DefaultLoop;
pub use virtual_time::VirtualTimeLoop;
