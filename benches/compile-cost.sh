#!/usr/bin/env bash
# Compile cost of a hello world: `#[corun::entry]` against
# `#[tokio::main(flavor = "current_thread")]` with tokio's `rt`, `macros` and `signal` features
# (like for like: corun handles Ctrl-C by default), side by side; and the cost each adds to a
# project that already builds syn with `full` (the usual case: serde_derive, thiserror,
# clap_derive, tracing-attributes... and tokio-macros itself build it).
#
# Usage: benches/compile-cost.sh            (from anywhere; RUNS=5 for more runs, default 3)
#
# Makes throwaway crates under a temp dir (corun from this checkout by path, but built as cargo
# builds a crate from crates.io: not incrementally; tokio and syn from crates.io), downloads
# their dependencies first (not timed), then builds each from clean with `cargo build` (debug)
# RUNS times, alternating, and reports for each the median CPU seconds (user + sys of cargo and
# everything it ran) and the median wall seconds, and the ratios corun / tokio. CPU is the
# figure that does not depend on how many cores are free; wall is what a user waits, on this
# machine's cores (`nproc`, printed), and moves with their load.
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
runs="${RUNS:-3}"
work="$(mktemp -d "${TMPDIR:-/tmp}/corun-compile-cost.XXXXXX")"
trap 'rm -rf "$work"' EXIT

corun_dep="corun = { path = \"$repo\" }"
tokio_dep='tokio = { version = "1", features = ["rt", "macros", "signal"] }'
# A project's own proc macro built on syn with `full`, standing for the derives a real program
# already has; the `with-syn-*` crates use it, so syn is built for it whatever else they use.
synfull_dep="synfull = { path = \"$work/synfull\" }"

make_crate() { # name attribute dependency-line...
    local name="$1" attribute="$2"
    shift 2
    mkdir -p "$work/$name/src"
    {
        printf '[package]\nname = "%s"\nversion = "0.0.0"\nedition = "2021"\npublish = false\n\n' "$name"
        printf '[dependencies]\n'
        printf '%s\n' "$@"
        if [[ "$*" == *corun* && "$name" != *-incremental ]]; then
            # corun comes by path here, and cargo builds a path dependency incrementally (its
            # query graph saved, up to 256 codegen units): from crates.io, as tokio comes, a
            # user's build of it is not incremental. Build corun's three crates as a registry
            # crate is built, so both runtimes are measured as a user gets them (about 1 s of
            # CPU less, mostly corun-runtime's; `hello-corun-incremental` measures it as rounds
            # 1-5 did).
            printf '\n[profile.dev.package.%s]\nincremental = false\n' corun corun-runtime corun-macros
        fi
        printf '\n[workspace]\n'
    } >"$work/$name/Cargo.toml"
    local uses_synfull=""
    if [[ "$*" == *synfull* ]]; then
        uses_synfull='#[synfull::keep]'
    fi
    if [[ -n "$attribute" ]]; then
        printf '%s\n%s\nasync fn main() {\n    println!("hello, world");\n}\n' "$uses_synfull" "$attribute" \
            >"$work/$name/src/main.rs"
    else
        printf '%s\nfn main() {\n    println!("hello, world");\n}\n' "$uses_synfull" >"$work/$name/src/main.rs"
    fi
}

mkdir -p "$work/synfull/src"
cat >"$work/synfull/Cargo.toml" <<'TOML'
[package]
name = "synfull"
version = "0.0.0"
edition = "2021"
publish = false

[lib]
proc-macro = true

[dependencies]
proc-macro2 = "1"
quote = "1"
syn = { version = "3", features = ["full"] }
TOML
cat >"$work/synfull/src/lib.rs" <<'RUST'
//! Parses the item it is put on with syn's `full` grammar and gives it back.
use proc_macro::TokenStream;

#[proc_macro_attribute]
pub fn keep(_: TokenStream, item: TokenStream) -> TokenStream {
    let item = syn::parse_macro_input!(item as syn::Item);
    quote::quote!(#item).into()
}
RUST

make_crate hello-corun '#[corun::entry]' "$corun_dep"
# The same without the default `signals` feature (no signal-hook-registry, no libc).
make_crate hello-corun-nosig '#[corun::entry]' "corun = { path = \"$repo\", default-features = false }"
# The same built as rounds 1-5 measured it: corun's crates incrementally, as a path dependency.
make_crate hello-corun-incremental '#[corun::entry]' "$corun_dep"
make_crate hello-tokio '#[tokio::main(flavor = "current_thread")]' "$tokio_dep"
make_crate with-syn '' "$synfull_dep"
make_crate with-syn-corun '#[corun::entry]' "$synfull_dep" "$corun_dep"
make_crate with-syn-tokio '#[tokio::main(flavor = "current_thread")]' "$synfull_dep" "$tokio_dep"

crates=(hello-corun hello-corun-nosig hello-corun-incremental hello-tokio with-syn with-syn-corun with-syn-tokio)
for name in "${crates[@]}"; do
    (cd "$work/$name" && cargo fetch --quiet)
done

# One clean build; prints "wall cpu" in seconds (cpu: user + sys of cargo and all it ran).
build_seconds() {
    local dir="$work/$1"
    rm -rf "$dir/target"
    local TIMEFORMAT='%R %U %S'
    local times
    times="$( { time (cd "$dir" && cargo build --offline --quiet >/dev/null 2>&1); } 2>&1 )"
    awk '{ printf "%.2f %.2f\n", $1, $2 + $3 }' <<<"$times"
}

median() { sort -n | awk '{ a[NR] = $1 } END { print (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2 }'; }

declare -A wall_runs cpu_runs
echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
for _ in $(seq "$runs"); do
    for name in "${crates[@]}"; do
        read -r wall cpu < <(build_seconds "$name")
        wall_runs[$name]+="$wall "
        cpu_runs[$name]+="$cpu "
    done
done
echo "load average after:  $(cut -d' ' -f1-3 /proc/loadavg)"

declare -A wall cpu
for name in "${crates[@]}"; do
    wall[$name]="$(tr ' ' '\n' <<<"${wall_runs[$name]}" | grep . | median)"
    cpu[$name]="$(tr ' ' '\n' <<<"${cpu_runs[$name]}" | grep . | median)"
done

echo "rustc: $(rustc --version)"
echo "runs: $runs (median reported), cpus: $(nproc)"
printf '%-58s %8s %8s   %s\n' "clean debug build" "CPU s" "wall s" "runs (CPU s)"
row() { printf '%-58s %8s %8s   %s\n' "$1" "${cpu[$2]}" "${wall[$2]}" "${cpu_runs[$2]}"; }
row '#[corun::entry] hello world' hello-corun
row '#[corun::entry], default-features = false (no signals)' hello-corun-nosig
row '#[corun::entry], corun built incrementally (path dep.)' hello-corun-incremental
row '#[tokio::main(flavor = "current_thread")] hello world' hello-tokio
row 'a project building syn full (a proc macro of its own)' with-syn
row 'same + corun' with-syn-corun
row 'same + tokio' with-syn-tokio

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; }
echo "ratio corun / tokio, hello world: CPU $(ratio "${cpu[hello-corun]}" "${cpu[hello-tokio]}"), wall $(ratio "${wall[hello-corun]}" "${wall[hello-tokio]}") (target: at most 1, aim 0.8)"
echo "ratio corun built incrementally / tokio: CPU $(ratio "${cpu[hello-corun-incremental]}" "${cpu[hello-tokio]}"), wall $(ratio "${wall[hello-corun-incremental]}" "${wall[hello-tokio]}")"
echo "ratio corun (default-features = false) / tokio: CPU $(ratio "${cpu[hello-corun-nosig]}" "${cpu[hello-tokio]}"), wall $(ratio "${wall[hello-corun-nosig]}" "${wall[hello-tokio]}")"
added() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a - b }'; }
corun_cpu="$(added "${cpu[with-syn-corun]}" "${cpu[with-syn]}")"
tokio_cpu="$(added "${cpu[with-syn-tokio]}" "${cpu[with-syn]}")"
corun_wall="$(added "${wall[with-syn-corun]}" "${wall[with-syn]}")"
tokio_wall="$(added "${wall[with-syn-tokio]}" "${wall[with-syn]}")"
echo "added to a project that builds syn full: corun CPU ${corun_cpu} s, wall ${corun_wall} s; tokio CPU ${tokio_cpu} s, wall ${tokio_wall} s; ratio CPU $(ratio "$corun_cpu" "$tokio_cpu"), wall $(ratio "$corun_wall" "$tokio_wall")"
# Each corun build against the tokio build of the same round: the spread the machine's load gives.
read -ra corun_list <<<"${cpu_runs[hello-corun]}"
read -ra tokio_list <<<"${cpu_runs[hello-tokio]}"
pairs=()
for i in "${!corun_list[@]}"; do
    pairs+=("$(ratio "${corun_list[$i]}" "${tokio_list[$i]}")")
done
echo "run-by-run CPU ratios corun / tokio: ${pairs[*]}"
echo "corun dependency tree:"
(cd "$work/hello-corun" && cargo tree --offline --edges normal,build --prefix depth | sed 's/^/  /')
echo "tokio dependency tree:"
(cd "$work/hello-tokio" && cargo tree --offline --edges normal,build --prefix depth | sed 's/^/  /')
