//! What noticed a call, when a detector proposed it (and the other detectors that see the same
//! call): the key each knows it by, the application, and what it is recorded from.

use onrecord_interface::DetectedBy;
use serde::{Deserialize, Serialize};

/// What noticed a call, when a detector proposed it.
#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
pub struct Detected {
    pub by: DetectedBy,
    /// The detector's key for the call (a modem call's object path, a client's id).
    pub key: String,
    /// The application or device it was noticed on, for people.
    pub application: String,
    /// `incoming`, `outgoing`, or empty when not known.
    pub direction: String,
    /// The application's own playback stream on PipeWire (its `object.serial`): the far side,
    /// recorded without the rest of the output. Empty when not known.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub far_side: String,
    /// The source the application's capture stream reads on PipeWire (its `object.serial`):
    /// the microphone the call actually uses. Empty when not known.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub microphone: String,
    /// The application's name on PipeWire (`application.name`), whose streams are the call's,
    /// when another detector saw the call first; see [`Detected::stream_app`].
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub pipewire_app: String,
    /// The other side as the application names it when that is not a phone number (a SIP
    /// address), else empty.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub address: String,
    /// The application's process, when known: how two detectors' views of one call are
    /// matched (GNOME Calls' call object and its streams on PipeWire).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pid: Option<u32>,
    /// Other detectors' keys for the same call.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub linked: Vec<Linked>,
}

/// Another detector's key for a call (see [`Detected::linked`]).
#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
pub struct Linked {
    pub by: DetectedBy,
    pub key: String,
}

impl Detected {
    /// Whether this is the call `by` knows as `key`, as its first detector or a linked one.
    pub fn is(&self, by: DetectedBy, key: &str) -> bool {
        (self.by == by && self.key == key) || self.linked.iter().any(|l| l.by == by && l.key == key)
    }

    /// The application whose streams on PipeWire are the call's, when known.
    pub fn stream_app(&self) -> Option<&str> {
        match (self.pipewire_app.as_str(), self.by) {
            ("", DetectedBy::PipeWire) => Some(&self.application),
            ("", _) => None,
            (app, _) => Some(app),
        }
    }

    /// Whether `by` already sees this call.
    pub fn seen_by(&self, by: DetectedBy) -> bool {
        self.by == by || self.linked.iter().any(|l| l.by == by)
    }

    /// Whether a detector that knows the call's signalling (a modem, GNOME Calls) sees it: then
    /// that detector, not the audio streams, says when the call ends.
    pub fn signalled(&self) -> bool {
        self.seen_by(DetectedBy::Modem) || self.seen_by(DetectedBy::GnomeCalls)
    }

    /// For people: "an incoming call on the modem (QUECTEL EG25)", "a call in Linphone".
    pub fn describe(&self) -> String {
        let call = match self.direction.as_str() {
            "" => "a call".to_owned(),
            d => format!("an {d} call"),
        };
        match (self.by, self.application.as_str()) {
            (DetectedBy::Modem, "") => format!("{call} on the modem"),
            (DetectedBy::Modem, app) => format!("{call} on the modem ({app})"),
            (DetectedBy::PipeWire, "") => format!("{call} in an application"),
            (DetectedBy::PipeWire, app) => format!("{call} in {app}"),
            (DetectedBy::GnomeCalls, _) if !self.address.is_empty() => {
                format!("{call} in GNOME Calls ({})", self.address)
            }
            (DetectedBy::GnomeCalls, _) => format!("{call} in GNOME Calls"),
            (DetectedBy::Client, _) => format!("{call} a client created"),
        }
    }
}
