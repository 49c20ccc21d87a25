//! Layer 5, the run: [`run`](entry::run) and [`Config::run`](config::Config) ([`entry`]), the
//! settings ([`config`]), [`Runner`](runner::Runner) ([`runner`]), driving the main task
//! ([`drive`]), the end of a run ([`shutdown`]), [`RunError`](error::RunError) ([`error`]),
//! what `#[corun::test]` runs ([`testing`]), and N runs at once, one per thread ([`workers`]).
//! Uses every layer below it and `signals`; nothing uses it but `lib.rs`.

pub(crate) mod config;
pub(crate) mod drive;
pub(crate) mod entry;
pub(crate) mod error;
pub(crate) mod runner;
pub(crate) mod shutdown;
pub(crate) mod testing;
pub(crate) mod workers;
