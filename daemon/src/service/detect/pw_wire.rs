//! The little of PipeWire's native protocol a registry reader needs (pure): messages of a
//! 16-byte header (destination id, opcode and size, sequence, fd count) and a SPA POD payload
//! (docs.pipewire.org, "Native Protocol"); the methods `Core.Hello`, `Core.Pong`,
//! `Core.GetRegistry` and `Client.UpdateProperties`; the events `Core.Ping`, `Core.Error`,
//! `Registry.Global` and `Registry.GlobalRemove`. Written here rather than linking libpipewire
//! into the daemon: that library, its protocol module and their dependencies were 1.9 MiB of
//! the idle daemon's resident memory, for a client that only reads the registry.

/// The core and the client object every connection has; the registry this reader asks for.
pub const CORE: u32 = 0;
pub const CLIENT: u32 = 1;
pub const REGISTRY: u32 = 2;

const HELLO: u8 = 1;
const PONG: u8 = 3;
const GET_REGISTRY: u8 = 5;
const UPDATE_PROPERTIES: u8 = 2;

const PING: u8 = 2;
const ERROR: u8 = 3;
const GLOBAL: u8 = 0;
const GLOBAL_REMOVE: u8 = 1;

/// `PW_VERSION_CORE` and `PW_VERSION_REGISTRY`.
const CORE_VERSION: i32 = 4;
const REGISTRY_VERSION: i32 = 3;

const NONE: u32 = 1;
const INT: u32 = 4;
const STRING: u32 = 8;
const STRUCT: u32 = 14;

/// A POD value, as far as these messages use them.
#[derive(Debug, Clone, PartialEq)]
pub enum Pod {
    None,
    Int(i32),
    String(String),
    Struct(Vec<Pod>),
    /// Any other type, kept by its type number.
    Other(u32),
}

fn padded(n: usize) -> usize {
    n.div_ceil(8) * 8
}

impl Pod {
    fn encode(&self, out: &mut Vec<u8>) {
        let (kind, body): (u32, Vec<u8>) = match self {
            Pod::None | Pod::Other(_) => (NONE, Vec::new()),
            Pod::Int(v) => (INT, v.to_ne_bytes().to_vec()),
            Pod::String(s) => {
                let mut b = s.as_bytes().to_vec();
                b.push(0);
                (STRING, b)
            }
            Pod::Struct(items) => {
                let mut b = Vec::new();
                items.iter().for_each(|p| p.encode(&mut b));
                (STRUCT, b)
            }
        };
        out.extend_from_slice(&(body.len() as u32).to_ne_bytes());
        out.extend_from_slice(&kind.to_ne_bytes());
        out.extend_from_slice(&body);
        out.resize(out.len() + padded(body.len()) - body.len(), 0);
    }

    /// The POD at the start of `bytes`, and how many bytes it takes (padded).
    pub fn decode(bytes: &[u8]) -> Result<(Pod, usize), String> {
        Pod::decode_in(bytes, 0)
    }

    /// As `decode`, `depth` Structs deep: the messages read here nest two, and a deeper one is
    /// refused rather than followed down the stack.
    fn decode_in(bytes: &[u8], depth: usize) -> Result<(Pod, usize), String> {
        const DEEPEST: usize = 8;
        let word = |at: usize| -> Result<u32, String> {
            bytes
                .get(at..at + 4)
                .map(|w| u32::from_ne_bytes(w.try_into().expect("four bytes")))
                .ok_or_else(|| "a POD cut short".to_owned())
        };
        let (size, kind) = (word(0)? as usize, word(4)?);
        let body = bytes
            .get(8..8 + size)
            .ok_or_else(|| format!("a POD of {size} bytes in {} left", bytes.len()))?;
        let pod = match kind {
            NONE => Pod::None,
            INT if size >= 4 => Pod::Int(i32::from_ne_bytes(body[..4].try_into().expect("4"))),
            STRING => {
                let text = body.split(|&b| b == 0).next().unwrap_or_default();
                Pod::String(String::from_utf8_lossy(text).into_owned())
            }
            STRUCT if depth >= DEEPEST => return Err("a POD nested too deep".into()),
            STRUCT => {
                let mut items = Vec::new();
                let mut at = 0;
                while at < size {
                    let (item, used) = Pod::decode_in(&body[at..], depth + 1)?;
                    items.push(item);
                    at += used;
                }
                Pod::Struct(items)
            }
            other => Pod::Other(other),
        };
        Ok((pod, 8 + padded(size)))
    }
}

/// One message: its destination (or source) object, opcode and payload.
#[derive(Debug, PartialEq)]
pub struct Message {
    pub id: u32,
    pub opcode: u8,
    pub seq: u32,
    pub payload: Pod,
}

/// The first whole message in `bytes`, and how many bytes it takes; `None` until it has all
/// arrived. A message's footer (after its payload) is skipped.
pub fn next_message(bytes: &[u8]) -> Result<Option<(Message, usize)>, String> {
    if bytes.len() < 16 {
        return Ok(None);
    }
    let word = |at: usize| u32::from_ne_bytes(bytes[at..at + 4].try_into().expect("4"));
    let (id, op_size, seq) = (word(0), word(4), word(8));
    let (opcode, size) = ((op_size >> 24) as u8, (op_size & 0xff_ffff) as usize);
    if bytes.len() < 16 + size {
        return Ok(None);
    }
    let (payload, _) = Pod::decode(&bytes[16..16 + size])?;
    Ok(Some((
        Message {
            id,
            opcode,
            seq,
            payload,
        },
        16 + size,
    )))
}

/// Messages to send, numbered in order.
#[derive(Default)]
pub struct Writer {
    seq: u32,
    out: Vec<u8>,
}

impl Writer {
    fn message(&mut self, id: u32, opcode: u8, payload: Pod) {
        let mut body = Vec::new();
        payload.encode(&mut body);
        self.out.extend_from_slice(&id.to_ne_bytes());
        self.out
            .extend_from_slice(&(((opcode as u32) << 24) | body.len() as u32).to_ne_bytes());
        self.out.extend_from_slice(&self.seq.to_ne_bytes());
        self.out.extend_from_slice(&0u32.to_ne_bytes());
        self.out.extend_from_slice(&body);
        self.seq += 1;
    }

    /// What a registry reader says first: hello, who it is, and that it wants the registry.
    pub fn start(&mut self, props: &[(&str, &str)]) {
        self.message(CORE, HELLO, Pod::Struct(vec![Pod::Int(CORE_VERSION)]));
        let mut dict = vec![Pod::Int(props.len() as i32)];
        for (k, v) in props {
            dict.push(Pod::String((*k).to_owned()));
            dict.push(Pod::String((*v).to_owned()));
        }
        self.message(
            CLIENT,
            UPDATE_PROPERTIES,
            Pod::Struct(vec![Pod::Struct(dict)]),
        );
        self.message(
            CORE,
            GET_REGISTRY,
            Pod::Struct(vec![Pod::Int(REGISTRY_VERSION), Pod::Int(REGISTRY as i32)]),
        );
    }

    /// The answer to a ping.
    pub fn pong(&mut self, id: i32, seq: i32) {
        self.message(CORE, PONG, Pod::Struct(vec![Pod::Int(id), Pod::Int(seq)]));
    }

    /// What is to be sent, taken.
    pub fn take(&mut self) -> Vec<u8> {
        std::mem::take(&mut self.out)
    }
}

/// What a message from the server means to a registry reader.
#[derive(Debug, PartialEq)]
pub enum Event {
    /// An object: its id, type (`PipeWire:Interface:Node`) and properties.
    Global {
        id: u32,
        kind: String,
        props: Vec<(String, String)>,
    },
    Removed(u32),
    /// The server pings: answer with `Writer::pong`.
    Ping {
        id: i32,
        seq: i32,
    },
    /// An error on object `id` (on the core: the connection is over).
    Error {
        id: i32,
        message: String,
    },
    /// Anything else (the core's info, done, ...).
    Other,
}

impl Event {
    pub fn of(msg: &Message) -> Event {
        let Pod::Struct(items) = &msg.payload else {
            return Event::Other;
        };
        let int = |i: usize| match items.get(i) {
            Some(Pod::Int(v)) => Some(*v),
            _ => None,
        };
        let text = |p: Option<&Pod>| match p {
            Some(Pod::String(s)) => s.clone(),
            _ => String::new(),
        };
        match (msg.id, msg.opcode) {
            (REGISTRY, GLOBAL) => {
                let (Some(id), Some(Pod::Struct(dict))) = (int(0), items.get(4)) else {
                    return Event::Other;
                };
                let props = dict
                    .get(1..)
                    .unwrap_or_default()
                    .chunks(2)
                    .filter(|kv| kv.len() == 2)
                    .map(|kv| (text(kv.first()), text(kv.get(1))))
                    .collect();
                Event::Global {
                    id: id as u32,
                    kind: text(items.get(2)),
                    props,
                }
            }
            (REGISTRY, GLOBAL_REMOVE) => {
                int(0).map_or(Event::Other, |id| Event::Removed(id as u32))
            }
            (CORE, PING) => match (int(0), int(1)) {
                (Some(id), Some(seq)) => Event::Ping { id, seq },
                _ => Event::Other,
            },
            (CORE, ERROR) => Event::Error {
                id: int(0).unwrap_or(-1),
                message: text(items.get(3)),
            },
            _ => Event::Other,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pods_round_trip_padded_to_eight_bytes() {
        let pod = Pod::Struct(vec![
            Pod::Int(-7),
            Pod::String("node.name".into()),
            Pod::Struct(vec![Pod::Int(0)]),
            Pod::None,
        ]);
        let mut bytes = Vec::new();
        pod.encode(&mut bytes);
        assert_eq!(bytes.len() % 8, 0);
        // An Int is 8 bytes of header and 8 of body (4 padded); "node.name\0" is 10 bytes, 16
        // padded.
        assert_eq!(bytes.len(), 8 + 16 + (8 + 16) + (8 + 16) + 8);
        assert_eq!(Pod::decode(&bytes).unwrap(), (pod, bytes.len()));
        assert!(Pod::decode(&bytes[..bytes.len() - 9]).is_err());
        // Structs in structs as deep as a message allows are refused, not followed.
        let mut bytes = Vec::new();
        Pod::Int(1).encode(&mut bytes);
        for _ in 0..2_000 {
            let mut outer = (bytes.len() as u32).to_ne_bytes().to_vec();
            outer.extend_from_slice(&STRUCT.to_ne_bytes());
            outer.extend_from_slice(&bytes);
            bytes = outer;
        }
        assert_eq!(Pod::decode(&bytes), Err("a POD nested too deep".into()));
    }

    fn registry_message(opcode: u8, payload: Pod) -> Vec<u8> {
        let mut w = Writer::default();
        w.message(REGISTRY, opcode, payload);
        w.take()
    }

    #[test]
    fn a_global_and_its_removal_are_read_from_the_stream_as_it_arrives() {
        let global = Pod::Struct(vec![
            Pod::Int(47),
            Pod::Int(0x1ff),
            Pod::String("PipeWire:Interface:Node".into()),
            Pod::Int(3),
            Pod::Struct(vec![
                Pod::Int(2),
                Pod::String("client.id".into()),
                Pod::String("46".into()),
                Pod::String("application.name".into()),
                Pod::String("Calls".into()),
            ]),
        ]);
        let mut bytes = registry_message(GLOBAL, global);
        // A footer after the payload (a Struct the reader skips).
        let footer = {
            let mut f = Vec::new();
            Pod::Struct(vec![Pod::Int(1)]).encode(&mut f);
            f
        };
        let size = u32::from_ne_bytes(bytes[4..8].try_into().unwrap());
        bytes[4..8].copy_from_slice(&(size + footer.len() as u32).to_ne_bytes());
        bytes.extend_from_slice(&footer);
        let whole = bytes.len();
        bytes.extend(registry_message(
            GLOBAL_REMOVE,
            Pod::Struct(vec![Pod::Int(47)]),
        ));

        // Nothing until a message has all arrived.
        assert_eq!(next_message(&bytes[..whole - 1]).unwrap(), None);
        let (first, used) = next_message(&bytes).unwrap().unwrap();
        assert_eq!(used, whole);
        assert_eq!(
            Event::of(&first),
            Event::Global {
                id: 47,
                kind: "PipeWire:Interface:Node".into(),
                props: vec![
                    ("client.id".into(), "46".into()),
                    ("application.name".into(), "Calls".into())
                ],
            }
        );
        let (second, _) = next_message(&bytes[used..]).unwrap().unwrap();
        assert_eq!(Event::of(&second), Event::Removed(47));
    }

    #[test]
    fn the_opening_asks_for_the_registry_and_a_ping_is_answered() {
        let mut w = Writer::default();
        w.start(&[("application.name", "onrecordd")]);
        let bytes = w.take();
        let mut at = 0;
        let mut seen = Vec::new();
        while let Some((m, used)) = next_message(&bytes[at..]).unwrap() {
            seen.push((m.id, m.opcode, m.seq));
            at += used;
        }
        assert_eq!(at, bytes.len());
        assert_eq!(
            seen,
            [
                (CORE, HELLO, 0),
                (CLIENT, UPDATE_PROPERTIES, 1),
                (CORE, GET_REGISTRY, 2)
            ]
        );
        let ping = Message {
            id: CORE,
            opcode: PING,
            seq: 9,
            payload: Pod::Struct(vec![Pod::Int(0), Pod::Int(1 << 30 | 5)]),
        };
        assert_eq!(
            Event::of(&ping),
            Event::Ping {
                id: 0,
                seq: 1 << 30 | 5
            }
        );
    }
}
