//! The law set as the D-Bus wire types show it.

use super::set::{Jurisdiction, LawSet};
use onrecord_interface::{JurisdictionInfo, JurisdictionSummary, Medium, RuleInfo, SourceInfo};

pub fn summaries(set: &LawSet) -> Vec<JurisdictionSummary> {
    set.jurisdictions
        .values()
        .map(|j| JurisdictionSummary {
            id: j.id.clone(),
            name: j.name.clone(),
            parent: j.parent.clone().unwrap_or_default(),
            phone: j.summary_for(Medium::Phone),
            in_person: j.summary_for(Medium::InPerson),
            confidence: j.confidence,
            origin: j.origin.as_str().to_owned(),
        })
        .collect()
}

pub fn info(j: &Jurisdiction) -> JurisdictionInfo {
    JurisdictionInfo {
        id: j.id.clone(),
        name: j.name.clone(),
        parent: j.parent.clone().unwrap_or_default(),
        confidence: j.confidence,
        last_verified: j.last_verified.clone(),
        notes: j.notes.clone(),
        disputed: j.disputed.clone().unwrap_or_default(),
        choice_of_law: j.choice_of_law.clone().unwrap_or_default(),
        no_rule_for: j.no_rule_for.clone(),
        rules: j
            .rules
            .iter()
            .map(|r| RuleInfo {
                media: r.media.clone(),
                regime: r.regime,
                consent: r.consent,
                notice_counts_as_consent: r.notice_counts(),
                notice_mechanisms: r.mechanisms.clone(),
                citations: r.citations.clone(),
                note: r.note.clone().unwrap_or_default(),
            })
            .collect(),
        sources: j
            .sources
            .iter()
            .map(|s| SourceInfo {
                url: s.url.clone(),
                publisher: s.publisher.clone(),
                updated: s.updated.clone().unwrap_or_default(),
            })
            .collect(),
        origin: j.origin.as_str().to_owned(),
        file: j.file.display().to_string(),
    }
}
