#!/usr/bin/env bash
# Runs every test of the workspace (unit, property and integration; doc tests have none) and
# ends with one line counting them all.
set -uo pipefail
cd "$(dirname "$0")/.."
log=$(mktemp)
trap 'rm -f "$log"' EXIT
cargo test --workspace --lib --bins --tests 2>&1 | tee "$log"
status=${PIPESTATUS[0]}
passed=$(grep -o '^test result: [A-Za-z]*\. [0-9]* passed' "$log" | awk '{s+=$4} END {print s+0}')
failed=$(grep -o '[0-9]* failed;' "$log" | awk '{s+=$1} END {print s+0}')
echo
echo "tests: $passed passed, $failed failed"
if [[ $status -ne 0 ]]; then exit "$status"; fi
[[ $passed -gt 0 ]] || { echo "no test ran" >&2; exit 1; }
