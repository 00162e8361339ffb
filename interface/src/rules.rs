//! Wire types of `org.onrecord.Rules1` (API 1.6).

use serde::{Deserialize, Serialize};
use zbus::Type;

/// One `[[rule]]` of config.toml, as `Rules1.List` gives it.
#[derive(Serialize, Deserialize, Type, Clone, PartialEq, Debug)]
pub struct CallRule {
    /// Counted from 1, in the file's order: the first that matches wins.
    pub index: u32,
    /// For people; empty when not given.
    pub name: String,
    /// The E.164 prefix or pattern (`*` any digits, `?` one); empty: any number.
    pub number: String,
    /// The application pattern, case-insensitive; empty: any application.
    pub application: String,
    /// `propose` or `ignore`.
    pub action: String,
    /// The label template (`{number}`, `{application}`), or empty.
    pub label: String,
    /// Days after the call's end its audio is deleted, or -1 for `[retention]`'s.
    pub retention_days: f64,
    /// The storage plugin, or empty for `[capture]`'s.
    pub storage: String,
}

/// Which rule decides a call, as `Rules1.Test` found it.
#[derive(Serialize, Deserialize, Type, Clone, PartialEq, Debug)]
pub struct CallRuleMatch {
    /// The number as the rules see it (E.164), or empty without one.
    pub e164: String,
    /// The rule that matches (from 1), or 0 when none does (the call is proposed).
    pub index: u32,
    /// `propose` or `ignore`.
    pub action: String,
    /// Why, for people: which rule, and what of the call matched what.
    pub why: String,
    /// The label the call would get, or empty.
    pub label: String,
}
