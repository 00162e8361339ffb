//! What libphonenumber's metadata (carried by the `phonenumber` crate) says of a number: its
//! region and its type.
//!
//! The crate's own `PhoneNumber::number_type` and `country().id()` match the patterns against
//! the national number without its leading zeros, so every Italian fixed line (06 ...) came out
//! as no type and no region. Here the patterns see the national significant number as written,
//! zeros kept; the order of the checks is libphonenumber's.

use super::model::NumberKind;
use phonenumber::Metadata;
use phonenumber::metadata::{DATABASE, Descriptor};

/// The region whose numbering plan holds `national` under calling code `code`, and that plan.
pub fn region(code: u16, national: &str) -> Option<&'static Metadata> {
    let db = &*DATABASE;
    let regions = db.region(&code)?;
    if let [only] = regions.as_slice() {
        // "001": a non-geographic calling code (+800, +882, ...).
        return if *only == "001" {
            db.by_code(&code)?.into_iter().next()
        } else {
            db.by_id(*only)
        };
    }
    regions
        .into_iter()
        .filter_map(|r| db.by_id(r))
        .find(|m| match m.leading_digits() {
            Some(ld) => ld.find(national).is_some_and(|at| at.start() == 0),
            None => kind_in(m, national).is_some(),
        })
}

/// The number's type in `meta`'s plan, or `None` where it matches no pattern (not valid).
pub fn kind_in(meta: &Metadata, national: &str) -> Option<NumberKind> {
    let d = meta.descriptors();
    if !d.general().is_match(national) {
        return None;
    }
    let matches = |x: Option<&Descriptor>| x.is_some_and(|x| x.is_match(national));
    let ordered = [
        (d.premium_rate(), NumberKind::Premium),
        (d.toll_free(), NumberKind::TollFree),
        (d.shared_cost(), NumberKind::SharedCost),
        (d.voip(), NumberKind::Voip),
        (d.personal_number(), NumberKind::Personal),
        (d.pager(), NumberKind::Pager),
        (d.uan(), NumberKind::Uan),
        (d.voicemail(), NumberKind::Voicemail),
    ];
    if let Some((_, kind)) = ordered.into_iter().find(|(x, _)| matches(*x)) {
        return Some(kind);
    }
    let fixed = d.fixed_line();
    let mobile = d.mobile();
    if matches(fixed) {
        let same = fixed.map(|f| f.national_number().as_str())
            == mobile.map(|m| m.national_number().as_str());
        return Some(if same || matches(mobile) {
            NumberKind::GeographicOrMobile
        } else {
            NumberKind::Geographic
        });
    }
    matches(mobile).then_some(NumberKind::Mobile)
}

/// Whether some plan of calling code `code` has numbers of `national`'s length.
pub fn possible_length(code: u16, national: &str) -> bool {
    let len = national.len() as u16;
    DATABASE.by_code(&code).into_iter().flatten().any(|m| {
        let d = m.descriptors();
        let lengths = match d.fixed_line().map(Descriptor::possible_length) {
            Some(l) if !l.is_empty() => l,
            _ => d.general().possible_length(),
        };
        lengths.contains(&len)
    })
}
