//! Phone numbers: parsing (by the `phonenumber` crate) and locating them with the numbering
//! tables of the law set.

use super::model::AreaKind;
use super::set::LawSet;
use onrecord_interface::{Location, NumberInfo, Party};

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NumberError {
    #[error("{0:?} is not a phone number")]
    NotANumber(String),
    #[error(
        "{0:?} has no country code; write it as +<country code> <number>, or configure your jurisdiction"
    )]
    NoCountry(String),
}

/// Reads `input` and tells where the number is. `default_country` (ISO 3166-1) is used for
/// numbers written without a country code.
pub fn lookup(
    set: &LawSet,
    input: &str,
    default_country: Option<&str>,
) -> Result<NumberInfo, NumberError> {
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
    let region = if trimmed.starts_with('+') {
        None
    } else {
        let Some(c) = default_country else {
            return Err(NumberError::NoCountry(input.to_owned()));
        };
        c.parse::<phonenumber::country::Id>().ok()
    };
    let number = phonenumber::parse(region, trimmed)
        .map_err(|_| NumberError::NotANumber(input.to_owned()))?;
    let code = u32::from(number.code().value());
    let national = {
        let n = number.national();
        format!("{}{}", "0".repeat(n.zeros() as usize), n.value())
    };
    let e164 = format!("+{code}{national}");
    // Reject what no plan could hold: E.164 numbers have at most 15 digits.
    if national.len() < 4 || code.to_string().len() + national.len() > 15 {
        return Err(NumberError::NotANumber(input.to_owned()));
    }
    let party = |location, jurisdiction: &str, candidates: Vec<String>, detail: String| Party {
        input: input.to_owned(),
        location,
        jurisdiction: jurisdiction.to_owned(),
        candidates,
        detail,
    };
    let Some(plan) = set.plans.get(&code) else {
        // No plan of ours: the parser may still know the country.
        let country = number
            .country()
            .id()
            .map(|id| id.as_ref().to_owned())
            .unwrap_or_default();
        let (location, jur, detail) = if country.is_empty() {
            (
                Location::Unknown,
                String::new(),
                format!("calling code +{code} is not in the numbering tables"),
            )
        } else {
            (
                Location::Number,
                country.clone(),
                format!("calling code +{code} ({country})"),
            )
        };
        let party = country_party(set, party(location, &jur, vec![], detail));
        return Ok(NumberInfo {
            input: input.to_owned(),
            e164,
            calling_code: code,
            country,
            kind: "unknown".into(),
            party,
        });
    };
    // Longest matching prefix.
    let area = (1..=national.len().min(6))
        .rev()
        .find_map(|n| plan.areas.get(&national[..n]).map(|a| (&national[..n], a)));
    let (kind, country, party) = match area {
        Some((prefix, a)) => {
            let what = if code == 1 {
                format!("area code {prefix}")
            } else {
                format!("+{code} {prefix}")
            };
            let note = a
                .note
                .as_deref()
                .map(|n| format!(": {n}"))
                .unwrap_or_default();
            match a.jurisdictions.as_slice() {
                [] => (
                    a.kind,
                    plan.country.clone().unwrap_or_default(),
                    match &plan.country {
                        // A mobile number in a country with states: somewhere in that country.
                        Some(c) => country_party(
                            set,
                            party(
                                Location::Number,
                                c,
                                vec![],
                                format!("{}, {what}", a.kind.as_str()),
                            ),
                        ),
                        None => party(
                            Location::Unknown,
                            "",
                            vec![],
                            format!("{}, {what}", a.kind.as_str()),
                        ),
                    },
                ),
                [one] => (
                    a.kind,
                    one.split('-').next().unwrap_or_default().to_owned(),
                    party(Location::Number, one, vec![], format!("{what}{note}")),
                ),
                many => (
                    a.kind,
                    common_country(many),
                    party(
                        Location::Ambiguous,
                        "",
                        many.to_vec(),
                        format!("{what}{note}"),
                    ),
                ),
            }
        }
        None => match &plan.country {
            Some(c) => (
                AreaKind::Geographic,
                c.clone(),
                country_party(
                    set,
                    party(
                        Location::Number,
                        c,
                        vec![],
                        format!("+{code}: {}", plan.name),
                    ),
                ),
            ),
            None => (
                AreaKind::Geographic,
                String::new(),
                party(
                    Location::Unknown,
                    "",
                    vec![],
                    format!(
                        "+{code} {}: prefix not in the numbering tables",
                        &national[..national.len().min(3)]
                    ),
                ),
            ),
        },
    };
    let kind = if area.is_none() && plan.country.is_none() {
        "unknown".to_owned()
    } else {
        kind.as_str().to_owned()
    };
    Ok(NumberInfo {
        input: input.to_owned(),
        e164,
        calling_code: code,
        country,
        kind,
        party,
    })
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
    let first = ids[0].split('-').next().unwrap_or_default();
    if ids.iter().all(|i| i.split('-').next() == Some(first)) {
        first.to_owned()
    } else {
        String::new()
    }
}
