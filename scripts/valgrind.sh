#!/usr/bin/env bash
# Runs examples/handle_cycle.rs (two tasks awaiting each other's handles, a leftover timer and
# task) under valgrind's leak checker: any definite or indirect leak fails the script.
# Usage: scripts/valgrind.sh [example-name ...]   (default: handle_cycle)
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v valgrind >/dev/null; then
    echo "== installing valgrind"
    if [ "$(id -u)" -eq 0 ]; then SUDO=""; else SUDO="sudo"; fi
    $SUDO apt-get update -qq && $SUDO apt-get install -y -qq valgrind
fi

examples=("$@")
[ ${#examples[@]} -eq 0 ] && examples=(handle_cycle)

for example in "${examples[@]}"; do
    echo "== cargo build --example $example"
    cargo build --quiet --example "$example"
    echo "== valgrind target/debug/examples/$example"
    valgrind --leak-check=full --errors-for-leak-kinds=definite,indirect --error-exitcode=1 \
        "target/debug/examples/$example"
done
echo "== no leaks"
