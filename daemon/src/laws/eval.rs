//! The engine: what consent a call needs, from the law set. Pure code, no I/O.
//!
//! Strictest wins across the recorder's jurisdiction with its parents and every other party's
//! jurisdiction with its parents. What is not known (a location, a rule, the law itself) counts
//! as all-party: onrecord never guesses in the lenient direction.

use super::number::{self, NumberError};
use super::set::{Jurisdiction, LawSet, Rule};
use onrecord_interface::{
    Confidence, Consent, Decision, GoverningRule, Location, Medium, NoticeCounts, NoticeMechanism,
    Party, Regime, Requirement, Warning,
};
use std::collections::BTreeSet;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EvalError {
    #[error("unknown jurisdiction {0:?} (see `onrecordctl laws list`)")]
    UnknownJurisdiction(String),
    #[error(transparent)]
    InvalidNumber(#[from] NumberError),
}

/// The party input for someone whose location nobody knows (no number, a withheld one).
pub const UNKNOWN: &str = "unknown";

/// Reads one party: a jurisdiction id (`US-WA`, case-insensitive), a phone number, or
/// `unknown`.
pub fn resolve(
    set: &LawSet,
    input: &str,
    default_country: Option<&str>,
) -> Result<Party, EvalError> {
    let trimmed = input.trim();
    // A party whose number is withheld or who called from an application: nobody knows.
    if trimmed.eq_ignore_ascii_case(UNKNOWN) {
        return Ok(Party {
            input: UNKNOWN.to_owned(),
            location: Location::Unknown,
            jurisdiction: String::new(),
            candidates: vec![],
            detail: "no number: where they are is not known".to_owned(),
        });
    }
    if looks_like_id(trimmed) {
        let id = trimmed.to_ascii_uppercase();
        if set.get(&id).is_none() {
            return Err(EvalError::UnknownJurisdiction(trimmed.to_owned()));
        }
        let p = Party {
            input: input.to_owned(),
            location: Location::Explicit,
            jurisdiction: id.clone(),
            candidates: vec![],
            detail: "given".to_owned(),
        };
        return Ok(number::country_party(set, p));
    }
    Ok(number::lookup(set, trimmed, default_country)?.party)
}

/// The recorder must be given as a jurisdiction in the tables.
pub fn resolve_recorder(set: &LawSet, id: &str) -> Result<Party, EvalError> {
    if !looks_like_id(id.trim()) {
        return Err(EvalError::UnknownJurisdiction(id.to_owned()));
    }
    resolve(set, id, None)
}

fn looks_like_id(s: &str) -> bool {
    super::load::is_jurisdiction_id(&s.to_ascii_uppercase())
}

/// One rule's weight in a decision.
struct Contribution {
    strictness: u8,
    rule: GoverningRule,
    mechanisms: Vec<NoticeMechanism>,
}

/// Decides what consent a call between `recorder` and `parties` needs over `medium`.
pub fn evaluate(set: &LawSet, recorder: &Party, parties: &[Party], medium: Medium) -> Decision {
    let mut contribs = Vec::new();
    let mut warnings = BTreeSet::new();
    for p in std::iter::once(recorder).chain(parties) {
        party_contributions(set, p, medium, &mut contribs, &mut warnings);
    }
    if contribs.is_empty() {
        contribs.push(policy(
            "no researched rule covers this call",
            Consent::Unsettled,
        ));
        warnings.insert(warn(
            "not-researched",
            "",
            format!("no rule in the tables covers a {medium} call here"),
        ));
    }
    let max = contribs.iter().map(|c| c.strictness).max().unwrap_or(2);
    let requirement = if max >= 2 {
        Requirement::AllParty
    } else {
        Requirement::OneParty
    };
    let mut seen = BTreeSet::new();
    let mut governing: Vec<Contribution> = contribs
        .into_iter()
        .filter(|c| c.strictness == max)
        .filter(|c| {
            seen.insert((
                c.rule.jurisdiction.clone(),
                c.rule.rule.clone(),
                c.rule.citations.clone(),
            ))
        })
        .collect();
    governing.sort_by(|a, b| {
        (&a.rule.jurisdiction, &a.rule.rule).cmp(&(&b.rule.jurisdiction, &b.rule.rule))
    });
    let notice_counts_as_consent = requirement == Requirement::OneParty
        || governing
            .iter()
            .all(|c| c.rule.notice_counts_as_consent == NoticeCounts::Yes);
    let accepted_notice = if requirement == Requirement::AllParty && notice_counts_as_consent {
        let mut it = governing
            .iter()
            .map(|c| c.mechanisms.iter().copied().collect::<BTreeSet<_>>());
        let first = it.next().unwrap_or_default();
        it.fold(first, |acc, s| acc.intersection(&s).copied().collect())
            .into_iter()
            .collect()
    } else {
        Vec::new()
    };
    for c in &governing {
        if let Some(j) = set.get(&c.rule.jurisdiction) {
            if let Some(d) = &j.disputed {
                warnings.insert(warn("disputed", &j.id, format!("{}: {d}", j.name)));
            }
            if let Some(law) = &j.choice_of_law {
                warnings.insert(warn("choice-of-law", &j.id, format!("{}: {law}", j.name)));
            }
        }
    }
    Decision {
        requirement,
        notice_counts_as_consent,
        accepted_notice,
        notice_required_by_law: max >= 1,
        medium,
        recorder: recorder.clone(),
        parties: parties.to_vec(),
        governing: governing.into_iter().map(|c| c.rule).collect(),
        warnings: warnings.into_iter().collect(),
        tables_digest: set.digest.clone(),
    }
}

fn party_contributions(
    set: &LawSet,
    p: &Party,
    medium: Medium,
    out: &mut Vec<Contribution>,
    warnings: &mut BTreeSet<Warning>,
) {
    match p.location {
        Location::Explicit | Location::Number => {
            chain_contributions(set, &p.jurisdiction, medium, out, warnings)
        }
        Location::Ambiguous => {
            warnings.insert(warn(
                "ambiguous-location",
                "",
                format!(
                    "{}: could be in {} ({}); the strictest applies",
                    p.input,
                    p.candidates.join(", "),
                    p.detail
                ),
            ));
            for c in &p.candidates {
                chain_contributions(set, c, medium, out, warnings);
            }
        }
        Location::Unknown => {
            warnings.insert(warn(
                "unknown-location",
                "",
                format!(
                    "{}: location unknown ({}); treated as all-party",
                    p.input, p.detail
                ),
            ));
            out.push(policy(
                "location unknown: treated as all-party",
                Consent::AllParty,
            ));
        }
    }
}

/// The rules of `id` and of each of its parents for `medium`.
fn chain_contributions(
    set: &LawSet,
    id: &str,
    medium: Medium,
    out: &mut Vec<Contribution>,
    warnings: &mut BTreeSet<Warning>,
) {
    for jid in set.chain(id) {
        let Some(j) = set.get(jid) else {
            warnings.insert(warn(
                "no-table",
                jid,
                format!("{jid}: not in the law tables; treated as all-party"),
            ));
            out.push(unknown_law(
                jid,
                "",
                "no law table: treated as all-party".into(),
            ));
            return;
        };
        if j.confidence == Confidence::Low {
            warnings.insert(warn(
                "low-confidence",
                &j.id,
                format!(
                    "{}: the research behind this table is of low confidence",
                    j.name
                ),
            ));
        }
        let mut any = false;
        for r in j.rules_for(medium) {
            any = true;
            if r.consent == Consent::Unsettled {
                warnings.insert(warn(
                    "unsettled",
                    &j.id,
                    format!("{}: the law is unsettled; treated as all-party", j.name),
                ));
            }
            out.push(from_rule(j, r, medium));
        }
        if !any && !j.rules.is_empty() && !j.no_rule_for.contains(&medium) {
            warnings.insert(warn(
                "not-researched",
                &j.id,
                format!(
                    "{}: no rule for {medium} is in the tables; treated as all-party",
                    j.name
                ),
            ));
            out.push(unknown_law(
                &j.id,
                &j.name,
                format!("{medium}: not researched, treated as all-party"),
            ));
        }
    }
}

fn from_rule(j: &Jurisdiction, r: &Rule, medium: Medium) -> Contribution {
    let what = match r.consent {
        Consent::OneParty => "one-party consent",
        Consent::Notice => "notice to every party",
        Consent::AllParty => "all-party consent",
        Consent::Unsettled => "unsettled (treated as all-party)",
    };
    Contribution {
        strictness: r.consent.strictness(),
        rule: GoverningRule {
            jurisdiction: j.id.clone(),
            name: j.name.clone(),
            rule: format!("{what} ({medium}, {})", r.regime),
            consent: r.consent,
            regime: r.regime,
            notice_counts_as_consent: r.notice_counts(),
            citations: r.citations.clone(),
        },
        mechanisms: r.mechanisms.clone(),
    }
}

/// A jurisdiction whose law for the call is not known: it counts as all-party.
fn unknown_law(jurisdiction: &str, name: &str, why: String) -> Contribution {
    Contribution {
        strictness: Consent::Unsettled.strictness(),
        rule: GoverningRule {
            jurisdiction: jurisdiction.to_owned(),
            name: name.to_owned(),
            rule: why,
            consent: Consent::Unsettled,
            regime: Regime::Criminal,
            notice_counts_as_consent: NoticeCounts::Unsettled,
            citations: vec![],
        },
        mechanisms: vec![],
    }
}

/// A requirement of onrecord's own policy, not of a law.
fn policy(why: &str, consent: Consent) -> Contribution {
    Contribution {
        strictness: consent.strictness(),
        rule: GoverningRule {
            jurisdiction: String::new(),
            name: "onrecord policy".into(),
            rule: why.to_owned(),
            consent,
            regime: Regime::Criminal,
            notice_counts_as_consent: NoticeCounts::No,
            citations: vec![],
        },
        mechanisms: vec![],
    }
}

fn warn(kind: &str, jurisdiction: &str, message: String) -> Warning {
    Warning {
        kind: kind.to_owned(),
        jurisdiction: jurisdiction.to_owned(),
        message,
    }
}

#[cfg(test)]
#[path = "eval_tests.rs"]
mod tests;
