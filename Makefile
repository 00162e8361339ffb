# onrecord: the two commands of the quick start are `make demo` and `make test`.
# Each first installs the Debian packages it needs (apt-get as root; otherwise it prints the
# command to run and stops).

CARGO ?= cargo
# dbus-daemon: the private buses of the demo and tests; systemd: busctl, the non-Rust client;
# chromium: opens the evidence report in a test; espeak-ng: the voices of the call analysis's
# corpus. BUILD_DEBS: what the live capture plugin
# (cpal: ALSA and PipeWire) builds against. PW_DEBS: a headless PipeWire for the live tests,
# the demo and the benchmarks, with the reference recorders (pw-record, parecord, arecord).
BUILD_DEBS := pkg-config libasound2-dev libpipewire-0.3-dev libclang-dev
PW_DEBS    := pipewire pipewire-pulse wireplumber pipewire-alsa pulseaudio-utils alsa-utils
DEMO_DEBS  := dbus-daemon $(BUILD_DEBS)
TEST_DEBS  := dbus-daemon systemd chromium espeak-ng $(BUILD_DEBS) $(PW_DEBS)
BENCH_DEBS := dbus-daemon espeak-ng $(BUILD_DEBS) $(PW_DEBS) stress-ng

.PHONY: build demo test bench introspection clean

build:
	scripts/deps.sh $(BUILD_DEBS)
	$(CARGO) build --workspace --bins --lib

demo:
	scripts/deps.sh $(DEMO_DEBS)
	$(CARGO) build --workspace --bins --lib
	scripts/demo.sh

# The integration suite runs the workspace's own binaries: build them first.
test:
	scripts/deps.sh $(TEST_DEBS)
	$(CARGO) build --workspace --bins --lib
	$(CARGO) build --manifest-path plugins/testing/Cargo.toml --target-dir target/testplugins
	scripts/test.sh

bench:
	scripts/deps.sh $(BENCH_DEBS)
	$(CARGO) build --release --workspace --bins --lib
	$(CARGO) bench -p onrecordd --bench laws
	$(CARGO) bench -p onrecord-tests --bench reload
	scripts/bench-capture.py
	$(CARGO) run --release -q -p onrecord-corpus -- --set test

# After a deliberate change of the D-Bus interface: regenerate the committed XML.
introspection:
	$(CARGO) build --workspace --bins --lib
	ONRECORD_UPDATE_INTROSPECTION=1 $(CARGO) test -p onrecord-tests --test tests introspection

clean:
	$(CARGO) clean
