//! A FLAC stream's complete frames, found by their headers' CRC-8 and their CRC-16: where a
//! file cut by a crash is cut back to, so that every frame left decodes.

/// CRC-8 of a FLAC frame header (polynomial 0x07).
fn crc8(data: &[u8]) -> u8 {
    data.iter().fold(0u8, |mut c, &b| {
        c ^= b;
        for _ in 0..8 {
            c = if c & 0x80 != 0 {
                (c << 1) ^ 0x07
            } else {
                c << 1
            };
        }
        c
    })
}

/// CRC-16 of a whole FLAC frame (polynomial 0x8005).
fn crc16(data: &[u8]) -> u16 {
    data.iter().fold(0u16, |mut c, &b| {
        c ^= (b as u16) << 8;
        for _ in 0..8 {
            c = if c & 0x8000 != 0 {
                (c << 1) ^ 0x8005
            } else {
                c << 1
            };
        }
        c
    })
}

/// A frame header at `p` (sync, CRC-8 valid): its audio frames (block size).
fn frame_header(b: &[u8], p: usize) -> Option<u64> {
    let h = b.get(p..)?;
    if h.len() < 6 || h[0] != 0xFF || h[1] & 0xFE != 0xF8 {
        return None;
    }
    let (bs_code, sr_code) = (h[2] >> 4, h[2] & 0x0F);
    // The frame number, UTF-8 coded: the count of leading ones of its first byte.
    let ones = h[4].leading_ones() as usize;
    let mut n = 5 + if ones == 0 { 0 } else { ones.checked_sub(1)? };
    let block = match bs_code {
        1 => 192,
        2..=5 => 576 << (bs_code - 2),
        6 => {
            n += 1;
            *h.get(n - 1)? as u64 + 1
        }
        7 => {
            n += 2;
            u16::from_be_bytes([*h.get(n - 2)?, *h.get(n - 1)?]) as u64 + 1
        }
        8..=15 => 256 << (bs_code - 8),
        _ => return None,
    };
    n += match sr_code {
        12 => 1,
        13 | 14 => 2,
        15 => return None,
        _ => 0,
    };
    (crc8(h.get(..n)?) == *h.get(n)?).then_some(block)
}

/// The end of the last complete frame and the audio frames up to it; `None` unless the bytes
/// begin as a FLAC stream.
pub(crate) fn complete_frames(b: &[u8]) -> Option<(usize, u64)> {
    if b.get(..4)? != b"fLaC" {
        return None;
    }
    // Metadata blocks: a last-block flag and a 24-bit length each.
    let mut p = 4;
    loop {
        let h = b.get(p..p + 4)?;
        p += 4 + u32::from_be_bytes([0, h[1], h[2], h[3]]) as usize;
        if h[0] & 0x80 != 0 {
            break;
        }
    }
    let mut frames = 0u64;
    while let Some(block) = frame_header(b, p) {
        // The frame ends where a CRC-16 over it matches its last two bytes, at the next frame's
        // header or at the end of the file.
        let end = (p + 6..=b.len()).find(|&q| {
            (q == b.len() || frame_header(b, q).is_some())
                && crc16(&b[p..q - 2]) == u16::from_be_bytes([b[q - 2], b[q - 1]])
        });
        match end {
            Some(q) => {
                frames += block;
                p = q;
            }
            None => break,
        }
    }
    Some((p.min(b.len()), frames))
}
