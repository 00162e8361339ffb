//! Turning a request's arguments into a decision: shared by `Laws1.Evaluate` and
//! `Calls1.CreateCall`, so both read parties and apply the law the same way.

use super::Published;
use crate::laws::{self, EvalError, number::NumberError};
use onrecord_interface::{Decision, Error, Medium, Party};

/// Inputs longer than this are refused rather than parsed.
pub const MAX_ARG_LEN: usize = 256;
/// At most this many other parties in one request.
pub const MAX_PARTIES: usize = 64;

/// zbus checks the arguments of a method that takes some, but lets a call to one that takes
/// none carry anything (`Reload s "extra"` succeeded; `Withdraw s "x"` withdrew consent). Such a
/// call is refused as the bus library refuses a wrong signature elsewhere: InvalidArgs.
pub fn no_arguments(header: &zbus::message::Header<'_>) -> Result<(), Error> {
    let sig = header.signature();
    if *sig == zbus::Signature::Unit {
        return Ok(());
    }
    Err(Error::ZBus(zbus::Error::FDO(Box::new(
        zbus::fdo::Error::InvalidArgs(format!("this method takes no arguments, not {sig}")),
    ))))
}

pub fn check_len(what: &str, s: &str) -> Result<(), Error> {
    if s.len() > MAX_ARG_LEN {
        return Err(Error::InvalidArgument(format!(
            "{what} is longer than {MAX_ARG_LEN} bytes"
        )));
    }
    Ok(())
}

impl From<EvalError> for Error {
    fn from(e: EvalError) -> Self {
        match e {
            EvalError::UnknownJurisdiction(_) => Error::UnknownJurisdiction(e.to_string()),
            EvalError::InvalidNumber(n) => Error::InvalidNumber(n.to_string()),
        }
    }
}

impl From<NumberError> for Error {
    fn from(e: NumberError) -> Self {
        Error::InvalidNumber(e.to_string())
    }
}

/// The country part of a jurisdiction id (`US-TX` -> `US`).
pub fn country_of(id: &str) -> &str {
    id.split('-').next().unwrap_or(id)
}

pub fn parse_medium(medium: &str) -> Result<Medium, Error> {
    check_len("medium", medium)?;
    if medium.is_empty() {
        Ok(Medium::Phone)
    } else {
        medium.parse().map_err(Error::InvalidArgument)
    }
}

/// The recorder (from `me`, or the configured jurisdiction when `me` is empty).
pub fn recorder(now: &Published, me: &str) -> Result<Party, Error> {
    check_len("me", me)?;
    let me = match (me.trim(), &now.user_jurisdiction) {
        ("", Some(configured)) => configured.clone(),
        ("", None) => {
            return Err(Error::NoJurisdiction(
                "your jurisdiction is not configured: pass it (--me US-TX) or set `jurisdiction` in config.toml".into(),
            ));
        }
        (given, _) => given.to_owned(),
    };
    Ok(laws::resolve_recorder(&now.set, &me)?)
}

/// The other parties, read in the recorder's country when written without a country code.
pub fn parties(now: &Published, recorder: &Party, them: &[String]) -> Result<Vec<Party>, Error> {
    if them.is_empty() {
        return Err(Error::InvalidArgument(
            "name at least one other party (a number or a jurisdiction id)".into(),
        ));
    }
    if them.len() > MAX_PARTIES {
        return Err(Error::InvalidArgument(format!(
            "at most {MAX_PARTIES} other parties"
        )));
    }
    for t in them {
        check_len("a party", t)?;
    }
    let home = if recorder.jurisdiction.is_empty() {
        recorder.input.as_str()
    } else {
        recorder.jurisdiction.as_str()
    };
    let country = country_of(home.trim()).to_ascii_uppercase();
    Ok(them
        .iter()
        .map(|t| laws::resolve(&now.set, t, Some(&country)))
        .collect::<Result<Vec<_>, _>>()?)
}

/// The whole decision for a prospective call.
pub fn decide(
    now: &Published,
    me: &str,
    them: &[String],
    medium: Medium,
) -> Result<(Party, Vec<Party>, Decision), Error> {
    let recorder = recorder(now, me)?;
    let parties = parties(now, &recorder, them)?;
    let decision = laws::evaluate(&now.set, &recorder, &parties, medium);
    Ok((recorder, parties, decision))
}
