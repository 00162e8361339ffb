//! A sealed call as a vCon (IETF draft-ietf-vcon-vcon-core): the parties, the recording as a
//! dialog (inlined, or referenced by URL with its content hash), the consent timeline and the
//! call analysis as analysis entries, and onrecord's own evidence (the manifest's exact bytes,
//! its signature, the chain journals) as attachments, so the evidence check still runs on a
//! vCon: [`unpack`] gives back the files [`crate::verify`] checks.

use crate::{MANIFEST, Manifest, SIGNATURE, journal_name};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use serde_json::{Value, json};
use sha2::{Digest, Sha256, Sha512};
use std::path::Path;

/// The vCon syntax version written (the drafts' `vcon` parameter).
pub const VERSION: &str = "0.0.2";

/// Attachment types of onrecord's evidence.
const MANIFEST_ATTACHMENT: &str = "onrecord-manifest";
const SIGNATURE_ATTACHMENT: &str = "onrecord-manifest-signature";
const JOURNAL_ATTACHMENT: &str = "onrecord-chain-journal";

/// RFC 3339 of µs since the epoch (UTC).
fn rfc3339(us: u64) -> String {
    let t = std::time::UNIX_EPOCH + std::time::Duration::from_micros(us);
    humantime::format_rfc3339_millis(t).to_string()
}

/// The media type of a recording, from its name.
fn mediatype(name: &str) -> &'static str {
    match name.rsplit('.').next() {
        Some("flac") => "audio/flac",
        Some("wav") => "audio/x-wav",
        _ => "application/octet-stream",
    }
}

/// A UUID for the call's vCon, the same on every export: from the manifest's bytes, with the
/// version bits of a name-based (version 8) UUID.
fn uuid(manifest_bytes: &[u8]) -> String {
    let h = Sha256::digest(manifest_bytes);
    let mut b = [0u8; 16];
    b.copy_from_slice(&h[..16]);
    b[6] = (b[6] & 0x0f) | 0x80;
    b[8] = (b[8] & 0x3f) | 0x80;
    let hex = hex::encode(b);
    format!(
        "{}-{}-{}-{}-{}",
        &hex[0..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..32]
    )
}

/// Whether a party's input is a phone number (it goes in `tel`).
fn tel(input: &str) -> Option<String> {
    let digits: String = input.chars().filter(|c| c.is_ascii_digit()).collect();
    (input.trim_start().starts_with('+') && digits.len() >= 6).then(|| format!("+{digits}"))
}

/// The vCon of the sealed call in `dir`. With `inline`, each recording is in its dialog
/// (base64url); otherwise the dialog references the file by URL with its SHA-512.
pub fn build(dir: &Path, inline: bool) -> Result<Value, String> {
    let manifest_bytes = std::fs::read(dir.join(MANIFEST))
        .map_err(|e| format!("{MANIFEST}: {e} (the call is sealed when it ends)"))?;
    let m: Manifest =
        serde_json::from_slice(&manifest_bytes).map_err(|e| format!("{MANIFEST}: {e}"))?;
    if crate::encrypt::is_encrypted(dir) {
        return Err(
            "the call's audio is encrypted: export it with the identity that decrypts it".into(),
        );
    }
    let signature =
        std::fs::read_to_string(dir.join(SIGNATURE)).map_err(|e| format!("{SIGNATURE}: {e}"))?;
    let call = &m.call;
    let created = call
        .timeline
        .first()
        .map(|e| e.utc_us)
        .unwrap_or(m.sealed_utc_us);
    // Party 0 is the one who recorded; then everyone else who was on the call.
    let mut parties = vec![json!({
        "name": "recorder (onrecord's user)",
        "role": "customer",
        "jurisdiction": call.decision.recorder.jurisdiction,
    })];
    for p in &call.parties {
        let mut party = json!({
            "name": p.party.input,
            "role": "agent",
            "jurisdiction": p.party.jurisdiction,
            "notice": p.notice.as_str(),
            "consent": p.consent.as_str(),
        });
        if let Some(t) = tel(&p.party.input) {
            party["tel"] = json!(t);
        }
        parties.push(party);
    }
    let all: Vec<usize> = (0..parties.len()).collect();
    let started = call
        .timeline
        .iter()
        .find(|e| e.kind == onrecord_interface::TimelineKind::Started)
        .map(|e| e.utc_us)
        .unwrap_or(created);
    let mut dialog = Vec::new();
    let mut attachments = vec![
        json!({
            "type": MANIFEST_ATTACHMENT,
            "purpose": "onrecord's sealed manifest (exact bytes): verify with onrecordctl verify",
            "start": rfc3339(m.sealed_utc_us),
            "party": 0,
            "mediatype": "application/json",
            "filename": MANIFEST,
            "body": B64.encode(&manifest_bytes),
            "encoding": "base64url",
        }),
        json!({
            "type": SIGNATURE_ATTACHMENT,
            "purpose": format!("Ed25519 signature of the manifest by key {}", m.public_key),
            "start": rfc3339(m.sealed_utc_us),
            "party": 0,
            "mediatype": "text/plain",
            "filename": SIGNATURE,
            "body": signature.trim(),
            "encoding": "none",
        }),
    ];
    for f in &m.files {
        let path = dir.join(&f.name);
        let bytes = std::fs::read(&path).map_err(|e| format!("{}: {e}", f.name))?;
        let mut d = json!({
            "type": "recording",
            "start": rfc3339(started),
            "duration": f.duration_s,
            "parties": all,
            "originator": 0,
            "mediatype": mediatype(&f.name),
            // The older drafts' name of the same field, still what some libraries read.
            "mimetype": mediatype(&f.name),
            "filename": f.name,
        });
        if inline {
            d["body"] = json!(B64.encode(&bytes));
            d["encoding"] = json!("base64url");
        } else {
            let abs = std::fs::canonicalize(&path).map_err(|e| format!("{}: {e}", f.name))?;
            d["url"] = json!(format!("file://{}", abs.display()));
            d["content_hash"] = json!(format!("sha512-{}", B64.encode(Sha512::digest(&bytes))));
        }
        dialog.push(d);
        let journal = journal_name(&f.name);
        let chain = std::fs::read(dir.join(&journal)).map_err(|e| format!("{journal}: {e}"))?;
        attachments.push(json!({
            "type": JOURNAL_ATTACHMENT,
            "purpose": format!("the hash chain over {}'s audio", f.name),
            "start": rfc3339(m.sealed_utc_us),
            "party": 0,
            "mediatype": "application/x-ndjson",
            "filename": journal,
            "body": B64.encode(&chain),
            "encoding": "base64url",
        }));
    }
    // onrecord's analyses of the recording (dialog 0), each a JSON body of its own schema.
    let ours = |kind: &str, schema: &str, body: serde_json::Value| {
        json!({
            "type": kind,
            "dialog": 0,
            "vendor": "onrecord",
            "product": format!("onrecord {}", env!("CARGO_PKG_VERSION")),
            "schema": schema,
            "body": body,
            "encoding": "json",
        })
    };
    let mut analysis = Vec::new();
    if !dialog.is_empty() {
        analysis.push(ours(
            "consent-timeline",
            "onrecord-timeline-1",
            json!({ "decision": call.decision, "timeline": call.timeline }),
        ));
        if let Some(a) = &m.analysis {
            analysis.push(ours(
                "hold-analysis",
                "onrecord-analysis-summary-2",
                json!(a),
            ));
        }
    }
    Ok(json!({
        "vcon": VERSION,
        "uuid": uuid(&manifest_bytes),
        "created_at": rfc3339(created),
        "subject": call.label,
        "parties": parties,
        "dialog": dialog,
        "analysis": analysis,
        "attachments": attachments,
    }))
}

/// Writes the vCon of `dir` to `out` (which must not exist).
pub fn export(dir: &Path, out: &Path, inline: bool) -> Result<(), String> {
    let v = build(dir, inline)?;
    let text = serde_json::to_vec_pretty(&v).map_err(|e| e.to_string())?;
    let mut file = std::fs::File::create_new(out).map_err(|e| format!("{}: {e}", out.display()))?;
    std::io::Write::write_all(&mut file, &text).map_err(|e| format!("{}: {e}", out.display()))?;
    file.sync_all()
        .map_err(|e| format!("{}: {e}", out.display()))
}

/// The body of a vCon object (dialog or attachment) as bytes.
fn body(o: &Value) -> Result<Vec<u8>, String> {
    let text = o["body"].as_str().ok_or("no body")?;
    match o["encoding"].as_str() {
        Some("base64url") => B64
            .decode(text.trim_end_matches('='))
            .map_err(|e| format!("not base64url: {e}")),
        _ => Ok(text.as_bytes().to_vec()),
    }
}

/// A file name from a vCon: one plain name, nothing that leaves the directory.
fn file_name(o: &Value) -> Result<&str, String> {
    let name = o["filename"].as_str().ok_or("no filename")?;
    let mut parts = Path::new(name).components();
    match (parts.next(), parts.next()) {
        (Some(std::path::Component::Normal(_)), None) => Ok(name),
        _ => Err(format!("{name:?} is not a file name")),
    }
}

/// Writes the evidence a vCon carries (manifest, signature, journals, inlined recordings)
/// into `to`, as a call directory that [`crate::verify`] checks.
pub fn unpack(vcon: &Path, to: &Path) -> Result<(), String> {
    let text = std::fs::read(vcon).map_err(|e| format!("{}: {e}", vcon.display()))?;
    let v: Value =
        serde_json::from_slice(&text).map_err(|e| format!("{}: not JSON: {e}", vcon.display()))?;
    let mut wrote_manifest = false;
    let objects = v["attachments"]
        .as_array()
        .into_iter()
        .flatten()
        .chain(v["dialog"].as_array().into_iter().flatten());
    for o in objects {
        let ours = matches!(
            o["type"].as_str(),
            Some(MANIFEST_ATTACHMENT | SIGNATURE_ATTACHMENT | JOURNAL_ATTACHMENT | "recording")
        );
        if !ours || o.get("body").is_none() {
            continue;
        }
        let name = file_name(o)?;
        let bytes = body(o).map_err(|e| format!("{name}: {e}"))?;
        wrote_manifest |= name == MANIFEST;
        std::fs::write(to.join(name), bytes).map_err(|e| format!("{name}: {e}"))?;
    }
    if !wrote_manifest {
        return Err(format!(
            "{}: no onrecord manifest attached: not a vCon onrecord exported",
            vcon.display()
        ));
    }
    Ok(())
}
