//! A playback stream on the test's PipeWire made by the test's own process (not a `pw-cat`):
//! PipeWire knows its process (`pipewire.sec.pid`) as the bus knows the process of a service
//! the test serves, as GNOME Calls' streams and its bus name are one process.

use pipewire as pw;
use pw::spa;
use std::path::Path;

/// Plays while it lives; silence after the clip.
pub struct OwnStream {
    quit: pw::channel::Sender<()>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl OwnStream {
    /// Plays mono 48 kHz `samples` to `target` (a node name) on the PipeWire whose socket is
    /// `socket`, as `application` with `role`.
    pub fn play(
        socket: &Path,
        application: &str,
        role: &str,
        target: &str,
        samples: Vec<i16>,
    ) -> OwnStream {
        let (quit, quit_rx) = pw::channel::channel::<()>();
        let (ready, ready_rx) = std::sync::mpsc::channel::<Result<(), String>>();
        let (socket, application, role, target) = (
            socket.display().to_string(),
            application.to_owned(),
            role.to_owned(),
            target.to_owned(),
        );
        let thread = std::thread::spawn(move || {
            let run = || -> Result<(pw::main_loop::MainLoopRc, _, _, _), String> {
                pw::init();
                let main_loop = pw::main_loop::MainLoopRc::new(None).map_err(|e| e.to_string())?;
                let context =
                    pw::context::ContextRc::new(&main_loop, None).map_err(|e| e.to_string())?;
                let core = context
                    .connect_rc(Some(
                        pw::properties::properties! { "remote.name" => socket },
                    ))
                    .map_err(|e| format!("PipeWire: {e}"))?;
                let props = pw::properties::properties! {
                    *pw::keys::MEDIA_TYPE => "Audio",
                    *pw::keys::MEDIA_CATEGORY => "Playback",
                    *pw::keys::MEDIA_ROLE => role,
                    *pw::keys::APP_NAME => application,
                    "target.object" => target,
                };
                let stream = pw::stream::StreamRc::new(core, "test-own-stream", props)
                    .map_err(|e| e.to_string())?;
                let mut at = 0usize;
                let listener = stream
                    .add_local_listener_with_user_data(())
                    .process(move |stream, _| {
                        let Some(mut buffer) = stream.dequeue_buffer() else {
                            return;
                        };
                        let requested = buffer.requested() as usize;
                        let datas = buffer.datas_mut();
                        let Some(data) = datas.first_mut() else {
                            return;
                        };
                        let mut written = 0;
                        if let Some(bytes) = data.data() {
                            let frames = (bytes.len() / 2).min(if requested > 0 {
                                requested
                            } else {
                                usize::MAX
                            });
                            for f in 0..frames {
                                let v = samples.get(at).copied().unwrap_or(0);
                                at += 1;
                                bytes[f * 2..f * 2 + 2].copy_from_slice(&v.to_le_bytes());
                            }
                            written = frames;
                        }
                        let chunk = data.chunk_mut();
                        *chunk.offset_mut() = 0;
                        *chunk.stride_mut() = 2;
                        *chunk.size_mut() = (written * 2) as u32;
                    })
                    .register()
                    .map_err(|e| e.to_string())?;
                let mut info = spa::param::audio::AudioInfoRaw::new();
                info.set_format(spa::param::audio::AudioFormat::S16LE);
                info.set_rate(48_000);
                info.set_channels(1);
                let values = onrecord_pw::format_pod(info)?;
                let mut params = [spa::pod::Pod::from_bytes(&values).ok_or("format")?];
                stream
                    .connect(
                        spa::utils::Direction::Output,
                        None,
                        pw::stream::StreamFlags::AUTOCONNECT
                            | pw::stream::StreamFlags::MAP_BUFFERS
                            | pw::stream::StreamFlags::RT_PROCESS,
                        &mut params,
                    )
                    .map_err(|e| e.to_string())?;
                Ok((main_loop, context, stream, listener))
            };
            match run() {
                Ok((main_loop, _context, _stream, _listener)) => {
                    let weak = main_loop.downgrade();
                    let _quit = quit_rx.attach(main_loop.loop_(), move |()| {
                        if let Some(l) = weak.upgrade() {
                            l.quit();
                        }
                    });
                    let _ = ready.send(Ok(()));
                    main_loop.run();
                }
                Err(e) => {
                    let _ = ready.send(Err(e));
                }
            }
        });
        match ready_rx.recv() {
            Ok(Ok(())) => {}
            Ok(Err(e)) => panic!("the test's own stream: {e}"),
            Err(_) => panic!("the test's own stream ended before it began"),
        }
        OwnStream {
            quit,
            thread: Some(thread),
        }
    }
}

impl Drop for OwnStream {
    fn drop(&mut self) {
        let _ = self.quit.send(());
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}
