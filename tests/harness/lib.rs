//! The hermetic test harness (STYLE 12): each test gets its own temp dir, its own private
//! `dbus-daemon`, and an `onrecordd` started with explicit `--laws-dir`, `--data-dir` and
//! `--config`, in an environment cleared of the developer's XDG dirs and bus.
//!
//! The binaries are the workspace's own (`target/<profile>/onrecordd`, `onrecordctl`), built by
//! `make test` before the suite runs.

use std::fs;
use std::io::Read;
pub mod display;
pub mod gnome_calls;
pub mod modem;
pub mod notifications;
pub mod own_stream;
pub mod pipewire;
pub mod s3;

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// What onrecordd logs once it owns its name on the bus.
const READY: &str = "serving on the session bus";

/// The repository's shipped law tables.
pub fn shipped_laws() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../laws")
}

/// A workspace binary, next to the test executable's directory.
pub fn bin(name: &str) -> PathBuf {
    let dir = match std::env::var_os("ONRECORD_BIN_DIR") {
        Some(d) => PathBuf::from(d),
        None => {
            let exe = std::env::current_exe().expect("current exe");
            // target/<profile>/deps/<test> -> target/<profile>
            exe.parent()
                .and_then(Path::parent)
                .expect("target dir")
                .to_owned()
        }
    };
    let path = dir.join(name);
    assert!(
        path.is_file(),
        "{} is missing: run `cargo build --workspace --bins` first (make test does)",
        path.display()
    );
    path
}

/// A private session bus, ended on drop.
pub struct Bus {
    pub address: String,
    pid: i32,
}

impl Bus {
    pub fn start() -> Bus {
        let mut cmd = Command::new("dbus-daemon");
        cmd.arg("--session")
            .env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .stderr(Stdio::inherit());
        Bus::launch(cmd)
    }

    /// A bus from a configuration file of the test's (say, with its own `<servicedir>`), with
    /// the environment that activated services inherit and their stdout and stderr in `log`.
    pub fn start_configured(config: &Path, env: &[(&str, &std::ffi::OsStr)], log: &Path) -> Bus {
        let mut cmd = Command::new("dbus-daemon");
        cmd.arg(format!("--config-file={}", config.display()))
            .env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .envs(env.iter().copied())
            .stderr(fs::File::create(log).expect("bus log"));
        Bus::launch(cmd)
    }

    fn launch(mut cmd: Command) -> Bus {
        let out = cmd
            .args(["--fork", "--print-address=1", "--print-pid=1"])
            .stdin(Stdio::null())
            .output()
            .expect("dbus-daemon must be installed (make test installs it)");
        assert!(out.status.success(), "dbus-daemon failed");
        let text = String::from_utf8(out.stdout).expect("utf-8");
        let mut lines = text.lines();
        let address = lines.next().expect("address").trim().to_owned();
        let pid = lines.next().expect("pid").trim().parse().expect("pid");
        Bus { address, pid }
    }
}

/// Writes an executable shell script at `path` (a program for the daemon to run).
pub fn executable(path: &Path, body: &str) {
    use std::os::unix::fs::PermissionsExt;
    fs::write(path, format!("#!/bin/sh\n{body}\n")).unwrap();
    fs::set_permissions(path, fs::Permissions::from_mode(0o755)).unwrap();
}

/// A session bus configuration at `dir/bus.conf` that listens in `dir` and D-Bus-activates the
/// services of `services` (and, with `standard`, the system's usual session services, such as
/// the accessibility bus).
pub fn activating_bus_config(dir: &Path, services: &Path, standard: bool) -> PathBuf {
    let conf = dir.join("bus.conf");
    fs::write(
        &conf,
        format!(
            r#"<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>session</type>
  <listen>unix:tmpdir={}</listen>
  <auth>EXTERNAL</auth>
  <servicedir>{}</servicedir>{}
  <policy context="default">
    <allow send_destination="*" eavesdrop="true"/>
    <allow eavesdrop="true"/>
    <allow own="*"/>
  </policy>
</busconfig>
"#,
            dir.display(),
            services.display(),
            if standard {
                "\n  <standard_session_servicedirs/>"
            } else {
                ""
            }
        ),
    )
    .unwrap();
    conf
}

impl Bus {
    /// Ends the bus now, as the end of a session does.
    pub fn kill(&mut self) {
        let _ = Command::new("kill").arg(self.pid.to_string()).status();
    }
}

impl Drop for Bus {
    fn drop(&mut self) {
        // The bus was forked by us (it is not our child) and is ours to end.
        let _ = Command::new("kill").arg(self.pid.to_string()).status();
    }
}

/// The configuration a test starts with: a user in Texas, and no audio (the test machine has
/// no devices; tests that record configure their sources).
pub const DEFAULT_CONFIG: &str = "jurisdiction = \"US-TX\"\n[capture]\nsource = \"none\"\n";

/// One test's world: a temp dir, a bus, and (once started) a daemon.
pub struct TestEnv {
    pub dir: tempfile::TempDir,
    pub bus: Bus,
    /// The shipped tables the daemon reads (`--laws-dir`).
    pub laws_dir: PathBuf,
    /// `$XDG_CONFIG_HOME/onrecord/laws` inside the temp dir: the user's overlay.
    pub user_laws_dir: PathBuf,
    pub data_dir: PathBuf,
    pub config: PathBuf,
    /// `$XDG_DATA_HOME/onrecord/plugins` inside the temp dir, also passed as `--plugin-dir`:
    /// searched before the build's own plugins, by the daemon and by onrecordctl alike.
    pub plugin_dir: PathBuf,
    /// Extra environment of the daemon (a test plugin's switches).
    pub daemon_env: Vec<(String, String)>,
    daemon: Option<Child>,
}

/// The test clips' format: 48 kHz stereo, 16-bit.
pub const STEREO_48K: hound::WavSpec = hound::WavSpec {
    channels: 2,
    sample_rate: 48_000,
    bits_per_sample: 16,
    sample_format: hound::SampleFormat::Int,
};

/// A stereo 48 kHz 16-bit WAV of `seconds` of deterministic noise (every sample differs), at
/// `dir/clip.wav`; returns its path and samples.
pub fn noise_clip(dir: &Path, seconds: f64) -> (PathBuf, Vec<i16>) {
    let path = dir.join("clip.wav");
    let spec = STEREO_48K;
    let mut w = hound::WavWriter::create(&path, spec).expect("create the clip");
    let mut x: u32 = 0x1234_5678;
    let n = (seconds * 48_000.0) as usize * 2;
    let mut samples = Vec::with_capacity(n);
    for _ in 0..n {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        let s = (x >> 16) as i16;
        w.write_sample(s).expect("write the clip");
        samples.push(s);
    }
    w.finalize().expect("finish the clip");
    (path, samples)
}

/// The permission bits of a file or directory (`0o600`).
pub fn mode(path: &Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    fs::metadata(path)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        .permissions()
        .mode()
        & 0o777
}

/// A misbehaving plugin from `plugins/testing`, built by `make test` into target/testplugins.
pub fn test_plugin(name: &str) -> PathBuf {
    let p = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join(format!("../target/testplugins/debug/lib{name}.so"));
    assert!(
        p.is_file(),
        "{} is missing: run `make test` (it builds plugins/testing)",
        p.display()
    );
    p
}

/// One of the workspace's own plugins (`onrecord_storage_wav`), as built.
pub fn plugin(name: &str) -> PathBuf {
    let p = bin("onrecordd").with_file_name(format!("lib{name}.so"));
    assert!(
        p.is_file(),
        "{} is missing: run `cargo build --workspace`",
        p.display()
    );
    p
}

impl Default for TestEnv {
    fn default() -> Self {
        Self::new()
    }
}

impl TestEnv {
    /// A world whose user is in Texas, reading the repository's shipped tables.
    pub fn new() -> TestEnv {
        remember_panics();
        let dir = tempfile::Builder::new()
            .prefix("onrecord-test-")
            .tempdir()
            .expect("temp dir");
        for d in [
            "home",
            "config",
            "data-home/onrecord/plugins",
            "run",
            "data",
        ] {
            fs::create_dir_all(dir.path().join(d)).unwrap();
        }
        use std::os::unix::fs::PermissionsExt;
        fs::set_permissions(dir.path().join("run"), fs::Permissions::from_mode(0o700)).unwrap();
        let config = dir.path().join("config.toml");
        fs::write(&config, DEFAULT_CONFIG).unwrap();
        TestEnv {
            laws_dir: shipped_laws(),
            user_laws_dir: dir.path().join("config/onrecord/laws"),
            data_dir: dir.path().join("data"),
            plugin_dir: dir.path().join("data-home/onrecord/plugins"),
            config,
            bus: Bus::start(),
            dir,
            daemon_env: Vec::new(),
            daemon: None,
        }
    }

    /// Uses a copy of the shipped tables, so a test may change them.
    pub fn with_own_shipped_copy(mut self) -> TestEnv {
        let copy = self.dir.path().join("laws");
        copy_dir(&shipped_laws(), &copy);
        self.laws_dir = copy;
        self
    }

    pub fn log_path(&self) -> PathBuf {
        self.dir.path().join("onrecordd.log")
    }

    /// The daemon's log so far.
    pub fn log(&self) -> String {
        fs::read_to_string(self.log_path()).unwrap_or_default()
    }

    /// The environment every program of the test runs in: nothing of the developer's.
    pub fn hermetic(&self, cmd: &mut Command) {
        let root = self.dir.path();
        cmd.env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("HOME", root.join("home"))
            .env("XDG_CONFIG_HOME", root.join("config"))
            .env("XDG_DATA_HOME", root.join("data-home"))
            .env("XDG_RUNTIME_DIR", root.join("run"))
            .env("DBUS_SESSION_BUS_ADDRESS", &self.bus.address)
            // The test's bus stands in for the system bus too (ModemManager lives there).
            .env("DBUS_SYSTEM_BUS_ADDRESS", &self.bus.address)
            .env(
                "RUST_LOG",
                std::env::var("ONRECORD_TEST_LOG").unwrap_or_else(|_| "info".into()),
            )
            .env("RUST_BACKTRACE", "1")
            .stdin(Stdio::null());
    }

    /// The daemon's command line, not started.
    pub fn daemon_command(&self) -> Command {
        let mut cmd = Command::new(bin("onrecordd"));
        self.hermetic(&mut cmd);
        cmd.arg("--laws-dir")
            .arg(&self.laws_dir)
            .arg("--data-dir")
            .arg(&self.data_dir)
            .arg("--config")
            .arg(&self.config)
            .arg("--plugin-dir")
            .arg(&self.plugin_dir)
            .envs(self.daemon_env.iter().map(|(k, v)| (k, v)));
        cmd
    }

    /// Starts the daemon and waits until it serves on the bus.
    pub fn start_daemon(&mut self) -> &mut Self {
        assert!(self.daemon.is_none(), "the daemon is already running");
        let before = self.log().matches(READY).count();
        let log = fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.log_path())
            .unwrap();
        let child = self
            .daemon_command()
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .expect("start onrecordd");
        self.daemon = Some(child);
        self.wait_serving(before);
        self
    }

    fn wait_serving(&mut self, before: usize) {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            if self.log().matches(READY).count() > before {
                return;
            }
            if let Some(status) = self.daemon.as_mut().unwrap().try_wait().unwrap() {
                panic!(
                    "onrecordd exited with {status} before serving:\n{}",
                    self.log()
                );
            }
            assert!(
                Instant::now() < deadline,
                "onrecordd did not start in time:\n{}",
                self.log()
            );
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    /// Sends a signal to the running daemon.
    pub fn signal_daemon(&self, signal: &str) {
        let pid = self.daemon.as_ref().expect("daemon running").id();
        let ok = Command::new("kill")
            .arg(format!("-{signal}"))
            .arg(pid.to_string())
            .status()
            .unwrap()
            .success();
        assert!(ok, "kill -{signal} {pid}");
    }

    /// The running daemon's process id.
    pub fn daemon_pid(&self) -> Option<u32> {
        self.daemon.as_ref().map(Child::id)
    }

    /// Whether the daemon process is still alive.
    pub fn daemon_alive(&mut self) -> bool {
        matches!(self.daemon.as_mut().map(|c| c.try_wait()), Some(Ok(None)))
    }

    /// Kills the daemon with SIGKILL, as a crash would, and waits for it.
    pub fn kill9_daemon(&mut self) {
        let mut child = self.daemon.take().expect("daemon running");
        child.kill().unwrap();
        child.wait().unwrap();
    }

    /// Waits up to `timeout` for the daemon to exit by itself; its status, or `None` if it is
    /// still running.
    pub fn wait_daemon_exit(&mut self, timeout: Duration) -> Option<std::process::ExitStatus> {
        let deadline = Instant::now() + timeout;
        loop {
            let child = self.daemon.as_mut().expect("daemon started");
            if let Some(status) = child.try_wait().unwrap() {
                self.daemon = None;
                return Some(status);
            }
            if Instant::now() >= deadline {
                return None;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Stops the daemon (SIGTERM) and waits for it.
    pub fn stop_daemon(&mut self) -> std::process::ExitStatus {
        let mut child = self.daemon.take().expect("daemon running");
        let _ = Command::new("kill").arg(child.id().to_string()).status();
        child.wait().unwrap()
    }

    /// `onrecordctl` in the test's environment.
    pub fn ctl(&self) -> assert_cmd::Command {
        let mut cmd = Command::new(bin("onrecordctl"));
        self.hermetic(&mut cmd);
        assert_cmd::Command::from_std(cmd)
    }

    /// Starts `onrecordctl ARGS...` without waiting for it (its output discarded).
    pub fn ctl_spawn(&self, args: &[&str]) -> Child {
        let mut cmd = Command::new(bin("onrecordctl"));
        self.hermetic(&mut cmd);
        cmd.args(args)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start onrecordctl")
    }

    /// Starts `onrecordctl ARGS...` without waiting for it, its output kept for
    /// `wait_with_output`.
    pub fn ctl_spawn_output(&self, args: &[&str]) -> Child {
        let mut cmd = Command::new(bin("onrecordctl"));
        self.hermetic(&mut cmd);
        cmd.args(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start onrecordctl")
    }

    /// Runs `onrecordctl` and returns (exit code, stdout, stderr).
    pub fn ctl_run(&self, args: &[&str]) -> (i32, String, String) {
        let out = self.ctl().args(args).output().expect("run onrecordctl");
        (
            out.status.code().unwrap_or(-1),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    }

    /// Configures capture from `clip` with capture-file (`pace`: realtime or fast) into
    /// `storage`, synced every `sync_ms`; `extra` is appended to config.toml as it is.
    pub fn configure_capture(
        &self,
        clip: &Path,
        pace: &str,
        sync_ms: u64,
        storage: &str,
        extra: &str,
    ) {
        let text = format!(
            "jurisdiction = \"US-TX\"\n{extra}\n[capture]\nsource = \"capture-file\"\nstorage = \"{storage}\"\nsync_interval_ms = {sync_ms}\n\n[capture.source_options]\npath = \"{}\"\npace = \"{pace}\"\n",
            clip.display()
        );
        fs::write(&self.config, text).unwrap();
    }

    /// The directory of the (first) call.
    pub fn call_dir(&self) -> PathBuf {
        fs::read_dir(self.data_dir.join("calls"))
            .expect("a calls directory")
            .next()
            .expect("a call")
            .unwrap()
            .path()
    }

    /// `onrecordctl call ARGS...`; panics unless it exits 0. Returns its output.
    pub fn call(&self, args: &[&str]) -> String {
        let mut all = vec!["call"];
        all.extend_from_slice(args);
        let (code, out, err) = self.ctl_run(&all);
        assert_eq!(code, 0, "onrecordctl {all:?}: {err}");
        out
    }

    /// A call with a Texan (one-party), told, started, recorded for `ms` and stopped (sealed
    /// when the stop returns); its id.
    pub fn record_call(&self, label: &str, ms: u64) -> String {
        let id = self.ctl_json(&["call", "new", "--them", "US-TX", "--label", label])["id"]
            .as_str()
            .expect("a call id")
            .to_owned();
        self.call(&["notice", &id]);
        self.call(&["start", &id]);
        std::thread::sleep(Duration::from_millis(ms));
        self.call(&["stop", &id]);
        id
    }

    /// The calls the daemon lists (`call list --json`), once `ready` holds for them; panics
    /// after 10 s, naming `what` was awaited.
    pub fn calls_when(
        &self,
        what: &str,
        ready: impl Fn(&[serde_json::Value]) -> bool,
    ) -> Vec<serde_json::Value> {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let list = self.ctl_json(&["call", "list"]);
            let list = list.as_array().expect("a list of calls").clone();
            if ready(&list) {
                return list;
            }
            assert!(Instant::now() < deadline, "never {what}: {list:?}");
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// `onrecordctl ... --json`, parsed; panics on a non-zero exit.
    pub fn ctl_json(&self, args: &[&str]) -> serde_json::Value {
        let mut all: Vec<&str> = args.to_vec();
        all.push("--json");
        let (code, out, err) = self.ctl_run(&all);
        assert_eq!(code, 0, "onrecordctl {all:?} failed: {err}");
        serde_json::from_str(&out).unwrap_or_else(|e| panic!("not JSON ({e}): {out}"))
    }

    /// An uncached `Laws1` proxy: every property read asks the daemon, so a test never sees a
    /// value that a pending PropertiesChanged has not yet updated.
    pub async fn laws(&self, conn: &zbus::Connection) -> onrecord_interface::LawsProxy<'static> {
        onrecord_interface::LawsProxy::builder(conn)
            .cache_properties(zbus::proxy::CacheProperties::No)
            .build()
            .await
            .expect("Laws1 proxy")
    }

    /// A stand-in desktop notification server on the test's bus: what it was sent, as
    /// "summary | body" lines. Keep the connection alive as long as it should serve.
    pub async fn notification_peer(
        &self,
    ) -> (
        zbus::Connection,
        std::sync::Arc<std::sync::Mutex<Vec<String>>>,
    ) {
        let seen = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let conn = zbus::connection::Builder::address(self.bus.address.as_str())
            .name("org.freedesktop.Notifications")
            .serve_at(
                "/org/freedesktop/Notifications",
                Notifications { seen: seen.clone() },
            )
            .build()
            .await
            .expect("serve org.freedesktop.Notifications");
        (conn, seen)
    }

    /// A zbus connection to the test's bus.
    pub async fn connection(&self) -> zbus::Connection {
        zbus::connection::Builder::address(self.bus.address.as_str())
            .build()
            .await
            .expect("connect to the test bus")
    }

    /// A call's `DetectedBy` and `Application` properties, over the bus.
    pub async fn detected(&self, id: &str) -> (String, String) {
        let conn = self.connection().await;
        let call = onrecord_interface::CallProxy::builder(&conn)
            .path(onrecord_interface::call_path(id))
            .build()
            .await
            .unwrap();
        (
            call.detected_by().await.unwrap(),
            call.application().await.unwrap(),
        )
    }

    /// Writes `text` to `dir/name` atomically, as editors do: a temp file, then a rename.
    pub fn write_by_rename(dir: &Path, name: &str, text: &str) {
        fs::create_dir_all(dir).unwrap();
        let tmp = dir.join(format!(".{name}.tmp"));
        fs::write(&tmp, text).unwrap();
        fs::rename(&tmp, dir.join(name)).unwrap();
    }
}

impl Drop for TestEnv {
    fn drop(&mut self) {
        if let Some(mut child) = self.daemon.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
        if std::thread::panicking() {
            let mut log = String::new();
            if let Ok(mut f) = fs::File::open(self.log_path()) {
                let _ = f.read_to_string(&mut log);
            }
            eprintln!("--- onrecordd log ---\n{log}--- end of log ---");
            // Said again after the log, which can be long: a report that keeps only the head
            // and the tail of the output still says why the test failed.
            if let Some(why) = PANIC.with(|p| p.borrow_mut().take()) {
                eprintln!("--- the test failed: {why}");
            }
        }
    }
}

thread_local! {
    /// The latest panic of this thread: where, and its message.
    static PANIC: std::cell::RefCell<Option<String>> = const { std::cell::RefCell::new(None) };
}

/// Keeps each thread's latest panic for [`TestEnv`]'s drop to repeat after the daemon's log;
/// the usual report is printed too.
fn remember_panics() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            let at = info
                .location()
                .map_or(String::new(), |l| format!("{}:{}: ", l.file(), l.line()));
            let msg = info
                .payload()
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| info.payload().downcast_ref::<String>().cloned())
                .unwrap_or_default();
            PANIC.with(|p| *p.borrow_mut() = Some(format!("{at}{msg}")));
            previous(info);
        }));
    });
}

fn copy_dir(from: &Path, to: &Path) {
    fs::create_dir_all(to).unwrap();
    for e in fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        let target = to.join(e.file_name());
        if e.file_type().unwrap().is_dir() {
            copy_dir(&e.path(), &target);
        } else {
            fs::copy(e.path(), target).unwrap();
        }
    }
}

/// The notification peer's interface.
struct Notifications {
    seen: std::sync::Arc<std::sync::Mutex<Vec<String>>>,
}

#[zbus::interface(name = "org.freedesktop.Notifications")]
impl Notifications {
    #[allow(clippy::too_many_arguments)]
    fn notify(
        &self,
        _app_name: &str,
        _replaces_id: u32,
        _app_icon: &str,
        summary: &str,
        body: &str,
        _actions: Vec<String>,
        _hints: std::collections::HashMap<String, zbus::OwnedVariant>,
        _expire_timeout: i32,
    ) -> u32 {
        let mut seen = self.seen.lock().unwrap_or_else(|e| e.into_inner());
        seen.push(format!("{summary} | {body}"));
        seen.len() as u32
    }
}

/// Writes `samples` as a mono 16-bit 48 kHz WAV at `path`; returns the path.
/// Headless Chromium as the probe of this workplace runs it: no sandbox as root, no network.
pub fn chromium(args: &[&str], profile: &Path) -> std::process::Output {
    std::process::Command::new("chromium")
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
        ])
        .args([
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
        ])
        .arg(format!("--user-data-dir={}", profile.display()))
        .args(args)
        .output()
        .expect("chromium is installed by make test")
}

pub fn mono_wav(path: &Path, samples: &[i16]) -> PathBuf {
    let spec = hound::WavSpec {
        channels: 1,
        sample_rate: 48_000,
        bits_per_sample: 16,
        sample_format: hound::SampleFormat::Int,
    };
    let mut w = hound::WavWriter::create(path, spec).expect("create a WAV");
    samples
        .iter()
        .for_each(|s| w.write_sample(*s).expect("write a sample"));
    w.finalize().expect("finish a WAV");
    path.to_owned()
}

/// Each clip as a mono WAV file of its name in `dir` (as `mono_wav`).
pub fn mono_wavs<const N: usize>(dir: &Path, clips: [(&str, &[i16]); N]) -> [PathBuf; N] {
    clips.map(|(name, samples)| mono_wav(&dir.join(name), samples))
}

/// The kinds of a call's timeline entries (`call show --json`), in order.
pub fn timeline_kinds(call: &serde_json::Value) -> Vec<String> {
    call["timeline"]
        .as_array()
        .expect("a timeline")
        .iter()
        .map(|e| e["kind"].as_str().expect("a kind").to_owned())
        .collect()
}

/// One row of `make bench`'s closing table: what, the figure, the target, whether met.
pub fn bench_row(
    what: &str,
    measured: String,
    target: &str,
    met: Option<bool>,
) -> serde_json::Value {
    serde_json::json!({ "what": what, "measured": measured, "target": target, "met": met })
}

/// Prints a bench's rows under `title`, one a line, with whether each target was met.
pub fn print_bench_rows(title: &str, rows: &[serde_json::Value]) {
    println!("\n{title}\n");
    for r in rows {
        println!(
            "{:<72} {}  {} ({})",
            r["what"].as_str().unwrap_or(""),
            r["measured"].as_str().unwrap_or(""),
            r["target"].as_str().unwrap_or(""),
            match r["met"].as_bool() {
                Some(true) => "met",
                Some(false) => "NOT MET",
                None => "context",
            }
        );
    }
}

/// CPU seconds (user and system, all threads) process `pid` has used.
pub fn cpu_seconds(pid: u32) -> f64 {
    let stat = fs::read_to_string(format!("/proc/{pid}/stat")).unwrap();
    let fields: Vec<&str> = stat
        .rsplit(')')
        .next()
        .unwrap()
        .split_whitespace()
        .collect();
    // SAFETY: sysconf has no preconditions.
    let hz = unsafe { libc::sysconf(libc::_SC_CLK_TCK) } as f64;
    (fields[11].parse::<f64>().unwrap() + fields[12].parse::<f64>().unwrap()) / hz
}

/// A `/proc/PID/status` figure in KiB (`VmRSS:`, `VmHWM:`), if the process is there.
pub fn status_kib(pid: u32, key: &str) -> Option<u64> {
    fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()?
        .lines()
        .find(|l| l.starts_with(key))
        .and_then(|l| l.split_whitespace().nth(1)?.parse().ok())
}

/// Writes a bench's rows to `target/bench/<name>.json`, where `scripts/bench-table.py` reads
/// them.
pub fn write_bench_rows(name: &str, rows: &[serde_json::Value]) {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/bench");
    let _ = fs::create_dir_all(&dir);
    let _ = fs::write(
        dir.join(format!("{name}.json")),
        serde_json::to_string_pretty(rows).unwrap_or_default(),
    );
}
