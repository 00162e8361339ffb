//! The committed introspection XML is what the live daemon serves (STYLE 9): an accidental
//! signature change fails here. After a deliberate change, regenerate the file with
//! `ONRECORD_UPDATE_INTROSPECTION=1 cargo test -p onrecord-tests introspection`.

use onrecord_tests::TestEnv;
use std::path::Path;

const COMMITTED: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../docs/dbus/org.onrecord.OnRecord1.xml"
);

/// The `org.onrecord.*` interfaces of an introspection document, without comments or blank
/// lines, so that documentation wording and indentation do not matter.
fn onrecord_interfaces(xml: &str) -> String {
    let mut out = String::new();
    let mut inside = false;
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
        if t.starts_with("<interface name=\"org.onrecord.") {
            inside = true;
        }
        if inside && !t.is_empty() {
            out.push_str(t);
            out.push('\n');
        }
        if t == "</interface>" {
            inside = false;
        }
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn committed_introspection_matches_the_live_daemon() {
    let mut env = TestEnv::new();
    env.start_daemon();
    let conn = env.connection().await;
    let proxy = zbus::fdo::IntrospectableProxy::builder(&conn)
        .destination(onrecord_interface::BUS_NAME)
        .path(onrecord_interface::OBJECT_PATH)
        .build()
        .await
        .unwrap();
    let live = proxy.introspect().await.unwrap();
    let live_ifaces = onrecord_interfaces(&live);
    assert!(
        live_ifaces.contains("org.onrecord.Laws1") && live_ifaces.contains("org.onrecord.Daemon1")
    );
    if std::env::var_os("ONRECORD_UPDATE_INTROSPECTION").is_some() {
        let doc = format!(
            "<!DOCTYPE node PUBLIC \"-//freedesktop//DTD D-BUS Object Introspection 1.0//EN\"\n \
             \"http://www.freedesktop.org/standards/dbus/1.0/introspect.dtd\">\n\
             <!-- onrecordd at /org/onrecord/OnRecord1. Generated from the live daemon; see docs/dbus.md. -->\n\
             <node>\n{}</node>\n",
            indent(&live_ifaces)
        );
        std::fs::create_dir_all(Path::new(COMMITTED).parent().unwrap()).unwrap();
        std::fs::write(COMMITTED, doc).unwrap();
    }
    let committed = std::fs::read_to_string(COMMITTED)
        .expect("docs/dbus/org.onrecord.OnRecord1.xml is committed");
    assert_eq!(
        onrecord_interfaces(&committed),
        live_ifaces,
        "the live D-Bus interface differs from docs/dbus/org.onrecord.OnRecord1.xml"
    );
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
