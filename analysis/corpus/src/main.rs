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
    /// Only these seeds of the set (`5001-5010`, `7`).
    #[arg(long)]
    seeds: Option<String>,
    /// Only this rendering (`8000-phone`, `48000-codec`...).
    #[arg(long)]
    rendering: Option<String>,
    /// Print the outcomes as JSON instead of the report.
    #[arg(long)]
    json: bool,
    /// Calls analysed at once (1, the default, measures the analysis speed on an idle core).
    #[arg(long, default_value_t = 1)]
    jobs: usize,
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
    let result = select(&a).and_then(|(seeds, renderings)| {
        onrecord_corpus::run(
            &seeds,
            &renderings,
            !a.mono,
            a.out.as_deref(),
            a.show.as_deref(),
            a.jobs,
        )
    });
    if let (Ok(o), Some(path)) = (&result, &a.rows) {
        let audio: f64 = o.iter().map(|o| o.duration_s).sum();
        let wall: f64 = o.iter().map(|o| o.duration_s / o.speed.max(1e-9)).sum();
        let every = |what: &str, f: fn(&onrecord_corpus::Outcome) -> bool| {
            let ok = o.iter().filter(|x| f(x)).count();
            serde_json::json!({
                "what": format!("call analysis ({} corpus): {what}", a.set),
                "measured": format!("{ok} of {} calls", o.len()),
                "target": "every call, every rendering",
                "met": ok == o.len(),
            })
        };
        // Holds and transfers exact: the worst rendering's share.
        let worst = onrecord_corpus::RENDERINGS
            .iter()
            .filter_map(|&(rate, line)| {
                let v: Vec<_> = o
                    .iter()
                    .filter(|x| x.rate == rate && x.line == line)
                    .collect();
                (!v.is_empty())
                    .then(|| v.iter().filter(|x| x.counts_ok()).count() as f64 / v.len() as f64)
            })
            .fold(1.0f64, f64::min);
        let rows = serde_json::json!([
            every("time to agent within 3 s", onrecord_corpus::Outcome::agent_ok),
            every("menu time within 3 s", onrecord_corpus::Outcome::menu_ok),
            every("time on hold within 5 % or 3 s", onrecord_corpus::Outcome::hold_ok),
            {
                "what": format!("call analysis ({} corpus): holds and transfers counted exactly", a.set),
                "measured": format!("{:.0} % of calls in the worst rendering", 100.0 * worst),
                "target": "95 % of calls in each rendering",
                "met": worst >= 0.95,
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

type Selection = (Vec<u64>, Vec<(u32, onrecord_corpus::Line)>);

/// The seeds and renderings asked for.
fn select(a: &Args) -> Result<Selection, String> {
    let mut seeds = onrecord_corpus::seeds(&a.set)?;
    if let Some(range) = &a.seeds {
        let bad = || format!("--seeds {range:?}: a seed or FIRST-LAST");
        let (lo, hi) = match range.split_once('-') {
            Some((l, h)) => (l.parse().map_err(|_| bad())?, h.parse().map_err(|_| bad())?),
            None => {
                let v = range.parse().map_err(|_| bad())?;
                (v, v)
            }
        };
        seeds.retain(|s| (lo..=hi).contains(s));
    }
    let renderings: Vec<_> = onrecord_corpus::RENDERINGS
        .into_iter()
        .filter(|(rate, line)| {
            a.rendering
                .as_deref()
                .is_none_or(|r| r == format!("{rate}-{}", format!("{line:?}").to_lowercase()))
        })
        .collect();
    if seeds.is_empty() || renderings.is_empty() {
        return Err("nothing selected: see --seeds and --rendering".into());
    }
    Ok((seeds, renderings))
}
