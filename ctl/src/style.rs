//! Colour and progress, for a person at a terminal only: piped or redirected output stays plain
//! text, and `NO_COLOR` (https://no-color.org) turns colour off.

use anstyle::{AnsiColor, Style};
use std::io::IsTerminal;

/// Whether stdout gets colour.
pub fn colour() -> bool {
    std::io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
}

fn paint(text: &str, style: Style) -> String {
    if colour() {
        format!("{style}{text}{style:#}")
    } else {
        text.to_owned()
    }
}

pub fn good(text: &str) -> String {
    paint(text, AnsiColor::Green.on_default().bold())
}

pub fn bad(text: &str) -> String {
    paint(text, AnsiColor::Red.on_default().bold())
}

pub fn warn(text: &str) -> String {
    paint(text, AnsiColor::Yellow.on_default().bold())
}

/// A call's state: green while it records, red when it can never record, bold otherwise.
pub fn state(state: &str) -> String {
    match state {
        "recording" => good(state),
        "refused" | "withdrawn" | "interrupted" => bad(state),
        "proposed" | "awaiting-notice" | "awaiting-consent" | "paused" | "held" => warn(state),
        _ => paint(state, Style::new().bold()),
    }
}

/// A requirement: all-party in yellow (everyone must agree), one-party in green.
pub fn requirement(r: &str) -> String {
    match r {
        "all-party" => warn(r),
        "one-party" => good(r),
        _ => r.to_owned(),
    }
}

/// Progress over `len` steps on stderr: a bar on a terminal; otherwise one line per step
/// (`say`), which logs keep.
pub struct Progress {
    bar: Option<indicatif::ProgressBar>,
}

impl Progress {
    pub fn new(len: u64, what: &str) -> Progress {
        let bar = std::io::stderr().is_terminal().then(|| {
            let b = indicatif::ProgressBar::new(len);
            b.set_style(
                indicatif::ProgressStyle::with_template("{prefix} [{bar:30}] {pos}/{len} {msg}")
                    .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar())
                    .progress_chars("=> "),
            );
            b.set_prefix(what.to_owned());
            b
        });
        Progress { bar }
    }

    /// One step begins: `line` is shown as the bar's message, or printed.
    pub fn step(&self, line: &str) {
        match &self.bar {
            Some(b) => {
                b.set_message(line.to_owned());
                b.inc(1);
            }
            None => eprintln!("  {line}"),
        }
    }

    pub fn done(&self) {
        if let Some(b) = &self.bar {
            b.finish_and_clear();
        }
    }
}
