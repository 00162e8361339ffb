//! What each side of a call is recorded from, for a call a detector noticed.

use super::*;

/// A side's configuration for `call`, and its label for the manifest: when a detector saw
/// the call's application on PipeWire and the live plugin records, the far side is that
/// application's own playback stream (not everything the output plays; found again when the
/// application replaces it), and the microphone the source its capture stream reads (followed
/// when the application moves to another; the configured microphone while it reads none).
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
            Role::Microphone if !name.contains('\n') => Some((
                format!("pipewire-app-source:{name}"),
                if d.microphone.is_empty() {
                    format!(
                        "{role} ({name}'s microphone on PipeWire, which the recording follows; the configured one until it reads one)"
                    )
                } else {
                    format!(
                        "{role} ({name}'s microphone, PipeWire serial {} at the start, which the recording follows)",
                        d.microphone
                    )
                },
            )),
            _ => None,
        }
    });
    let configured = config.lines().find_map(|l| l.strip_prefix("device="));
    match own {
        Some((device, label)) => {
            let mut lines: Vec<String> = config
                .lines()
                .filter(|l| !l.starts_with("device="))
                .map(str::to_owned)
                .collect();
            lines.push(format!("device={device}"));
            // Until the application reads a microphone, the configured one.
            if role == Role::Microphone
                && let Some(configured) = configured
            {
                lines.push(format!("otherwise={configured}"));
            }
            (lines.join("\n") + "\n", label)
        }
        None => (
            config.to_owned(),
            format!("{role} ({})", configured.unwrap_or("?")),
        ),
    }
}
