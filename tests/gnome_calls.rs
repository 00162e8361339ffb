//! Calls in GNOME Calls, from a GNOME Calls of the tests on the test's session bus: a SIP
//! call's number decides its law; a SIP address without one leaves the other side's location
//! unknown; cellular calls are ModemManager's. The call in GNOME Calls and its streams on a
//! real headless PipeWire (which claim the test's process, as GNOME Calls' own would claim
//! its) are one call, recorded from those streams alone.

use onrecord_tests::TestEnv;
use onrecord_tests::gnome_calls::{ACTIVE, CALLING, DISCONNECTED, FakeGnomeCalls, INCOMING};
use onrecord_tests::own_stream::OwnStream;
use onrecord_tests::pipewire::{PipeWire, channels, floats, locate, two_voices};
use std::time::{Duration, Instant};

/// The details of a call's timeline entries of `kind`.
fn notes(env: &TestEnv, id: &str, kind: &str) -> Vec<String> {
    let show = env.ctl_json(&["call", "show", id]);
    show["timeline"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["kind"] == kind)
        .map(|e| e["detail"].as_str().unwrap_or_default().to_owned())
        .collect()
}

fn on_disk(env: &TestEnv) -> usize {
    std::fs::read_dir(env.data_dir.join("calls"))
        .map(|d| d.count())
        .unwrap_or(0)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sip_call_in_gnome_calls_is_proposed_with_its_number_and_a_cellular_one_is_left_to_the_modem()
 {
    let mut env = TestEnv::new();
    let mut calls = FakeGnomeCalls::start(&env.bus.address).await;
    // A cellular call GNOME Calls already shows: ModemManager (watched by default) proposes it.
    calls.add_call("+15125550123", "tel", true, INCOMING).await;
    let (_peer, seen) = env.notification_peer().await;
    env.start_daemon();
    let sip = calls
        .add_call(
            "sip:+14155550123@sip.example.net;user=phone",
            "sip",
            true,
            INCOMING,
        )
        .await;
    let list = env.calls_when("proposed", |l| !l.is_empty());
    assert_eq!(list.len(), 1, "{list:?}");
    assert_eq!(list[0]["state"], "proposed");
    assert_eq!(list[0]["label"], "+14155550123");
    // A California number: all-party, from the number in the SIP address.
    assert_eq!(list[0]["requirement"], "all-party");
    let id = list[0]["id"].as_str().unwrap().to_owned();
    let show = env.ctl_json(&["call", "show", &id]);
    assert_eq!(
        show["parties"][0]["party"]["jurisdiction"], "US-CA",
        "{show}"
    );
    assert_eq!(
        env.detected(&id).await,
        ("gnome-calls".to_owned(), "GNOME Calls".to_owned())
    );
    // The notification says what was noticed, and that it is incoming.
    let deadline = Instant::now() + Duration::from_secs(5);
    while !seen.lock().unwrap().iter().any(|n| {
        n.starts_with("onrecord: an incoming call in GNOME Calls |") && n.contains("all-party")
    }) {
        assert!(Instant::now() < deadline, "{:?}", seen.lock().unwrap());
        tokio::time::sleep(Duration::from_millis(20)).await;
    }

    // A SIP address with no number: nobody knows where the other side is; it is the label.
    let alice = calls
        .add_call("sip:alice@example.org", "sip", false, CALLING)
        .await;
    let list = env.calls_when("both proposed", |l| l.len() == 2);
    let other = list.iter().find(|c| c["id"] != id.as_str()).unwrap();
    assert_eq!(other["label"], "sip:alice@example.org");
    assert_eq!(other["requirement"], "all-party");
    let other = other["id"].as_str().unwrap().to_owned();
    let show = env.ctl_json(&["call", "show", &other]);
    assert_eq!(show["parties"][0]["party"]["location"], "unknown", "{show}");

    // Hung up before anyone took them up: gone, nothing on disk.
    calls.hang_up(&sip).await;
    calls.set_state(&alice, DISCONNECTED).await;
    env.calls_when("forgotten", |l| l.is_empty());
    assert_eq!(on_disk(&env), 0);
}

/// The streams come first (the call is proposed from PipeWire, its location unknown), then
/// GNOME Calls' call object with the number: one call, decided again from the number. The
/// streams pausing does not end it; GNOME Calls hanging up does.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_streams_and_the_call_in_gnome_calls_are_one_call_whichever_comes_first() {
    let mut env = TestEnv::new();
    let pw = PipeWire::start(&env);
    let (_, voice) = two_voices(&env.dir.path().join("both.wav"), 30.0);
    let mut calls = FakeGnomeCalls::start(&env.bus.address).await;
    env.start_daemon();
    // The call's stream, made by this process: the process that is GNOME Calls on the bus.
    let stream = OwnStream::play(&pw.socket(), "Calls", "phone", "far_side", voice);
    let list = env.calls_when("proposed from the streams", |l| !l.is_empty());
    assert_eq!(list[0]["requirement"], "all-party");
    let id = list[0]["id"].as_str().unwrap().to_owned();

    // Austin, Texas, from Texas: one-party once the number is known.
    let path = calls
        .add_call("sip:+15125550123@sip.example.net", "sip", false, ACTIVE)
        .await;
    let list = env.calls_when("decided from the number", |l| {
        l.first().is_some_and(|c| c["requirement"] == "one-party")
    });
    assert_eq!(list.len(), 1, "one call, not two: {list:?}");
    assert_eq!(list[0]["id"], id.as_str());
    assert_eq!(
        env.detected(&id).await,
        ("pipewire".to_owned(), "Calls".to_owned())
    );

    // The streams go for longer than the grace: GNOME Calls still has the call, so it goes on.
    drop(stream);
    tokio::time::sleep(Duration::from_secs(5)).await;
    let list = env.ctl_json(&["call", "list"]);
    assert_eq!(list.as_array().unwrap().len(), 1, "{list}");
    // GNOME Calls hangs up: the proposal is over.
    calls.hang_up(&path).await;
    env.calls_when("forgotten", |l| l.is_empty());
}

/// A SIP call in GNOME Calls, then its streams on PipeWire beside a music player: one
/// proposal with the number's law; recorded, the right channel is the call's far side and not
/// the music; hanging up in GNOME Calls stops and seals the recording.
#[test]
fn a_gnome_calls_sip_call_is_recorded_from_its_own_streams_and_sealed_when_hung_up() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let mut env = TestEnv::new();
    let mut pw = PipeWire::start(&env);
    let (mic, phone) = two_voices(&env.dir.path().join("both.wav"), 14.0);
    let music: Vec<i16> = mic.iter().rev().copied().collect();
    let [mic_wav, music_wav] =
        onrecord_tests::mono_wavs(env.dir.path(), [("mic.wav", &mic), ("music.wav", &music)]);
    std::fs::write(
        &env.config,
        "jurisdiction = \"US-TX\"\n[capture]\nmicrophone = \"pipewire:mic\"\nfar_side = \"pipewire:far_side\"\n",
    )
    .unwrap();
    let mut calls = rt.block_on(FakeGnomeCalls::start(&env.bus.address));
    env.start_daemon();
    let path = rt.block_on(calls.add_call("+15125550199", "sip", true, ACTIVE));
    let list = env.calls_when("proposed", |l| !l.is_empty());
    assert_eq!(list[0]["label"], "+15125550199");
    assert_eq!(list[0]["requirement"], "one-party");
    let id = list[0]["id"].as_str().unwrap().to_owned();

    pw.feed("mic", &mic_wav);
    pw.app_stream("Rhythmbox", "Music", false, Some("far_side"), &music_wav);
    // The call's playback stream: linked to the call GNOME Calls showed (no second
    // proposal), with its far side.
    let _call = OwnStream::play(&pw.socket(), "Calls", "phone", "far_side", phone.clone());
    let deadline = Instant::now() + Duration::from_secs(10);
    while !notes(&env, &id, "capture").iter().any(|n| {
        n.starts_with("the call's streams are Calls's on PipeWire (far side: PipeWire serial ")
    }) {
        assert!(
            Instant::now() < deadline,
            "never linked: {:?}",
            notes(&env, &id, "capture")
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    assert_eq!(
        rt.block_on(env.detected(&id)),
        ("gnome-calls".to_owned(), "GNOME Calls".to_owned())
    );
    assert_eq!(env.ctl_json(&["call", "list"]).as_array().unwrap().len(), 1);

    env.call(&["notice", &id]);
    env.call(&["start", &id]);
    std::thread::sleep(Duration::from_secs(4));
    // GNOME Calls hangs up: the recording stops and is sealed by itself.
    rt.block_on(calls.hang_up(&path));
    env.calls_when("stopped", |l| l[0]["state"] == "stopped");
    let dir = env.call_dir();
    let deadline = Instant::now() + Duration::from_secs(10);
    while !dir.join("manifest.json").exists() {
        assert!(Instant::now() < deadline, "never sealed");
        std::thread::sleep(Duration::from_millis(50));
    }
    let (_, them) = channels(&dir.join("audio.wav"));
    let (_, c_phone) = locate(&floats(&phone), &them, 0.5, 2.0);
    let (_, c_music) = locate(&floats(&music), &them, 0.5, 2.0);
    eprintln!("correlation: the call {c_phone:.4}, music {c_music:.4}");
    assert!(c_phone >= 0.99, "the call on the right: {c_phone}");
    assert!(c_music <= 0.1, "the music on the right: {c_music}");
    let manifest: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.join("manifest.json")).unwrap()).unwrap();
    let sources = manifest["capture"]["sources"].to_string();
    assert!(
        sources.contains("far side (Calls's stream on PipeWire)"),
        "{sources}"
    );
    let show = env.ctl_json(&["call", "show", &id]);
    let stopped = show["timeline"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["kind"] == "stopped")
        .cloned()
        .unwrap();
    assert_eq!(
        stopped["detail"],
        "the call ended: the call was hung up in GNOME Calls"
    );
    let (code, out, err) = env.ctl_run(&["verify", &id]);
    assert_eq!(code, 0, "{out}{err}");
}

/// A number a rule ignores ("my doctor"): the call in GNOME Calls is not proposed, and nor are
/// its streams on PipeWire, which would otherwise be proposed as a call in an application.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_call_a_rule_ignores_is_not_proposed_from_its_streams_either() {
    let mut env = TestEnv::new();
    std::fs::write(
        &env.config,
        "jurisdiction = \"US-TX\"\n[[rule]]\nname = \"my doctor\"\nnumber = \"+15125550177\"\naction = \"ignore\"\n",
    )
    .unwrap();
    let pw = PipeWire::start(&env);
    let (_, voice) = two_voices(&env.dir.path().join("both.wav"), 30.0);
    let mut calls = FakeGnomeCalls::start(&env.bus.address).await;
    env.start_daemon();
    let path = calls
        .add_call("sip:+15125550177@sip.example.net", "sip", true, ACTIVE)
        .await;
    let stream = OwnStream::play(&pw.socket(), "Calls", "phone", "far_side", voice);
    // Both have been seen, in either order: the stream after the call in GNOME Calls is ignored
    // at once; the stream before it is proposed (it carries no number) and forgotten once the
    // call it belongs to matches the rule.
    let seen = |log: &str| {
        log.contains("a call in Calls ignored: it is a call a rule ignores")
            || (log.contains("proposed: a call in Calls") && log.contains("proposal forgotten"))
    };
    let deadline = Instant::now() + Duration::from_secs(10);
    while !seen(&env.log()) {
        assert!(Instant::now() < deadline, "{}", env.log());
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let list = env.ctl_json(&["call", "list"]);
    assert_eq!(list.as_array().unwrap().len(), 0, "{list}");
    // Once the call is over, the same application's next call is proposed as usual.
    calls.hang_up(&path).await;
    drop(stream);
    tokio::time::sleep(Duration::from_secs(4)).await;
    let _again = OwnStream::play(&pw.socket(), "Calls", "phone", "far_side", vec![0; 48_000]);
    let list = env.calls_when("the next call proposed", |l| !l.is_empty());
    assert_eq!(list[0]["label"], "Calls");
    assert_eq!(on_disk(&env), 0);
}
