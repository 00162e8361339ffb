//! Reading and validating a set of law tables: the shipped layer overlaid by the user's.
//!
//! Everything is validated before anything is used: a set is either wholly valid or rejected
//! with every problem found, each naming its file, line and field.

use super::model::{LawFile, NumberKind, SCHEMA_VERSION};
use super::set::{Area, Jurisdiction, LawSet, Origin, Plan, Rule, Source};
use onrecord_interface::Consent;
use sha2::{Digest, Sha256};
use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::ops::Range;
use std::path::{Path, PathBuf};

/// One problem in one file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    pub file: PathBuf,
    /// 1-based; 0 when the problem is not at a place in the file (unreadable file).
    pub line: usize,
    pub column: usize,
    /// The field concerned (`jurisdiction.parent`), or empty.
    pub field: String,
    pub message: String,
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.file.display())?;
        if self.line > 0 {
            write!(f, ":{}:{}", self.line, self.column)?;
        }
        if !self.field.is_empty() {
            write!(f, ": {}", self.field)?;
        }
        write!(f, ": {}", self.message)
    }
}

/// Every problem found in a set; the set is not used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct LoadError(pub Vec<Problem>);

impl fmt::Display for LoadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, p) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str("\n")?;
            }
            write!(f, "{p}")?;
        }
        Ok(())
    }
}

/// Loads `shipped`, then overlays `user` (which may be absent or missing on disk).
pub fn load(shipped: &Path, user: Option<&Path>) -> Result<LawSet, LoadError> {
    let mut ctx = Ctx::default();
    let mut hasher = Sha256::new();
    ctx.read_layer(shipped, Origin::Shipped, true, &mut hasher);
    if let Some(user) = user {
        ctx.read_layer(user, Origin::User, false, &mut hasher);
    }
    let digest = format!("sha256:{:x}", hasher.finalize());
    ctx.finish(digest)
}

/// A file's text, kept to turn byte spans into lines.
struct Text {
    path: PathBuf,
    text: String,
}

impl Text {
    fn problem(&self, span: Range<usize>, field: &str, message: impl Into<String>) -> Problem {
        let (line, column) = line_column(&self.text, span.start);
        Problem {
            file: self.path.clone(),
            line,
            column,
            field: field.to_owned(),
            message: message.into(),
        }
    }
}

/// A jurisdiction with where it was written, until the whole set is checked.
struct Placed {
    j: Jurisdiction,
    file: usize,
    parent_span: Range<usize>,
}

#[derive(Default)]
struct Ctx {
    texts: Vec<Text>,
    problems: Vec<Problem>,
    jurisdictions: BTreeMap<String, Placed>,
    /// (calling code, origin) -> plan, merged area by area across layers.
    plans: BTreeMap<u32, Plan>,
    /// Area references to check once every jurisdiction is known: (file, span, id).
    area_refs: Vec<(usize, Range<usize>, String)>,
}

impl Ctx {
    fn read_layer(&mut self, dir: &Path, origin: Origin, required: bool, hasher: &mut Sha256) {
        let mut files = Vec::new();
        if let Err(e) = collect_toml(dir, &mut files) {
            if required || e.kind() != std::io::ErrorKind::NotFound {
                self.problems.push(Problem {
                    file: dir.to_owned(),
                    line: 0,
                    column: 0,
                    field: String::new(),
                    message: format!("cannot read the law tables directory: {e}"),
                });
            }
            return;
        }
        files.sort();
        if required && files.is_empty() {
            self.problems.push(Problem {
                file: dir.to_owned(),
                line: 0,
                column: 0,
                field: String::new(),
                message: "no law tables (*.toml) in this directory".into(),
            });
        }
        // Ids seen in this layer: a duplicate within a layer is an error, across layers an
        // overlay.
        let mut seen: HashMap<String, (usize, Range<usize>)> = HashMap::new();
        let mut seen_codes: HashMap<u32, usize> = HashMap::new();
        for path in files {
            let text = match std::fs::read_to_string(&path) {
                Ok(t) => t,
                Err(e) => {
                    self.problems.push(Problem {
                        file: path,
                        line: 0,
                        column: 0,
                        field: String::new(),
                        message: format!("cannot read: {e}"),
                    });
                    continue;
                }
            };
            let rel = path.strip_prefix(dir).unwrap_or(&path);
            hasher.update(origin.as_str().as_bytes());
            hasher.update([0]);
            hasher.update(rel.to_string_lossy().as_bytes());
            hasher.update([0]);
            hasher.update((text.len() as u64).to_le_bytes());
            hasher.update(text.as_bytes());
            let file = self.texts.len();
            self.texts.push(Text { path, text });
            self.read_file(file, origin, &mut seen, &mut seen_codes);
        }
    }

    fn read_file(
        &mut self,
        file: usize,
        origin: Origin,
        seen: &mut HashMap<String, (usize, Range<usize>)>,
        seen_codes: &mut HashMap<u32, usize>,
    ) {
        let t = &self.texts[file];
        let parsed: LawFile = match toml::from_str(&t.text) {
            Ok(p) => p,
            Err(e) => {
                let span = e.span().unwrap_or(0..0);
                let message = e.message().trim().to_owned();
                self.problems.push(t.problem(span, "", message));
                return;
            }
        };
        if *parsed.schema_version.get_ref() != SCHEMA_VERSION {
            self.problems.push(t.problem(
                parsed.schema_version.span(),
                "schema_version",
                format!(
                    "unsupported schema version {} (this onrecordd reads {SCHEMA_VERSION})",
                    parsed.schema_version.get_ref()
                ),
            ));
            return;
        }
        for sj in parsed.jurisdiction {
            self.read_jurisdiction(file, origin, sj, seen);
        }
        for sp in parsed.plan {
            self.read_plan(file, sp, seen_codes);
        }
    }

    /// One `[[jurisdiction]]`: checked, and placed in the set (an overlay entry replaces the
    /// shipped one with the same id).
    fn read_jurisdiction(
        &mut self,
        file: usize,
        origin: Origin,
        sj: toml::Spanned<super::model::JurisdictionToml>,
        seen: &mut HashMap<String, (usize, Range<usize>)>,
    ) {
        let span = sj.span();
        let j = sj.into_inner();
        let t = &self.texts[file];
        let id = j.id.get_ref().clone();
        let mut bad = Vec::new();
        if !is_jurisdiction_id(&id) {
            bad.push(t.problem(
                j.id.span(),
                "jurisdiction.id",
                format!("{id:?} is not an ISO 3166 id (\"US\", \"US-CA\", \"AU-NSW\")"),
            ));
        }
        if let Some((f, s)) = seen.get(&id) {
            let first = self.texts[*f].problem(s.clone(), "", "");
            bad.push(t.problem(
                j.id.span(),
                "jurisdiction.id",
                format!(
                    "duplicate id {id:?} (first at {}:{})",
                    first.file.display(),
                    first.line
                ),
            ));
        }
        seen.insert(id.clone(), (file, j.id.span()));
        let country = id.split('-').next().unwrap_or_default();
        match (&j.parent, id.contains('-')) {
            (None, true) => bad.push(t.problem(
                j.id.span(),
                "jurisdiction.parent",
                format!("subdivision {id:?} must name its parent {country:?}"),
            )),
            (Some(p), false) => bad.push(t.problem(
                p.span(),
                "jurisdiction.parent",
                format!("country {id:?} cannot have a parent"),
            )),
            (Some(p), true) if p.get_ref() != country => bad.push(t.problem(
                p.span(),
                "jurisdiction.parent",
                format!(
                    "the parent of {id:?} must be {country:?}, not {:?}",
                    p.get_ref()
                ),
            )),
            _ => {}
        }
        if !is_date(j.last_verified.get_ref(), 3) {
            bad.push(t.problem(
                j.last_verified.span(),
                "jurisdiction.last_verified",
                "expected a date YYYY-MM-DD",
            ));
        }
        if j.rule.is_empty() && j.parent.is_none() {
            bad.push(t.problem(
                span.clone(),
                "jurisdiction.rule",
                format!("country {id:?} has no rules and no parent to inherit from"),
            ));
        }
        if !j.rule.is_empty() && j.source.is_empty() {
            bad.push(t.problem(
                span.clone(),
                "jurisdiction.source",
                format!("{id:?} has rules but cites no source"),
            ));
        }
        let rules = check_rules(t, &j, &mut bad);
        let sources = check_sources(t, &j, &mut bad);
        let parent_span = j.parent.as_ref().map_or(j.id.span(), |p| p.span());
        self.problems.extend(bad);
        let placed = Placed {
            j: Jurisdiction {
                id: id.clone(),
                name: j.name,
                parent: j.parent.map(|p| p.into_inner()),
                confidence: j.confidence,
                last_verified: j.last_verified.into_inner(),
                notes: j.notes.trim().to_owned(),
                disputed: j
                    .disputed
                    .map(|s| s.trim().to_owned())
                    .filter(|s| !s.is_empty()),
                choice_of_law: j
                    .choice_of_law
                    .map(|s| s.trim().to_owned())
                    .filter(|s| !s.is_empty()),
                no_rule_for: j.no_rule_for,
                rules,
                sources,
                origin,
                file: self.texts[file].path.clone(),
            },
            file,
            parent_span,
        };
        // An overlay entry replaces the shipped one with the same id.
        self.jurisdictions.insert(id, placed);
    }

    /// One `[[plan]]` of a numbering file, and its areas.
    fn read_plan(
        &mut self,
        file: usize,
        sp: toml::Spanned<super::model::PlanToml>,
        seen_codes: &mut HashMap<u32, usize>,
    ) {
        let p = sp.into_inner();
        let t = &self.texts[file];
        let code = *p.calling_code.get_ref();
        if let Some(f) = seen_codes.get(&code) {
            self.problems.push(t.problem(
                p.calling_code.span(),
                "plan.calling_code",
                format!(
                    "calling code {code} is already planned in {}",
                    self.texts[*f].path.display()
                ),
            ));
            return;
        }
        seen_codes.insert(code, file);
        if !(1..=999).contains(&code) {
            self.problems.push(t.problem(
                p.calling_code.span(),
                "plan.calling_code",
                "a calling code has 1 to 3 digits",
            ));
        }
        if let Some(c) = &p.country
            && (!is_jurisdiction_id(c.get_ref()) || c.get_ref().contains('-'))
        {
            self.problems.push(t.problem(
                c.span(),
                "plan.country",
                format!("{:?} is not an ISO 3166-1 alpha-2 code", c.get_ref()),
            ));
        }
        let plan = self.plans.entry(code).or_insert_with(|| Plan {
            calling_code: code,
            name: p.name.clone(),
            country: None,
            areas: BTreeMap::new(),
        });
        plan.name = p.name;
        if let Some(c) = p.country {
            plan.country = Some(c.into_inner());
        }
        let mut prefixes_here: HashMap<String, ()> = HashMap::new();
        for sa in p.area {
            let a = sa.into_inner();
            let (jurs, jurs_span) = match &a.jurisdictions {
                Some(j) => (j.get_ref().clone(), j.span()),
                None => (Vec::new(), a.prefixes.span()),
            };
            let geographic = a.kind == NumberKind::Geographic;
            if geographic && jurs.is_empty() {
                self.problems.push(t.problem(
                    jurs_span.clone(),
                    "area.jurisdictions",
                    "a geographic area must name its jurisdictions",
                ));
            }
            if !geographic && !jurs.is_empty() {
                self.problems.push(t.problem(
                    jurs_span.clone(),
                    "area.jurisdictions",
                    format!(
                        "a {} area has no location: leave jurisdictions out",
                        a.kind.as_str()
                    ),
                ));
            }
            for id in &jurs {
                self.area_refs.push((file, jurs_span.clone(), id.clone()));
            }
            if a.prefixes.get_ref().is_empty() {
                self.problems
                    .push(t.problem(a.prefixes.span(), "area.prefixes", "no prefixes"));
            }
            for prefix in a.prefixes.get_ref() {
                if prefix.is_empty() || !prefix.bytes().all(|b| b.is_ascii_digit()) {
                    self.problems.push(t.problem(
                        a.prefixes.span(),
                        "area.prefixes",
                        format!("{prefix:?} is not a string of digits"),
                    ));
                }
                if prefixes_here.insert(prefix.clone(), ()).is_some() {
                    self.problems.push(t.problem(
                        a.prefixes.span(),
                        "area.prefixes",
                        format!("prefix {prefix} appears twice in plan +{code}"),
                    ));
                }
                plan.areas.insert(
                    prefix.clone(),
                    Area {
                        kind: a.kind,
                        jurisdictions: jurs.clone(),
                        note: a.note.clone(),
                    },
                );
            }
        }
    }

    /// Cross-file checks, then the set.
    fn finish(mut self, digest: String) -> Result<LawSet, LoadError> {
        let ids: std::collections::HashSet<&str> =
            self.jurisdictions.keys().map(String::as_str).collect();
        for p in self.jurisdictions.values() {
            if let Some(parent) = &p.j.parent
                && !ids.contains(parent.as_str())
            {
                self.problems.push(self.texts[p.file].problem(
                    p.parent_span.clone(),
                    "jurisdiction.parent",
                    format!("unknown parent {parent:?}"),
                ));
            }
        }
        for (file, span, id) in &self.area_refs {
            let t = &self.texts[*file];
            if !is_jurisdiction_id(id) {
                self.problems.push(t.problem(
                    span.clone(),
                    "area.jurisdictions",
                    format!("{id:?} is not an ISO 3166 id"),
                ));
                continue;
            }
            // A place whose country has a table must itself be in the tables (a typo such as
            // "US-ZZ" is caught); other places (Jamaica, Guam, ...) may be named without a
            // table, and calls there are treated as of unknown law.
            let country = id.split('-').next().unwrap_or_default();
            if ids.contains(country) && !ids.contains(id.as_str()) {
                self.problems.push(t.problem(
                    span.clone(),
                    "area.jurisdictions",
                    format!("unknown jurisdiction {id:?}"),
                ));
            }
        }
        if !self.problems.is_empty() {
            return Err(LoadError(self.problems));
        }
        let mut children: BTreeMap<String, Vec<String>> = BTreeMap::new();
        let jurisdictions: BTreeMap<String, Jurisdiction> = self
            .jurisdictions
            .into_iter()
            .map(|(id, p)| {
                if let Some(parent) = &p.j.parent {
                    children.entry(parent.clone()).or_default().push(id.clone());
                }
                (id, p.j)
            })
            .collect();
        Ok(LawSet {
            jurisdictions,
            children,
            plans: self.plans,
            digest,
        })
    }
}

/// A jurisdiction's rules, with what is wrong in them added to `bad`.
fn check_rules(t: &Text, j: &super::model::JurisdictionToml, bad: &mut Vec<Problem>) -> Vec<Rule> {
    let mut rules = Vec::new();
    for sr in &j.rule {
        let r = sr.get_ref();
        let at = sr.span();
        if r.media.is_empty() {
            bad.push(t.problem(at.clone(), "rule.media", "a rule needs at least one medium"));
        }
        if let Some(m) = r.media.iter().find(|m| j.no_rule_for.contains(m)) {
            bad.push(t.problem(
                at.clone(),
                "rule.media",
                format!("{m} is also listed in no_rule_for"),
            ));
        }
        let has_citation = r.citations.iter().any(|c| !c.trim().is_empty());
        if r.consent != Consent::OneParty && !has_citation {
            bad.push(t.problem(
                at.clone(),
                "rule.citations",
                format!("a {} rule must cite its law", r.consent),
            ));
        }
        if r.citations.iter().any(|c| c.trim().is_empty()) {
            bad.push(t.problem(at.clone(), "rule.citations", "empty citation"));
        }
        if matches!(r.consent, Consent::AllParty | Consent::Unsettled)
            && r.notice_counts_as_consent.is_none()
        {
            bad.push(t.problem(
                at.clone(),
                "rule.notice_counts_as_consent",
                format!(
                    "a {} rule must say whether a notice counts as consent",
                    r.consent
                ),
            ));
        }
        rules.push(Rule {
            media: r.media.clone(),
            regime: r.regime,
            consent: r.consent,
            notice_counts: r.notice_counts_as_consent,
            mechanisms: r.notice_mechanisms.clone(),
            citations: r.citations.clone(),
            note: r.note.clone(),
        });
    }
    rules
}

/// A jurisdiction's sources, with what is wrong in them added to `bad`.
fn check_sources(
    t: &Text,
    j: &super::model::JurisdictionToml,
    bad: &mut Vec<Problem>,
) -> Vec<Source> {
    let mut sources = Vec::new();
    for s in &j.source {
        let s = s.get_ref();
        if let Some(u) = &s.updated
            && !(is_date(u.get_ref(), 1) || is_date(u.get_ref(), 2) || is_date(u.get_ref(), 3))
        {
            bad.push(t.problem(
                u.span(),
                "source.updated",
                "expected YYYY, YYYY-MM or YYYY-MM-DD",
            ));
        }
        sources.push(Source {
            url: s.url.clone(),
            publisher: s.publisher.clone(),
            updated: s.updated.as_ref().map(|u| u.get_ref().clone()),
        });
    }
    sources
}

fn collect_toml(dir: &Path, out: &mut Vec<PathBuf>) -> std::io::Result<()> {
    for entry in std::fs::read_dir(dir)? {
        let entry = entry?;
        let path = entry.path();
        let name = entry.file_name();
        let name = name.to_string_lossy();
        // Editors' temporary and backup files are not tables.
        if name.starts_with('.') {
            continue;
        }
        let ty = entry.file_type()?;
        if ty.is_dir() {
            collect_toml(&path, out)?;
        } else if name.ends_with(".toml") {
            out.push(path);
        }
    }
    Ok(())
}

/// The 1-based line and column (in bytes) of `offset` in `text`.
pub fn line_column(text: &str, offset: usize) -> (usize, usize) {
    let before = &text[..offset.min(text.len())];
    let line = before.matches('\n').count() + 1;
    let column = before.len() - before.rfind('\n').map_or(0, |i| i + 1) + 1;
    (line, column)
}

/// `US`, `US-CA`, `AU-NSW`, `CA-ON`: ISO 3166-1 alpha-2, optionally with an ISO 3166-2 part.
pub fn is_jurisdiction_id(s: &str) -> bool {
    let mut parts = s.split('-');
    let country = parts.next().unwrap_or_default();
    let sub = parts.next();
    parts.next().is_none()
        && country.len() == 2
        && country.bytes().all(|b| b.is_ascii_uppercase())
        && sub.is_none_or(|s| {
            (1..=3).contains(&s.len())
                && s.bytes()
                    .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit())
        })
}

/// `YYYY` (parts = 1), `YYYY-MM` (2) or `YYYY-MM-DD` (3), with plausible months and days.
fn is_date(s: &str, parts: usize) -> bool {
    let p: Vec<&str> = s.split('-').collect();
    let digits = |x: &str, n: usize| x.len() == n && x.bytes().all(|b| b.is_ascii_digit());
    if p.len() != parts || !digits(p[0], 4) {
        return false;
    }
    if parts >= 2 && !(digits(p[1], 2) && (1..=12).contains(&p[1].parse::<u32>().unwrap_or(0))) {
        return false;
    }
    parts < 3 || (digits(p[2], 2) && (1..=31).contains(&p[2].parse::<u32>().unwrap_or(0)))
}

#[cfg(test)]
#[path = "load_tests.rs"]
mod tests;
