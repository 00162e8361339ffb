//! A file written at its end and synced often (a recording): its whole blocks go to the disk
//! directly (`O_DIRECT`), not through the page cache.
//!
//! A recording synced every second through the page cache pays for its audio twice: once to
//! copy it into cached pages (allocating them), and again when the sync writes them back. The
//! kernel would do that write-back anyway, later, on a flusher thread. Written directly, the
//! blocks leave from our buffer and the sync has only the metadata and two pages left to do:
//! the first block (a header rewritten at every sync goes through the page cache, where it
//! stays) and the last, partial one (written through the page cache at a sync so that the file
//! holds every byte given so far, then written directly again once it is whole). The file is
//! a prefix of what was written at every moment: a direct write only ever writes whole blocks
//! of real bytes, never padding.
//!
//! Where direct writes are refused (a file system without them, an unusual block size), or
//! fail for any reason, the file falls back to plain writes from then on: the same bytes, the
//! same errors (a full disk is still `ENOSPC`, from the plain write).

use std::fs::File;
use std::io::{Seek, SeekFrom, Write};
use std::os::unix::fs::{FileExt, OpenOptionsExt};
use std::path::Path;

/// Offsets, lengths and memory of direct writes are multiples of this: 4 KiB covers the
/// logical block size of every common disk (512 or 4096) and the page size.
const BLOCK: usize = 4096;
/// Bytes staged before a direct write: at 48 kHz stereo 16-bit (192 kB a second), three
/// writes a second.
const STAGE: usize = 64 * 1024;

/// See the module's documentation. Its `Write` and `Seek` are a file's: writes at the end
/// append, a seek back and a write there overwrite (a header), a seek past the end leaves zeros.
pub struct AppendFile {
    /// The file, through the page cache: the first block, partial blocks at a sync, writes
    /// behind what went directly, and the syncs.
    file: File,
    /// The same file opened `O_DIRECT`, while direct writes work.
    direct: Option<File>,
    /// `STAGE + BLOCK` bytes, of which `STAGE` from `at` on are aligned to `BLOCK`.
    buf: Vec<u8>,
    at: usize,
    /// How many staged bytes there are: file offsets `staged_from..staged_from + staged`.
    staged: usize,
    /// Where the staged bytes start (a multiple of `BLOCK`, at least `BLOCK`): everything
    /// before is in the file already.
    staged_from: u64,
    pos: u64,
    len: u64,
}

impl AppendFile {
    /// Creates `path` (it must not exist) readable by its owner only.
    pub fn create(path: &Path) -> Result<AppendFile, String> {
        let file = crate::create_private_file(path)?;
        let direct = std::fs::OpenOptions::new()
            .write(true)
            .custom_flags(libc::O_DIRECT)
            .open(path)
            .ok();
        let buf = vec![0u8; STAGE + BLOCK];
        let at = buf.as_ptr().align_offset(BLOCK);
        Ok(AppendFile {
            file,
            direct,
            buf,
            at,
            staged: 0,
            staged_from: BLOCK as u64,
            pos: 0,
            len: 0,
        })
    }

    /// Whether whole blocks still go to the disk directly.
    pub fn is_direct(&self) -> bool {
        self.direct.is_some()
    }

    /// [`flush`](Write::flush), then `fdatasync`.
    pub fn sync_data(&mut self) -> std::io::Result<()> {
        self.flush()?;
        self.file.sync_data()
    }

    /// [`flush`](Write::flush), then `fsync`.
    pub fn sync_all(&mut self) -> std::io::Result<()> {
        self.flush()?;
        self.file.sync_all()
    }

    /// Writes the whole blocks staged and keeps the rest (less than a block) staged.
    fn write_blocks(&mut self) -> std::io::Result<()> {
        let whole = self.staged / BLOCK * BLOCK;
        if whole == 0 {
            return Ok(());
        }
        let blocks = self.at..self.at + whole;
        let direct = match &self.direct {
            Some(d) => d.write_all_at(&self.buf[blocks.clone()], self.staged_from),
            None => Err(std::io::ErrorKind::Unsupported.into()),
        };
        if direct.is_err() {
            // Refused, failed or cut short: the same bytes again, through the page cache,
            // and so from now on (its error, if any, is the one to report).
            self.direct = None;
            self.file
                .write_all_at(&self.buf[blocks], self.staged_from)?;
        }
        self.buf
            .copy_within(self.at + whole..self.at + self.staged, self.at);
        self.staged -= whole;
        self.staged_from += whole as u64;
        Ok(())
    }
}

impl Write for AppendFile {
    fn write(&mut self, data: &[u8]) -> std::io::Result<usize> {
        if data.is_empty() {
            return Ok(0);
        }
        let n = if self.pos < self.staged_from {
            // Before the staged bytes: in the file already (or the first block).
            let n = data
                .len()
                .min(usize::try_from(self.staged_from - self.pos).unwrap_or(usize::MAX));
            self.file.write_all_at(&data[..n], self.pos)?;
            n
        } else {
            let offset = usize::try_from(self.pos - self.staged_from).unwrap_or(usize::MAX);
            if offset >= STAGE {
                // A seek far past the end (no recording does it): the staged bytes to the
                // file, and plain writes from now on, holes and all.
                self.flush()?;
                self.direct = None;
                self.staged = 0;
                self.staged_from = u64::MAX;
                return self.write(data);
            }
            if offset > self.staged {
                self.buf[self.at + self.staged..self.at + offset].fill(0);
            }
            let n = data.len().min(STAGE - offset);
            let to = self.at + offset;
            self.buf[to..to + n].copy_from_slice(&data[..n]);
            self.staged = self.staged.max(offset + n);
            if self.staged == STAGE {
                self.write_blocks()?;
            }
            n
        };
        self.pos += n as u64;
        self.len = self.len.max(self.pos);
        Ok(n)
    }

    /// Every byte written so far is in the file (not yet on the disk): the whole staged
    /// blocks directly, what is left of a block through the page cache (and staged still, to
    /// go directly once its block is whole).
    fn flush(&mut self) -> std::io::Result<()> {
        self.write_blocks()?;
        if self.staged > 0 {
            let (from, n) = (self.at, self.staged);
            self.file
                .write_all_at(&self.buf[from..from + n], self.staged_from)?;
        }
        Ok(())
    }
}

impl Seek for AppendFile {
    fn seek(&mut self, to: SeekFrom) -> std::io::Result<u64> {
        let at = match to {
            SeekFrom::Start(n) => Some(n),
            SeekFrom::End(d) => self.len.checked_add_signed(d),
            SeekFrom::Current(d) => self.pos.checked_add_signed(d),
        };
        let at = at.ok_or_else(|| std::io::Error::other("a seek before the file's start"))?;
        self.pos = at;
        Ok(at)
    }
}

impl Drop for AppendFile {
    /// The staged bytes to the file (not synced): a storage dropped without finishing keeps
    /// what it was given, as a plain file's buffered writer would.
    fn drop(&mut self) {
        let _ = self.flush();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// What a recording does to its file: appends of any size, now and then a seek back to
    /// rewrite a header field (then back to the end), now and then a sync.
    #[derive(Debug, Clone)]
    enum Op {
        Append(usize),
        Header(u8, usize),
        Sync,
    }

    fn op() -> impl Strategy<Value = Op> {
        prop_oneof![
            6 => (1usize..150_000).prop_map(Op::Append),
            1 => (any::<u8>(), 0usize..64).prop_map(|(b, at)| Op::Header(b, at)),
            1 => Just(Op::Sync),
        ]
    }

    /// Runs `ops` on an append file (direct or not) and on a model of its bytes; after every
    /// step the file on the disk is a prefix of the model (never padding, never a byte not
    /// written there), after a sync it is the model, and at the end too.
    fn check(ops: &[Op], direct: bool) -> Result<(), TestCaseError> {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a");
        let mut f = AppendFile::create(&path).unwrap();
        prop_assert!(f.is_direct(), "the test's file system takes O_DIRECT");
        if !direct {
            f.direct = None;
        }
        let mut model: Vec<u8> = Vec::new();
        let mut n = 0u32;
        let mut next = move || {
            n = n.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
            (n >> 24) as u8
        };
        for op in ops {
            match *op {
                Op::Append(len) => {
                    let data: Vec<u8> = (0..len).map(|_| next()).collect();
                    f.write_all(&data).unwrap();
                    model.extend_from_slice(&data);
                }
                Op::Header(b, at) => {
                    if at < model.len() {
                        f.seek(SeekFrom::Start(at as u64)).unwrap();
                        f.write_all(&[b]).unwrap();
                        model[at] = b;
                        prop_assert_eq!(f.seek(SeekFrom::End(0)).unwrap(), model.len() as u64);
                    }
                }
                Op::Sync => {
                    f.sync_data().unwrap();
                    prop_assert!(std::fs::read(&path).unwrap() == model, "synced");
                }
            }
            let on_disk = std::fs::read(&path).unwrap();
            prop_assert!(on_disk.len() <= model.len());
            prop_assert!(on_disk[..] == model[..on_disk.len()], "a prefix");
        }
        prop_assert_eq!(f.is_direct(), direct);
        f.sync_all().unwrap();
        prop_assert!(std::fs::read(&path).unwrap() == model, "at the end");
        Ok(())
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(24))]
        #[test]
        fn the_file_holds_what_was_written_and_never_more(ops in prop::collection::vec(op(), 1..40)) {
            check(&ops, true)?;
            check(&ops, false)?;
        }
    }

    /// The whole blocks went directly: after a second of audio and a sync, at most the first
    /// and the last block are in the page cache, whatever `fincore` would say of a plain
    /// file (all of it).
    #[test]
    fn whole_blocks_bypass_the_page_cache() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a");
        let mut f = AppendFile::create(&path).unwrap();
        f.write_all(&vec![7u8; 192_044]).unwrap();
        f.sync_data().unwrap();
        let file = File::open(&path).unwrap();
        let pages = 192_044usize.div_ceil(BLOCK);
        // SAFETY: a shared read-only mapping of a file of that length, unmapped below;
        // `mincore` writes one byte per page into `cached`.
        let cached = unsafe {
            use std::os::fd::AsRawFd;
            let len = pages * BLOCK;
            let map = libc::mmap(
                std::ptr::null_mut(),
                len,
                libc::PROT_READ,
                libc::MAP_SHARED,
                file.as_raw_fd(),
                0,
            );
            assert_ne!(map, libc::MAP_FAILED);
            let mut v = vec![0u8; pages];
            assert_eq!(libc::mincore(map, len, v.as_mut_ptr()), 0);
            libc::munmap(map, len);
            v.iter().filter(|&&b| b & 1 == 1).count()
        };
        assert!(cached <= 2, "{cached} of {pages} pages cached");
    }
}
