#!/usr/bin/env bash
# Compile cost of a hello world: `#[corun::entry]` against `#[tokio::main(flavor = "current_thread")]`
# (tokio features `rt`, `macros`), side by side.
#
# Usage: benches/compile-cost.sh            (from anywhere; RUNS=5 for more runs, default 3)
#
# Makes two throwaway crates under a temp dir (one depending on this checkout of corun by path,
# one on tokio from crates.io), downloads their dependencies first (not timed), then builds each
# from clean with `cargo build` (debug) RUNS times, alternating, and reports the user+sys CPU
# seconds of each build (the median of the runs) and the ratio corun / tokio. CPU time, not
# wall time, so the figure does not depend on how many cores are free.
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
runs="${RUNS:-3}"
work="$(mktemp -d "${TMPDIR:-/tmp}/corun-compile-cost.XXXXXX")"
trap 'rm -rf "$work"' EXIT

make_crate() { # name dependency-line attribute
    mkdir -p "$work/$1/src"
    cat >"$work/$1/Cargo.toml" <<TOML
[package]
name = "$1"
version = "0.0.0"
edition = "2021"
publish = false

[dependencies]
$2

[workspace]
TOML
    cat >"$work/$1/src/main.rs" <<RUST
$3
async fn main() {
    println!("hello, world");
}
RUST
}

make_crate hello-corun "corun = { path = \"$repo\" }" "#[corun::entry]"
# The same without the default `signals` feature (no signal-hook, no libc).
make_crate hello-corun-nosig "corun = { path = \"$repo\", default-features = false }" "#[corun::entry]"
make_crate hello-tokio 'tokio = { version = "1", features = ["rt", "macros"] }' \
    '#[tokio::main(flavor = "current_thread")]'

for name in hello-corun hello-corun-nosig hello-tokio; do
    (cd "$work/$name" && cargo fetch --quiet)
done

# One clean build; prints the user+sys CPU seconds of cargo and everything it ran.
cpu_seconds() {
    local dir="$work/$1"
    rm -rf "$dir/target"
    local TIMEFORMAT='%U %S'
    local times
    times="$( { time (cd "$dir" && cargo build --offline --quiet >/dev/null 2>&1); } 2>&1 )"
    awk '{ printf "%.2f\n", $1 + $2 }' <<<"$times"
}

median() { sort -n | awk '{ a[NR] = $1 } END { print (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2 }'; }

corun_runs=()
nosig_runs=()
tokio_runs=()
for _ in $(seq "$runs"); do
    corun_runs+=("$(cpu_seconds hello-corun)")
    nosig_runs+=("$(cpu_seconds hello-corun-nosig)")
    tokio_runs+=("$(cpu_seconds hello-tokio)")
done
corun="$(printf '%s\n' "${corun_runs[@]}" | median)"
nosig="$(printf '%s\n' "${nosig_runs[@]}" | median)"
tokio="$(printf '%s\n' "${tokio_runs[@]}" | median)"

echo "rustc: $(rustc --version)"
echo "runs: $runs (median reported), cpus: $(nproc)"
echo "corun  #[corun::entry]                          : ${corun} s CPU (runs: ${corun_runs[*]})"
echo "tokio  #[tokio::main(flavor = \"current_thread\")]: ${tokio} s CPU (runs: ${tokio_runs[*]})"
echo "corun  without the signals feature          : ${nosig} s CPU (runs: ${nosig_runs[*]})"
awk -v c="$corun" -v t="$tokio" 'BEGIN { printf "ratio corun / tokio: %.2f (target: at most 0.60)\n", c / t }'
awk -v c="$nosig" -v t="$tokio" 'BEGIN { printf "ratio corun (default-features = false) / tokio: %.2f\n", c / t }'
# Each corun build against the tokio build that followed it: the spread the machine's load gives.
pairs=()
for i in "${!corun_runs[@]}"; do
    pairs+=("$(awk -v c="${corun_runs[$i]}" -v t="${tokio_runs[$i]}" 'BEGIN { printf "%.2f", c / t }')")
done
echo "run-by-run ratios corun / tokio: ${pairs[*]}"
echo "corun dependency tree:"
(cd "$work/hello-corun" && cargo tree --offline --edges normal,build --prefix depth | sed 's/^/  /')
echo "tokio dependency tree:"
(cd "$work/hello-tokio" && cargo tree --offline --edges normal,build --prefix depth | sed 's/^/  /')
