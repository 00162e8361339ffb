//! How the call analysis classes each of Asterisk's hold music tracks, alone (8 kHz, as the
//! package has them): a look into the classifier, not a test.

fn main() {
    for t in std::fs::read_dir("/usr/share/asterisk/moh").expect("asterisk-moh-opsound-wav") {
        let p = t.unwrap().path();
        let mut r = hound::WavReader::open(&p).unwrap();
        let rate = r.spec().sample_rate;
        let x: Vec<f32> = r
            .samples::<i16>()
            .map(|s| s.unwrap() as f32 / 32768.0)
            .collect();
        let mut a = onrecord_analysis::Analyzer::new(rate, false);
        a.push(&x, None);
        let (c, _) = a.classes_and_summary(true);
        let mut n = [0usize; 5];
        for k in &c {
            n[*k as usize] += 1;
        }
        let tot = c.len() as f64 / 100.0;
        if std::env::var_os("RUNS").is_some() {
            let mut t = 0;
            while t < c.len() {
                let k = c[t];
                let mut e = t;
                while e < c.len() && c[e] == k {
                    e += 1;
                }
                if matches!(
                    k,
                    onrecord_analysis::Class::Speech | onrecord_analysis::Class::Announcement
                ) && e - t >= 25
                {
                    println!("  {:?} {:.1}-{:.1}", k, t as f64 / 50.0, e as f64 / 50.0);
                }
                t = e;
            }
        }
        println!(
            "{:<40} speech {:>5.1}% music {:>5.1}% silence {:>5.1}% tone {:>5.1}% ann {:>5.1}%",
            p.file_name().unwrap().to_string_lossy(),
            n[0] as f64 / tot,
            n[1] as f64 / tot,
            n[2] as f64 / tot,
            n[3] as f64 / tot,
            n[4] as f64 / tot
        );
    }
}
