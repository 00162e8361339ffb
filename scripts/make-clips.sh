#!/bin/sh
# Makes onrecord's default announcement clips, mic/clips/<lang>-<what>.flac, from the texts in
# mic/clips/texts.tsv: espeak-ng speaks each text (22050 Hz, 16-bit mono) and `flac -8`
# stores it. Both tools are deterministic for a given version: the versions that made the
# committed clips are in mic/clips/VERSIONS, and `make test` checks that running this again
# with them gives the same bytes.
#
# Usage: scripts/make-clips.sh [OUT_DIR]   (default: mic/clips)
set -eu
here=$(cd "$(dirname "$0")/.." && pwd)
out=${1:-$here/mic/clips}
mkdir -p "$out"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
# texts.tsv: name, espeak-ng voice, words per minute, text (tab-separated; # comments).
grep -v '^#' "$here/mic/clips/texts.tsv" | while IFS='	' read -r name voice speed text; do
    [ -n "$name" ] || continue
    espeak-ng -v "$voice" -s "$speed" -w "$tmp/$name.wav" "$text"
    # No padding, no seek table, no vendor-dependent tags beyond the encoder's own.
    flac -s -f -8 --no-padding --no-seektable -o "$out/$name.flac" "$tmp/$name.wav"
done
{
    espeak-ng --version | head -n 1
    flac --version
} > "$out/VERSIONS"
