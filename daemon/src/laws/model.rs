//! The law tables as they are written in TOML (`laws/*.toml`, `laws/numbering/*.toml`).
//!
//! Unknown fields and unknown values are rejected by serde (`deny_unknown_fields`, closed
//! enums); the spans kept here let the validator name the file, line and field of a mistake.

use onrecord_interface::{Confidence, Consent, Medium, NoticeCounts, NoticeMechanism, Regime};
use serde::Deserialize;
use toml::Spanned;

/// The only schema this daemon reads.
pub const SCHEMA_VERSION: u32 = 1;

/// One TOML file: jurisdictions, numbering plans, or both.
#[derive(Deserialize, Debug)]
#[serde(deny_unknown_fields)]
pub struct LawFile {
    pub schema_version: Spanned<u32>,
    #[serde(default)]
    pub jurisdiction: Vec<Spanned<JurisdictionToml>>,
    #[serde(default)]
    pub plan: Vec<Spanned<PlanToml>>,
}

#[derive(Deserialize, Debug)]
#[serde(deny_unknown_fields)]
pub struct JurisdictionToml {
    pub id: Spanned<String>,
    pub name: String,
    pub parent: Option<Spanned<String>>,
    pub confidence: Confidence,
    pub last_verified: Spanned<String>,
    pub notes: String,
    pub disputed: Option<String>,
    pub choice_of_law: Option<String>,
    #[serde(default)]
    pub no_rule_for: Vec<Medium>,
    #[serde(default)]
    pub rule: Vec<Spanned<RuleToml>>,
    #[serde(default)]
    pub source: Vec<Spanned<SourceToml>>,
}

#[derive(Deserialize, Debug, Clone)]
#[serde(deny_unknown_fields)]
pub struct RuleToml {
    pub media: Vec<Medium>,
    pub regime: Regime,
    pub consent: Consent,
    pub notice_counts_as_consent: Option<NoticeCounts>,
    #[serde(default)]
    pub notice_mechanisms: Vec<NoticeMechanism>,
    #[serde(default)]
    pub citations: Vec<String>,
    pub note: Option<String>,
}

#[derive(Deserialize, Debug, Clone)]
#[serde(deny_unknown_fields)]
pub struct SourceToml {
    pub url: String,
    pub publisher: String,
    pub updated: Option<Spanned<String>>,
}

#[derive(Deserialize, Debug)]
#[serde(deny_unknown_fields)]
pub struct PlanToml {
    pub calling_code: Spanned<u32>,
    pub name: String,
    /// The country of every number in the plan; absent for shared plans (NANP), where each
    /// area names its own jurisdictions.
    pub country: Option<Spanned<String>>,
    #[serde(default)]
    pub area: Vec<Spanned<AreaToml>>,
}

#[derive(Deserialize, Debug)]
#[serde(deny_unknown_fields)]
pub struct AreaToml {
    pub kind: AreaKind,
    pub jurisdictions: Option<Spanned<Vec<String>>>,
    pub prefixes: Spanned<Vec<String>>,
    pub note: Option<String>,
}

/// What kind of numbers an area prefix holds.
#[derive(Deserialize, Debug, Clone, Copy, PartialEq, Eq)]
#[serde(rename_all = "kebab-case")]
pub enum AreaKind {
    Geographic,
    Mobile,
    TollFree,
    Premium,
    Personal,
    NonGeographic,
    Government,
}

impl AreaKind {
    pub fn as_str(self) -> &'static str {
        match self {
            AreaKind::Geographic => "geographic",
            AreaKind::Mobile => "mobile",
            AreaKind::TollFree => "toll-free",
            AreaKind::Premium => "premium",
            AreaKind::Personal => "personal",
            AreaKind::NonGeographic => "non-geographic",
            AreaKind::Government => "government",
        }
    }
}
