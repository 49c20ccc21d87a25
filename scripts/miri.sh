#!/usr/bin/env bash
# Runs corun-runtime's unit tests, integration tests and doctests under Miri with strict
# provenance. Tests Miri cannot run (real-time thresholds, thousands of iterations) are marked
# `#[cfg_attr(miri, ignore = "...")]`. Usage: scripts/miri.sh [extra cargo test args]
#
# The aliasing model is Tree Borrows. Both models report UB (Stacked Borrows in many more tests:
# MIRIFLAGS="-Zmiri-strict-provenance -Zmiri-disable-isolation" to see them) in local tasks whose
# async state keeps a `&mut`/`Pin<&mut T: Unpin>` into itself across an await -- supervise's own
# pinned future, `timeout`'s pinned Sleep, `pin!(...)` in user code -- because async-task's
# spawn_local wraps the future in `Checked` and reads `self.id` through a shared reborrow of the
# whole future at every poll (smol-rs/async-task#102, open). Tree Borrows only rejects a later
# write through such a reference; the tests that do one are skipped (see RELIABILITY.md).
set -euo pipefail
cd "$(dirname "$0")/.."

rustup toolchain install nightly --profile minimal >/dev/null 2>&1 || true
rustup +nightly component add miri rust-src
cargo +nightly miri setup

# Isolation off: debug mode formats spawn backtraces, which reads the working directory.
export MIRIFLAGS="${MIRIFLAGS:--Zmiri-strict-provenance -Zmiri-disable-isolation}"
# The cancelled() doctest pins an Unpin future in its own async state and polls it through
# timeout(): the async-task#102 pattern (see above), rejected by both aliasing models.
# Without default features: the `signals` feature calls sigaction (through signal-hook and libc),
# which Miri cannot run, on the main thread, where the doctests run.
cargo +nightly miri test -p corun-runtime --no-default-features "$@"
