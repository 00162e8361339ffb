#!/usr/bin/env bash
# Makes demo/customer.wav and demo/representative.wav, the committed clips `make demo`
# records: the two sides of a short customer service call, 16 kHz 16-bit mono, aligned (each
# is silent while the other speaks). capture-file plays them as the left and right channels.
# Synthesized speech (espeak-ng), so it can be regenerated: needs espeak-ng and sox.
set -euo pipefail
cd "$(dirname "$0")/.."
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
say() { espeak-ng -v "$1" -s 165 -w "$tmp/$2.raw.wav" "$3"; sox "$tmp/$2.raw.wav" -r 16000 -c 1 -b 16 "$tmp/$2.wav"; }
say en-us c1 "Hi, I'm calling about my bill. I'd like to record this call for my records. Do you agree?"
say en-gb r1 "Yes, that's fine. You may record this call."
say en-us c2 "Thank you. Could you confirm that on the recording?"
say en-gb r2 "I confirm that I agree to this call being recorded. Your case number is one two three four five."
sil() { sox -n -r 16000 -c 1 -b 16 "$tmp/$1.wav" trim 0 "$2"; }
sil s1 0.4
# Each side speaks in turn; the other side is silent meanwhile.
turns=(c1 r1 c2 r2)
left=() right=()
for t in "${turns[@]}"; do
  len=$(soxi -D "$tmp/$t.wav")
  sil "q$t" "$len"
  if [[ $t == c* ]]; then left+=("$tmp/$t.wav" "$tmp/s1.wav"); right+=("$tmp/q$t.wav" "$tmp/s1.wav");
  else left+=("$tmp/q$t.wav" "$tmp/s1.wav"); right+=("$tmp/$t.wav" "$tmp/s1.wav"); fi
done
sox "${left[@]}" -b 16 demo/customer.wav
sox "${right[@]}" -b 16 demo/representative.wav
soxi demo/customer.wav demo/representative.wav
