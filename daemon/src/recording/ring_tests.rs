//! The ring between a capture callback and the writer: what the callback writes, and how a
//! storage plugin's status becomes an error.

use super::*;

/// A timed source's callback mixes what it delivers down to 16-bit mono in the ring: the
/// mean of float channels, rounded; 16-bit mono as it came; a delivery that does not fit
/// whole is an overrun, and nothing of it is written.
#[test]
fn a_timed_ring_holds_16_bit_mono_whatever_the_source_delivers() {
    let ring = Arc::new(Ring::default());
    ring.set_writing(true);
    let read = |c: &mut rtrb::Consumer<u8>| -> Vec<i16> {
        let n = c.slots();
        let chunk = c.read_chunk(n).unwrap();
        let (a, b) = chunk.as_slices();
        let v = [a, b]
            .concat()
            .chunks_exact(2)
            .map(|s| i16::from_le_bytes([s[0], s[1]]))
            .collect();
        chunk.commit_all();
        v
    };
    let stereo = AudioFormat {
        sample_format: SAMPLE_F32,
        rate: 100,
        channels: 2,
    };
    let mut sink = SinkCtx::new(ring.clone());
    let (mut c, _marks) = sink.configure(stereo, true);
    let frames: [[f32; 2]; 3] = [[0.5, 0.25], [-1.0, -1.0], [1.0, 0.0]];
    let bytes: Vec<u8> = frames
        .iter()
        .flatten()
        .flat_map(|v| v.to_le_bytes())
        .collect();
    let ctx = &mut sink as *mut SinkCtx as *mut c_void;
    // SAFETY: `ctx` is a configured SinkCtx; `bytes` holds 3 frames of its format.
    unsafe { push(ctx, bytes.as_ptr(), 3, None) };
    assert_eq!(read(&mut c), vec![12288, -32768, 16384]);
    // Three seconds at 100 Hz: 300 frames fit, 301 do not.
    let big = vec![0u8; 301 * 8];
    // SAFETY: as above, 301 frames.
    unsafe { push(ctx, big.as_ptr(), 301, None) };
    assert_eq!(c.slots(), 0);
    assert_eq!(ring.counts().1, 301);

    let mono16 = AudioFormat {
        sample_format: SAMPLE_I16,
        rate: 100,
        channels: 1,
    };
    let mut sink = SinkCtx::new(ring.clone());
    let (mut c, _marks) = sink.configure(mono16, true);
    let samples = [i16::MIN, -1, 0, 1, i16::MAX];
    let bytes: Vec<u8> = samples.iter().flat_map(|v| v.to_le_bytes()).collect();
    let ctx = &mut sink as *mut SinkCtx as *mut c_void;
    // SAFETY: as above, 5 frames.
    unsafe { push(ctx, bytes.as_ptr(), 5, None) };
    assert_eq!(read(&mut c), samples);
}

/// The storage plugin's status decides the kind of failure: a full disk (an error) is told
/// apart from a refused format and from a panic.
#[test]
fn a_plugin_status_becomes_the_kind_of_failure() {
    let call = |status: i32| {
        plugin_call(&|eb: *mut ErrorBuf| {
            // SAFETY: the buffer is plugin_call's own, 512 bytes.
            unsafe {
                let msg = b"No space left on device";
                std::ptr::copy_nonoverlapping(msg.as_ptr(), (*eb).buf, msg.len());
                (*eb).len = msg.len();
            }
            status
        })
    };
    assert_eq!(call(STATUS_OK), Ok(()));
    assert_eq!(
        call(STATUS_ERROR),
        Err(CaptureError::Write("No space left on device".into()))
    );
    assert!(matches!(
        call(STATUS_UNSUPPORTED),
        Err(CaptureError::FormatRefused(_))
    ));
    assert!(matches!(call(STATUS_PANIC), Err(CaptureError::Panicked(_))));
    // A plugin that fails without a word still gets a reason in the timeline.
    assert_eq!(
        plugin_call(&|_| STATUS_ERROR),
        Err(CaptureError::Write(
            "the storage plugin gave no reason (status -1)".into()
        ))
    );
}

/// The callback takes no page fault filling a new ring: configuring it touched every page
/// (without that, filling three seconds of a 48 kHz ring takes about 70 minor faults on the
/// real-time thread).
#[test]
fn a_new_ring_is_filled_without_a_page_fault() {
    let minor_faults = || {
        // SAFETY: getrusage fills the struct it is given.
        let mut u: libc::rusage = unsafe { std::mem::zeroed() };
        assert_eq!(unsafe { libc::getrusage(libc::RUSAGE_THREAD, &mut u) }, 0);
        u.ru_minflt
    };
    let ring = Arc::new(Ring::default());
    ring.set_writing(true);
    let format = AudioFormat {
        sample_format: SAMPLE_I16,
        rate: 48_000,
        channels: 1,
    };
    let mut sink = SinkCtx::new(ring.clone());
    let (c, _marks) = sink.configure(format, true);
    let frames = c.buffer().capacity() / 2;
    // The source's buffer, written (and so resident) before counting.
    let bytes: Vec<u8> = (0..frames * 2).map(|i| (i % 251) as u8 + 1).collect();
    let ctx = &mut sink as *mut SinkCtx as *mut c_void;
    let before = minor_faults();
    for piece in bytes.chunks(4096) {
        // SAFETY: a configured SinkCtx; `piece` holds whole 16-bit mono frames.
        unsafe { push(ctx, piece.as_ptr(), piece.len() / 2, Some(1)) };
    }
    let faults = minor_faults() - before;
    assert_eq!(ring.counts().1, 0, "all of it fit");
    assert!(
        faults < 8,
        "{faults} page faults filling a {} byte ring",
        frames * 2
    );
}
