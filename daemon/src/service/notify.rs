//! Desktop notifications (`org.freedesktop.Notifications`), so the user always sees that a
//! recording runs. A desktop without a notification server is not an error.

use std::collections::HashMap;
use zbus::{Connection, Variant};

/// Sends a notification without waiting for it.
pub fn send(conn: &Connection, summary: String, body: String) {
    let conn = conn.clone();
    tokio::spawn(async move {
        let hints: HashMap<&str, Variant<'_>> = HashMap::from([
            ("category", Variant::from("device")),
            ("urgency", Variant::from(1u8)),
        ]);
        let args = (
            "onrecord",
            0u32,
            "media-record",
            summary.as_str(),
            body.as_str(),
            Vec::<&str>::new(),
            hints,
            -1i32,
        );
        if let Err(e) = conn
            .call_method(
                Some("org.freedesktop.Notifications"),
                "/org/freedesktop/Notifications",
                Some("org.freedesktop.Notifications"),
                "Notify",
                &args,
            )
            .await
        {
            tracing::debug!("no desktop notification ({e})");
        }
    });
}
