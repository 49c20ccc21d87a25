#!/usr/bin/env bash
# Runs corun-runtime's unit tests, integration tests and doctests under Miri with strict
# provenance. Tests Miri cannot run (real-time thresholds, thousands of iterations) are marked
# `#[cfg_attr(miri, ignore = "...")]`. Usage: scripts/miri.sh [extra cargo test args]
#
# The aliasing model is Miri's default, Stacked Borrows. corun allocates tasks with async-task's
# `spawn_unchecked` rather than `spawn_local`, whose `Checked` wrapper reborrows the whole future
# at every poll and is UB for self-referential futures (smol-rs/async-task#102; see
# RELIABILITY.md); `runtime/tests/unpin_futures.rs` keeps the smallest cases.
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
