use super::*;

#[test]
fn the_fixed_point_taps_keep_every_sum_in_32_bits_and_the_gain_at_one() {
    for rate in [8000, 11025, 16000, 22050, 44100, 48000, 96000, 192000] {
        for d in [Decimator::new(rate), Decimator::coarse(rate)] {
            let magnitude: i64 = d.taps.iter().map(|&t| i64::from(t).abs()).sum();
            // The worst input (every sample at -32768 under the sign of its tap).
            assert!(magnitude * 32768 < 1 << 31, "{rate}: {magnitude}");
            assert!(d.taps.iter().all(|&t| t > -32768), "{rate}");
            let gain: i64 = d.taps.iter().map(|&t| i64::from(t)).sum();
            let gain = gain as f32 * d.scale * 32768.0;
            assert!((gain - 1.0).abs() < 1e-3, "{rate}: gain {gain}");
        }
    }
    // The worst case itself, through the filter: full scale of the right signs.
    let d = Decimator::new(48000);
    let x: Vec<i16> = d
        .taps
        .iter()
        .map(|&t| if t < 0 { 32767 } else { -32768 })
        .collect();
    let want: i64 = x
        .iter()
        .zip(&d.taps)
        .map(|(&a, &b)| i64::from(a) * i64::from(b))
        .sum();
    assert_eq!(i64::from(dot(&x, &d.taps)), want);
}

#[test]
fn the_vector_dot_product_is_the_plain_sum() {
    let mut seed = 0x2545_f491_4f6c_dd1du64;
    let mut next = || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        (seed >> 48) as i16 / 3
    };
    for n in [0, 1, 7, 8, 9, 15, 16, 17, 63, 160, 161, 162, 1001] {
        let x: Vec<i16> = (0..n).map(|_| next()).collect();
        let h: Vec<i16> = (0..n).map(|_| next() / 8).collect();
        let want: i64 = x
            .iter()
            .zip(&h)
            .map(|(&a, &b)| i64::from(a) * i64::from(b))
            .sum();
        assert_eq!(i64::from(dot(&x, &h)), want, "length {n}");
    }
}

#[test]
fn float_input_is_its_16_bit_samples() {
    let x = sine(48000, 1234.5, 0.5, 0.7);
    let ints: Vec<i16> = x.iter().map(|&v| to_i16(v)).collect();
    let (mut a, mut b) = (Decimator::new(48000), Decimator::new(48000));
    let (mut from_f32, mut from_i16) = (Vec::new(), Vec::new());
    a.push(&x, &mut |v| from_f32.push(v.to_bits()));
    b.push_i16(&ints, &mut |v| from_i16.push(v.to_bits()));
    assert_eq!(from_f32, from_i16);
    assert_eq!(
        [to_i16(1.5), to_i16(-1.5), to_i16(f32::NAN), to_i16(0.5)],
        [32767, -32768, 0, 16384]
    );
}

fn sine(rate: u32, hz: f32, secs: f32, amp: f32) -> Vec<f32> {
    (0..(rate as f32 * secs) as usize)
        .map(|i| amp * (2.0 * std::f32::consts::PI * hz * i as f32 / rate as f32).sin())
        .collect()
}

fn to_8k(rate: u32, x: &[f32]) -> Vec<f32> {
    let mut d = Decimator::new(rate);
    let mut out = Vec::new();
    // In uneven pieces, as a stream arrives.
    for piece in x.chunks(777) {
        d.push(piece, &mut |v| out.push(v));
    }
    out
}

/// Fed a sample at a time or in pieces: the same values to the bit.
#[test]
fn pieces_of_any_size_give_the_same_outputs() {
    for rate in [8000, 16000, 44100, 48000] {
        let x: Vec<f32> = sine(rate, 1234.5, 0.5, 0.7)
            .iter()
            .zip(sine(rate, 311.0, 0.5, 0.2))
            .map(|(a, b)| a + b)
            .collect();
        let mut d = Decimator::new(rate);
        let mut alone = Vec::new();
        for v in &x {
            d.push(std::slice::from_ref(v), &mut |y| alone.push(y.to_bits()));
        }
        let pieces: Vec<u32> = to_8k(rate, &x).iter().map(|y| y.to_bits()).collect();
        assert_eq!(pieces, alone, "{rate}");
    }
}

#[test]
fn decimation_keeps_the_band_and_the_length() {
    for rate in [8000, 16000, 44100, 48000] {
        let y = to_8k(rate, &sine(rate, 1000.0, 1.0, 0.5));
        // All of a second, less the filter's look-ahead.
        assert!(y.len() > 7900 && y.len() <= 8000, "{rate}: {}", y.len());
        let mid = &y[1000..7000];
        let rms = (mid.iter().map(|v| v * v).sum::<f32>() / mid.len() as f32).sqrt();
        assert!((rms - 0.5 / 2f32.sqrt()).abs() < 0.01, "{rate}: rms {rms}");
    }
}

#[test]
fn decimation_removes_what_would_fold_into_the_band() {
    // 6 kHz at 48 kHz would alias to 2 kHz at 8 kHz.
    let y = to_8k(48000, &sine(48000, 6000.0, 1.0, 0.5));
    let mid = &y[1000..7000];
    let rms = (mid.iter().map(|v| v * v).sum::<f32>() / mid.len() as f32).sqrt();
    assert!(rms < 0.005, "rms {rms}");
}

#[test]
fn a_tone_is_peaky_stable_and_loud() {
    let mut f = Framer::new();
    let mut frames = Vec::new();
    f.push(&sine(8000, 440.0, 1.0, 0.5), &mut |fr| frames.push(fr));
    assert_eq!(frames.len(), (8000 - WIN) / HOP + 1);
    let fr = frames[20];
    assert!(fr.peak > 0.95, "{fr:?}");
    assert!(fr.stab > 0.9, "{fr:?}");
    assert_eq!(fr.pbin, 14, "{fr:?}"); // 440 / 31.25
    assert!((fr.db - (-9.0)).abs() < 0.5, "{fr:?}"); // amplitude 0.5 sine: 0.125 -> -9 dB
    assert!(fr.flat < 0.05, "{fr:?}");
}

#[test]
fn noise_is_flat_and_not_peaky() {
    let mut state = 12345u32;
    let noise: Vec<f32> = (0..8000)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 17;
            state ^= state << 5;
            (state as f32 / u32::MAX as f32 - 0.5) * 0.2
        })
        .collect();
    let mut f = Framer::new();
    let mut frames = Vec::new();
    f.push(&noise, &mut |fr| frames.push(fr));
    let fr = frames[20];
    assert!(fr.flat > 0.4 && fr.peak < 0.3, "{fr:?}");
}
