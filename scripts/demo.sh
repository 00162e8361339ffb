#!/usr/bin/env bash
# make demo: onrecordd on its embedded defaults (the source tree's law tables), on a private
# session bus unless one is given, and a few decisions asked through onrecordctl.
set -euo pipefail
cd "$(dirname "$0")/.."
bin=${ONRECORD_BIN_DIR:-target/debug}
ctl="$bin/onrecordctl"
work=$(mktemp -d -t onrecord-demo-XXXXXX)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
}
trap cleanup EXIT

if [[ -z "${DBUS_SESSION_BUS_ADDRESS:-}" ]]; then
  { read -r addr; read -r buspid; } < <(dbus-daemon --session --fork --print-address=1 --print-pid=1)
  export DBUS_SESSION_BUS_ADDRESS=$addr
  pids+=("$buspid")
  echo "== a private session bus: $addr"
fi

if "$ctl" status >/dev/null 2>&1; then
  echo "== using the onrecordd already on this bus"
else
  # The demo's own config and data, so it touches nothing of yours. With a PipeWire server
  # running (a desktop), the call is recorded live: your default microphone on the left, and
  # on the right what your default output plays, where the demo plays the representative's
  # clip. Otherwise the audio comes from the two bundled clips, the customer (left) and the
  # representative (right), in real time.
  runtime=${XDG_RUNTIME_DIR:-/run/user/$(id -u)}
  # Where the daemon reads it, and the window's Settings edit it.
  conf="$work/config/onrecord/config.toml"
  mkdir -p "$(dirname "$conf")"
  if [[ -S "$runtime/pipewire-0" ]] && command -v pw-play >/dev/null 2>&1; then
    live=1
    cat > "$conf" <<CONF
jurisdiction = "US-TX"

# The demo's call is scripted: calls on this desktop are not proposed beside it.
[detect]
modem = false
pipewire = false
gnome_calls = false

[capture]
# capture-cpal, with its defaults: microphone = "default", far_side = "monitor"
storage = "storage-wav"
CONF
  else
    live=0
    cat > "$conf" <<CONF
jurisdiction = "US-TX"

[detect]
modem = false
pipewire = false
gnome_calls = false

[capture]
source = "capture-file"
storage = "storage-wav"

[capture.source_options]
left = "$PWD/demo/customer.wav"
right = "$PWD/demo/representative.wav"
pace = "realtime"
CONF
  fi
  XDG_CONFIG_HOME="$work/config" RUST_LOG=warn "$bin/onrecordd" \
    --config "$conf" --data-dir "$work/data" 2>"$work/onrecordd.log" &
  pids+=("$!")
  for _ in $(seq 100); do "$ctl" status >/dev/null 2>&1 && break; sleep 0.05; done
  echo "== onrecordd started (you are in Texas, US-TX)"
fi
echo
"$ctl" status
# With a display, the window follows the call as the script drives it.
app_pid=
if [[ -n "${DISPLAY:-}${WAYLAND_DISPLAY:-}" && -x "$bin/onrecord" ]]; then
  XDG_CONFIG_HOME="$work/config" "$bin/onrecord" 2>"$work/onrecord-app.log" &
  app_pid=$!
  pids+=("$app_pid")
  echo "== the window is open (onrecord): watch the call in it"
  sleep 1
fi
step() {
  echo
  echo "== $1"
  printf '$ onrecordctl'; printf ' %q' "${@:2}"; echo
  "$ctl" "${@:2}" || true
}
step "Texas calling Texas" laws check --me US-TX --them "+1 214 555 0100"
step "Texas calling California (area code 415)" laws check --me US-TX --them "+1 (415) 555-0100"
step "A toll-free customer service line: nobody knows where the agent sits" laws check --them "1-800-555-0199"
step "Michigan, where the courts disagree" laws check --me US-TX --them US-MI
step "In person in Oregon" laws check --me US-OR --them US-OR --medium in-person
step "Calling Germany" laws check --them "+49 30 1234567"
step "Where is an Australian (0)2 number?" laws lookup "+61 2 9999 0000"
step "A number that is not one" laws check --them "call me maybe"

echo
if [[ "${live:-0}" == 1 ]]; then
  echo "==== A whole call to a toll-free customer service line, recorded live: your microphone (left), and the representative's clip played to your speakers (right)"
  step "What can be recorded" devices
else
  echo "==== A whole call to a toll-free customer service line, recorded from demo/customer.wav and demo/representative.wav"
fi
step "Start the call" call new --them "+1 800 555 0199" --label "Acme billing"
step "Try to record before telling them: refused" call start
step "You said: I'd like to record this call for my records. Do you agree?" call notice
step "Try again before they answered: refused, and it says why" call start
step "They said yes" call consent yes
step "Record" call start
if [[ "${live:-0}" == 1 ]]; then
  pw-play "$PWD/demo/representative.wav" 2>/dev/null &
  pids+=("$!")
fi
sleep 7
step "They confirm on the recording" call confirm
sleep 4
step "Note the case number" call mark "case 12345"
step "Reading out a card number" call pause
sleep 1
step "Done with the card number" call resume
sleep 2
step "Transferred to a supervisor in California: recording holds" call transfer --them "+1 415 555 0100"
step "You tell the supervisor" call notice
step "The supervisor agrees: recording resumes" call consent yes
sleep 2
step "Hang up" call stop
step "The evidence" call show
if [[ -d "$work/data/calls" ]]; then
  echo
  echo "== The recording and its sealed evidence (kept; delete $work when done):"
  find "$work/data/calls" -type f -exec ls -l {} +
  dir=$(find "$work/data/calls" -mindepth 1 -maxdepth 1 -type d | head -n 1)
  step "Check the evidence: signature, hashes, hash chain" verify "$dir"
  step "Export it with a printable report" export "$(basename "$dir" | sed 's/.*_//')" --to "$work/evidence.zip"
fi
if [[ -n "$app_pid" ]]; then
  echo
  echo "== the window stays open: look at the call under Calls; close it to end the demo"
  wait "$app_pid" || true
fi
