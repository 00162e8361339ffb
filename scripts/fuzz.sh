#!/usr/bin/env bash
# Runs every cargo fuzz target (fuzz/) for SECONDS each (default 60), seeded with the shipped
# law tables and the committed regression inputs, and prints how many inputs each tried. A
# crash stops the run: its input is in fuzz/artifacts/<target>/; once fixed, copy it to
# fuzz/regressions/<target>/, where `cargo test` runs it on every build.
set -euo pipefail
secs="${1:-60}"
cd "$(dirname "$0")/../fuzz"
if ! cargo +nightly --version >/dev/null 2>&1; then
    echo "fuzz: cargo fuzz needs the nightly toolchain: run  rustup toolchain install nightly" >&2
    exit 1
fi
if ! cargo fuzz --version >/dev/null 2>&1; then
    cargo install --locked cargo-fuzz
fi
targets=(law_toml phone_number manifest plugin_abi pipewire_wire)
cargo +nightly fuzz build -O 2>&1 | tail -1
mkdir -p corpus/law_toml
cp -n ../laws/*.toml ../laws/numbering/*.toml corpus/law_toml/
summary=""
for t in "${targets[@]}"; do
    mkdir -p "corpus/$t"
    cp -n regressions/"$t"/* "corpus/$t/" 2>/dev/null || true
    log="$(mktemp)"
    if ! cargo +nightly fuzz run -O "$t" "corpus/$t" -- -max_total_time="$secs" -rss_limit_mb=2048 \
        -print_final_stats=1 >"$log" 2>&1; then
        grep -E "panicked|SUMMARY|Test unit written|ERROR" "$log" >&2 || tail -30 "$log" >&2
        echo "fuzz: $t found a crash (above)" >&2
        rm -f "$log"
        exit 1
    fi
    runs="$(grep -oE 'Done [0-9]+ runs' "$log" | tail -1 | grep -oE '[0-9]+')"
    summary+="$(printf '%-14s %10s inputs in %s s, no crash' "$t" "$runs" "$secs")"$'\n'
    rm -f "$log"
done
rm -rf /dev/shm/onrecord-fuzz-* 2>/dev/null || true
printf '%s' "$summary"
