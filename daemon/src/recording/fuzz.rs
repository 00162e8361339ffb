//! The delivery half of the `plugin_abi` fuzz target.

use super::*;

/// The delivery half of the `plugin_abi` fuzz target (`crate::fuzz`): a timed sink configured
/// for the format the input names (refused unless valid, as `open` does), then deliveries,
/// capture times, events and the writer's draining in the input's order, the marks fitted as
/// the mixer fits them.
pub fn fuzz_sink(data: &[u8]) {
    let mut input = data.iter().copied();
    let mut byte = || input.next();
    let bytes = |n: usize, byte: &mut dyn FnMut() -> Option<u8>| -> Vec<u8> {
        (0..n).map_while(|_| byte()).collect()
    };
    let (Some(sf), Some(ch)) = (byte(), byte()) else {
        return;
    };
    let rate = u32::from_le_bytes(bytes(4, &mut byte).try_into().unwrap_or([0; 4]));
    let format = AudioFormat {
        sample_format: sf as u32 % 4,
        rate,
        channels: ch as u32 % 10,
    };
    if !format.is_valid() {
        return;
    }
    let fb = format.bytes_per_frame();
    let ring = Arc::new(Ring::default());
    let mut ctx = Box::new(SinkCtx::new(ring.clone()));
    let (mut audio, marks) = ctx.configure(format, true);
    let Some(mut marks) = marks else {
        return;
    };
    let sink = ring::frame_sink(&mut *ctx);
    const MAX_FRAMES: usize = 4096;
    let buf = vec![0x5Au8; MAX_FRAMES * fb];
    let mut clock = align::SourceClock::new(format.rate);
    while let Some(op) = byte() {
        let frames = |b: &mut dyn FnMut() -> Option<u8>| {
            let v = bytes(2, b);
            usize::from(u16::from_le_bytes(v.try_into().unwrap_or([0; 2]))) % (MAX_FRAMES + 1)
        };
        match op % 5 {
            0 => ring.set_writing(byte().unwrap_or(0) & 1 == 1),
            1 => {
                let n = frames(&mut byte);
                let t = u64::from_le_bytes(bytes(8, &mut byte).try_into().unwrap_or([0; 8]));
                // SAFETY: `buf` holds MAX_FRAMES frames of the format; the ctx is alive.
                unsafe { deliver_at(sink.ctx, buf.as_ptr(), n, t) }
            }
            2 => {
                let n = frames(&mut byte);
                // SAFETY: as above.
                unsafe { (sink.deliver)(sink.ctx, buf.as_ptr(), n) }
            }
            3 => {
                let len = usize::from(byte().unwrap_or(0));
                let msg = bytes(len, &mut byte);
                let kind = u32::from(byte().unwrap_or(0));
                // SAFETY: `msg` is readable for its length; the ctx is alive.
                unsafe { source_event(sink.ctx, kind, msg.as_ptr(), msg.len()) }
            }
            _ => {
                // The ring holds whole 16-bit mono samples, whatever the format delivered.
                assert_eq!(audio.slots() % 2, 0, "half a sample in the ring");
                if let Ok(chunk) = audio.read_chunk(audio.slots()) {
                    chunk.commit_all();
                }
                while let Ok(m) = marks.pop() {
                    clock.mark(m.frame, m.mono_ns as f64 * 1e-9, m.total);
                }
                let t = u64::from_le_bytes(bytes(8, &mut byte).try_into().unwrap_or([0; 8])) as f64
                    * 1e-9;
                if let Some(k) = clock.frame_at(t) {
                    assert!(k.is_finite(), "frame {k} at {t}");
                }
                if let Some((a, b)) = clock.frames_over(t, t + 0.25) {
                    assert!(a.is_finite() && b.is_finite(), "frames {a}..{b} over {t}");
                }
                let _ = clock.drift_ppm();
            }
        }
    }
    drop(ctx.take_events());
}
