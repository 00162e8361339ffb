//! What the call analysis costs while recording: an hour of 48 kHz stereo pushed a tenth of a
//! second at a time, the holds looked at every two seconds over the last two minutes, as the daemon does. Prints the CPU
//! time per second of audio at each ten minutes.
//!
//! `cargo run --release -p onrecord-analysis --example live_cost [minutes]`

use onrecord_analysis::Analyzer;
use onrecord_analysis::frontend::to_i16;
use std::time::Instant;

fn main() {
    let minutes: usize = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(60);
    let rate = 48_000usize;
    let piece = rate / 10;
    let mut a = Analyzer::new(rate as u32, true);
    let mut state = 1u32;
    let mut noise = move || {
        state ^= state << 13;
        state ^= state >> 17;
        state ^= state << 5;
        (state as f32 / u32::MAX as f32 - 0.5) * 0.01
    };
    // A minute of each, made before the clock starts: "music" (a chord) and quiet line noise.
    let minute = |music: bool, noise: &mut dyn FnMut() -> f32| -> Vec<f32> {
        (0..rate * 60)
            .map(|i| {
                let t = i as f32 / rate as f32;
                noise()
                    + if music {
                        0.1 * ((2.0 * std::f32::consts::PI * 440.0 * t).sin()
                            + (2.0 * std::f32::consts::PI * 554.0 * t).sin())
                    } else {
                        0.0
                    }
            })
            .collect()
    };
    // As the daemon pushes them: 16-bit, a recording's own samples.
    let ints = |x: Vec<f32>| -> Vec<i16> { x.into_iter().map(to_i16).collect() };
    let (music, quiet) = (minute(true, &mut noise), minute(false, &mut noise));
    let near_minute = ints(quiet.iter().map(|v| v * 0.5).collect());
    let (music, quiet) = (ints(music), ints(quiet));
    let began = Instant::now();
    let mut window = Instant::now();
    for p in 0..minutes * 600 {
        // Alternating minutes of music and quiet.
        let src = if (p / 600) % 2 == 0 { &music } else { &quiet };
        let at = (p % 600) * piece;
        let (far, near) = (&src[at..at + piece], &near_minute[at..at + piece]);
        a.push_i16(far, Some(near));
        if p % 20 == 19 {
            let _ = a.summary_recent(120.0);
        }
        if p % 6000 == 5999 {
            let per_s = window.elapsed().as_secs_f64() / 600.0;
            let rss = std::fs::read_to_string("/proc/self/status")
                .ok()
                .and_then(|st| {
                    st.lines()
                        .find(|l| l.starts_with("VmRSS:"))
                        .and_then(|l| l.split_whitespace().nth(1)?.parse::<f64>().ok())
                });
            println!(
                "minute {:>3}: {:.3} ms of CPU per second of audio ({:.0}x real time), resident {:.1} MiB",
                (p + 1) / 600,
                per_s * 1e3,
                1.0 / per_s,
                rss.unwrap_or(0.0) / 1024.0
            );
            window = Instant::now();
        }
    }
    let total = began.elapsed().as_secs_f64();
    println!(
        "{minutes} min in {total:.2} s: {:.0}x real time, {:.3} % of a core",
        minutes as f64 * 60.0 / total,
        100.0 * total / (minutes as f64 * 60.0)
    );
}
