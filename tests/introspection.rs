//! The committed introspection XML is what the live daemon serves (STYLE 9): an accidental
//! signature change fails here. One file per interface, in `docs/dbus/`, as installed under
//! `share/dbus-1/interfaces`. After a deliberate change, regenerate them with
//! `make introspection`.

use onrecord_tests::TestEnv;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

const INTERFACES: [&str; 6] = [
    "org.onrecord.Daemon1",
    "org.onrecord.Archive1",
    "org.onrecord.Laws1",
    "org.onrecord.Rules1",
    "org.onrecord.Calls1",
    "org.onrecord.Call1",
];

fn committed(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../docs/dbus")
        .join(format!("{name}.xml"))
}

/// The `org.onrecord.*` interface blocks of an introspection document, by name, without
/// comments or blank lines, so that documentation wording and indentation do not matter.
fn interfaces(xml: &str) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    let mut current: Option<(String, String)> = None;
    let mut in_comment = false;
    for line in xml.lines() {
        let t = line.trim();
        if in_comment {
            in_comment = !t.contains("-->");
            continue;
        }
        if t.starts_with("<!--") {
            in_comment = !t.contains("-->");
            continue;
        }
        if let Some(rest) = t.strip_prefix("<interface name=\"org.onrecord.") {
            let name = format!(
                "org.onrecord.{}",
                rest.split('"').next().unwrap_or_default()
            );
            current = Some((name, String::new()));
        }
        if let Some((_, body)) = current.as_mut()
            && !t.is_empty()
        {
            body.push_str(t);
            body.push('\n');
        }
        if t == "</interface>"
            && let Some((name, body)) = current.take()
        {
            out.insert(name, body);
        }
    }
    out
}

async fn introspect(conn: &zbus::Connection, path: &str) -> String {
    zbus::fdo::IntrospectableProxy::builder(conn)
        .destination(onrecord_interface::BUS_NAME)
        .path(path.to_owned())
        .build()
        .await
        .unwrap()
        .introspect()
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn committed_introspection_matches_the_live_daemon() {
    let mut env = TestEnv::new();
    env.start_daemon();
    let (code, out, err) = env.ctl_run(&["call", "new", "--them", "US-TX", "--json"]);
    assert_eq!(code, 0, "{err}");
    let id = serde_json::from_str::<serde_json::Value>(&out).unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let conn = env.connection().await;
    let mut live = interfaces(&introspect(&conn, onrecord_interface::OBJECT_PATH).await);
    live.extend(interfaces(
        &introspect(&conn, &onrecord_interface::call_path(&id)).await,
    ));
    assert_eq!(
        live.keys().map(String::as_str).collect::<Vec<_>>().len(),
        INTERFACES.len(),
        "{:?}",
        live.keys()
    );
    for name in INTERFACES {
        let body = live
            .get(name)
            .unwrap_or_else(|| panic!("{name} is not served"));
        if std::env::var_os("ONRECORD_UPDATE_INTROSPECTION").is_some() {
            let doc = format!(
                "<!DOCTYPE node PUBLIC \"-//freedesktop//DTD D-BUS Object Introspection 1.0//EN\"\n \
                 \"http://www.freedesktop.org/standards/dbus/1.0/introspect.dtd\">\n\
                 <!-- {name}, as onrecordd serves it. Generated from the live daemon (make introspection); see docs/dbus.md. -->\n\
                 <node>\n{}</node>\n",
                indent(body)
            );
            std::fs::write(committed(name), doc).unwrap();
        }
        let file = std::fs::read_to_string(committed(name))
            .unwrap_or_else(|e| panic!("docs/dbus/{name}.xml: {e}"));
        assert_eq!(
            interfaces(&file).get(name),
            Some(body),
            "the live {name} differs from docs/dbus/{name}.xml (make introspection regenerates it after a deliberate change)"
        );
    }
}

fn indent(block: &str) -> String {
    let mut depth = 1usize;
    let mut out = String::new();
    for line in block.lines() {
        if line.starts_with("</") {
            depth = depth.saturating_sub(1);
        }
        out.push_str(&"  ".repeat(depth));
        out.push_str(line);
        out.push('\n');
        if line.starts_with('<')
            && !line.starts_with("</")
            && !line.ends_with("/>")
            && !line.contains("</")
        {
            depth += 1;
        }
    }
    out
}
