//! Samples between float and 16-bit: one at a time ([`to_i16`]) and a block of PipeWire's
//! little-endian floats at a time ([`f32s_to_i16s`], in the capture callback), the block the
//! same to the bit as the one at a time.

use std::mem::MaybeUninit;

/// A sample in [-1, 1] as 16-bit, rounded to nearest (half away from zero) and clamped (not a
/// number: 0): the call analysis's, so that what it hears of a float source is what is stored.
pub use onrecord_analysis::frontend::to_i16;

/// Little-endian f32 samples in `src` as little-endian 16-bit ones into `dst` (two bytes for
/// four), each as [`to_i16`] makes it. On x86_64 eight at a time with SSE2 (part of every
/// x86_64): the scalar loop, reading the floats byte by byte and saturating each one, cost the
/// capture thread more than PipeWire's own work per cycle.
pub fn f32s_to_i16s(src: &[u8], dst: &mut [MaybeUninit<u8>]) {
    let n = (src.len() / 4).min(dst.len() / 2);
    let done = blocks_to_i16s(src, dst, n);
    for (s, d) in src[4 * done..4 * n]
        .chunks_exact(4)
        .zip(dst[2 * done..2 * n].chunks_exact_mut(2))
    {
        let [l, h] = to_i16(f32::from_le_bytes([s[0], s[1], s[2], s[3]])).to_le_bytes();
        d[0].write(l);
        d[1].write(h);
    }
}

/// Appends the little-endian 16-bit samples of `src` (whole ones; an odd last byte is left) to
/// `dst`: one copy of the bytes (on a little-endian machine they are the samples already), where
/// a loop sample by sample was a tenth of the writer's time.
pub fn extend_le_i16s(dst: &mut Vec<i16>, src: &[u8]) {
    let n = src.len() / 2;
    let at = dst.len();
    dst.resize(at + n, 0);
    let new = &mut dst[at..];
    // SAFETY: the bytes of `new` (2n, initialized by the resize; any bytes are a valid i16),
    // viewed as bytes (alignment 1) while nothing else borrows `dst`.
    let bytes = unsafe { std::slice::from_raw_parts_mut(new.as_mut_ptr().cast::<u8>(), 2 * n) };
    bytes.copy_from_slice(&src[..2 * n]);
    if cfg!(target_endian = "big") {
        for s in new {
            *s = i16::from_le(*s);
        }
    }
}

/// The first whole blocks of eight of the `n` samples, converted; how many samples that was.
#[cfg(not(target_arch = "x86_64"))]
fn blocks_to_i16s(_: &[u8], _: &mut [MaybeUninit<u8>], _: usize) -> usize {
    0
}

#[cfg(target_arch = "x86_64")]
fn blocks_to_i16s(src: &[u8], dst: &mut [MaybeUninit<u8>], n: usize) -> usize {
    use std::arch::x86_64::*;
    assert!(4 * n <= src.len() && 2 * n <= dst.len());
    let done = n / 8 * 8;
    // SAFETY: SSE2 is baseline on x86_64; every load reads 16 bytes at `4 * i` and every
    // store writes 16 at `2 * i`, for `i + 8 <= done <= n`: within both slices (unaligned
    // loads and stores). Only initialised bytes are written to `dst`.
    unsafe {
        let (sp, dp) = (src.as_ptr(), dst.as_mut_ptr() as *mut u8);
        let scale = _mm_set1_ps(32768.0);
        let half = _mm_set1_ps(0.5);
        let sign = _mm_set1_ps(-0.0);
        let (lo, hi) = (_mm_set1_ps(-32768.0), _mm_set1_ps(32767.0));
        let convert = |v: __m128| {
            let x = _mm_mul_ps(v, scale);
            // x + 0.5 for x >= 0 (and for -0.0, whose sum rounds to 0 as well), x - 0.5
            // below: 0.5 with the sign of x.
            let r = _mm_add_ps(x, _mm_or_ps(half, _mm_and_ps(x, sign)));
            // Not a number becomes 0 (as `as` makes it); then the clamp `as` does, before
            // the truncation, whose out-of-range answer is i32::MIN.
            let r = _mm_and_ps(r, _mm_cmpord_ps(r, r));
            _mm_cvttps_epi32(_mm_min_ps(_mm_max_ps(r, lo), hi))
        };
        let mut i = 0;
        while i < done {
            let a = convert(_mm_loadu_ps(sp.add(4 * i) as *const f32));
            let b = convert(_mm_loadu_ps(sp.add(4 * i + 16) as *const f32));
            // Both in i16's range: the saturating pack only narrows (and is little-endian).
            _mm_storeu_si128(dp.add(2 * i) as *mut __m128i, _mm_packs_epi32(a, b));
            i += 8;
        }
    }
    done
}

/// `planes` (one per channel, `len` samples each) as interleaved little-endian 16-bit frames
/// into `frame`: two channels (a call's) in one plain loop over pairs, which the compiler
/// vectorizes; any other number slot by slot.
pub fn interleave(planes: &[&[i16]], len: usize, frame: &mut Vec<u8>) {
    frame.clear();
    frame.resize(len * planes.len() * 2, 0);
    if let [a, b] = planes {
        let (slots, _) = frame.as_chunks_mut::<4>();
        for ((slot, l), r) in slots.iter_mut().zip(&a[..len]).zip(&b[..len]) {
            let (l, r) = (l.to_le_bytes(), r.to_le_bytes());
            *slot = [l[0], l[1], r[0], r[1]];
        }
        return;
    }
    let channels = planes.len();
    for (c, plane) in planes.iter().enumerate() {
        for (slot, s) in frame.chunks_exact_mut(channels * 2).zip(&plane[..len]) {
            slot[c * 2..c * 2 + 2].copy_from_slice(&s.to_le_bytes());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn one_at_a_time(xs: &[f32]) -> Vec<i16> {
        xs.iter().map(|&v| to_i16(v)).collect()
    }

    fn in_blocks(xs: &[f32]) -> Vec<i16> {
        let src: Vec<u8> = xs.iter().flat_map(|v| v.to_le_bytes()).collect();
        let mut dst = vec![MaybeUninit::new(0xAAu8); xs.len() * 2];
        f32s_to_i16s(&src, &mut dst);
        dst.chunks_exact(2)
            // SAFETY: initialised above.
            .map(|d| unsafe { i16::from_le_bytes([d[0].assume_init(), d[1].assume_init()]) })
            .collect()
    }

    #[test]
    fn little_endian_samples_are_appended_as_read_one_by_one() {
        let bytes: Vec<u8> = (0..=255u8).cycle().skip(3).take(1001).collect();
        let mut v = vec![7i16];
        extend_le_i16s(&mut v, &bytes);
        let one_by_one: Vec<i16> = std::iter::once(7)
            .chain(
                bytes
                    .chunks_exact(2)
                    .map(|b| i16::from_le_bytes([b[0], b[1]])),
            )
            .collect();
        assert_eq!(v, one_by_one);
        assert_eq!(v.len(), 501);
    }

    #[test]
    fn single_samples_round_half_away_from_zero_and_clamp() {
        for (v, want) in [
            (0.0, 0),
            (-0.0, 0),
            (0.5, 16384),
            (-1.0, -32768),
            (1.0, 32767),
            (2.0, 32767),
            (-3.0, -32768),
            (1.0 / 65536.0, 1),
            (-1.0 / 65536.0, -1),
            (0.25 / 32768.0, 0),
            (f32::NAN, 0),
            (f32::INFINITY, 32767),
            (f32::NEG_INFINITY, -32768),
        ] {
            assert_eq!(to_i16(v), want, "{v}");
        }
    }

    /// Every edge (halves on either side, the ends, out of range, infinities, not a number)
    /// and a spread of ordinary values, at every position of an 8-wide block and in the tail.
    #[test]
    fn a_block_is_converted_as_each_sample_alone() {
        let mut xs = vec![
            0.0,
            -0.0,
            f32::NAN,
            -f32::NAN,
            f32::INFINITY,
            f32::NEG_INFINITY,
            f32::MAX,
            f32::MIN,
            1e10,
            -1e10,
            1.0,
            -1.0,
            32767.5 / 32768.0,
            -32768.5 / 32768.0,
            0.5 / 32768.0,
            -0.5 / 32768.0,
            1.5 / 32768.0,
            -1.5 / 32768.0,
            f32::MIN_POSITIVE,
            -f32::MIN_POSITIVE,
        ];
        let mut seed = 0x2545_f491_4f6c_dd1du64;
        for _ in 0..10_000 {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            // Uniform over [-1.25, 1.25], and exact halves of a step now and then.
            let u = (seed >> 40) as f32 / (1u64 << 24) as f32;
            xs.push(if seed.is_multiple_of(7) {
                ((seed >> 8) % 65536) as f32 / 32768.0 - 1.0 + 0.5 / 32768.0
            } else {
                2.5 * u - 1.25
            });
        }
        for start in 0..9 {
            for len in [0, 1, 7, 8, 9, 15, 16, 17, 100, xs.len() - start] {
                let part = &xs[start..start + len];
                assert_eq!(in_blocks(part), one_at_a_time(part), "from {start}, {len}");
            }
        }
    }

    #[test]
    fn a_short_destination_bounds_the_conversion() {
        let src: Vec<u8> = [0.5f32; 20].iter().flat_map(|v| v.to_le_bytes()).collect();
        let mut dst = vec![MaybeUninit::new(0u8); 2 * 9];
        f32s_to_i16s(&src, &mut dst);
        // SAFETY: initialised above.
        let last = unsafe { i16::from_le_bytes([dst[16].assume_init(), dst[17].assume_init()]) };
        assert_eq!(last, 16384);
    }

    /// Two channels (the fast loop) and any other number (slot by slot) interleave alike: frame
    /// `j` holds each plane's sample `j` in channel order, little-endian; samples past `len` are
    /// left out.
    #[test]
    fn planes_interleave_into_little_endian_frames() {
        let plane = |c: i16| (0..7).map(|j| c * 1000 - j * 301).collect::<Vec<i16>>();
        for channels in 1..=3 {
            let planes: Vec<Vec<i16>> = (0..channels).map(plane).collect();
            let refs: Vec<&[i16]> = planes.iter().map(|p| p.as_slice()).collect();
            let mut frame = vec![0xAA; 3];
            interleave(&refs, 5, &mut frame);
            let want: Vec<u8> = (0..5)
                .flat_map(|j| planes.iter().flat_map(move |p| p[j].to_le_bytes()))
                .collect();
            assert_eq!(frame, want, "{channels} channels");
        }
    }
}
