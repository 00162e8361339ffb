//! The call analysis while recording and after: hold music on the far side puts the call on
//! hold (OnHold, HoldSince, HoldStarted, a timeline entry at the hold's place), an agent who
//! is answered ends it (HoldEnded), and the sealed manifest carries the summary;
//! `onrecordctl analyze` reads the recording back.

use futures_util::StreamExt;
use onrecord_corpus::synth;
use onrecord_interface::{CallProxy, call_path};
use onrecord_tests::TestEnv;
use std::time::Duration;

/// 48 kHz stereo clips shaped like a real call's start: a ring, a recorded menu (Asterisk's
/// prompts, a real voice) that the caller answers with a key, "one moment, please", 20 s of
/// hold music, then an agent speaks and the caller answers. Returns (caller.wav, far.wav)
/// paths, where the music began and where the agent began (s).
fn clips(env: &TestEnv) -> (std::path::PathBuf, std::path::PathBuf, f64, f64) {
    let mut rng = synth::Rng::new(7);
    let prompt = |name: &str| synth::real::recording(synth::real::PROMPTS, name, -20.0).unwrap();
    let mut far = vec![0.0; 24_000];
    far.extend(synth::tone(&[440.0, 480.0], 2.0, -18.0));
    far.extend(vec![0.0; 4 * 48_000]);
    far.extend(prompt("basic-pbx-ivr-main"));
    far.extend(vec![0.0; 48_000]);
    // The caller presses 2 (the far side is silent meanwhile).
    let mut near = vec![0.0; far.len()];
    near.extend(synth::real::dtmf('2', 0.12, -12.0, -1.0));
    far.resize(near.len() + 36_000, 0.0);
    far.extend(prompt("one-moment-please"));
    far.extend(vec![0.0; 48_000]);
    let music_at = far.len() as f64 / 48_000.0;
    far.extend(synth::music(&mut rng, 20.0, -20.0));
    far.extend(vec![0.0; 24_000]);
    let agent_at = far.len() as f64 / 48_000.0;
    far.extend(
        synth::speak(
            "Thank you for holding, my name is Sam, how can I help you today?",
            "en-us",
            160,
            50,
            -20.0,
        )
        .unwrap(),
    );
    near.resize(far.len() + 24_000, 0.0);
    near.extend(
        synth::speak(
            "Hi Sam, I am calling about my last bill.",
            "en-gb",
            160,
            40,
            -20.0,
        )
        .unwrap(),
    );
    far.resize(near.len() + 48_000, 0.0);
    near.resize(far.len(), 0.0);
    let mut noise = synth::Rng::new(8);
    synth::add_noise(&mut far, &mut noise, -60.0);
    synth::add_noise(&mut near, &mut noise, -62.0);
    let write = |name: &str, x: &[f32]| {
        let path = env.dir.path().join(name);
        let spec = hound::WavSpec {
            channels: 1,
            sample_rate: 48_000,
            bits_per_sample: 16,
            sample_format: hound::SampleFormat::Int,
        };
        let mut w = hound::WavWriter::create(&path, spec).unwrap();
        for v in x {
            w.write_sample((v.clamp(-1.0, 1.0) * 32767.0) as i16)
                .unwrap();
        }
        w.finalize().unwrap();
        path
    };
    (
        write("caller.wav", &near),
        write("far.wav", &far),
        music_at,
        agent_at,
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hold_music_puts_the_call_on_hold_and_an_answered_agent_ends_it() {
    let mut env = TestEnv::new();
    let (caller, far, music_at, agent_at) = clips(&env);
    std::fs::write(
        &env.config,
        format!(
            "jurisdiction = \"US-TX\"\n[capture]\nsource = \"capture-file\"\n[capture.source_options]\nleft = \"{}\"\nright = \"{}\"\nspeed = \"8\"\n",
            caller.display(),
            far.display()
        ),
    )
    .unwrap();
    env.start_daemon();
    let id = env.ctl_json(&["call", "new", "--them", "US-TX", "--label", "hold"])["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let conn = env.connection().await;
    let call = CallProxy::builder(&conn)
        .path(call_path(&id))
        .cache_properties(zbus::proxy::CacheProperties::No)
        .build()
        .await
        .unwrap();
    let mut started = call.receive_hold_started().await.unwrap();
    let mut ended = call.receive_hold_ended().await.unwrap();
    assert!(!call.on_hold().await.unwrap());
    env.call(&["notice"]);
    env.call(&["start"]);
    let s = tokio::time::timeout(Duration::from_secs(20), started.next())
        .await
        .expect("HoldStarted")
        .unwrap();
    let s = s.args().unwrap();
    // The ring and the menu before the music are not a hold.
    let began = s.offset_us as f64 / 1e6;
    assert!(
        (began - music_at).abs() < 2.0,
        "the hold began with the music at {music_at:.1} s: {began:.1} s"
    );
    let e = match tokio::time::timeout(Duration::from_secs(20), ended.next()).await {
        Ok(e) => e.unwrap(),
        Err(_) => panic!("no HoldEnded; daemon log:\n{}", env.log()),
    };
    let e = e.args().unwrap();
    let held = (e.ended - e.since) as f64 / 1e6;
    assert!(
        (held - (agent_at - music_at)).abs() < 2.0,
        "held {held:.1} s, the music began at {music_at:.1} s and the agent came at {agent_at:.1} s"
    );
    assert!(!call.on_hold().await.unwrap());
    let timeline = call.timeline().await.unwrap();
    assert!(
        timeline
            .iter()
            .any(|t| t.kind == onrecord_interface::TimelineKind::Hold
                && t.detail.starts_with("on hold since ")
                && (t.audio_offset_us as f64 / 1e6 - music_at).abs() < 2.0),
        "{timeline:?}"
    );
    assert!(
        timeline
            .iter()
            .any(|t| t.kind == onrecord_interface::TimelineKind::Hold
                && t.detail.starts_with("hold ended")),
        "{timeline:?}"
    );
    // The rest of the clips (the caller's answer) plays at 8x: let it all in before stopping.
    tokio::time::sleep(Duration::from_secs(2)).await;
    env.call(&["stop"]);
    let manifest: serde_json::Value =
        serde_json::from_slice(&std::fs::read(env.call_dir().join("manifest.json")).unwrap())
            .unwrap();
    let a: onrecord_analysis::Summary = serde_json::from_value(manifest["analysis"].clone())
        .expect("the manifest carries the analysis");
    assert_eq!(a.holds.len(), 1, "{a:?}");
    assert!(
        (a.menu_s - music_at).abs() < 2.0 && (a.hold_s - (agent_at - music_at)).abs() < 2.0,
        "menu {:.1} s, hold {:.1} s; the music began at {music_at:.1} s, the agent at {agent_at:.1} s",
        a.menu_s,
        a.hold_s
    );
    assert_eq!(
        a.keys.iter().map(|k| k.key).collect::<String>(),
        "2",
        "{a:?}"
    );
    let first = a.first_live_s.expect("an agent was found");
    assert!(
        (first - agent_at).abs() < 1.0,
        "first live agent at {first:.1} s, truly {agent_at:.1} s"
    );
    assert!(a.talk_near_s.unwrap() > 1.0, "{a:?}");
    let timeline = call.timeline().await.unwrap();
    assert!(
        timeline
            .iter()
            .any(|t| t.kind == onrecord_interface::TimelineKind::Analysis
                && t.detail.contains("1 hold(s)")),
        "{timeline:?}"
    );

    // The export's report says it too.
    let bundle = env.dir.path().join("hold.zip");
    let (code, _, err) = env.ctl_run(&["export", &id, "--to", bundle.to_str().unwrap()]);
    assert_eq!(code, 0, "{err}");
    let mut archive = zip::ZipArchive::new(std::fs::File::open(&bundle).unwrap()).unwrap();
    let mut html = String::new();
    std::io::Read::read_to_string(
        &mut archive.by_name(&format!("{id}/report.html")).unwrap(),
        &mut html,
    )
    .unwrap();
    assert!(
        html.contains("Waiting and holds") && html.contains("in 1 hold(s)"),
        "{html}"
    );
    // Chromium shows the picture of the wait: the bar's stretches, the key pressed, the hold,
    // the legend and the figures, each in words.
    let report = env.dir.path().join("report.html");
    std::fs::write(&report, &html).unwrap();
    let dom = onrecord_tests::chromium(
        &["--dump-dom", &format!("file://{}", report.display())],
        &env.dir.path().join("chromium"),
    );
    let dom = String::from_utf8_lossy(&dom.stdout);
    let picture = &dom[dom
        .find("<svg id=\"wait\"")
        .expect("the picture is in the page")..];
    let picture = &picture[..picture.find("</svg>").unwrap()];
    for expected in [
        "role=\"img\"",
        "aria-labelledby=\"wait-title wait-desc\"",
        "what the far side was doing</title>",
        "<rect class=\"ringing\"",
        "<rect class=\"menu\"",
        "<rect class=\"music\"",
        "<rect class=\"live-agent\"",
        "<title>key 2 pressed at",
        ">hold 1</text>",
        "Time to agent:</tspan>",
        "Menu:</tspan>",
        "On hold:</tspan>",
    ] {
        assert!(
            picture.contains(expected),
            "the picture lacks {expected:?}:\n{picture}"
        );
    }

    // Offline, from the call id and from the file: the same finding.
    let (code, out, err) = env.ctl_run(&["analyze", &id, "--json"]);
    assert_eq!(code, 0, "{err}");
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["summary"]["holds"].as_array().unwrap().len(), 1);
    let wav = env.call_dir().join("audio.wav");
    let (code, out, err) = env.ctl_run(&["analyze", wav.to_str().unwrap()]);
    assert_eq!(code, 0, "{err}");
    assert!(
        out.contains("first live agent") && out.contains("1 hold(s)"),
        "{out}"
    );
}

#[test]
fn analyze_says_what_is_wrong_with_a_bad_file() {
    let env = TestEnv::new();
    let bad = env.dir.path().join("notes.wav");
    std::fs::write(&bad, "not audio").unwrap();
    let (code, _, err) = env.ctl_run(&["analyze", bad.to_str().unwrap()]);
    assert_eq!(code, 2);
    assert!(
        err.starts_with("onrecordctl: ")
            && err.contains("not a WAV or FLAC")
            && err.lines().count() == 1,
        "{err}"
    );
    let (code, _, err) = env.ctl_run(&["analyze", "/no/such/file.wav"]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("no such file"), "{err}");
}
