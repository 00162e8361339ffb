//! `onrecord-mic --record PATH --seconds N`: the user's own announcement, recorded from the
//! default source (their microphone) into a 48 kHz 16-bit mono WAV.

use pipewire as pw;
use pw::spa;
use std::cell::RefCell;
use std::rc::Rc;
use std::time::{Duration, Instant};

const RATE: u32 = 48_000;

pub fn record(
    context: &pw::context::ContextRc,
    mainloop: &pw::main_loop::MainLoopRc,
    path: &str,
    seconds: f64,
) -> Result<f64, String> {
    let core = context
        .connect_rc(None)
        .map_err(|e| format!("cannot reach the PipeWire server: {e}"))?;
    let want = (seconds * RATE as f64) as usize;
    let samples: Rc<RefCell<Vec<f32>>> = Rc::new(RefCell::new(Vec::with_capacity(want)));
    let props = pw::properties::properties! {
        *pw::keys::MEDIA_TYPE => "Audio",
        *pw::keys::MEDIA_CATEGORY => "Capture",
        *pw::keys::NODE_NAME => "onrecord-announcement-recorder",
        *pw::keys::APP_NAME => "onrecord",
    };
    let stream = pw::stream::StreamRc::new(core, "onrecord-announcement-recorder", props)
        .map_err(|e| format!("PipeWire: {e}"))?;
    let sink = samples.clone();
    let _listener = stream
        .add_local_listener_with_user_data(())
        .process(move |stream, _| {
            let Some(mut buffer) = stream.dequeue_buffer() else {
                return;
            };
            let Some(d) = buffer.datas_mut().first_mut() else {
                return;
            };
            let (offset, size) = (d.chunk().offset() as usize, d.chunk().size() as usize);
            if let Some(bytes) = d.data() {
                let end = (offset + size).min(bytes.len());
                let mut s = sink.borrow_mut();
                let room = want.saturating_sub(s.len());
                s.extend(
                    bytes[offset.min(end)..end]
                        .chunks_exact(4)
                        .take(room)
                        .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]])),
                );
            }
        })
        .register()
        .map_err(|e| format!("PipeWire: {e}"))?;
    let values = crate::play::f32_format(RATE, 1)?;
    let mut params = [spa::pod::Pod::from_bytes(&values).ok_or("PipeWire format")?];
    // Autoconnected: the session manager links the default source.
    stream
        .connect(
            spa::utils::Direction::Input,
            None,
            pw::stream::StreamFlags::AUTOCONNECT | pw::stream::StreamFlags::MAP_BUFFERS,
            &mut params,
        )
        .map_err(|e| format!("cannot record: {e}"))?;
    // A source that gives nothing (none, or a stalled graph) does not keep us for ever.
    let deadline = Instant::now() + Duration::from_secs_f64(seconds * 2.0 + 5.0);
    while samples.borrow().len() < want && Instant::now() < deadline {
        mainloop
            .loop_()
            .iterate(pw::loop_::Timeout::Finite(Duration::from_millis(100)));
    }
    let _ = stream.disconnect();
    let got = samples.borrow();
    if got.is_empty() {
        return Err("no audio came from the microphone (is there a default source?)".into());
    }
    let spec = hound::WavSpec {
        channels: 1,
        sample_rate: RATE,
        bits_per_sample: 16,
        sample_format: hound::SampleFormat::Int,
    };
    let tmp = format!("{path}.part");
    let mut w = hound::WavWriter::create(&tmp, spec).map_err(|e| format!("{tmp}: {e}"))?;
    for v in got.iter() {
        let s = (v * 32768.0).round().clamp(-32768.0, 32767.0) as i16;
        w.write_sample(s).map_err(|e| format!("{tmp}: {e}"))?;
    }
    w.finalize().map_err(|e| format!("{tmp}: {e}"))?;
    std::fs::rename(&tmp, path).map_err(|e| format!("{path}: {e}"))?;
    Ok(got.len() as f64 / RATE as f64)
}
