#!/usr/bin/python3
"""Drives onrecord's window as a person would, over AT-SPI (by accessible names), and checks
the daemon's state over D-Bus after each click.

Run by tests/app.rs, which gives it a private session bus (where onrecordd is D-Bus
activatable and not yet running), a headless X server, and in the environment:
ONRECORD_APP (the app), ONRECORD_CTL (onrecordctl), SHOTS (where screenshots go), CONFIG
(the config.toml the app edits), EXPORT (where to export the bundle).
"""

import os
import signal
import subprocess
import sys
import time

import pyatspi
from gi.repository import Gio, GLib

APP = os.environ["ONRECORD_APP"]
CTL = os.environ["ONRECORD_CTL"]
SHOTS = os.environ["SHOTS"]
CONFIG = os.environ["CONFIG"]
EXPORT = os.environ["EXPORT"]
NAME = "org.onrecord.OnRecord1"
ROOT = "/org/onrecord/OnRecord1"


def log(*what):
    print(*what, flush=True)


def wait(pred, what, timeout=20.0, step=0.02):
    """Polls `pred` until it is true (the tree changes under us: errors are retried)."""
    end = time.monotonic() + timeout
    last = None
    while time.monotonic() < end:
        try:
            v = pred()
            if v:
                return v
        except Exception as e:  # the accessible tree changed meanwhile
            last = e
        time.sleep(step)
    raise AssertionError(f"timed out waiting for {what} (last error: {last!r})")


# --- the daemon, over D-Bus ---------------------------------------------------------------

bus = Gio.bus_get_sync(Gio.BusType.SESSION, None)


def dcall(dest, path, iface, method, args=None):
    return bus.call_sync(dest, path, iface, method, args, None, 0, 10000, None).unpack()


def daemon_present():
    return dcall("org.freedesktop.DBus", "/org/freedesktop/DBus", "org.freedesktop.DBus",
                 "NameHasOwner", GLib.Variant("(s)", (NAME,)))[0]


def daemon_pid():
    return dcall("org.freedesktop.DBus", "/org/freedesktop/DBus", "org.freedesktop.DBus",
                 "GetConnectionUnixProcessID", GLib.Variant("(s)", (NAME,)))[0]


def calls():
    return dcall(NAME, ROOT, "org.onrecord.Calls1", "ListCalls")[0]


def the_call():
    (only,) = calls()
    return only


def prop(path, name):
    return dcall(NAME, path, "org.freedesktop.DBus.Properties", "Get",
                 GLib.Variant("(ss)", ("org.onrecord.Call1", name)))[0]


def state():
    return the_call()[2]


def kinds():
    return [e[3] for e in prop(the_call()[5], "Timeline")]


# --- the window, over AT-SPI ---------------------------------------------------------------


def app():
    desktop = pyatspi.Registry.getDesktop(0)
    found = next((a for a in desktop if a and a.name == "onrecord"), None)
    if found is None:
        raise LookupError(f"onrecord is not on the desktop: {[a.name for a in desktop if a]}")
    return found


def showing(a):
    """Visible (GTK 4.8 does not set `showing`; a hidden widget leaves the tree or loses this)."""
    return a.getState().contains(pyatspi.STATE_VISIBLE)


def find(role, name, root=None, timeout=20.0):
    """The showing control of `role` named `name` (roles as AT-SPI names them)."""
    def look():
        return pyatspi.findDescendant(
            root or app(),
            lambda a: a is not None and a.getRoleName() == role and a.name == name and showing(a))
    return wait(look, f"{role} {name!r}", timeout)


def gone(role, name):
    def look():
        return pyatspi.findDescendant(
            app(), lambda a: a is not None and a.getRoleName() == role and a.name == name
            and showing(a)) is None
    wait(look, f"{role} {name!r} to go", 20)


def click(name, role="push button"):
    find(role, name).queryAction().doAction(0)


def text_of(acc):
    t = acc.queryText()
    return t.getText(0, t.characterCount)


def status(description, timeout=20.0):
    """The status label described as `description` (its name is the text it shows)."""
    def look():
        return pyatspi.findDescendant(
            app(), lambda a: a is not None and a.getRoleName() == "label"
            and a.description == description and showing(a))
    return wait(look, f"label described {description!r}", timeout)


def label(description):
    """The text a status label shows."""
    return text_of(status(description))


def type_into(name, text):
    find("text", name).queryEditableText().setTextContents(text)


def shot(name):
    path = os.path.join(SHOTS, f"{name}.png")
    # Let the last change draw (GTK animates buttons for 250 ms).
    time.sleep(0.4)
    subprocess.run(["import", "-window", "root", path], check=True)
    log(f"screenshot {path}")


def page(name):
    """Switches the view (the header bar's switcher, or the bottom one when narrow)."""
    find("page tab", name).queryAction().doAction(0)


def expect_state(want, what):
    wait(lambda: state() == want, f"the call to be {want} after {what}")
    log(f"{what}: the daemon has the call {want}")


# --- the run -------------------------------------------------------------------------------


def main():
    proc = subprocess.Popen([APP, "--print-ready"], stdout=subprocess.PIPE, text=True)
    try:
        run(proc)
    except BaseException:
        raise
    finally:
        FINALLY.append(proc)


FINALLY = []


def run(proc):
    assert proc.stdout.readline().strip() == "ready", "the app did not become ready"
    wait(app, "the app on the accessibility bus", step=0.1)
    assert not daemon_present(), "the daemon must not run yet"

    # The daemon not running: the window says so and starts it (D-Bus activation).
    find("push button", "Start onrecord")
    shot("absent")
    click("Start onrecord")
    wait(daemon_present, "onrecordd to be activated")
    find("push button", "Create call")
    log("started: the daemon was activated from the window")
    shot("now-idle")

    # A call by hand to a Californian: all-party.
    type_into("Number to call", "+1 415 555 0100")
    type_into("Call label", "Acme billing")
    click("Create call")
    expect_state("awaiting-notice", "Create call")
    find("push button", "Tell them")
    assert "Do you agree?" in label("Next step"), label("Next step")
    assert "US-CA" in label("Other side"), label("Other side")
    find("list item", "Requirement All-party consent")
    shot("now-awaiting-notice")

    # A refusal is shown as what it is: the typed error's message, and nothing changes.
    type_into("Transfer to number", "not a number")
    click("Transfer")
    wait(lambda: label("Refusal").startswith("Refused: "), "the refusal in the window")
    refusal = label("Refusal")
    assert "number" in refusal.lower(), refusal
    expect_state("awaiting-notice", "a refused Transfer")
    shot("now-refused")
    # No PipeWire here: the notice cannot be played, and the window says why.
    click("Play the notice")
    wait(lambda: "PipeWire" in label("Refusal") or "announcement" in label("Refusal").lower(),
         "the announcement's failure in the window")
    log("Play the notice refused: " + label("Refusal"))
    expect_state("awaiting-notice", "a failed announcement")

    click("Tell them")
    expect_state("awaiting-consent", "Tell them")
    wait(lambda: pyatspi.findDescendant(
        app(), lambda a: a is not None and a.description == "Refusal" and showing(a)) is None,
        "the refusal to go")
    find("push button", "They refused")
    shot("now-awaiting-consent")

    click("They agreed")
    expect_state("ready", "They agreed")
    shot("now-ready")

    click("Start recording")
    expect_state("recording", "Start recording")
    wait(lambda: label("Recording time").startswith("Recording 0:0"), "the recording clock")
    type_into("Mark text", "refund of 40 dollars promised")
    click("Mark")
    wait(lambda: "mark" in kinds(), "the mark in the timeline")
    marks = [e[5] for e in prop(the_call()[5], "Timeline") if e[3] == "mark"]
    assert marks == ["refund of 40 dollars promised"], marks
    log("Mark: the daemon has the note in the timeline")
    shot("now-recording")

    click("Confirmed on tape")
    wait(lambda: "confirmed" in kinds(), "the confirmation in the timeline")
    log("Confirmed on tape: the daemon has the confirmation")
    click("Pause")
    expect_state("paused", "Pause")
    shot("now-paused")
    click("Resume")  # the large button, now
    expect_state("recording", "Resume")
    time.sleep(1.0)
    click("Stop")
    expect_state("stopped", "Stop")
    wait(lambda: "ended: stopped" in label("Last call"), "the ended call on the idle page")
    shot("now-ended")

    # The daemon goes away: the window survives and offers to start it again.
    os.kill(daemon_pid(), signal.SIGTERM)
    find("push button", "Start onrecord")
    assert proc.poll() is None, "the app died with the daemon"
    log("daemon gone: the window says so")
    click("Start onrecord")
    wait(daemon_present, "onrecordd to come back")
    find("push button", "Create call")
    log("daemon back: the window follows it")

    # Calls: the call, its page, verify, play, export.
    page("Calls")
    opener = find("push button", "Open Acme billing")
    shot("calls")
    opener.queryAction().doAction(0)
    wait(lambda: label("Call title") == "Acme billing", "the call's page")
    click("Verify")
    wait(lambda: label("Verification").startswith(("Verified", "NOT verified")), "verification")
    assert label("Verification").startswith("Verified"), label("Verification")
    log("Verify: " + label("Verification"))
    shot("call-page")
    controls = wait(lambda: pyatspi.findDescendant(
        app(), lambda a: a is not None and a.name.startswith("Player of")), "the player")
    play = wait(lambda: pyatspi.findDescendant(
        controls, lambda a: a is not None and a.getRoleName() == "push button"), "the play button")
    play.queryAction().doAction(0)
    # A few seconds of audio: it plays through to the end (a failure would say "Cannot play").
    wait(lambda: label("Player status") == "Played to the end", "the recording to play", 30)
    log("Play: the recording played to the end")
    click("Export…")
    dialog = wait(lambda: next(w for w in app() if w and w.name == "Export the call's evidence"),
                  "the export dialog")
    # GTK's own file chooser (no portal here).
    name = find("text", "Name:", root=dialog)
    name.queryEditableText().setTextContents(EXPORT)
    # GTK 4.8 names a dialog's buttons twice over ("Export Export"): match the first word.
    wait(lambda: pyatspi.findDescendant(
        dialog, lambda a: a is not None and a.getRoleName() == "push button"
        and a.name.split(" ")[0] == "Export"), "the dialog's Export button").queryAction().doAction(0)
    wait(lambda: label("Export").startswith("Exported to"), "the export", 60)
    out = subprocess.run([CTL, "verify", EXPORT], capture_output=True, text=True)
    assert out.returncode == 0, out.stdout + out.stderr
    log("Export: the bundle verifies with onrecordctl")

    # Check a number: Germany needs everyone's consent.
    page("Check a number")
    type_into("Number or place", "+49 30 1234567")
    click("Check")
    find("list item", "Requirement All-party consent")
    find("label", "+49301234567")
    shot("check")

    # Settings: the company's message as notice; config.toml keeps everything else.
    page("Settings")
    switch = find("check box", "A company's recorded message counts as notice")
    shot("settings")
    switch.queryAction().doAction(0)
    click("Save")
    wait(lambda: label("Settings status").startswith("Saved to"), "the settings saved")
    text = open(CONFIG).read()
    assert "accept_company_notice = true" in text, text
    assert 'source = "capture-file"' in text, text
    log("Settings: config.toml has the choice, and the rest as it was")
    assert proc.poll() is None, "the app exited"
    proc.terminate()
    proc.wait(10)

    # Dark, and as narrow as a phone: libadwaita's dark style, the switcher at the bottom.
    env = dict(os.environ, ADW_DEBUG_COLOR_SCHEME="prefer-dark")
    dark = subprocess.Popen([APP, "--print-ready"], stdout=subprocess.PIPE, text=True, env=env)
    FINALLY.append(dark)
    assert dark.stdout.readline().strip() == "ready", "the app did not become ready again"
    wait(lambda: sum(1 for w in app() if w is not None) >= 1, "the window again")
    find("push button", "Create call")
    windows = subprocess.run(["xdotool", "search", "--onlyvisible", "--name", "^onrecord$"],
                             capture_output=True, text=True, check=True).stdout.split()
    for window in windows:
        subprocess.run(["xdotool", "windowsize", window, "360", "720"], check=True)
    frame = next(w for w in app() if w is not None and w.getRoleName() == "frame")
    wait(lambda: frame.queryComponent().getExtents(pyatspi.WINDOW_COORDS).width <= 400,
         "the window to be narrow")
    # The narrow window's bottom switcher: its Calls tab works.
    page("Calls")
    find("push button", "Open Acme billing")
    page("Now")
    find("push button", "Create call")
    shot("narrow-dark")
    log("narrow and dark: the pages switch")
    log("done")


def dump(a, depth=0):
    """The showing part of the tree, for a failure's report."""
    try:
        if a.getRoleName() not in ("panel", "filler", "scroll bar", "image"):
            mark = "" if showing(a) else " (hidden)"
            log("  " * depth + f"{a.getRoleName()} {a.name!r} {a.description!r}{mark}")
        for child in a:
            if child is not None:
                dump(child, depth + 1)
    except Exception as e:
        log("  " * depth + f"({e!r})")


if __name__ == "__main__":
    try:
        main()
    except AssertionError as e:
        log(f"FAILED: {e}")
        try:
            subprocess.run(["import", "-window", "root", os.path.join(SHOTS, "failure.png")])
            dump(app())
        except Exception as e:
            log(f"(no tree: {e!r})")
        sys.exit(1)
    finally:
        for proc in FINALLY:
            if proc.poll() is None:
                proc.terminate()
                proc.wait(10)
