//! A plugin's capture source, opened for one side of a call.

use super::*;

/// A source opened for a call. The sink context is owned here; the source's callback borrows
/// it until the source is stopped.
pub(super) struct OpenSource {
    pub(super) vt: Option<&'static CaptureSourceV1>,
    pub(super) handle: *mut c_void,
    pub(super) ring: Arc<Ring>,
    pub(super) sink: *mut SinkCtx,
    pub(super) format: AudioFormat,
    pub(super) started: bool,
}

impl OpenSource {
    /// Opens `config` with `plugin`, asking for `want`. A source that did not open is returned
    /// without a plugin, with the reason: a timed channel stays (silent).
    pub(super) fn open(
        plugin: &'static CaptureSourceV1,
        config: &str,
        want: AudioFormat,
    ) -> (OpenSource, Option<String>) {
        let ring = Arc::new(Ring::default());
        let sink = Box::into_raw(Box::new(SinkCtx::new(ring.clone())));
        let mut got = want;
        let mut handle = std::ptr::null_mut();
        let mut err = ErrorText::new();
        let cfg = config.as_bytes();
        // SAFETY: ABI call with valid pointers; `sink` lives until after `stop` returns.
        let st = unsafe {
            (plugin.open)(
                cfg.as_ptr(),
                cfg.len(),
                &want,
                &mut got,
                ring::frame_sink(sink),
                &mut handle,
                err.ptr(),
            )
        };
        let mut src = OpenSource {
            vt: None,
            handle,
            ring,
            sink,
            format: want,
            started: false,
        };
        if st != STATUS_OK {
            return (src, Some(format!("did not open: {}", err.text(st))));
        }
        src.vt = Some(plugin);
        if !got.is_valid() {
            src.close();
            return (src, Some(format!("offers an invalid format {got:?}")));
        }
        src.format = got;
        (src, None)
    }

    pub(super) fn start(&mut self) -> Result<(), String> {
        let Some(vt) = self.vt else { return Ok(()) };
        let mut err = ErrorText::new();
        // SAFETY: ABI call on the handle opened above.
        let st = unsafe { (vt.start)(self.handle, err.ptr()) };
        if st != STATUS_OK {
            return Err(format!("did not start: {}", err.text(st)));
        }
        self.started = true;
        Ok(())
    }

    /// Stops (if started) and closes the plugin's source; the sink stays until `free`. Says
    /// what went wrong if the source's `stop` failed (it may have panicked).
    pub(super) fn close(&mut self) -> Option<String> {
        let vt = self.vt.take()?;
        // SAFETY: ABI calls on the handle opened above; after `stop` returns the source no
        // longer calls the sink.
        unsafe {
            let st = if self.started {
                (vt.stop)(self.handle)
            } else {
                STATUS_OK
            };
            (vt.close)(self.handle);
            (st != STATUS_OK).then(|| {
                format!(
                    "the capture source did not stop cleanly: {}",
                    ErrorText::new().text(st)
                )
            })
        }
    }
}

impl Drop for OpenSource {
    fn drop(&mut self) {
        self.close();
        // SAFETY: the source is closed, so nothing else holds `sink`.
        drop(unsafe { Box::from_raw(self.sink) });
    }
}
