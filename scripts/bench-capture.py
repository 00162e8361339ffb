#!/usr/bin/env python3
"""Live-capture benchmark (make bench): onrecordd recording two live PipeWire sources (a
microphone and the far side's monitor) to WAV, side by side with the reference recorders on
the same sources, in the same run: pw-record, parecord --latency-msec=100 and arecord, one
process per source; and onrecordd recording the same to FLAC (target: at most 1.25x its CPU
recording to WAV). Each runs alone for the same window over a private headless PipeWire, fed
calls: the call analysis's corpus at 48 kHz over a telephone line (speech, hold music, ring
tones, silence), the caller on the microphone and the far side on the other source. Once more,
for context, onrecordd to WAV and to FLAC fed full-scale white noise (FLAC's worst case).

Measured per recorder, over the window (after a one-second settle):
  CPU      time on a CPU of all their threads, from /proc/PID/task/*/schedstat
  memory   peak resident set (VmHWM) of the process(es)
  wakeups  voluntary context switches of all their threads, from /proc/PID/task/*/status
  server   CPU time of the sound server's processes (pipewire, wireplumber, pipewire-pulse)
           over the same window: part of a recorder's cost lives there (parecord's graph work
           is done by pipewire-pulse), so each recorder's whole cost is its own plus the
           server's above what the server spends with no recorder at all (measured alone,
           the feed still playing: for the one node and onrecordd, the mean of the idle
           windows just before and just after each, so a steady drift of the machine's speed
           cancels; for the others, the round's last idle window)
One more recorder: a single pw-record node with two input channels, the two sources linked to
it by hand (pw-link): what PipeWire's own recorder needs to capture and write both sides in one
node, the reference of the CPU targets (onrecordd at most 1.0x its CPU, and its whole cost at
most 1.0x that node's whole cost; peak memory at most 1.0x and wakeups at most 0.5x two
pw-records).
onrecord's figures are the daemon's, with its virtual microphone (the announcement node,
`onrecord_mic`, which a call runs on a thread of the daemon; checked present in every round;
no softphone reads it there, so it carries nothing and the graph does not run it, as when the
softphone reads the real microphone),
and any helper process of the daemon's counted with it; the daemon alone is shown for context. Also counted: onrecord's
PipeWire nodes while it records both sides (target 1) and the daemon's threads that woke at least
once a second (one PipeWire data thread for both sides).
Then onrecordd records while both cores are loaded by stress-ng, without real-time priority,
and the frames it lost are read from the call's sealed manifest.

Every recorder (and the idle server) is measured in BENCH_REPEAT rounds, in turn, and each
figure is the median of its rounds, the CPU's range shown beside it. A round: the idle server,
the one node, the idle server, onrecordd to WAV, the idle server, then onrecordd to FLAC and the
other recorders; every other round the one node and onrecordd swap places and onrecordd to FLAC
comes first, so no recorder gains from its place. The CPU ratios of the targets are paired:
each round's ratio between two recorders measured close together (the one node and onrecordd
to WAV one idle window apart, onrecordd to WAV and to FLAC likewise), their median over the
rounds; the machine's speed drifts between rounds, and a neighbour in time shares the drift.

Environment: BENCH_SMAPS (a directory: the daemon's /proc/PID/smaps of each round is kept
there), BENCH_SECONDS (default 45), BENCH_REPEAT (default 4: an even count, so each order comes as often), BENCH_STRESS_SECONDS
(default 600; 0 skips it).
"""
import functools, json, os, re, shutil, signal, struct, subprocess, sys, tempfile, time, wave

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
REL = os.path.join(ROOT, "target", "release")
SECONDS = float(os.environ.get("BENCH_SECONDS", "45"))
STRESS = float(os.environ.get("BENCH_STRESS_SECONDS", "600"))
REPEAT = max(1, int(os.environ.get("BENCH_REPEAT", "4")))
RATE = 48000


def wav_header(f, n):
    f.write(b"RIFF" + struct.pack("<I", 36 + n * 4) + b"WAVEfmt ")
    f.write(struct.pack("<IHHIIHH", 16, 1, 2, RATE, RATE * 4, 4, 16))
    f.write(b"data" + struct.pack("<I", n * 4))


def noise(path, seconds):
    """A stereo 16-bit clip of full-scale white noise: what no codec can compress, FLAC's worst
    case (for context only; its left feeds the microphone, its right the far side)."""
    n = int(seconds * RATE)
    with open(path, "wb") as f:
        wav_header(f, n)
        block = os.urandom(RATE * 4)
        for i in range(int(seconds)):
            f.write(block)
        f.write(block[: (n - int(seconds) * RATE) * 4])


@functools.cache
def corpus():
    """The call analysis's corpus calls (dev seeds 1-6, over a telephone line, at 48 kHz), each
    as stereo 16-bit frames (left the caller, right the far side): made once per run."""
    tmp = tempfile.mkdtemp(prefix="onrecord-bench-calls-")
    try:
        subprocess.run([os.path.join(REL, "onrecord-corpus"), "--set", "dev", "--seeds", "1-6",
                        "--rendering", "48000-phone", "--out", tmp], check=True, stdout=subprocess.DEVNULL)
        pcm = []
        for name in sorted(os.listdir(tmp)):
            if name.endswith(".wav"):
                with wave.open(os.path.join(tmp, name)) as w:
                    assert (w.getnchannels(), w.getsampwidth(), w.getframerate()) == (2, 2, RATE), name
                    pcm.append(w.readframes(w.getnframes()))
        return pcm
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def calls(path, seconds):
    """A stereo 16-bit clip of calls (left the caller, who feeds the microphone; right the far
    side): the corpus's calls (speech, hold music, ring tones and silence) end to end and again
    until `seconds`. What a recorder of calls records, and what FLAC's cost depends on."""
    n, left = int(seconds * RATE), int(seconds * RATE) * 4
    with open(path, "wb") as f:
        wav_header(f, n)
        while left > 0:
            for block in corpus():
                f.write(block[:left])
                left -= min(left, len(block))


class World:
    def __init__(self):
        self.dir = tempfile.mkdtemp(prefix="onrecord-bench-")
        run = os.path.join(self.dir, "run")
        os.makedirs(run, mode=0o700)
        for d in ("home", "config", "data"):
            os.makedirs(os.path.join(self.dir, d))
        out = subprocess.run(["dbus-daemon", "--session", "--fork", "--print-address=1", "--print-pid=1"],
                             capture_output=True, text=True, check=True).stdout.split()
        self.bus_pid = int(out[1])
        self.env = {"PATH": os.environ["PATH"], "HOME": os.path.join(self.dir, "home"),
                    "XDG_RUNTIME_DIR": run, "XDG_CONFIG_HOME": os.path.join(self.dir, "config"),
                    "DBUS_SESSION_BUS_ADDRESS": out[0], "RUST_LOG": "warn"}
        self.procs = []
        for server in ("pipewire", "wireplumber", "pipewire-pulse"):
            self.procs.append(self.spawn([server], log=server))
            if server == "pipewire":
                self.wait(lambda: os.path.exists(os.path.join(run, "pipewire-0")))
        self.wait(lambda: self.ok(["pactl", "info"]))
        self.run(["pactl", "load-module", "module-null-sink", "sink_name=far_side", "channels=1", "rate=48000"])
        self.run(["pactl", "load-module", "module-null-sink", "sink_name=mic_line", "channels=1", "rate=48000",
                  "sink_properties=priority.driver=30000"])
        self.run(["pactl", "load-module", "module-remap-source", "master=mic_line.monitor", "source_name=mic",
                  "channels=1", "rate=48000"])

    def spawn(self, argv, log=None):
        out = open(os.path.join(self.dir, (log or argv[0]) + ".log"), "w")
        return subprocess.Popen(argv, env=self.env, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)

    def ok(self, argv):
        return subprocess.run(argv, env=self.env, capture_output=True).returncode == 0

    def run(self, argv):
        for _ in range(40):
            if self.ok(argv):
                return
            time.sleep(0.25)
        sys.exit(f"failed: {' '.join(argv)}")

    def wait(self, cond, timeout=10):
        end = time.time() + timeout
        while time.time() < end:
            if cond():
                return
            time.sleep(0.05)
        sys.exit("timed out waiting for the sound server")

    def feed(self, seconds, make=calls):
        clip = os.path.join(self.dir, "feed.wav")
        make(clip, seconds)
        p = self.spawn(["pw-cat", "-p", "--target", "0", "-P",
                        "{ node.name=feed node.autoconnect=false node.dont-reconnect=true }", clip], log="feed")
        self.wait(lambda: "feed" in subprocess.run(["pw-cli", "ls", "Node"], env=self.env,
                                                   capture_output=True, text=True).stdout)
        self.run(["pw-link", "feed:output_FL", "mic_line:playback_MONO"])
        self.run(["pw-link", "feed:output_FR", "far_side:playback_MONO"])
        return p

    def close(self):
        for p in reversed(self.procs):
            p.kill()
            p.wait()
        os.kill(self.bus_pid, signal.SIGTERM)
        shutil.rmtree(self.dir, ignore_errors=True)


def children(parent, name):
    """The pids of `parent`'s children called `name`."""
    out = []
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            stat = open(f"/proc/{pid}/stat").read()
        except OSError:
            continue
        comm, rest = stat[stat.index("(") + 1:stat.rindex(")")], stat[stat.rindex(")") + 2:].split()
        if comm == name and int(rest[1]) == parent:
            out.append(int(pid))
    return out


def thread_switches(pid):
    """Each thread of `pid`: (name, voluntary switches, CPU seconds)."""
    out = {}
    for t in os.listdir(f"/proc/{pid}/task"):
        try:
            status = open(f"/proc/{pid}/task/{t}/status").read()
            cpu = int(open(f"/proc/{pid}/task/{t}/schedstat").read().split()[0]) / 1e9
        except OSError:
            continue
        name = re.search(r"Name:\s+(.*)", status).group(1)
        out[t] = (name, int(re.search(r"voluntary_ctxt_switches:\s+(\d+)", status).group(1)), cpu)
    return out


def sample(pids):
    """(cpu seconds, voluntary switches, peak RSS KiB) summed over processes. CPU time is each
    thread's time on a CPU from the scheduler (/proc/PID/task/TID/schedstat, nanoseconds),
    not the tick-sampled utime+stime of /proc/PID/stat: at a fraction of a percent of a core,
    10 ms ticks are too coarse to compare recorders by."""
    cpu = vol = hwm = 0
    for pid in pids:
        for t in os.listdir(f"/proc/{pid}/task"):
            try:
                cpu += int(open(f"/proc/{pid}/task/{t}/schedstat").read().split()[0]) / 1e9
                m = re.search(r"voluntary_ctxt_switches:\s+(\d+)", open(f"/proc/{pid}/task/{t}/status").read())
                vol += int(m.group(1))
            except OSError:
                pass
        hwm += int(re.search(r"VmHWM:\s+(\d+)", open(f"/proc/{pid}/status").read()).group(1))
    return cpu, vol, hwm


SERVER = []


def measure(pids, seconds, during=None):
    time.sleep(1)
    a, sa = sample(pids), sample(SERVER)
    each = {pid: sample([pid]) for pid in pids}
    time.sleep(seconds)
    b, sb = sample(pids), sample(SERVER)
    by_pid = {pid: (sample([pid])[0] - each[pid][0], sample([pid])[2]) for pid in pids}
    return {"cpu_s": b[0] - a[0], "wakeups": b[1] - a[1], "peak_kib": b[2], "server_cpu_s": sb[0] - sa[0],
            "by_pid": by_pid}


def ctl(w, *args):
    return subprocess.run([os.path.join(REL, "onrecordctl"), *args], env=w.env, capture_output=True, text=True, check=True).stdout


def onrecordd(w, seconds, stress=False, storage="storage-wav"):
    cfg = os.path.join(w.dir, "config.toml")
    data = os.path.join(w.dir, "data", str(time.time()))
    with open(cfg, "w") as f:
        f.write(f'jurisdiction = "US-TX"\n[capture]\nmicrophone = "pipewire:mic"\nfar_side = "pipewire:far_side"\nstorage = "{storage}"\n')
    d = w.spawn([os.path.join(REL, "onrecordd"), "--config", cfg, "--data-dir", data,
                 "--laws-dir", os.path.join(ROOT, "laws"), "--plugin-dir", REL], log="onrecordd")
    w.wait(lambda: w.ok([os.path.join(REL, "onrecordctl"), "status"]))
    ctl(w, "call", "new", "--them", "US-CA", "--label", "bench")
    ctl(w, "call", "notice")
    ctl(w, "call", "consent", "yes")
    ctl(w, "call", "start")
    load = None
    if stress:
        load = subprocess.Popen(["stress-ng", "--cpu", "2", "--timeout", f"{int(seconds) + 5}s", "--quiet"],
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    # The call runs onrecord's virtual microphone (the announcement node), on a thread of the
    # daemon; a helper process (as it once was) would be counted with the daemon.
    helpers = children(d.pid, "onrecord-mic")
    threads_before = thread_switches(d.pid)
    m = measure([d.pid] + helpers, seconds)
    threads_after = thread_switches(d.pid)
    if os.environ.get("BENCH_SMAPS"):
        # Where the daemon's memory is, mapping by mapping, for a look by hand.
        with open(f"/proc/{d.pid}/smaps") as src, open(os.path.join(os.environ["BENCH_SMAPS"], f"onrecordd-{storage}-{d.pid}.smaps"), "w") as dst:
            dst.write(src.read())
    m["daemon_cpu_s"], m["daemon_peak_kib"] = m.pop("by_pid")[d.pid]
    m["helpers"] = len(helpers)
    # Threads that woke at least once a second (the ones on the audio path), with their rate.
    # With each one's share of the daemon's CPU time, to see where it goes.
    rates = {tid: (name, (n - threads_before.get(tid, (name, 0, 0.0))[1]) / seconds,
                   cpu - threads_before.get(tid, (name, 0, 0.0))[2])
             for tid, (name, n, cpu) in threads_after.items()}
    m["busy_threads"] = sorted(f"{name} {r:.0f}/s {cpu * 1000 / seconds:.2f} ms/s"
                               for name, r, cpu in rates.values() if r >= 1)
    # Those woken at the graph's pace (at least 15 a second: the quantum onrecord asks for is
    # about 43 ms, 23 cycles a second; the mixer's own pace is 10 a second).
    m["graph_threads"] = sum(1 for _, r, _ in rates.values() if r >= 15)
    nodes = subprocess.run(["pw-cli", "ls", "Node"], env=w.env, capture_output=True, text=True).stdout
    m["nodes"] = nodes.count('node.name = "onrecord"')
    m["mic"] = nodes.count('node.name = "onrecord_mic"')
    ctl(w, "call", "stop")
    if load:
        load.kill()
        load.wait()
    calls = os.path.join(data, "calls")
    manifest = json.load(open(os.path.join(calls, os.listdir(calls)[0], "manifest.json")))
    d.send_signal(signal.SIGTERM)
    d.wait()
    cap = manifest["capture"]
    m["lost"] = cap["overruns"] + sum(s["frames_lost"] for s in cap["sources"])
    m["silent"] = sum(s["silent_frames"] for s in cap["sources"])
    m["frames"] = cap["frames_written"]
    m["drift"] = [s["drift_ppm"] for s in cap["sources"]]
    return m


def stop(ps):
    """Stops recorders as a user would (SIGINT), killing any that do not end within 5 s."""
    for p in ps:
        p.send_signal(signal.SIGINT)
    for p in ps:
        try:
            p.wait(timeout=5)
        except subprocess.TimeoutExpired:
            p.kill()


def pair(w, seconds, argvs):
    ps = [w.spawn(a, log=os.path.basename(a[0])) for a in argvs]
    try:
        return measure([p.pid for p in ps], seconds)
    finally:
        stop(ps)


def one_node(w, seconds, path):
    """One pw-record node of two channels, the microphone linked to its left input and the far
    side's monitor to its right (no session-manager linking: node.autoconnect=false)."""
    p = w.spawn(["pw-record", "--target", "0", "-P", "{ node.name=onrecord-bench-one node.autoconnect=false }",
                 "--channels", "2", "--rate", "48000", path], log="pw-record-one")
    try:
        ports = lambda: subprocess.run(["pw-link", "-i"], env=w.env, capture_output=True, text=True).stdout
        w.wait(lambda: "onrecord-bench-one:input_FR" in ports())
        w.run(["pw-link", "mic:capture_MONO", "onrecord-bench-one:input_FL"])
        w.run(["pw-link", "far_side:monitor_MONO", "onrecord-bench-one:input_FR"])
        return measure([p.pid], seconds)
    finally:
        stop([p])


def main():
    w = World()
    try:
        out = lambda n: os.path.join(w.dir, n)
        SERVER.extend(p.pid for p in w.procs)
        # Each ratio of a target is taken between recorders measured close together (see the
        # rounds below and `paired`).
        ONE, US, FLAC = "pw-record x1, both sources linked", "onrecordd (both sides, one process)", "onrecordd to FLAC"
        recorders = [
            (ONE, lambda: one_node(w, SECONDS, out("pw-one.wav"))),
            (US, lambda: onrecordd(w, SECONDS)),
            (FLAC, lambda: onrecordd(w, SECONDS, storage="storage-flac")),
            ("pw-record x2", lambda: pair(w, SECONDS, [
                ["pw-record", "--target", "mic", "--channels", "1", "--rate", "48000", out("pw1.wav")],
                ["pw-record", "--target", "far_side", "-P", "{ stream.capture.sink=true }", "--channels", "1", "--rate", "48000", out("pw2.wav")]])),
            ("parecord --latency-msec=100 x2", lambda: pair(w, SECONDS, [
                ["parecord", "--latency-msec=100", "-d", "mic", "--channels=1", "--rate=48000", "--file-format=wav", out("pa1.wav")],
                ["parecord", "--latency-msec=100", "-d", "far_side.monitor", "--channels=1", "--rate=48000", "--file-format=wav", out("pa2.wav")]])),
            ("arecord x2 (pipewire ALSA plugin)", lambda: pair(w, SECONDS, [
                ["arecord", "-q", "-D", "pipewire:NODE=mic", "-f", "S16_LE", "-r", "48000", "-c", "1", out("a1.wav")],
                ["arecord", "-q", "-D", "pipewire:NODE=far_side", "-f", "S16_LE", "-r", "48000", "-c", "1", out("a2.wav")]])),
        ]
        # Rounds of every recorder in turn (and the idle server), each figure the median of its
        # rounds: one window of a fraction of a percent of a core varies by a third and more
        # between runs on a shared machine.
        runs = {name: [] for name, _ in recorders}
        run = dict(recorders)
        # The server alone is measured in three windows a round, bracketing the one node and
        # onrecordd: each one's server extra is taken against the mean of the idle windows
        # just before and just after it. The server's CPU drifts with the machine's speed by
        # more than the extra a recorder adds (one window to the next by a fifth; the extras
        # are a tenth of that), so an idle on one side only carries the drift of a window
        # into the extra; the mean of both sides cancels a steady drift. The one node and
        # onrecordd swap places every other round, as do onrecordd to WAV and to FLAC (one
        # idle window apart either way), so neither gains from its place in the round.
        idles = []
        feed = w.feed((SECONDS + 2) * (len(recorders) + 3) * REPEAT + 60)
        idle = lambda: measure([], SECONDS)["server_cpu_s"]
        for rnd in range(REPEAT):
            first, second = (ONE, US) if rnd % 2 == 0 else (US, ONE)
            if rnd % 2:
                runs[FLAC].append(run[FLAC]())
            i0 = idle()
            runs[first].append(run[first]())
            i1 = idle()
            runs[second].append(run[second]())
            i2 = idle()
            idles.append((i0, i1, i2))
            for name, base in ((first, (i0 + i1) / 2), (second, (i1 + i2) / 2)):
                runs[name][-1]["idle_s"] = base
            if rnd % 2 == 0:
                runs[FLAC].append(run[FLAC]())
            # onrecordd to FLAC against the idle window beside it; the others (context only)
            # against the round's last.
            runs[FLAC][-1]["idle_s"] = i0 if rnd % 2 else i2
            for name, go in recorders:
                if name not in (ONE, US, FLAC):
                    runs[name].append(go())
                    runs[name][-1]["idle_s"] = i2
            print(f"round {rnd + 1} of {REPEAT}: " + ", ".join(f"{n.split(' (')[0]} {r[-1]['cpu_s']:.3f}" for n, r in runs.items()),
                  file=sys.stderr, flush=True)
        med = lambda xs: sorted(xs)[len(xs) // 2]  # of an even count, the upper middle one
        # A round's whole cost: the recorder's own CPU and the server's above its idle.
        for name, rs in runs.items():
            for x in rs:
                x["server_extra_s"] = x["server_cpu_s"] - x["idle_s"]
                x["whole_cpu_s"] = x["cpu_s"] + x["server_extra_s"]
        rows = {}
        for name, rs in runs.items():
            r = {k: med([x[k] for x in rs]) for k in ("cpu_s", "wakeups", "peak_kib", "server_cpu_s", "server_extra_s", "whole_cpu_s")}
            for k in ("daemon_cpu_s", "daemon_peak_kib"):
                if k in rs[0]:
                    r[k] = med([x[k] for x in rs])
            r["cpu_range"] = (min(x["cpu_s"] for x in rs), max(x["cpu_s"] for x in rs))
            rows[name] = r
        us_runs = runs[US]
        rows[US].update(
            frames=sum(x["frames"] for x in us_runs), lost=sum(x["lost"] for x in us_runs), drift=us_runs[-1]["drift"],
            nodes=max(x["nodes"] for x in us_runs), busy_threads=us_runs[-1]["busy_threads"],
            graph_threads=max(x["graph_threads"] for x in us_runs),
            helpers=max(x["helpers"] for x in us_runs), mic=min(x["mic"] for x in us_runs))
        feed.kill()
        print(f"\nLive capture, {SECONDS:.0f} s of two 48 kHz mono PipeWire sources to WAV (same run, one recorder at a time; "
              f"medians of {REPEAT} rounds)\n")
        print(f"{'recorder':<36} {'CPU s':>7} {'(range)':>11} {'CPU %':>6} {'peak MiB':>9} {'wakeups':>8} {'wakeups/s':>9} {'server+':>8} {'whole':>6}")
        for name, r in rows.items():
            lo, hi = r["cpu_range"]
            print(f"{name:<36} {r['cpu_s']:>7.3f} {f'{lo:.2f}-{hi:.2f}':>11} {100 * r['cpu_s'] / SECONDS:>6.2f} {r['peak_kib'] / 1024:>9.1f} {r['wakeups']:>8} {r['wakeups'] / SECONDS:>9.1f} {r['server_extra_s']:>8.2f} {r['whole_cpu_s']:>6.2f}")
        print(f"(server+: the sound server's CPU s above its idle, median of the rounds; whole: the recorder's own plus that; "
              f"the server alone, round by round, in the windows bracketing the one node and onrecordd: "
              f"{'; '.join(', '.join(f'{a:.2f}' for a in i) for i in idles)})")
        us, pw, pa = rows[US], rows["pw-record x2"], rows["parecord --latency-msec=100 x2"]
        ratio = lambda a, b: a / b if b else float("inf")
        one = rows[ONE]
        # The targets of the one-node issue, which replaced the live-capture issue's (0.5x the
        # CPU of two pw-records was below what PipeWire's own recorder needs for one node).
        # The CPU ratios are paired: the median over rounds of each round's ratio between two
        # recorders measured one after the other. This machine's speed drifts from minute to
        # minute (the same recorder's CPU varies by a factor of two between rounds), and a
        # ratio of two medians, each from rounds minutes apart, carries that drift; a ratio
        # of neighbours in time does not.
        def paired(a, b, key):
            rs = [ratio(x[key], y[key]) for x, y in zip(runs[a], runs[b])]
            print(f"  {key} of {a.split(' (')[0]} / {b.split(' (')[0]}, round by round: "
                  + ", ".join(f"{r:.2f}" for r in rs))
            return med(rs)
        print()
        checks = [
            ("CPU vs one pw-record node carrying both sources", paired(US, ONE, "cpu_s"), 1.0),
            ("whole CPU (own + server's) vs that node's whole", paired(US, ONE, "whole_cpu_s"), 1.0),
            ("peak memory vs pw-record x2", ratio(us["peak_kib"], pw["peak_kib"]), 1.0),
            ("wakeups vs pw-record x2", ratio(us["wakeups"], pw["wakeups"]), 0.5),
            ("CPU recording to FLAC vs to WAV", paired(FLAC, US, "cpu_s"), 1.25),
        ]
        print()
        for name, r, target in checks:
            print(f"{name:<32} {r:6.2f}x  (target <= {target}x)  {'met' if r <= target else 'NOT MET'}")
        print(f"whole cost (recorder + server) vs pw-record x2: {ratio(us['whole_cpu_s'], pw['whole_cpu_s']):.2f}x, "
              f"vs parecord x2: {ratio(us['whole_cpu_s'], pa['whole_cpu_s']):.2f}x (no target; for context)")
        print(f"onrecordd: {us['frames']} frames written, {us['lost']} lost, measured drift {us['drift']} ppm")
        print(f"the virtual microphone (onrecord_mic) present in every round: {'yes' if us['mic'] else 'NO'}; "
              f"helper processes counted with the daemon: {us['helpers']}; the daemon alone: CPU {ratio(us['daemon_cpu_s'], one['cpu_s']):.2f}x the one node, "
              f"peak memory {ratio(us['daemon_peak_kib'], pw['peak_kib']):.2f}x pw-record x2")
        print(f"onrecord's PipeWire nodes while recording both sides: {us['nodes']}; onrecordd's threads that woke "
              f"at least once a second: {', '.join(us['busy_threads'])}")
        table = [{"what": f"live capture ({SECONDS:.0f} s, two PipeWire sources): {name}", "measured": f"{r:.2f}x",
                  "target": f"<= {target}x", "met": r <= target} for name, r, target in checks]
        print(f"one pw-record node carrying both sources vs pw-record x2: CPU {ratio(one['cpu_s'], pw['cpu_s']):.2f}x, "
              f"peak memory {ratio(one['peak_kib'], pw['peak_kib']):.2f}x; onrecordd vs it, as a ratio of the medians "
              f"(unpaired): CPU {ratio(us['cpu_s'], one['cpu_s']):.2f}x (no target; for context)")
        table.append({"what": "live capture: onrecord's PipeWire nodes for both sides", "measured": str(us["nodes"]),
                      "target": "1", "met": us["nodes"] == 1})
        table.append({"what": "live capture: onrecordd's threads woken every graph cycle, for both sides",
                      "measured": f"{us['graph_threads']} (threads awake at least once a second: {', '.join(us['busy_threads'])})",
                      "target": "1", "met": us["graph_threads"] == 1})
        table.append({"what": "live capture: the announcement node (onrecord_mic) present while measured",
                      "measured": "yes" if us["mic"] else "no", "target": "yes", "met": bool(us["mic"])})
        table.append({"what": "live capture: the daemon alone (without helper processes), CPU vs the one node; peak memory vs pw-record x2",
                      "measured": f"{ratio(us['daemon_cpu_s'], one['cpu_s']):.2f}x; {ratio(us['daemon_peak_kib'], pw['peak_kib']):.2f}x",
                      "target": "", "met": None})
        table.append({"what": "live capture CPU: one pw-record node carrying both sources vs pw-record x2",
                      "measured": f"{ratio(one['cpu_s'], pw['cpu_s']):.2f}x", "target": "", "met": None})
        table.append({"what": "live capture CPU vs parecord x2", "measured": f"{ratio(us['cpu_s'], pa['cpu_s']):.2f}x",
                      "target": "", "met": None})
        for name, ref in [("pw-record x2", pw), ("parecord x2", pa)]:
            table.append({"what": f"live capture, whole CPU (own + sound server's share) vs {name}",
                          "measured": f"{ratio(us['whole_cpu_s'], ref['whole_cpu_s']):.2f}x", "target": "", "met": None})
        # FLAC's worst case, for context: full-scale white noise, which FLAC cannot compress and
        # libFLAC writes out sample by sample (one round, WAV then FLAC).
        feed = w.feed(2 * (SECONDS + 2) + 60, make=noise)
        nw, nf = onrecordd(w, SECONDS), onrecordd(w, SECONDS, storage="storage-flac")
        feed.kill()
        print(f"on full-scale white noise instead of calls (FLAC's worst case; one round, no target): "
              f"onrecordd to WAV {nw['cpu_s']:.3f} s, to FLAC {nf['cpu_s']:.3f} s, {ratio(nf['cpu_s'], nw['cpu_s']):.2f}x")
        table.append({"what": "live capture: CPU recording to FLAC vs to WAV on full-scale white noise (FLAC's worst case, one round)",
                      "measured": f"{ratio(nf['cpu_s'], nw['cpu_s']):.2f}x", "target": "", "met": None})
        if STRESS > 0:
            feed = w.feed(STRESS + 40)
            s = onrecordd(w, STRESS, stress=True)
            feed.kill()
            table.append({"what": f"frames lost in {STRESS:.0f} s under stress-ng --cpu 2", "measured": str(s["lost"]),
                          "target": "0", "met": s["lost"] == 0})
            print(f"\nUnder stress-ng --cpu 2 for {STRESS:.0f} s, no real-time priority: "
                  f"{s['frames']} frames written, {s['lost']} frames lost, {s['silent']} frames of silence filled "
                  f"(CPU {100 * s['cpu_s'] / STRESS:.2f} %, {s['wakeups'] / STRESS:.1f} wakeups/s)")
        out_dir = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "target", "bench")
        os.makedirs(out_dir, exist_ok=True)
        with open(os.path.join(out_dir, "capture.json"), "w") as f:
            json.dump(table, f, indent=1)
    finally:
        w.close()


if __name__ == "__main__":
    main()
