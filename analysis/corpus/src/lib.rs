//! A labelled corpus of call-like recordings, and the accuracy of the call analysis over it.
//!
//! Each call is stereo like an onrecord recording (left: the caller, right: the far side) and
//! is built from a seed: ringback tones, a recorded menu prompt, hold music (synthesized
//! chords and melodies, with or without a beat, looped as hold music is) with a recorded
//! announcement repeated through the hold, silent holds with beeps, and live conversation
//! with one or more agents (espeak-ng voices at several rates and pitches), transfers and
//! check-ins. Every call is rendered at 8 kHz and 48 kHz, each clean, through a telephone
//! band filter, and through the filter and a codec-like degradation (8-bit mu-law, lost
//! packets concealed by repeating the last one, more line noise). The ground truth is kept
//! per sample span; holds run from the end of live speech to the start of the next.
//!
//! Two sets: `dev` seeds were used to choose the analysis thresholds and to look into
//! failures; `test` seeds were not, and are what the accuracy test and report use.

pub mod synth;

use onrecord_analysis::{Analyzer, Class, frontend};
use serde::{Deserialize, Serialize};
use std::path::Path;
use synth::Rng;

/// The rate calls are composed at; 8 kHz versions are taken from it.
pub const MASTER: u32 = 48000;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Line {
    Clean,
    Phone,
    Codec,
}

/// One labelled span of the far side.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Label {
    pub start_s: f64,
    pub end_s: f64,
    pub class: Class,
}

/// The truth about a call.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Truth {
    pub name: String,
    pub seed: u64,
    pub duration_s: f64,
    pub labels: Vec<Label>,
    /// (start, end) of each hold, seconds.
    pub holds: Vec<(f64, f64)>,
    pub first_live_s: Option<f64>,
    /// Ringing and prompts from the start to the first hold sound or agent.
    pub menu_s: f64,
    pub transfers: u32,
}

impl Truth {
    pub fn hold_s(&self) -> f64 {
        self.holds.iter().map(|h| h.1 - h.0).sum()
    }

    /// The class at a time (silence where nothing was placed).
    pub fn class_at(&self, t: f64) -> Class {
        // Later labels were placed over earlier ones.
        self.labels
            .iter()
            .rev()
            .find(|l| l.start_s <= t && t < l.end_s)
            .map_or(Class::Silence, |l| l.class)
    }
}

/// A composed call at the master rate: the two sides and the truth.
pub struct Call {
    pub near: Vec<f32>,
    pub far: Vec<f32>,
    pub truth: Truth,
}

/// The seeds of each set.
pub fn seeds(set: &str) -> Result<Vec<u64>, String> {
    match set {
        // 1001..=1006 were the first held-out set; one of its calls showed a flaw of the
        // generator (two agent lines sharing a phrase, which espeak-ng says identically: a
        // "repeat"), and having been looked at, they joined the dev seeds.
        // 5001.. and 6001..: calls shaped like real ones, from real recordings (`synth::real`).
        "dev" => Ok((1..=40).chain(1001..=1006).chain(5001..=5030).collect()),
        "test" => Ok((2001..=2006).chain(6001..=6012).collect()),
        other => Err(format!("unknown set {other:?}: dev or test")),
    }
}

/// The call of a seed: shaped like a real one (real recordings) from 5001 on.
pub fn compose(seed: u64) -> Result<Call, String> {
    if seed > 5000 {
        synth::real::compose(seed)
    } else {
        synth::compose(seed)
    }
}

/// Renders a composed call at `rate` over `line`: (near, far).
pub fn render(call: &Call, rate: u32, line: Line, seed: u64) -> (Vec<f32>, Vec<f32>) {
    let side = |x: &[f32], salt: u64| {
        let mut y = if rate == MASTER {
            x.to_vec()
        } else {
            synth::resample(x, MASTER, rate)
        };
        let mut r = Rng::new(seed.wrapping_mul(31).wrapping_add(salt));
        if line != Line::Clean {
            synth::telephone_band(&mut y, rate);
        }
        if line == Line::Codec {
            synth::add_noise(&mut y, &mut r, -52.0);
            synth::mu_law(&mut y);
            synth::lose_packets(&mut y, rate, 0.015, &mut r);
        }
        y
    };
    let far = side(&call.far, 1);
    let near = side(&call.near, 2);
    (near, far)
}

/// What the analysis found in one rendered call against the truth.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Outcome {
    pub name: String,
    pub rate: u32,
    pub line: Line,
    pub stereo: bool,
    pub duration_s: f64,
    pub truth_hold_s: f64,
    pub hold_s: f64,
    pub truth_holds: usize,
    pub holds: usize,
    pub truth_first_live_s: Option<f64>,
    pub first_live_s: Option<f64>,
    pub truth_transfers: u32,
    pub transfers: u32,
    pub truth_menu_s: f64,
    pub menu_s: f64,
    /// confusion[truth][found], frames.
    pub confusion: [[u64; 5]; 5],
    /// Seconds of audio analysed per second of wall time.
    pub speed: f64,
}

impl Outcome {
    pub fn hold_error_s(&self) -> f64 {
        (self.hold_s - self.truth_hold_s).abs()
    }

    /// The goal: hold time within 5 % or 3 s, whichever is larger.
    pub fn hold_ok(&self) -> bool {
        self.hold_error_s() <= (0.05 * self.truth_hold_s).max(3.0)
    }

    /// Time to agent within 3 s (or rightly none).
    pub fn agent_ok(&self) -> bool {
        match (self.truth_first_live_s, self.first_live_s) {
            (Some(t), Some(f)) => (t - f).abs() <= 3.0,
            (t, f) => t.is_none() && f.is_none(),
        }
    }

    /// Menu time within 3 s.
    pub fn menu_ok(&self) -> bool {
        (self.menu_s - self.truth_menu_s).abs() <= 3.0
    }

    /// Holds and transfers counted exactly.
    pub fn counts_ok(&self) -> bool {
        self.holds == self.truth_holds && self.transfers == self.truth_transfers
    }
}

/// Analyses one rendered call (stereo: the near side heard too) and scores it; with the
/// analysis's own summary.
pub fn evaluate(
    name: &str,
    truth: &Truth,
    near: &[f32],
    far: &[f32],
    rate: u32,
    line: Line,
    stereo: bool,
) -> (Outcome, onrecord_analysis::Summary) {
    let began = std::time::Instant::now();
    let mut a = Analyzer::new(rate, stereo);
    // In pieces, as a recording arrives.
    let piece = rate as usize / 4;
    for (i, f) in far.chunks(piece).enumerate() {
        let n = stereo.then(|| &near[i * piece..(i * piece + f.len()).min(near.len())]);
        a.push(f, n);
    }
    let (classes, summary) = a.classes_and_summary(true);
    let elapsed = began.elapsed().as_secs_f64();
    let mut confusion = [[0u64; 5]; 5];
    for (t, &c) in classes.iter().enumerate() {
        let centre = (t * frontend::HOP + frontend::WIN / 2) as f64 / frontend::RATE as f64;
        confusion[truth.class_at(centre) as usize][c as usize] += 1;
    }
    let o = Outcome {
        name: name.to_string(),
        rate,
        line,
        stereo,
        duration_s: truth.duration_s,
        truth_hold_s: truth.hold_s(),
        hold_s: summary.hold_s,
        truth_holds: truth.holds.len(),
        holds: summary.holds.len(),
        truth_first_live_s: truth.first_live_s,
        first_live_s: summary.first_live_s,
        truth_transfers: truth.transfers,
        transfers: summary.transfers,
        truth_menu_s: truth.menu_s,
        menu_s: summary.menu_s,
        confusion,
        speed: truth.duration_s / elapsed.max(1e-9),
    };
    (o, summary)
}

/// Every rendering of every call of a set: (rate, line) pairs.
pub const RENDERINGS: [(u32, Line); 6] = [
    (8000, Line::Clean),
    (8000, Line::Phone),
    (8000, Line::Codec),
    (48000, Line::Clean),
    (48000, Line::Phone),
    (48000, Line::Codec),
];

/// Composes, renders and evaluates a whole set; `out`, when given, receives each rendering as
/// a stereo WAV with its truth beside it; the rendering named `show` also prints its analysis
/// and truth.
pub fn run_set(
    set: &str,
    stereo: bool,
    out: Option<&Path>,
    show: Option<&str>,
) -> Result<Vec<Outcome>, String> {
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    run(&seeds(set)?, &RENDERINGS, stereo, out, show, cores)
}

/// [`run_set`] over chosen seeds and renderings, `jobs` calls at a time (they are independent;
/// the outcomes come in seed order whatever the number). Each outcome's speed is measured on
/// its own call: with more jobs than idle cores it is the speed under that load.
pub fn run(
    seeds: &[u64],
    renderings: &[(u32, Line)],
    stereo: bool,
    out: Option<&Path>,
    show: Option<&str>,
    jobs: usize,
) -> Result<Vec<Outcome>, String> {
    let next = std::sync::atomic::AtomicUsize::new(0);
    let workers = jobs.clamp(1, seeds.len().max(1));
    let mut done: Vec<(usize, Result<Vec<Outcome>, String>)> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..workers)
            .map(|_| {
                s.spawn(|| {
                    let mut mine = Vec::new();
                    loop {
                        let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                        let Some(&seed) = seeds.get(i) else {
                            return mine;
                        };
                        mine.push((i, run_one(seed, renderings, stereo, out, show)));
                    }
                })
            })
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().expect("a corpus worker panicked"))
            .collect()
    });
    done.sort_by_key(|(i, _)| *i);
    let mut outcomes = Vec::new();
    for (_, r) in done {
        outcomes.extend(r?);
    }
    Ok(outcomes)
}

/// One call, composed from `seed`, in every rendering.
fn run_one(
    seed: u64,
    renderings: &[(u32, Line)],
    stereo: bool,
    out: Option<&Path>,
    show: Option<&str>,
) -> Result<Vec<Outcome>, String> {
    let mut outcomes = Vec::new();
    let call = compose(seed)?;
    for &(rate, line) in renderings {
        let name = format!(
            "{}-{rate}-{}",
            call.truth.name,
            serde_json::to_value(line).unwrap().as_str().unwrap()
        );
        let (near, far) = render(&call, rate, line, seed);
        if let Some(dir) = out {
            write_wav(&dir.join(format!("{name}.wav")), &near, &far, rate)?;
            let truth = serde_json::to_string_pretty(&call.truth).map_err(|e| e.to_string())?;
            std::fs::write(dir.join(format!("{name}.json")), truth).map_err(|e| e.to_string())?;
        }
        let (o, summary) = evaluate(&name, &call.truth, &near, &far, rate, line, stereo);
        if show == Some(name.as_str()) {
            println!("{name}: analysis\n{}", summary.to_text());
            println!("{name}: truth");
            for l in &call.truth.labels {
                println!(
                    "{:>9}  {:>9}  {}",
                    onrecord_analysis::clock(l.start_s),
                    onrecord_analysis::clock(l.end_s),
                    l.class.name()
                );
            }
            println!("holds {:?}\n", call.truth.holds);
        }
        outcomes.push(o);
    }
    Ok(outcomes)
}

pub fn write_wav(path: &Path, near: &[f32], far: &[f32], rate: u32) -> Result<(), String> {
    let spec = hound::WavSpec {
        channels: 2,
        sample_rate: rate,
        bits_per_sample: 16,
        sample_format: hound::SampleFormat::Int,
    };
    let mut w =
        hound::WavWriter::create(path, spec).map_err(|e| format!("{}: {e}", path.display()))?;
    for (a, b) in near.iter().zip(far) {
        for v in [a, b] {
            w.write_sample((v.clamp(-1.0, 1.0) * 32767.0).round() as i16)
                .map_err(|e| e.to_string())?;
        }
    }
    w.finalize().map_err(|e| e.to_string())
}

/// The report: per-call hold figures, then frame accuracy per class.
pub fn report(outcomes: &[Outcome]) -> String {
    let mut s = String::new();
    s += &format!(
        "{:<24} {:>6} {:>13} {:>13} {:>15} {:>5} {:>5} {:>4} {:>6}\n",
        "call (truth/found)",
        "length",
        "menu",
        "to agent",
        "on hold",
        "holds",
        "xfers",
        "ok",
        "speed"
    );
    for o in outcomes {
        let fl = |v: Option<f64>| v.map_or("-".to_string(), |x| format!("{x:.1}"));
        let flags: String = [o.menu_ok(), o.agent_ok(), o.hold_ok(), o.counts_ok()]
            .iter()
            .zip(['m', 'a', 'h', 'c'])
            .map(|(&ok, c)| if ok { '.' } else { c })
            .collect();
        s += &format!(
            "{:<24} {:>5.0}s {:>6.1}/{:<6.1} {:>6}/{:<6} {:>7.1}/{:<7.1} {:>2}/{:<2} {:>2}/{:<2} {:>4} {:>5.0}x\n",
            o.name,
            o.duration_s,
            o.truth_menu_s,
            o.menu_s,
            fl(o.truth_first_live_s),
            fl(o.first_live_s),
            o.truth_hold_s,
            o.hold_s,
            o.truth_holds,
            o.holds,
            o.truth_transfers,
            o.transfers,
            flags,
            o.speed
        );
    }
    s += "(ok: '.' where each of menu, time to agent, time on hold and the counts of holds and transfers is right; the letter m, a, h or c where it is not)\n";
    s += &targets_table(outcomes);
    let mut total = [[0u64; 5]; 5];
    for o in outcomes {
        for (i, row) in o.confusion.iter().enumerate() {
            for (j, v) in row.iter().enumerate() {
                total[i][j] += v;
            }
        }
    }
    s +=
        "\nframe accuracy per class (share of each true class's frames found as it; rows: truth)\n";
    s += &format!("{:<14} {:>8}", "", "accuracy");
    for c in Class::ALL {
        s += &format!(" {:>12}", c.name());
    }
    s += "\n";
    let (mut right, mut all) = (0u64, 0u64);
    for c in Class::ALL {
        let row = total[c as usize];
        let n: u64 = row.iter().sum();
        right += row[c as usize];
        all += n;
        s += &format!(
            "{:<14} {:>7.1}%",
            c.name(),
            100.0 * row[c as usize] as f64 / n.max(1) as f64
        );
        for v in row {
            s += &format!(" {:>12}", v);
        }
        s += "\n";
    }
    for rate in [8000, 48000] {
        let (audio, wall) = outcomes
            .iter()
            .filter(|o| o.rate == rate)
            .fold((0.0, 0.0), |(a, w), o| {
                (a + o.duration_s, w + o.duration_s / o.speed)
            });
        if wall > 0.0 {
            s += &format!(
                "\nanalysis speed at {} kHz ({}): {:.0}x real time",
                rate / 1000,
                if outcomes.iter().any(|o| o.stereo) {
                    "stereo: both sides"
                } else {
                    "far side"
                },
                audio / wall
            );
        }
    }
    s += "\n";
    let ok = outcomes.iter().filter(|o| o.hold_ok()).count();
    let audio: f64 = outcomes.iter().map(|o| o.duration_s).sum();
    let worst = outcomes
        .iter()
        .map(|o| o.hold_error_s())
        .fold(0.0, f64::max);
    s += &format!(
        "\nall frames: {:.1}% right; hold time within 5 % or 3 s on {ok} of {} calls (worst error {worst:.1} s); {:.0} min of audio\n",
        100.0 * right as f64 / all.max(1) as f64,
        outcomes.len(),
        audio / 60.0
    );
    s
}

/// The accuracy targets per rendering and per kind of call: how many calls meet each.
pub fn targets_table(outcomes: &[Outcome]) -> String {
    let mut s = format!(
        "\n{:<22} {:>5} {:>12} {:>12} {:>12} {:>14}\n",
        "rendering", "calls", "menu ±3 s", "agent ±3 s", "hold 5%/3 s", "counts exact"
    );
    type Kind = (&'static str, fn(&Outcome) -> bool);
    let kinds: [Kind; 2] = [
        ("synthetic", |o| o.name.starts_with("call")),
        ("real shapes", |o| o.name.starts_with("real")),
    ];
    for (kind, of_kind) in kinds {
        for (rate, line) in RENDERINGS {
            let v: Vec<&Outcome> = outcomes
                .iter()
                .filter(|o| o.rate == rate && o.line == line && of_kind(o))
                .collect();
            if v.is_empty() {
                continue;
            }
            let count = |f: fn(&Outcome) -> bool| v.iter().filter(|o| f(o)).count();
            s += &format!(
                "{:<22} {:>5} {:>12} {:>12} {:>12} {:>14}\n",
                format!("{kind} {} kHz {:?}", rate / 1000, line).to_lowercase(),
                v.len(),
                count(Outcome::menu_ok),
                count(Outcome::agent_ok),
                count(Outcome::hold_ok),
                count(Outcome::counts_ok),
            );
        }
    }
    s
}
