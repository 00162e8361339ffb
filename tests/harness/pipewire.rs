//! A headless PipeWire for one test, as on a desktop: pipewire, wireplumber and pipewire-pulse
//! on the test's private bus and runtime dir; a null sink `far_side` (the far side of a call:
//! what a softphone plays) and a virtual microphone `mic` (a source remapped from the monitor
//! of a null sink `mic_line`). A stereo clip played by one `pw-cat` feeds both: its left
//! channel into `mic_line`, its right into `far_side`, so the two advance together.

use crate::TestEnv;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// One real-time test at a time (a PipeWire, or timed sources paced by the clock): two at once
/// on a small machine (with the rest of the suite) starve each other.
static ONE_AT_A_TIME: std::sync::Mutex<()> = std::sync::Mutex::new(());

/// The turn of a test that runs in real time; hold it for the test's length.
pub fn realtime_turn() -> std::sync::MutexGuard<'static, ()> {
    ONE_AT_A_TIME.lock().unwrap_or_else(|p| p.into_inner())
}

pub struct PipeWire {
    _turn: std::sync::MutexGuard<'static, ()>,
    servers: Vec<Child>,
    feeds: Vec<Child>,
    env: Vec<(String, String)>,
    /// Where the servers' logs are (`pipewire.log`…).
    logs: std::path::PathBuf,
}

impl PipeWire {
    fn command(&self, program: &str) -> Command {
        let mut c = Command::new(program);
        c.env_clear().stdin(Stdio::null());
        for (k, v) in &self.env {
            c.env(k, v);
        }
        c
    }

    /// Runs a PipeWire tool to completion, retrying for up to 20 s (a server that has just
    /// started may answer "Host is down" once, and on a loaded machine pipewire-pulse took
    /// more than 5 s to accept); panics with its output if it never succeeds.
    pub fn run(&self, program: &str, args: &[&str]) -> String {
        let mut last = String::new();
        for _ in 0..80 {
            let out = self
                .command(program)
                .args(args)
                .output()
                .unwrap_or_else(|e| {
                    panic!("{program}: {e} (is PipeWire installed? `make test` installs it)")
                });
            if out.status.success() {
                return String::from_utf8_lossy(&out.stdout).into_owned();
            }
            last = format!(
                "{}{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            );
            std::thread::sleep(Duration::from_millis(250));
        }
        panic!("{program} {args:?} failed: {last}");
    }

    /// The server's socket.
    pub fn socket(&self) -> std::path::PathBuf {
        let run = self
            .env
            .iter()
            .find(|(k, _)| k == "XDG_RUNTIME_DIR")
            .map(|(_, v)| v.clone())
            .unwrap_or_default();
        Path::new(&run).join("pipewire-0")
    }

    /// Waits until PipeWire has a node named `name`.
    pub fn wait_node(&self, name: &str) {
        let deadline = Instant::now() + Duration::from_secs(10);
        let needle = format!("node.name = \"{name}\"");
        while Instant::now() < deadline {
            let out = self.command("pw-cli").args(["ls", "Node"]).output();
            if out.is_ok_and(|o| String::from_utf8_lossy(&o.stdout).contains(&needle)) {
                return;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        panic!("PipeWire node {name} did not appear");
    }

    /// Waits until a port of node `from` is linked to an input port of node `to`.
    pub fn wait_linked(&self, from: &str, to: &str) {
        let deadline = Instant::now() + Duration::from_secs(10);
        let (input, peer) = (format!("{to}:"), format!("|<- {from}:"));
        while Instant::now() < deadline {
            let out = self.run("pw-link", &["-l"]);
            let mut port = "";
            for line in out.lines() {
                if !line.starts_with(' ') {
                    port = line;
                } else if port.starts_with(&input) && line.trim_start().starts_with(&peer) {
                    return;
                }
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        panic!("{from} was never linked to {to}");
    }

    /// Starts the servers in `env`'s world and makes the two devices.
    pub fn start(env: &TestEnv) -> PipeWire {
        let root = env.dir.path();
        let mut pw = PipeWire {
            _turn: realtime_turn(),
            servers: Vec::new(),
            feeds: Vec::new(),
            logs: root.to_owned(),
            env: vec![
                ("PATH".into(), std::env::var("PATH").unwrap_or_default()),
                ("HOME".into(), root.join("home").display().to_string()),
                (
                    "XDG_CONFIG_HOME".into(),
                    root.join("config").display().to_string(),
                ),
                (
                    "XDG_DATA_HOME".into(),
                    root.join("data-home").display().to_string(),
                ),
                (
                    "XDG_RUNTIME_DIR".into(),
                    root.join("run").display().to_string(),
                ),
                ("DBUS_SESSION_BUS_ADDRESS".into(), env.bus.address.clone()),
            ],
        };
        // pipewire-pulse makes `$XDG_RUNTIME_DIR/pulse` when it finds none (stat, then mkdir),
        // and gives up if it appeared in between: a client (`pactl`, which the harness runs
        // while the server starts) makes it too. Made first, there is nothing to race for.
        let pulse = root.join("run/pulse");
        std::fs::create_dir_all(&pulse).unwrap();
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&pulse, std::fs::Permissions::from_mode(0o700)).unwrap();
        for server in ["pipewire", "wireplumber", "pipewire-pulse"] {
            let log = std::fs::File::create(root.join(format!("{server}.log"))).unwrap();
            let child = pw
                .command(server)
                .stdout(log.try_clone().unwrap())
                .stderr(log)
                .spawn()
                .unwrap_or_else(|e| {
                    panic!("{server}: {e} (is PipeWire installed? `make test` installs it)")
                });
            pw.servers.push(child);
            if server == "pipewire" {
                let socket = root.join("run/pipewire-0");
                let deadline = Instant::now() + Duration::from_secs(10);
                while !socket.exists() && Instant::now() < deadline {
                    std::thread::sleep(Duration::from_millis(50));
                }
                assert!(socket.exists(), "pipewire did not start");
            }
        }
        pw.run("pactl", &["info"]);
        pw.load_far_side();
        pw.run(
            "pactl",
            // The microphone's line drives the graph, so that unplugging the far side does not
            // hand the microphone's path to another driver (which re-buffers it).
            &[
                "load-module",
                "module-null-sink",
                "sink_name=mic_line",
                "channels=1",
                "rate=48000",
                "sink_properties=priority.driver=30000",
            ],
        );
        pw.run(
            "pactl",
            &[
                "load-module",
                "module-remap-source",
                "master=mic_line.monitor",
                "source_name=mic",
                "channels=1",
                "rate=48000",
            ],
        );
        pw.wait_node("far_side");
        pw.wait_node("mic");
        pw
    }

    /// Plays a stereo WAV: left into the microphone, right into the far side.
    pub fn play(&mut self, clip: &Path) {
        let child = self
            .command("pw-cat")
            .args([
                "-p",
                "--target",
                "0",
                "-P",
                "{ node.name=feed node.autoconnect=false node.dont-reconnect=true }",
            ])
            .arg(clip)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("pw-cat");
        self.feeds.push(child);
        self.wait_node("feed");
        self.run("pw-link", &["feed:output_FL", "mic_line:playback_MONO"]);
        self.run("pw-link", &["feed:output_FR", "far_side:playback_MONO"]);
    }

    /// Another microphone, `name`: a source remapped from the monitor of a null sink
    /// `<name>_line`, which a stream played to feeds.
    pub fn add_microphone(&self, name: &str) {
        self.run(
            "pactl",
            &[
                "load-module",
                "module-null-sink",
                &format!("sink_name={name}_line"),
                "channels=1",
                "rate=48000",
            ],
        );
        self.run(
            "pactl",
            &[
                "load-module",
                "module-remap-source",
                &format!("master={name}_line.monitor"),
                &format!("source_name={name}"),
                "channels=1",
                "rate=48000",
            ],
        );
        self.wait_node(name);
    }

    /// An application's audio stream, as `pw-cat` makes it: playing `clip` (to `target`, else
    /// the default sink), or capturing (from `target`, else the default source, into a file)
    /// when `capture`, with `application.name` and `media.role` set (its node is named
    /// `<application>-capture` or `-playback`). Returns its handle for
    /// `end_stream`.
    pub fn app_stream(
        &mut self,
        application: &str,
        role: &str,
        capture: bool,
        target: Option<&str>,
        clip: &Path,
    ) -> usize {
        let mut cmd = self.command("pw-cat");
        // Named after the application and direction ("Linphone-capture"), for `pw-link`.
        let node = format!(
            "{}-{}",
            application.replace(' ', "-"),
            if capture { "capture" } else { "playback" }
        );
        cmd.arg(if capture { "-r" } else { "-p" })
            .args(["--media-role", role, "-P"])
            .arg(format!(
                "{{ application.name = \"{application}\" node.name = \"{node}\" }}"
            ));
        if let Some(target) = target {
            cmd.args(["--target", target]);
        }
        if capture {
            cmd.args(["--rate", "48000", "--channels", "1"])
                .arg(clip.with_extension(format!("{application}.capture.wav")));
        } else {
            cmd.arg(clip);
        }
        let child = cmd
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("pw-cat");
        self.feeds.push(child);
        self.feeds.len() - 1
    }

    /// Plays `clip` into the microphone `microphone` (`mic`, or one `add_microphone` made),
    /// through its line sink. Returns the feed's handle.
    pub fn feed(&mut self, microphone: &str, clip: &Path) -> usize {
        let line = format!("{microphone}_line");
        self.app_stream(
            &format!("{microphone} feed"),
            "Production",
            false,
            Some(&line),
            clip,
        )
    }

    /// A softphone `application` in a call: its playback stream plays `clip` to the far
    /// side's sink, and its capture stream reads `microphone`. Returns the playback's handle.
    pub fn softphone(&mut self, application: &str, clip: &Path, microphone: &str) -> usize {
        let playback = self.app_stream(application, "Communication", false, Some("far_side"), clip);
        self.app_stream(application, "Communication", true, Some(microphone), clip);
        playback
    }

    /// Ends a stream `app_stream` made as a user would (SIGINT): a capture's file is
    /// finished.
    pub fn finish_stream(&mut self, handle: usize) {
        let child = &mut self.feeds[handle];
        let _ = Command::new("kill")
            .args(["-INT", &child.id().to_string()])
            .status();
        let deadline = Instant::now() + Duration::from_secs(5);
        while child.try_wait().ok().flatten().is_none() && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = child.kill();
        let _ = child.wait();
    }

    /// The configured default source (`default.configured.audio.source`): the node name
    /// its value names, or `None` when none is configured.
    pub fn configured_source(&self) -> Option<String> {
        let out = self.run("pw-metadata", &["0", "default.configured.audio.source"]);
        let value = out
            .lines()
            .find(|l| l.contains("key:'default.configured.audio.source'"))?;
        let after = &value[value.find("\"name\"")? + 6..];
        let start = after.find('"')? + 1;
        let end = start + after[start..].find('"')?;
        Some(after[start..end].to_owned())
    }

    /// Configures `name` as the default source, as a desktop's settings would.
    pub fn configure_source(&self, name: &str) {
        let value = format!("{{ \"name\": \"{name}\" }}");
        self.run(
            "pw-metadata",
            &[
                "0",
                "default.configured.audio.source",
                &value,
                "Spa:String:JSON",
            ],
        );
    }

    /// Waits until the configured default source is `want`; panics with what it is.
    pub fn wait_configured_source(&self, want: Option<&str>) {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let now = self.configured_source();
            if now.as_deref() == want {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "the configured default source is {now:?}, not {want:?}"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// Whether PipeWire has a node named `name` now.
    pub fn has_node(&self, name: &str) -> bool {
        self.count_nodes(name) > 0
    }

    /// How many nodes called `name` the graph holds.
    pub fn count_nodes(&self, name: &str) -> usize {
        let out = self.run("pw-cli", &["ls", "Node"]);
        out.matches(&format!("node.name = \"{name}\"")).count()
    }

    /// Moves the stream node `stream` to read from (or play to) the node `target`, as a
    /// desktop's sound settings do: the `target.object` metadata, which WirePlumber follows.
    pub fn move_stream(&self, stream: &str, target: &str) {
        let out = self.run("pw-cli", &["ls", "Node"]);
        let needle = format!("node.name = \"{stream}\"");
        // `pw-cli ls` prints "\tid N, type ..." and then the object's properties.
        let id = out
            .split("\tid ")
            .find(|object| object.contains(&needle))
            .and_then(|object| object.split(',').next())
            .unwrap_or_else(|| panic!("no node {stream}: {out}"));
        self.run("pw-metadata", &[id.trim(), "target.object", target]);
    }

    /// Ends a stream `app_stream` made.
    pub fn end_stream(&mut self, handle: usize) {
        let child = &mut self.feeds[handle];
        let _ = child.kill();
        let _ = child.wait();
    }

    /// Removes the far side's sink, as when a device is unplugged; returns the module id to
    /// bring it back with `restore_far_side`.
    pub fn unplug_far_side(&self) {
        let list = self.run("pactl", &["list", "short", "modules"]);
        let id = list
            .lines()
            .find(|l| l.contains("sink_name=far_side"))
            .and_then(|l| l.split_whitespace().next())
            .expect("the far_side module")
            .to_owned();
        self.run("pactl", &["unload-module", &id]);
    }

    /// The far side: a null sink, as a softphone's output.
    fn load_far_side(&self) {
        self.run(
            "pactl",
            &[
                "load-module",
                "module-null-sink",
                "sink_name=far_side",
                "channels=1",
                "rate=48000",
            ],
        );
    }

    /// Makes the far side's sink again and feeds it again from the clip's right channel.
    pub fn plug_far_side(&self) {
        self.load_far_side();
        self.wait_node("far_side");
        self.run("pw-link", &["feed:output_FR", "far_side:playback_MONO"]);
    }
}

impl Drop for PipeWire {
    fn drop(&mut self) {
        // A failing test says which server had exited and how, and ends each server's log.
        if std::thread::panicking() {
            for (server, c) in ["pipewire", "wireplumber", "pipewire-pulse"]
                .iter()
                .zip(self.servers.iter_mut())
            {
                if let Ok(Some(status)) = c.try_wait() {
                    eprintln!("--- {server} had exited: {status}");
                }
                let log = std::fs::read_to_string(self.logs.join(format!("{server}.log")))
                    .unwrap_or_default();
                let lines: Vec<&str> = log.lines().collect();
                let tail = lines[lines.len().saturating_sub(15)..].join("\n");
                eprintln!("--- the end of {server}'s log ---\n{tail}");
            }
        }
        for c in self.feeds.iter_mut().chain(self.servers.iter_mut().rev()) {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

/// A stereo 48 kHz clip of two different band-limited noises (below about 3 kHz, like a
/// phone line), `seconds` long, at `path`; returns (left, right).
pub fn two_voices(path: &Path, seconds: f64) -> (Vec<i16>, Vec<i16>) {
    let n = (seconds * 48_000.0) as usize;
    let noise = |seed: u32| {
        let mut x = seed;
        let mut poles = [0.0f64; 4];
        let a = 1.0 - (-std::f64::consts::TAU * 3000.0 / 48_000.0).exp();
        (0..n)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 17;
                x ^= x << 5;
                let mut v = (x as f64 / u32::MAX as f64) * 2.0 - 1.0;
                for p in poles.iter_mut() {
                    *p += a * (v - *p);
                    v = *p;
                }
                (v * 3.0 * 12_000.0).clamp(-32768.0, 32767.0) as i16
            })
            .collect::<Vec<i16>>()
    };
    let (l, r) = (noise(0x1357_9bdf), noise(0x2468_ace0));
    let spec = crate::STEREO_48K;
    let mut w = hound::WavWriter::create(path, spec).unwrap();
    for i in 0..n {
        w.write_sample(l[i]).unwrap();
        w.write_sample(r[i]).unwrap();
    }
    w.finalize().unwrap();
    (l, r)
}

/// Where `part` best matches inside `whole` (the lag of `part`'s first sample in `whole`), and
/// the normalized correlation there.
pub fn best_match(whole: &[f32], part: &[f32]) -> (usize, f64) {
    let n = (whole.len() + part.len()).next_power_of_two();
    let mut planner = realfft::RealFftPlanner::<f64>::new();
    let fwd = planner.plan_fft_forward(n);
    let inv = planner.plan_fft_inverse(n);
    let spectrum = |x: &[f32]| {
        let mut buf = vec![0.0f64; n];
        for (b, v) in buf.iter_mut().zip(x) {
            *b = *v as f64;
        }
        let mut out = fwd.make_output_vec();
        fwd.process(&mut buf, &mut out).unwrap();
        out
    };
    let (a, b) = (spectrum(whole), spectrum(part));
    let mut prod: Vec<_> = a.iter().zip(&b).map(|(x, y)| x * y.conj()).collect();
    let mut cc = vec![0.0f64; n];
    inv.process(&mut prod, &mut cc).unwrap();
    let max_lag = whole.len().saturating_sub(part.len());
    let lag = (0..=max_lag)
        .max_by(|&i, &j| cc[i].total_cmp(&cc[j]))
        .unwrap_or(0);
    let seg = &whole[lag..lag + part.len()];
    let dot = |x: &[f32], y: &[f32]| {
        x.iter()
            .zip(y)
            .map(|(a, b)| *a as f64 * *b as f64)
            .sum::<f64>()
    };
    // The correlation is band-limited in the lag like the signals: between whole lags it is
    // read by windowed-sinc interpolation, and its peak taken to a hundredth of a sample. A
    // recording placed on the monotonic clock lies a fraction of a sample off its clip's grid
    // (the fraction differs from run to run); at the whole lag only, a clip with content up
    // to 3 kHz half a sample off correlates at about 0.99.
    const TAPS: i64 = 16;
    let at = |x: f64| -> f64 {
        (-TAPS..=TAPS)
            .map(|j| {
                let t = x - j as f64;
                let sinc = |t: f64| {
                    if t.abs() < 1e-9 {
                        1.0
                    } else {
                        (std::f64::consts::PI * t).sin() / (std::f64::consts::PI * t)
                    }
                };
                let i = (lag as i64 + j).rem_euclid(n as i64) as usize;
                cc[i] * sinc(t) * sinc(t / TAPS as f64)
            })
            .sum()
    };
    let peak = (-100..=100)
        .map(|i| at(i as f64 / 100.0))
        .fold(cc[lag], f64::max);
    let norm = (dot(seg, seg) * dot(part, part)).sqrt().max(1e-12);
    let corr = (peak / n as f64 / norm).max(dot(seg, part) / norm);
    (lag, corr)
}

/// The two channels of a 48 kHz stereo 16-bit recording, as floats.
pub fn channels(path: &Path) -> (Vec<f32>, Vec<f32>) {
    let mut r = hound::WavReader::open(path).unwrap();
    let spec = r.spec();
    assert_eq!((spec.channels, spec.sample_rate), (2, 48_000), "{spec:?}");
    let s: Vec<i16> = r.samples::<i16>().map(Result::unwrap).collect();
    (
        s.iter().step_by(2).map(|&v| v as f32).collect(),
        s.iter().skip(1).step_by(2).map(|&v| v as f32).collect(),
    )
}

pub fn floats(v: &[i16]) -> Vec<f32> {
    v.iter().map(|&x| x as f32).collect()
}

/// Where in `clip` the window of `rec` starting at `at` seconds (`len` seconds long) lies, in
/// clip frames, with the correlation there.
pub fn locate(clip: &[f32], rec: &[f32], at: f64, len: f64) -> (f64, f64) {
    const RATE: f64 = 48_000.0;
    let a = (at * RATE) as usize;
    let b = (a + (len * RATE) as usize).min(rec.len());
    let (lag, corr) = best_match(clip, &rec[a..b]);
    (lag as f64 - a as f64, corr)
}
