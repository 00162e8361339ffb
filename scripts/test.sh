#!/usr/bin/env bash
# Runs every test of the workspace (unit, property and integration; doc tests have none) and
# ends with one line counting them all.
set -uo pipefail
cd "$(dirname "$0")/.."
log=$(mktemp)
trap 'rm -f "$log"' EXIT
# Tests whose figures are timing (sides placed on their measured clocks, in real time) run
# after the rest, one at a time, with nothing else of the suite loading the machine: the
# announcement test's microphone, played by pw-cat, slipped within its 0.3 s window (0.983)
# beside it.
# The same for the two live tests that assert the microphone loses nothing: in one fresh-clone
# CI run, beside the suite's other tests, both lost microphone audio at once (one noted
# 6144 frames lost, gaps at 2.8 s to 3.1 s; the other's microphone correlated at 0.84); the
# suite's own load is not what they test (`make bench` counts the frames lost under load).
# Under load by design, `make bench` measures recording with both cores busy.
# The install test runs `make install`, whose `cargo build` relinks the workspace's binaries
# (a build and a test build unify features differently): beside other tests, a test found
# onrecordd missing while it was relinked, and the suite's process died of a SIGSEGV.
alone=(live::timed_sources_are_aligned live::one_side_alone_is_recorded_mono
       live::a_live_pipewire_call_records live::a_far_side_lost_mid_call
       announce::the_announcement_reaches_the_softphone install::make_install)
skip=()
for t in "${alone[@]}"; do skip+=(--skip "$t"); done
cargo test --workspace --lib --bins --tests -- "${skip[@]}" 2>&1 | tee "$log"
status=${PIPESTATUS[0]}
# The same selection of packages as above, so that cargo reuses its test binary (one
# package alone unifies features differently and rebuilds it).
cargo test --workspace --lib --bins --tests -- --test-threads=1 "${alone[@]}" 2>&1 | tee -a "$log"
[[ ${PIPESTATUS[0]} -eq 0 ]] || status=1
passed=$(grep -o '^test result: [A-Za-z]*\. [0-9]* passed' "$log" | awk '{s+=$4} END {print s+0}')
failed=$(grep -o '[0-9]* failed;' "$log" | awk '{s+=$1} END {print s+0}')
echo
echo "tests: $passed passed, $failed failed"
if [[ $status -ne 0 ]]; then exit "$status"; fi
[[ $passed -gt 0 ]] || { echo "no test ran" >&2; exit 1; }
