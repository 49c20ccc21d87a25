#!/usr/bin/env bash
# Runs corun-runtime's unit tests, integration tests and doctests under Miri with strict
# provenance. Tests Miri cannot run (real-time thresholds, thousands of iterations) are marked
# `#[cfg_attr(miri, ignore = "...")]`. Usage: scripts/miri.sh [extra cargo test args]
#
# The aliasing model is Miri's default, Stacked Borrows. corun's task allocation
# (`runtime/src/record/raw_task.rs`) is its own `unsafe` code, checked here by its unit tests and
# the whole suite; `runtime/tests/unpin_futures.rs` keeps the smallest cases of what async-task's
# `spawn_local`, used before, got wrong (smol-rs/async-task#102; see RELIABILITY.md).
set -euo pipefail
cd "$(dirname "$0")/.."

rustup toolchain install nightly --profile minimal >/dev/null 2>&1 || true
rustup +nightly component add miri rust-src
cargo +nightly miri setup

# Isolation off: debug mode formats spawn backtraces, which reads the working directory.
export MIRIFLAGS="${MIRIFLAGS:--Zmiri-strict-provenance -Zmiri-disable-isolation}"
# Without default features: the `signals` feature calls sigaction (through signal-hook and libc),
# which Miri cannot run, on the main thread, where the doctests run.
cargo +nightly miri test -p corun-runtime --no-default-features "$@"
