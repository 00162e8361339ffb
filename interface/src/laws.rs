//! Wire types of `org.onrecord.Laws1`. The same enums name the values in the law TOML files.

use serde::{Deserialize, Serialize};
use zbus::Type;

string_enum! {
    /// How the conversation is carried.
    Medium {
        /// A telephone call, landline, mobile or VoIP.
        Phone = "phone",
        /// A conversation in the same room.
        InPerson = "in-person",
        /// Other electronic communication (messages, data).
        Electronic = "electronic",
    }
}

string_enum! {
    /// Which body of law a rule belongs to.
    Regime {
        Criminal = "criminal",
        Civil = "civil",
    }
}

string_enum! {
    /// What a rule requires before a party may record.
    Consent {
        /// The recorder's own consent suffices.
        OneParty = "one-party",
        /// Open recording suffices: the others must know, but need not agree.
        Notice = "notice",
        /// Every party must consent.
        AllParty = "all-party",
        /// The law is not settled; onrecord treats it as all-party.
        Unsettled = "unsettled",
    }
}

impl Consent {
    /// The rank used by "strictest wins": unsettled ranks with all-party.
    pub fn strictness(self) -> u8 {
        match self {
            Consent::OneParty => 0,
            Consent::Notice => 1,
            Consent::AllParty | Consent::Unsettled => 2,
        }
    }
}

string_enum! {
    /// Whether a recorded notice ("this call is recorded") stands in for explicit consent.
    NoticeCounts {
        Yes = "yes",
        No = "no",
        Unsettled = "unsettled",
    }
}

string_enum! {
    /// Ways of giving notice that a law may accept as consent.
    NoticeMechanism {
        /// A party announces the recording, and the announcement is itself recorded.
        RecordedAnnouncement = "recorded-announcement",
        /// The company's own "this call may be recorded" message, then staying on the line.
        CompanyMessage = "company-message",
        /// Consent given in writing before the call.
        WrittenConsent = "written-consent",
        /// A warning tone repeated during the call.
        BeepTone = "beep-tone",
        /// Recording done openly, with the others' knowledge and no objection.
        OpenKnowledge = "open-knowledge",
    }
}

string_enum! {
    /// How sure the research behind a table entry is.
    Confidence {
        High = "high",
        Medium = "medium",
        Low = "low",
    }
}

string_enum! {
    /// What the daemon requires of a call.
    Requirement {
        OneParty = "one-party",
        AllParty = "all-party",
    }
}

string_enum! {
    /// How a party's jurisdiction was determined.
    Location {
        /// Given as a jurisdiction id.
        Explicit = "explicit",
        /// Inferred from a geographic phone number.
        Number = "number",
        /// Several jurisdictions are possible (listed as candidates).
        Ambiguous = "ambiguous",
        /// Nothing is known (toll-free, unknown plan, ...).
        Unknown = "unknown",
    }
}

/// Where one party of a call is, as the engine understood it.
#[derive(Serialize, Deserialize, Type, Clone, PartialEq, Eq, Debug)]
pub struct Party {
    /// What the caller passed: a jurisdiction id or a phone number.
    pub input: String,
    /// How the location was determined.
    pub location: Location,
    /// The jurisdiction, when exactly one is known; empty otherwise.
    pub jurisdiction: String,
    /// The possible jurisdictions, when ambiguous.
    pub candidates: Vec<String>,
    /// One line for a person: "area code 415", "toll-free: location unknown".
    pub detail: String,
}

/// One rule that decided (or helped decide) the requirement: the "why" of a decision.
#[derive(Serialize, Deserialize, Type, Clone, PartialEq, Eq, Debug)]
pub struct GoverningRule {
    /// The jurisdiction whose rule this is, or empty for a rule of onrecord's own
    /// (an unknown location is treated as all-party).
    pub jurisdiction: String,
    /// The jurisdiction's name.
    pub name: String,
    /// A one-line summary: "all-party consent (phone, criminal)".
    pub rule: String,
    pub consent: Consent,
    pub regime: Regime,
    pub notice_counts_as_consent: NoticeCounts,
    pub citations: Vec<String>,
}

/// Something the user should know about a decision.
#[derive(Serialize, Deserialize, Type, Clone, PartialEq, Eq, PartialOrd, Ord, Debug)]
pub struct Warning {
    /// `unknown-location`, `ambiguous-location`, `unsettled`, `not-researched`, `no-table`,
    /// `low-confidence`, `disputed` or `choice-of-law`.
    pub kind: String,
    /// The jurisdiction concerned, or empty.
    pub jurisdiction: String,
    pub message: String,
}

/// The law's answer for one prospective call.
#[derive(Serialize, Deserialize, Type, Clone, PartialEq, Eq, Debug)]
pub struct Decision {
    pub requirement: Requirement,
    /// Whether a recorded notice may stand in for explicit consent: always true for one-party;
    /// for all-party only when every governing rule says so.
    pub notice_counts_as_consent: bool,
    /// Notice mechanisms every governing rule accepts (when a notice counts).
    pub accepted_notice: Vec<NoticeMechanism>,
    /// Whether some applicable law requires the others to be told (notice or stricter).
    pub notice_required_by_law: bool,
    pub medium: Medium,
    pub recorder: Party,
    pub parties: Vec<Party>,
    /// The rules that set the requirement, strictest first.
    pub governing: Vec<GoverningRule>,
    pub warnings: Vec<Warning>,
    /// `sha256:<hex>` of the tables the decision was made with.
    pub tables_digest: String,
}

/// A phone number as the numbering tables read it.
#[derive(Serialize, Deserialize, Type, Clone, PartialEq, Eq, Debug)]
pub struct NumberInfo {
    pub input: String,
    /// The number in E.164 form (`+14155550100`).
    pub e164: String,
    pub calling_code: u32,
    /// The ISO 3166-1 country, when one is known; empty for shared non-geographic codes.
    pub country: String,
    /// The number's type: `geographic`, `mobile`, `geographic-or-mobile` (located), or
    /// `toll-free`, `premium`, `shared-cost`, `personal`, `voip`, `pager`, `uan`, `voicemail`,
    /// `non-geographic`, `government` (no location). A string, so a newer daemon may add kinds.
    pub kind: String,
    pub party: Party,
}

/// A line of `ListJurisdictions`.
#[derive(Serialize, Deserialize, Type, Clone, PartialEq, Eq, Debug)]
pub struct JurisdictionSummary {
    pub id: String,
    pub name: String,
    /// Empty for a country.
    pub parent: String,
    /// The strictest consent among its phone rules, or `inherits` / `not-researched`.
    pub phone: String,
    pub in_person: String,
    pub confidence: Confidence,
    /// `shipped` or `user` (from the user's overlay).
    pub origin: String,
}

/// One rule of a jurisdiction, as in its table.
#[derive(Serialize, Deserialize, Type, Clone, PartialEq, Eq, Debug)]
pub struct RuleInfo {
    pub media: Vec<Medium>,
    pub regime: Regime,
    pub consent: Consent,
    pub notice_counts_as_consent: NoticeCounts,
    pub notice_mechanisms: Vec<NoticeMechanism>,
    pub citations: Vec<String>,
    pub note: String,
}

/// Where a table entry's facts come from.
#[derive(Serialize, Deserialize, Type, Clone, PartialEq, Eq, Debug)]
pub struct SourceInfo {
    pub url: String,
    pub publisher: String,
    /// When the source was last updated (`YYYY`, `YYYY-MM` or `YYYY-MM-DD`), or empty.
    pub updated: String,
}

/// A whole jurisdiction, as `GetJurisdiction` returns it.
#[derive(Serialize, Deserialize, Type, Clone, PartialEq, Eq, Debug)]
pub struct JurisdictionInfo {
    pub id: String,
    pub name: String,
    pub parent: String,
    pub confidence: Confidence,
    pub last_verified: String,
    pub notes: String,
    /// Where sources disagree, what they say; empty when they agree.
    pub disputed: String,
    /// How courts decide which place's law applies to calls across borders; may be empty.
    pub choice_of_law: String,
    /// Media this jurisdiction has no rule of its own for (its parent's rules govern).
    pub no_rule_for: Vec<Medium>,
    pub rules: Vec<RuleInfo>,
    pub sources: Vec<SourceInfo>,
    /// `shipped` or `user`, and the file it came from.
    pub origin: String,
    pub file: String,
}
