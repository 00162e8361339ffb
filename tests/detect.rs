//! Calls onrecord notices itself: a modem's voice calls from a ModemManager on the test's bus
//! (standing in for the system bus). A noticed call is proposed, with the law its number
//! gives; nothing is on disk until it is taken up; hanging up ends it.

use onrecord_tests::modem::{ACTIVE, DIALING, FakeModemManager, RINGING_IN};
use onrecord_tests::notifications::ActionServer;
use onrecord_tests::{TestEnv, noise_clip};
use serde_json::Value;
use std::time::{Duration, Instant};

/// The directories of calls on disk.
fn on_disk(env: &TestEnv) -> usize {
    std::fs::read_dir(env.data_dir.join("calls"))
        .map(|d| d.count())
        .unwrap_or(0)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_ringing_modem_call_is_proposed_with_its_law_and_leaves_no_trace_when_hung_up() {
    let mut env = TestEnv::new();
    let (_peer, seen) = env.notification_peer().await;
    env.start_daemon();
    let mut mm = FakeModemManager::start(&env.bus.address).await;
    let path = mm.add_call("+14155550123", RINGING_IN).await;

    let list = env.calls_when("proposed", |l| l.len() == 1);
    let id = list[0]["id"].as_str().unwrap().to_owned();
    assert_eq!(list[0]["state"], "proposed");
    // A California number: all-party, decided from the number as the call rings.
    assert_eq!(list[0]["requirement"], "all-party");
    assert_eq!(list[0]["label"], "+14155550123");
    let show = env.ctl_json(&["call", "show", &id]);
    assert_eq!(
        show["parties"][0]["party"]["jurisdiction"], "US-CA",
        "{show}"
    );
    assert!(
        show["next_step"].as_str().unwrap().contains("call dismiss"),
        "{show}"
    );
    assert_eq!(
        env.detected(&id).await,
        ("modem".to_owned(), "QUECTEL EG25".to_owned())
    );
    // Nothing is written for a proposal.
    assert_eq!(on_disk(&env), 0);
    // The notification says what was noticed and what the law needs.
    let told = {
        let deadline = Instant::now() + Duration::from_secs(5);
        loop {
            let told = seen.lock().unwrap().clone();
            if !told.is_empty() || Instant::now() > deadline {
                break told;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    };
    assert!(
        told.iter().any(|n| n
            .starts_with("onrecord: an incoming call on the modem (QUECTEL EG25) |")
            && n.contains("all-party")),
        "{told:?}"
    );

    // Never taken up and hung up: gone, with no trace on disk.
    mm.hang_up(&path).await;
    env.calls_when("forgotten", |l| l.is_empty());
    assert_eq!(on_disk(&env), 0);
    assert!(env.daemon_alive());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_taken_up_modem_call_records_and_hanging_up_stops_and_seals_it() {
    let mut env = TestEnv::new();
    let (clip, _) = noise_clip(env.dir.path(), 10.0);
    env.configure_capture(&clip, "realtime", 200, "storage-wav", "");
    env.start_daemon();
    let mut mm = FakeModemManager::start(&env.bus.address).await;
    // An outgoing call to Austin, Texas, from Texas: one-party.
    let path = mm.add_call("+15125550123", DIALING).await;
    let list = env.calls_when("proposed", |l| l.len() == 1);
    let id = list[0]["id"].as_str().unwrap().to_owned();
    assert_eq!(list[0]["requirement"], "one-party");
    mm.set_state(&path, ACTIVE).await;

    // Telling the representative takes the call up: from then on it is on disk.
    env.call(&["notice", &id]);
    assert_eq!(on_disk(&env), 1);
    let show = env.ctl_json(&["call", "show", &id]);
    assert_eq!(show["state"], "ready");
    assert_eq!(
        onrecord_tests::timeline_kinds(&show),
        ["created", "taken", "notice"]
    );
    assert_eq!(
        show["timeline"][1]["detail"],
        "taken up: an outgoing call on the modem (QUECTEL EG25)"
    );
    env.call(&["start", &id]);
    tokio::time::sleep(Duration::from_millis(600)).await;

    // The other side hangs up: the recording stops and is sealed.
    mm.hang_up(&path).await;
    env.calls_when("stopped", |l| l[0]["state"] == "stopped");
    let show = env.ctl_json(&["call", "show", &id]);
    let last = show["timeline"]
        .as_array()
        .unwrap()
        .iter()
        .rev()
        .find(|e| e["kind"] == "stopped")
        .unwrap()
        .clone();
    assert_eq!(last["detail"], "the call ended: the modem call was hung up");
    let deadline = Instant::now() + Duration::from_secs(10);
    while !env.call_dir().join("manifest.json").exists() {
        assert!(Instant::now() < deadline, "never sealed");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let (code, out, err) = env.ctl_run(&["verify", &id]);
    assert_eq!(code, 0, "{out}{err}");
}

/// Calls the modem already has when the daemon starts are proposed; a withheld number says
/// nothing of where the other side is: all-party.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_call_already_ringing_with_a_withheld_number_is_proposed_as_all_party() {
    let mut env = TestEnv::new();
    let mut mm = FakeModemManager::start(&env.bus.address).await;
    mm.add_call("", RINGING_IN).await;
    env.start_daemon();
    let list = env.calls_when("proposed", |l| l.len() == 1);
    assert_eq!(list[0]["state"], "proposed");
    assert_eq!(list[0]["requirement"], "all-party");
    let id = list[0]["id"].as_str().unwrap().to_owned();
    let show = env.ctl_json(&["call", "show", &id]);
    assert_eq!(show["parties"][0]["party"]["location"], "unknown", "{show}");
    assert!(
        show["decision"]["warnings"]
            .to_string()
            .contains("unknown-location"),
        "{show}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dismissed_proposal_is_forgotten_and_a_taken_one_is_kept() {
    let mut env = TestEnv::new();
    env.start_daemon();
    let mut mm = FakeModemManager::start(&env.bus.address).await;
    mm.add_call("+14155550123", RINGING_IN).await;
    mm.add_call("+12125550123", RINGING_IN).await;
    let list = env.calls_when("both proposed", |l| l.len() == 2);
    let (a, b) = (
        list[0]["id"].as_str().unwrap().to_owned(),
        list[1]["id"].as_str().unwrap().to_owned(),
    );
    // Nothing but taking up, telling, dismissing (or stopping) is done with a proposal.
    let (code, _, err) = env.ctl_run(&["call", "start", &a]);
    assert_ne!(code, 0);
    assert!(err.contains("org.onrecord.Error.NoticeRequired"), "{err}");
    let (code, _, err) = env.ctl_run(&["call", "mark", "a note", &a]);
    assert_ne!(code, 0);
    assert!(err.contains("org.onrecord.Error.WrongState"), "{err}");

    env.call(&["dismiss", &a]);
    env.call(&["take", &b]);
    let list = env.ctl_json(&["call", "list"]);
    let list = list.as_array().unwrap();
    assert_eq!(list.len(), 1, "{list:?}");
    assert_eq!(
        (list[0]["id"].as_str().unwrap(), &list[0]["state"]),
        (b.as_str(), &Value::from("awaiting-notice"))
    );
    assert_eq!(on_disk(&env), 1);
    // Dismissing is for proposals only.
    let (code, _, err) = env.ctl_run(&["call", "dismiss", &b]);
    assert_ne!(code, 0);
    assert!(err.contains("org.onrecord.Error.WrongState"), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn modem_detection_can_be_turned_off() {
    let mut env = TestEnv::new();
    std::fs::write(
        &env.config,
        "jurisdiction = \"US-TX\"\n[detect]\nmodem = false\n",
    )
    .unwrap();
    let mut mm = FakeModemManager::start(&env.bus.address).await;
    mm.add_call("+14155550123", RINGING_IN).await;
    env.start_daemon();
    mm.add_call("+12125550123", RINGING_IN).await;
    // A call created by hand after both is listed; neither modem call ever is.
    tokio::time::sleep(Duration::from_millis(500)).await;
    env.ctl_json(&["call", "new", "--them", "US-CA"]);
    tokio::time::sleep(Duration::from_millis(500)).await;
    let list = env.ctl_json(&["call", "list"]);
    assert_eq!(list.as_array().unwrap().len(), 1, "{list}");
}

/// With a notification server that offers actions, a whole call goes by clicks alone: one
/// notification per call, replaced as it moves on, its buttons the next steps.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_whole_call_is_driven_by_notification_clicks() {
    let mut env = TestEnv::new();
    let desktop = ActionServer::start(&env.bus.address).await;
    let (clip, _) = noise_clip(env.dir.path(), 10.0);
    env.configure_capture(&clip, "realtime", 200, "storage-wav", "");
    env.start_daemon();
    let mut mm = FakeModemManager::start(&env.bus.address).await;
    mm.add_call("+14155550123", RINGING_IN).await;

    let proposal = desktop
        .wait(0, "the proposal", |s| {
            s.keys() == ["notice", "announce", "dismiss"]
        })
        .await;
    assert_eq!(
        proposal.summary,
        "onrecord: an incoming call on the modem (QUECTEL EG25)"
    );
    assert!(proposal.body.contains("all-party"), "{proposal:?}");
    assert!(
        proposal.body.contains("I'd like to record this call"),
        "{proposal:?}"
    );
    assert_eq!(
        proposal.actions[0],
        ("notice".to_owned(), "I'll tell them".to_owned())
    );
    let id = proposal.id;

    // A click that the call does not allow now (a stale button) is refused, and says so.
    let n = desktop.shown().len();
    desktop.click(id, "start").await;
    let refused = desktop
        .wait(n, "the refusal", |s| s.summary == "onrecord: not done")
        .await;
    assert!(
        refused.body.contains("tell the representative"),
        "{refused:?}"
    );

    // Each click is the consent step; the same notification shows the next one.
    let steps: [(&str, &[&str]); 4] = [
        ("notice", &["consent-yes", "consent-no"]),
        ("consent-yes", &["start", "stop"]),
        ("start", &["confirm", "pause", "stop"]),
        ("confirm", &["pause", "stop"]),
    ];
    for (click, next) in steps {
        let n = desktop.shown().len();
        desktop.click(id, click).await;
        let shown = desktop
            .wait(n, &format!("after {click}"), |s| s.keys() == next)
            .await;
        assert_eq!((shown.id, shown.replaces), (id, id), "{shown:?}");
    }
    tokio::time::sleep(Duration::from_millis(400)).await;
    let n = desktop.shown().len();
    desktop.click(id, "stop").await;
    let ended = desktop
        .wait(n, "the end", |s| s.actions.is_empty() && s.id == id)
        .await;
    assert!(ended.summary.ends_with("stopped"), "{ended:?}");

    let list = env.ctl_json(&["call", "list"]);
    let call = list[0]["id"].as_str().unwrap().to_owned();
    let show = env.ctl_json(&["call", "show", &call]);
    let kinds: Vec<String> = onrecord_tests::timeline_kinds(&show)
        .into_iter()
        .filter(|k| !["capture", "analysis"].contains(&k.as_str()))
        .collect();
    assert_eq!(
        kinds,
        [
            "created",
            "taken",
            "notice",
            "consent",
            "started",
            "confirmed",
            "stopped"
        ]
    );
    let (code, out, err) = env.ctl_run(&["verify", &call]);
    assert_eq!(code, 0, "{out}{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_proposal_dismissed_by_a_click_leaves_nothing_and_its_notification_goes() {
    let mut env = TestEnv::new();
    let desktop = ActionServer::start(&env.bus.address).await;
    env.start_daemon();
    let mut mm = FakeModemManager::start(&env.bus.address).await;
    mm.add_call("+14155550123", RINGING_IN).await;
    let proposal = desktop
        .wait(0, "the proposal", |s| {
            s.keys() == ["notice", "announce", "dismiss"]
        })
        .await;
    // Anyone on the bus can send an ActionInvoked; only the server's own count. Were this one
    // taken, the call would be taken up and on disk, and could no longer be dismissed.
    let other = env.connection().await;
    other
        .emit_signal(
            None::<&str>,
            "/org/freedesktop/Notifications",
            "org.freedesktop.Notifications",
            "ActionInvoked",
            &(proposal.id, "notice"),
        )
        .await
        .unwrap();
    desktop.click(proposal.id, "dismiss").await;
    env.calls_when("forgotten", |l| l.is_empty());
    let deadline = Instant::now() + Duration::from_secs(5);
    while !desktop.closed().contains(&proposal.id) {
        assert!(Instant::now() < deadline, "the notification stayed");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(on_disk(&env), 0);
}

/// A softphone on a headless PipeWire (its playback and capture streams with the
/// communication role) is proposed once; a music player beside it is not; when the softphone's
/// streams are gone for good, the proposal goes.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_softphone_on_pipewire_is_proposed_and_music_is_not() {
    let mut env = TestEnv::new();
    let mut pw = onrecord_tests::pipewire::PipeWire::start(&env);
    let (clip, _) = noise_clip(env.dir.path(), 30.0);
    env.start_daemon();
    pw.app_stream("Rhythmbox", "Music", false, None, &clip);
    let phone = [
        pw.app_stream("Linphone", "Communication", false, None, &clip),
        pw.app_stream("Linphone", "Communication", true, None, &clip),
    ];
    let list = env.calls_when("proposed", |l| !l.is_empty());
    // Two streams, one call; none for the music.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let list2 = env.ctl_json(&["call", "list"]);
    assert_eq!(list2.as_array().unwrap().len(), 1, "{list2}");
    assert_eq!(list[0]["state"], "proposed");
    assert_eq!(list[0]["label"], "Linphone");
    // No number: nobody knows where the other side is.
    assert_eq!(list[0]["requirement"], "all-party");
    let id = list[0]["id"].as_str().unwrap().to_owned();
    assert_eq!(
        env.detected(&id).await,
        ("pipewire".to_owned(), "Linphone".to_owned())
    );

    // The softphone hangs up: its streams go, and after the grace so does the proposal.
    for s in phone {
        pw.end_stream(s);
    }
    env.calls_when("forgotten", |l| l.is_empty());
    assert_eq!(on_disk(&env), 0);
}

/// PipeWire started after the daemon (a login where the daemon comes first) is found when its
/// socket appears: the daemon waits for it without polling.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn detection_begins_when_pipewire_starts_after_the_daemon() {
    let mut env = TestEnv::new();
    env.start_daemon();
    let mut pw = onrecord_tests::pipewire::PipeWire::start(&env);
    let (clip, _) = noise_clip(env.dir.path(), 30.0);
    pw.app_stream("Linphone", "Communication", false, None, &clip);
    let list = env.calls_when("proposed", |l| !l.is_empty());
    assert_eq!(list[0]["label"], "Linphone");
    assert!(
        env.log()
            .contains("detecting calls in softphones and browsers (PipeWire)"),
        "{}",
        env.log()
    );
}

/// A caller's number read after the call rang: the proposal, all-party while nobody knew where
/// the caller was, is decided again from the number (here: one-party, Texas to Texas).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_number_that_arrives_after_the_ring_decides_the_proposal_again() {
    let mut env = TestEnv::new();
    env.start_daemon();
    let mut mm = FakeModemManager::start(&env.bus.address).await;
    let path = mm.add_call("", RINGING_IN).await;
    let list = env.calls_when("proposed", |l| l.len() == 1);
    assert_eq!(list[0]["requirement"], "all-party");
    mm.set_number(&path, "+15125550123").await;
    let list = env.calls_when("decided again", |l| l[0]["requirement"] == "one-party");
    let id = list[0]["id"].as_str().unwrap();
    let show = env.ctl_json(&["call", "show", id]);
    assert_eq!(
        show["parties"][0]["party"]["jurisdiction"], "US-TX",
        "{show}"
    );
    assert_eq!(show["state"], "proposed");
    assert_eq!(on_disk(&env), 0);
}

/// After a restart, a call still going on gets its notification and its buttons back, and a
/// click goes on from where it was.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_call_going_on_across_a_restart_gets_its_buttons_back() {
    let mut env = TestEnv::new();
    let desktop = ActionServer::start(&env.bus.address).await;
    env.start_daemon();
    let id = env.ctl_json(&["call", "new", "--them", "US-CA", "--label", "Acme"])["id"]
        .as_str()
        .unwrap()
        .to_owned();
    env.call(&["notice", &id]);
    env.stop_daemon();
    let n = desktop.shown().len();
    env.start_daemon();
    let back = desktop
        .wait(n, "the call's notification after the restart", |s| {
            s.keys() == ["consent-yes", "consent-no"]
        })
        .await;
    assert!(back.summary.contains("Acme"), "{back:?}");
    let n = desktop.shown().len();
    desktop.click(back.id, "consent-yes").await;
    desktop
        .wait(n, "the next step", |s| s.keys() == ["start", "stop"])
        .await;
    assert_eq!(env.ctl_json(&["call", "show", &id])["state"], "ready");
}
