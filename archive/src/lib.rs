//! onrecord's archive: sealed calls copied to S3-compatible object storage (AWS S3, MinIO,
//! Ceph RGW, Garage, Backblaze B2, ...), each object with its SHA-256 and, under Object Lock,
//! a retention date before which nobody can delete or change it.
//!
//! [`s3::Target`] is the client: signed requests (`rusty-s3`) sent by a blocking HTTP client
//! (`ureq`). [`call`] is a call's upload and its record (`archive.json`). Both run in the
//! helper program `onrecord-archive` (`main.rs`), which the daemon starts for each attempt:
//! the daemon itself uses only what makes no request ([`s3::Spec::check`], the record), so
//! the HTTP and TLS code is not part of the process that records all session long.

pub mod call;
pub mod s3;
