//! What each side of a call is recorded from, for a call a detector noticed.

use super::*;

/// A side's configuration for `call`, and its label for the manifest: when a detector saw
/// the call's application on PipeWire and the live plugin records, the far side is that
/// application's own playback stream (not everything the output plays; found again when the
/// application replaces it), and the microphone the source its capture stream reads.
pub(super) fn side_for(call: &Call, role: Role, config: &str, source: &str) -> (String, String) {
    let app = call
        .detected
        .as_ref()
        .filter(|_| source == crate::config::LIVE_SOURCE);
    let own = app.and_then(|d| {
        let name = d.stream_app()?;
        match role {
            Role::FarSide if !d.far_side.is_empty() && !name.contains('\n') => Some((
                format!("pipewire-app:{name}"),
                format!("{role} ({name}'s stream on PipeWire)"),
            )),
            Role::Microphone if !d.microphone.is_empty() => Some((
                format!("pipewire-stream:{}", d.microphone),
                format!(
                    "{role} ({name}'s microphone, PipeWire serial {})",
                    d.microphone
                ),
            )),
            _ => None,
        }
    });
    match own {
        Some((device, label)) => {
            let mut lines: Vec<String> = config
                .lines()
                .filter(|l| !l.starts_with("device="))
                .map(str::to_owned)
                .collect();
            lines.push(format!("device={device}"));
            (lines.join("\n") + "\n", label)
        }
        None => {
            let device = config
                .lines()
                .find_map(|l| l.strip_prefix("device="))
                .unwrap_or("?");
            (config.to_owned(), format!("{role} ({device})"))
        }
    }
}
