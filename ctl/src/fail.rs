//! How onrecordctl fails: one line on stderr and an exit code that says whose fault it was.

use onrecord_interface::Error;
use std::process::ExitCode;

/// A failure, already phrased for a person.
#[derive(Debug)]
pub enum Fail {
    /// Bad usage or bad input: exit 2.
    Input(String),
    /// onrecordd (or the bus) cannot be reached: exit 3.
    Unreachable(String),
    /// The consent rules refused the step (a missing notice or consent, the wrong state, an
    /// ended call): exit 4.
    Refused(String),
    /// Anything else: exit 1.
    Other(String),
}

pub const START_HINT: &str = "start it with `onrecordd &` (or `systemctl --user start onrecordd`)";

impl Fail {
    pub fn exit(self) -> ExitCode {
        let (code, msg) = match self {
            Fail::Input(m) => (2, m),
            Fail::Unreachable(m) => (3, m),
            Fail::Refused(m) => (4, m),
            Fail::Other(m) => (1, m),
        };
        // One line: the daemon's messages may carry several (one per bad file).
        let msg = msg.trim().replace('\n', "; ");
        eprintln!("onrecordctl: {msg}");
        ExitCode::from(code)
    }
}

fn from_bus(e: &zbus::Error) -> Fail {
    use zbus::fdo;
    match e {
        zbus::Error::FDO(f)
            if matches!(
                **f,
                fdo::Error::ServiceUnknown(_) | fdo::Error::NameHasNoOwner(_)
            ) =>
        {
            Fail::Unreachable(format!(
                "onrecordd is not running on the session bus; {START_HINT}"
            ))
        }
        zbus::Error::FDO(f)
            if matches!(
                **f,
                fdo::Error::UnknownMethod(_)
                    | fdo::Error::UnknownInterface(_)
                    | fdo::Error::UnknownObject(_)
            ) =>
        {
            Fail::Other(format!(
                "this onrecordd does not offer what onrecordctl needs ({f}); update it"
            ))
        }
        zbus::Error::InputOutput(io) => Fail::Unreachable(format!("lost the session bus: {io}")),
        other => Fail::Other(format!("D-Bus error: {other}")),
    }
}

impl From<Error> for Fail {
    fn from(e: Error) -> Self {
        if let Error::ZBus(z) = &e {
            return from_bus(z);
        }
        let line = format!("org.onrecord.Error.{}: {}", e.kind(), e.message());
        if e.is_bad_input() {
            Fail::Input(line)
        } else if e.is_refusal() {
            Fail::Refused(line)
        } else {
            Fail::Other(line)
        }
    }
}

impl From<zbus::Error> for Fail {
    fn from(e: zbus::Error) -> Self {
        from_bus(&e)
    }
}
