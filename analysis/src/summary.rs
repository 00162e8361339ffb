//! What a call amounts to: the menu, the holds, the live agents, and the figures people quote.

use super::*;

/// One hold: from the end of live speech (or the start of the call) to the next live speech
/// (or the end), with what filled it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Hold {
    pub start_s: f64,
    pub end_s: f64,
    pub music_s: f64,
    pub announcement_s: f64,
    pub tone_s: f64,
    pub silence_s: f64,
    /// Still going when the analysis ended.
    pub open: bool,
}

impl Hold {
    pub fn seconds(&self) -> f64 {
        self.end_s - self.start_s
    }

    /// What filled it, in a phrase: "music 30 s, announcements 5 s, tones 0 s, silence 2 s".
    pub fn contents(&self) -> String {
        format!(
            "music {:.0} s, announcements {:.0} s, tones {:.0} s, silence {:.0} s",
            self.music_s, self.announcement_s, self.tone_s, self.silence_s
        )
    }
}

/// A stretch of one class, for the timeline.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Segment {
    pub start_s: f64,
    pub end_s: f64,
    pub class: Class,
}

/// Seconds of each class.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Totals {
    pub speech_s: f64,
    pub music_s: f64,
    pub silence_s: f64,
    pub tone_s: f64,
    pub announcement_s: f64,
}

/// A stretch of the call.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Span {
    pub start_s: f64,
    pub end_s: f64,
    /// Still going when the analysis ended.
    #[serde(default)]
    pub open: bool,
}

impl Span {
    pub fn seconds(&self) -> f64 {
        self.end_s - self.start_s
    }
}

/// A key the caller pressed (DTMF on the caller's channel).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Key {
    pub at_s: f64,
    pub key: char,
}

/// What a call amounts to.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Summary {
    pub duration_s: f64,
    /// When live speech first came from the far side: the time to reach a person (none:
    /// nobody answered).
    pub first_live_s: Option<f64>,
    /// Ringing, recorded menus and prompts from the start of the call to its first hold sound
    /// or its first live agent (none: the call began with a hold or a person).
    #[serde(default)]
    pub menu: Option<Span>,
    /// Its length (0 without one).
    #[serde(default)]
    pub menu_s: f64,
    /// Waiting with music, silence or announcements, after the menu and between live agents.
    pub holds: Vec<Hold>,
    pub hold_s: f64,
    /// Holds between two live stretches.
    pub transfers: u32,
    /// The stretches a live person spoke in (across the pauses of a conversation).
    #[serde(default)]
    pub live: Vec<Span>,
    /// The caller's key presses (recordings with both sides only).
    #[serde(default)]
    pub keys: Vec<Key>,
    /// Live speech of the far side; the near side's talk when it was heard.
    pub talk_far_s: f64,
    pub talk_near_s: Option<f64>,
    pub totals: Totals,
    /// The far side's classes, stretches shorter than a second folded into their neighbours.
    pub segments: Vec<Segment>,
}

pub(crate) fn secs(frames: usize) -> f64 {
    frames as f64 / FPS
}

/// What the summary is made from besides the far side's classes.
#[derive(Debug, Default)]
pub(crate) struct Heard {
    /// Per frame: the caller talking (key presses left out); none for a mono recording.
    pub near: Option<Vec<bool>>,
    /// The caller's key presses: (frame, key).
    pub keys: Vec<(usize, char)>,
    /// Frame 0 is in the call's opening (before its first live agent and its first hold).
    pub opening: bool,
}

impl Heard {
    /// Far speech from `start` to `end` was answered by the caller's voice.
    pub fn answered(&self, start: usize, end: usize) -> bool {
        self.talks(start, end + ANSWER_WINDOW)
    }

    /// Far speech from `start` to `end` is a turn of a conversation: the caller spoke just
    /// before it, during it or just after.
    pub fn in_conversation(&self, start: usize, end: usize) -> bool {
        self.talks(start.saturating_sub(ANSWER_WINDOW), end + ANSWER_WINDOW)
    }

    fn talks(&self, from: usize, to: usize) -> bool {
        self.near
            .as_deref()
            .is_some_and(|n| n[from.min(n.len())..to.min(n.len())].iter().any(|&b| b))
    }
}

impl Summary {
    /// The summary of classes alone (tests; a far side with nothing else known), from the
    /// call's start.
    pub fn from_classes(c: &[Class], near: Option<&[bool]>, final_: bool) -> Summary {
        let heard = Heard {
            near: near.map(<[bool]>::to_vec),
            keys: Vec::new(),
            opening: true,
        };
        Summary::build(c.to_vec(), &heard, final_).1
    }

    /// The summary, and the classes with any speech found not to be live (unanswered and
    /// short, with the caller heard) made announcements.
    pub(crate) fn build(mut c: Vec<Class>, heard: &Heard, final_: bool) -> (Vec<Class>, Summary) {
        let n = c.len();
        let near = heard.near.as_deref();
        // Live stretches: speech runs merged across short gaps that hold no hold sounds.
        let mut live: Vec<(usize, usize, usize)> = Vec::new(); // start, end, speech frames
        for r in runs(&c).into_iter().filter(|r| r.class == Class::Speech) {
            if let Some(last) = live.last_mut() {
                let gap = &c[last.1..r.start];
                let sound = gap.iter().filter(|k| k.is_hold()).count();
                if r.start - last.1 < MERGE_GAP && sound < HOLD_SOUND_MIN {
                    last.1 = r.end;
                    last.2 += r.len();
                    continue;
                }
            }
            live.push((r.start, r.end, r.len()));
        }
        // A live stretch needs an answer from the caller (when the caller is heard), or a
        // length no recording or music mistaken for speech reaches; the last one of a call
        // still going may get its answer yet, unless the call is over.
        let mut kept = Vec::new();
        for (i, &(s, e, speech)) in live.iter().enumerate() {
            let last = i + 1 == live.len();
            let ok = speech >= LIVE_MIN
                && (near.is_none()
                    || heard.in_conversation(s, e)
                    || e - s >= LIVE_CONFIRM
                    || (last && !final_ && e + ANSWER_WINDOW > n));
            if ok {
                kept.push((s, e, speech));
            } else if near.is_some() && speech >= LIVE_MIN {
                for k in &mut c[s..e] {
                    if *k == Class::Speech {
                        *k = Class::Announcement;
                    }
                }
            }
        }
        let mut live = kept;
        // After a hold, live speech begins with the turn the caller answers: speech before it,
        // across a pause longer than a turn's, was still the hold (a recorded voice).
        if let Some(nr) = near {
            let rs = runs(&c);
            for i in 0..live.len() {
                let prev_end = if i > 0 { live[i - 1].1 } else { 0 };
                let (s, e) = (live[i].0, live[i].1);
                if !gap_is_hold(&c, near, prev_end, s) {
                    continue;
                }
                let Some(q) = (s..(e + 100).min(nr.len())).find(|&t| nr[t]) else {
                    continue;
                };
                // The speech runs of the stretch before the answer, last first.
                let speech: Vec<&Run> = rs
                    .iter()
                    .filter(|r| r.class == Class::Speech && r.start >= s && r.start < q)
                    .collect();
                let Some(mut k) = speech.len().checked_sub(1) else {
                    continue;
                };
                while k > 0 && speech[k].start - speech[k - 1].end <= TURN_GAP {
                    k -= 1;
                }
                if speech[k].start > s {
                    live[i].0 = speech[k].start;
                }
            }
        }
        // Live, trailing speech ends a hold only once answered or long.
        if !final_ && let Some(&(s, e, _)) = live.last() {
            let answered = near.is_some_and(|nr| nr[s..n.min(nr.len())].iter().any(|&b| b));
            let before_is_hold = {
                let prev_end = if live.len() >= 2 {
                    live[live.len() - 2].1
                } else {
                    0
                };
                gap_is_hold(&c, near, prev_end, s)
            };
            if before_is_hold && !answered && e - s < LIVE_CONFIRM {
                live.pop();
            }
        }
        // The opening: ringing, menus and prompts up to the first hold sound or person.
        let first = live.first().map_or(n, |l| l.0);
        let menu = heard.opening.then(|| menu_end(&c, first)).and_then(|end| {
            let played = c[..end]
                .iter()
                .any(|&k| matches!(k, Class::Tone | Class::Announcement));
            played.then_some(Span {
                start_s: 0.0,
                end_s: secs(end),
                open: end == n && !final_,
            })
        });
        let menu_frames = menu
            .as_ref()
            .map_or(0, |m| (m.end_s * FPS).round() as usize);
        let mut holds = Vec::new();
        let mut transfers = 0;
        let mut prev_end = menu_frames.min(first);
        for (i, &(s, _, _)) in live.iter().enumerate() {
            if gap_is_hold(&c, near, prev_end, s) {
                holds.push(hold(&c, prev_end, s, false));
                if i > 0 {
                    transfers += 1;
                }
            }
            prev_end = live[i].1;
        }
        if gap_is_hold(&c, near, prev_end, n) {
            holds.push(hold(&c, prev_end, n, true));
        }
        let mut totals = Totals::default();
        for k in &c {
            let slot = match k {
                Class::Speech => &mut totals.speech_s,
                Class::Music => &mut totals.music_s,
                Class::Silence => &mut totals.silence_s,
                Class::Tone => &mut totals.tone_s,
                Class::Announcement => &mut totals.announcement_s,
            };
            *slot += 1.0 / FPS;
        }
        let summary = Summary {
            duration_s: secs(n),
            first_live_s: live.first().map(|l| secs(l.0)),
            menu_s: menu.as_ref().map_or(0.0, Span::seconds),
            menu,
            hold_s: holds.iter().map(Hold::seconds).sum(),
            holds,
            transfers,
            live: live
                .iter()
                .map(|&(s, e, _)| Span {
                    start_s: secs(s),
                    end_s: secs(e),
                    open: false,
                })
                .collect(),
            keys: heard
                .keys
                .iter()
                .map(|&(t, key)| Key { at_s: secs(t), key })
                .collect(),
            talk_far_s: totals.speech_s,
            talk_near_s: near.map(|v| secs(v.iter().filter(|&&b| b).count())),
            totals,
            segments: segments(&c),
        };
        (c, summary)
    }

    /// The caller's key presses: "1 at 0:24.1, 2 at 0:30.0".
    pub fn keys_text(&self) -> String {
        self.keys
            .iter()
            .map(|k| format!("{} at {}", k.key, clock(k.at_s)))
            .collect::<Vec<_>>()
            .join(", ")
    }

    /// The hold going on at the end, if any.
    pub fn current_hold(&self) -> Option<&Hold> {
        self.holds.last().filter(|h| h.open)
    }

    /// A compact text timeline and the figures.
    pub fn to_text(&self) -> String {
        let mut s = String::new();
        for seg in &self.segments {
            s += &format!(
                "{:>9}  {:>9}  {}\n",
                clock(seg.start_s),
                clock(seg.end_s),
                seg.class.name()
            );
        }
        s += "\n";
        s += &format!("duration          {}\n", clock(self.duration_s));
        s += &format!(
            "time to agent     {} (first live agent)\n",
            self.first_live_s
                .map(clock)
                .unwrap_or_else(|| "never".into())
        );
        s += &format!(
            "menu              {} (ringing, recorded menus and prompts{})\n",
            clock(self.menu_s),
            if self.menu.as_ref().is_some_and(|m| m.open) {
                "; still in it"
            } else {
                ""
            }
        );
        s += &format!(
            "on hold           {} in {} hold(s), {} transfer(s)\n",
            clock(self.hold_s),
            self.holds.len(),
            self.transfers
        );
        for h in &self.holds {
            s += &format!(
                "  hold {} - {} ({}{}): {}\n",
                clock(h.start_s),
                clock(h.end_s),
                clock(h.seconds()),
                if h.open { ", still on hold" } else { "" },
                h.contents()
            );
        }
        if !self.keys.is_empty() {
            s += &format!("keys pressed      {}\n", self.keys_text());
        }
        s += &format!("talk, far side    {}\n", clock(self.talk_far_s));
        match self.talk_near_s {
            Some(t) => s += &format!("talk, near side   {}\n", clock(t)),
            None => {
                s += "(far side alone: without the caller's channel, key presses and answers \
                      are unknown, so a recorded voice is found only when it repeats, \
                      and a menu only as far as it is told apart that way)\n"
            }
        }
        s
    }
}

/// `h:mm:ss.d` or `m:ss.d`.
pub fn clock(s: f64) -> String {
    let t = (s * 10.0).round() as u64;
    let (h, m, sec, d) = (t / 36000, t / 600 % 60, t / 10 % 60, t % 10);
    if h > 0 {
        format!("{h}:{m:02}:{sec:02}.{d}")
    } else {
        format!("{m}:{sec:02}.{d}")
    }
}

fn gap_is_hold(c: &[Class], near: Option<&[bool]>, from: usize, to: usize) -> bool {
    if to <= from {
        return false;
    }
    let sound = c[from..to].iter().filter(|k| k.is_hold()).count();
    let near_talk = near.map_or(0, |n| {
        n[from.min(n.len())..to.min(n.len())]
            .iter()
            .filter(|&&b| b)
            .count()
    });
    sound >= HOLD_SOUND_MIN
        || (to - from >= HOLD_MIN && (near_talk as f32) < 0.3 * (to - from) as f32)
}

fn hold(c: &[Class], from: usize, to: usize, open: bool) -> Hold {
    let count = |k: Class| secs(c[from..to].iter().filter(|&&x| x == k).count());
    Hold {
        start_s: secs(from),
        end_s: secs(to),
        music_s: count(Class::Music),
        announcement_s: count(Class::Announcement),
        tone_s: count(Class::Tone),
        silence_s: count(Class::Silence),
        open,
    }
}

/// Runs of a class, those under a second folded into the longer neighbour.
fn segments(c: &[Class]) -> Vec<Segment> {
    let mut rs = runs(c);
    while let Some(i) = rs
        .iter()
        .enumerate()
        .filter(|(_, r)| r.len() < 50)
        .min_by_key(|(_, r)| r.len())
        .map(|(i, _)| i)
    {
        if rs.len() == 1 {
            break;
        }
        let into_prev = match (i.checked_sub(1).map(|p| rs[p]), rs.get(i + 1)) {
            (Some(p), Some(nx)) => p.len() >= nx.len(),
            (Some(_), None) => true,
            _ => false,
        };
        let r = rs.remove(i);
        if into_prev {
            rs[i - 1].end = r.end;
        } else {
            rs[i].start = r.start;
        }
        // Merge equal neighbours.
        let mut merged: Vec<Run> = Vec::with_capacity(rs.len());
        for r in rs {
            match merged.last_mut() {
                Some(m) if m.class == r.class => m.end = r.end,
                _ => merged.push(r),
            }
        }
        rs = merged;
    }
    rs.into_iter()
        .map(|r| Segment {
            start_s: secs(r.start),
            end_s: secs(r.end),
            class: r.class,
        })
        .collect()
}

/// Where the opening ends, looking no further than `first` (the first live agent): at the
/// first music (a second of it: not a blip inside a prompt; with the recorded voice that runs
/// straight into it, its opening bars taken for speech), or the first silence too long for a
/// ringback's pause.
fn menu_end(c: &[Class], first: usize) -> usize {
    let rs = runs(&c[..first]);
    for (i, r) in rs.iter().enumerate() {
        match r.class {
            Class::Music if r.len() >= MENU_MUSIC => {
                // A recorded voice that runs straight into the music was the music.
                let mut j = i;
                if j > 0 && rs[j - 1].class == Class::Silence && rs[j - 1].len() <= INTO_MUSIC {
                    j -= 1;
                }
                return match j.checked_sub(1).map(|k| rs[k]) {
                    Some(v) if v.class == Class::Announcement => v.start,
                    _ => r.start,
                };
            }
            Class::Silence if r.len() >= MENU_SILENCE => return r.start,
            _ => {}
        }
    }
    first
}

#[cfg(test)]
#[path = "summary_tests.rs"]
mod tests;
