# onrecord: the two commands of the quick start are `make demo` and `make test`.
# Each first installs the Debian packages it needs (apt-get as root; otherwise it prints the
# command to run and stops).

CARGO ?= cargo
# dbus-daemon: the private buses of the demo and tests; systemd: busctl, the non-Rust client,
# and systemd-analyze, which verifies the installed unit; man-db: renders the installed man
# pages; chromium: opens the evidence report in a test; espeak-ng: the voices of the call
# analysis's corpus; libglib2.0-bin: gdbus, a reference D-Bus peer for the round-trip bench;
# flac: `flac -5`, the FLAC plugin's reference in the bench (and, with espeak-ng, what makes the
# announcement clips, whose reproduction a test checks); age: the reference implementation the
# encryption at rest is checked against; python3-venv: target/pyenv, where scripts/pyenv.sh
# installs the PyPI packages the tests check onrecord against (tests/python/requirements.txt); scripts/tools.sh
# builds s3s-fs (crates.io) into target/tools, the S3 server that checks signatures. BUILD_DEBS: what the live capture
# plugin (cpal: ALSA and PipeWire) builds against, and cmake, which builds the FLAC plugin's libFLAC; openssl: the
# program that makes the private CA of the archive's HTTPS test. PW_DEBS: a headless PipeWire for the live tests,
# the demo and the benchmarks, with the reference recorders (pw-record, parecord, arecord).
# SOUND_DEBS: real recorded IVR prompts and hold music (CC BY-SA 3.0) for the corpus's calls
# shaped like real ones. APP_DEBS: the desktop app's tests: a headless X server, AT-SPI from
# Python (which drives the window), ImageMagick's `import` (screenshots), xdotool (resizes it), GTK's GStreamer media
# backend and its WAV and FLAC decoders (the app's player), gettext (the catalogue), and the
# .desktop and AppStream validators. The app builds against GTK 4 and libadwaita (BUILD_DEBS).
SOUND_DEBS := asterisk-core-sounds-en-wav asterisk-moh-opsound-wav
BUILD_DEBS := pkg-config libasound2-dev libpipewire-0.3-dev libclang-dev cmake libgtk-4-dev libadwaita-1-dev
APP_DEBS   := xvfb python3-pyatspi gir1.2-atspi-2.0 imagemagick xdotool libgtk-4-media-gstreamer gstreamer1.0-plugins-good gettext desktop-file-utils appstream
PW_DEBS    := pipewire pipewire-pulse wireplumber pipewire-alsa pulseaudio-utils alsa-utils
DEMO_DEBS  := dbus-daemon $(BUILD_DEBS)
TEST_DEBS  := dbus-daemon systemd man-db chromium espeak-ng flac age python3-venv openssl $(SOUND_DEBS) $(BUILD_DEBS) $(PW_DEBS) $(APP_DEBS)
BENCH_DEBS := dbus-daemon espeak-ng libglib2.0-bin flac python3-venv $(SOUND_DEBS) $(BUILD_DEBS) $(PW_DEBS) stress-ng xvfb

.PHONY: build demo test fuzz bench reliability introspection po clean install uninstall

build:
	scripts/deps.sh $(BUILD_DEBS)
	$(CARGO) build --workspace --bins --lib

demo:
	scripts/deps.sh $(DEMO_DEBS)
	$(CARGO) build --workspace --bins --lib
	scripts/demo.sh

# The integration suite runs the workspace's own binaries: build them first. The fuzzers'
# committed regression inputs run here (on stable); the fuzzers themselves in `make fuzz`.
test:
	scripts/deps.sh $(TEST_DEBS)
	CARGO=$(CARGO) scripts/test-build.sh
	scripts/test.sh

# Each cargo fuzz target for CI_FUZZ_SECONDS (nightly and cargo-fuzz, installed when missing;
# the sanitizer build takes minutes). `.ci/run` calls it after `make test`.
fuzz:
	@if cargo +nightly --version >/dev/null 2>&1; then scripts/fuzz.sh $(CI_FUZZ_SECONDS); \
	else echo "fuzz: not run: no nightly toolchain (rustup toolchain install nightly)"; fi

# The reliability suite at full size: 20 recordings killed at random moments, a full disk, a
# clean shutdown, the D-Bus bad-input sweep, misbehaving plugins, and each fuzz target for
# FUZZ_SECONDS. `make test` runs a bounded form (4 kills), `make fuzz` CI_FUZZ_SECONDS per
# fuzz target.
FUZZ_SECONDS    ?= 300
CI_FUZZ_SECONDS ?= 15
reliability:
	scripts/deps.sh $(TEST_DEBS)
	$(CARGO) build --workspace --bins --lib
	$(CARGO) build --manifest-path plugins/testing/Cargo.toml --target-dir target/testplugins
	ONRECORD_RELIABILITY=full $(CARGO) test -p onrecord-tests --test tests -- --nocapture reliability:: bad_input:: plugins::
	$(CARGO) test -p onrecordd --lib fuzz_regressions
	scripts/fuzz.sh $(FUZZ_SECONDS)

bench:
	scripts/deps.sh $(BENCH_DEBS)
	rm -rf target/bench
	$(CARGO) build --release --workspace --bins --lib
	scripts/pyenv.sh
	$(CARGO) bench -p onrecordd --bench laws
	$(CARGO) bench -p onrecord-tests --bench reload
	$(CARGO) bench -p onrecord-tests --bench desktop
	$(CARGO) bench -p onrecord-tests --bench evidence
	$(CARGO) bench -p onrecord-tests --bench flac
	$(CARGO) bench -p onrecord-tests --bench archive
	scripts/bench-capture.py
	scripts/bench-app.py
	$(CARGO) run --release -q -p onrecord-corpus -- --set test --rows target/bench/corpus.json
	scripts/bench-table.py

# After a deliberate change of the D-Bus interface: regenerate the committed XML.
introspection:
	$(CARGO) build --workspace --bins --lib
	ONRECORD_UPDATE_INTROSPECTION=1 $(CARGO) test -p onrecord-tests --test tests introspection

# After changing a translatable string of the app: regenerate its template and English
# catalogue (a test checks they are current).
po:
	scripts/deps.sh gettext
	scripts/po.sh

clean:
	$(CARGO) clean

# `make install PREFIX=/usr DESTDIR=/tmp/stage`: binaries, plugins, law tables, the systemd user
# unit and the D-Bus session service file (activation), the introspection XML, man pages,
# completions for bash, zsh and fish, and a commented sample configuration. PROFILE=dev
# installs the debug build (the install test does).
PREFIX  ?= /usr/local
DESTDIR ?=
PROFILE ?= release
OUT     := target/$(if $(filter dev,$(PROFILE)),debug,$(PROFILE))
BINDIR  := $(PREFIX)/bin
DATADIR := $(PREFIX)/share
PLUGINS := capture_cpal capture_file storage_wav storage_flac
ASSETS  := $(OUT)/assets

install:
	scripts/deps.sh $(BUILD_DEBS) gettext
	$(CARGO) build --profile $(PROFILE) --workspace --bins --lib
	rm -rf $(ASSETS)
	$(OUT)/onrecordd-assets $(ASSETS)
	$(OUT)/onrecordctl generate-assets $(ASSETS)
	install -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(PREFIX)/lib/onrecord/plugins
	install -m 755 $(OUT)/onrecordd $(OUT)/onrecordctl $(OUT)/onrecord $(DESTDIR)$(BINDIR)/
	install -D -m 755 $(OUT)/onrecord-mic $(DESTDIR)$(PREFIX)/libexec/onrecord/onrecord-mic
	install -m 755 $(OUT)/onrecord-archive $(DESTDIR)$(PREFIX)/libexec/onrecord/
	install -m 644 $(OUT)/libonrecord_mic.so $(DESTDIR)$(PREFIX)/libexec/onrecord/
	for p in $(PLUGINS); do install -m 644 $(OUT)/libonrecord_$$p.so $(DESTDIR)$(PREFIX)/lib/onrecord/plugins/; done
	install -d $(DESTDIR)$(DATADIR)/onrecord
	rm -rf $(DESTDIR)$(DATADIR)/onrecord/laws
	cp -R laws $(DESTDIR)$(DATADIR)/onrecord/laws
	chmod -R go-w,a+rX $(DESTDIR)$(DATADIR)/onrecord/laws
	install -D -m 644 dist/config.toml $(DESTDIR)$(DATADIR)/doc/onrecord/config.toml
	install -d $(DESTDIR)$(PREFIX)/lib/systemd/user $(DESTDIR)$(DATADIR)/dbus-1/services
	sed 's|@bindir@|$(BINDIR)|g' dist/onrecordd.service.in > $(DESTDIR)$(PREFIX)/lib/systemd/user/onrecordd.service
	sed 's|@bindir@|$(BINDIR)|g' dist/org.onrecord.OnRecord1.service.in > $(DESTDIR)$(DATADIR)/dbus-1/services/org.onrecord.OnRecord1.service
	chmod 644 $(DESTDIR)$(PREFIX)/lib/systemd/user/onrecordd.service $(DESTDIR)$(DATADIR)/dbus-1/services/org.onrecord.OnRecord1.service
	install -D -m 644 dist/org.onrecord.OnRecord.desktop $(DESTDIR)$(DATADIR)/applications/org.onrecord.OnRecord.desktop
	install -D -m 644 dist/icons/org.onrecord.OnRecord.svg $(DESTDIR)$(DATADIR)/icons/hicolor/scalable/apps/org.onrecord.OnRecord.svg
	install -D -m 644 dist/org.onrecord.OnRecord.metainfo.xml $(DESTDIR)$(DATADIR)/metainfo/org.onrecord.OnRecord.metainfo.xml
	for l in $$(cat app/po/LINGUAS); do \
	  install -d $(DESTDIR)$(DATADIR)/locale/$$l/LC_MESSAGES; \
	  msgfmt --check -o $(DESTDIR)$(DATADIR)/locale/$$l/LC_MESSAGES/onrecord.mo app/po/$$l.po; \
	done
	install -d $(DESTDIR)$(DATADIR)/dbus-1/interfaces $(DESTDIR)$(DATADIR)/man/man1
	install -m 644 docs/dbus/*.xml $(DESTDIR)$(DATADIR)/dbus-1/interfaces/
	install -m 644 $(ASSETS)/man1/*.1 $(DESTDIR)$(DATADIR)/man/man1/
	for b in onrecordd onrecordctl; do \
	  install -D -m 644 $(ASSETS)/completions/$$b.bash $(DESTDIR)$(DATADIR)/bash-completion/completions/$$b; \
	  install -D -m 644 $(ASSETS)/completions/_$$b $(DESTDIR)$(DATADIR)/zsh/site-functions/_$$b; \
	  install -D -m 644 $(ASSETS)/completions/$$b.fish $(DESTDIR)$(DATADIR)/fish/vendor_completions.d/$$b.fish; \
	done

uninstall:
	rm -f $(DESTDIR)$(BINDIR)/onrecordd $(DESTDIR)$(BINDIR)/onrecordctl $(DESTDIR)$(BINDIR)/onrecord
	rm -f $(DESTDIR)$(DATADIR)/applications/org.onrecord.OnRecord.desktop $(DESTDIR)$(DATADIR)/icons/hicolor/scalable/apps/org.onrecord.OnRecord.svg $(DESTDIR)$(DATADIR)/metainfo/org.onrecord.OnRecord.metainfo.xml
	for l in $$(cat app/po/LINGUAS); do rm -f $(DESTDIR)$(DATADIR)/locale/$$l/LC_MESSAGES/onrecord.mo; done
	rm -rf $(DESTDIR)$(PREFIX)/lib/onrecord $(DESTDIR)$(PREFIX)/libexec/onrecord $(DESTDIR)$(DATADIR)/onrecord $(DESTDIR)$(DATADIR)/doc/onrecord
	rm -f $(DESTDIR)$(PREFIX)/lib/systemd/user/onrecordd.service $(DESTDIR)$(DATADIR)/dbus-1/services/org.onrecord.OnRecord1.service
	rm -f $(DESTDIR)$(DATADIR)/dbus-1/interfaces/org.onrecord.*.xml $(DESTDIR)$(DATADIR)/man/man1/onrecordd.1 $(DESTDIR)$(DATADIR)/man/man1/onrecordctl*.1
	for b in onrecordd onrecordctl; do \
	  rm -f $(DESTDIR)$(DATADIR)/bash-completion/completions/$$b $(DESTDIR)$(DATADIR)/zsh/site-functions/_$$b $(DESTDIR)$(DATADIR)/fish/vendor_completions.d/$$b.fish; \
	done
