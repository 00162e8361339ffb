//! The sounds of a call, and calls composed of them.

use super::{Call, Label, MASTER, Truth};
use onrecord_analysis::Class;

pub mod real;
mod sounds;

pub use sounds::{
    Rng, add_noise, lose_packets, mu_law, music, resample, speak, telephone_band, tone,
};
use sounds::{db, normalize, rms};

const AGENT: &[&str] = &[
    "Thank you for calling, my name is Jordan, how can I help you today?",
    "I can certainly look into that for you.",
    "Could you please confirm the account number?",
    "I see the order here, it was shipped on the fourth.",
    "Let me check with the billing department.",
    "I understand, that must be frustrating.",
    "The system shows the payment was received last week.",
    "Unfortunately I am not able to change that from here.",
    "I will need to transfer you to our technical team.",
    "Is there anything else I can help you with today?",
    "I have applied a credit to your account.",
    "Can you tell me what the error message says?",
    "That should take about three to five business days.",
    "Apologies for the delay, I appreciate your patience.",
    "Let me pull up your details, one moment.",
    "We can send a replacement at no charge.",
    "The technician can come on Tuesday morning.",
    "I have noted all of this on your file.",
    "Could you spell your last name for me please?",
    "Your reference number is four five two eight.",
    "Our records show two charges on the same day.",
    "I will escalate this to my supervisor.",
    "The warranty covers this kind of fault.",
];

/// What an agent says when checking in during a hold.
const CHECK_INS: &[&str] = &[
    "I am still checking on this, bear with me.",
    "Sorry for the wait, I am nearly done here.",
    "Thanks for bearing with me, just a few more minutes.",
    "I have not forgotten you, the system is slow today.",
];

const CALLER: &[&str] = &[
    "Hi, I am calling about my last bill.",
    "Yes, it is seven seven three one nine.",
    "I was charged twice for the same month.",
    "The router keeps dropping the connection.",
    "No, I never received the package.",
    "Okay, thank you.",
    "That is the third time I have called about this.",
    "Sure, I can hold.",
    "Could you give me a reference number?",
    "It says the service is unavailable.",
    "Yes, that works for me.",
    "I would like to speak to a supervisor please.",
    "Alright, thanks for your help.",
    "Yes, go ahead.",
];

const ANNOUNCEMENTS: &[&str] = &[
    "Your call is important to us. Please stay on the line and the next available agent will be with you shortly.",
    "All of our agents are currently busy. Thank you for your patience.",
    "Did you know you can manage your account online? Visit our website at any time.",
    "Calls may be recorded for quality and training purposes. Please continue to hold.",
    "We are experiencing higher than usual call volumes. Your call will be answered in turn.",
];

const MENUS: &[&str] = &[
    "Welcome. For billing, press one. For technical support, press two. For all other enquiries, please hold.",
    "Thank you for calling customer service. Please listen carefully as our menu options have changed.",
    "Hello, you have reached the support line. Please hold while we connect you.",
];

const VOICES: &[&str] = &[
    "en-us",
    "en-gb",
    "en-gb-scotland",
    "en-029",
    "en-gb-x-rp",
    "en-us+f2",
    "en-us+m3",
    "en-gb+f3",
    "en-us+m7",
    "en-gb+f4",
];

/// Lines drawn without putting them back (a live voice never says the same thing the same
/// way twice; a recording does).
pub(crate) struct Deck(Vec<&'static str>);

impl Deck {
    fn new(rng: &mut Rng, lines: &[&'static str]) -> Deck {
        let mut v = lines.to_vec();
        for i in (1..v.len()).rev() {
            v.swap(i, rng.int(0, i));
        }
        Deck(v)
    }
    fn draw(&mut self) -> &'static str {
        let l = self.0.remove(0);
        self.0.push(l);
        l
    }
}

pub(crate) struct Builder {
    rng: Rng,
    agent_lines: Deck,
    caller_lines: Deck,
    check_ins: Deck,
    far: Vec<f32>,
    near: Vec<f32>,
    labels: Vec<Label>,
    live: Vec<(f64, f64)>,
    holds: Vec<(f64, f64)>,
    /// Where the opening's ringing and prompts gave way to the first hold sound.
    menu_end: Option<f64>,
}

fn s(samples: usize) -> f64 {
    samples as f64 / MASTER as f64
}

impl Builder {
    /// An empty call, its lines drawn by `rng`.
    fn new(mut rng: Rng) -> Builder {
        let (agent_lines, caller_lines, check_ins) = (
            Deck::new(&mut rng, AGENT),
            Deck::new(&mut rng, CALLER),
            Deck::new(&mut rng, CHECK_INS),
        );
        Builder {
            rng,
            agent_lines,
            caller_lines,
            check_ins,
            far: Vec::new(),
            near: Vec::new(),
            labels: Vec::new(),
            live: Vec::new(),
            holds: Vec::new(),
            menu_end: None,
        }
    }

    /// The call: the line's noise (`noise`: far and near side, dBFS) added all through, and its
    /// truth.
    fn finish(mut self, name: String, seed: u64, mut rng: Rng, noise: (f32, f32)) -> Call {
        add_noise(&mut self.far, &mut rng, noise.0);
        add_noise(&mut self.near, &mut rng, noise.1);
        let duration = s(self.far.len());
        let truth = truth(
            name,
            seed,
            duration,
            self.labels,
            &self.live,
            &self.holds,
            self.menu_end,
        );
        Call {
            near: self.near,
            far: self.far,
            truth,
        }
    }

    /// Up to a second of `piece` from `pos` on (looping), no further than `end`, labelled
    /// music (one label across consecutive pieces).
    fn loop_music(&mut self, piece: &[f32], pos: &mut usize, end: usize) {
        let n = (MASTER as usize).min(end.saturating_sub(self.at())).max(1);
        let a = self.at();
        self.far
            .extend((0..n).map(|i| piece[(*pos + i) % piece.len()]));
        *pos = (*pos + n) % piece.len();
        self.near.resize(self.far.len(), 0.0);
        let now = s(self.at());
        match self.labels.last_mut() {
            Some(l) if l.class == Class::Music && (l.end_s - s(a)).abs() < 1e-9 => l.end_s = now,
            _ => self.labels.push(Label {
                start_s: s(a),
                end_s: now,
                class: Class::Music,
            }),
        }
    }

    fn at(&self) -> usize {
        self.far.len()
    }
    /// Places a far-side clip and labels it.
    fn far(&mut self, clip: &[f32], class: Class) {
        let a = self.at();
        self.far.extend_from_slice(clip);
        self.near.resize(self.far.len(), 0.0);
        self.labels.push(Label {
            start_s: s(a),
            end_s: s(self.at()),
            class,
        });
        if class == Class::Speech {
            self.live.push((s(a), s(self.at())));
        }
    }
    fn near(&mut self, clip: &[f32]) {
        let a = self.at();
        self.near.extend_from_slice(clip);
        self.far.resize(self.near.len(), 0.0);
        let _ = a;
    }
    fn pause(&mut self, seconds: f64) {
        let n = self.at() + (seconds * MASTER as f64) as usize;
        self.far.resize(n, 0.0);
        self.near.resize(n, 0.0);
    }
    fn pause_random(&mut self, lo: f64, hi: f64) {
        let p = self.rng.range(lo, hi);
        self.pause(p);
    }
    fn hold_section<F: FnOnce(&mut Builder) -> Result<(), String>>(
        &mut self,
        f: F,
    ) -> Result<(), String> {
        let a = s(self.at());
        f(self)?;
        self.holds.push((a, s(self.at())));
        Ok(())
    }
}

pub(crate) struct Voice {
    name: &'static str,
    wpm: u32,
    pitch: u32,
    level: f32,
}

impl Voice {
    fn random(rng: &mut Rng) -> Voice {
        Voice {
            name: rng.pick(VOICES),
            wpm: rng.int(135, 185) as u32,
            pitch: rng.int(30, 70) as u32,
            level: rng.range(-26.0, -18.0) as f32,
        }
    }
    /// A live utterance: never twice the same (rate and pitch move a little each time).
    fn say(&self, rng: &mut Rng, text: &str) -> Result<Vec<f32>, String> {
        let wpm = (self.wpm as i32 + rng.int(0, 20) as i32 - 10) as u32;
        let pitch = (self.pitch as i32 + rng.int(0, 10) as i32 - 5) as u32;
        speak(
            text,
            self.name,
            wpm,
            pitch,
            self.level + rng.range(-2.0, 2.0) as f32,
        )
    }
}

pub(crate) fn dialog(
    b: &mut Builder,
    agent: &Voice,
    caller: &Voice,
    exchanges: usize,
) -> Result<(), String> {
    for _ in 0..exchanges {
        let text = b.agent_lines.draw();
        let clip = agent.say(&mut b.rng, text)?;
        b.far(&clip, Class::Speech);
        let p = b.rng.range(0.3, 1.2);
        b.pause(p);
        let text = b.caller_lines.draw();
        let clip = caller.say(&mut b.rng, text)?;
        b.near(&clip);
        let p = b.rng.range(0.3, 1.2);
        b.pause(p);
    }
    Ok(())
}

/// Music with the call's announcement every so often, `seconds` in all; the music loops.
pub(crate) fn music_hold(b: &mut Builder, piece: &[f32], announcement: &[f32], seconds: f64) {
    let end = b.at() + (seconds * MASTER as f64) as usize;
    let mut pos = b.rng.int(0, piece.len() - 1);
    let mut next_ann = b.at() + (b.rng.range(10.0, 30.0) * MASTER as f64) as usize;
    while b.at() < end {
        if b.at() >= next_ann && !announcement.is_empty() {
            b.pause(0.3);
            b.far(announcement, Class::Announcement);
            b.pause(0.3);
            next_ann = b.at() + (b.rng.range(25.0, 45.0) * MASTER as f64) as usize;
            continue;
        }
        // Up to the next announcement or the end, a second at a time.
        b.loop_music(piece, &mut pos, end);
    }
}

/// A silent hold (the line's noise only) with a beep every 15 s.
pub(crate) fn silent_hold(b: &mut Builder, seconds: f64) {
    let end = b.at() + (seconds * MASTER as f64) as usize;
    let beep = tone(&[1400.0], 0.4, -20.0);
    while b.at() + 15 * MASTER as usize <= end {
        b.pause(14.6);
        b.far(&beep, Class::Tone);
    }
    let rest = end.saturating_sub(b.at());
    b.pause(s(rest));
}

pub(crate) fn ringback(b: &mut Builder, cycles: usize) {
    let uk = b.rng.chance(0.4);
    for _ in 0..cycles {
        if uk {
            let t = tone(&[400.0, 450.0], 0.4, -18.0);
            b.far(&t, Class::Tone);
            b.pause(0.2);
            b.far(&t, Class::Tone);
            b.pause(2.0);
        } else {
            let t = tone(&[440.0, 480.0], 2.0, -18.0);
            b.far(&t, Class::Tone);
            b.pause(4.0);
        }
    }
}

/// A call from a seed.
pub fn compose(seed: u64) -> Result<Call, String> {
    let rng = Rng::new(seed);
    let mut b = Builder::new(rng);
    let caller = Voice::random(&mut b.rng);
    let recorded = Voice::random(&mut b.rng);
    let ann_text = b.rng.pick(ANNOUNCEMENTS);
    let announcement = speak(
        ann_text,
        recorded.name,
        recorded.wpm,
        recorded.pitch,
        recorded.level,
    )?;
    let len = b.rng.range(18.0, 32.0);
    let music_level = b.rng.range(-26.0, -18.0) as f32;
    let piece = music(&mut b.rng, len, music_level);
    b.pause_random(0.5, 2.0);
    // The wait for the first agent.
    if b.rng.chance(0.8) {
        b.hold_section(|b| {
            if b.rng.chance(0.7) {
                let c = b.rng.int(2, 5);
                ringback(b, c);
            }
            if b.rng.chance(0.5) {
                let menu = speak(
                    b.rng.pick(MENUS),
                    recorded.name,
                    recorded.wpm,
                    recorded.pitch,
                    recorded.level,
                )?;
                b.far(&menu, Class::Announcement);
                b.pause(0.5);
            }
            if !b.labels.is_empty() {
                b.menu_end = Some(s(b.at()));
            }
            let secs = b.rng.range(20.0, 150.0);
            music_hold(b, &piece, &announcement, secs);
            b.pause_random(0.3, 1.0);
            Ok(())
        })?;
    }
    let agents = b.rng.int(1, 3);
    for k in 0..agents {
        let agent = Voice::random(&mut b.rng);
        let ex = b.rng.int(3, 7);
        dialog(&mut b, &agent, &caller, ex)?;
        if k + 1 < agents || b.rng.chance(0.3) {
            // A hold: music (most often) or silence; sometimes the agent checks in.
            let silent = b.rng.chance(0.25);
            let check_in = b.rng.chance(0.35);
            let secs = b.rng.range(20.0, 120.0);
            let parts = if check_in { 2 } else { 1 };
            for part in 0..parts {
                b.hold_section(|b| {
                    if silent {
                        silent_hold(b, secs / parts as f64);
                    } else {
                        music_hold(b, &piece, &announcement, secs / parts as f64);
                    }
                    b.pause_random(0.3, 1.0);
                    Ok(())
                })?;
                if part + 1 < parts {
                    let clip = {
                        let text = b.check_ins.draw();
                        agent.say(&mut b.rng, text)?
                    };
                    b.far(&clip, Class::Speech);
                    b.pause_random(0.4, 1.0);
                    let clip = caller.say(&mut b.rng, "Okay, thank you.")?;
                    b.near(&clip);
                    b.pause_random(0.4, 1.0);
                }
            }
        }
    }
    b.pause_random(1.0, 3.0);
    // The line: noise on both sides all through.
    let far_noise = b.rng.range(-62.0, -52.0) as f32;
    let near_noise = b.rng.range(-66.0, -56.0) as f32;
    Ok(b.finish(
        format!("call{seed:04}"),
        seed,
        Rng::new(seed ^ 0xface),
        (far_noise, near_noise),
    ))
}

/// Holds from the live speech and the hold sections: a gap between live speech (or before the
/// first, or after the last) that holds a hold section is a hold, end to end; but the call's
/// opening, up to `menu_end` (ringing and prompts before the first hold sound), is its menu.
pub(crate) fn truth(
    name: String,
    seed: u64,
    duration: f64,
    labels: Vec<Label>,
    live: &[(f64, f64)],
    sections: &[(f64, f64)],
    menu_end: Option<f64>,
) -> Truth {
    // Without a hold sound, the menu runs to the first agent (or the end).
    let first = live.first().map_or(duration, |l| l.0);
    let menu_end = menu_end.map(|m| {
        if sections.iter().any(|&(x, y)| x < first && y > m) {
            m
        } else {
            first
        }
    });
    let mut edges = vec![menu_end.unwrap_or(0.0)];
    for &(a, e) in live {
        edges.push(a);
        edges.push(e);
    }
    edges.push(duration);
    let mut holds = Vec::new();
    let mut transfers = 0;
    for (i, g) in edges.chunks(2).enumerate() {
        let (a, e) = (g[0], g[1]);
        if sections.iter().any(|&(x, y)| x < e && y > a) {
            holds.push((a, e));
            if i > 0 && i < live.len() {
                transfers += 1;
            }
        }
    }
    Truth {
        name,
        seed,
        duration_s: duration,
        labels,
        holds,
        first_live_s: live.first().map(|l| l.0),
        menu_s: menu_end.unwrap_or(0.0),
        transfers,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn holds_run_from_live_speech_to_live_speech() {
        let t = truth(
            "t".into(),
            0,
            100.0,
            vec![],
            &[(10.0, 20.0), (50.0, 60.0)],
            &[(0.5, 9.0), (21.0, 49.0)],
            None,
        );
        assert_eq!(t.holds, vec![(0.0, 10.0), (20.0, 50.0)]);
        assert_eq!(t.transfers, 1);
        assert_eq!(t.first_live_s, Some(10.0));
    }

    #[test]
    fn live_lines_share_no_three_words() {
        // Speech the far side plays twice is an announcement; espeak-ng says the same words the
        // same way, so no two things an agent says may share a phrase.
        let words = |l: &str| -> Vec<String> {
            l.to_lowercase()
                .split(|c: char| !c.is_alphabetic() && c != '\'')
                .filter(|w| !w.is_empty())
                .map(str::to_owned)
                .collect()
        };
        let lines: Vec<&str> = AGENT.iter().chain(CHECK_INS).copied().collect();
        for (i, a) in lines.iter().enumerate() {
            for b in &lines[i + 1..] {
                let (wa, wb) = (words(a), words(b));
                for t in wa.windows(3) {
                    assert!(
                        !wb.windows(3).any(|u| u == t),
                        "{a:?} and {b:?} share {t:?}"
                    );
                }
            }
        }
    }
}
