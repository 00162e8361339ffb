//! The hash chain over an audio stream's PCM bytes.

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// One sealed block of audio.
#[derive(Serialize, Deserialize, Clone, PartialEq, Eq, Debug)]
pub struct Block {
    pub index: u64,
    /// Byte offset of the block in the PCM data.
    pub offset: u64,
    pub len: u64,
    /// SHA-256 of the block's bytes, hex.
    pub sha256: String,
    /// SHA-256 of (previous link, index, offset, len, block hash), hex: the chain's link.
    pub chain: String,
}

/// Builds the chain as audio arrives, in blocks of `block_bytes`.
pub struct Chain {
    block_bytes: usize,
    index: u64,
    offset: u64,
    prev: [u8; 32],
    cur: Sha256,
    cur_len: usize,
}

/// The link before the first block.
pub const GENESIS: [u8; 32] = [0; 32];

/// The link of a block, given the previous one.
pub fn link(prev: &[u8; 32], index: u64, offset: u64, len: u64, block_hash: &[u8; 32]) -> [u8; 32] {
    let mut h = Sha256::new();
    h.update(b"onrecord chain v1");
    h.update(prev);
    h.update(index.to_le_bytes());
    h.update(offset.to_le_bytes());
    h.update(len.to_le_bytes());
    h.update(block_hash);
    h.finalize().into()
}

impl Chain {
    pub fn new(block_bytes: usize) -> Chain {
        Chain {
            block_bytes: block_bytes.max(1),
            index: 0,
            offset: 0,
            prev: GENESIS,
            cur: Sha256::new(),
            cur_len: 0,
        }
    }

    fn seal(&mut self) -> Block {
        let hash: [u8; 32] = std::mem::take(&mut self.cur).finalize().into();
        let len = self.cur_len as u64;
        let chain = link(&self.prev, self.index, self.offset, len, &hash);
        let block = Block {
            index: self.index,
            offset: self.offset,
            len,
            sha256: hex::encode(hash),
            chain: hex::encode(chain),
        };
        self.prev = chain;
        self.index += 1;
        self.offset += len;
        self.cur_len = 0;
        block
    }

    /// Adds bytes; each block completed on the way is handed to `sealed`.
    pub fn update(&mut self, mut data: &[u8], mut sealed: impl FnMut(Block)) {
        while !data.is_empty() {
            let take = (self.block_bytes - self.cur_len).min(data.len());
            self.cur.update(&data[..take]);
            self.cur_len += take;
            data = &data[take..];
            if self.cur_len == self.block_bytes {
                sealed(self.seal());
            }
        }
    }

    /// Seals the last, partial block, if any.
    pub fn finish(&mut self) -> Option<Block> {
        (self.cur_len > 0).then(|| self.seal())
    }

    /// The last link, hex (of the genesis before any block).
    pub fn head(&self) -> String {
        hex::encode(self.prev)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn blocks(data: &[u8], size: usize, pieces: usize) -> Vec<Block> {
        let mut c = Chain::new(size);
        let mut out = Vec::new();
        for piece in data.chunks(pieces) {
            c.update(piece, |b| out.push(b));
        }
        out.extend(c.finish());
        out
    }

    #[test]
    fn blocks_do_not_depend_on_how_the_bytes_arrive() {
        let data: Vec<u8> = (0..10_000u32).map(|i| (i * 31 % 251) as u8).collect();
        let a = blocks(&data, 1000, 7);
        let b = blocks(&data, 1000, 999);
        assert_eq!(a, b);
        assert_eq!(a.len(), 10);
        assert_eq!(a[3].offset, 3000);
    }

    #[test]
    fn a_changed_byte_changes_its_block_and_every_later_link() {
        let data: Vec<u8> = vec![7; 5000];
        let mut other = data.clone();
        other[2500] ^= 1;
        let (a, b) = (blocks(&data, 1000, 100), blocks(&other, 1000, 100));
        assert_eq!(a[..2], b[..2]);
        assert_ne!(a[2].sha256, b[2].sha256);
        assert!((2..5).all(|i| a[i].chain != b[i].chain));
    }
}
