//! A run started from inside a running loop is rejected at run time, as asyncio's
//! `RuntimeError`. Run: `cargo run --example nested_run_rejected`

use corun::{Config, RunError};

fn main() {
    corun::run(async {
        match Config::new().try_run(async { "inner" }) {
            Err(RunError::NestedRun) => println!("rejected: {}", RunError::NestedRun),
            other => panic!("expected NestedRun, got {other:?}"),
        }
        // Inside async code, await the future instead.
        let inner = async { "inner" }.await;
        println!("awaited instead: {inner}");
    });
}
