//! A recording left open by a crash: each file repaired by its storage plugin, and the
//! journal cut to the blocks the repaired file holds, ready to seal.

use super::*;

impl PluginCapture {
    pub(super) fn repair(&self, call: &Call, dir: &Path) -> Option<Stopped> {
        let mut said = Vec::new();
        let mut files = Vec::new();
        for name in &call.recording_files {
            let path = dir.join(name);
            if !path.is_file() {
                continue;
            }
            let ext = path.extension().and_then(|e| e.to_str()).unwrap_or("");
            let Some(storage) = self
                .registry
                .storage_for_extension(ext, &self.config.storage)
            else {
                tracing::error!(call = %call.id, file = %path.display(), "no storage plugin writes .{ext} files: not repaired");
                said.push(format!(
                    "{name} could not be repaired: no storage plugin writes .{ext} files"
                ));
                continue;
            };
            let p = path.to_string_lossy().into_owned();
            let mut frames = 0u64;
            let mut err = ErrorText::new();
            // SAFETY: ABI call with valid pointers.
            let st = unsafe { (storage.repair)(p.as_ptr(), p.len(), &mut frames, err.ptr()) };
            if st == STATUS_OK {
                tracing::warn!(call = %call.id, file = %path.display(), frames, "recording repaired after a crash");
                said.push(format!(
                    "{name} repaired after a crash: {frames} frames kept"
                ));
                let format = onrecord_evidence::verify::probe_format(
                    &self.registry.readers(&self.config.storage),
                    &path,
                );
                let sealed = format.as_ref().and_then(|(sample_format, _, channels)| {
                    let width = if sample_format == "f32" { 4 } else { 2 };
                    let journal = dir.join(onrecord_evidence::journal_name(name));
                    journal::recover(&journal, frames * width * u64::from(*channels))
                        .map_err(|e| tracing::error!(call = %call.id, file = %journal.display(), "cannot recover the chain journal: {e}"))
                        .ok()
                });
                if let (Some((sample_format, rate, channels)), Some(sealed)) = (format, sealed) {
                    files.push(SealedFile {
                        name: name.clone(),
                        sample_format,
                        rate,
                        channels,
                        pcm_bytes: sealed.pcm_bytes,
                        blocks: sealed.blocks,
                        head: sealed.head,
                        complete: false,
                    });
                }
            } else {
                let why = err.text(st);
                tracing::error!(call = %call.id, file = %path.display(), "cannot repair the recording: {why}");
                said.push(format!("{name} could not be repaired: {why}"));
            }
        }
        (!said.is_empty()).then(|| Stopped {
            report: said.join("; "),
            files,
            notes: Vec::new(),
            stats: None,
            analysis: None,
        })
    }
}
