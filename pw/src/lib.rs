//! PipeWire glue that onrecord's capture plugin (`plugins/capture-cpal`), its virtual
//! microphone (`mic/`) and the test harness share: a client context of only what a stream
//! needs, a stream's format as the pod `connect` takes, what a registry global is (a node, a
//! port, a link, the `default` metadata) and the node name in a metadata value. Each keeps its
//! own view of the graph, from these.

use pipewire as pw;
use pw::spa;

/// A context of only what an audio stream, a filter and the `default` metadata need.
///
/// The default client configuration also loads the session-manager and client-device modules
/// and the D-Bus support library (for RTKit and device reservation), none of which onrecord's
/// streams use: together about 0.8 MiB resident. So no configuration file is read ("null"),
/// and here are loaded the native protocol, the client-node (a stream's node on the server),
/// the adapter (its format conversion and resampling) and the metadata interface (which
/// devices are the defaults; where a stream is moved).
pub fn minimal_context<L: pw::loop_::IsLoopRc>(
    loop_: &L,
) -> Result<pw::context::ContextRc, String> {
    let props = pw::properties::properties! {
        "config.name" => "null",
        "support.dbus" => "false",
    };
    let ctx = pw::context::ContextRc::new(loop_, Some(props)).map_err(|e| e.to_string())?;
    let raw = ctx.as_raw_ptr();
    // SAFETY: a live context, before anything runs on it; NUL-terminated literals.
    unsafe {
        if pw::sys::pw_context_add_spa_lib(
            raw,
            c"audio.convert.*".as_ptr(),
            c"audioconvert/libspa-audioconvert".as_ptr(),
        ) < 0
        {
            return Err("cannot register the audio converter".into());
        }
        for module in [
            c"libpipewire-module-protocol-native",
            c"libpipewire-module-client-node",
            c"libpipewire-module-adapter",
            c"libpipewire-module-metadata",
        ] {
            let loaded = pw::sys::pw_context_load_module(
                raw,
                module.as_ptr(),
                std::ptr::null(),
                std::ptr::null_mut(),
            );
            if loaded.is_null() {
                return Err(format!(
                    "cannot load {}: {}",
                    module.to_string_lossy(),
                    std::io::Error::last_os_error()
                ));
            }
        }
    }
    Ok(ctx)
}

/// `info` as the `EnumFormat` pod a stream's `connect` takes (its bytes: see
/// `spa::pod::Pod::from_bytes`).
pub fn format_pod(info: spa::param::audio::AudioInfoRaw) -> Result<Vec<u8>, String> {
    Ok(spa::pod::serialize::PodSerializer::serialize(
        std::io::Cursor::new(Vec::new()),
        &spa::pod::Value::Object(spa::pod::Object {
            type_: spa::sys::SPA_TYPE_OBJECT_Format,
            id: spa::sys::SPA_PARAM_EnumFormat,
            properties: info.into(),
        }),
    )
    .map_err(|e| format!("PipeWire format: {e:?}"))?
    .0
    .into_inner())
}

/// A node, as its global's properties describe it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Node {
    /// `node.name`.
    pub name: String,
    /// `object.serial` (0 where missing): unlike the id, never reused.
    pub serial: u64,
    /// `media.class`: `Audio/Source`, `Stream/Output/Audio`...
    pub class: String,
    /// `application.name`, for an application's stream.
    pub app: String,
    /// `priority.session` (0 where missing): how the session manager ranks it as a default.
    pub priority: i64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Port {
    /// The id of its node.
    pub node: u32,
    /// An output port (it sends audio).
    pub output: bool,
    /// `port.name`: `capture_FL`, `monitor_MONO`...
    pub name: String,
}

/// Both ends of a link.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Link {
    pub output_node: u32,
    pub output_port: u32,
    pub input_node: u32,
    pub input_port: u32,
}

/// What a registry global is, of what onrecord follows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Global {
    Node(Node),
    Port(Port),
    Link(Link),
    /// The `default` metadata object: which devices are the defaults, where streams go.
    DefaultMetadata,
}

/// What the global of `type_` with properties `get` (a key's value, `None` where missing) is;
/// `None` for any other object, or one whose properties say too little.
pub fn global<'a>(
    type_: &pw::types::ObjectType,
    get: impl Fn(&str) -> Option<&'a str>,
) -> Option<Global> {
    let text = |k: &str| get(k).unwrap_or_default().to_owned();
    let serial = |k: &str| get(k)?.parse::<u64>().ok();
    let id = |k: &str| get(k)?.parse::<u32>().ok();
    Some(match type_ {
        pw::types::ObjectType::Node => Global::Node(Node {
            name: text("node.name"),
            serial: serial("object.serial").unwrap_or(0),
            class: text("media.class"),
            app: text("application.name"),
            priority: get("priority.session")
                .and_then(|p| p.parse().ok())
                .unwrap_or(0),
        }),
        pw::types::ObjectType::Port => Global::Port(Port {
            node: id("node.id")?,
            output: get("port.direction") == Some("out"),
            name: text("port.name"),
        }),
        pw::types::ObjectType::Link => Global::Link(Link {
            output_node: id("link.output.node")?,
            output_port: id("link.output.port")?,
            input_node: id("link.input.node")?,
            input_port: id("link.input.port")?,
        }),
        pw::types::ObjectType::Metadata if get("metadata.name") == Some("default") => {
            Global::DefaultMetadata
        }
        _ => return None,
    })
}

/// The node name in a metadata value such as `{ "name": "alsa_input.pci" }`.
pub fn json_name(value: &str) -> Option<String> {
    let after = &value[value.find("\"name\"")? + "\"name\"".len()..];
    let body = after
        .trim_start()
        .strip_prefix(':')?
        .trim_start()
        .strip_prefix('"')?;
    let mut out = String::new();
    let mut chars = body.chars();
    while let Some(c) = chars.next() {
        match c {
            '"' => return Some(out),
            '\\' => out.push(chars.next()?),
            c => out.push(c),
        }
    }
    None
}

/// A metadata value naming node `name` (what [`json_name`] reads).
pub fn json_for(name: &str) -> String {
    let escaped: String = name
        .chars()
        .flat_map(|c| match c {
            '"' | '\\' => vec!['\\', c],
            c => vec![c],
        })
        .collect();
    format!("{{ \"name\": \"{escaped}\" }}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn parse(type_: pw::types::ObjectType, props: &[(&str, &str)]) -> Option<Global> {
        let props: HashMap<&str, &str> = props.iter().copied().collect();
        global(&type_, |k| props.get(k).copied())
    }

    #[test]
    fn globals_are_read_from_their_properties() {
        use pw::types::ObjectType as T;
        assert_eq!(
            parse(
                T::Node,
                &[
                    ("node.name", "Linphone"),
                    ("object.serial", "300"),
                    ("media.class", "Stream/Output/Audio"),
                    ("application.name", "Linphone"),
                    ("priority.session", "2000")
                ]
            ),
            Some(Global::Node(Node {
                name: "Linphone".into(),
                serial: 300,
                class: "Stream/Output/Audio".into(),
                app: "Linphone".into(),
                priority: 2000,
            }))
        );
        // A node without a serial (an older server) is still a node.
        assert_eq!(
            parse(T::Node, &[("node.name", "mic")]),
            Some(Global::Node(Node {
                name: "mic".into(),
                ..Node::default()
            }))
        );
        assert_eq!(
            parse(
                T::Port,
                &[
                    ("node.id", "30"),
                    ("port.direction", "out"),
                    ("port.name", "output_MONO")
                ]
            ),
            Some(Global::Port(Port {
                node: 30,
                output: true,
                name: "output_MONO".into()
            }))
        );
        assert_eq!(
            parse(
                T::Port,
                &[
                    ("node.id", "30"),
                    ("port.direction", "in"),
                    ("port.name", "input_FL")
                ]
            ),
            Some(Global::Port(Port {
                node: 30,
                output: false,
                name: "input_FL".into()
            }))
        );
        // A port that names no node cannot be placed.
        assert_eq!(parse(T::Port, &[("port.name", "x")]), None);
        assert_eq!(
            parse(
                T::Link,
                &[
                    ("link.output.node", "20"),
                    ("link.output.port", "21"),
                    ("link.input.node", "40"),
                    ("link.input.port", "41")
                ]
            ),
            Some(Global::Link(Link {
                output_node: 20,
                output_port: 21,
                input_node: 40,
                input_port: 41
            }))
        );
        assert_eq!(
            parse(
                T::Link,
                &[("link.output.node", "20"), ("link.input.node", "40")]
            ),
            None
        );
        assert_eq!(
            parse(T::Metadata, &[("metadata.name", "default")]),
            Some(Global::DefaultMetadata)
        );
        assert_eq!(parse(T::Metadata, &[("metadata.name", "settings")]), None);
        assert_eq!(parse(T::Client, &[("node.name", "x")]), None);
    }

    #[test]
    fn a_metadata_value_names_its_node() {
        assert_eq!(json_name(r#"{ "name": "mic" }"#).as_deref(), Some("mic"));
        assert_eq!(json_name(r#"{"name":"a\"b"}"#).as_deref(), Some("a\"b"));
        assert_eq!(json_name(r#"{ "other": 1 }"#), None);
        assert_eq!(json_name("{}"), None);
        for name in ["onrecord_mic", "x\"y\\z"] {
            assert_eq!(json_name(&json_for(name)).as_deref(), Some(name));
        }
        assert_eq!(json_name(r#"{ "name": "unterminated"#), None);
    }
}
