//! Compile-time behaviour of `#[corun::entry]` and `#[corun::test]`: what compiles (and runs),
//! and what is rejected with which message, at which span. Bless with
//! `TRYBUILD=overwrite cargo test --test ui`, then read every `.stderr`.

#[test]
fn ui() {
    let cases = trybuild::TestCases::new();
    cases.pass("tests/ui/pass/*.rs");
    // Some messages list the types that implement `EventLoop`, to which the IO features add
    // `TokioLoop` and `AsyncIoLoop`: the `.stderr` files are those of the default features, the
    // build every user gets unless they opt in (`cargo test --workspace` checks them).
    if cfg!(not(any(feature = "tokio", feature = "async-io"))) {
        cases.compile_fail("tests/ui/*.rs");
    }
}
