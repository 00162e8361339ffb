#!/bin/sh
# Regenerates the app's translation template (app/po/onrecord.pot) from its sources, and the
# English catalogue (app/po/en.po: every message as itself). Run after changing a translatable
# string (`make po`); a test checks both are current.
set -eu
cd "$(dirname "$0")/.."
# Where to write (a test writes elsewhere and compares).
out=${1:-app/po}
# xgettext has no Rust parser; C's reads tr("...") and trf("...", ...) calls alike. (It warns
# about Rust's lifetimes, which it takes for character constants: no string is on those lines.)
xgettext --from-code=UTF-8 --language=C --keyword=tr --keyword=trf \
  --package-name=onrecord --package-version=0.1.0 \
  --msgid-bugs-address=https://github.com/onrecord/onrecord/issues \
  --sort-output --add-location=file -o - -f app/po/POTFILES 2>/dev/null |
  # The creation date would change the file on every run.
  grep -v '^"POT-Creation-Date: ' > "$out/onrecord.pot"
msgen "$out/onrecord.pot" |
  sed -e 's/^"Language: \\n"$/"Language: en\\n"/' -e 's/charset=CHARSET/charset=UTF-8/' \
    -e '/^#, fuzzy$/d' -e 's/^"PO-Revision-Date: .*/"PO-Revision-Date: 2026-11-30 00:00+0000\\n"/' \
    -e 's/^"Last-Translator: .*/"Last-Translator: onrecord developers\\n"/' \
    -e 's/^"Language-Team: .*/"Language-Team: English\\n"/' > "$out/en.po"
msgfmt --check -o /dev/null "$out/en.po"
