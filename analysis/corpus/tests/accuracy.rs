//! The call analysis over the held-out corpus (the `test` seeds: never used to choose a
//! threshold nor looked into), per rendering (8 and 48 kHz; clean, telephone band, codec):
//! on every call the time to agent within 3 s, the menu time within 3 s and the time on hold
//! within 5 % or 3 s; holds and transfers counted exactly on at least 95 % of calls; and of
//! the synthetic calls' frames, at least 96 % classified right. The report it prints has the
//! figures.

use onrecord_corpus::{Outcome, RENDERINGS};

#[test]
fn analysis_accuracy_over_the_test_corpus() {
    let outcomes = onrecord_corpus::run_set("test", true, None, None)
        .expect("the corpus builds (espeak-ng and the Asterisk sounds installed)");
    println!("{}", onrecord_corpus::report(&outcomes));
    let seeds = onrecord_corpus::seeds("test").unwrap();
    assert_eq!(outcomes.len(), seeds.len() * RENDERINGS.len());
    assert!(
        outcomes.iter().any(|o| o.name.starts_with("real")),
        "calls shaped like real ones are in the set"
    );
    let mut failures = Vec::new();
    for (rate, line) in RENDERINGS {
        let of: Vec<&Outcome> = outcomes
            .iter()
            .filter(|o| o.rate == rate && o.line == line)
            .collect();
        for o in &of {
            let fl = |v: Option<f64>| v.map_or("none".to_string(), |x| format!("{x:.1} s"));
            if !o.agent_ok() {
                failures.push(format!(
                    "{}: time to agent {}, truly {}",
                    o.name,
                    fl(o.first_live_s),
                    fl(o.truth_first_live_s)
                ));
            }
            if !o.menu_ok() {
                failures.push(format!(
                    "{}: menu {:.1} s, truly {:.1} s",
                    o.name, o.menu_s, o.truth_menu_s
                ));
            }
            if !o.hold_ok() {
                failures.push(format!(
                    "{}: on hold {:.1} s, truly {:.1} s",
                    o.name, o.hold_s, o.truth_hold_s
                ));
            }
        }
        let exact = of.iter().filter(|o| o.counts_ok()).count();
        if (exact as f64) < 0.95 * of.len() as f64 {
            failures.push(format!(
                "{rate} Hz {line:?}: holds and transfers exact on {exact} of {} calls",
                of.len()
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    let (mut right, mut all) = (0u64, 0u64);
    for o in outcomes.iter().filter(|o| o.name.starts_with("call")) {
        for (i, row) in o.confusion.iter().enumerate() {
            right += row[i];
            all += row.iter().sum::<u64>();
        }
    }
    let share = right as f64 / all as f64;
    assert!(share >= 0.96, "frames right (synthetic calls): {share:.3}");
}

#[test]
fn a_mono_recording_is_analysed_from_the_far_side_alone() {
    // One call, far side only: holds are still found (without the near side, speech inside a
    // hold is an announcement only when it repeats).
    let call = onrecord_corpus::compose(1001).expect("compose");
    let (near, far) = onrecord_corpus::render(&call, 8000, onrecord_corpus::Line::Phone, 1001);
    let (o, _) = onrecord_corpus::evaluate(
        "mono",
        &call.truth,
        &near,
        &far,
        8000,
        onrecord_corpus::Line::Phone,
        false,
    );
    assert!(o.holds >= 1 && o.hold_s > 0.5 * o.truth_hold_s, "{o:?}");
}
