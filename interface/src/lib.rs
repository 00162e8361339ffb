//! onrecord's D-Bus contract, shared by `onrecordd` (which serves it) and `onrecordctl`
//! (which calls it): the bus name, object paths, wire types, typed errors and proxies.
//!
//! This crate depends on zbus and serde only, never on the daemon, so any client can use it.
//! Every enum travels as a string (`#[zbus(signature = "s")]`), so reordering a variant
//! never changes the wire. The signatures are documented in `docs/dbus.md` and frozen in
//! `docs/dbus/org.onrecord.OnRecord1.xml`, which a test compares with the live daemon.

#[macro_use]
mod macros;
mod archive;
mod calls;
mod errors;
mod laws;
mod plugins;
mod proxies;
mod rules;

pub use archive::*;
pub use calls::*;
pub use errors::Error;
pub use laws::*;
pub use plugins::*;
pub use proxies::*;
pub use rules::*;

/// The well-known name onrecordd owns on the session bus.
pub const BUS_NAME: &str = "org.onrecord.OnRecord1";
/// The object that carries the daemon-wide interfaces (`Daemon1`, `Laws1`).
pub const OBJECT_PATH: &str = "/org/onrecord/OnRecord1";

/// The API version the daemon serves: (major, minor). A client built for (M, m) works with any
/// daemon whose major is M and whose minor is at least m.
pub const API_VERSION: (u32, u32) = (1, 8);

/// Whether a daemon serving `served` offers what a client built for `wanted` needs.
pub fn api_compatible(served: (u32, u32), wanted: (u32, u32)) -> bool {
    served.0 == wanted.0 && served.1 >= wanted.1
}

#[cfg(test)]
mod tests {
    use super::*;
    use zbus::Type;

    #[test]
    fn api_compatibility_is_by_major_and_minimum_minor() {
        assert!(api_compatible((1, 0), (1, 0)));
        assert!(api_compatible((1, 3), (1, 1)));
        assert!(!api_compatible((1, 0), (1, 1)));
        assert!(!api_compatible((2, 0), (1, 0)));
    }

    #[test]
    fn enums_travel_as_strings() {
        assert_eq!(Requirement::SIGNATURE, "s");
        assert_eq!(Medium::SIGNATURE, "s");
        assert_eq!(Consent::SIGNATURE, "s");
        assert_eq!(Location::SIGNATURE, "s");
    }

    #[test]
    fn medium_names_round_trip() {
        for &m in Medium::ALL {
            assert_eq!(m.as_str().parse::<Medium>(), Ok(m));
        }
        assert!("telepathy".parse::<Medium>().is_err());
    }
}
