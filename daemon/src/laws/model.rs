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
    pub kind: NumberKind,
    pub jurisdictions: Option<Spanned<Vec<String>>>,
    pub prefixes: Spanned<Vec<String>>,
    pub note: Option<String>,
}

/// What kind of number a number is: written by the tables for an area prefix, or read from
/// libphonenumber's metadata for the number itself.
#[derive(Deserialize, Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
#[serde(rename_all = "kebab-case")]
pub enum NumberKind {
    /// A fixed line: it rings at a place.
    Geographic,
    Mobile,
    /// A fixed line or a mobile, which the number alone cannot tell apart (NANP).
    GeographicOrMobile,
    TollFree,
    Premium,
    SharedCost,
    Personal,
    Voip,
    Pager,
    /// A universal access ("company") number, routed to any of a company's offices.
    Uan,
    Voicemail,
    NonGeographic,
    Government,
}

impl NumberKind {
    pub fn as_str(self) -> &'static str {
        match self {
            NumberKind::Geographic => "geographic",
            NumberKind::Mobile => "mobile",
            NumberKind::GeographicOrMobile => "geographic-or-mobile",
            NumberKind::TollFree => "toll-free",
            NumberKind::Premium => "premium",
            NumberKind::SharedCost => "shared-cost",
            NumberKind::Personal => "personal",
            NumberKind::Voip => "voip",
            NumberKind::Pager => "pager",
            NumberKind::Uan => "uan",
            NumberKind::Voicemail => "voicemail",
            NumberKind::NonGeographic => "non-geographic",
            NumberKind::Government => "government",
        }
    }

    /// For people: "a toll-free number".
    pub fn describe(self) -> &'static str {
        match self {
            NumberKind::Geographic => "a fixed-line number",
            NumberKind::Mobile => "a mobile number",
            NumberKind::GeographicOrMobile => "a fixed-line or mobile number",
            NumberKind::TollFree => "a toll-free number",
            NumberKind::Premium => "a premium-rate number",
            NumberKind::SharedCost => "a shared-cost number",
            NumberKind::Personal => "a personal number",
            NumberKind::Voip => "a VoIP number",
            NumberKind::Pager => "a pager number",
            NumberKind::Uan => "a universal access (company) number",
            NumberKind::Voicemail => "a voicemail access number",
            NumberKind::NonGeographic => "a non-geographic number",
            NumberKind::Government => "a government number",
        }
    }

    /// Whether a number of this kind is at least in its country. The others (toll-free,
    /// premium, shared-cost, personal, VoIP, pager, UAN, voicemail, ...) are routed wherever
    /// their owner wants: their location is unknown.
    pub fn has_location(self) -> bool {
        matches!(
            self,
            NumberKind::Geographic | NumberKind::Mobile | NumberKind::GeographicOrMobile
        )
    }
}
