//! `org.onrecord.Rules1`: the rules per number in force, and which one decides a call. Reads
//! the owner's snapshot; holds no state.

use super::Published;
use super::decide::{check_len, country_of};
use crate::rules::{Action, Rule, Subject};
use onrecord_interface::{CallRule, CallRuleMatch, Error};
use std::sync::Arc;
use tokio::sync::watch;
use zbus::interface;

pub struct RulesIface {
    state: watch::Receiver<Arc<Published>>,
}

impl RulesIface {
    pub fn new(state: watch::Receiver<Arc<Published>>) -> Self {
        RulesIface { state }
    }

    fn now(&self) -> Arc<Published> {
        self.state.borrow().clone()
    }
}

/// A number as the rules see it: E.164, read in the user's country when written without a
/// country code.
pub fn e164(now: &Published, number: &str) -> Result<String, Error> {
    let country = now
        .user_jurisdiction
        .as_deref()
        .map(|j| country_of(j).to_ascii_uppercase());
    Ok(crate::laws::number::lookup(&now.set, number, country.as_deref())?.e164)
}

fn info(index: usize, r: &Rule) -> CallRule {
    CallRule {
        index: index as u32,
        name: r.name.clone(),
        number: r.number.clone().unwrap_or_default(),
        application: r.application.clone().unwrap_or_default(),
        action: r.action.as_str().to_owned(),
        label: r.label.clone().unwrap_or_default(),
        retention_days: r.retention_days.unwrap_or(-1.0),
        storage: r.storage.clone().unwrap_or_default(),
    }
}

#[interface(name = "org.onrecord.Rules1")]
impl RulesIface {
    /// Every rule in force, in order (the first that matches a call decides it).
    #[zbus(out_args("rules"))]
    async fn list(
        &self,
        #[zbus(header)] header: zbus::message::Header<'_>,
    ) -> Result<(Vec<CallRule>,), Error> {
        super::decide::no_arguments(&header)?;
        let now = self.now();
        Ok((now
            .rules
            .0
            .iter()
            .enumerate()
            .map(|(i, r)| info(i + 1, r))
            .collect(),))
    }

    /// Which rule decides a call with `number` (empty: none) noticed in `application` (empty:
    /// created by hand), and why.
    #[zbus(out_args("match"))]
    async fn test(&self, number: &str, application: &str) -> Result<(CallRuleMatch,), Error> {
        check_len("number", number)?;
        check_len("application", application)?;
        let now = self.now();
        let e164 = match number.trim() {
            "" => None,
            n => Some(e164(&now, n)?),
        };
        let subject = Subject {
            number: e164.as_deref(),
            application,
        };
        let found = match now.rules.decide(subject) {
            Some(d) => CallRuleMatch {
                e164: e164.clone().unwrap_or_default(),
                index: d.index as u32,
                action: d.rule.action.as_str().to_owned(),
                why: d.why.clone(),
                label: d.rule.label_for(subject).unwrap_or_default(),
            },
            None => CallRuleMatch {
                e164: e164.clone().unwrap_or_default(),
                index: 0,
                action: Action::Propose.as_str().to_owned(),
                why: "no rule matches: the call is proposed".into(),
                label: String::new(),
            },
        };
        Ok((found,))
    }

    /// How many rules are in force.
    #[zbus(property)]
    fn count(&self) -> u32 {
        self.now().rules.0.len() as u32
    }

    /// Why the last re-read of config.toml's rules failed (file:line:column: message; the last
    /// good rules stay), or empty.
    #[zbus(property)]
    fn last_error(&self) -> String {
        self.now().rules_error.clone()
    }
}
