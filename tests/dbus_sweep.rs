//! The D-Bus bad-input sweep: every method of every interface (read from the committed
//! introspection XML, so a new method is swept without editing this file) with wrong types,
//! huge strings and arrays, unknown ids and option values of the wrong type, on calls in every
//! kind of state. Each reply is a success or a typed error (`org.onrecord.Error.*`, or the bus
//! library's own InvalidArgs for a wrong signature); after the sweep the daemon is alive and
//! consistent.

use onrecord_tests::TestEnv;
use std::collections::HashMap;
use zbus::{Structure, Variant as Value};

/// (interface, method, input signature types) from `docs/dbus/*.xml`.
fn methods() -> Vec<(String, String, Vec<String>)> {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/dbus");
    let mut out = Vec::new();
    let mut files: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    let attr = |line: &str, name: &str| {
        line.split(&format!("{name}=\""))
            .nth(1)
            .map(|r| r.split('"').next().unwrap().to_owned())
    };
    for f in files {
        let text = std::fs::read_to_string(&f).unwrap();
        let mut iface = String::new();
        for line in text.lines().map(str::trim) {
            if line.starts_with("<interface ") {
                iface = attr(line, "name").unwrap();
            } else if line.starts_with("<method ") {
                out.push((iface.clone(), attr(line, "name").unwrap(), Vec::new()));
            } else if line.starts_with("<arg ") && line.contains("direction=\"in\"") {
                out.last_mut().unwrap().2.push(attr(line, "type").unwrap());
            } else if line.starts_with("</method") {
                // Args after the method's end belong to signals.
                out.push((String::new(), String::new(), Vec::new()));
            }
        }
    }
    out.retain(|m| !m.0.is_empty());
    out
}

/// Values of one argument type: plausible, empty, huge, hostile.
fn values(ty: &str) -> Vec<Value<'static>> {
    let huge = "9".repeat(100_000);
    match ty {
        "s" => vec![
            Value::from("US-CA"),
            Value::from(""),
            Value::from(huge),
            Value::from("../../../etc/passwd"),
            Value::from("💥".repeat(2000)),
            Value::from("+1 415 555 0100"),
        ],
        "b" => vec![Value::from(true), Value::from(false)],
        "d" => vec![
            Value::from(1.0f64),
            Value::from(f64::NAN),
            Value::from(f64::INFINITY),
            Value::from(-1.0f64),
            Value::from(0.0f64),
            Value::from(1e300f64),
        ],
        "as" => vec![
            Value::from(vec!["US-CA".to_owned()]),
            Value::from(Vec::<String>::new()),
            Value::from(vec![huge]),
            Value::from(vec!["US-CA".to_owned(); 10_000]),
            Value::from(vec!["not a number".to_owned(), "".to_owned()]),
        ],
        "a{sv}" => {
            let dict = |pairs: Vec<(&str, Value<'static>)>| {
                let m: HashMap<String, Value<'static>> =
                    pairs.into_iter().map(|(k, v)| (k.to_owned(), v)).collect();
                Value::from(m)
            };
            vec![
                dict(vec![("them", Value::from(vec!["US-TX".to_owned()]))]),
                dict(vec![]),
                dict(vec![("them", Value::from(42u32))]),
                dict(vec![("them", Value::from(vec![huge.clone()]))]),
                dict(vec![("label", Value::from(huge.clone()))]),
                dict(vec![
                    ("me", Value::from(true)),
                    ("medium", Value::from("telepathy")),
                ]),
                dict(vec![("unknown-option", Value::from("x"))]),
            ]
        }
        other => panic!("the sweep has no values for type {other}: add them"),
    }
}

/// Argument lists for a method: each argument through its values, the others at their first.
fn argument_lists(types: &[String]) -> Vec<Vec<Value<'static>>> {
    let all: Vec<Vec<Value<'static>>> = types.iter().map(|t| values(t)).collect();
    let first: Vec<Value<'static>> = all.iter().map(|v| v[0].try_clone().unwrap()).collect();
    let mut lists = vec![first.iter().map(|v| v.try_clone().unwrap()).collect()];
    for (i, vs) in all.iter().enumerate() {
        for v in vs.iter().skip(1) {
            let mut l: Vec<Value<'static>> = first.iter().map(|v| v.try_clone().unwrap()).collect();
            l[i] = v.try_clone().unwrap();
            lists.push(l);
        }
    }
    lists
}

/// Is this reply acceptable: a success, or a typed error?
fn typed(reply: &zbus::Result<zbus::message::Message>) -> Result<(), String> {
    use zbus::DBusError;
    let (name, msg) = match reply {
        Ok(_) => return Ok(()),
        Err(zbus::Error::MethodError(name, msg, _)) => (name.to_string(), msg.clone()),
        Err(zbus::Error::FDO(e)) => (e.name().to_string(), e.description().map(str::to_owned)),
        Err(e) => return Err(format!("not a typed error: {e}")),
    };
    {
        {
            let name = name.as_str();
            let ok = name.starts_with("org.onrecord.Error.")
                || [
                    "org.freedesktop.DBus.Error.InvalidArgs",
                    "org.freedesktop.DBus.Error.UnknownMethod",
                    "org.freedesktop.DBus.Error.UnknownObject",
                ]
                .contains(&name);
            if ok && name != "org.onrecord.Error.Internal" {
                Ok(())
            } else {
                Err(format!("{name}: {msg:?}"))
            }
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_method_with_bad_input_gets_a_typed_error_and_the_daemon_stays_consistent() {
    let mut env = TestEnv::new();
    env.start_daemon();
    let conn = env.connection().await;
    let dest = onrecord_interface::BUS_NAME;
    let methods = methods();
    assert!(methods.len() >= 20, "{methods:?}");

    // Calls in every kind of state: new, ready, recording, stopped, refused.
    let mut paths = Vec::new();
    for steps in [
        &[][..],
        &["notice"],
        &["notice", "start"],
        &["notice", "start", "stop"],
    ] {
        let created = env.ctl_json(&["call", "new", "--them", "US-TX"]);
        let id = created["id"].as_str().unwrap().to_owned();
        for s in steps {
            env.call(&[s, &id]);
        }
        paths.push(onrecord_interface::call_path(&id).to_string());
    }
    let created = env.ctl_json(&["call", "new", "--them", "US-CA"]);
    let refused = created["id"].as_str().unwrap().to_owned();
    env.call(&["notice", &refused]);
    env.call(&["consent", "no", &refused]);
    paths.push(onrecord_interface::call_path(&refused).to_string());
    paths.push("/org/onrecord/OnRecord1/calls/000000000000".to_owned());

    let mut tried = 0usize;
    let mut problems = Vec::new();
    for (iface, method, types) in &methods {
        let targets: Vec<String> = if iface == "org.onrecord.Call1" {
            paths.clone()
        } else {
            vec![onrecord_interface::OBJECT_PATH.to_owned()]
        };
        // Reload and the state-changing call methods run too: the point is that nothing the
        // client sends can hurt the daemon.
        for path in &targets {
            for args in argument_lists(types) {
                let reply = if types.is_empty() {
                    conn.call_method(
                        Some(dest),
                        path.as_str(),
                        Some(iface.as_str()),
                        method.as_str(),
                        &(),
                    )
                    .await
                } else {
                    let body: Structure = args
                        .into_iter()
                        .fold(Structure::builder(), |b, a| b.append_field(a))
                        .build()
                        .unwrap();
                    conn.call_method(
                        Some(dest),
                        path.as_str(),
                        Some(iface.as_str()),
                        method.as_str(),
                        &body,
                    )
                    .await
                };
                tried += 1;
                if let Err(p) = typed(&reply) {
                    problems.push(format!("{iface}.{method} on {path}: {p}"));
                }
            }
            // Wrong types: a number where anything else is expected, too many arguments, none.
            for reply in [
                conn.call_method(
                    Some(dest),
                    path.as_str(),
                    Some(iface.as_str()),
                    method.as_str(),
                    &(42u32,),
                )
                .await,
                conn.call_method(
                    Some(dest),
                    path.as_str(),
                    Some(iface.as_str()),
                    method.as_str(),
                    &("a", "b", "c", "d", 5u8),
                )
                .await,
                conn.call_method(
                    Some(dest),
                    path.as_str(),
                    Some(iface.as_str()),
                    method.as_str(),
                    &(),
                )
                .await,
            ] {
                tried += 1;
                if let Err(p) = typed(&reply) {
                    problems.push(format!("{iface}.{method} on {path} (wrong types): {p}"));
                }
            }
        }
    }
    assert!(
        problems.is_empty(),
        "{} of {tried} calls misbehaved:\n{}",
        problems.len(),
        problems.join("\n")
    );
    eprintln!(
        "D-Bus sweep: {tried} calls to {} methods, every reply a success or a typed error",
        methods.len()
    );

    // Alive and consistent: every call listed describes itself, in a known state, and the
    // tables still answer.
    assert!(env.daemon_alive());
    let calls = env.ctl_json(&["call", "list"]);
    for c in calls.as_array().unwrap() {
        let id = c["id"].as_str().unwrap();
        let show = env.ctl_json(&["call", "show", id]);
        assert_eq!(show["state"], c["state"], "{show}");
    }
    let d = env.ctl_json(&["laws", "check", "--them", "US-CA"]);
    assert_eq!(d["requirement"], "all-party");
    let status = env.ctl_json(&["status"]);
    assert_eq!(status["last_reload_error"], "", "{status}");
}

/// A call whose arguments are not the method's signature is refused with InvalidArgs, even
/// when the method takes none (`Reload s "extra"` used to succeed) or the arguments it takes
/// come first.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn extra_arguments_are_invalid_args_on_every_method() {
    let mut env = TestEnv::new();
    env.start_daemon();
    let conn = env.connection().await;
    let dest = onrecord_interface::BUS_NAME;
    let created = env.ctl_json(&["call", "new", "--them", "US-TX"]);
    let call = onrecord_interface::call_path(created["id"].as_str().unwrap()).to_string();
    let mut wrong = Vec::new();
    let mut tried = 0;
    for (iface, method, types) in methods() {
        let path = if iface == "org.onrecord.Call1" {
            call.clone()
        } else {
            onrecord_interface::OBJECT_PATH.to_owned()
        };
        let mut args = argument_lists(&types).remove(0);
        args.push(Value::from("extra"));
        let body: Structure = args
            .into_iter()
            .fold(Structure::builder(), |b, a| b.append_field(a))
            .build()
            .unwrap();
        let reply = conn
            .call_method(
                Some(dest),
                path.as_str(),
                Some(iface.as_str()),
                method.as_str(),
                &body,
            )
            .await;
        tried += 1;
        let name = match &reply {
            Ok(_) => "success".to_owned(),
            Err(zbus::Error::MethodError(name, _, _)) => name.to_string(),
            Err(zbus::Error::FDO(e)) => zbus::DBusError::name(e.as_ref()).to_string(),
            Err(e) => e.to_string(),
        };
        if name != "org.freedesktop.DBus.Error.InvalidArgs" {
            wrong.push(format!("{iface}.{method}({}s): {name}", types.concat()));
        }
    }
    assert!(
        wrong.is_empty(),
        "{} of {tried} methods took an extra argument:\n{}",
        wrong.len(),
        wrong.join("\n")
    );
}
