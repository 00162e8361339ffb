//! `onrecord-corpus`: builds the labelled corpus, runs the call analysis over it and prints the
//! accuracy report (per call: hold time found against the truth; per class: frame accuracy).

use clap::Parser;
use std::path::PathBuf;

#[derive(Parser)]
#[command(version, about)]
struct Args {
    /// Which seeds: `dev` (the thresholds were chosen on these) or `test` (never looked at
    /// while tuning).
    #[arg(long, default_value = "test")]
    set: String,
    /// Also write every rendering as a stereo WAV (left: caller, right: far side) with its
    /// truth as JSON.
    #[arg(long)]
    out: Option<PathBuf>,
    /// Analyse the far side alone, as for a mono recording.
    #[arg(long)]
    mono: bool,
    /// Print the analysis and the truth of one rendering (e.g. call0003-8000-codec).
    #[arg(long)]
    show: Option<String>,
    /// Print the outcomes as JSON instead of the report.
    #[arg(long)]
    json: bool,
    /// Also write the headline figures as rows of `make bench`'s closing table (JSON).
    #[arg(long)]
    rows: Option<PathBuf>,
}

fn main() {
    let a = Args::parse();
    if let Some(d) = &a.out
        && let Err(e) = std::fs::create_dir_all(d)
    {
        eprintln!("onrecord-corpus: {}: {e}", d.display());
        std::process::exit(1);
    }
    let result = onrecord_corpus::run_set(&a.set, !a.mono, a.out.as_deref(), a.show.as_deref());
    if let (Ok(o), Some(path)) = (&result, &a.rows) {
        let ok = o.iter().filter(|o| o.hold_ok()).count();
        let audio: f64 = o.iter().map(|o| o.duration_s).sum();
        let wall: f64 = o.iter().map(|o| o.duration_s / o.speed.max(1e-9)).sum();
        let rows = serde_json::json!([
            {
                "what": format!("call analysis ({} corpus): hold time within 5 % or 3 s", a.set),
                "measured": format!("{ok} of {} calls", o.len()),
                "target": "every call",
                "met": ok == o.len(),
            },
            {
                "what": "call analysis speed, both sides",
                "measured": format!("{:.0}x real time", audio / wall.max(1e-9)),
                "target": "",
                "met": null,
            },
        ]);
        if let Err(e) = std::fs::write(path, rows.to_string()) {
            eprintln!("onrecord-corpus: {}: {e}", path.display());
        }
    }
    match result {
        Ok(o) if a.json => println!("{}", serde_json::to_string_pretty(&o).expect("plain data")),
        Ok(o) => print!("{}", onrecord_corpus::report(&o)),
        Err(e) => {
            eprintln!("onrecord-corpus: {e}");
            std::process::exit(1);
        }
    }
}
