#!/usr/bin/env bash
# What the tests run against, made before they start: the workspace's binaries and plugins, the
# misbehaving plugins of the plugin tests, the Python packages (scripts/pyenv.sh) and s3s-fs
# (scripts/tools.sh). The last two are made beside the workspace's build, not after it: the
# packages are a download, and s3s-fs's build fills the moments the workspace's leaves a core
# idle; on a clean clone that was about a minute of `make test`'s time.
set -uo pipefail
cd "$(dirname "$0")/.."
cargo=${CARGO:-cargo}
mkdir -p target
beside=(pyenv tools)
pids=()
for s in "${beside[@]}"; do
  scripts/$s.sh >"target/test-build-$s.log" 2>&1 &
  pids+=($!)
done
status=0
"$cargo" build --workspace --bins --lib || status=1
"$cargo" build --manifest-path plugins/testing/Cargo.toml --target-dir target/testplugins || status=1
for i in "${!beside[@]}"; do
  if ! wait "${pids[$i]}"; then
    echo "scripts/${beside[$i]}.sh failed:" >&2
    cat "target/test-build-${beside[$i]}.log" >&2
    status=1
  fi
done
exit "$status"
