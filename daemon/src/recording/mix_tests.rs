//! The writer's placement of a side (pure: marks and samples handed in, no threads).

use super::*;

const RATE: f64 = 48_000.0;

/// A side whose sample at frame `k` is `k` itself (modulo 2^16: the samples are 16-bit),
/// delivered 960 frames at a time.
fn side() -> Live {
    let (_, consumer) = rtrb::RingBuffer::<u8>::new(4);
    let (_, marks) = rtrb::RingBuffer::<Mark>::new(4);
    Live::new(Side {
        label: "test".into(),
        ring: Arc::new(Ring::default()),
        sink: SinkRef(std::ptr::null()),
        consumer,
        marks,
        rate: RATE as u32,
    })
}

/// Delivers up to time `until`: each delivery of 960 frames late by `late(t)` seconds.
fn deliver(l: &mut Live, until: f64, late: &impl Fn(f64) -> f64) {
    while (l.received as f64 + 960.0) / RATE <= until {
        let k = l.received + 960;
        let bytes: Vec<u8> = (l.received..k)
            .flat_map(|i| (i as u16 as i16).to_le_bytes())
            .collect();
        l.buf.extend_le(&bytes);
        l.received = k;
        let t = 100.0 + k as f64 / RATE;
        l.clock.mark(k, t + late(t - 100.0), k);
    }
}

/// The side's signal for `len` frames from `t0` into `out`, a plain copy's too.
fn render(l: &mut Live, t0: f64, len: u64, out: &mut Vec<i16>, missing: &mut Vec<bool>) {
    if let Some(r) = l.render_or_copy(t0, len, RATE, out, missing) {
        out.extend_from_slice(&l.buf.as_slice()[r]);
    }
}

/// Renders 0.1 s chunks from 3 s to 9 s of the side, delivering half a second ahead of each:
/// for every chunk, the source frame its first sample came from, and where the fitted line
/// put that time.
fn placements(late: impl Fn(f64) -> f64) -> Vec<(f64, f64)> {
    let mut l = side();
    let (mut out, mut missing) = (Vec::new(), Vec::new());
    let mut placed = Vec::new();
    let len = 4800u64;
    for c in 0..60u64 {
        let t0 = 103.0 + (c * len) as f64 / RATE;
        deliver(&mut l, t0 - 100.0 + 0.6, &late);
        let line = l.clock.frame_at(t0).unwrap();
        render(&mut l, t0, len, &mut out, &mut missing);
        assert!(missing.is_empty(), "chunk {c} lacks audio");
        // Within a chunk, the copy is exact: consecutive source samples.
        assert!(
            out.windows(2).all(|w| w[1] == w[0].wrapping_add(1)),
            "chunk {c} is not a plain copy"
        );
        // The source frame of the first sample: the one nearest the line with its low 16 bits.
        let low = out[0] as u16 as i64;
        let near = line.round() as i64;
        let first = near + ((low - near).rem_euclid(65536) + 32768) % 65536 - 32768;
        placed.push((first as f64, line));
    }
    placed
}

/// Samples skipped or repeated between chunks.
fn slips(placed: &[(f64, f64)]) -> usize {
    placed
        .windows(2)
        .filter(|w| w[1].0 != w[0].0 + 4800.0)
        .count()
}

/// The line's offset wanders (here: the deliveries' least lateness creeps by 8 µs a second,
/// 48 µs over the chunks rendered): the side stays one exact copy from the first chunk to the
/// last, and never further than 0.1 ms (4.8 frames) from the line.
#[test]
fn a_side_at_the_output_rate_is_copied_without_slips_while_its_line_wanders() {
    let placed = placements(|t| 0.000_2 + 8e-6 * t);
    assert_eq!(slips(&placed), 0, "{placed:?}");
    for (got, line) in &placed {
        assert!(
            (got - line).abs() <= 4.8 + 0.5,
            "{got} placed, the line at {line}"
        );
    }
}

/// A line that moves further (40 µs a second, 0.24 ms over the chunks): once it is more than
/// 0.1 ms away, the side is moved back toward it one frame at a time (one sample skipped or
/// repeated, never several at once), and never strays further than that frame past 0.1 ms.
#[test]
fn a_side_whose_line_moves_further_is_moved_back_a_frame_at_a_time() {
    let placed = placements(|t| 0.000_2 + 40e-6 * t);
    let moves: Vec<f64> = placed
        .windows(2)
        .map(|w| w[1].0 - (w[0].0 + 4800.0))
        .filter(|d| *d != 0.0)
        .collect();
    assert!(!moves.is_empty(), "{placed:?}");
    assert!(moves.iter().all(|d| d.abs() == 1.0), "{moves:?}");
    for (got, line) in &placed {
        assert!(
            (got - line).abs() <= 4.8 + 1.0 + 0.5,
            "{got} placed, the line at {line}"
        );
    }
}
