//! The loops that ship with corun. Pick one with `Config::loop_factory` or
//! `#[corun::entry(loop_factory = ...)]`; write your own by implementing
//! [`EventLoop`](crate::EventLoop).

mod core;
mod default;
pub(crate) mod timers;
mod virtual_time;

pub use default::DefaultLoop;
pub use virtual_time::VirtualTimeLoop;
