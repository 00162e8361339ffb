//! Rules per number: `[[rule]]` entries of config.toml say what to do with a call from (or to)
//! a number or in an application: propose it (the default), or ignore it (never propose: my
//! doctor); with a label, a retention and a storage of its own. The first rule that matches
//! wins. Pure: the owner asks, with the call's E.164 number and its application.

use serde::Deserialize;

/// What a matching rule does with a call.
#[derive(Deserialize, Debug, Clone, Copy, PartialEq, Eq, Default)]
#[serde(rename_all = "kebab-case")]
pub enum Action {
    /// Propose the call for recording (a call created by hand is created as asked).
    #[default]
    Propose,
    /// Never propose it: no notification, nothing kept.
    Ignore,
}

impl Action {
    pub fn as_str(self) -> &'static str {
        match self {
            Action::Propose => "propose",
            Action::Ignore => "ignore",
        }
    }
}

/// One `[[rule]]`, checked (a wrong one is refused with its line: see `config.rs`).
#[derive(Debug, Clone, PartialEq)]
pub struct Rule {
    /// For people ("my doctor"); empty when not given.
    pub name: String,
    /// An E.164 number pattern: a prefix (`+1415`), or a pattern over the whole number where
    /// `*` is any digits and `?` one digit (`+1800*`, `+4930123456?`). Spaces, dashes, dots and
    /// parentheses are ignored.
    pub number: Option<String>,
    /// The application (or modem) the call was noticed in, case-insensitive, `*` any text.
    pub application: Option<String>,
    pub action: Action,
    /// The call's label: `{number}` and `{application}` are replaced.
    pub label: Option<String>,
    /// Delete the call's audio this many days after it ended (overrides `[retention] days`).
    pub retention_days: Option<f64>,
    /// The storage plugin for the call's audio (`storage-flac`).
    pub storage: Option<String>,
}

/// A `[[rule]]` as written, before its checks.
#[derive(Deserialize, Debug, Clone, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct RawRule {
    name: Option<String>,
    number: Option<String>,
    application: Option<String>,
    #[serde(default)]
    action: Action,
    label: Option<String>,
    retention_days: Option<f64>,
    storage: Option<String>,
}

impl TryFrom<RawRule> for Rule {
    type Error = String;

    fn try_from(r: RawRule) -> Result<Rule, String> {
        let number = r.number.map(|n| pattern(&n)).transpose()?;
        let application = r.application.filter(|a| !a.trim().is_empty());
        if number.is_none() && application.is_none() {
            return Err("a rule names a `number` or an `application` (or both)".into());
        }
        if let Some(d) = r.retention_days
            && !(d.is_finite() && d >= 0.0)
        {
            return Err(format!(
                "retention_days must be a number of at least 0, not {d}"
            ));
        }
        if let Some(label) = &r.label {
            check_label(label)?;
        }
        if r.storage.as_deref().is_some_and(|s| s.trim().is_empty()) {
            return Err("storage names a storage plugin (storage-flac)".into());
        }
        Ok(Rule {
            name: r.name.unwrap_or_default(),
            number,
            application,
            action: r.action,
            label: r.label,
            retention_days: r.retention_days,
            storage: r.storage,
        })
    }
}

/// A number pattern as written, reduced to `+`, digits, `*` and `?`.
fn pattern(written: &str) -> Result<String, String> {
    let p: String = written
        .chars()
        .filter(|c| !matches!(c, ' ' | '-' | '.' | '(' | ')'))
        .collect();
    let ok = p.starts_with('+')
        && p.len() > 1
        && p[1..]
            .chars()
            .all(|c| c.is_ascii_digit() || c == '*' || c == '?');
    if !ok {
        return Err(format!(
            "number {written:?}: write an E.164 number or prefix, with `*` for any digits and `?` for one (\"+1415*\")"
        ));
    }
    Ok(p)
}

fn check_label(label: &str) -> Result<(), String> {
    let mut rest = label;
    while let Some(open) = rest.find('{') {
        let after = &rest[open + 1..];
        let close = after
            .find('}')
            .ok_or_else(|| format!("label {label:?}: a `{{` without its `}}`"))?;
        let name = &after[..close];
        if !["number", "application"].contains(&name) {
            return Err(format!(
                "label {label:?}: unknown placeholder {{{name}}} (use {{number}} or {{application}})"
            ));
        }
        rest = &after[close + 1..];
    }
    if label.contains('\n') {
        return Err(format!("label {label:?}: one line"));
    }
    Ok(())
}

/// Whether `text` matches `glob` (`*`: any run, `?`: one character), compared as given.
fn glob(glob: &[char], text: &[char]) -> bool {
    match (glob.split_first(), text.split_first()) {
        (None, _) => text.is_empty(),
        (Some(('*', g)), _) => (0..=text.len()).any(|i| self::glob(g, &text[i..])),
        (Some(('?', g)), Some((_, t))) => self::glob(g, t),
        (Some((c, g)), Some((d, t))) => c == d && self::glob(g, t),
        (Some(_), None) => false,
    }
}

/// Checks rules as read, in order: the rules, or the first wrong one's (line, column, why).
pub fn read(
    raw: &[toml::Spanned<RawRule>],
    text: &str,
) -> Result<Vec<Rule>, (usize, usize, String)> {
    raw.iter()
        .map(|r| {
            Rule::try_from(r.get_ref().clone()).map_err(|why| {
                let (line, column) = crate::laws::load::line_column(text, r.span().start);
                (line, column, why)
            })
        })
        .collect()
}

/// What a call is matched on.
#[derive(Debug, Clone, Copy)]
pub struct Subject<'a> {
    /// The other side's number in E.164 (`+14155550123`), when there is one.
    pub number: Option<&'a str>,
    /// The application or modem it was noticed in; empty for a call created by hand.
    pub application: &'a str,
}

/// The rule that decides a call, and why.
#[derive(Debug, Clone, PartialEq)]
pub struct Decided<'a> {
    /// Counted from 1, in the file's order.
    pub index: usize,
    pub rule: &'a Rule,
    pub why: String,
}

impl Rule {
    /// Why this rule matches `s`, or `None`.
    fn matches(&self, s: Subject<'_>) -> Option<String> {
        let mut why = Vec::new();
        if let Some(p) = &self.number {
            let n = s.number?;
            let hit = if p.contains(['*', '?']) {
                glob(
                    &p.chars().collect::<Vec<_>>(),
                    &n.chars().collect::<Vec<_>>(),
                )
            } else {
                n.starts_with(p.as_str())
            };
            if !hit {
                return None;
            }
            why.push(format!("the number {n} matches {p}"));
        }
        if let Some(a) = &self.application {
            let lower = |t: &str| t.to_lowercase().chars().collect::<Vec<_>>();
            if !glob(&lower(a), &lower(s.application)) {
                return None;
            }
            why.push(format!("the application {:?} matches {a:?}", s.application));
        }
        Some(why.join(" and "))
    }

    /// The label this rule gives a call.
    pub fn label_for(&self, s: Subject<'_>) -> Option<String> {
        self.label.as_ref().map(|l| {
            l.replace("{number}", s.number.unwrap_or("unknown"))
                .replace("{application}", s.application)
        })
    }

    /// How a person reads this rule: `rule 2 ("my doctor")`.
    pub fn title(&self, index: usize) -> String {
        match self.name.as_str() {
            "" => format!("rule {index}"),
            name => format!("rule {index} ({name:?})"),
        }
    }
}

/// The rules in their order.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Rules(pub Vec<Rule>);

impl Rules {
    /// The first rule that matches, or `None` (the default: propose).
    pub fn decide(&self, s: Subject<'_>) -> Option<Decided<'_>> {
        self.0.iter().enumerate().find_map(|(i, rule)| {
            let why = rule.matches(s)?;
            Some(Decided {
                index: i + 1,
                rule,
                why: format!("{}: {why}", rule.title(i + 1)),
            })
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rules(text: &str) -> Result<Rules, String> {
        #[derive(Deserialize)]
        struct File {
            #[serde(default)]
            rule: Vec<toml::Spanned<RawRule>>,
        }
        let file: File = toml::from_str(text).map_err(|e| e.to_string())?;
        read(&file.rule, text)
            .map(Rules)
            .map_err(|(line, _, message)| format!("line {line}: {message}"))
    }

    fn subject<'a>(number: Option<&'a str>, application: &'a str) -> Subject<'a> {
        Subject {
            number,
            application,
        }
    }

    #[test]
    fn the_first_match_wins_and_says_why() {
        let r = rules(
            r#"
[[rule]]
name = "my doctor"
number = "+1 (415) 555-0123"
action = "ignore"

[[rule]]
number = "+1415*"
label = "Bay Area {number}"
retention_days = 30

[[rule]]
application = "linphone*"
storage = "storage-flac"
"#,
        )
        .unwrap();
        let d = r.decide(subject(Some("+14155550123"), "")).unwrap();
        assert_eq!((d.index, d.rule.action), (1, Action::Ignore));
        assert_eq!(
            d.why,
            "rule 1 (\"my doctor\"): the number +14155550123 matches +14155550123"
        );
        let s = subject(Some("+14155550199"), "Linphone");
        let d = r.decide(s).unwrap();
        assert_eq!((d.index, d.rule.action), (2, Action::Propose));
        assert_eq!(d.rule.label_for(s).unwrap(), "Bay Area +14155550199");
        assert_eq!(d.rule.retention_days, Some(30.0));
        let d = r
            .decide(subject(Some("+12125550100"), "Linphone 5.2"))
            .unwrap();
        assert_eq!(d.index, 3);
        assert_eq!(d.rule.storage.as_deref(), Some("storage-flac"));
        assert!(r.decide(subject(Some("+12125550100"), "Firefox")).is_none());
        // A number rule never matches a call without a number.
        assert_eq!(r.decide(subject(None, "Linphone")).unwrap().index, 3);
    }

    #[test]
    fn patterns_are_prefixes_or_globs_over_the_whole_number() {
        let r =
            rules("[[rule]]\nnumber = \"+4930123456?\"\n[[rule]]\nnumber = \"+1800\"\n").unwrap();
        assert_eq!(
            r.decide(subject(Some("+49301234567"), "")).unwrap().index,
            1
        );
        assert!(r.decide(subject(Some("+493012345678"), "")).is_none());
        assert_eq!(
            r.decide(subject(Some("+18005550199"), "")).unwrap().index,
            2
        );
        assert!(r.decide(subject(Some("+18885550199"), "")).is_none());
    }

    #[test]
    fn wrong_rules_are_refused_with_their_line() {
        // A rule's own checks point at the rule; a wrong field, at the field.
        for (text, says, line) in [
            (
                "[[rule]]\naction = \"ignore\"\n",
                "names a `number` or an `application`",
                3,
            ),
            ("[[rule]]\nnumber = \"415 555\"\n", "E.164", 3),
            ("[[rule]]\nnumber = \"+1x\"\n", "E.164", 3),
            (
                "[[rule]]\nnumber = \"+1\"\naction = \"record\"\n",
                "unknown variant",
                5,
            ),
            (
                "[[rule]]\nnumber = \"+1\"\nretention_days = -2\n",
                "at least 0",
                3,
            ),
            (
                "[[rule]]\nnumber = \"+1\"\nlabel = \"{who}\"\n",
                "unknown placeholder",
                3,
            ),
            (
                "[[rule]]\nnumber = \"+1\"\nlabel = \"{number\"\n",
                "without its",
                3,
            ),
            ("[[rule]]\nnumber = \"+1\"\nstorage = \" \"\n", "storage", 3),
            (
                "[[rule]]\nnumber = \"+1\"\ncolour = \"red\"\n",
                "unknown field",
                5,
            ),
        ] {
            let e = rules(&format!("\n\n{text}")).unwrap_err();
            assert!(e.contains(says), "{text}: {e}");
            assert!(
                e.contains(&format!("line {line},")) || e.starts_with(&format!("line {line}:")),
                "{text}: {e}"
            );
        }
    }
}
