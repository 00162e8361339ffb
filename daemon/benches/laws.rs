//! Law engine throughput: evaluation from ids, evaluation with number parsing, number lookup
//! alone, and a full parse and validation of the shipped tables (target: under 20 ms).

use criterion::{Criterion, criterion_group, criterion_main};
use onrecord_interface::Medium;
use onrecordd::laws::{self, number};
use std::hint::black_box;
use std::path::Path;

fn shipped() -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../laws")
}

fn bench(c: &mut Criterion) {
    let set = laws::load(&shipped(), None).expect("shipped tables");
    let me = laws::resolve_recorder(&set, "US-TX").unwrap();
    let ca = laws::resolve(&set, "US-CA", None).unwrap();
    let wa = laws::resolve(&set, "US-WA", None).unwrap();

    let mut g = c.benchmark_group("evaluate");
    g.bench_function("ids: US-TX calls US-CA", |b| {
        b.iter(|| {
            laws::evaluate(
                black_box(&set),
                &me,
                std::slice::from_ref(&ca),
                Medium::Phone,
            )
        })
    });
    g.bench_function("ids: US-TX calls US-CA and US-WA", |b| {
        let parties = [ca.clone(), wa.clone()];
        b.iter(|| laws::evaluate(black_box(&set), &me, &parties, Medium::Phone))
    });
    g.bench_function(
        "numbers: parse +1 (415) 555-0100 and 1-800-555-0199, then evaluate",
        |b| {
            b.iter(|| {
                let parties: Vec<_> = ["+1 (415) 555-0100", "1-800-555-0199"]
                    .iter()
                    .map(|n| laws::resolve(&set, black_box(n), Some("US")).unwrap())
                    .collect();
                laws::evaluate(&set, &me, &parties, Medium::Phone)
            })
        },
    );
    g.finish();

    let mut g = c.benchmark_group("number");
    g.bench_function("lookup +49 30 1234567", |b| {
        b.iter(|| number::lookup(&set, black_box("+49 30 1234567"), None).unwrap())
    });
    g.bench_function("lookup +1 (415) 555-0100", |b| {
        b.iter(|| number::lookup(&set, black_box("+1 (415) 555-0100"), None).unwrap())
    });
    g.finish();

    let mut g = c.benchmark_group("load");
    g.sample_size(30);
    g.bench_function("parse and validate the shipped tables", |b| {
        b.iter(|| laws::load(black_box(&shipped()), None).unwrap())
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
