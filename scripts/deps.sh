#!/usr/bin/env bash
# Makes sure the Debian packages named as arguments are installed: installs the missing ones
# with apt-get when run as root, otherwise prints the exact command and fails.
set -euo pipefail

missing=()
for pkg in "$@"; do
  status=$(dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null || true)
  [[ "$status" == "install ok installed" ]] || missing+=("$pkg")
done

if ! command -v cargo >/dev/null 2>&1; then
  echo "cargo is not on PATH: install Rust (https://rustup.rs) and retry." >&2
  exit 1
fi

[[ ${#missing[@]} -eq 0 ]] && exit 0

cmd="apt-get install -y --no-install-recommends ${missing[*]}"
if [[ $(id -u) -eq 0 ]]; then
  echo "installing: ${missing[*]}" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >/dev/null
  $cmd >/dev/null
else
  echo "missing Debian packages: ${missing[*]}" >&2
  echo "run: sudo $cmd" >&2
  exit 1
fi
