#!/usr/bin/env bash
# Runs corun-runtime's tests built with `-C panic=abort` (each test in its own process, which
# `-Zpanic-abort-tests` needs nightly for). Tests that rely on unwinding (a task's panic caught
# and delivered, `catch_unwind` around a run) are marked
# `#[cfg_attr(panic = "abort", ignore = "relies on unwinding")]`; everything else must pass:
# the runtime's own `catch_unwind`s are no-ops then, and must not be needed by code that does
# not panic. Usage: scripts/panic-abort.sh [extra cargo test args]
set -euo pipefail
cd "$(dirname "$0")/.."

rustup toolchain install nightly --profile minimal >/dev/null 2>&1 || true
RUSTFLAGS="-C panic=abort -Zpanic_abort_tests" cargo +nightly test -p corun-runtime --all-features --tests \
    --target-dir target/panic-abort -Zpanic-abort-tests "$@"
