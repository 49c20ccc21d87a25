//! Rust's `asyncio.run`.
//!
//! ```
//! #[corun::entry]
//! async fn main() -> Result<(), Box<dyn std::error::Error>> {
//!     let task = corun::spawn(async { 40 + 2 });
//!     assert_eq!(task.await, 42);
//!     Ok(())
//! }
//! # fn _call() { main().unwrap() }
//! ```
//!
//! `#[corun::entry]` turns an `async fn` into a plain function that makes a fresh event loop, runs
//! the body as the main task, cancels every task it left behind, waits for worker threads, closes
//! the loop and hands back the result (or resumes the panic). See [`Config::run`] for the order
//! of one run and [`EventLoop`] for the loop layer. Coming from Python, start with the
//! [`guide`]: every piece of asyncio beside its corun equivalent.
//!
//! This crate only re-exports: the runtime lives in `corun-runtime`, the attributes in
//! `corun-macros`.
#![forbid(unsafe_code)]
// docs.rs (`--cfg docsrs`, nightly): the re-exported feature-gated items (`loops::TokioLoop`,
// `loops::AsyncIoLoop`, see `loops.rs`) say which feature they need; the facade's features
// forward to the runtime's of the same name.
#![cfg_attr(docsrs, feature(doc_cfg))]

pub use corun_macros::{entry, main, test};
pub use corun_runtime::*;

#[doc(hidden)]
pub mod __private;

pub mod guide;

pub mod loops;
