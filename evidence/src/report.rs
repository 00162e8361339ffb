//! The human-readable report of a call's evidence: one self-contained, print-friendly HTML page.

use crate::Manifest;
use crate::verify::Report;

fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

fn utc(us: u64) -> String {
    // Civil date from days since the epoch (Howard Hinnant's algorithm).
    let secs = us / 1_000_000;
    let (days, rem) = ((secs / 86_400) as i64, secs % 86_400);
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + if m <= 2 { 1 } else { 0 };
    format!(
        "{y:04}-{m:02}-{d:02} {:02}:{:02}:{:02} UTC",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

fn offset(us: i64) -> String {
    if us < 0 {
        return String::new();
    }
    let s = us as f64 / 1e6;
    format!("{}:{:04.1}", (s / 60.0) as u64, s % 60.0)
}

/// The report. `verified` is the verification of the same evidence, shown at the top.
pub fn html(m: &Manifest, verified: &Report) -> String {
    let mut o = String::new();
    head(&mut o, m);
    verification(&mut o, verified);
    law_basis(&mut o, m);
    parties(&mut o, m);
    consent_evidence(&mut o, m);
    timeline(&mut o, m);
    holds(&mut o, m);
    recordings(&mut o, m);
    o
}

/// The page's head and title: which call, when sealed, by which key.
fn head(o: &mut String, m: &Manifest) {
    let call = &m.call;
    o.push_str("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">");
    o.push_str(&format!("<title>onrecord: {}</title>", esc(&call.label)));
    o.push_str("<style>body{font:14px/1.45 system-ui,sans-serif;max-width:60em;margin:2em auto;color:#111}h1{font-size:1.5em}h2{font-size:1.15em;border-bottom:1px solid #999;margin-top:1.6em}table{border-collapse:collapse;width:100%}td,th{border:1px solid #bbb;padding:.25em .45em;text-align:left;vertical-align:top}.ok{color:#060}.fail{color:#a00;font-weight:bold}code{font-size:.9em;word-break:break-all}@media print{body{margin:0}}</style></head><body>\n");
    o.push_str(&format!("<h1>Call record: {}</h1>\n", esc(&call.label)));
    o.push_str(&format!(
        "<p>Call <code>{}</code>, sealed {}, signed by key <code>{}</code>.</p>\n",
        esc(&call.id),
        utc(m.sealed_utc_us),
        esc(&m.public_key)
    ));
}

/// What the check found, at the top.
fn verification(o: &mut String, verified: &Report) {
    o.push_str("<h2>Verification</h2>\n<ul id=\"verification\">\n");
    for (ok, what) in &verified.checks {
        let (class, mark) = if *ok {
            ("ok", "ok")
        } else {
            ("fail", "FAILED")
        };
        o.push_str(&format!(
            "<li class=\"{class}\">{mark}: {}</li>\n",
            esc(what)
        ));
    }
    o.push_str("</ul>\n");
    o.push_str(&format!(
        "<p><strong>{}</strong></p>\n",
        if verified.ok() {
            "The recording and its consent record are intact."
        } else {
            "The evidence does NOT verify."
        }
    ));
}

/// The decision: requirement, governing rules with citations, warnings.
fn law_basis(o: &mut String, m: &Manifest) {
    let call = &m.call;
    let decision = &call.decision;
    o.push_str("<h2>Law basis</h2>\n");
    o.push_str(&format!(
        "<p>Requirement: <strong>{}</strong>. A recorded notice counted as consent: {}. Law tables <code>{}</code>.</p>\n<ul>\n",
        esc(decision.requirement.as_str()),
        if decision.notice_counts_as_consent { "yes" } else { "no" },
        esc(&decision.tables_digest)
    ));
    for g in &decision.governing {
        o.push_str(&format!(
            "<li>{} {}: {}{}</li>\n",
            esc(&g.jurisdiction),
            esc(&g.name),
            esc(&g.rule),
            if g.citations.is_empty() {
                String::new()
            } else {
                format!(" — {}", esc(&g.citations.join("; ")))
            }
        ));
    }
    o.push_str("</ul>\n");
    let warnings: Vec<&str> = decision
        .warnings
        .iter()
        .map(|w| w.message.as_str())
        .collect();
    if !warnings.is_empty() {
        o.push_str("<p>Warnings:</p><ul>\n");
        for w in warnings {
            o.push_str(&format!("<li>{}</li>\n", esc(w)));
        }
        o.push_str("</ul>\n");
    }
}

/// Who was on the call, where, how they were told and what they answered.
fn parties(o: &mut String, m: &Manifest) {
    let call = &m.call;
    use onrecord_interface::{Answer, Told};
    o.push_str("<h2>Parties</h2>\n<table><tr><th>Party</th><th>Where</th><th>Told</th><th>Answer</th></tr>\n");
    for p in &call.parties {
        let party = &p.party;
        let place = match party.jurisdiction.as_str() {
            "" => format!("{} ({})", party.location, party.detail),
            j => format!("{j} ({})", party.detail),
        };
        o.push_str(&format!(
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>\n",
            esc(&party.input),
            esc(&place),
            esc(match p.notice {
                Told::No => "not told",
                n => n.as_str(),
            }),
            esc(match p.consent {
                Answer::None => "no answer",
                c => c.as_str(),
            })
        ));
    }
    o.push_str("</table>\n");
}

/// Where in the recording to hear the notice and the consent.
fn consent_evidence(o: &mut String, m: &Manifest) {
    let call = &m.call;
    let timeline = &call.timeline;
    use onrecord_interface::TimelineKind;
    o.push_str("<h2>Consent evidence</h2>\n<p>Where to listen in the recording:</p>\n<ul id=\"consent\">\n");
    for e in timeline.iter().filter(|e| {
        matches!(
            e.kind,
            TimelineKind::Notice
                | TimelineKind::Consent
                | TimelineKind::Started
                | TimelineKind::Confirmed
                | TimelineKind::Refused
                | TimelineKind::Withdrawn
        )
    }) {
        let at = e.audio_offset_us;
        let place = if at >= 0 {
            format!("at {} in the recording", offset(at))
        } else {
            "before the recording".into()
        };
        o.push_str(&format!(
            "<li>{} — {}: {}</li>\n",
            esc(&place),
            esc(e.kind.as_str()),
            esc(&e.detail)
        ));
    }
    o.push_str("</ul>\n");
}

/// Every event of the call.
fn timeline(o: &mut String, m: &Manifest) {
    let call = &m.call;
    let timeline = &call.timeline;
    o.push_str("<h2>Timeline</h2>\n<table id=\"timeline\"><tr><th>Time (UTC)</th><th>In the recording</th><th>Event</th><th>State after</th><th>Detail</th></tr>\n");
    for e in timeline {
        o.push_str(&format!(
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>\n",
            utc(e.utc_us),
            offset(e.audio_offset_us),
            esc(e.kind.as_str()),
            esc(e.state.as_str()),
            esc(&e.detail)
        ));
    }
    o.push_str("</table>\n");
}

/// The call analysis: waiting, holds, talk.
fn holds(o: &mut String, m: &Manifest) {
    if let Some(a) = &m.analysis {
        use onrecord_analysis::clock;
        o.push_str("<h2>Waiting and holds</h2>\n<figure id=\"wait-picture\">\n");
        o.push_str(&crate::picture::svg(a));
        o.push_str("<figcaption>The call over its length: what the far side was doing (ringing, a recorded menu, music, silence, announcements, a live agent), the keys you pressed (above the bar), and the holds (under it; a dashed line where a hold passed you to another agent).</figcaption>\n</figure>\n<ul id=\"holds\">\n");
        o.push_str(&format!(
            "<li>Time to agent (first live agent): {}</li>\n<li>Menu (ringing, recorded menus and prompts before the first hold or agent): {}</li>\n<li>On hold: {} in {} hold(s), {} transfer(s)</li>\n",
            a.first_live_s.map_or("never".to_owned(), |t| format!(
                "{} into the recording",
                clock(t)
            )),
            clock(a.menu_s),
            clock(a.hold_s),
            a.holds.len(),
            a.transfers
        ));
        if !a.keys.is_empty() {
            o.push_str(&format!(
                "<li>Keys you pressed: {}</li>\n",
                esc(&a.keys_text())
            ));
        }
        for h in &a.holds {
            o.push_str(&format!(
                "<li>Hold from {} to {} ({}{}): {}</li>\n",
                clock(h.start_s),
                clock(h.end_s),
                clock(h.seconds()),
                if h.open {
                    ", the recording ended on hold"
                } else {
                    ""
                },
                h.contents()
            ));
        }
        o.push_str(&format!(
            "<li>Talk: the far side {}{}</li>\n</ul>\n<p><small>Found by onrecord's call analysis of the far side's channel (live speech, music, silence, tones, repeated announcements); see <code>onrecordctl analyze</code>.</small></p>\n",
            clock(a.talk_far_s),
            a.talk_near_s.map_or(String::new(), |t| format!(", you {}", clock(t)))
        ));
    }
}

/// Each file, its format, hash and chain; the capture counts; the footer.
fn recordings(o: &mut String, m: &Manifest) {
    o.push_str("<h2>Recordings</h2>\n<table><tr><th>File</th><th>Format</th><th>Duration</th><th>SHA-256</th><th>Chain</th></tr>\n");
    for f in &m.files {
        o.push_str(&format!(
            "<tr><td>{}</td><td>{} {} Hz, {} ch</td><td>{:.1} s{}</td><td><code>{}</code></td><td>{} blocks, head <code>{}</code></td></tr>\n",
            esc(&f.name),
            esc(&f.sample_format),
            f.rate,
            f.channels,
            f.duration_s,
            if f.complete { "" } else { " (interrupted)" },
            esc(&f.sha256),
            f.blocks,
            esc(&f.chain_head)
        ));
    }
    o.push_str("</table>\n");
    if let Some(c) = &m.capture {
        o.push_str(&format!(
            "<p>Capture: {} frames written, {} lost to overruns, {} not written while paused.</p>\n",
            c.frames_written, c.overruns, c.not_written_while_paused
        ));
    }
    o.push_str("<p><small>Made by onrecord. Check this evidence with <code>onrecordctl verify</code> on the bundle.</small></p>\n</body></html>\n");
}
