//! Compile-time behaviour of `#[corun::entry]` and `#[corun::test]`: what compiles (and runs),
//! and what is rejected with which message, at which span. Bless with
//! `TRYBUILD=overwrite cargo test --test ui`, then read every `.stderr`.

#[test]
fn ui() {
    let cases = trybuild::TestCases::new();
    cases.pass("tests/ui/pass/*.rs");
    cases.compile_fail("tests/ui/*.rs");
}
