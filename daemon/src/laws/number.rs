//! Phone numbers: parsing and typing them (the `phonenumber` crate, which carries
//! libphonenumber's metadata for every country) and locating them with the numbering tables of
//! the law set.
//!
//! Only fixed lines and mobiles say where they ring. Toll-free, premium-rate, shared-cost,
//! personal, VoIP, pager, universal-access and voicemail numbers are routed wherever their owner
//! wants, in any country: their location is unknown. The tables keep the power to say more
//! (an area that names a place wins over the metadata's type), never less (an area that names
//! none cannot make a number more located than its type).

use super::metadata;
use super::model::NumberKind;
use super::set::{Area, LawSet, Plan};
use onrecord_interface::{Location, NumberInfo, Party};

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NumberError {
    #[error("{0:?} is not a phone number")]
    NotANumber(String),
    #[error(
        "{0:?} has no country code; write it as +<country code> <number>, or configure your jurisdiction"
    )]
    NoCountry(String),
    /// Written without a country code and not a number of the caller's own country.
    #[error(
        "{input:?} is not a valid phone number in {country}; if it is another country's number, write it with its country code (+<country code> <number>)"
    )]
    NotValidHere { input: String, country: String },
    #[error("{input:?} is not a valid phone number of calling code +{code}")]
    NotValid { input: String, code: u32 },
}

/// A number as the parser read it.
struct Parsed {
    code: u32,
    /// The national significant number, leading zeros kept.
    national: String,
    /// Written without a country code, and read in this country.
    national_form: Option<String>,
    /// The metadata's region (ISO 3166-1) for the number, when it has one.
    region: Option<String>,
    /// What the metadata says it is; `None` when it matches no pattern of its country.
    kind: Option<NumberKind>,
    /// Of a length the calling code's fixed lines have: what the tables' areas describe.
    fixed_length: bool,
}

/// Reads `input` and tells where the number is. `default_country` (ISO 3166-1) is used for
/// numbers written without a country code.
pub fn lookup(
    set: &LawSet,
    input: &str,
    default_country: Option<&str>,
) -> Result<NumberInfo, NumberError> {
    let p = parse(input, default_country)?;
    let plan = set.plans.get(&p.code);
    let area = plan
        .filter(|_| p.fixed_length)
        .and_then(|plan| longest_area(plan, &p.national));
    let place = area.filter(|(_, a)| !a.jurisdictions.is_empty());
    let kind = match (p.kind, place) {
        (Some(k), _) => k,
        // A new area code the metadata does not know yet: the tables say where it is.
        (None, Some((_, a))) => a.kind,
        (None, None) => return Err(invalid(&p, input)),
    };
    let blank = Party {
        input: input.to_owned(),
        location: Location::Unknown,
        jurisdiction: String::new(),
        candidates: Vec::new(),
        detail: String::new(),
    };
    let (kind, country, party) = match (place, plan) {
        (Some((prefix, a)), Some(plan)) => placed_by_area(plan, prefix, a, blank),
        _ => placed_by_type(set, &p, plan, area, kind, blank),
    };
    Ok(NumberInfo {
        input: input.to_owned(),
        e164: format!("+{}{}", p.code, p.national),
        calling_code: p.code,
        country,
        kind: kind.as_str().to_owned(),
        party,
    })
}

/// An area of the tables names where the number is: one place, or several.
fn placed_by_area(
    plan: &Plan,
    prefix: &str,
    a: &Area,
    blank: Party,
) -> (NumberKind, String, Party) {
    let note = a
        .note
        .as_deref()
        .map(|n| format!(": {n}"))
        .unwrap_or_default();
    let detail = format!("{}{note}", area_name(plan, prefix));
    match a.jurisdictions.as_slice() {
        [one] => (
            a.kind,
            country_of(one).to_owned(),
            Party {
                location: Location::Number,
                jurisdiction: one.clone(),
                detail,
                ..blank
            },
        ),
        many => (
            a.kind,
            common_country(many),
            Party {
                location: Location::Ambiguous,
                candidates: many.to_vec(),
                detail,
                ..blank
            },
        ),
    }
}

/// No area names a place: the number's type decides. A fixed line or a mobile is in its
/// country (somewhere among its subdivisions); every other type can ring anywhere.
fn placed_by_type(
    set: &LawSet,
    p: &Parsed,
    plan: Option<&Plan>,
    area: Option<(&str, &Area)>,
    kind: NumberKind,
    blank: Party,
) -> (NumberKind, String, Party) {
    // The table's kind, unless it would make the number more located than its type.
    let kind = match area {
        Some((_, a)) if !a.kind.has_location() || kind.has_location() => a.kind,
        _ => kind,
    };
    let what = match (area, plan) {
        (Some((prefix, _)), Some(plan)) => area_name(plan, prefix),
        _ => format!("+{}", p.code),
    };
    let country = country_for(p, plan);
    let located = match plan {
        // A shared plan (NANP) whose area the tables do not know: no country either.
        Some(Plan { country: None, .. }) => None,
        _ if country.is_empty() => None,
        _ => Some(country.clone()),
    };
    let unknown = |detail: String| Party {
        detail,
        ..blank.clone()
    };
    let party = match located {
        _ if !kind.has_location() => unknown(format!(
            "{} ({what}), which can ring anywhere",
            kind.describe()
        )),
        Some(c) => country_party(
            set,
            Party {
                location: Location::Number,
                jurisdiction: c,
                detail: format!("{}, {what}", kind.describe()),
                ..blank.clone()
            },
        ),
        None if plan.is_some() => unknown(format!(
            "+{} {}: prefix not in the numbering tables",
            p.code,
            &p.national[..p.national.len().min(3)]
        )),
        None => unknown(format!(
            "calling code +{} is not in the numbering tables",
            p.code
        )),
    };
    (kind, country, party)
}

fn parse(input: &str, default_country: Option<&str>) -> Result<Parsed, NumberError> {
    let trimmed = input.trim();
    // The parser accepts letters as keypad digits (1-800-FLOWERS); a number given here must be
    // made of digits and the usual punctuation.
    let allowed = |c: char| c.is_ascii_digit() || " +-().".contains(c);
    if trimmed.is_empty()
        || trimmed.len() > 64
        || !trimmed.chars().all(allowed)
        || !trimmed.chars().any(|c| c.is_ascii_digit())
    {
        return Err(NumberError::NotANumber(input.to_owned()));
    }
    let national_form = if trimmed.starts_with('+') {
        None
    } else {
        let Some(c) = default_country else {
            return Err(NumberError::NoCountry(input.to_owned()));
        };
        Some(c.to_owned())
    };
    let region = national_form
        .as_deref()
        .and_then(|c| c.parse::<phonenumber::country::Id>().ok());
    let number = phonenumber::parse(region, trimmed)
        .map_err(|_| NumberError::NotANumber(input.to_owned()))?;
    let code = u32::from(number.code().value());
    let national = {
        let n = number.national();
        format!("{}{}", "0".repeat(n.zeros() as usize), n.value())
    };
    // Reject what no plan could hold: E.164 numbers have at most 15 digits.
    if national.len() < 4 || code.to_string().len() + national.len() > 15 {
        return Err(NumberError::NotANumber(input.to_owned()));
    }
    let meta = u16::try_from(code)
        .ok()
        .and_then(|c| metadata::region(c, &national));
    let fixed_length = u16::try_from(code).is_ok_and(|c| metadata::possible_length(c, &national));
    Ok(Parsed {
        code,
        region: meta
            .map(|m| m.id())
            .filter(|id| *id != "001")
            .map(str::to_owned),
        kind: meta.and_then(|m| metadata::kind_in(m, &national)),
        national,
        national_form,
        fixed_length,
    })
}

fn invalid(p: &Parsed, input: &str) -> NumberError {
    match &p.national_form {
        Some(country) => NumberError::NotValidHere {
            input: input.to_owned(),
            country: country.clone(),
        },
        None => NumberError::NotValid {
            input: input.to_owned(),
            code: p.code,
        },
    }
}

/// The longest prefix of `national` that is an area of `plan`.
fn longest_area<'a>(plan: &'a Plan, national: &'a str) -> Option<(&'a str, &'a Area)> {
    (1..=national.len().min(6))
        .rev()
        .find_map(|n| plan.areas.get(&national[..n]).map(|a| (&national[..n], a)))
}

fn area_name(plan: &Plan, prefix: &str) -> String {
    if plan.calling_code == 1 {
        format!("area code {prefix}")
    } else {
        format!("+{} {prefix}", plan.calling_code)
    }
}

/// The number's country: the metadata's region where it differs from the plan's (Jersey and
/// Guernsey share +44 with the United Kingdom), else the plan's, else the metadata's.
fn country_for(p: &Parsed, plan: Option<&Plan>) -> String {
    match (plan.and_then(|pl| pl.country.clone()), p.region.clone()) {
        (Some(c), Some(r)) if p.kind.is_some() && r != c => r,
        (Some(c), _) => c,
        (None, Some(r)) => r,
        (None, None) => String::new(),
    }
}

fn country_of(id: &str) -> &str {
    id.split('-').next().unwrap_or_default()
}

/// A party known only to be in a country that has subdivisions in the tables is somewhere among
/// them: ambiguous. Elsewhere the country itself is the location.
pub fn country_party(set: &LawSet, mut p: Party) -> Party {
    if p.location == Location::Unknown || p.jurisdiction.is_empty() {
        return p;
    }
    let subs = set.subdivisions(&p.jurisdiction);
    if !subs.is_empty() {
        p.detail = format!("{}; somewhere in {}", p.detail, p.jurisdiction);
        p.candidates = subs.to_vec();
        p.jurisdiction = String::new();
        p.location = Location::Ambiguous;
    }
    p
}

fn common_country(ids: &[String]) -> String {
    let first = country_of(&ids[0]);
    if ids.iter().all(|i| country_of(i) == first) {
        first.to_owned()
    } else {
        String::new()
    }
}

#[cfg(test)]
#[path = "number_tests.rs"]
mod tests;
