//! Live capture: your microphone on the left, the far side on the right, each on its own
//! clock, aligned by time. Over a real headless PipeWire (pipewire, wireplumber,
//! pipewire-pulse, a null sink as the far side, a remapped source as the microphone) and over
//! timed file sources whose clock runs off and whose device is lost for a second.

use onrecord_tests::TestEnv;
use onrecord_tests::pipewire::{PipeWire, channels, floats, locate, two_voices};
use std::time::{Duration, Instant};

const RATE: f64 = 48_000.0;

/// `clip` as a device whose clock runs `factor` fast is heard on a true clock: sample `n` of
/// the result is the clip at `n * factor` (cubic interpolation).
fn stretched(clip: &[f32], factor: f64) -> Vec<f32> {
    let n = ((clip.len() - 3) as f64 / factor) as usize;
    (0..n)
        .map(|i| {
            let k = i as f64 * factor;
            let j = (k.floor() as usize).max(1);
            let f = (k - j as f64) as f32;
            let (p0, p1, p2, p3) = (clip[j - 1], clip[j], clip[j + 1], clip[j + 2]);
            let c1 = 0.5 * (p2 - p0);
            let c2 = p0 - 2.5 * p1 + 2.0 * p2 - 0.5 * p3;
            let c3 = 0.5 * (p3 - p0) + 1.5 * (p1 - p2);
            ((c3 * f + c2) * f + c1) * f + p1
        })
        .collect()
}

/// The timeline's `capture` entries.
fn capture_notes(env: &TestEnv) -> Vec<String> {
    env.ctl_json(&["call", "show"])["timeline"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["kind"] == "capture")
        .map(|e| e["detail"].as_str().unwrap().to_owned())
        .collect()
}

/// `m:ss.mmm` -> seconds.
fn secs(offset: &str) -> f64 {
    let (m, s) = offset.split_once(':').unwrap();
    m.parse::<f64>().unwrap() * 60.0 + s.parse::<f64>().unwrap()
}

/// The (from, to) of every "no audio from A to B" note of `who`.
fn gaps(notes: &[String], who: &str) -> Vec<(f64, f64)> {
    notes
        .iter()
        .filter_map(|n| {
            let rest = n.strip_prefix(who)?.strip_prefix(": no audio from ")?;
            let (a, b) = rest.split_once(" to ")?;
            Some((secs(a), secs(b.split_whitespace().next()?)))
        })
        .collect()
}

/// The first of `gaps`.
fn gap(notes: &[String], who: &str) -> Option<(f64, f64)> {
    gaps(notes, who).into_iter().next()
}

#[test]
fn timed_sources_are_aligned_their_drift_is_corrected_and_a_lost_device_leaves_a_marked_gap() {
    let _turn = onrecord_tests::pipewire::realtime_turn();
    let mut env = TestEnv::new();
    let (l, r) = two_voices(&env.dir.path().join("both.wav"), 12.0);
    // The two sides as mono files; the far side's clock runs 2000 ppm fast, and its device is
    // lost from 3 s to 4 s.
    for (name, v) in [("me.wav", &l), ("them.wav", &r)] {
        let spec = hound::WavSpec {
            channels: 1,
            sample_rate: 48_000,
            bits_per_sample: 16,
            sample_format: hound::SampleFormat::Int,
        };
        let mut w = hound::WavWriter::create(env.dir.path().join(name), spec).unwrap();
        v.iter().for_each(|s| w.write_sample(*s).unwrap());
        w.finalize().unwrap();
    }
    let d = env.dir.path().display().to_string();
    std::fs::write(
        &env.config,
        format!(
            "jurisdiction = \"US-TX\"\n[capture]\nsource = \"capture-file\"\nmicrophone = \"{d}/me.wav\"\nfar_side = \"{d}/them.wav\"\n[capture.far_side_options]\nclock_ppm = \"2000\"\ngap_at_ms = \"3000\"\ngap_ms = \"1000\"\n"
        ),
    )
    .unwrap();
    env.start_daemon();
    env.ctl_json(&["call", "new", "--them", "US-CA", "--label", "drift"]);
    env.call(&["notice"]);
    env.call(&["consent", "yes"]);
    env.call(&["start"]);
    std::thread::sleep(Duration::from_millis(8000));
    env.call(&["stop"]);
    let dir = env.call_dir();
    let (me, them) = channels(&dir.join("audio.wav"));
    let seconds = me.len() as f64 / RATE;
    assert!((7.8..8.6).contains(&seconds), "{seconds} s recorded");
    let (lf, rf) = (floats(&l), floats(&r));

    // Each channel is its own clip: the left at the nominal rate throughout.
    let (me_start, c1) = locate(&lf, &me, 0.5, 1.0);
    let (me_end, c2) = locate(&lf, &me, 6.5, 1.0);
    assert!(c1 > 0.99 && c2 > 0.99, "microphone correlation {c1} {c2}");
    assert!(
        (me_end - me_start).abs() <= 10.0,
        "the microphone drifted {} frames",
        me_end - me_start
    );
    // The far side's clock runs 2000 ppm fast: on the recording's (true) clock, its channel is
    // its clip sped up by that much, and stays aligned with it from start to end. (Frames
    // written as they came, uncorrected, would slip 576 frames against it in these 6 s.)
    let truth = stretched(&rf, 1.002);
    let (them_start, c3) = locate(&truth, &them, 0.5, 1.0);
    let (them_end, c4) = locate(&truth, &them, 6.5, 1.0);
    assert!(c3 > 0.99 && c4 > 0.99, "far side correlation {c3} {c4}");
    let moved = them_end - them_start;
    assert!(
        moved.abs() <= 10.0,
        "the far side slipped {moved} frames against its true clock"
    );
    // Both started together: at the start the two channels are aligned within 5 ms.
    assert!(
        (me_start - them_start).abs() <= 0.005 * RATE,
        "{me_start} vs {them_start}"
    );

    // The lost second: silence on the far side only, noted where it lies, and the audio after
    // it in its place on the time line (after the gap, the lag follows the same line).
    let notes = capture_notes(&env);
    let all = notes.join("\n");
    let who = format!("far side ({d}/them.wav)");
    assert!(all.contains(&format!("{who}: device lost at 0:0")), "{all}");
    assert!(all.contains(&format!("{who}: device back at 0:0")), "{all}");
    let (from, to) = gap(&notes, &who).unwrap_or_else(|| panic!("no gap noted: {all}"));
    assert!(
        (from - 3.0).abs() < 0.1 && (to - 4.0).abs() < 0.1,
        "gap {from}..{to}: {all}"
    );
    assert!(
        gap(&notes, &format!("microphone ({d}/me.wav)")).is_none(),
        "{all}"
    );
    let quiet = &them[(3.1 * RATE) as usize..(3.9 * RATE) as usize];
    assert!(
        quiet.iter().all(|&v| v == 0.0),
        "the far side is silent while lost"
    );
    let (after, c5) = locate(&truth, &them, 4.5, 1.0);
    assert!(c5 > 0.99, "far side after the gap: {c5}");
    assert!(
        (after - them_start).abs() <= 10.0,
        "after the gap at {after}, {them_start} expected"
    );

    // The record says what each source did.
    let manifest: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.join("manifest.json")).unwrap()).unwrap();
    let sources = manifest["capture"]["sources"].as_array().unwrap();
    assert_eq!(sources.len(), 2);
    let drift = |i: usize| sources[i]["drift_ppm"].as_f64().unwrap();
    assert!(drift(0).abs() < 100.0, "microphone drift {}", drift(0));
    assert!(
        (drift(1) - 2000.0).abs() < 100.0,
        "far side drift {}",
        drift(1)
    );
    assert_eq!(sources[1]["gaps"], 1, "{}", sources[1]);
    assert_eq!(sources[0]["gaps"], 0, "{}", sources[0]);
    let (code, out, err) = env.ctl_run(&["verify", dir.to_str().unwrap()]);
    assert_eq!(code, 0, "{out}{err}");
}

fn configure_pipewire(env: &TestEnv) {
    std::fs::write(
        &env.config,
        "jurisdiction = \"US-TX\"\n[capture]\nmicrophone = \"pipewire:mic\"\nfar_side = \"pipewire:far_side\"\n",
    )
    .unwrap();
}

#[test]
fn a_live_pipewire_call_records_the_microphone_left_and_the_far_side_right_and_nothing_before_consent()
 {
    let mut env = TestEnv::new();
    let mut pw = PipeWire::start(&env);
    let clip = env.dir.path().join("both.wav");
    let (l, r) = two_voices(&clip, 14.0);
    configure_pipewire(&env);
    env.start_daemon();
    // Devices are listed without any ALSA configuration: the microphone and the far side's
    // monitor among them.
    let devices = env.ctl_json(&["devices"]);
    let list = devices["devices"].as_array().unwrap();
    let kind = |id: &str| {
        list.iter()
            .find(|d| d["id"] == id)
            .map(|d| d["kind"].as_str().unwrap().to_owned())
    };
    assert_eq!(kind("pipewire:mic").as_deref(), Some("input"), "{devices}");
    assert_eq!(
        kind("pipewire:far_side").as_deref(),
        Some("monitor"),
        "{devices}"
    );

    // Both sides talk from before the call is even created.
    pw.play(&clip);
    let fed = Instant::now();
    env.ctl_json(&["call", "new", "--them", "US-CA", "--label", "live"]);
    env.call(&["notice"]);
    std::thread::sleep(Duration::from_millis(700));
    assert!(
        !env.call_dir().join("audio.wav").exists(),
        "audio before consent"
    );
    env.call(&["consent", "yes"]);
    std::thread::sleep(Duration::from_millis(700));
    assert!(
        !env.call_dir().join("audio.wav").exists(),
        "audio before start"
    );
    let started = fed.elapsed().as_secs_f64();
    env.call(&["start"]);
    std::thread::sleep(Duration::from_secs(3));
    // onrecord's capture streams carry no media.role: `Communication` would switch a Bluetooth
    // headset to its call profile (WirePlumber's policy) for a mere recorder.
    let nodes = pw.run("pw-cli", &["ls", "Node"]);
    let ours: Vec<&str> = nodes
        .split("\tid ")
        .filter(|n| n.contains("node.name = \"onrecord\""))
        .collect();
    assert_eq!(ours.len(), 1, "both sides in one node: {nodes}");
    assert!(ours.iter().all(|n| !n.contains("media.role")), "{ours:?}");
    std::thread::sleep(Duration::from_secs(3));
    env.call(&["stop"]);
    let dir = env.call_dir();
    let (me, them) = channels(&dir.join("audio.wav"));
    let seconds = me.len() as f64 / RATE;
    assert!((5.8..6.6).contains(&seconds), "{seconds} s recorded");
    // Each channel is its own clip, whole (after the devices' first period), aligned.
    let (lf, rf) = (floats(&l), floats(&r));
    let (me_at, c1) = locate(&lf, &me, 0.3, seconds - 0.5);
    let (them_at, c2) = locate(&rf, &them, 0.3, seconds - 0.5);
    assert!(c1 >= 0.99, "microphone correlation {c1}");
    assert!(c2 >= 0.99, "far side correlation {c2}");
    // The recording's first frame is audio played after the start, never before consent.
    for at in [me_at, them_at] {
        assert!(
            at / RATE >= started - 0.1,
            "the recording begins {} s into the clip, but recording started {started} s in",
            at / RATE
        );
    }
    // One player feeds both sides: the channels line up (the microphone's remap adds at most
    // a period of latency).
    assert!(
        (me_at - them_at).abs() <= 0.05 * RATE,
        "the channels are {} ms apart",
        (me_at - them_at) / RATE * 1000.0
    );
    let manifest: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.join("manifest.json")).unwrap()).unwrap();
    let sources = manifest["capture"]["sources"].as_array().unwrap();
    assert_eq!(sources[0]["source"], "microphone (pipewire:mic)");
    assert_eq!(sources[1]["source"], "far side (pipewire:far_side)");
    for s in sources {
        assert_eq!(s["frames_lost"], 0, "{s}");
        assert_eq!(s["gaps"], 0, "{s}");
    }
}

#[test]
fn a_far_side_lost_mid_call_leaves_a_gap_in_its_channel_only_and_is_reopened() {
    let mut env = TestEnv::new();
    let mut pw = PipeWire::start(&env);
    let clip = env.dir.path().join("both.wav");
    let (l, r) = two_voices(&clip, 16.0);
    configure_pipewire(&env);
    env.start_daemon();
    pw.play(&clip);
    env.ctl_json(&["call", "new", "--them", "US-CA", "--label", "lost"]);
    env.call(&["notice"]);
    env.call(&["consent", "yes"]);
    env.call(&["start"]);
    std::thread::sleep(Duration::from_secs(2));
    pw.unplug_far_side();
    std::thread::sleep(Duration::from_secs(2));
    pw.plug_far_side();
    std::thread::sleep(Duration::from_secs(4));
    env.call(&["stop"]);
    let notes = capture_notes(&env);
    let all = notes.join("\n");
    let who = "far side (pipewire:far_side)";
    assert!(all.contains(&format!("{who}: device lost at 0:0")), "{all}");
    assert!(all.contains(&format!("{who}: device back at 0:0")), "{all}");
    let (from, to) = gap(&notes, who).unwrap_or_else(|| panic!("no gap noted: {all}"));
    assert!(
        (1.5..3.0).contains(&from) && (3.5..6.0).contains(&to),
        "gap {from}..{to}: {all}"
    );
    assert!(gap(&notes, "microphone (pipewire:mic)").is_none(), "{all}");

    let (me, them) = channels(&env.call_dir().join("audio.wav"));
    let seconds = me.len() as f64 / RATE;
    // The microphone went on throughout.
    let (_, c) = locate(&floats(&l), &me, 0.3, seconds - 0.5);
    assert!(c >= 0.99, "microphone correlation {c}");
    // The far side: its clip before the gap, silence in it, its clip again after.
    let rf = floats(&r);
    let (_, before) = locate(&rf, &them, 0.3, from - 0.5);
    assert!(before >= 0.99, "far side before the gap: {before}");
    let quiet = &them[((from + 0.05) * RATE) as usize..((to - 0.05) * RATE) as usize];
    assert!(
        quiet.iter().all(|&v| v == 0.0),
        "the far side is silent while lost"
    );
    let (_, after) = locate(&rf, &them, to + 0.3, seconds - to - 0.6);
    assert!(after >= 0.99, "far side after the gap: {after}");
}

#[test]
fn one_side_alone_is_recorded_mono() {
    let _turn = onrecord_tests::pipewire::realtime_turn();
    let mut env = TestEnv::new();
    let (l, _) = two_voices(&env.dir.path().join("both.wav"), 6.0);
    let spec = hound::WavSpec {
        channels: 1,
        sample_rate: 48_000,
        bits_per_sample: 16,
        sample_format: hound::SampleFormat::Int,
    };
    let me = env.dir.path().join("me.wav");
    let mut w = hound::WavWriter::create(&me, spec).unwrap();
    l.iter().for_each(|s| w.write_sample(*s).unwrap());
    w.finalize().unwrap();
    std::fs::write(
        &env.config,
        format!(
            "jurisdiction = \"US-TX\"\n[capture]\nsource = \"capture-file\"\nmicrophone = \"{}\"\nfar_side = \"none\"\n",
            me.display()
        ),
    )
    .unwrap();
    env.start_daemon();
    env.ctl_json(&["call", "new", "--them", "US-TX", "--label", "mono"]);
    env.call(&["notice"]);
    env.call(&["start"]);
    std::thread::sleep(Duration::from_millis(4000));
    env.call(&["stop"]);
    let mut r = hound::WavReader::open(env.call_dir().join("audio.wav")).unwrap();
    assert_eq!((r.spec().channels, r.spec().sample_rate), (1, 48_000));
    let rec: Vec<f32> = r.samples::<i16>().map(|s| s.unwrap() as f32).collect();
    let seconds = rec.len() as f64 / RATE;
    assert!((3.8..4.6).contains(&seconds), "{seconds} s recorded");
    let (_, c) = locate(&floats(&l), &rec, 0.2, seconds - 0.4);
    assert!(c > 0.99, "correlation {c}");
    let manifest: serde_json::Value =
        serde_json::from_slice(&std::fs::read(env.call_dir().join("manifest.json")).unwrap())
            .unwrap();
    let sources = manifest["capture"]["sources"].as_array().unwrap();
    assert_eq!(sources.len(), 1);
    assert_eq!(
        sources[0]["source"],
        format!("microphone ({})", me.display())
    );
}

/// Only the call on tape: a softphone and a music player play into the same output; onrecord
/// noticed the softphone on PipeWire, so the far side is the softphone's own stream. Its clip
/// is on the right channel and the music is not. The softphone reads a headset microphone, not
/// the configured one: the left channel is the headset's.
#[test]
fn a_detected_softphone_is_recorded_without_the_music_beside_it() {
    let mut env = TestEnv::new();
    let mut pw = PipeWire::start(&env);
    let (mic, phone) = two_voices(&env.dir.path().join("both.wav"), 14.0);
    // The music: as loud, and like neither (the microphone's noise, backwards).
    let music: Vec<i16> = mic.iter().rev().copied().collect();
    // The headset: the far side's noise, backwards.
    let headset: Vec<i16> = phone.iter().rev().copied().collect();
    let [mic_wav, phone_wav, music_wav, headset_wav] = onrecord_tests::mono_wavs(
        env.dir.path(),
        [
            ("mic.wav", &mic),
            ("phone.wav", &phone),
            ("music.wav", &music),
            ("headset.wav", &headset),
        ],
    );
    pw.add_microphone("headset");
    configure_pipewire(&env);
    env.start_daemon();
    pw.feed("mic", &mic_wav);
    pw.feed("headset", &headset_wav);
    pw.app_stream("Rhythmbox", "Music", false, Some("far_side"), &music_wav);
    pw.softphone("Linphone", &phone_wav, "headset");
    let list = env.calls_when("the softphone proposed", |l| !l.is_empty());
    assert_eq!(list[0]["label"], "Linphone");
    let id = list[0]["id"].as_str().unwrap().to_owned();
    // The call is proposed from its first stream; WirePlumber may link the capture stream to
    // the headset a moment later (a recording that started before follows it then: see
    // a_softphone_moved_to_another_microphone_mid_call_is_followed). The user here starts
    // once the softphone reads its microphone.
    pw.wait_linked("headset", "Linphone-capture");
    env.call(&["notice", &id]);
    env.call(&["consent", "yes", &id]);
    env.call(&["start", &id]);
    std::thread::sleep(Duration::from_secs(4));
    env.call(&["stop", &id]);

    let dir = env.call_dir();
    let (me, them) = channels(&dir.join("audio.wav"));
    let (_, c_phone) = locate(&floats(&phone), &them, 0.5, 2.0);
    let (_, c_music) = locate(&floats(&music), &them, 0.5, 2.0);
    let (_, c_headset) = locate(&floats(&headset), &me, 0.5, 2.0);
    let (_, c_mic) = locate(&floats(&mic), &me, 0.5, 2.0);
    eprintln!(
        "correlation: softphone {c_phone:.4}, music {c_music:.4}; headset {c_headset:.4}, configured microphone {c_mic:.4}"
    );
    assert!(c_phone >= 0.99, "the softphone on the right: {c_phone}");
    assert!(c_music <= 0.1, "the music on the right: {c_music}");
    assert!(c_headset >= 0.99, "the headset on the left: {c_headset}");
    assert!(
        c_mic <= 0.1,
        "the configured microphone on the left: {c_mic}"
    );
    // The manifest names what the far side came from.
    let manifest: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.join("manifest.json")).unwrap()).unwrap();
    let sources = manifest["capture"]["sources"].to_string();
    assert!(
        sources.contains("far side (Linphone's stream on PipeWire)")
            && sources.contains("microphone (Linphone's microphone, PipeWire serial ")
            && sources.contains("which the recording follows"),
        "{sources}"
    );
}

/// A softphone that replaces its playback stream mid-call (a renegotiation) is followed: the
/// far side goes on from the new stream, and the timeline says so.
#[test]
fn a_softphone_replacing_its_stream_mid_call_is_followed() {
    let mut env = TestEnv::new();
    let mut pw = PipeWire::start(&env);
    let (mic, first) = two_voices(&env.dir.path().join("both.wav"), 20.0);
    let second: Vec<i16> = first.iter().rev().copied().collect();
    let [mic_wav, first_wav, second_wav] = onrecord_tests::mono_wavs(
        env.dir.path(),
        [
            ("mic.wav", &mic),
            ("first.wav", &first),
            ("second.wav", &second),
        ],
    );
    configure_pipewire(&env);
    env.start_daemon();
    pw.feed("mic", &mic_wav);
    let old = pw.softphone("Linphone", &first_wav, "mic");
    let list = env.calls_when("the softphone proposed", |l| !l.is_empty());
    assert_eq!(list[0]["label"], "Linphone");
    let id = list[0]["id"].as_str().unwrap().to_owned();
    env.call(&["notice", &id]);
    env.call(&["consent", "yes", &id]);
    env.call(&["start", &id]);
    std::thread::sleep(Duration::from_millis(2500));
    // The softphone renegotiates: its stream goes, a new one comes.
    pw.end_stream(old);
    pw.app_stream(
        "Linphone",
        "Communication",
        false,
        Some("far_side"),
        &second_wav,
    );
    std::thread::sleep(Duration::from_secs(5));
    env.call(&["stop", &id]);

    let (_, them) = channels(&env.call_dir().join("audio.wav"));
    let seconds = them.len() as f64 / RATE;
    let (_, before) = locate(&floats(&first), &them, 0.5, 1.5);
    let (_, after) = locate(&floats(&second), &them, seconds - 2.0, 1.5);
    eprintln!("correlation: first stream {before:.4} before, second stream {after:.4} after");
    assert!(before >= 0.99, "the first stream before: {before}");
    assert!(after >= 0.99, "the new stream after: {after}");
    let timeline = env.ctl_json(&["call", "show", &id])["timeline"].to_string();
    assert!(
        timeline.contains("which the recording follows"),
        "{timeline}"
    );
}

/// A softphone moved to another microphone mid-call (the user picks the headset in the sound
/// settings) is followed: the left channel goes on from the headset, and the timeline says so.
#[test]
fn a_softphone_moved_to_another_microphone_mid_call_is_followed() {
    let mut env = TestEnv::new();
    let mut pw = PipeWire::start(&env);
    let (mic, phone) = two_voices(&env.dir.path().join("both.wav"), 20.0);
    // The headset: the microphone's noise, backwards.
    let headset: Vec<i16> = mic.iter().rev().copied().collect();
    let [mic_wav, phone_wav, headset_wav] = onrecord_tests::mono_wavs(
        env.dir.path(),
        [
            ("mic.wav", &mic),
            ("phone.wav", &phone),
            ("headset.wav", &headset),
        ],
    );
    pw.add_microphone("headset");
    configure_pipewire(&env);
    env.start_daemon();
    pw.feed("mic", &mic_wav);
    pw.feed("headset", &headset_wav);
    pw.softphone("Linphone", &phone_wav, "mic");
    let list = env.calls_when("the softphone proposed", |l| !l.is_empty());
    let id = list[0]["id"].as_str().unwrap().to_owned();
    // No wait for the softphone's capture stream: until it reads a microphone, the recording
    // reads the configured one (here the same).
    env.call(&["notice", &id]);
    env.call(&["consent", "yes", &id]);
    env.call(&["start", &id]);
    std::thread::sleep(Duration::from_millis(2500));
    pw.move_stream("Linphone-capture", "headset");
    pw.wait_linked("headset", "Linphone-capture");
    std::thread::sleep(Duration::from_secs(4));
    env.call(&["stop", &id]);

    let (me, them) = channels(&env.call_dir().join("audio.wav"));
    let seconds = me.len() as f64 / RATE;
    let (_, before) = locate(&floats(&mic), &me, 0.5, 1.5);
    let (_, after) = locate(&floats(&headset), &me, seconds - 2.0, 1.5);
    let (_, mic_after) = locate(&floats(&mic), &me, seconds - 2.0, 1.5);
    let (_, c_phone) = locate(&floats(&phone), &them, 0.5, 2.0);
    eprintln!(
        "correlation: microphone {before:.4} before, headset {after:.4} after (microphone {mic_after:.4}); far side {c_phone:.4}"
    );
    assert!(before >= 0.99, "the microphone before: {before}");
    assert!(after >= 0.99, "the headset after: {after}");
    assert!(mic_after <= 0.1, "the microphone after: {mic_after}");
    assert!(c_phone >= 0.99, "the softphone on the right: {c_phone}");
    // Said in the timeline: the detector saw the move, and the microphone moved with no cycle
    // lost (linked from the headset before its old link went).
    let show = env.ctl_json(&["call", "show", &id]);
    let timeline = show["timeline"].to_string();
    assert!(
        timeline.contains("microphone: serial") && timeline.contains("which the recording follows"),
        "{timeline}"
    );
    assert!(
        timeline.contains("device moved") && timeline.contains("now headset"),
        "{timeline}"
    );
    let summary = timeline
        .split("which the recording follows): drift ")
        .nth(1)
        .and_then(|rest| rest.split(';').next())
        .unwrap_or_else(|| panic!("no capture summary of the microphone: {timeline}"));
    // The one gap a move may leave: the microphone's line drove the graph, and once it leaves
    // onrecord's node PipeWire hands the node to another driver, whose cycles run at another
    // phase (the capture pauses for up to a cycle). Every gap is such a pause, of the length
    // the node's clock gave, and the timeline says so for both sides (they share the node).
    let details: Vec<String> = show["timeline"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|e| Some(e["detail"].as_str()?.to_owned()))
        .collect();
    // The side's label, as its notes begin: "microphone (Linphone's microphone, ...)".
    let microphone = details
        .iter()
        .find_map(|d| Some(d[..=d.strip_prefix("microphone (").and(d.find("): "))?].to_owned()))
        .unwrap_or_else(|| panic!("no note of the microphone: {timeline}"));
    let mic_gaps: Vec<f64> = gaps(&details, &microphone)
        .into_iter()
        .map(|(from, to)| (to - from) * 1000.0)
        .collect();
    let pauses = |side: &str| -> Vec<f64> {
        details
            .iter()
            .filter(|d| d.starts_with(side) && d.contains(": clock changed at "))
            .map(|d| {
                let rest = d
                    .split("no graph cycle for ")
                    .nth(1)
                    .unwrap_or_else(|| panic!("{d}"));
                rest.split(" ms").next().unwrap().parse::<f64>().unwrap()
            })
            .collect()
    };
    let (mic_pauses, far_pauses) = (pauses("microphone"), pauses("far side"));
    eprintln!(
        "the microphone: gaps {mic_gaps:?} ms, driver handovers pausing {mic_pauses:?} ms (the far side {far_pauses:?})"
    );
    assert!(
        summary.contains(&format!(" {} gap(s)", mic_gaps.len())),
        "the microphone: {summary}; gaps {mic_gaps:?}"
    );
    for gap in &mic_gaps {
        assert!(
            mic_pauses.iter().any(|p| (p - gap).abs() <= 3.0),
            "the microphone: a gap of {gap} ms that no driver handover explains ({mic_pauses:?} ms): {timeline}"
        );
    }
    assert_eq!(mic_pauses, far_pauses, "both sides are told: {timeline}");
}
