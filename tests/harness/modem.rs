//! A small ModemManager of the tests, on the test's bus (which the daemon under test takes for
//! its system bus): one modem with the `Modem` and `Modem.Voice` interfaces, and call objects
//! with `org.freedesktop.ModemManager1.Call`'s documented `Number`, `Direction`, `State` and
//! `StateChanged`, under an `ObjectManager` at `/org/freedesktop/ModemManager1`. Debian's
//! python3-dbusmock has no ModemManager template, and PyPI's has no call objects.

use zbus::object_server::SignalEmitter;
use zbus::{Connection, OwnedObjectPath, interface};

pub const ROOT: &str = "/org/freedesktop/ModemManager1";
pub const MODEM: &str = "/org/freedesktop/ModemManager1/Modem/0";

/// `MMCallState` values.
pub const RINGING_IN: i32 = 3;
pub const DIALING: i32 = 1;
pub const ACTIVE: i32 = 4;
pub const TERMINATED: i32 = 7;

struct Modem;

#[interface(name = "org.freedesktop.ModemManager1.Modem")]
impl Modem {
    #[zbus(property)]
    fn manufacturer(&self) -> String {
        "QUECTEL".into()
    }
    #[zbus(property)]
    fn model(&self) -> String {
        "EG25".into()
    }
}

struct Voice {
    calls: Vec<OwnedObjectPath>,
}

#[interface(name = "org.freedesktop.ModemManager1.Modem.Voice")]
impl Voice {
    #[zbus(property)]
    fn calls(&self) -> Vec<OwnedObjectPath> {
        self.calls.clone()
    }
    #[zbus(signal)]
    async fn call_added(emitter: &SignalEmitter<'_>, path: OwnedObjectPath) -> zbus::Result<()>;
    #[zbus(signal)]
    async fn call_deleted(emitter: &SignalEmitter<'_>, path: OwnedObjectPath) -> zbus::Result<()>;
}

struct Call {
    number: String,
    direction: i32,
    state: i32,
}

#[interface(name = "org.freedesktop.ModemManager1.Call")]
impl Call {
    #[zbus(property)]
    fn number(&self) -> String {
        self.number.clone()
    }
    #[zbus(property)]
    fn direction(&self) -> i32 {
        self.direction
    }
    #[zbus(property)]
    fn state(&self) -> i32 {
        self.state
    }
    /// `StateChanged` (named so in Rust: the `State` property has a `state_changed` of its
    /// own).
    #[zbus(signal, name = "StateChanged")]
    async fn call_state_changed(
        emitter: &SignalEmitter<'_>,
        old: i32,
        new: i32,
        reason: u32,
    ) -> zbus::Result<()>;
}

/// The fake ModemManager, serving while it lives.
pub struct FakeModemManager {
    conn: Connection,
    next: u32,
}

impl FakeModemManager {
    /// Serves a ModemManager with one modem and no calls on the bus at `address`.
    pub async fn start(address: &str) -> FakeModemManager {
        let conn = zbus::connection::Builder::address(address)
            .serve_at(ROOT, zbus::fdo::ObjectManager)
            .serve_at(MODEM, Modem)
            .serve_at(MODEM, Voice { calls: Vec::new() })
            .name("org.freedesktop.ModemManager1")
            .build()
            .await
            .expect("serve the fake ModemManager");
        FakeModemManager { conn, next: 1 }
    }

    /// A call appears on the modem in `state` (`RINGING_IN` for an incoming call, `DIALING` for
    /// an outgoing one), with `number` (empty: withheld). Returns its object path.
    pub async fn add_call(&mut self, number: &str, state: i32) -> String {
        let path = format!("{ROOT}/Call/{}", self.next);
        self.next += 1;
        let direction = if state == RINGING_IN { 1 } else { 2 };
        let server = self.conn.object_server();
        server
            .at(
                path.as_str(),
                Call {
                    number: number.into(),
                    direction,
                    state,
                },
            )
            .await
            .expect("serve the call");
        let owned = OwnedObjectPath::try_from(path.as_str()).unwrap();
        let voice = server.interface::<_, Voice>(MODEM).await.unwrap();
        voice.get_mut().await.calls.push(owned.clone());
        Voice::call_added(voice.signal_emitter(), owned)
            .await
            .unwrap();
        path
    }

    async fn call(&self, path: &str) -> zbus::object_server::InterfaceRef<Call> {
        self.conn
            .object_server()
            .interface::<_, Call>(path)
            .await
            .expect("a call of the fake modem")
    }

    /// The call's state changes (`StateChanged` is emitted).
    pub async fn set_state(&self, path: &str, state: i32) {
        let call = self.call(path).await;
        let old = std::mem::replace(&mut call.get_mut().await.state, state);
        Call::call_state_changed(call.signal_emitter(), old, state, 0)
            .await
            .unwrap();
    }

    /// The call's number becomes known (`PropertiesChanged`), as when the caller's id arrives
    /// after the call rang.
    pub async fn set_number(&self, path: &str, number: &str) {
        let call = self.call(path).await;
        call.get_mut().await.number = number.into();
        call.get()
            .await
            .number_changed(call.signal_emitter())
            .await
            .unwrap();
    }

    /// The call is hung up: `TERMINATED`, then it is deleted from the modem.
    pub async fn hang_up(&self, path: &str) {
        self.set_state(path, TERMINATED).await;
        let server = self.conn.object_server();
        let owned = OwnedObjectPath::try_from(path).unwrap();
        let voice = server.interface::<_, Voice>(MODEM).await.unwrap();
        voice.get_mut().await.calls.retain(|c| *c != owned);
        Voice::call_deleted(voice.signal_emitter(), owned)
            .await
            .unwrap();
        server.remove::<Call, _>(path).await.unwrap();
    }
}
