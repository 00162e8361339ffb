//! onrecord's archive: sealed calls copied to S3-compatible object storage (AWS S3, MinIO,
//! Ceph RGW, Garage, Backblaze B2, ...), each object with its SHA-256 and, under Object Lock,
//! a retention date before which nobody can delete or change it.
//!
//! [`s3::Target`] is the client: signed requests (`rusty-s3`) sent by a blocking HTTP client
//! (`ureq`), meant to run on a worker thread, never on the owner or the recording path.

pub mod s3;
