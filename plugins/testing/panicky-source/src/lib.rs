//! A capture source that loads fine and panics when a call starts to record: the daemon must
//! contain the panic, say so in the call's timeline, and go on serving.

use onrecord_plugin::{AudioFormat, CaptureSource, Sink, export};

pub struct PanickySource;

impl CaptureSource for PanickySource {
    fn open(_: &str, _: AudioFormat, _: Sink) -> Result<(Self, AudioFormat), String> {
        panic!("open")
    }
    fn start(&mut self) -> Result<(), String> {
        panic!("start")
    }
    fn stop(&mut self) {
        panic!("stop")
    }
}

export!(id: "panicky-source", description: "panics when asked to capture", capture: PanickySource);
