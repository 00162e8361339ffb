//! The S3 requests the archive needs: PUT an object (with its checksums and, under Object
//! Lock, its retention), HEAD it to confirm, GET it back to verify.

use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use md5::Md5;
use rusty_s3::{Bucket, Credentials, S3Action, UrlStyle};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::io::Read;
use std::path::Path;
use std::time::{Duration, SystemTime};

/// How long a signed request stays valid.
const SIGNED_FOR: Duration = Duration::from_secs(15 * 60);

/// Object Lock's two modes: under `Compliance` nobody, the account's root included, can
/// delete or shorten before the date; under `Governance` those with a special permission can.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum LockMode {
    Governance,
    Compliance,
}

impl LockMode {
    pub fn as_header(self) -> &'static str {
        match self {
            LockMode::Governance => "GOVERNANCE",
            LockMode::Compliance => "COMPLIANCE",
        }
    }
}

/// A retention for every object written: its mode and how long from the upload.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Lock {
    pub mode: LockMode,
    pub days: f64,
}

/// Why a request failed, as the archive decides what to do next.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Error {
    /// The server could not be reached or failed (5xx): try again later.
    Unreachable(String),
    /// The credentials or the bucket's policy refused it (401/403): it will not pass by
    /// itself; said clearly, retried slowly.
    Refused(String),
    /// Anything else the server said no to (4xx), or a local file that cannot be read.
    Failed(String),
}

impl std::fmt::Display for Error {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Error::Unreachable(m) => write!(f, "the storage cannot be reached: {m}"),
            Error::Refused(m) => write!(f, "the storage refused it (credentials or policy): {m}"),
            Error::Failed(m) => f.write_str(m),
        }
    }
}

/// What the storage holds for an object.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Head {
    pub length: u64,
    /// The entity tag: for a single PUT, the MD5 of the body in hex (quoted).
    pub etag: Option<String>,
    /// The SHA-256 the storage computed (base64), when it keeps one.
    pub sha256: Option<String>,
    pub lock_mode: Option<String>,
    pub retain_until: Option<String>,
}

/// A bucket to archive into, with its credentials.
pub struct Target {
    bucket: Bucket,
    credentials: Credentials,
    agent: ureq::Agent,
    lock: Option<Lock>,
}

/// The bucket `name` at `endpoint`, addressed by path or by virtual host (see `Target::new`).
pub fn bucket_at(
    endpoint: &str,
    name: &str,
    region: &str,
    path_style: bool,
) -> Result<Bucket, String> {
    let url = url::Url::parse(endpoint).map_err(|e| format!("endpoint {endpoint:?}: {e}"))?;
    let style = if path_style {
        UrlStyle::Path
    } else {
        UrlStyle::VirtualHost
    };
    Bucket::new(url, style, name.to_owned(), region.to_owned())
        .map_err(|e| format!("bucket {name:?} at {endpoint}: {e}"))
}

/// A target as data: what the daemon hands the archive's helper (`onrecord-archive`), which
/// alone makes requests.
#[derive(Clone, PartialEq, Serialize, Deserialize)]
pub struct Spec {
    pub endpoint: String,
    pub bucket: String,
    pub region: String,
    pub path_style: bool,
    pub access_key_id: String,
    pub secret_access_key: String,
    pub lock: Option<Lock>,
}

impl std::fmt::Debug for Spec {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "Spec {{ {} {} (region {}), key {:?}, secret (hidden), lock {:?} }}",
            self.endpoint, self.bucket, self.region, self.access_key_id, self.lock
        )
    }
}

impl Spec {
    /// Whether the endpoint and the bucket's name make a bucket (no request made).
    pub fn check(&self) -> Result<(), String> {
        bucket_at(&self.endpoint, &self.bucket, &self.region, self.path_style).map(|_| ())
    }

    /// The client for it.
    pub fn target(&self) -> Result<Target, String> {
        Target::new(
            &self.endpoint,
            &self.bucket,
            &self.region,
            self.path_style,
            (&self.access_key_id, &self.secret_access_key),
            self.lock,
        )
    }
}

/// An MD5 in base64 (Content-MD5) as the hex of an entity tag, quoted as S3 sends it.
pub fn etag_of(md5_base64: &str) -> Option<String> {
    B64.decode(md5_base64).ok().map(|b| {
        format!(
            "\"{}\"",
            b.iter().map(|x| format!("{x:02x}")).collect::<String>()
        )
    })
}

/// A file's SHA-256 and MD5 (base64, as S3's headers carry them) and length, in one pass.
pub fn digests(path: &Path) -> std::io::Result<(String, String, u64)> {
    let mut file = std::fs::File::open(path)?;
    let (mut sha, mut md5) = (Sha256::new(), Md5::new());
    let mut buf = vec![0u8; 256 * 1024];
    let mut length = 0u64;
    loop {
        let n = file.read(&mut buf)?;
        if n == 0 {
            break;
        }
        sha.update(&buf[..n]);
        md5.update(&buf[..n]);
        length += n as u64;
    }
    Ok((
        B64.encode(sha.finalize()),
        B64.encode(md5.finalize()),
        length,
    ))
}

/// RFC 3339 of `t`, to the second (Object Lock's retain-until date).
fn rfc3339(t: SystemTime) -> String {
    humantime::format_rfc3339_seconds(t).to_string()
}

impl Target {
    /// A bucket at `endpoint` (`https://s3.eu-west-1.amazonaws.com`, `http://127.0.0.1:9000`),
    /// addressed by path (`endpoint/bucket/key`, what MinIO, Garage and moto expect) or by
    /// virtual host (`bucket.endpoint/key`, AWS's default).
    pub fn new(
        endpoint: &str,
        bucket: &str,
        region: &str,
        path_style: bool,
        credentials: (&str, &str),
        lock: Option<Lock>,
    ) -> Result<Target, String> {
        let bucket = bucket_at(endpoint, bucket, region, path_style)?;
        let tls = ureq::tls::TlsConfig::builder()
            .provider(ureq::tls::TlsProvider::Rustls)
            .root_certs(ureq::tls::RootCerts::PlatformVerifier)
            .build();
        let agent = ureq::Agent::config_builder()
            .tls_config(tls)
            .http_status_as_error(false)
            .timeout_connect(Some(Duration::from_secs(10)))
            .timeout_recv_response(Some(Duration::from_secs(60)))
            .build()
            .new_agent();
        Ok(Target {
            bucket,
            credentials: Credentials::new(credentials.0, credentials.1),
            agent,
            lock,
        })
    }

    /// Where `key` is, for people: `s3://bucket/key`.
    pub fn describe(&self, key: &str) -> String {
        format!("s3://{}/{key}", self.bucket.name())
    }

    fn check(what: &str, status: u16, body: String) -> Result<(), Error> {
        let said = format!("{what}: HTTP {status}: {}", body.trim());
        match status {
            200..=299 => Ok(()),
            401 | 403 => Err(Error::Refused(said)),
            500..=599 => Err(Error::Unreachable(said)),
            _ => Err(Error::Failed(said)),
        }
    }

    /// Uploads `path` as `key`, carrying its SHA-256 (the storage checks it and refuses a
    /// different body) and its MD5, and under Object Lock its retention from `now`. Returns
    /// what was sent: the SHA-256 and MD5 (base64) and the length.
    pub fn put_file(
        &self,
        key: &str,
        path: &Path,
        now: SystemTime,
    ) -> Result<(String, String, u64), Error> {
        let (sha256, md5, length) =
            digests(path).map_err(|e| Error::Failed(format!("{}: {e}", path.display())))?;
        let mut action = self.bucket.put_object(Some(&self.credentials), key);
        let until = self
            .lock
            .map(|l| rfc3339(now + Duration::from_secs_f64(l.days * 86_400.0)));
        {
            let h = action.headers_mut();
            h.insert("content-length", length.to_string());
            h.insert("content-md5", md5.clone());
            h.insert("x-amz-checksum-sha256", sha256.clone());
            if let (Some(lock), Some(until)) = (self.lock, &until) {
                h.insert("x-amz-object-lock-mode", lock.mode.as_header());
                h.insert("x-amz-object-lock-retain-until-date", until.clone());
            }
        }
        let url = action.sign(SIGNED_FOR);
        // With `Expect: 100-continue` a storage that refuses the request (wrong credentials, a
        // policy) says so before the body is sent: its answer, not a broken pipe.
        let mut request = self
            .agent
            .put(url.as_str())
            .header("expect", "100-continue")
            .header("content-length", length.to_string())
            .header("content-md5", &md5)
            .header("x-amz-checksum-sha256", &sha256);
        if let (Some(lock), Some(until)) = (self.lock, &until) {
            request = request
                .header("x-amz-object-lock-mode", lock.mode.as_header())
                .header("x-amz-object-lock-retain-until-date", until);
        }
        let file = std::fs::File::open(path)
            .map_err(|e| Error::Failed(format!("{}: {e}", path.display())))?;
        let response = request
            .send(ureq::SendBody::from_owned_reader(file))
            .map_err(|e| Error::Unreachable(format!("PUT {}: {e}", self.describe(key))))?;
        let status = response.status().as_u16();
        let body = response.into_body().read_to_string().unwrap_or_default();
        Target::check(&format!("PUT {}", self.describe(key)), status, body)?;
        Ok((sha256, md5, length))
    }

    /// What the storage holds as `key`, or `None` when it holds nothing.
    pub fn head(&self, key: &str) -> Result<Option<Head>, Error> {
        let mut action = self.bucket.head_object(Some(&self.credentials), key);
        action
            .headers_mut()
            .insert("x-amz-checksum-mode", "ENABLED");
        let url = action.sign(SIGNED_FOR);
        let response = self
            .agent
            .head(url.as_str())
            .header("x-amz-checksum-mode", "ENABLED")
            .call()
            .map_err(|e| Error::Unreachable(format!("HEAD {}: {e}", self.describe(key))))?;
        let status = response.status().as_u16();
        if status == 404 {
            return Ok(None);
        }
        let header = |name: &str| {
            response
                .headers()
                .get(name)
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned)
        };
        let head = Head {
            length: header("content-length")
                .and_then(|l| l.parse().ok())
                .unwrap_or(0),
            etag: header("etag"),
            sha256: header("x-amz-checksum-sha256"),
            lock_mode: header("x-amz-object-lock-mode"),
            retain_until: header("x-amz-object-lock-retain-until-date"),
        };
        Target::check(
            &format!("HEAD {}", self.describe(key)),
            status,
            String::new(),
        )?;
        Ok(Some(head))
    }

    /// Downloads `key` into `to`.
    pub fn get_to(&self, key: &str, to: &Path) -> Result<(), Error> {
        let url = self
            .bucket
            .get_object(Some(&self.credentials), key)
            .sign(SIGNED_FOR);
        let response = self
            .agent
            .get(url.as_str())
            .call()
            .map_err(|e| Error::Unreachable(format!("GET {}: {e}", self.describe(key))))?;
        let status = response.status().as_u16();
        if !(200..300).contains(&status) {
            let body = response.into_body().read_to_string().unwrap_or_default();
            return Target::check(&format!("GET {}", self.describe(key)), status, body);
        }
        let mut out = std::fs::File::create(to)
            .map_err(|e| Error::Failed(format!("{}: {e}", to.display())))?;
        std::io::copy(&mut response.into_body().into_reader(), &mut out)
            .map_err(|e| Error::Unreachable(format!("GET {}: {e}", self.describe(key))))?;
        Ok(())
    }
}
