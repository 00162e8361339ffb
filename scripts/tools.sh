#!/bin/sh
# The programs from crates.io the tests check onrecord against, built into target/tools:
# s3s-fs, an S3 server that checks every request's signature (presigned ones included), which
# moto does not. A debug build (about a minute on two cores); rebuilt when the pin changes.
set -eu
cd "$(dirname "$0")/.."
root=target/tools
pin="s3s-fs 0.14.1"
if [ -x "$root/bin/s3s-fs" ] && [ "$(cat "$root/pin" 2>/dev/null)" = "$pin" ]; then
  exit 0
fi
# --locked: the crate's own Cargo.lock, as its authors tested it.
cargo install --quiet s3s-fs --version 0.14.1 --locked --debug --features binary \
  --root "$root" --target-dir target/tools-build
rm -rf target/tools-build
echo "$pin" > "$root/pin"
