//! The notice on tape: announcements played into a call through onrecord's virtual
//! microphone, over a real headless PipeWire. A fake softphone records from the virtual
//! microphone (what the far side would hear) while the user's microphone clip plays.

use onrecord_tests::TestEnv;
use onrecord_tests::pipewire::{PipeWire, best_match, channels, floats, two_voices};
use std::time::{Duration, Instant};

const RATE: f64 = 48_000.0;

/// Band-limited noise, `seconds` long, at `amp` of full scale: a clip unlike any other.
fn noise(seed: u32, seconds: f64, amp: f64) -> Vec<i16> {
    let mut x = seed;
    let mut lp = 0.0f64;
    (0..(seconds * RATE) as usize)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            let v = (x as f64 / u32::MAX as f64) * 2.0 - 1.0;
            lp += 0.3 * (v - lp);
            (lp * amp * 32767.0 * 2.5).clamp(-32768.0, 32767.0) as i16
        })
        .collect()
}

/// `rec` less the clip `voice` found in it (aligned on the window `at..at+len` seconds,
/// where nothing else plays, at the level found there); panics unless the window holds it.
fn without_voice(rec: &[f32], voice: &[f32], at: f64, len: f64) -> Vec<f32> {
    let (a, b) = ((at * RATE) as usize, ((at + len) * RATE) as usize);
    assert!(
        b <= rec.len(),
        "the recording is {} s",
        rec.len() as f64 / RATE
    );
    let (lag, corr) = best_match(voice, &rec[a..b]);
    assert!(
        corr >= 0.99,
        "the microphone in the window at {at} s: {corr}"
    );
    let shift = lag as i64 - a as i64;
    let aligned = |i: usize| {
        let j = i as i64 + shift;
        (0..voice.len() as i64)
            .contains(&j)
            .then(|| voice[j as usize])
    };
    let (mut num, mut den) = (0.0f64, 0.0f64);
    for (i, r) in rec.iter().enumerate().take(b).skip(a) {
        let v = aligned(i).unwrap_or(0.0) as f64;
        num += *r as f64 * v;
        den += v * v;
    }
    let gain = (num / den.max(1e-9)) as f32;
    (0..rec.len())
        .map(|i| rec[i] - gain * aligned(i).unwrap_or(0.0))
        .collect()
}

/// Where `clip` is in `rec` beside the microphone `voice` (seconds), and the correlation of
/// what is there once the microphone is taken away, aligned on the stretch just before (or
/// after) it: the players feeding the microphone may slip by a quantum now and then, which
/// no single alignment of a whole recording fits. `taken` holds stretches found before, not
/// searched again (it gets this one).
fn find(rec: &[f32], voice: &[f32], clip: &[f32], taken: &mut Vec<usize>) -> (f64, f64) {
    let mut search = rec.to_vec();
    for &t in taken.iter() {
        for v in &mut search[t..(t + clip.len()).min(rec.len())] {
            *v = 0.0;
        }
    }
    let (lag, _) = best_match(&search, clip);
    taken.push(lag);
    let len = clip.len() as f64 / RATE;
    let at = lag as f64 / RATE;
    // Announcements are at least 0.6 s apart: the 0.3 s just before one holds the voice alone.
    let window = if at >= 0.4 {
        at - 0.35
    } else {
        at + len + 0.05
    };
    let rest = without_voice(rec, voice, window, 0.3);
    let (_, corr) = best_match(&rest[lag..lag + clip.len()], clip);
    (at, corr)
}

fn announcements(env: &TestEnv) -> Vec<serde_json::Value> {
    env.ctl_json(&["call", "show"])["timeline"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["kind"] == "announcement")
        .cloned()
        .collect()
}

/// `pw-link -l`: each input port, then what feeds it ("  |<- node:port").
fn links(pw: &PipeWire) -> Vec<String> {
    pw.run("pw-link", &["-l"])
        .lines()
        .map(str::to_owned)
        .collect()
}

/// What feeds the input ports named `port_prefix...` in `links`' lines.
fn fed_from(lines: &[String], port_prefix: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut current = false;
    for l in lines {
        if !l.starts_with(' ') {
            current = l.starts_with(port_prefix);
        } else if current && let Some(from) = l.trim().strip_prefix("|<- ") {
            out.push(from.to_owned());
        }
    }
    out
}

fn configure(env: &TestEnv, extra: &str) {
    std::fs::write(
        &env.config,
        format!(
            "jurisdiction = \"US-TX\"\n\
             [capture]\nfar_side = \"pipewire:far_side\"\n\
             [detect]\nmodem = false\npipewire = false\ngnome_calls = false\n\
             [announcement]\ndefault_source = true\n{extra}"
        ),
    )
    .unwrap();
}

#[test]
fn the_announcement_reaches_the_softphone_and_the_tape_where_the_timeline_says_and_the_default_source_comes_back()
 {
    let mut env = TestEnv::new();
    let mut pw = PipeWire::start(&env);
    let clip = env.dir.path().join("both.wav");
    let (mic, _) = two_voices(&clip, 30.0);
    let notice = noise(0x00c0_ffee, 1.5, 0.15);
    let started = noise(0x0bad_f00d, 1.0, 0.15);
    let notice_wav = onrecord_tests::mono_wav(&env.dir.path().join("notice.wav"), &notice);
    let started_wav = onrecord_tests::mono_wav(&env.dir.path().join("started.wav"), &started);
    configure(
        &env,
        &format!(
            "path = \"{}\"\nstarted_path = \"{}\"\n",
            notice_wav.display(),
            started_wav.display()
        ),
    );
    pw.configure_source("mic");
    env.start_daemon();
    pw.play(&clip);

    // A call makes the virtual microphone, and (as configured) the default source.
    env.ctl_json(&["call", "new", "--them", "US-CA", "--label", "announced"]);
    pw.wait_node("onrecord_mic");
    pw.wait_configured_source(Some("onrecord_mic"));
    // The softphone takes its microphone from it.
    let softphone = pw.app_stream(
        "Softphone",
        "Communication",
        true,
        Some("onrecord_mic"),
        &clip,
    );
    std::thread::sleep(Duration::from_millis(1500));

    // The notice, by announcement: it tells the representative (California: all-party).
    let out = env.call(&["announce"]);
    assert!(out.contains("played your notice"), "{out}");
    let info = env.ctl_json(&["call", "show"]);
    assert_eq!(info["state"], "awaiting-consent", "{info}");
    assert_eq!(info["parties"][0]["notice"], "announcement", "{info}");
    let first = &announcements(&env)[0];
    assert_eq!(first["audio_offset_us"], -1, "{first}");
    assert!(
        !first["detail"]
            .as_str()
            .unwrap()
            .contains("may not have heard"),
        "the softphone was listening: {first}"
    );
    std::thread::sleep(Duration::from_secs(2));
    assert!(
        !env.call_dir().join("audio.wav").exists(),
        "audio before consent"
    );

    env.call(&["consent", "yes"]);
    env.call(&["start"]);
    // "Recording has started" plays by itself once recording runs (told by announcement).
    let deadline = Instant::now() + Duration::from_secs(5);
    while announcements(&env).len() < 2 {
        assert!(Instant::now() < deadline, "no \"recording has started\"");
        std::thread::sleep(Duration::from_millis(50));
    }
    std::thread::sleep(Duration::from_secs(2));
    // The notice again, now on tape.
    env.call(&["announce"]);
    std::thread::sleep(Duration::from_secs(5));
    // Every announcement of the call (its clips of one rate) played through one stream,
    // which stays in the graph until the call's microphone ends.
    assert_eq!(pw.count_nodes("onrecord-announcement"), 1);
    // The softphone hangs up first (once the virtual microphone is gone, PipeWire would move
    // it to the real one).
    pw.finish_stream(softphone);
    env.call(&["stop"]);
    let played = announcements(&env);
    assert_eq!(played.len(), 3, "{played:?}");
    assert!(
        played[1]["detail"]
            .as_str()
            .unwrap()
            .contains("your \"recording has started\""),
        "{played:?}"
    );
    let offset = |e: &serde_json::Value| e["audio_offset_us"].as_i64().unwrap() as f64 / 1e6;
    let (started_at, notice_at) = (offset(&played[1]), offset(&played[2]));
    assert!(started_at >= 0.0 && notice_at > started_at, "{played:?}");

    // The previous default source is back once the call is over, and the virtual microphone
    // is gone.
    let stopped = Instant::now();
    pw.wait_configured_source(Some("mic"));
    eprintln!(
        "the default source was back {:?} after the stop",
        stopped.elapsed()
    );
    assert!(!pw.has_node("onrecord_mic"));

    // Nothing of either side was lost: an announcement's stream leaving the graph while the
    // call recorded once made the recording's node miss a cycle.
    let manifest: serde_json::Value = serde_json::from_slice(
        &std::fs::read(env.call_dir().join("manifest.json")).expect("the sealed manifest"),
    )
    .unwrap();
    for s in manifest["capture"]["sources"].as_array().unwrap() {
        assert_eq!(s["frames_lost"], 0, "{s}; the timeline: {played:?}");
    }

    // The tape's left channel: the microphone, and both announcements of the recording at
    // the offsets the timeline gives; the notice before consent is not on it.
    let (me, _) = channels(&env.call_dir().join("audio.wav"));
    let seconds = me.len() as f64 / RATE;
    let mic = floats(&mic);
    let (notice_f, started_f) = (floats(&notice), floats(&started));
    // The microphone is all there, and the tape holds nothing else outside the announcements.
    // Its level is taken from a stretch after the last announcement (the call asks for the
    // announcement and returns as it starts: its end is not the test's to time).
    let quiet = notice_at + notice_f.len() as f64 / RATE + 0.2;
    assert!(
        quiet + 1.5 <= seconds - 0.2,
        "{seconds:.3} s on tape, the notice at {notice_at:.3} s"
    );
    let rest = without_voice(&me, &mic, quiet, 1.5);
    let mut taken = Vec::new();
    let (at, corr) = find(&me, &mic, &started_f, &mut taken);
    assert!(corr >= 0.99, "\"recording has started\" on tape: {corr}");
    assert!(
        (at - started_at).abs() <= 0.05,
        "on tape at {at:.3} s, the timeline says {started_at:.3} s"
    );
    let (at, corr) = find(&me, &mic, &notice_f, &mut taken);
    assert!(corr >= 0.99, "the notice on tape: {corr}");
    assert!(
        (at - notice_at).abs() <= 0.05,
        "on tape at {at:.3} s, the timeline says {notice_at:.3} s"
    );
    let mut rest = rest;
    for (&t, n) in taken.iter().zip([started_f.len(), notice_f.len()]) {
        for v in &mut rest[t..(t + n).min(me.len())] {
            *v = 0.0;
        }
    }
    let (_, corr) = best_match(&rest, &notice_f);
    assert!(
        corr < 0.3,
        "a notice played before consent is on tape ({corr})"
    );

    // What the softphone sent: the microphone and every announcement.
    let sent = clip.with_extension("Softphone.capture.wav");
    let mut r = hound::WavReader::open(&sent).unwrap();
    assert_eq!(r.spec().sample_rate, 48_000);
    let sent: Vec<f32> = r.samples::<i16>().map(|s| s.unwrap() as f32).collect();
    let len = sent.len() as f64 / RATE;
    let mut taken = Vec::new();
    for (what, clip) in [
        ("the notice", &notice_f),
        ("the notice again", &notice_f),
        ("recording has started", &started_f),
    ] {
        let (at, corr) = find(&sent, &mic, clip, &mut taken);
        assert!(
            corr >= 0.99,
            "{what} as the softphone sent it: {corr} at {at:.3} s of {len:.3} s; the timeline: {played:?}"
        );
    }
}

#[test]
fn a_default_source_left_by_a_crash_is_given_back_at_the_next_start() {
    let mut env = TestEnv::new();
    let pw = PipeWire::start(&env);
    configure(&env, "");
    pw.configure_source("mic");
    env.start_daemon();
    env.ctl_json(&["call", "new", "--them", "DE", "--label", "crash"]);
    pw.wait_configured_source(Some("onrecord_mic"));

    // The daemon dies, and the virtual microphone (a thread of it) with it, before it can give
    // the default back: the configured default still names the virtual microphone.
    env.kill9_daemon();
    std::thread::sleep(Duration::from_millis(500));
    assert_eq!(pw.configured_source().as_deref(), Some("onrecord_mic"));
    assert!(env.data_dir.join("mic-previous-default").exists());

    env.start_daemon();
    pw.wait_configured_source(Some("mic"));
    assert!(!env.data_dir.join("mic-previous-default").exists());
}

/// A daemon configured with `extra` over a PipeWire playing two voices (`both.wav`), and a
/// call with `them` whose onrecord microphone is up.
fn a_call(extra: &str, them: &str) -> (TestEnv, PipeWire) {
    let mut env = TestEnv::new();
    let mut pw = PipeWire::start(&env);
    let clip = env.dir.path().join("both.wav");
    two_voices(&clip, 20.0);
    configure(&env, extra);
    env.start_daemon();
    pw.play(&clip);
    env.ctl_json(&["call", "new", "--them", them, "--label", them]);
    pw.wait_node("onrecord_mic");
    (env, pw)
}

#[test]
fn without_a_listener_the_announcement_says_the_far_side_may_not_have_heard_it() {
    let (env, _pw) = a_call("language = \"auto\"\n", "DE");
    let out = env.call(&["announce"]);
    assert!(out.contains("the notice in German"), "{out}");
    let entry = &announcements(&env)[0];
    assert!(
        entry["detail"]
            .as_str()
            .unwrap()
            .contains("may not have heard"),
        "{entry}"
    );
    // "Recording has started" only while recording.
    let (code, _, err) = env.ctl_run(&["call", "announce", "--started"]);
    assert_eq!(code, 4, "{err}");
    env.call(&["stop"]);
}

/// The call's notification offers to play the notice; a click plays it, and it tells them.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_click_on_play_the_notice_plays_it_and_tells_them() {
    let mut env = TestEnv::new();
    let desktop = onrecord_tests::notifications::ActionServer::start(&env.bus.address).await;
    let mut pw = PipeWire::start(&env);
    let clip = env.dir.path().join("both.wav");
    two_voices(&clip, 10.0);
    configure(&env, "");
    env.start_daemon();
    pw.play(&clip);
    env.ctl_json(&["call", "new", "--them", "FR", "--label", "clicked"]);
    let shown = desktop
        .wait(0, "the call", |s| {
            s.keys() == ["notice", "announce", "stop"]
        })
        .await;
    let n = desktop.shown().len();
    desktop.click(shown.id, "announce").await;
    desktop
        .wait(n, "the next step", |s| {
            s.keys() == ["consent-yes", "consent-no"]
        })
        .await;
    let info = env.ctl_json(&["call", "show"]);
    assert_eq!(info["parties"][0]["notice"], "announcement", "{info}");
    let played = announcements(&env);
    assert!(
        played[0]["detail"]
            .as_str()
            .unwrap()
            .contains("the notice in French"),
        "{played:?}"
    );
    env.call(&["stop"]);
}

/// Unread, the onrecord microphone carries nothing, so the graph does not run it every cycle
/// for nobody; a softphone that reads it gets the microphone linked in, and when the softphone
/// is gone the link goes with it.
#[test]
fn the_onrecord_microphone_carries_the_microphone_only_while_something_reads_it() {
    let (env, mut pw) = a_call("", "US-CA");
    // Made the default: the helper has seen the graph, and chosen what it carries.
    pw.wait_configured_source(Some("onrecord_mic"));
    std::thread::sleep(Duration::from_millis(1000));
    let vmic = fed_from(&links(&pw), "onrecord_mic:input");
    assert!(
        vmic.is_empty(),
        "nothing reads it, yet it is fed by {vmic:?}"
    );

    let softphone = pw.app_stream(
        "Softphone",
        "Communication",
        true,
        Some("onrecord_mic"),
        &env.dir.path().join("both.wav"),
    );
    pw.wait_linked("onrecord_mic", "Softphone-capture");
    pw.wait_linked("mic", "onrecord_mic");

    pw.finish_stream(softphone);
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let vmic = fed_from(&links(&pw), "onrecord_mic:input");
        if vmic.is_empty() {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the softphone is gone, yet it is fed by {vmic:?}"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    env.call(&["stop"]);
}

/// A softphone onrecord noticed: once its call is taken up (here by playing the notice), its
/// microphone stream reads the onrecord microphone (which carries the headset it read), so the
/// notice reaches the far side; after the call it reads its headset again.
#[test]
fn a_noticed_softphones_microphone_is_moved_onto_the_onrecord_microphone_and_back() {
    let mut env = TestEnv::new();
    let mut pw = PipeWire::start(&env);
    let (voice, phone) = two_voices(&env.dir.path().join("both.wav"), 20.0);
    let voice_wav = onrecord_tests::mono_wav(&env.dir.path().join("voice.wav"), &voice);
    let phone_wav = onrecord_tests::mono_wav(&env.dir.path().join("phone.wav"), &phone);
    pw.add_microphone("headset");
    std::fs::write(
        &env.config,
        "jurisdiction = \"US-TX\"\n[detect]\nmodem = false\ngnome_calls = false",
    )
    .unwrap();
    env.start_daemon();
    pw.feed("headset", &voice_wav);
    pw.softphone("Linphone", &phone_wav, "headset");
    let list = env.calls_when("the softphone proposed", |l| !l.is_empty());
    let id = list[0]["id"].as_str().unwrap().to_owned();
    // Playing the notice takes the proposal up: the softphone is moved before it plays, so the
    // far side hears it from its start.
    let out = env.call(&["announce", &id]);
    assert!(!out.contains("may not have heard"), "{out}");

    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let lines = links(&pw);
        let softphone = fed_from(&lines, "Linphone-capture:input");
        let vmic = fed_from(&lines, "onrecord_mic:input");
        if softphone.iter().all(|f| f.starts_with("onrecord_mic:"))
            && !softphone.is_empty()
            && vmic.iter().any(|f| f.starts_with("headset:"))
        {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the softphone reads {softphone:?}, the onrecord microphone {vmic:?}"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    let timeline = env.ctl_json(&["call", "show", &id])["timeline"].to_string();
    assert!(
        timeline.contains(
            "Linphone's microphone now reads the onrecord microphone, which carries headset"
        ),
        "{timeline}"
    );
    env.call(&["stop", &id]);
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let softphone = fed_from(&links(&pw), "Linphone-capture:input");
        if !softphone.is_empty() && softphone.iter().all(|f| f.starts_with("headset:")) {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "after the call the softphone reads {softphone:?}"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// `onrecordctl announcement record`: the user's own notice, recorded from their microphone,
/// is what plays from then on.
#[test]
fn a_notice_recorded_from_the_microphone_is_the_one_played() {
    let mut env = TestEnv::new();
    let mut pw = PipeWire::start(&env);
    let clip = env.dir.path().join("both.wav");
    let (mic, _) = two_voices(&clip, 20.0);
    configure(&env, "");
    env.start_daemon();
    pw.configure_source("mic");
    pw.play(&clip);
    let (code, _, err) = env.ctl_run(&["announcement", "record", "--seconds", "500"]);
    assert_eq!(code, 2, "{err}");
    let out = env.ctl_run(&["announcement", "record", "--seconds", "2"]);
    assert_eq!(out.0, 0, "{out:?}");
    let path = env.data_dir.join("announcements/notice.wav");
    assert!(out.1.contains(path.to_str().unwrap()), "{out:?}");
    let mut r = hound::WavReader::open(&path).unwrap();
    assert_eq!((r.spec().sample_rate, r.spec().channels), (48_000, 1));
    let got: Vec<f32> = r.samples::<i16>().map(|s| s.unwrap() as f32).collect();
    assert!(
        (got.len() as f64 / RATE - 2.0).abs() < 0.01,
        "{}",
        got.len()
    );
    // It is the microphone, whole.
    let (_, corr) = best_match(&floats(&mic), &got[4800..got.len() - 4800]);
    assert!(corr >= 0.99, "the recording against the microphone: {corr}");

    env.ctl_json(&["call", "new", "--them", "US-CA", "--label", "own"]);
    pw.wait_node("onrecord_mic");
    let out = env.call(&["announce"]);
    assert!(out.contains("played your recorded notice (2.0 s)"), "{out}");
    env.call(&["stop"]);
}
