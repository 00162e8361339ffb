//! The FLAC path against `flac -5` (release build, over a private bus): `BENCH_FLAC_MINUTES`
//! (default 10) of 48 kHz stereo call audio (the call analysis's corpus: speech, hold music
//! and ring tones over a phone line, both sides) recorded by onrecordd through capture-file at
//! 50x real time, into storage-wav and into storage-flac, in `BENCH_FLAC_ROUNDS` (default 3)
//! rounds of the same run, each with `flac -5` on the same audio; every ratio is taken within
//! its round and the median of the rounds reported, the rounds beside it.
//!
//! - the FLAC plugin's encoding cost: the daemon's CPU time on the FLAC path minus the WAV
//!   path, against `flac -5`'s CPU time on the same audio (target at most 1.0x);
//! - its size against `flac -5`'s (target within 2 %);
//! - the whole FLAC path and the whole WAV path per minute of audio (for context: live, the
//!   capture bench compares recording to FLAC with recording to WAV);
//! - the plugin's encoder alone, in this process, on the same audio in the writer's 0.1 s
//!   chunks (for context: what libFLAC costs per second of call on a warm cache, the floor
//!   under the live FLAC path's extra over WAV).

use onrecord_corpus::{Line, render, synth, write_wav};
use onrecord_plugin::{AudioFormat, SAMPLE_I16, StorageBackend};
use onrecord_storage_flac::Flac;
use onrecord_tests::TestEnv;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const RATE: u32 = 48_000;

/// At least `seconds` of the corpus's calls (dev seeds, over a phone line) end to end.
fn corpus_clip(path: &Path, seconds: f64) {
    let (mut near, mut far) = (Vec::new(), Vec::new());
    for seed in 1.. {
        let call = synth::compose(seed).expect("a corpus call");
        let (n, f) = render(&call, RATE, Line::Phone, seed);
        near.extend(n);
        far.extend(f);
        if near.len() as f64 >= seconds * f64::from(RATE) {
            break;
        }
    }
    let n = (seconds * f64::from(RATE)) as usize;
    write_wav(path, &near[..n], &far[..n], RATE).expect("the clip");
}

/// Records `clip` into `storage`: the daemon's CPU seconds from the start of recording until
/// the file stops growing, and the recording's size.
fn record(env: &mut TestEnv, clip: &Path, storage: &str, extension: &str) -> (f64, u64) {
    std::fs::write(
        &env.config,
        format!(
            "jurisdiction = \"US-TX\"\n[detect]\nmodem = false\npipewire = false\ngnome_calls = false\n[capture]\nsource = \"capture-file\"\nstorage = \"{storage}\"\n[capture.source_options]\npath = \"{}\"\nspeed = \"50\"\n",
            clip.display()
        ),
    )
    .unwrap();
    let _ = std::fs::remove_dir_all(env.data_dir.join("calls"));
    env.start_daemon();
    std::thread::sleep(Duration::from_secs(1));
    let pid = env.daemon_pid().unwrap();
    env.ctl_json(&["call", "new", "--them", "US-TX", "--label", storage]);
    env.call(&["notice"]);
    let before = onrecord_tests::cpu_seconds(pid);
    env.call(&["start"]);
    let file = env.call_dir().join(format!("audio.{extension}"));
    let (mut last, mut still) = (0, Instant::now());
    let deadline = Instant::now() + Duration::from_secs(3600);
    loop {
        let have = std::fs::metadata(&file).map_or(0, |m| m.len());
        if have != last {
            (last, still) = (have, Instant::now());
        } else if have > 0 && still.elapsed() > Duration::from_secs(2) {
            break;
        }
        assert!(Instant::now() < deadline, "still recording: {have} bytes");
        std::thread::sleep(Duration::from_millis(100));
    }
    let used = onrecord_tests::cpu_seconds(pid) - before;
    env.call(&["stop"]);
    let size = std::fs::metadata(&file).unwrap().len();
    env.stop_daemon();
    (used, size)
}

/// `flac -5` on `clip`: its CPU seconds and the size of what it wrote.
fn reference(clip: &Path, out: &Path) -> (f64, u64) {
    // Reaped by wait4, which gives its resource usage.
    #[allow(clippy::zombie_processes)]
    let child = Command::new("flac")
        .args(["-5", "-f", "-s", "-o"])
        .arg(out)
        .arg(clip)
        .stdout(Stdio::null())
        .spawn()
        .expect("flac (make bench installs it)");
    let mut status = 0;
    // SAFETY: plain data out-parameters; the child is ours and not yet waited for.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    let pid = unsafe { libc::wait4(child.id() as i32, &mut status, 0, &mut usage) };
    assert_eq!(pid, child.id() as i32, "wait4");
    assert!(
        libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0,
        "flac failed"
    );
    let secs = |t: libc::timeval| t.tv_sec as f64 + t.tv_usec as f64 / 1e6;
    (
        secs(usage.ru_utime) + secs(usage.ru_stime),
        std::fs::metadata(out).unwrap().len(),
    )
}

/// This thread's CPU time in seconds.
fn thread_cpu() -> f64 {
    // SAFETY: a plain out-parameter.
    let mut t: libc::timespec = unsafe { std::mem::zeroed() };
    assert_eq!(
        unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut t) },
        0
    );
    t.tv_sec as f64 + t.tv_nsec as f64 / 1e9
}

/// The FLAC plugin's encoder alone on `clip`, fed as the daemon's writer feeds it (0.1 s of
/// interleaved 16-bit frames a write): the CPU seconds of its writes and finish.
fn in_process(clip: &Path, out: &Path) -> f64 {
    let mut reader = hound::WavReader::open(clip).expect("the clip");
    let spec = reader.spec();
    let bytes: Vec<u8> = reader
        .samples::<i16>()
        .flat_map(|s| s.expect("a sample").to_le_bytes())
        .collect();
    let format = AudioFormat {
        sample_format: SAMPLE_I16,
        rate: spec.sample_rate,
        channels: u32::from(spec.channels),
    };
    // The plugin never overwrites a file: each round's output is new.
    let _ = std::fs::remove_file(out);
    let mut flac = Flac::create(out, format).expect("an encoder");
    let chunk = spec.sample_rate as usize / 10 * flac.frame_bytes();
    let start = thread_cpu();
    for piece in bytes.chunks(chunk) {
        flac.write(piece, piece.len() / flac.frame_bytes())
            .expect("encoded");
    }
    flac.finish().expect("finished");
    thread_cpu() - start
}

/// The median of `xs` (of an even count, the upper middle one: the conservative side).
fn median(mut xs: Vec<f64>) -> f64 {
    xs.sort_by(f64::total_cmp);
    xs[xs.len() / 2]
}

fn main() {
    let minutes: f64 = std::env::var("BENCH_FLAC_MINUTES")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(10.0);
    let rounds: usize = std::env::var("BENCH_FLAC_ROUNDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(3)
        .max(1);
    let mut env = TestEnv::new();
    let clip = env.dir.path().join("calls.wav");
    corpus_clip(&clip, minutes * 60.0);
    // Rounds of the WAV path, the FLAC path (which of the two first alternates) and flac -5,
    // each ratio taken within its round: one FLAC-minus-WAV difference swings by half between
    // runs on a shared machine (0.36 to 0.62 s on the same code), the drift of the machine's
    // speed from one minute to the next, which recordings in the same round share.
    let (mut encodings, mut ratios, mut wholes) = (Vec::new(), Vec::new(), Vec::new());
    let (mut flac_cpus, mut wav_cpus, mut ref_cpus) = (Vec::new(), Vec::new(), Vec::new());
    let (mut flac_size, mut ref_size) = (0, 0);
    let mut alone = Vec::new();
    for round in 0..rounds {
        let (wav_cpu, flac_cpu);
        if round % 2 == 0 {
            wav_cpu = record(&mut env, &clip, "storage-wav", "wav").0;
            (flac_cpu, flac_size) = record(&mut env, &clip, "storage-flac", "flac");
        } else {
            (flac_cpu, flac_size) = record(&mut env, &clip, "storage-flac", "flac");
            wav_cpu = record(&mut env, &clip, "storage-wav", "wav").0;
        }
        let ref_cpu;
        (ref_cpu, ref_size) = reference(&clip, &env.dir.path().join("reference.flac"));
        alone.push(in_process(&clip, &env.dir.path().join("alone.flac")));
        encodings.push(flac_cpu - wav_cpu);
        ratios.push((flac_cpu - wav_cpu) / ref_cpu);
        wholes.push(flac_cpu / wav_cpu);
        flac_cpus.push(flac_cpu);
        wav_cpus.push(wav_cpu);
        ref_cpus.push(ref_cpu);
        eprintln!(
            "round {} of {rounds}: WAV {wav_cpu:.2} s, FLAC {flac_cpu:.2} s, flac -5 {ref_cpu:.2} s, the encoder alone {:.2} s",
            round + 1,
            alone[round]
        );
    }
    let per_round = |xs: &[f64]| {
        xs.iter()
            .map(|x| format!("{x:.2}"))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let ratio = median(ratios.clone());
    let size = flac_size as f64 / ref_size as f64;
    let rows = vec![
        onrecord_tests::bench_row(
            &format!(
                "FLAC encoding ({minutes} min of calls): FLAC path minus WAV path, against flac -5"
            ),
            format!(
                "{:.2} s vs {:.2} s (medians); {ratio:.2}x (the median of the rounds' {})",
                median(encodings),
                median(ref_cpus),
                per_round(&ratios)
            ),
            "<= 1.0x",
            Some(ratio <= 1.0),
        ),
        onrecord_tests::bench_row(
            "FLAC size against flac -5 on the same audio",
            format!(
                "{:+.2} % ({flac_size} vs {ref_size} bytes)",
                (size - 1.0) * 100.0
            ),
            "within 2 %",
            Some((size - 1.0).abs() <= 0.02),
        ),
        onrecord_tests::bench_row(
            "FLAC path and WAV path at 50x, CPU per minute of audio",
            format!(
                "{:.2} s and {:.2} s (medians); {:.2}x (the median of the rounds' {})",
                median(flac_cpus) / minutes,
                median(wav_cpus) / minutes,
                median(wholes.clone()),
                per_round(&wholes)
            ),
            "",
            None,
        ),
        onrecord_tests::bench_row(
            "the FLAC plugin's encoder alone, in process (0.1 s writes, warm cache), CPU per second of call audio",
            format!(
                "{:.2} ms (the median of the rounds' {})",
                median(alone.clone()) * 1000.0 / (minutes * 60.0),
                per_round(
                    &alone
                        .iter()
                        .map(|a| a * 1000.0 / (minutes * 60.0))
                        .collect::<Vec<_>>()
                )
            ),
            "",
            None,
        ),
    ];
    onrecord_tests::print_bench_rows(
        "storage-flac against flac -5 (release; capture-file at 50x real time)",
        &rows,
    );
    onrecord_tests::write_bench_rows("flac", &rows);
}
