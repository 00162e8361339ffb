//! A small GNOME Calls of the tests, on the test's session bus: `org.gnome.Calls` with an
//! `ObjectManager` at `/org/gnome/Calls` and call objects `/org/gnome/Calls/Call/N` with
//! `org.gnome.Calls.Call`'s `Id`, `Inbound`, `State`, `DisplayName` and `Protocol`, as GNOME
//! Calls exports them (`src/dbus/org.gnome.Calls.Call.xml`). Its process is the test's own,
//! which a test's PipeWire streams can claim (`application.process.id`) to be GNOME Calls'.

use zbus::{Connection, interface};

pub const ROOT: &str = "/org/gnome/Calls";

/// `CuiCallState` values.
pub const ACTIVE: u32 = 1;
pub const CALLING: u32 = 3;
pub const INCOMING: u32 = 5;
pub const DISCONNECTED: u32 = 7;

struct Call {
    id: String,
    inbound: bool,
    state: u32,
    protocol: String,
}

#[interface(name = "org.gnome.Calls.Call")]
impl Call {
    fn accept(&mut self) {}
    fn hangup(&mut self) {}
    #[zbus(property)]
    fn inbound(&self) -> bool {
        self.inbound
    }
    #[zbus(property)]
    fn state(&self) -> u32 {
        self.state
    }
    #[zbus(property)]
    fn id(&self) -> String {
        self.id.clone()
    }
    #[zbus(property)]
    fn display_name(&self) -> String {
        String::new()
    }
    #[zbus(property)]
    fn protocol(&self) -> String {
        self.protocol.clone()
    }
}

/// The fake GNOME Calls, serving while it lives.
pub struct FakeGnomeCalls {
    conn: Connection,
    next: u32,
}

impl FakeGnomeCalls {
    /// Serves GNOME Calls with no calls on the bus at `address`.
    pub async fn start(address: &str) -> FakeGnomeCalls {
        let conn = zbus::connection::Builder::address(address)
            .serve_at(ROOT, zbus::fdo::ObjectManager)
            .name("org.gnome.Calls")
            .build()
            .await
            .expect("serve the fake GNOME Calls");
        FakeGnomeCalls { conn, next: 1 }
    }

    /// A call appears (`InterfacesAdded`): `id` as GNOME Calls shows it (a number, a SIP
    /// address), `protocol` (`sip`, `tel`), incoming or not, in `state`. Returns its path.
    pub async fn add_call(
        &mut self,
        id: &str,
        protocol: &str,
        inbound: bool,
        state: u32,
    ) -> String {
        let path = format!("{ROOT}/Call/{}", self.next);
        self.next += 1;
        let call = Call {
            id: id.into(),
            inbound,
            state,
            protocol: protocol.into(),
        };
        self.conn
            .object_server()
            .at(path.as_str(), call)
            .await
            .expect("serve the call");
        path
    }

    /// The call's state changes (`PropertiesChanged`).
    pub async fn set_state(&self, path: &str, state: u32) {
        let call = self
            .conn
            .object_server()
            .interface::<_, Call>(path)
            .await
            .expect("a call of the fake GNOME Calls");
        call.get_mut().await.state = state;
        call.get()
            .await
            .state_changed(call.signal_emitter())
            .await
            .unwrap();
    }

    /// The call is hung up: `DISCONNECTED`, then it is removed (`InterfacesRemoved`).
    pub async fn hang_up(&self, path: &str) {
        self.set_state(path, DISCONNECTED).await;
        self.conn
            .object_server()
            .remove::<Call, _>(path)
            .await
            .unwrap();
    }
}
