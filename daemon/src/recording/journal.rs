//! The hash-chain journal written beside an audio file (`audio.wav.chain`), by the writer
//! thread, for the bytes the storage accepted. It is made durable with the audio, at each sync,
//! so after a crash it seals what had reached the disk.

use onrecord_evidence::{Block, Chain};
use std::fs::File;
use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

/// Why the journal could not be written: told apart so a capture failure can say which file.
#[derive(Debug, thiserror::Error)]
pub enum JournalError {
    #[error("{}: {source}", path.display())]
    Create {
        path: PathBuf,
        source: std::io::Error,
    },
    /// Writing or syncing it failed (a full disk, an I/O error).
    #[error("the chain journal: {0}")]
    Write(#[from] std::io::Error),
}

/// What the journal sealed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Sealed {
    pub pcm_bytes: u64,
    pub blocks: u64,
    /// The chain's last link, hex.
    pub head: String,
}

pub struct Journal {
    chain: Chain,
    file: File,
    pending: Vec<u8>,
    pcm_bytes: u64,
    blocks: u64,
}

impl Journal {
    pub fn create(path: &Path, block_bytes: usize) -> Result<Journal, JournalError> {
        let file = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(path)
            .map_err(|source| JournalError::Create {
                path: path.to_owned(),
                source,
            })?;
        Ok(Journal {
            chain: Chain::new(block_bytes),
            file,
            pending: Vec::new(),
            pcm_bytes: 0,
            blocks: 0,
        })
    }

    fn line(pending: &mut Vec<u8>, blocks: &mut u64, b: Block) {
        if let Ok(mut l) = serde_json::to_vec(&b) {
            l.push(b'\n');
            pending.extend_from_slice(&l);
            *blocks += 1;
        }
    }

    /// Adds bytes the storage accepted.
    pub fn add(&mut self, data: &[u8]) {
        let (pending, blocks) = (&mut self.pending, &mut self.blocks);
        self.chain.update(data, |b| Self::line(pending, blocks, b));
        self.pcm_bytes += data.len() as u64;
    }

    /// Writes the sealed blocks and starts writing them to the disk, without waiting: the
    /// audio's sync, made next, then waits for both at once (on ext4 one commit covers both
    /// files), and [`Journal::sync`] finds its part done rather than waiting once more.
    pub fn start_sync(&mut self) -> Result<(), JournalError> {
        if !self.pending.is_empty() {
            self.file.write_all(&self.pending)?;
            self.pending.clear();
        }
        use std::os::fd::AsRawFd;
        // SAFETY: a plain system call on our open file. A hint: its failure changes nothing
        // `sync` does not catch.
        unsafe {
            libc::sync_file_range(self.file.as_raw_fd(), 0, 0, libc::SYNC_FILE_RANGE_WRITE);
        }
        Ok(())
    }

    /// Writes the sealed blocks and makes them durable.
    pub fn sync(&mut self) -> Result<(), JournalError> {
        if !self.pending.is_empty() {
            self.file.write_all(&self.pending)?;
            self.pending.clear();
        }
        Ok(self.file.sync_data()?)
    }

    /// Seals the last, partial block and closes the journal.
    pub fn finish(mut self) -> Result<Sealed, JournalError> {
        if let Some(b) = self.chain.finish() {
            Self::line(&mut self.pending, &mut self.blocks, b);
        }
        self.sync()?;
        Ok(Sealed {
            pcm_bytes: self.pcm_bytes,
            blocks: self.blocks,
            head: self.chain.head(),
        })
    }
}

/// What a journal left by a crash seals: its complete lines, in order, of blocks that end
/// within the `held` bytes of PCM the repaired audio file holds. A storage that encodes in
/// blocks of its own (FLAC) may have fewer bytes on disk than the journal sealed at its last
/// sync; those blocks are not sealed, so the evidence never claims audio the file lacks. The
/// journal is cut to what it seals (a line cut by the crash, blocks beyond the audio), so that
/// it ends where the manifest will say it ends.
pub fn recover(path: &Path, held: u64) -> std::io::Result<Sealed> {
    let text = std::fs::read_to_string(path)?;
    let mut sealed = Sealed {
        pcm_bytes: 0,
        blocks: 0,
        head: hex_zero(),
    };
    let mut kept = 0usize;
    for line in text.split_inclusive('\n') {
        // A line cut by the crash is not sealed.
        let Ok(b) = serde_json::from_str::<Block>(line.trim_end()) else {
            break;
        };
        if b.offset + b.len > held {
            break;
        }
        sealed = Sealed {
            pcm_bytes: b.offset + b.len,
            blocks: sealed.blocks + 1,
            head: b.chain,
        };
        kept += line.len();
    }
    if kept < text.len() {
        let f = std::fs::OpenOptions::new().write(true).open(path)?;
        f.set_len(kept as u64)?;
        f.sync_all()?;
    }
    Ok(sealed)
}

fn hex_zero() -> String {
    "0".repeat(64)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// After a crash, a block is sealed only if the repaired audio holds all of it (a FLAC file
    /// may lag its journal by a partial encoder block), and the journal is cut to match.
    #[test]
    fn a_crash_seals_only_the_blocks_the_audio_holds() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a.wav.chain");
        let mut j = Journal::create(&path, 1000).unwrap();
        j.add(&[7u8; 3000]);
        j.sync().unwrap();
        let whole = std::fs::read_to_string(&path).unwrap();
        let all = recover(&path, u64::MAX).unwrap();
        assert_eq!((all.pcm_bytes, all.blocks), (3000, 3));
        assert_eq!(std::fs::read_to_string(&path).unwrap(), whole);
        // The audio holds 2,560 bytes: the third block is not claimed, nor left in the journal.
        let held = recover(&path, 2560).unwrap();
        assert_eq!((held.pcm_bytes, held.blocks), (2000, 2));
        assert_ne!(held.head, all.head);
        let lines: Vec<&str> = whole.lines().collect();
        assert_eq!(
            std::fs::read_to_string(&path).unwrap(),
            format!("{}\n{}\n", lines[0], lines[1])
        );
        // A line cut by the crash ends what is sealed, and goes.
        std::fs::write(&path, &whole[..whole.len() - 10]).unwrap();
        assert_eq!(recover(&path, 3000).unwrap().blocks, 2);
        assert_eq!(std::fs::read_to_string(&path).unwrap().lines().count(), 2);
        let none = recover(&path, 999).unwrap();
        assert_eq!((none.pcm_bytes, none.blocks, none.head), (0, 0, hex_zero()));
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "");
    }
}
