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
}

fn main() {
    let a = Args::parse();
    if let Some(d) = &a.out
        && let Err(e) = std::fs::create_dir_all(d)
    {
        eprintln!("onrecord-corpus: {}: {e}", d.display());
        std::process::exit(1);
    }
    match onrecord_corpus::run_set(&a.set, !a.mono, a.out.as_deref(), a.show.as_deref()) {
        Ok(o) if a.json => println!("{}", serde_json::to_string_pretty(&o).expect("plain data")),
        Ok(o) => print!("{}", onrecord_corpus::report(&o)),
        Err(e) => {
            eprintln!("onrecord-corpus: {e}");
            std::process::exit(1);
        }
    }
}
