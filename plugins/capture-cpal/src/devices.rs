//! Finding a device through cpal's hosts (PipeWire first, then ALSA) and the explicit
//! configuration it is opened with.

use crate::Spec;
use cpal::traits::{DeviceTrait, HostTrait};
use onrecord_plugin::{AudioFormat, DeviceInfo, DeviceKind, SAMPLE_F32, SAMPLE_I16};
use std::str::FromStr;

/// The hosts to look in: PipeWire first when its server runs, then ALSA.
pub(crate) fn hosts() -> Vec<cpal::Host> {
    let mut out = Vec::new();
    for id in [cpal::HostId::PipeWire, cpal::HostId::Alsa] {
        if cpal::available_hosts().contains(&id)
            && let Ok(h) = cpal::host_from_id(id)
        {
            out.push(h);
        }
    }
    out
}

pub(crate) fn device_id(d: &cpal::Device) -> Option<String> {
    d.id().ok().map(|id| id.to_string())
}

pub(crate) fn device_name(d: &cpal::Device) -> String {
    d.description()
        .map(|desc| desc.name().to_owned())
        .unwrap_or_default()
}

/// Finds the device `sel` names, in a fresh enumeration (a device that came back is found).
pub(crate) fn find(sel: &str) -> Result<cpal::Device, String> {
    let hosts = hosts();
    if hosts.is_empty() {
        return Err("neither a PipeWire server nor ALSA is available".into());
    }
    let pipewire = hosts.iter().find(|h| h.id() == cpal::HostId::PipeWire);
    match sel {
        "default" => {
            for h in &hosts {
                if let Some(d) = h.default_input_device() {
                    return Ok(d);
                }
            }
            Err("no default input device".into())
        }
        "monitor" => {
            let h = pipewire
                .ok_or("`monitor` (what the speakers play) needs a running PipeWire server")?;
            let id =
                cpal::DeviceId::from_str("pipewire:sink_default").map_err(|e| e.to_string())?;
            h.device_by_id(&id)
                .ok_or_else(|| "PipeWire has no default output to monitor".into())
        }
        _ => {
            if let Ok(id) = cpal::DeviceId::from_str(sel)
                && let Some(h) = hosts.iter().find(|h| h.id() == id.host())
                && let Some(d) = h.device_by_id(&id)
            {
                return Ok(d);
            }
            for h in &hosts {
                if let Ok(devices) = h.devices() {
                    for d in devices {
                        if d.supports_input() && device_name(&d).eq_ignore_ascii_case(sel) {
                            return Ok(d);
                        }
                    }
                }
            }
            Err(format!(
                "no input device {sel:?} (see `onrecordctl devices`)"
            ))
        }
    }
}

/// The explicit configuration a device is opened with: the format asked for where the device
/// offers it, else the nearest it does (the host converts).
pub(crate) fn choose(
    device: &cpal::Device,
    spec: &Spec,
) -> Result<(cpal::SampleFormat, cpal::StreamConfig, AudioFormat), String> {
    let ranges: Vec<cpal::SupportedStreamConfigRange> = device
        .supported_input_configs()
        .map_err(|e| format!("cannot read what the device offers: {e}"))?
        .collect();
    if ranges.is_empty() {
        return Err("the device offers no input configuration".into());
    }
    let want_fmt = if spec.format.sample_format == SAMPLE_F32 {
        cpal::SampleFormat::F32
    } else {
        cpal::SampleFormat::I16
    };
    let usable =
        |f: cpal::SampleFormat| matches!(f, cpal::SampleFormat::I16 | cpal::SampleFormat::F32);
    let rate_ok = |r: &cpal::SupportedStreamConfigRange| {
        (r.min_sample_rate()..=r.max_sample_rate()).contains(&spec.format.rate)
    };
    // Best first: the format, the rate and the channels asked for; then fewer matches.
    let score = |r: &cpal::SupportedStreamConfigRange| {
        (r.sample_format() == want_fmt) as u32 * 4
            + rate_ok(r) as u32 * 2
            + (u32::from(r.channels()) == spec.format.channels) as u32
    };
    let best = ranges
        .iter()
        .filter(|r| usable(r.sample_format()))
        .max_by_key(|r| score(r))
        .ok_or("the device offers neither 16-bit nor float samples")?;
    let rate = if rate_ok(best) {
        spec.format.rate
    } else {
        best.max_sample_rate()
            .min(48_000)
            .max(best.min_sample_rate())
    };
    let frames = (rate as u64 * spec.period_ms as u64 / 1000).max(1) as u32;
    let buffer_size = match best.buffer_size() {
        cpal::SupportedBufferSize::Range { min, max } if *max > 0 => {
            cpal::BufferSize::Fixed(frames.clamp(*min, *max))
        }
        _ => cpal::BufferSize::Fixed(frames),
    };
    let config = cpal::StreamConfig {
        channels: best.channels(),
        sample_rate: rate,
        buffer_size,
    };
    let format = AudioFormat {
        sample_format: if best.sample_format() == cpal::SampleFormat::F32 {
            SAMPLE_F32
        } else {
            SAMPLE_I16
        },
        rate,
        channels: u32::from(best.channels()),
    };
    Ok((best.sample_format(), config, format))
}

/// Every input and output monitor the hosts offer, described for `onrecordctl devices`.
pub fn list() -> Result<Vec<DeviceInfo>, String> {
    let mut out = Vec::new();
    for h in hosts() {
        let default_in = h.default_input_device().and_then(|d| device_id(&d));
        let Ok(devices) = h.devices() else { continue };
        for d in devices {
            if !d.supports_input() {
                continue;
            }
            let Some(id) = device_id(&d) else { continue };
            let ranges: Vec<_> = d
                .supported_input_configs()
                .map(|r| r.collect::<Vec<_>>())
                .unwrap_or_default();
            let mut rates: Vec<u32> = Vec::new();
            for r in &ranges {
                for rate in [8000, 16_000, 22_050, 44_100, 48_000, 96_000] {
                    if (r.min_sample_rate()..=r.max_sample_rate()).contains(&rate)
                        && !rates.contains(&rate)
                    {
                        rates.push(rate);
                    }
                }
            }
            rates.sort_unstable();
            let mut formats: Vec<String> = Vec::new();
            for r in &ranges {
                let f = match r.sample_format() {
                    cpal::SampleFormat::I16 => "i16",
                    cpal::SampleFormat::F32 => "f32",
                    _ => continue,
                };
                if !formats.iter().any(|x| x == f) {
                    formats.push(f.into());
                }
            }
            // A PipeWire sink captured is its monitor; ALSA PCMs are simply duplex.
            let monitor = h.id() == cpal::HostId::PipeWire && d.supports_output();
            let name = match (monitor, id.as_str()) {
                (_, "pipewire:sink_default") => "Monitor of the default output".to_owned(),
                (_, "pipewire:input_default") => "Default input".to_owned(),
                (true, _) => format!("Monitor of {}", device_name(&d)),
                (false, _) => device_name(&d),
            };
            out.push(DeviceInfo {
                is_default: default_in.as_deref() == Some(id.as_str())
                    || id == "pipewire:sink_default",
                id,
                name,
                kind: if monitor {
                    DeviceKind::Monitor
                } else {
                    DeviceKind::Input
                },
                channels: ranges
                    .iter()
                    .map(|r| u32::from(r.channels()))
                    .max()
                    .unwrap_or(0),
                rates,
                formats,
            });
        }
    }
    Ok(out)
}
