//! The installation's Ed25519 signing key: created on first use, kept 0600.

use ed25519_dalek::{Signature, Signer, SigningKey, VerifyingKey};
use std::io::Write;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};
use std::path::Path;

/// Loads the key at `path`, creating it (and its directory, 0700) when it does not exist. A key
/// readable by others is refused.
pub fn load_or_create(path: &Path) -> Result<SigningKey, String> {
    match std::fs::read(path) {
        Ok(bytes) => {
            let mode = std::fs::metadata(path)
                .map_err(|e| e.to_string())?
                .permissions()
                .mode();
            if mode & 0o077 != 0 {
                return Err(format!(
                    "{}: the signing key is readable by others (mode {:o}); `chmod 600` it",
                    path.display(),
                    mode & 0o777
                ));
            }
            let text =
                String::from_utf8(bytes).map_err(|_| format!("{}: not a key", path.display()))?;
            let raw: [u8; 32] = hex::decode(text.trim())
                .ok()
                .and_then(|v| v.try_into().ok())
                .ok_or_else(|| format!("{}: not a key (64 hex digits expected)", path.display()))?;
            Ok(SigningKey::from_bytes(&raw))
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            if let Some(dir) = path.parent() {
                std::fs::DirBuilder::new()
                    .recursive(true)
                    .mode(0o700)
                    .create(dir)
                    .map_err(|e| format!("{}: {e}", dir.display()))?;
            }
            let mut raw = [0u8; 32];
            getrandom::fill(&mut raw).map_err(|e| format!("no randomness for a key: {e}"))?;
            let mut f = std::fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .mode(0o600)
                .open(path)
                .map_err(|e| format!("{}: {e}", path.display()))?;
            f.write_all(hex::encode(raw).as_bytes())
                .and_then(|()| f.sync_all())
                .map_err(|e| e.to_string())?;
            Ok(SigningKey::from_bytes(&raw))
        }
        Err(e) => Err(format!("{}: {e}", path.display())),
    }
}

pub fn public_hex(key: &SigningKey) -> String {
    hex::encode(key.verifying_key().to_bytes())
}

pub fn sign_hex(key: &SigningKey, message: &[u8]) -> String {
    hex::encode(key.sign(message).to_bytes())
}

/// Whether `signature_hex` is `public_hex`'s signature of `message`.
pub fn verify_hex(public_hex: &str, message: &[u8], signature_hex: &str) -> Result<(), String> {
    let public: [u8; 32] = hex::decode(public_hex.trim())
        .ok()
        .and_then(|v| v.try_into().ok())
        .ok_or("the public key is malformed")?;
    let key = VerifyingKey::from_bytes(&public)
        .map_err(|_| "the public key is not a valid Ed25519 key".to_string())?;
    let sig: [u8; 64] = hex::decode(signature_hex.trim())
        .ok()
        .and_then(|v| v.try_into().ok())
        .ok_or("the signature is malformed")?;
    key.verify_strict(message, &Signature::from_bytes(&sig))
        .map_err(|_| "the signature does not match the manifest".to_string())
}
