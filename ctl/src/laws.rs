//! `onrecordctl laws ...` and `status`.

use crate::fail::Fail;
use crate::text::{emit, utc, wrap};
use clap::Subcommand;
use onrecord_interface::{
    DaemonProxy, Decision, JurisdictionInfo, LawsProxy, Location, NumberInfo, Party, Requirement,
};
use serde::Serialize;
use zbus::proxy::CacheProperties;

const WIDTH: usize = 88;

/// A one-shot client reads each property once: caching would only add a GetAll and a match
/// rule to every command.
async fn laws_proxy(conn: &zbus::Connection) -> Result<LawsProxy<'static>, Fail> {
    Ok(LawsProxy::builder(conn)
        .cache_properties(CacheProperties::No)
        .build()
        .await?)
}

#[derive(Subcommand, Debug)]
pub enum LawsCmd {
    /// What consent would a call need? Explains the decision and its citations.
    Check {
        /// Your jurisdiction (US-TX); default: the configured one.
        #[arg(long, value_name = "ID")]
        me: Option<String>,
        /// Another party: a phone number or a jurisdiction id. Repeat for each party.
        #[arg(long, value_name = "NUMBER|ID", required = true)]
        them: Vec<String>,
        /// phone, in-person or electronic.
        #[arg(long, default_value = "phone")]
        medium: String,
        /// One JSON object.
        #[arg(long)]
        json: bool,
    },
    /// One jurisdiction's table: rules, citations, sources. Given a phone number: what kind of
    /// number it is, where it is, and the table of its jurisdiction.
    Show {
        #[arg(value_name = "ID|NUMBER")]
        id: String,
        #[arg(long)]
        json: bool,
    },
    /// Every jurisdiction in the tables.
    List {
        #[arg(long)]
        json: bool,
    },
    /// Re-read the tables from disk now.
    Reload,
    /// Where is a phone number?
    Lookup {
        number: String,
        #[arg(long)]
        json: bool,
    },
}

pub fn print_json<T: Serialize>(v: &T) -> Result<(), Fail> {
    let s = serde_json::to_string_pretty(v)
        .map_err(|e| Fail::Other(format!("cannot write JSON: {e}")))?;
    emit(&format!("{s}\n"))
}

pub async fn run(conn: &zbus::Connection, cmd: LawsCmd) -> Result<(), Fail> {
    let laws = laws_proxy(conn).await?;
    match cmd {
        LawsCmd::Check {
            me,
            them,
            medium,
            json,
        } => {
            let refs: Vec<&str> = them.iter().map(String::as_str).collect();
            let d = laws
                .evaluate(me.as_deref().unwrap_or(""), &refs, &medium)
                .await?;
            if json {
                let numbers = numbers_of(&laws, &d, me.is_some()).await;
                print_json(&CheckJson {
                    decision: &d,
                    numbers,
                })
            } else {
                emit(&explain(&d))
            }
        }
        LawsCmd::Show { id, json } if looks_like_number(&id) => {
            let n = laws.lookup_number(&id).await?;
            let j = match n.party.jurisdiction.as_str() {
                "" => None,
                jid => Some(laws.get_jurisdiction(jid).await?),
            };
            if json {
                print_json(&serde_json::json!({ "number": n, "jurisdiction": j }))
            } else {
                let mut o = lookup(&n);
                if let Some(j) = &j {
                    o.push('\n');
                    o.push_str(&show(j));
                }
                emit(&o)
            }
        }
        LawsCmd::Show { id, json } => {
            let j = laws.get_jurisdiction(&id).await?;
            if json {
                print_json(&j)
            } else {
                emit(&show(&j))
            }
        }
        LawsCmd::List { json } => {
            let list = laws.list_jurisdictions().await?;
            if json {
                return print_json(&list);
            }
            let mut o = format!(
                "{:<8} {:<44} {:<14} {:<14} {}\n",
                "ID", "NAME", "PHONE", "IN-PERSON", "CONFIDENCE"
            );
            for j in &list {
                let user = if j.origin == "user" { " (yours)" } else { "" };
                o.push_str(&format!(
                    "{:<8} {:<44} {:<14} {:<14} {}{}\n",
                    j.id, j.name, j.phone, j.in_person, j.confidence, user
                ));
            }
            emit(&o)
        }
        LawsCmd::Reload => {
            let digest = laws.reload().await?;
            let count = laws.jurisdiction_count().await?;
            emit(&format!(
                "reloaded: {count} jurisdictions, tables {digest}\n"
            ))
        }
        LawsCmd::Lookup { number, json } => {
            let n = laws.lookup_number(&number).await?;
            if json {
                print_json(&n)
            } else {
                emit(&lookup(&n))
            }
        }
    }
}

/// `laws check --json`: the decision as the daemon gave it, and what kind of number each party
/// given as a number is.
#[derive(Serialize)]
struct CheckJson<'a> {
    #[serde(flatten)]
    decision: &'a Decision,
    /// One per party, in order: `LookupNumber`'s answer for a party given as a phone number;
    /// null for a jurisdiction id, and for a national-form number with `--me` (the daemon reads
    /// those in your configured country, the decision in `--me`'s).
    numbers: Vec<Option<NumberInfo>>,
}

fn looks_like_number(s: &str) -> bool {
    let s = s.trim_start();
    s.starts_with('+') || s.starts_with(|c: char| c.is_ascii_digit() || c == '(')
}

async fn numbers_of(laws: &LawsProxy<'_>, d: &Decision, me_given: bool) -> Vec<Option<NumberInfo>> {
    let mut out = Vec::with_capacity(d.parties.len());
    for p in &d.parties {
        let national = !p.input.trim_start().starts_with('+');
        let n = if p.location == Location::Explicit || (national && me_given) {
            None
        } else {
            laws.lookup_number(&p.input).await.ok()
        };
        out.push(n);
    }
    out
}

#[derive(Serialize)]
struct Status {
    version: String,
    api_version: (u32, u32),
    tables_digest: String,
    jurisdiction_count: u32,
    loaded_at: String,
    last_reload_error: String,
    user_jurisdiction: String,
}

pub async fn status(conn: &zbus::Connection, json: bool) -> Result<(), Fail> {
    let daemon = DaemonProxy::builder(conn)
        .cache_properties(CacheProperties::No)
        .build()
        .await?;
    let laws = laws_proxy(conn).await?;
    let s = Status {
        version: daemon.version().await?,
        api_version: daemon.api_version().await?,
        tables_digest: laws.tables_digest().await?,
        jurisdiction_count: laws.jurisdiction_count().await?,
        loaded_at: utc(laws.loaded_at().await?),
        last_reload_error: laws.last_reload_error().await?,
        user_jurisdiction: laws.user_jurisdiction().await?,
    };
    if json {
        return print_json(&s);
    }
    let mut o = format!(
        "onrecordd {} (API {}.{})\n",
        s.version, s.api_version.0, s.api_version.1
    );
    let me = if s.user_jurisdiction.is_empty() {
        "not configured"
    } else {
        &s.user_jurisdiction
    };
    o.push_str(&format!("your jurisdiction: {me}\n"));
    o.push_str(&format!(
        "law tables: {} jurisdictions, loaded {}, {}\n",
        s.jurisdiction_count, s.loaded_at, s.tables_digest
    ));
    if !s.last_reload_error.is_empty() {
        o.push_str(&format!(
            "last reload {} (the tables above stay in use):\n",
            crate::style::bad("FAILED")
        ));
        for line in s.last_reload_error.lines() {
            o.push_str(&format!("  {line}\n"));
        }
    }
    emit(&o)
}

fn where_is(p: &Party) -> String {
    match p.location {
        Location::Explicit => format!("{} (given)", p.jurisdiction),
        Location::Number => format!("{} ({})", p.jurisdiction, p.detail),
        Location::Ambiguous => format!("one of {} ({})", p.candidates.join(", "), p.detail),
        Location::Unknown => format!("unknown ({})", p.detail),
    }
}

/// The human explanation of a decision: the answer first, then why.
pub fn explain(d: &Decision) -> String {
    let mut o = String::new();
    match d.requirement {
        Requirement::AllParty => o.push_str(&format!(
            "{} consent: every other party must agree before you record.\n",
            crate::style::warn("ALL-PARTY")
        )),
        Requirement::OneParty if d.notice_required_by_law => o.push_str(&format!(
            "{} consent, but the law requires telling everyone you are recording.\n",
            crate::style::good("ONE-PARTY")
        )),
        Requirement::OneParty => o.push_str(&format!(
            "{} consent: your own consent is enough in law.\n",
            crate::style::good("ONE-PARTY")
        )),
    }
    o.push_str("onrecord always tells the other side before recording.\n");
    o.push_str(&format!("\nWhy ({} call):\n", d.medium));
    for g in &d.governing {
        let who = if g.jurisdiction.is_empty() {
            g.name.clone()
        } else {
            format!("{} {}", g.jurisdiction, g.name)
        };
        o.push_str(&format!("  {who}: {}\n", g.rule));
        if !g.citations.is_empty() {
            o.push_str(&wrap(&g.citations.join("; "), 6, WIDTH));
        }
    }
    o.push_str("\nParties:\n");
    o.push_str(&format!("  you: {}\n", where_is(&d.recorder)));
    for p in &d.parties {
        if p.location == Location::Explicit {
            o.push_str(&format!("  {}\n", where_is(p)));
        } else {
            o.push_str(&format!("  {}: {}\n", p.input, where_is(p)));
        }
    }
    if d.requirement == Requirement::AllParty {
        let yes = if d.notice_counts_as_consent {
            "yes"
        } else {
            "no"
        };
        o.push_str(&format!("\nA recorded notice counts as consent: {yes}"));
        if !d.accepted_notice.is_empty() {
            let m: Vec<&str> = d.accepted_notice.iter().map(|m| m.as_str()).collect();
            o.push_str(&format!(" ({})", m.join(", ")));
        }
        o.push('\n');
    }
    if !d.warnings.is_empty() {
        o.push_str("\nWarnings:\n");
        for w in &d.warnings {
            o.push_str(&wrap(&format!("! {}", w.message), 2, WIDTH));
        }
    }
    o.push_str(&format!("\nTables: {}\n", d.tables_digest));
    o
}

fn show(j: &JurisdictionInfo) -> String {
    let mut o = String::new();
    let parent = if j.parent.is_empty() {
        String::new()
    } else {
        format!(", part of {}", j.parent)
    };
    o.push_str(&format!("{} {}{parent}\n", j.id, j.name));
    o.push_str(&format!(
        "  confidence {}, last verified {}; from the {} tables ({})\n",
        j.confidence, j.last_verified, j.origin, j.file
    ));
    o.push_str("\nRules:\n");
    if j.rules.is_empty() {
        o.push_str(&format!("  none of its own: {}'s rules govern\n", j.parent));
    }
    for r in &j.rules {
        let media: Vec<&str> = r.media.iter().map(|m| m.as_str()).collect();
        o.push_str(&format!(
            "  {} ({}): {}",
            media.join(", "),
            r.regime,
            r.consent
        ));
        if matches!(
            r.consent,
            onrecord_interface::Consent::AllParty | onrecord_interface::Consent::Unsettled
        ) {
            o.push_str(&format!(
                "; a notice counts as consent: {}",
                r.notice_counts_as_consent
            ));
        }
        o.push('\n');
        if !r.notice_mechanisms.is_empty() {
            let m: Vec<&str> = r.notice_mechanisms.iter().map(|m| m.as_str()).collect();
            o.push_str(&format!("      accepted notice: {}\n", m.join(", ")));
        }
        o.push_str(&wrap(&r.citations.join("; "), 6, WIDTH));
        if !r.note.is_empty() {
            o.push_str(&wrap(&r.note, 6, WIDTH));
        }
    }
    for m in &j.no_rule_for {
        o.push_str(&format!(
            "  {m}: no rule of its own; the others' rules govern\n"
        ));
    }
    o.push_str("\nNotes:\n");
    o.push_str(&wrap(&j.notes, 2, WIDTH));
    if !j.disputed.is_empty() {
        o.push_str("\nSources disagree:\n");
        o.push_str(&wrap(&j.disputed, 2, WIDTH));
    }
    if !j.choice_of_law.is_empty() {
        o.push_str("\nAcross borders:\n");
        o.push_str(&wrap(&j.choice_of_law, 2, WIDTH));
    }
    if !j.sources.is_empty() {
        o.push_str("\nSources:\n");
        for s in &j.sources {
            let when = if s.updated.is_empty() {
                String::new()
            } else {
                format!(", updated {}", s.updated)
            };
            o.push_str(&format!("  {} ({}{when})\n", s.url, s.publisher));
        }
    }
    o
}

fn lookup(n: &NumberInfo) -> String {
    let country = if n.country.is_empty() {
        String::new()
    } else {
        format!(", country {}", n.country)
    };
    let kind = if n.kind.starts_with(|c: char| "aeiou".contains(c)) {
        format!("an {}", n.kind)
    } else {
        format!("a {}", n.kind)
    };
    format!(
        "{}: {kind} number{country}\n  location: {}\n",
        n.e164,
        where_is(&n.party)
    )
}

pub async fn devices(conn: &zbus::Connection, json: bool) -> Result<(), Fail> {
    let daemon = DaemonProxy::builder(conn)
        .cache_properties(CacheProperties::No)
        .build()
        .await?;
    let (devices, problems) = daemon.list_devices().await?;
    if json {
        return print_json(&serde_json::json!({ "devices": devices, "problems": problems }));
    }
    let mut o = format!(
        "{:<8} {:<1} {:<44} {:<8} {:<16} {}\n",
        "KIND", "", "ID", "CHANNELS", "RATES", "NAME"
    );
    for d in &devices {
        let rates: Vec<String> = d.rates.iter().map(|r| r.to_string()).collect();
        o.push_str(&format!(
            "{:<8} {:<1} {:<44} {:<8} {:<16} {}\n",
            d.kind,
            if d.is_default { "*" } else { "" },
            d.id,
            d.channels,
            rates.join(","),
            d.name
        ));
    }
    if devices.is_empty() {
        o.push_str("(no devices: is a PipeWire server running, or an ALSA device present?)\n");
    } else {
        o.push_str(
            "* the default of its kind; `default` and `monitor` in [capture] follow the defaults\n",
        );
    }
    for p in &problems {
        o.push_str(&format!("problem: {p}\n"));
    }
    emit(&o)
}

pub async fn plugins(conn: &zbus::Connection, json: bool) -> Result<(), Fail> {
    let daemon = DaemonProxy::builder(conn)
        .cache_properties(CacheProperties::No)
        .build()
        .await?;
    let list = daemon.plugins().await?;
    if json {
        return print_json(&list);
    }
    let mut o = format!(
        "{:<9} {:<14} {:<9} {:<38} {}\n",
        "STATUS", "ID", "VERSION", "INTERFACES", "PATH"
    );
    for p in &list {
        let id = if p.id.is_empty() { "?" } else { &p.id };
        o.push_str(&format!(
            "{:<9} {:<14} {:<9} {:<38} {}\n",
            p.status.as_str(),
            id,
            p.version,
            p.interfaces.join(" "),
            p.path
        ));
        if !p.detail.is_empty() {
            o.push_str(&format!("          {}\n", p.detail));
        }
    }
    if list.is_empty() {
        o.push_str("(no plugins found)\n");
    }
    emit(&o)
}
