//! Tests of the summary: menus, holds, transfers, live speech, smoothing.

use super::*;
use Class::*;

use crate::tests::seq;

#[test]
fn a_wait_then_an_agent() {
    let c = seq(&[
        (Tone, 2.0),
        (Silence, 4.0),
        (Tone, 2.0),
        (Music, 30.0),
        (Silence, 0.5),
        (Speech, 20.0),
    ]);
    let s = Summary::from_classes(&c, None, true);
    assert_eq!(s.first_live_s, Some(38.5));
    // The ringing is the menu's, not the hold's.
    assert!((s.menu_s - 8.0).abs() < 1e-9, "{s:?}");
    assert_eq!(s.holds.len(), 1);
    assert!((s.hold_s - 30.5).abs() < 1e-9);
    assert_eq!(s.transfers, 0);
    assert!((s.holds[0].music_s - 30.0).abs() < 1e-9);
}

#[test]
fn a_hold_between_two_agents_is_a_transfer() {
    let c = seq(&[
        (Speech, 10.0),
        (Silence, 1.0),
        (Music, 20.0),
        (Announcement, 5.0),
        (Music, 20.0),
        (Speech, 10.0),
    ]);
    let s = Summary::from_classes(&c, None, true);
    assert_eq!(s.first_live_s, Some(0.0));
    assert_eq!(s.transfers, 1);
    assert!((s.hold_s - 46.0).abs() < 1e-9, "{}", s.hold_s);
}

#[test]
fn speech_like_music_nobody_answers_does_not_split_a_hold() {
    let c = seq(&[
        (Speech, 6.0),
        (Silence, 1.0),
        (Music, 30.0),
        (Speech, 1.7), // music after a queue announcement, taken for speech
        (Music, 30.0),
        (Speech, 6.0),
    ]);
    let near: Vec<bool> = seq(&[
        (Silence, 6.2),
        (Speech, 1.0),
        (Silence, 61.5),
        (Speech, 2.0),
    ])
    .iter()
    .map(|&k| k == Speech)
    .collect();
    let s = Summary::from_classes(&c, Some(&near), true);
    assert_eq!((s.holds.len(), s.transfers), (1, 1), "{s:?}");
    assert!((s.hold_s - 62.7).abs() < 1e-9, "{}", s.hold_s);
    // Unanswered but long (20 s and more), speech is a person even so.
    let mut c = c;
    c.splice(
        37 * 50..(38.7 * 50.0) as usize,
        std::iter::repeat_n(Speech, 21 * 50),
    );
    let near = vec![false; c.len()];
    let s = Summary::from_classes(&c, Some(&near), true);
    assert_eq!(s.holds.len(), 2, "{s:?}");
}

#[test]
fn pauses_in_a_conversation_are_not_holds() {
    let mut parts = Vec::new();
    for _ in 0..10 {
        parts.push((Speech, 4.0));
        parts.push((Silence, 6.0)); // the near side talks meanwhile
    }
    parts.push((Speech, 4.0));
    let c = seq(&parts);
    let s = Summary::from_classes(&c, None, true);
    assert!(s.holds.is_empty(), "{s:?}");
    assert!((s.talk_far_s - 44.0).abs() < 1e-9);
}

#[test]
fn a_long_silence_the_near_side_fills_is_not_a_hold() {
    let c = seq(&[(Speech, 5.0), (Silence, 15.0), (Speech, 5.0)]);
    let near: Vec<bool> = seq(&[(Silence, 5.0), (Speech, 15.0), (Silence, 5.0)])
        .iter()
        .map(|&k| k == Speech)
        .collect();
    assert!(
        Summary::from_classes(&c, Some(&near), true)
            .holds
            .is_empty()
    );
    // Unanswered (the caller speaks only just after each of the far side's turns), the
    // same silence is a hold.
    let near: Vec<bool> = seq(&[
        (Silence, 5.0),
        (Speech, 1.0),
        (Silence, 14.0),
        (Silence, 5.0),
        (Speech, 1.0),
    ])
    .iter()
    .map(|&k| k == Speech)
    .collect();
    let s = Summary::from_classes(&c, Some(&near), true);
    assert_eq!(s.holds.len(), 1, "{s:?}");
    assert_eq!(s.transfers, 1);
}

#[test]
fn live_speech_ends_a_hold_once_answered() {
    let c = seq(&[(Speech, 5.0), (Music, 30.0), (Speech, 3.0)]);
    let quiet = vec![false; c.len()];
    let s = Summary::from_classes(&c, Some(&quiet), false);
    assert!(
        s.current_hold().is_some(),
        "unanswered speech after music may be an announcement"
    );
    let mut answered = quiet.clone();
    answered[c.len() - 20..].fill(true);
    let s = Summary::from_classes(&c, Some(&answered), false);
    assert!(s.current_hold().is_none());
    assert_eq!(s.holds.len(), 1);
    assert!((s.holds[0].end_s - 35.0).abs() < 1e-9);
}

#[test]
fn pauses_inside_speech_are_speech_and_blips_are_smoothed() {
    let mut raw = seq(&[(Speech, 1.0), (Silence, 0.3), (Speech, 1.0), (Music, 3.0)]);
    raw[150..154].fill(Speech); // 80 ms of "speech" inside music
    let s = smooth(&raw);
    assert!(s[..100].iter().all(|&k| k == Speech));
    assert!(s[140..250].iter().all(|&k| k == Music));
}

#[test]
fn segments_fold_short_runs() {
    let c = seq(&[(Music, 10.0), (Speech, 0.4), (Music, 10.0), (Speech, 5.0)]);
    let segs = segments(&c);
    assert_eq!(segs.len(), 2, "{segs:?}");
    assert_eq!(segs[0].class, Music);
    assert!((segs[0].end_s - 20.4).abs() < 1e-9);
}

#[test]
fn clock_format() {
    assert_eq!(clock(0.0), "0:00.0");
    assert_eq!(clock(75.25), "1:15.3");
    assert_eq!(clock(3725.0), "1:02:05.0");
}

#[test]
fn fill_short_fills_only_short_gaps() {
    let mut v = vec![true, false, false, true, false, false, false, false, true];
    fill_short(&mut v, 2);
    assert_eq!(
        v,
        vec![true, true, true, true, false, false, false, false, true]
    );
}
