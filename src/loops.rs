//! The loops that ship with corun. Pick one with
//! [`Config::loop_factory`](crate::Config::loop_factory) or
//! `#[corun::entry(loop_factory = ...)]`; write your own by implementing
//! [`EventLoop`](crate::EventLoop).
//!
//! [`DefaultLoop`] and [`VirtualTimeLoop`] do no IO. For IO, the loop of the reactor your crates
//! expect: `TokioLoop` (feature `tokio`: tokio, hyper, axum, reqwest...) and `AsyncIoLoop`
//! (feature `async-io`: async-net and the smol family), each running corun's turns inside that
//! reactor's own `block_on` on the loop's thread.
//!
//! ```
//! use corun::{loops::VirtualTimeLoop, Config};
//!
//! let slept = Config::new().loop_factory(VirtualTimeLoop::new).run(async {
//!     corun::sleep(std::time::Duration::from_secs(60)).await;
//!     "a minute, at once"
//! });
//! assert_eq!(slept, "a minute, at once");
//! ```

// The runtime's loops, re-exported one by one rather than through the crate root's glob, so that
// the feature-gated ones carry their `doc(cfg)` here too: rustdoc reads an inlined item's
// attributes from the runtime's metadata, which rustc built without `--cfg docsrs`, and an item
// that a glob also re-exports loses the re-export's `doc(cfg)`. `tests/architecture.rs` checks
// that every loop the runtime exports is here.

pub use corun_runtime::loops::{DefaultLoop, VirtualTimeLoop};

#[cfg(feature = "async-io")]
#[cfg_attr(docsrs, doc(cfg(feature = "async-io")))]
pub use corun_runtime::loops::AsyncIoLoop;
#[cfg(feature = "tokio")]
#[cfg_attr(docsrs, doc(cfg(feature = "tokio")))]
pub use corun_runtime::loops::TokioLoop;
