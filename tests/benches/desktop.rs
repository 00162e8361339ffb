//! onrecordd as a desktop citizen (release build, over a private bus, configured as installed:
//! live capture, whose plugin is loaded when a call first records; call detection on, with a
//! headless PipeWire and a ModemManager to watch, and GNOME Calls watched for; no call):
//! wakeups per minute when idle (target 0), resident memory idle (targets: at most 10 MiB with
//! detection on, 8 without) and while recording, and the D-Bus round trip of a Rust
//! client to onrecordd against the same client pinging the bus daemon
//! (`org.freedesktop.DBus.Peer.Ping`), in the same run (target at most 1.2x).
//! `BENCH_IDLE_SECONDS` (default 60) sets the idle window.

use onrecord_tests::TestEnv;
use std::time::{Duration, Instant};

/// Context switches (voluntary and not) of every thread of `pid`: its wakeups.
fn switches(pid: u32) -> (u64, Vec<(String, u64)>) {
    let mut total = 0;
    let mut per = Vec::new();
    for t in std::fs::read_dir(format!("/proc/{pid}/task")).unwrap() {
        let t = t.unwrap().path();
        let status = std::fs::read_to_string(t.join("status")).unwrap_or_default();
        let name = std::fs::read_to_string(t.join("comm")).unwrap_or_default();
        let n: u64 = status
            .lines()
            .filter(|l| l.contains("ctxt_switches"))
            .filter_map(|l| l.split_whitespace().nth(1)?.parse::<u64>().ok())
            .sum();
        total += n;
        per.push((
            format!(
                "{}/{}",
                name.trim(),
                t.file_name().unwrap().to_string_lossy()
            ),
            n,
        ));
    }
    (total, per)
}

fn kib(pid: u32, key: &str) -> u64 {
    let file = if key == "Pss:" {
        "smaps_rollup"
    } else {
        "status"
    };
    std::fs::read_to_string(format!("/proc/{pid}/{file}"))
        .unwrap()
        .lines()
        .find(|l| l.starts_with(key))
        .and_then(|l| l.split_whitespace().nth(1)?.parse().ok())
        .unwrap_or(0)
}

/// With `BENCH_SMAPS` set: what of `pid` is resident, by file (anonymous memory as such),
/// largest first, on stderr. For finding what a memory figure is made of.
fn resident_by_file(pid: u32, what: &str) {
    if std::env::var_os("BENCH_SMAPS").is_none() {
        return;
    }
    let smaps = std::fs::read_to_string(format!("/proc/{pid}/smaps")).unwrap_or_default();
    let mut by: std::collections::BTreeMap<String, u64> = Default::default();
    let mut name = String::new();
    for line in smaps.lines() {
        let mut words = line.split_whitespace();
        let first = words.next().unwrap_or_default();
        if first.contains('-') && !first.ends_with(':') {
            name = words.nth(4).unwrap_or("[anonymous]").to_owned();
        } else if first == "Rss:" {
            *by.entry(name.clone()).or_default() +=
                words.next().and_then(|k| k.parse().ok()).unwrap_or(0);
        }
    }
    let mut by: Vec<_> = by.into_iter().filter(|(_, k)| *k > 0).collect();
    by.sort_by_key(|b| std::cmp::Reverse(b.1));
    eprintln!("resident, {what}:");
    for (file, kib) in by.iter().take(15) {
        eprintln!("  {kib:>6} KiB  {file}");
    }
}

/// Median microseconds of `n` calls of `f`.
async fn median_us<F, Fut>(n: usize, mut f: F) -> f64
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = ()>,
{
    for _ in 0..200 {
        f().await;
    }
    let mut t = Vec::with_capacity(n);
    for _ in 0..n {
        let s = Instant::now();
        f().await;
        t.push(s.elapsed().as_secs_f64() * 1e6);
    }
    t.sort_by(f64::total_cmp);
    t[n / 2]
}

/// The median round trip of `Peer.Ping` to `dest` (µs), as `median_us`.
async fn ping_median(conn: &zbus::Connection, n: usize, dest: &str, path: &str) -> f64 {
    median_us(n, || async {
        conn.call_method(
            Some(dest),
            path,
            Some("org.freedesktop.DBus.Peer"),
            "Ping",
            &(),
        )
        .await
        .unwrap();
    })
    .await
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let idle_s: u64 = std::env::var("BENCH_IDLE_SECONDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(60);
    let mut env = TestEnv::new();
    // As installed: no [capture], so the live capture plugin is configured; detection on, with
    // something to detect from (no call yet).
    std::fs::write(&env.config, "jurisdiction = \"US-TX\"\n").unwrap();
    let pipewire = onrecord_tests::pipewire::PipeWire::start(&env);
    let modem = onrecord_tests::modem::FakeModemManager::start(&env.bus.address).await;
    env.start_daemon();
    // The detectors say when they watch (a daemon without them says nothing).
    std::thread::sleep(Duration::from_secs(1));
    let detecting = {
        let log = env.log();
        log.contains("detecting modem calls")
            && log.contains("detecting calls in softphones")
            && log.contains("detecting calls in GNOME Calls")
    };
    let pid = env.daemon_pid().unwrap();
    std::thread::sleep(Duration::from_secs(3));
    let (_, before) = switches(pid);
    std::thread::sleep(Duration::from_secs(idle_s));
    let (_, after) = switches(pid);
    // Per thread: what each woke, a new thread all of it, and a thread that ended at least once.
    let woke: u64 = after
        .iter()
        .map(|(t, n)| {
            n - before
                .iter()
                .find(|(b, _)| b == t)
                .map_or(0, |b| b.1)
                .min(*n)
        })
        .sum::<u64>()
        + before
            .iter()
            .filter(|(t, _)| !after.iter().any(|(a, _)| a == t))
            .count() as u64;
    let idle_per_min = woke as f64 * 60.0 / idle_s as f64;
    let idle_rss = kib(pid, "VmRSS:");
    resident_by_file(pid, "idle, detection on");
    let idle_pss = kib(pid, "Pss:");
    let busy: Vec<String> = after
        .iter()
        .filter_map(|(name, n)| {
            let was = before.iter().find(|(b, _)| b == name).map_or(0, |b| b.1);
            (n > &was).then(|| format!("{name} +{}", n - was))
        })
        .collect();

    // Round trips from one Rust client (zbus), same connection, same run.
    let conn = env.connection().await;
    const N: usize = 5000;
    let bus_ping = ping_median(&conn, N, "org.freedesktop.DBus", "/org/freedesktop/DBus").await;
    let dest = onrecord_interface::BUS_NAME;
    let path = onrecord_interface::OBJECT_PATH;
    let daemon_ping = ping_median(&conn, N, dest, path).await;
    let get = median_us(N, || async {
        conn.call_method(
            Some(dest),
            path,
            Some("org.freedesktop.DBus.Properties"),
            "Get",
            &("org.onrecord.Daemon1", "ApiVersion"),
        )
        .await
        .unwrap();
    })
    .await;
    // Another peer for reference: a GLib process (`gdbus monitor`), whose library answers
    // Peer.Ping itself. Any peer is two hops through the bus where the bus's own ping is one.
    let mut glib = std::process::Command::new("gdbus")
        .args([
            "monitor",
            "--address",
            &env.bus.address,
            "--dest",
            "org.freedesktop.DBus",
        ])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("gdbus (libglib2.0-bin; make bench installs it)");
    let dbus = zbus::fdo::DBusProxy::new(&conn).await.unwrap();
    let glib_name = {
        let deadline = Instant::now() + Duration::from_secs(5);
        loop {
            let mut found = None;
            for name in dbus.list_names().await.unwrap() {
                if name.starts_with(':')
                    && let Ok(pid) = dbus.get_connection_unix_process_id(name.as_ref()).await
                    && pid == glib.id()
                {
                    found = Some(name.to_string());
                }
            }
            if let Some(n) = found {
                break n;
            }
            assert!(Instant::now() < deadline, "gdbus did not connect");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    };
    let glib_ping = ping_median(&conn, N, &glib_name, "/").await;
    let _ = glib.kill();
    let _ = glib.wait();
    let laws = env.laws(&conn).await;
    let evaluate = median_us(N, || async {
        laws.evaluate("US-TX", &["US-CA"], "phone").await.unwrap();
    })
    .await;
    drop(laws);
    drop(conn);
    env.stop_daemon();
    // The same idle daemon with detection off: what detection costs in memory.
    std::fs::write(
        &env.config,
        "jurisdiction = \"US-TX\"\n[detect]\nmodem = false\npipewire = false\ngnome_calls = false\n",
    )
    .unwrap();
    env.start_daemon();
    std::thread::sleep(Duration::from_secs(3));
    let quiet_rss = kib(env.daemon_pid().unwrap(), "VmRSS:");
    resident_by_file(env.daemon_pid().unwrap(), "idle, detection off");
    env.stop_daemon();
    drop(modem);
    drop(pipewire);

    // Recording: a stereo 48 kHz clip in real time to WAV.
    let (clip, _) = onrecord_tests::noise_clip(env.dir.path(), 30.0);
    env.configure_capture(&clip, "realtime", 1000, "storage-wav", "");
    env.start_daemon();
    let pid = env.daemon_pid().unwrap();
    env.ctl_json(&["call", "new", "--them", "US-TX"]);
    env.call(&["notice"]);
    env.call(&["start"]);
    std::thread::sleep(Duration::from_secs(2));
    let (r0, _) = switches(pid);
    std::thread::sleep(Duration::from_secs(10));
    let (r1, _) = switches(pid);
    let rec_rss = kib(pid, "VmRSS:");
    env.call(&["stop"]);
    let rec_hwm = kib(pid, "VmHWM:");
    env.stop_daemon();

    let mib = |k: u64| k as f64 / 1024.0;
    let mut rows = vec![
        onrecord_tests::bench_row(
            &format!(
                "idle wakeups per minute ({idle_s} s), detection on (PipeWire, ModemManager, GNOME Calls){}",
                if detecting { "" } else { " NOT RUNNING" }
            ),
            format!("{idle_per_min:.1}"),
            "0",
            Some(idle_per_min == 0.0 && detecting),
        ),
        onrecord_tests::bench_row(
            "idle resident memory (VmRSS), detection on (PipeWire, ModemManager, GNOME Calls)",
            format!("{:.1} MiB", mib(idle_rss)),
            "<= 10 MiB",
            Some(idle_rss <= 10 * 1024 && detecting),
        ),
        onrecord_tests::bench_row(
            "idle resident memory (VmRSS), detection off",
            format!("{:.1} MiB", mib(quiet_rss)),
            "<= 8 MiB",
            Some(quiet_rss <= 8 * 1024),
        ),
        onrecord_tests::bench_row(
            "recording from a file to WAV: peak resident memory",
            format!("{:.1} MiB", mib(rec_rss.max(rec_hwm))),
            "",
            None,
        ),
    ];
    for (what, us) in [
        ("D-Bus round trip: Peer.Ping to onrecordd", daemon_ping),
        ("D-Bus round trip: Properties.Get ApiVersion", get),
        ("D-Bus round trip: Laws1.Evaluate", evaluate),
    ] {
        let r = us / bus_ping;
        rows.push(onrecord_tests::bench_row(
            what,
            format!("{r:.2}x ({us:.0} vs {bus_ping:.0} µs)"),
            "<= 1.2x the bus's Peer.Ping",
            Some(r <= 1.2),
        ));
    }
    rows.push(onrecord_tests::bench_row(
        "D-Bus round trip: Peer.Ping to a GLib peer (reference)",
        format!(
            "{:.2}x ({glib_ping:.0} vs {bus_ping:.0} µs)",
            glib_ping / bus_ping
        ),
        "",
        None,
    ));
    rows.push(onrecord_tests::bench_row(
        "D-Bus round trip: Laws1.Evaluate against the GLib peer's ping",
        format!("{:.2}x", evaluate / glib_ping),
        "",
        None,
    ));
    onrecord_tests::write_bench_rows("desktop", &rows);
    let verdict = |ok: bool| if ok { "met" } else { "NOT MET" };
    println!(
        "\nonrecordd on the desktop (release; idle = no call, live capture configured as installed,\ndetection on with a PipeWire and a ModemManager to watch, and GNOME Calls watched for)\n"
    );
    println!("{:<52} {:>12}  target", "", "measured");
    println!(
        "{:<52} {:>12.1}  0 ({})",
        format!("idle wakeups per minute ({idle_s} s), detection on"),
        idle_per_min,
        verdict(idle_per_min == 0.0 && detecting)
    );
    if !busy.is_empty() {
        println!("    threads that woke: {}", busy.join(", "));
    }
    println!(
        "{:<52} {:>9.1} MiB  <= 10 MiB ({})",
        "idle resident memory (VmRSS), detection on",
        mib(idle_rss),
        verdict(idle_rss <= 10 * 1024 && detecting)
    );
    println!(
        "{:<52} {:>9.1} MiB  <= 8 MiB ({})",
        "idle resident memory (VmRSS), detection off",
        mib(quiet_rss),
        verdict(quiet_rss <= 8 * 1024)
    );
    println!(
        "{:<52} {:>9.1} MiB",
        "idle proportional memory (Pss)",
        mib(idle_pss)
    );
    println!(
        "{:<52} {:>9.1} MiB",
        "recording 48 kHz stereo to WAV: resident (peak)",
        mib(rec_rss.max(rec_hwm))
    );
    println!(
        "{:<52} {:>12.1}",
        "recording: wakeups per second",
        (r1 - r0) as f64 / 10.0
    );
    println!(
        "{:<52} {:>9.1} µs",
        "round trip: Peer.Ping to the bus daemon (reference)", bus_ping
    );
    println!(
        "{:<52} {:>9.1} µs  {:.2}x the bus ping (any peer: two hops through the bus)",
        "round trip: Peer.Ping to a GLib peer (reference)",
        glib_ping,
        glib_ping / bus_ping
    );
    for (what, us) in [
        ("round trip: Peer.Ping to onrecordd", daemon_ping),
        ("round trip: Properties.Get ApiVersion", get),
        ("round trip: Laws1.Evaluate US-TX -> US-CA", evaluate),
    ] {
        let r = us / bus_ping;
        println!(
            "{:<52} {:>9.1} µs  {r:.2}x the bus ping, <= 1.2x ({})",
            what,
            us,
            verdict(r <= 1.2)
        );
    }
}
