//! Encryption at rest: once a call is sealed, its audio and chain journals are encrypted to the
//! user's age recipients (`audio.wav` becomes `audio.wav.age`, the plaintext is removed). The
//! manifest keeps the plaintext's hashes, so the evidence checked after decryption is the
//! evidence that was sealed. Identities (the secret keys) are only ever read from the user's
//! own file, to decrypt elsewhere: never into the data directory.

use age::x25519;
pub use age::x25519::Recipient;

/// The secret keys an identity file holds.
pub type Identities = Vec<Box<dyn age::Identity>>;
use std::io::{self, BufReader, Write};
use std::path::{Path, PathBuf};
use std::str::FromStr;

/// What an encrypted file's name ends with.
pub const SUFFIX: &str = ".age";

/// The name of `file` once encrypted.
pub fn encrypted_name(file: &str) -> String {
    format!("{file}{SUFFIX}")
}

/// Reads age recipients (`age1...`); says which one is not.
pub fn parse_recipients(list: &[String]) -> Result<Vec<x25519::Recipient>, String> {
    if list.is_empty() {
        return Err("no recipients: name at least one age public key (age1...)".into());
    }
    list.iter()
        .enumerate()
        .map(|(i, r)| {
            x25519::Recipient::from_str(r.trim())
                .map_err(|e| format!("recipient {} ({r:?}) is not an age public key: {e}", i + 1))
        })
        .collect()
}

/// Encrypts `dir/name` to `dir/name.age` (written aside, synced, renamed into place), then
/// removes the plaintext. An existing `name.age` with no plaintext beside it was done before.
pub fn encrypt_in_place(dir: &Path, name: &str, to: &[x25519::Recipient]) -> io::Result<()> {
    let plain = dir.join(name);
    let done = dir.join(encrypted_name(name));
    if !plain.exists() && done.exists() {
        return Ok(());
    }
    let tmp = dir.join(format!(".{name}{SUFFIX}.partial"));
    {
        let recipients = to.iter().map(|r| r as &dyn age::Recipient);
        let encryptor = age::Encryptor::with_recipients(recipients)
            .map_err(|e| io::Error::other(format!("cannot encrypt: {e}")))?;
        let out = std::fs::File::create(&tmp)?;
        let mut writer = encryptor.wrap_output(io::BufWriter::new(out))?;
        io::copy(&mut std::fs::File::open(&plain)?, &mut writer)?;
        let mut out = writer.finish()?;
        out.flush()?;
        out.get_ref().sync_all()?;
    }
    std::fs::rename(&tmp, &done)?;
    std::fs::File::open(dir)?.sync_all()?;
    std::fs::remove_file(&plain)?;
    std::fs::File::open(dir)?.sync_all()
}

/// The identities of an age identity file (`age-keygen`'s output).
pub fn read_identities(path: &Path) -> Result<Identities, String> {
    age::IdentityFile::from_file(path.to_string_lossy().into_owned())
        .map_err(|e| format!("{}: {e}", path.display()))?
        .into_identities()
        .map_err(|e| format!("{}: {e}", path.display()))
}

/// Decrypts the age file `from` into `to` with `identities`.
pub fn decrypt_file(
    from: &Path,
    identities: &[Box<dyn age::Identity>],
    to: &Path,
) -> Result<(), String> {
    let input = std::fs::File::open(from).map_err(|e| format!("{}: {e}", from.display()))?;
    let decryptor = age::Decryptor::new_buffered(BufReader::new(input))
        .map_err(|e| format!("{}: not an age file: {e}", from.display()))?;
    let mut reader = decryptor
        .decrypt(identities.iter().map(|i| i.as_ref() as &dyn age::Identity))
        .map_err(|e| format!("{}: cannot decrypt: {e}", from.display()))?;
    let mut out = std::fs::File::create(to).map_err(|e| format!("{}: {e}", to.display()))?;
    io::copy(&mut reader, &mut out).map_err(|e| format!("{}: {e}", from.display()))?;
    out.sync_all().map_err(|e| format!("{}: {e}", to.display()))
}

/// Encrypts a sealed call's audio files and their chain journals in `dir`; the names done.
pub fn encrypt_call(dir: &Path, audio: &[String], to: &[Recipient]) -> io::Result<Vec<String>> {
    let mut done = Vec::new();
    for name in audio {
        for f in [name.clone(), crate::journal_name(name)] {
            encrypt_in_place(dir, &f, to)
                .map_err(|e| io::Error::new(e.kind(), format!("{f}: {e}")))?;
            done.push(f);
        }
    }
    Ok(done)
}

/// Whether a call directory holds encrypted files.
pub fn is_encrypted(dir: &Path) -> bool {
    std::fs::read_dir(dir)
        .map(|entries| {
            entries
                .flatten()
                .any(|e| e.file_name().to_string_lossy().ends_with(SUFFIX))
        })
        .unwrap_or(false)
}

/// A plaintext copy of call directory `dir` in `to` (created): every `X.age` decrypted to `X`,
/// every other file copied. Returns the files decrypted.
pub fn decrypted_copy(
    dir: &Path,
    identities: &[Box<dyn age::Identity>],
    to: &Path,
) -> Result<Vec<String>, String> {
    std::fs::create_dir_all(to).map_err(|e| format!("{}: {e}", to.display()))?;
    let mut decrypted = Vec::new();
    let entries = std::fs::read_dir(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    for entry in entries {
        let entry = entry.map_err(|e| format!("{}: {e}", dir.display()))?;
        if !entry.file_type().map(|t| t.is_file()).unwrap_or(false) {
            continue;
        }
        let name = entry.file_name().to_string_lossy().into_owned();
        match name.strip_suffix(SUFFIX) {
            Some(plain) if !name.starts_with('.') => {
                decrypt_file(&entry.path(), identities, &to.join(plain))?;
                decrypted.push(plain.to_owned());
            }
            _ => {
                std::fs::copy(entry.path(), to.join(&name)).map_err(|e| format!("{name}: {e}"))?;
            }
        }
    }
    decrypted.sort();
    Ok(decrypted)
}

/// Where a directory's plaintext copy goes by default: `onrecord-<name>-decrypted` here.
pub fn default_copy_dir(dir: &Path) -> PathBuf {
    let name = dir
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "call".into());
    PathBuf::from(format!("onrecord-{name}-decrypted"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key() -> (x25519::Identity, x25519::Recipient) {
        let id = x25519::Identity::generate();
        let r = id.to_public();
        (id, r)
    }

    #[test]
    fn a_file_encrypted_in_place_decrypts_to_its_bytes_and_the_plaintext_is_gone() {
        let dir = tempfile::tempdir().unwrap();
        let bytes: Vec<u8> = (0..200_000u32).map(|i| (i * 7 % 251) as u8).collect();
        std::fs::write(dir.path().join("audio.wav"), &bytes).unwrap();
        let (id, r) = key();
        encrypt_in_place(dir.path(), "audio.wav", &[r]).unwrap();
        assert!(!dir.path().join("audio.wav").exists());
        assert!(is_encrypted(dir.path()));
        let ids: Vec<Box<dyn age::Identity>> = vec![Box::new(id)];
        let out = dir.path().join("back.wav");
        decrypt_file(&dir.path().join("audio.wav.age"), &ids, &out).unwrap();
        assert_eq!(std::fs::read(&out).unwrap(), bytes);
        // Done again (after a crash between rename and remove, say): nothing changes.
        encrypt_in_place(dir.path(), "audio.wav", &[]).unwrap();
    }

    #[test]
    fn the_wrong_identity_and_bad_recipients_are_clear_errors() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("a"), b"secret").unwrap();
        let (_, r) = key();
        encrypt_in_place(dir.path(), "a", &[r]).unwrap();
        let (other, _) = key();
        let ids: Vec<Box<dyn age::Identity>> = vec![Box::new(other)];
        let e = decrypt_file(&dir.path().join("a.age"), &ids, &dir.path().join("b")).unwrap_err();
        assert!(e.contains("cannot decrypt"), "{e}");
        let e = parse_recipients(&["age1nope".into()]).unwrap_err();
        assert!(e.contains("recipient 1"), "{e}");
        assert!(parse_recipients(&[]).is_err());
    }
}
