//! Calls shaped like real customer-service calls, from real recordings: the IVR menus and
//! queue prompts of Asterisk's core sounds (a human voice, `asterisk-core-sounds-en-wav`) and
//! Asterisk's hold music (`asterisk-moh-opsound-wav`), with the caller's key presses (DTMF) on
//! the near side, ringback, silence gaps, transfers behind "please hold while I try that
//! extension", and espeak-ng agents and callers. Both packages are CC BY-SA 3.0 (see
//! analysis/corpus/ATTRIBUTION.md); nothing of them is kept in the repository.

use super::*;

/// Where the packages put the recordings.
pub const PROMPTS: &str = "/usr/share/asterisk/sounds/en_US_f_Allison";
const MOH: &str = "/usr/share/asterisk/moh";

/// Menus of several lengths: (file, seconds about).
const MENU_PROMPTS: &[&str] = &[
    "basic-pbx-ivr-main", // 25 s
    "tt-allbusy",         // 9 s
    "dir-intro",          // 12 s
    "vm-options",         // 16 s
    "conf-usermenu",      // 14 s
    "vm-opts-full",       // 11 s
];
/// What a menu says after the caller's choice.
const AFTER_KEY: &[&str] = &["one-moment-please", "transfer", "pls-hold-while-try"];
/// Queue announcements between the music.
const QUEUE: &[&[&str]] = &[
    &["queue-periodic-announce"],
    &["queue-thankyou"],
    &["queue-periodic-announce", "queue-thankyou"],
    &["queue-youarenext"],
];
const TRACKS: &[&str] = &[
    "macroform-cold_day",
    "macroform-robot_dity",
    "macroform-the_simplicity",
    "manolo_camp-morning_coffee",
    "reno_project-system",
];

/// A recording of the packages, at the master rate and `level` dBFS.
pub fn recording(dir: &str, name: &str, level: f32) -> Result<Vec<f32>, String> {
    let path = format!("{dir}/{name}.wav");
    let mut r = hound::WavReader::open(&path).map_err(|e| {
        format!(
            "{path}: {e} (apt-get install asterisk-core-sounds-en-wav asterisk-moh-opsound-wav)"
        )
    })?;
    let rate = r.spec().sample_rate;
    let x: Vec<f32> = r
        .samples::<i16>()
        .map(|s| s.map(|v| v as f32 / 32768.0))
        .collect::<Result<_, _>>()
        .map_err(|e| format!("{path}: {e}"))?;
    // Trim the silence either end (10 ms steps below -50 dBFS), as a system plays them.
    let step = rate as usize / 100;
    let loud = |c: &[f32]| rms(c) > db(-50.0);
    let first = x.chunks(step).position(loud).unwrap_or(0) * step;
    let last = x.len() - x.rchunks(step).position(loud).unwrap_or(0) * step;
    let mut y = resample(&x[first..last.max(first)], rate, MASTER);
    normalize(&mut y, level);
    Ok(y)
}

/// DTMF for `key`, `seconds` long, each tone at `level` dBFS (the high one `twist` dB off).
pub fn dtmf(key: char, seconds: f64, level: f32, twist: f32) -> Vec<f32> {
    let keys = ["123A", "456B", "789C", "*0#D"];
    let (r, c) = keys
        .iter()
        .enumerate()
        .find_map(|(r, row)| row.find(key).map(|c| (r, c)))
        .expect("a DTMF key");
    let (lo, hi) = (
        [697.0f32, 770.0, 852.0, 941.0][r],
        [1209.0f32, 1336.0, 1477.0, 1633.0][c],
    );
    let mut a = tone(&[lo], seconds, level);
    let b = tone(&[hi], seconds, level + twist);
    a.iter_mut().zip(&b).for_each(|(x, y)| *x += y);
    a
}

impl Builder {
    /// The caller presses `keys`; the far side is silent meanwhile.
    fn press(&mut self, keys: &str) {
        let level = self.rng.range(-16.0, -8.0) as f32;
        for k in keys.chars() {
            let len = self.rng.range(0.07, 0.2);
            let twist = self.rng.range(-3.0, 2.0) as f32;
            let t = dtmf(k, len, level, twist);
            self.near(&t);
            self.pause_random(0.08, 0.3);
        }
    }

    /// A recorded prompt on the far side.
    fn prompt(&mut self, clip: &[f32]) {
        self.far(clip, Class::Announcement);
    }
}

/// Music from a track at a random place, with queue announcements every so often and now and
/// then a gap of silence (the player changing tracks), `seconds` in all.
fn queue_hold(b: &mut Builder, track: &[f32], queue: &[Vec<f32>], seconds: f64) {
    let end = b.at() + (seconds * MASTER as f64) as usize;
    let mut pos = b.rng.int(0, track.len() - 1);
    let mut next_ann = b.at() + (b.rng.range(15.0, 40.0) * MASTER as f64) as usize;
    while b.at() < end {
        if b.at() >= next_ann && !queue.is_empty() && b.at() + 10 * MASTER as usize <= end {
            b.pause_random(0.2, 0.8);
            for part in queue {
                b.prompt(part);
                b.pause_random(0.2, 0.6);
            }
            next_ann = b.at() + (b.rng.range(20.0, 45.0) * MASTER as f64) as usize;
            continue;
        }
        if b.rng.chance(0.02) {
            b.pause_random(1.0, 3.0);
            continue;
        }
        b.loop_music(track, &mut pos, end);
    }
}

/// A call shaped like a real one, from a seed.
pub fn compose(seed: u64) -> Result<Call, String> {
    let mut b = Builder::new(Rng::new(seed ^ 0x5ea1_ca11));
    let caller = Voice::random(&mut b.rng);
    let level = b.rng.range(-24.0, -16.0) as f32;
    let music_level = b.rng.range(-26.0, -16.0) as f32;
    let track = recording(MOH, b.rng.pick(TRACKS), music_level)?;
    let queue: Vec<Vec<f32>> = b
        .rng
        .pick(QUEUE)
        .iter()
        .map(|n| recording(PROMPTS, n, level))
        .collect::<Result<_, _>>()?;
    b.pause_random(0.3, 1.5);
    // The opening: ringing, a menu or two answered by key presses, a prompt.
    if b.rng.chance(0.7) {
        let c = b.rng.int(1, 3);
        ringback(&mut b, c);
    }
    let menus = if b.rng.chance(0.8) {
        b.rng.int(1, 2)
    } else {
        0
    };
    for _ in 0..menus {
        let menu = recording(PROMPTS, b.rng.pick(MENU_PROMPTS), level)?;
        b.prompt(&menu);
        // The caller answers it, sometimes before it has finished.
        if b.rng.chance(0.3) {
            let back = (b.rng.range(0.5, 3.0) * MASTER as f64) as usize;
            let at = b.at().saturating_sub(back);
            b.far.truncate(at);
            b.near.truncate(at);
            if let Some(l) = b.labels.last_mut() {
                l.end_s = s(at);
            }
            b.pause(0.1);
        } else {
            b.pause_random(0.5, 3.0);
        }
        let keys: String = (0..b.rng.int(1, 3))
            .map(|_| b.rng.pick(&['1', '2', '3', '4', '5', '0', '9', '#']))
            .collect();
        b.press(&keys);
        b.pause_random(0.3, 1.2);
    }
    if menus > 0 {
        let after = recording(PROMPTS, b.rng.pick(AFTER_KEY), level)?;
        b.prompt(&after);
        b.pause_random(0.3, 3.0);
    }
    let wait = b.rng.chance(0.85);
    if !b.labels.is_empty() {
        b.menu_end = Some(s(b.at()));
    }
    if wait {
        let secs = b.rng.range(30.0, 160.0);
        b.hold_section(|b| {
            queue_hold(b, &track, &queue, secs);
            Ok(())
        })?;
        b.pause_random(0.3, 1.0);
    }
    // Agents, the first of them sometimes passing the call on.
    let agents = if b.rng.chance(0.5) { 2 } else { 1 };
    for k in 0..agents {
        let agent = Voice::random(&mut b.rng);
        let ex = b.rng.int(2, 5);
        dialog(&mut b, &agent, &caller, ex)?;
        if k + 1 < agents {
            let clip = agent.say(&mut b.rng, "Please hold while I transfer you.")?;
            b.far(&clip, Class::Speech);
            b.pause_random(0.3, 0.8);
            let clip = caller.say(&mut b.rng, "Okay.")?;
            b.near(&clip);
            b.pause_random(0.5, 1.5);
            let secs = b.rng.range(20.0, 100.0);
            let prompt = recording(PROMPTS, "transfer", level)?;
            b.hold_section(|b| {
                b.prompt(&prompt);
                b.pause_random(0.5, 2.0);
                queue_hold(b, &track, &queue, secs);
                Ok(())
            })?;
            b.pause_random(0.3, 1.0);
        }
    }
    b.pause_random(1.0, 3.0);
    let far_noise = b.rng.range(-62.0, -50.0) as f32;
    let near_noise = b.rng.range(-66.0, -56.0) as f32;
    Ok(b.finish(
        format!("real{seed:04}"),
        seed,
        Rng::new(seed ^ 0xbeef),
        (far_noise, near_noise),
    ))
}
