//! A law decision as the Now and Check pages show it: what is needed and why, each governing
//! rule with its citations (expandable), and the warnings.

use crate::a11y::row;
use crate::i18n::{tr, trf};
use adw::prelude::*;
use onrecord_interface::{Decision, Requirement};

/// The requirement in words.
pub fn requirement_text(r: Requirement) -> String {
    match r {
        Requirement::AllParty => tr("Everyone on the call must agree to be recorded"),
        Requirement::OneParty => tr("Your own consent is enough; telling them is still fair"),
    }
}

/// A group that shows one decision at a time; `show` replaces it only when it changed, so an
/// expanded rule stays open while the call moves on.
pub struct DecisionView {
    pub group: adw::PreferencesGroup,
    rows: std::cell::RefCell<Vec<gtk::Widget>>,
    shown: std::cell::RefCell<Option<Decision>>,
}

impl DecisionView {
    pub fn new(title: &str) -> DecisionView {
        let group = adw::PreferencesGroup::builder().title(title).build();
        DecisionView {
            group,
            rows: Default::default(),
            shown: Default::default(),
        }
    }

    pub fn show(&self, decision: Option<&Decision>) {
        if self.shown.borrow().as_ref() == decision {
            return;
        }
        for row in self.rows.borrow_mut().drain(..) {
            self.group.remove(&row);
        }
        *self.shown.borrow_mut() = decision.cloned();
        let Some(d) = decision else {
            self.group.set_visible(false);
            return;
        };
        self.group.set_visible(true);
        let mut rows: Vec<gtk::Widget> = Vec::new();
        let headline = row(
            &match d.requirement {
                Requirement::AllParty => tr("All-party consent"),
                Requirement::OneParty => tr("One-party consent"),
            },
            &requirement_text(d.requirement),
        );
        crate::a11y::name(&headline, &tr("Requirement"));
        rows.push(headline.upcast());
        if d.notice_counts_as_consent {
            rows.push(
                row(
                    &tr("A recorded notice counts as consent"),
                    &tr("Telling them, and their staying on the line, is enough"),
                )
                .upcast(),
            );
        }
        for rule in &d.governing {
            let title = if rule.jurisdiction.is_empty() {
                rule.name.clone()
            } else {
                format!("{} — {}", rule.jurisdiction, rule.name)
            };
            let expander = adw::ExpanderRow::builder()
                .use_markup(false)
                .title(title)
                .subtitle(&rule.rule)
                .build();
            for citation in &rule.citations {
                let citation = row(citation, &tr("Citation"));
                citation.set_title_selectable(true);
                expander.add_row(&citation);
            }
            let detail = row(
                &trf(
                    "Consent: {}; {} law",
                    &[rule.consent.as_str(), rule.regime.as_str()],
                ),
                "",
            );
            expander.add_row(&detail);
            rows.push(expander.upcast());
        }
        for w in &d.warnings {
            let kind = if w.jurisdiction.is_empty() {
                w.kind.clone()
            } else {
                format!("{} · {}", w.kind, w.jurisdiction)
            };
            let warning = row(&w.message, &kind);
            warning.add_prefix(&gtk::Image::from_icon_name("dialog-warning-symbolic"));
            rows.push(warning.upcast());
        }
        for row in &rows {
            self.group.add(row);
        }
        *self.rows.borrow_mut() = rows;
    }
}
