#!/bin/sh
# The Python packages the tests check onrecord against (tests/python/requirements.txt), in a
# virtual environment of the system's Python at target/pyenv; re-installed when the list changes.
set -eu
cd "$(dirname "$0")/.."
env=target/pyenv
req=tests/python/requirements.txt
if [ -x "$env/bin/python" ] && cmp -s "$req" "$env/requirements.txt"; then
  exit 0
fi
rm -rf "$env"
/usr/bin/python3 -m venv "$env"
"$env/bin/pip" install --quiet --disable-pip-version-check -r "$req"
cp "$req" "$env/requirements.txt"
