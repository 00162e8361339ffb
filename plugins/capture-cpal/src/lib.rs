//! `capture-cpal`: live capture from PipeWire (microphones and the monitor of an output sink:
//! the far side of a softphone call) and from ALSA. Devices are found and described through
//! cpal (its PipeWire and ALSA hosts); ALSA streams run through cpal, PipeWire streams natively
//! on one shared connection (`native.rs`: one wakeup per graph cycle for every side, and the
//! graph's own capture times).
//!
//! Configuration (`key=value` lines):
//! - `device`: a device id as `onrecordctl devices` lists it (`pipewire:far_side`,
//!   `alsa:clip`), or its name, or `default` (the default microphone) or `monitor` (what the
//!   default output plays), or `pipewire-stream:SERIAL`: one node on PipeWire by its
//!   `object.serial` (a source, or an application's own stream), or `pipewire-app:NAME`: the
//!   newest playback stream of the application NAME (what a softphone plays, without the rest
//!   of the output), found again when the application replaces it mid-call, or
//!   `pipewire-app-source:NAME`: what the application NAME reads as its microphone (the source
//!   linked into its newest capture stream), followed when it moves to another. Default
//!   `default`.
//! - `otherwise`: for `pipewire-app-source:`, the device read while the application reads
//!   none (no capture stream yet, or one not linked yet). Default `default`.
//! - `period_ms`: frames per delivery, as time (default 100: a recorder needs no low latency,
//!   and large periods mean few wakeups). Clamped to what the device allows.
//! - `rate`, `channels`, `format` (`i16` or `f32`): override what the host asks for.
//!
//! Every stream is opened with an explicit configuration (format, rate, channels, buffer
//! size); cpal's defaults are not assumed. A device lost mid-call (unplugged, server
//! restarted) is reported to the host (`SOURCE_LOST`); a supervisor thread looks for it at
//! once, every 100 ms for a second, then once a second, and reopens it when it returns
//! (`SOURCE_BACK`). A side on onrecord's node that
//! follows something (the default device, what an application reads) is linked from the new
//! device before the old link goes, so it is never left without a source (`SOURCE_MOVED`).
//! When PipeWire moves the node to another driver (the device a move leaves drove the graph),
//! the capture times pause for up to a cycle: every side is told (`SOURCE_CLOCK`).
//!
//! The data callback only copies into the host's sink (which is real-time safe) and touches
//! atomics: it never blocks, allocates or logs.

mod devices;
mod graph;
mod native;
mod node;
mod select;

use devices::{choose, device_id, find};
use select::{native_node, resolve_node};

use cpal::traits::{DeviceTrait, StreamTrait};
use onrecord_plugin::{
    AudioFormat, CaptureSource, DeviceInfo, SAMPLE_F32, SAMPLE_I16, SOURCE_BACK, SOURCE_CLOCK,
    SOURCE_LOST, SOURCE_MOVED, Sink, export,
};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc;
use std::thread::JoinHandle;
use std::time::Duration;

/// How a source was asked to open.
#[derive(Clone, Debug)]
struct Spec {
    device: String,
    period_ms: u32,
    format: AudioFormat,
    /// `rate`, `channels` or `format` was given: a stream of its own, converted to it.
    explicit: bool,
    /// For `pipewire-app-source:`: what to read while the application reads nothing.
    otherwise: Option<String>,
}

fn parse(text: &str, want: AudioFormat) -> Result<Spec, String> {
    let mut spec = Spec {
        device: "default".into(),
        period_ms: 100,
        format: want,
        explicit: false,
        otherwise: None,
    };
    for line in text.lines().map(str::trim).filter(|l| !l.is_empty()) {
        let (k, v) = line
            .split_once('=')
            .map(|(k, v)| (k.trim(), v.trim()))
            .ok_or_else(|| format!("not key=value: {line:?}"))?;
        let number = |what: &str, range: std::ops::RangeInclusive<u32>| {
            v.parse::<u32>()
                .ok()
                .filter(|n| range.contains(n))
                .ok_or_else(|| {
                    format!(
                        "{what} must be {} to {}, not {v:?}",
                        range.start(),
                        range.end()
                    )
                })
        };
        match k {
            "device" if !v.is_empty() => spec.device = v.to_owned(),
            "device" => return Err("device is empty".into()),
            "period_ms" => spec.period_ms = number("period_ms", 1..=1000)?,
            "otherwise" if !v.is_empty() => spec.otherwise = Some(v.to_owned()),
            "rate" => {
                spec.format.rate = number("rate", 8000..=192_000)?;
                spec.explicit = true;
            }
            "channels" => {
                spec.format.channels = number("channels", 1..=8)?;
                spec.explicit = true;
            }
            "format" => {
                spec.explicit = true;
                spec.format.sample_format = match v {
                    "i16" => SAMPLE_I16,
                    "f32" => SAMPLE_F32,
                    _ => return Err(format!("format must be i16 or f32, not {v:?}")),
                }
            }
            _ => {
                return Err(format!(
                    "unknown option {k:?} (device, period_ms, rate, channels, format, otherwise)"
                ));
            }
        }
    }
    Ok(spec)
}

/// What the callbacks share with the source.
pub(crate) struct Shared {
    /// Frames are delivered only while this is set.
    pub(crate) delivering: AtomicBool,
    /// Xruns the backend reported (counted in the callback, logged at stop).
    xruns: AtomicU64,
}

pub(crate) enum Msg {
    Stop,
    Lost(String),
    /// What the side follows moved, and it reads on from the new device.
    Moved(String),
    /// The capture times' clock changed (onrecord's node has another driver).
    Clock(String),
}

pub struct CpalSource {
    spec: Spec,
    /// Captured on the plugin's one PipeWire node, at this (the graph's) rate.
    node_rate: Option<u32>,
    device_id: String,
    sample_format: cpal::SampleFormat,
    config: cpal::StreamConfig,
    sink: Sink,
    shared: Arc<Shared>,
    control: Option<mpsc::Sender<Msg>>,
    supervisor: Option<JoinHandle<()>>,
}

/// A cpal input stream of `T` samples whose callback hands their bytes to the sink.
fn typed<T: cpal::SizedSample>(
    device: &cpal::Device,
    config: &cpal::StreamConfig,
    sink: Sink,
    shared: Arc<Shared>,
    channels: usize,
    on_error: impl FnMut(cpal::Error) + Send + 'static,
) -> Result<cpal::Stream, cpal::Error> {
    device.build_input_stream::<T, _, _>(
        *config,
        move |data: &[T], _: &cpal::InputCallbackInfo| {
            if shared.delivering.load(Ordering::Acquire) {
                // SAFETY: i16 or f32 samples viewed as their bytes (little-endian host).
                let bytes = unsafe {
                    std::slice::from_raw_parts(
                        data.as_ptr() as *const u8,
                        std::mem::size_of_val(data),
                    )
                };
                sink.deliver(bytes, data.len() / channels);
            }
        },
        on_error,
        None,
    )
}

/// A running stream: PipeWire's on the shared native connection, anything else through cpal.
/// Held only to keep it running; dropping it stops it.
enum Running {
    Native(#[allow(dead_code)] native::Stream),
    Node(#[allow(dead_code)] node::Port),
    Cpal(#[allow(dead_code)] cpal::Stream),
}

fn build(
    device: &cpal::Device,
    sample_format: cpal::SampleFormat,
    config: &cpal::StreamConfig,
    sink: Sink,
    shared: Arc<Shared>,
    lost: mpsc::Sender<Msg>,
) -> Result<Running, String> {
    if let Ok(id) = device.id()
        && id.host() == cpal::HostId::PipeWire
    {
        let (node, monitor) = match id.id() {
            "sink_default" => (None, true),
            "input_default" => (None, false),
            name => (Some(name.to_owned()), device.supports_output()),
        };
        let target = native::Target {
            node,
            monitor,
            label: id.to_string(),
        };
        return open_native(target, sample_format, config, sink, shared, lost);
    }
    build_cpal(device, sample_format, config, sink, shared, lost).map(Running::Cpal)
}

/// A native PipeWire stream of `config` on `target`.
fn open_native(
    target: native::Target,
    sample_format: cpal::SampleFormat,
    config: &cpal::StreamConfig,
    sink: Sink,
    shared: Arc<Shared>,
    lost: mpsc::Sender<Msg>,
) -> Result<Running, String> {
    let period = match config.buffer_size {
        cpal::BufferSize::Fixed(n) => n,
        cpal::BufferSize::Default => 1024,
    };
    native::open(
        target,
        sample_format == cpal::SampleFormat::F32,
        config.sample_rate,
        u32::from(config.channels),
        period,
        sink,
        shared,
        lost,
    )
    .map(Running::Native)
}

fn build_cpal(
    device: &cpal::Device,
    sample_format: cpal::SampleFormat,
    config: &cpal::StreamConfig,
    sink: Sink,
    shared: Arc<Shared>,
    lost: mpsc::Sender<Msg>,
) -> Result<cpal::Stream, String> {
    let channels = usize::from(config.channels.max(1));
    // ALSA's timestamps are not known to be on CLOCK_MONOTONIC: the host times deliveries.
    let errors = shared.clone();
    let on_error = move |e: cpal::Error| match e.kind() {
        // From the audio thread: count only.
        cpal::ErrorKind::Xrun => {
            errors.xruns.fetch_add(1, Ordering::Relaxed);
        }
        cpal::ErrorKind::DeviceNotAvailable
        | cpal::ErrorKind::HostUnavailable
        | cpal::ErrorKind::StreamInvalidated
        | cpal::ErrorKind::BackendError => {
            let _ = lost.send(Msg::Lost(e.to_string()));
        }
        _ => {}
    };
    let stream = match sample_format {
        cpal::SampleFormat::F32 => typed::<f32>(device, config, sink, shared, channels, on_error),
        _ => typed::<i16>(device, config, sink, shared, channels, on_error),
    }
    .map_err(|e| format!("cannot open the stream: {e}"))?;
    stream
        .play()
        .map_err(|e| format!("cannot start the stream: {e}"))?;
    Ok(stream)
}

/// The configuration an application's stream is captured with: as asked (PipeWire converts
/// whatever the application plays).
fn stream_config(spec: &Spec) -> (cpal::SampleFormat, cpal::StreamConfig, AudioFormat) {
    let float = spec.format.sample_format == SAMPLE_F32;
    let frames = (spec.format.rate as u64 * spec.period_ms as u64 / 1000).max(1) as u32;
    (
        if float {
            cpal::SampleFormat::F32
        } else {
            cpal::SampleFormat::I16
        },
        cpal::StreamConfig {
            channels: spec.format.channels as u16,
            sample_rate: spec.format.rate,
            buffer_size: cpal::BufferSize::Fixed(frames),
        },
        spec.format,
    )
}

/// Opens the stream `spec` names: on the plugin's one PipeWire node at `node_rate` when given,
/// else an application's stream natively, a device through `find`.
fn open_stream(
    spec: &Spec,
    node_rate: Option<u32>,
    sample_format: cpal::SampleFormat,
    config: &cpal::StreamConfig,
    sink: Sink,
    shared: Arc<Shared>,
    lost: mpsc::Sender<Msg>,
) -> Result<Running, String> {
    let (sel, otherwise) = (spec.device.as_str(), spec.otherwise.as_deref());
    if let Some(rate) = node_rate {
        let want = select::want(sel, otherwise)?;
        let latency = format!(
            "{}/{rate}",
            (rate as u64 * spec.period_ms as u64 / 1000).max(1)
        );
        return node::open(want, sel, rate, &latency, sink, shared, lost).map(Running::Node);
    }
    if native_node(sel).is_some() {
        let serial = resolve_node(sel, otherwise)?;
        let target = native::Target {
            node: Some(serial),
            monitor: false,
            label: sel.to_owned(),
        };
        return open_native(target, sample_format, config, sink, shared, lost);
    }
    find(sel).and_then(|d| build(&d, sample_format, config, sink, shared, lost))
}

impl CaptureSource for CpalSource {
    fn open(text: &str, want: AudioFormat, sink: Sink) -> Result<(Self, AudioFormat), String> {
        let spec = parse(text, want)?;
        let one_node =
            |on_pipewire: bool| on_pipewire && !spec.explicit && spec.format.channels == 1;
        let on_pipewire;
        let (sample_format, config, mut format, device_id) =
            if let Some(named) = native_node(&spec.device) {
                named?;
                on_pipewire = true;
                let (f, c, a) = stream_config(&spec);
                (f, c, a, spec.device.clone())
            } else {
                let device = find(&spec.device)?;
                on_pipewire = device
                    .id()
                    .is_ok_and(|id| id.host() == cpal::HostId::PipeWire);
                let (f, c, a) = if one_node(on_pipewire) {
                    stream_config(&spec)
                } else {
                    choose(&device, &spec)?
                };
                let id = device_id(&device).unwrap_or_else(|| spec.device.clone());
                (f, c, a, id)
            };
        // A PipeWire side, unless a format of its own was asked for, is a port of the one node:
        // f32 mono at the graph's rate, as PipeWire's DSP ports carry it.
        let node_rate = if one_node(on_pipewire) {
            let rate = node::graph_rate()?;
            format = AudioFormat {
                sample_format: SAMPLE_F32,
                rate,
                channels: 1,
            };
            Some(rate)
        } else {
            None
        };
        Ok((
            CpalSource {
                spec,
                node_rate,
                device_id,
                sample_format,
                config,
                sink,
                shared: Arc::new(Shared {
                    delivering: AtomicBool::new(false),
                    xruns: AtomicU64::new(0),
                }),
                control: None,
                supervisor: None,
            },
            format,
        ))
    }

    fn start(&mut self) -> Result<(), String> {
        let (tx, rx) = mpsc::channel::<Msg>();
        let (ready_tx, ready_rx) = mpsc::channel::<Result<(), String>>();
        let spec = self.spec.clone();
        let sel = spec.device.clone();
        let node_rate = self.node_rate;
        let (sample_format, config, sink, shared) = (
            self.sample_format,
            self.config,
            self.sink,
            self.shared.clone(),
        );
        let lost = tx.clone();
        self.shared.delivering.store(true, Ordering::Release);
        // The supervisor owns the stream: it opens it, and when the device is lost, reopens it
        // once it is back.
        let supervisor = std::thread::Builder::new()
            .name("capture-cpal".into())
            .spawn(move || {
                let open = || {
                    open_stream(
                        &spec,
                        node_rate,
                        sample_format,
                        &config,
                        sink,
                        shared.clone(),
                        lost.clone(),
                    )
                };
                let mut stream = match open() {
                    Ok(s) => {
                        let _ = ready_tx.send(Ok(()));
                        Some(s)
                    }
                    Err(e) => {
                        let _ = ready_tx.send(Err(e));
                        return;
                    }
                };
                // Since when the device is lost: it is looked for every 100 ms in the first
                // second (an application replacing its stream, a server restarting), then once
                // a second.
                let mut lost_at = std::time::Instant::now();
                let mut first_try = false;
                loop {
                    let wait = match (&stream, first_try) {
                        (Some(_), _) => Duration::from_secs(3600),
                        (None, true) => Duration::ZERO,
                        (None, false) if lost_at.elapsed() < Duration::from_secs(1) => {
                            Duration::from_millis(100)
                        }
                        (None, false) => Duration::from_secs(1),
                    };
                    first_try = false;
                    match rx.recv_timeout(wait) {
                        Ok(Msg::Stop) | Err(mpsc::RecvTimeoutError::Disconnected) => break,
                        Ok(Msg::Moved(what)) => {
                            sink.event(SOURCE_MOVED, &format!("{sel}: {what}"));
                        }
                        Ok(Msg::Clock(what)) => {
                            sink.event(SOURCE_CLOCK, &format!("{sel}: {what}"));
                        }
                        Ok(Msg::Lost(why)) => {
                            if stream.take().is_some() {
                                sink.event(SOURCE_LOST, &format!("{sel}: {why}"));
                                lost_at = std::time::Instant::now();
                                first_try = true;
                            }
                        }
                        Err(mpsc::RecvTimeoutError::Timeout) => {
                            if stream.is_none()
                                && let Ok(s) = open()
                            {
                                stream = Some(s);
                                sink.event(SOURCE_BACK, &format!("{sel}: the device is back"));
                            }
                        }
                    }
                }
                drop(stream);
            })
            .map_err(|e| format!("cannot start the capture thread: {e}"))?;
        let started = ready_rx
            .recv()
            .unwrap_or_else(|_| Err("the capture thread ended".into()));
        self.control = Some(tx);
        self.supervisor = Some(supervisor);
        if let Err(e) = started {
            self.stop();
            return Err(e);
        }
        let how = match self.node_rate {
            Some(rate) => format!("on onrecord's PipeWire node at {rate} Hz, mono, f32"),
            None => format!(
                "at {} Hz, {} channel(s), {:?}, buffer {:?}",
                self.config.sample_rate,
                self.config.channels,
                self.sample_format,
                self.config.buffer_size
            ),
        };
        onrecord_plugin::log(
            3,
            &format!("capturing {} ({}) {how}", self.spec.device, self.device_id),
        );
        Ok(())
    }

    fn stop(&mut self) {
        self.shared.delivering.store(false, Ordering::Release);
        if let Some(tx) = self.control.take() {
            let _ = tx.send(Msg::Stop);
        }
        if let Some(t) = self.supervisor.take() {
            let _ = t.join();
        }
        let xruns = self.shared.xruns.swap(0, Ordering::Relaxed);
        if xruns > 0 {
            onrecord_plugin::log(
                2,
                &format!(
                    "{}: {xruns} xruns reported by the backend",
                    self.spec.device
                ),
            );
        }
    }

    fn devices() -> Result<Vec<DeviceInfo>, String> {
        devices::list()
    }
}

export!(
    id: "capture-cpal",
    description: "Live capture through cpal: PipeWire devices and output monitors, ALSA devices",
    capture: CpalSource,
);

#[cfg(test)]
mod tests {
    use super::*;

    const WANT: AudioFormat = AudioFormat {
        sample_format: SAMPLE_I16,
        rate: 48_000,
        channels: 1,
    };

    #[test]
    fn options_are_read_and_checked() {
        let s = parse(
            "device=pipewire:far_side\nperiod_ms=200\nformat=f32\n",
            WANT,
        )
        .unwrap();
        assert_eq!(s.device, "pipewire:far_side");
        assert_eq!(s.period_ms, 200);
        assert_eq!(s.format.sample_format, SAMPLE_F32);
        assert_eq!(parse("", WANT).unwrap().device, "default");
        for bad in [
            "period_ms=0",
            "rate=7",
            "format=s24",
            "colour=blue",
            "device=",
            "nonsense",
        ] {
            assert!(parse(bad, WANT).is_err(), "{bad}");
        }
    }
}
