//! What the attribute expansions name. Not public API: may change in any release.

pub use corun_runtime::Config;
