//! What a side's `device` selector names: a device cpal lists, or a PipeWire node named
//! directly (`pipewire-stream:SERIAL`) or through its application (`pipewire-app:NAME`, its
//! newest playback stream; `pipewire-app-source:NAME`, what it reads as its microphone).

use crate::devices::find;
use crate::graph::Want;
use crate::native;
use cpal::traits::DeviceTrait;

/// Whether `sel` names a PipeWire node directly or through its application, rather than a
/// device cpal lists (and whether it is well formed).
pub fn native_node(sel: &str) -> Option<Result<(), String>> {
    if let Some(serial) = sel.strip_prefix("pipewire-stream:") {
        return Some(
            if !serial.is_empty() && serial.bytes().all(|b| b.is_ascii_digit()) {
                Ok(())
            } else {
                Err(format!(
                    "{sel:?}: a PipeWire node is named by its serial (pipewire-stream:123)"
                ))
            },
        );
    }
    let app = sel
        .strip_prefix("pipewire-app:")
        .or_else(|| sel.strip_prefix("pipewire-app-source:"))?;
    Some(if app.trim().is_empty() {
        Err(format!(
            "{sel:?}: name the application (pipewire-app:Linphone)"
        ))
    } else {
        Ok(())
    })
}

/// The serial of the node `sel` names now (an application's newest playback stream, or what
/// it reads as its microphone, else `otherwise`), for a stream of its own.
pub fn resolve_node(sel: &str, otherwise: Option<&str>) -> Result<String, String> {
    if let Some(app) = sel.strip_prefix("pipewire-app:") {
        return native::app_stream(app);
    }
    if let Some(app) = sel.strip_prefix("pipewire-app-source:") {
        return native::serial_of(&app_source(app, otherwise)?).ok_or_else(|| {
            format!(
                "{app:?} reads no microphone on PipeWire, and what it otherwise reads is not there"
            )
        });
    }
    Ok(sel.trim_start_matches("pipewire-stream:").to_owned())
}

/// What a side on onrecord's node follows in the graph, for `sel` (on PipeWire).
pub fn want(sel: &str, otherwise: Option<&str>) -> Result<Want, String> {
    if let Some(app) = sel.strip_prefix("pipewire-app-source:") {
        return app_source(app, otherwise);
    }
    if let Some(app) = sel.strip_prefix("pipewire-app:") {
        return Ok(Want::AppStream(app.to_owned()));
    }
    if native_node(sel).is_some() {
        return resolve_node(sel, None)?
            .parse()
            .map(Want::Serial)
            .map_err(|_| format!("{sel:?}: not a PipeWire node"));
    }
    pipewire_device(sel)?.ok_or_else(|| format!("{sel}: not a PipeWire device"))
}

/// The device cpal lists as `sel`, as the graph names it; none when it is not on PipeWire.
fn pipewire_device(sel: &str) -> Result<Option<Want>, String> {
    let d = find(sel)?;
    let id = d.id().map_err(|e| format!("{sel}: {e}"))?;
    if id.host() != cpal::HostId::PipeWire {
        return Ok(None);
    }
    Ok(Some(match id.id() {
        "sink_default" => Want::Default { monitor: true },
        "input_default" => Want::Default { monitor: false },
        name => Want::Name(name.to_owned()),
    }))
}

/// What an application reads as its microphone, else the device `otherwise` names (when it
/// is on PipeWire), else the default source.
fn app_source(app: &str, otherwise: Option<&str>) -> Result<Want, String> {
    let default = Want::Default { monitor: false };
    let otherwise = match otherwise {
        None | Some("default") => default,
        Some(sel) => pipewire_device(sel)?.unwrap_or(default),
    };
    Ok(Want::AppSource {
        app: app.to_owned(),
        otherwise: Box::new(otherwise),
    })
}
