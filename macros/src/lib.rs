//! The `#[corun::entry]` and `#[corun::test]` attributes (being written).
#![forbid(unsafe_code)]
