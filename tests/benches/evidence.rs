//! A long call's evidence (release build, over a private bus): a recording of
//! `BENCH_SEAL_MINUTES` (default 120) of 48 kHz stereo is stopped and sealed while a client
//! keeps asking the law, then exported, verified and analyzed by onrecordctl.
//!
//! - `Laws1.Evaluate` round trip, p99, while the call is being stopped and sealed, against its
//!   p99 with nothing else happening (target at most 2x);
//! - the daemon's resident memory while it stops and seals, above its idle (target at most
//!   32 MiB);
//! - `onrecordctl verify` of the call: speed in audio per wall-clock time (target at least
//!   500x real time) and its peak resident memory above its own on a one-second call (target
//!   at most 32 MiB);
//! - `onrecordctl export` and `onrecordctl analyze` of the call: peak resident memory above
//!   the same on a one-second call (target at most 32 MiB), with their speed.

use onrecord_tests::TestEnv;
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

const RATE: u32 = 48_000;

/// A stereo 48 kHz 16-bit WAV of `seconds` of noise, written as it is made.
fn write_clip(path: &Path, seconds: u64) {
    let spec = hound::WavSpec {
        channels: 2,
        sample_rate: RATE,
        bits_per_sample: 16,
        sample_format: hound::SampleFormat::Int,
    };
    let mut w = hound::WavWriter::create(path, spec).unwrap();
    let mut x: u32 = 0x1234_5678;
    let mut left = seconds * u64::from(RATE) * 2;
    // A block at a time: hound's writer buffers the samples it is told to expect.
    while left > 0 {
        let n = left.min(1 << 20);
        let mut block = w.get_i16_writer(n as u32);
        for _ in 0..n {
            x = x.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
            block.write_sample((x >> 20) as i16 - 2048);
        }
        block.flush().unwrap();
        left -= n;
    }
    w.finalize().unwrap();
}

fn rss_kib(pid: u32) -> Option<u64> {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()?
        .lines()
        .find(|l| l.starts_with("VmRSS:"))
        .and_then(|l| l.split_whitespace().nth(1)?.parse().ok())
}

/// Samples `pid`'s resident memory every 5 ms until `done`; the largest seen (KiB).
fn sample_peak(pid: u32, done: Arc<AtomicBool>) -> std::thread::JoinHandle<u64> {
    let peak = Arc::new(AtomicU64::new(0));
    std::thread::spawn(move || {
        while !done.load(Ordering::Acquire) {
            if let Some(k) = rss_kib(pid) {
                peak.fetch_max(k, Ordering::Relaxed);
            }
            std::thread::sleep(Duration::from_millis(5));
        }
        peak.load(Ordering::Relaxed)
    })
}

/// `onrecordctl verify DIR`: (wall seconds, peak resident KiB from the kernel's own count,
/// success). The count starts from this process's own peak (a spawned child inherits it at
/// exec), which is why the clip is written a block at a time and the figure is compared with
/// the same command on a one-second call.
/// Runs onrecordctl with `args`: its wall time, its peak resident memory (KiB) and whether it
/// succeeded.
fn ctl(env: &TestEnv, args: &[&std::ffi::OsStr]) -> (f64, u64, bool) {
    let mut cmd = Command::new(onrecord_tests::bin("onrecordctl"));
    env.hermetic(&mut cmd);
    let start = Instant::now();
    // Reaped below by wait4, which also gives its resource usage.
    #[allow(clippy::zombie_processes)]
    let child = cmd
        .args(args)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut status = 0;
    // SAFETY: plain data out-parameters; the child is ours and not yet waited for.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    let pid = unsafe { libc::wait4(child.id() as i32, &mut status, 0, &mut usage) };
    assert_eq!(pid, child.id() as i32, "wait4");
    let wall = start.elapsed().as_secs_f64();
    let ok = libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0;
    (wall, usage.ru_maxrss as u64, ok)
}

fn verify(env: &TestEnv, dir: &Path) -> (f64, u64, bool) {
    ctl(env, &["verify".as_ref(), dir.as_os_str()])
}

fn analyze(env: &TestEnv, dir: &Path) -> (f64, u64, bool) {
    ctl(env, &["analyze".as_ref(), dir.as_os_str()])
}

/// Exports the call of `dir` (through the daemon, which must be running) to `to`.
fn export(env: &TestEnv, dir: &Path, to: &Path) -> (f64, u64, bool) {
    let name = dir.file_name().unwrap().to_str().unwrap();
    let id = name.rsplit('_').next().unwrap();
    let (wall, kib, ok) = ctl(
        env,
        &[
            "export".as_ref(),
            id.as_ref(),
            "--to".as_ref(),
            to.as_os_str(),
        ],
    );
    let _ = std::fs::remove_file(to);
    (wall, kib, ok)
}

fn p99(mut t: Vec<f64>) -> f64 {
    t.sort_by(f64::total_cmp);
    t[(t.len() * 99 / 100).min(t.len() - 1)]
}

async fn evaluate_us(laws: &onrecord_interface::LawsProxy<'_>) -> f64 {
    let s = Instant::now();
    laws.evaluate("US-TX", &["US-CA"], "phone").await.unwrap();
    s.elapsed().as_secs_f64() * 1e6
}

/// Starts the daemon recording `clip` at `speed` times real time (the configuration is read
/// at start); returns its idle resident memory (KiB) and the call's directory once `seconds`
/// of audio are written.
fn record(env: &mut TestEnv, clip: &Path, seconds: u64, speed: u32) -> (u64, std::path::PathBuf) {
    std::fs::write(
        &env.config,
        format!(
            "jurisdiction = \"US-TX\"\n[capture]\nsource = \"capture-file\"\nstorage = \"storage-wav\"\n[capture.source_options]\npath = \"{}\"\nspeed = \"{speed}\"\n",
            clip.display()
        ),
    )
    .unwrap();
    env.start_daemon();
    std::thread::sleep(Duration::from_secs(2));
    let idle = rss_kib(env.daemon_pid().unwrap()).unwrap();
    env.ctl_json(&["call", "new", "--them", "US-TX", "--label", "long"]);
    env.call(&["notice"]);
    env.call(&["start"]);
    let dir = env.call_dir();
    // Until the source has played the clip and the writer has drained it: the file stops
    // growing. (At this pace the writer may lose frames to overruns; the call is what it is.)
    let deadline = Instant::now() + Duration::from_secs(seconds / u64::from(speed) * 4 + 60);
    let (mut last, mut still) = (0, Instant::now());
    loop {
        let have = std::fs::metadata(dir.join("audio.wav")).map_or(0, |m| m.len());
        if have != last {
            (last, still) = (have, Instant::now());
        } else if have > 0 && still.elapsed() > Duration::from_secs(3) {
            break;
        }
        assert!(Instant::now() < deadline, "still recording: {have} bytes");
        std::thread::sleep(Duration::from_millis(250));
    }
    (idle, dir)
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let minutes: u64 = std::env::var("BENCH_SEAL_MINUTES")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(120);
    let seconds = minutes * 60;
    let mut env = TestEnv::new();
    let clip = env.dir.path().join("long.wav");
    write_clip(&clip, seconds);
    let short = env.dir.path().join("short.wav");
    write_clip(&short, 1);

    // A one-second call first: onrecordctl's own memory on a call of no size.
    let (_, short_dir) = record(&mut env, &short, 1, 1);
    env.call(&["stop"]);
    let bundle = env.dir.path().join("bundle.zip");
    let (_, export_idle_kib, ok) = export(&env, &short_dir, &bundle);
    assert!(ok, "the one-second call does not export");
    env.stop_daemon();
    let (_, ctl_idle_kib, ok) = verify(&env, &short_dir);
    assert!(ok, "the one-second call does not verify");
    let (_, analyze_idle_kib, ok) = analyze(&env, &short_dir);
    assert!(ok, "the one-second call does not analyze");
    eprintln!(
        "one-second call: {} bytes of audio; onrecordctl verify peak {} KiB",
        std::fs::metadata(short_dir.join("audio.wav")).map_or(0, |m| m.len()),
        ctl_idle_kib
    );
    let _ = std::fs::remove_dir_all(env.data_dir.join("calls"));

    let (idle_kib, dir) = record(&mut env, &clip, seconds, 30);
    let pid = env.daemon_pid().unwrap();

    let conn = env.connection().await;
    let laws = env.laws(&conn).await;
    const N: usize = 2000;
    for _ in 0..200 {
        evaluate_us(&laws).await;
    }
    let mut quiet = Vec::with_capacity(N);
    for _ in 0..N {
        quiet.push(evaluate_us(&laws).await);
    }

    // The stop returns once the call is sealed; the law is asked all the while.
    let done = Arc::new(AtomicBool::new(false));
    let sampler = sample_peak(pid, done.clone());
    let stopper = {
        let mut cmd = Command::new(onrecord_tests::bin("onrecordctl"));
        env.hermetic(&mut cmd);
        cmd.args(["call", "stop"]).stdout(Stdio::null());
        std::thread::spawn(move || {
            let s = Instant::now();
            let st = cmd.status().unwrap();
            (st.success(), s.elapsed().as_secs_f64())
        })
    };
    let mut sealing = Vec::new();
    while !stopper.is_finished() {
        sealing.push(evaluate_us(&laws).await);
    }
    let (stopped, stop_s) = stopper.join().unwrap();
    done.store(true, Ordering::Release);
    let peak_kib = sampler.join().unwrap();
    assert!(stopped, "the stop failed:\n{}", env.log());
    assert!(dir.join("manifest.json").is_file(), "not sealed");
    let (quiet_p99, sealing_p99) = (p99(quiet), p99(sealing.clone()));
    drop(laws);
    drop(conn);
    let (export_s, export_kib, ok) = export(&env, &dir, &bundle);
    assert!(ok, "the long call does not export");
    env.stop_daemon();

    let (verify_s, ctl_kib, ok) = verify(&env, &dir);
    assert!(ok, "the long call does not verify");
    let (analyze_s, analyze_kib, ok) = analyze(&env, &dir);
    assert!(ok, "the long call does not analyze");
    // Speed in the audio the call holds.
    let audio_s =
        (std::fs::metadata(dir.join("audio.wav")).unwrap().len() - 44) as f64 / f64::from(RATE * 4);
    let speed = audio_s / verify_s;

    let mib = |k: u64| k as f64 / 1024.0;
    let ratio = sealing_p99 / quiet_p99;
    let above = mib(peak_kib.saturating_sub(idle_kib));
    let ctl_above = mib(ctl_kib.saturating_sub(ctl_idle_kib));
    let export_above = mib(export_kib.saturating_sub(export_idle_kib));
    let analyze_above = mib(analyze_kib.saturating_sub(analyze_idle_kib));
    let rows = vec![
        onrecord_tests::bench_row(
            &format!("Laws1.Evaluate p99 while a {minutes}-minute call is sealed"),
            format!("{ratio:.2}x ({sealing_p99:.0} vs {quiet_p99:.0} µs)"),
            "<= 2x the same with nothing else",
            Some(ratio <= 2.0),
        ),
        onrecord_tests::bench_row(
            &format!("daemon memory stopping and sealing a {minutes}-minute call"),
            format!("+{above:.1} MiB over idle ({:.1} MiB)", mib(idle_kib)),
            "<= +32 MiB",
            Some(above <= 32.0),
        ),
        onrecord_tests::bench_row(
            &format!("onrecordctl verify of a {minutes}-minute call: speed"),
            format!("{speed:.0}x real time ({verify_s:.2} s)"),
            ">= 500x",
            Some(speed >= 500.0),
        ),
        onrecord_tests::bench_row(
            &format!("onrecordctl verify of a {minutes}-minute call: memory"),
            format!(
                "+{ctl_above:.1} MiB over a 1 s call ({:.1} MiB)",
                mib(ctl_idle_kib)
            ),
            "<= +32 MiB",
            Some(ctl_above <= 32.0),
        ),
        onrecord_tests::bench_row(
            &format!("onrecordctl export of a {minutes}-minute call: memory"),
            format!(
                "+{export_above:.1} MiB over a 1 s call ({:.1} MiB; {:.0}x real time)",
                mib(export_idle_kib),
                audio_s / export_s
            ),
            "<= +32 MiB",
            Some(export_above <= 32.0),
        ),
        onrecord_tests::bench_row(
            &format!("onrecordctl analyze of a {minutes}-minute call: memory"),
            format!(
                "+{analyze_above:.1} MiB over a 1 s call ({:.1} MiB; {:.0}x real time)",
                mib(analyze_idle_kib),
                audio_s / analyze_s
            ),
            "<= +32 MiB",
            Some(analyze_above <= 32.0),
        ),
    ];
    onrecord_tests::write_bench_rows("evidence", &rows);
    println!("\nA {minutes}-minute call's evidence (release)\n");
    println!(
        "stop and seal: {stop_s:.2} s, {} Evaluate calls meanwhile",
        sealing.len()
    );
    for r in &rows {
        println!(
            "{:<60} {:>40}  {}",
            r["what"].as_str().unwrap(),
            r["measured"].as_str().unwrap(),
            r["target"].as_str().unwrap()
        );
    }
}
