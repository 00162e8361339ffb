//! Recorded voices: speech the far side plays from a recording (a menu, a prompt, a queue
//! announcement) rather than a person talking. Such speech becomes [`Class::Announcement`].

use super::*;
use summary::Heard;

/// Far speech is a recording when
///
/// - it was heard before (or is heard again): a recording repeats, a person does not;
/// - the caller pressed a key in answer to it (during it, or within [`KEY_AFTER`] of its end
///   before the far side spoke again): a menu;
/// - with the caller's side heard, nobody answered it ([`ANSWER_WINDOW`]) and it came in the
///   call's opening (before any far speech was answered: ringing, menus and prompts), or a
///   hold sound follows it closely (a prompt into a hold: "please hold while I try that
///   extension"), or it sits squarely inside a hold.
///
/// With the far side alone, speech that leads into the call's first music without a break is
/// the menu's. Speech runs apart by no more than a short silence are judged together, as one
/// utterance.
pub(crate) fn mark(c: &mut [Class], repeated: &[bool], heard: &Heard) {
    let rs = runs(c);
    // Utterances: [first run, last run] of speech runs joined by silences of `UTTERANCE_GAP`.
    let mut groups: Vec<(usize, usize)> = Vec::new();
    for (i, r) in rs.iter().enumerate() {
        if r.class != Class::Speech {
            continue;
        }
        // A key pressed between two runs answers the first: they are two utterances.
        let keyed_between = |a: usize, b: usize| heard.keys.iter().any(|&(t, _)| t >= a && t < b);
        if let Some(g) = groups.last_mut()
            && i == g.1 + 2
            && rs[i - 1].class == Class::Silence
            && rs[i - 1].len() <= UTTERANCE_GAP
            && !keyed_between(rs[i - 1].start, r.start)
        {
            g.1 = i;
            continue;
        }
        groups.push((i, i));
    }
    let mut announce = vec![false; rs.len()];
    // Heard before (or again): the run itself.
    for (i, r) in rs.iter().enumerate() {
        if r.class == Class::Speech {
            let heard = repeated[r.start..r.end.min(repeated.len())]
                .iter()
                .filter(|&&m| m)
                .count();
            announce[i] = heard as f32 >= REPEATED_SHARE * r.len() as f32;
        }
    }
    let mut opening = heard.opening;
    for (k, &(gi, gj)) in groups.iter().enumerate() {
        let (start, end) = (rs[gi].start, rs[gj].end);
        let next = groups.get(k + 1).map_or(c.len(), |g| rs[g.0].start);
        let keyed = heard
            .keys
            .iter()
            .any(|&(t, _)| t >= start && t <= (end + KEY_AFTER).min(next));
        let answered = heard.answered(start, end);
        let repeated = announce[gi..=gj].iter().any(|&a| a);
        let mut recorded = keyed;
        if let Some(near) = heard.near.as_deref()
            && !answered
        {
            let quiet = !near[start.saturating_sub(50)..(end + 100).min(near.len())]
                .iter()
                .any(|&b| b);
            let before = &rs[..gi];
            // The nearest sound either side (across silence) is a hold sound, close enough.
            let hold_before = match before.iter().rev().find(|q| q.class != Class::Silence) {
                None => true,
                Some(q) => q.class.is_hold() && start - q.end <= ANNOUNCEMENT_NEAR,
            };
            // Hold sounds fill much of the moments after it (a blip of music taken for
            // speech does not stop it).
            let after = &c[end..(end + ANNOUNCEMENT_NEAR).min(c.len())];
            let hold_after = after.iter().filter(|k| k.is_hold()).count() >= HOLD_SOUND_MIN;
            let short = end - start <= ANNOUNCEMENT_MAX;
            let inside_hold = quiet && hold_before && hold_after && short;
            // "Please hold while I try that extension": unanswered, and the hold follows.
            let into_hold = hold_after && short;
            recorded |= opening || inside_hold || into_hold;
        }
        if recorded {
            announce[gi..=gj].iter_mut().for_each(|a| *a = true);
        } else if answered && !repeated {
            // A person answered: the opening is over.
            opening = false;
        }
    }
    // Far side alone (no answers, no keys to go by): in the opening, the speech that leads
    // without a break into the first music is the menu's, back to the first pause longer than
    // a prompt's.
    if heard.near.is_none() && heard.opening {
        let music = rs
            .iter()
            .find(|r| r.class == Class::Music && r.len() >= MENU_MUSIC)
            .map(|r| r.start);
        if let Some(mut next) = music {
            let before: Vec<(usize, usize)> = groups
                .iter()
                .copied()
                .filter(|g| rs[g.1].end <= next)
                .collect();
            for &(gi, gj) in before.iter().rev() {
                if next - rs[gj].end > ANNOUNCEMENT_NEAR {
                    break;
                }
                announce[gi..=gj].iter_mut().for_each(|a| *a = true);
                next = rs[gi].start;
            }
        }
    }
    for (i, r) in rs.iter().enumerate() {
        if announce[i] && r.class == Class::Speech {
            c[r.start..r.end].fill(Class::Announcement);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use Class::*;

    use crate::tests::seq;

    /// The caller talks over these seconds (and nowhere else).
    fn talk(len: usize, spans: &[(f64, f64)]) -> Vec<bool> {
        let mut v = vec![false; len];
        for &(a, b) in spans {
            v[(a * 50.0) as usize..(b * 50.0) as usize].fill(true);
        }
        v
    }

    fn marked(c: &[Class], heard: &Heard) -> Vec<Class> {
        let repeated = vec![false; c.len()];
        let mut c = c.to_vec();
        mark(&mut c, &repeated, heard);
        c
    }

    /// A ring, a 12 s menu, the caller's key, "one moment please", music, an agent answered.
    fn call() -> Vec<Class> {
        seq(&[
            (Tone, 2.0),
            (Silence, 4.0),
            (Speech, 12.0),
            (Silence, 2.0),
            (Speech, 1.0),
            (Silence, 1.0),
            (Music, 30.0),
            (Silence, 1.0),
            (Speech, 4.0),
            (Silence, 3.0),
            (Speech, 4.0),
        ])
    }

    #[test]
    fn the_menu_and_its_prompt_are_recordings_and_the_answered_agent_is_not() {
        let c = call();
        let heard = Heard {
            near: Some(talk(c.len(), &[(55.5, 57.0), (62.5, 64.0)])),
            keys: vec![(19 * 50, '1')],
            opening: true,
        };
        let m = marked(&c, &heard);
        assert!(m[6 * 50..18 * 50].iter().all(|&k| k == Announcement));
        assert!(m[20 * 50..21 * 50].iter().all(|&k| k == Announcement));
        assert!(m[53 * 50..57 * 50].iter().all(|&k| k == Speech));
        let (_, s) = Summary::build(m, &heard, true);
        assert_eq!(s.first_live_s, Some(53.0));
        assert!((s.menu_s - 22.0).abs() < 1e-9, "{s:?}");
        assert!((s.hold_s - 31.0).abs() < 1e-9, "{s:?}");
        assert_eq!((s.holds.len(), s.transfers), (1, 0));
    }

    #[test]
    fn a_key_marks_the_menu_even_when_the_caller_spoke_over_it() {
        let c = call();
        // The caller said something during the menu (not an answer to a person), then keyed.
        let heard = Heard {
            near: Some(talk(c.len(), &[(10.0, 11.0), (55.5, 57.0)])),
            keys: vec![(19 * 50, '2')],
            opening: true,
        };
        let m = marked(&c, &heard);
        assert!(m[6 * 50..18 * 50].iter().all(|&k| k == Announcement));
    }

    #[test]
    fn without_the_key_or_the_opening_an_answered_menu_would_be_live() {
        // The same call where the menu is answered by voice and nothing says "menu": the
        // opening rule is what marks unanswered prompts, so answered speech stays speech.
        let c = call();
        let heard = Heard {
            near: Some(talk(c.len(), &[(18.2, 19.0), (55.5, 57.0)])),
            keys: vec![],
            opening: true,
        };
        let m = marked(&c, &heard);
        assert!(m[6 * 50..18 * 50].iter().all(|&k| k == Speech));
    }

    #[test]
    fn a_prompt_into_a_hold_after_a_conversation_is_a_recording() {
        let c = seq(&[
            (Speech, 4.0),
            (Silence, 1.5),
            (Speech, 3.0),
            (Silence, 2.0),
            (Speech, 2.0), // "please hold while I try that extension"
            (Silence, 1.0),
            (Music, 20.0),
        ]);
        let heard = Heard {
            near: Some(talk(c.len(), &[(4.2, 5.2), (7.6, 8.4)])),
            keys: vec![],
            opening: true,
        };
        let m = marked(&c, &heard);
        assert!(m[..4 * 50].iter().all(|&k| k == Speech));
        assert!(
            m[(10.5 * 50.0) as usize..(12.5 * 50.0) as usize]
                .iter()
                .all(|&k| k == Announcement)
        );
    }

    #[test]
    fn far_side_alone_the_speech_leading_into_the_first_music_is_the_menu() {
        let c = call();
        let heard = Heard {
            near: None,
            keys: vec![],
            opening: true,
        };
        let m = marked(&c, &heard);
        assert!(m[6 * 50..18 * 50].iter().all(|&k| k == Announcement));
        assert!(m[20 * 50..21 * 50].iter().all(|&k| k == Announcement));
        assert!(m[53 * 50..].iter().all(|&k| k != Announcement));
    }
}
