//! Checking a call's evidence: the manifest's signature, each file's hash, the chain's links,
//! and every block of audio against its sealed hash.

use crate::chain::{self, Block, GENESIS};
use crate::{MANIFEST, Manifest, Readers, SIGNATURE, journal_name, key};
use sha2::{Digest, Sha256};
use std::path::Path;

/// What was checked, in order, and whether it held.
#[derive(Debug, Default, Clone)]
pub struct Report {
    pub checks: Vec<(bool, String)>,
}

impl Report {
    pub fn ok(&self) -> bool {
        !self.checks.is_empty() && self.checks.iter().all(|(ok, _)| *ok)
    }

    fn pass(&mut self, what: String) {
        self.checks.push((true, what));
    }

    fn fail(&mut self, what: String) {
        self.checks.push((false, what));
    }

    /// Adds whether the manifest in `dir` is signed by `expected` (this installation's public
    /// key, hex): a call copied from another machine verifies, but not as this one's.
    pub fn check_key(&mut self, dir: &Path, expected: &str) {
        let signed_by = std::fs::read(dir.join(MANIFEST))
            .ok()
            .and_then(|b| serde_json::from_slice::<Manifest>(&b).ok())
            .map(|m| m.public_key);
        match signed_by {
            Some(k) if k == expected => self.pass("the signing key is this installation's".into()),
            Some(_) => {
                self.fail("the manifest is signed by another key than this installation's".into())
            }
            None => {}
        }
    }
}

fn sha_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

fn clock(bytes: u64, bytes_per_second: u64) -> String {
    let s = bytes as f64 / bytes_per_second.max(1) as f64;
    format!("{}:{:04.1}", (s / 60.0) as u64, s % 60.0)
}

/// The format of an audio file (`i16`|`f32`, rate, channels), from its header, as the storage
/// plugin that wrote it reads it.
pub fn probe_format(readers: &Readers, path: &Path) -> Option<(String, u32, u32)> {
    let f = readers.open(path).ok()?.format()?;
    let sample = match f.sample_format {
        onrecord_plugin::SAMPLE_F32 => "f32",
        _ => "i16",
    };
    Some((sample.into(), f.rate, f.channels))
}

/// The SHA-256 of a file (hex), read a MiB at a time: an hour of audio is hundreds of MB. The
/// seal and the check hash files with this one function.
pub fn file_sha256(path: &Path) -> std::io::Result<String> {
    use std::io::Read;
    let mut file = std::fs::File::open(path)?;
    let mut h = Sha256::new();
    let mut buf = vec![0u8; 1 << 20];
    loop {
        match file.read(&mut buf)? {
            0 => return Ok(hex::encode(h.finalize())),
            n => h.update(&buf[..n]),
        }
    }
}

/// Reads up to `n` bytes into `buf` (cleared first); fewer only at the end.
fn read_up_to(r: &mut impl std::io::Read, buf: &mut Vec<u8>, n: usize) -> std::io::Result<()> {
    buf.clear();
    buf.resize(n, 0);
    let mut filled = 0;
    while filled < n {
        match r.read(&mut buf[filled..])? {
            0 => break,
            k => filled += k,
        }
    }
    buf.truncate(filled);
    Ok(())
}

/// Verifies the call directory `dir` (or an unpacked bundle), reading its audio through
/// `readers` (the storage plugins that write it).
pub fn verify_dir(dir: &Path, readers: &Readers) -> Report {
    verify_dir_with(dir, readers, |_| {})
}

/// [`verify_dir`], telling `progress` which file it checks.
pub fn verify_dir_with(dir: &Path, readers: &Readers, mut progress: impl FnMut(&str)) -> Report {
    let mut r = Report::default();
    let manifest_bytes = match std::fs::read(dir.join(MANIFEST)) {
        Ok(b) => b,
        Err(e) => {
            r.fail(format!("{MANIFEST}: {e} (a call is sealed when it ends)"));
            return r;
        }
    };
    let manifest: Manifest = match serde_json::from_slice(&manifest_bytes) {
        Ok(m) => m,
        Err(e) => {
            r.fail(format!("{MANIFEST}: not a manifest ({e})"));
            return r;
        }
    };
    match std::fs::read_to_string(dir.join(SIGNATURE)) {
        Ok(sig) => match key::verify_hex(&manifest.public_key, &manifest_bytes, &sig) {
            Ok(()) => r.pass(format!(
                "{MANIFEST}: signed by key {}",
                &manifest.public_key
            )),
            Err(e) => r.fail(format!(
                "{MANIFEST}: {e}: the manifest or its signature was changed"
            )),
        },
        Err(e) => r.fail(format!("{SIGNATURE}: {e}")),
    }
    for f in &manifest.files {
        progress(&format!(
            "{} ({:.1} s, {} blocks)",
            f.name, f.duration_s, f.blocks
        ));
        verify_file(dir, f, readers, &mut r);
    }
    r
}

fn verify_file(dir: &Path, f: &crate::FileEntry, readers: &Readers, r: &mut Report) {
    let name = &f.name;
    // A file of the call is in the call's directory: a name that is a path could make the
    // check read anything on the machine.
    let mut parts = Path::new(name).components();
    if !matches!(
        (parts.next(), parts.next()),
        (Some(std::path::Component::Normal(_)), None)
    ) {
        return r.fail(format!(
            "{name:?}: not a file name: a manifest names files inside the call's directory"
        ));
    }
    let encrypted = crate::encrypt::encrypted_name(name);
    if !dir.join(name).exists() && dir.join(&encrypted).exists() {
        return r.fail(format!(
            "{name}: encrypted ({encrypted}): verify with the identity that decrypts it (onrecordctl verify --identity FILE)"
        ));
    }
    match file_sha256(&dir.join(name)) {
        Ok(sha) if sha == f.sha256 => r.pass(format!("{name}: SHA-256 matches the manifest")),
        Ok(_) => r.fail(format!(
            "{name}: SHA-256 differs from the manifest: the file was changed"
        )),
        Err(e) => return r.fail(format!("{name}: {e}")),
    }
    let journal = match std::fs::read_to_string(dir.join(journal_name(name))) {
        Ok(t) => t,
        Err(e) => return r.fail(format!("{}: {e}", journal_name(name))),
    };
    let mut blocks = Vec::new();
    for (i, line) in journal
        .lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
    {
        match serde_json::from_str::<Block>(line) {
            Ok(b) => blocks.push(b),
            Err(e) => return r.fail(format!("{}: line {}: {e}", journal_name(name), i + 1)),
        }
    }
    // The links, from the genesis to the head the manifest sealed.
    let mut prev = GENESIS;
    let mut offset = 0u64;
    for b in &blocks {
        let hash: Option<[u8; 32]> = hex::decode(&b.sha256).ok().and_then(|v| v.try_into().ok());
        let Some(hash) = hash else {
            return r.fail(format!("{name}: block {}: malformed hash", b.index));
        };
        let expected = chain::link(&prev, b.index, b.offset, b.len, &hash);
        if hex::encode(expected) != b.chain || b.offset != offset {
            return r.fail(format!("{name}: the chain breaks at block {}: blocks were inserted, removed or reordered in the journal", b.index));
        }
        prev = expected;
        offset += b.len;
    }
    if hex::encode(prev) != f.chain_head || blocks.len() as u64 != f.blocks {
        return r.fail(format!(
            "{name}: the journal's chain does not end where the manifest sealed it"
        ));
    }
    r.pass(format!("{name}: chain of {} blocks intact", blocks.len()));
    // The audio, a block at a time: the check holds one block, whatever the call's length.
    let mut pcm = match readers.open(&dir.join(name)) {
        Ok(p) => p,
        Err(e) => return r.fail(e),
    };
    let per_second =
        (f.rate as u64) * (f.channels as u64) * if f.sample_format == "f32" { 4 } else { 2 };
    let mut block = Vec::new();
    for b in &blocks {
        let (start, end) = (b.offset, b.offset + b.len);
        if let Err(e) = read_up_to(&mut pcm, &mut block, b.len as usize) {
            return r.fail(format!("{name}: {e}"));
        }
        if (block.len() as u64) < b.len {
            let at = start + block.len() as u64;
            return r.fail(format!(
                "{name}: the audio ends at byte {at} ({}), inside block {} which was sealed up to byte {end} ({}): truncated",
                clock(at, per_second),
                b.index,
                clock(end, per_second)
            ));
        }
        if sha_hex(&block) != b.sha256 {
            return r.fail(format!(
                "{name}: block {} (bytes {start}..{end} of the audio data, {}–{}) differs from what was recorded: altered, spliced or reordered",
                b.index,
                clock(start, per_second),
                clock(end, per_second)
            ));
        }
    }
    // Whatever follows the last sealed block, counted, not kept.
    let extra = match std::io::copy(&mut pcm, &mut std::io::sink()) {
        Ok(n) => n,
        Err(e) => return r.fail(format!("{name}: {e}")),
    };
    match (extra, f.complete) {
        (0, _) => r.pass(format!("{name}: every block of audio matches ({})", clock(offset, per_second))),
        (_, true) => r.fail(format!("{name}: {extra} bytes of audio after the sealed end: something was appended")),
        (_, false) => r.pass(format!(
            "{name}: verified up to block {} ({}); the recording was interrupted and the last {extra} bytes were never sealed",
            blocks.len().saturating_sub(1),
            clock(offset, per_second)
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A manifest whose file name is a path (a hostile bundle) is refused before any file is
    /// read: the check never looks outside the call's directory.
    #[test]
    fn a_file_name_that_leaves_the_directory_is_refused() {
        let root = tempfile::tempdir().unwrap();
        let dir = root.path().join("call");
        std::fs::create_dir(&dir).unwrap();
        std::fs::write(root.path().join("secret"), b"not yours").unwrap();
        let mut m: serde_json::Value =
            serde_json::from_str(include_str!("../../fuzz/regressions/manifest/valid.json"))
                .unwrap();
        for name in ["../secret", "/etc/hostname", "a/b.wav", ".."] {
            m["files"][0]["name"] = name.into();
            std::fs::write(dir.join(MANIFEST), m.to_string()).unwrap();
            let r = verify_dir(&dir, &Readers::default());
            let failed: Vec<&String> = r.checks.iter().filter(|c| !c.0).map(|c| &c.1).collect();
            assert!(
                failed.iter().any(|c| c.contains("not a file name")),
                "{name}: {:?}",
                r.checks
            );
            assert!(
                !r.checks.iter().any(|c| c.1.contains("SHA-256")),
                "{name}: {:?}",
                r.checks
            );
        }
    }
}
