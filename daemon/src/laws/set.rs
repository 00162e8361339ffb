//! The validated, immutable law tables the engine works on. Built only by [`super::load`].

use super::model::NumberKind;
use onrecord_interface::{Confidence, Consent, Medium, NoticeCounts, NoticeMechanism, Regime};
use std::collections::BTreeMap;
use std::path::PathBuf;

/// Which layer an entry came from.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Origin {
    Shipped,
    User,
}

impl Origin {
    pub fn as_str(self) -> &'static str {
        match self {
            Origin::Shipped => "shipped",
            Origin::User => "user",
        }
    }
}

#[derive(Clone, Debug)]
pub struct Rule {
    pub media: Vec<Medium>,
    pub regime: Regime,
    pub consent: Consent,
    /// As written; `None` only for one-party and notice rules, where it is moot.
    pub notice_counts: Option<NoticeCounts>,
    pub mechanisms: Vec<NoticeMechanism>,
    pub citations: Vec<String>,
    pub note: Option<String>,
}

impl Rule {
    /// Whether a recorded notice stands in for consent under this rule.
    pub fn notice_counts(&self) -> NoticeCounts {
        match (self.consent, self.notice_counts) {
            (_, Some(n)) => n,
            (Consent::OneParty | Consent::Notice, None) => NoticeCounts::Yes,
            (Consent::AllParty | Consent::Unsettled, None) => NoticeCounts::Unsettled,
        }
    }
}

#[derive(Clone, Debug)]
pub struct Source {
    pub url: String,
    pub publisher: String,
    pub updated: Option<String>,
}

#[derive(Clone, Debug)]
pub struct Jurisdiction {
    pub id: String,
    pub name: String,
    pub parent: Option<String>,
    pub confidence: Confidence,
    pub last_verified: String,
    pub notes: String,
    pub disputed: Option<String>,
    pub choice_of_law: Option<String>,
    pub no_rule_for: Vec<Medium>,
    pub rules: Vec<Rule>,
    pub sources: Vec<Source>,
    pub origin: Origin,
    pub file: PathBuf,
}

impl Jurisdiction {
    pub fn rules_for(&self, medium: Medium) -> impl Iterator<Item = &Rule> {
        self.rules.iter().filter(move |r| r.media.contains(&medium))
    }

    /// The strictest consent among this jurisdiction's own rules for `medium`, or what it does
    /// when it has none: `inherits` or `not-researched`.
    pub fn summary_for(&self, medium: Medium) -> String {
        match self
            .rules_for(medium)
            .map(|r| r.consent)
            .max_by_key(|c| c.strictness())
        {
            Some(c) => c.as_str().to_owned(),
            None if self.rules.is_empty() || self.no_rule_for.contains(&medium) => {
                "inherits".to_owned()
            }
            None => "not-researched".to_owned(),
        }
    }
}

/// A prefix of a numbering plan: where its numbers are.
#[derive(Clone, Debug)]
pub struct Area {
    pub kind: NumberKind,
    pub jurisdictions: Vec<String>,
    pub note: Option<String>,
}

#[derive(Clone, Debug)]
pub struct Plan {
    pub calling_code: u32,
    pub name: String,
    pub country: Option<String>,
    /// Leading digits of the national number -> area; the longest match wins.
    pub areas: BTreeMap<String, Area>,
}

/// The whole validated set: shipped tables overlaid by the user's.
#[derive(Debug)]
pub struct LawSet {
    pub jurisdictions: BTreeMap<String, Jurisdiction>,
    /// Parent id -> ids of its subdivisions.
    pub children: BTreeMap<String, Vec<String>>,
    pub plans: BTreeMap<u32, Plan>,
    /// `sha256:<hex>` over every file read, in order.
    pub digest: String,
}

impl LawSet {
    pub fn get(&self, id: &str) -> Option<&Jurisdiction> {
        self.jurisdictions.get(id)
    }

    pub fn subdivisions(&self, id: &str) -> &[String] {
        self.children.get(id).map(Vec::as_slice).unwrap_or(&[])
    }

    /// `id`, its parent, its parent's parent, ...: every layer whose rules apply there.
    pub fn chain<'a>(&'a self, id: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        let mut next = Some(id);
        std::iter::from_fn(move || {
            let cur = next?;
            next = self.get(cur).and_then(|j| j.parent.as_deref());
            Some(cur)
        })
    }
}
