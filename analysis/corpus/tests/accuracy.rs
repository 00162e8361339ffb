//! The call analysis over the held-out corpus (the `test` seeds: never used to choose a
//! threshold nor looked into): hold time within 5 % or 3 s on every call, each call's first
//! live agent within 3 s, and the share of frames classified right. The report it prints has
//! the figures.

#[test]
fn analysis_accuracy_over_the_test_corpus() {
    let outcomes = onrecord_corpus::run_set("test", true, None, None)
        .expect("the corpus builds (espeak-ng installed)");
    println!("{}", onrecord_corpus::report(&outcomes));
    assert_eq!(outcomes.len(), 36);
    let within = outcomes.iter().filter(|o| o.hold_ok()).count();
    assert!(
        within >= 35,
        "hold time within 5 % or 3 s on {within} of 36 calls"
    );
    let mut right = 0u64;
    let mut all = 0u64;
    for o in &outcomes {
        for (i, row) in o.confusion.iter().enumerate() {
            right += row[i];
            all += row.iter().sum::<u64>();
        }
        // Every call's first agent found within 3 s, when there was one.
        if let (Some(t), Some(f)) = (o.truth_first_live_s, o.first_live_s) {
            assert!(
                (t - f).abs() <= 3.0,
                "{}: first live agent at {f:.1} s, truly {t:.1} s",
                o.name
            );
        }
    }
    let share = right as f64 / all as f64;
    assert!(share >= 0.96, "frames right: {share:.3}");
}

#[test]
fn a_mono_recording_is_analysed_from_the_far_side_alone() {
    // One call, far side only: holds are still found (without the near side, speech inside a
    // hold is an announcement only when it repeats).
    let call = onrecord_corpus::synth::compose(1001).expect("compose");
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
