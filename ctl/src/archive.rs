//! `onrecordctl archive`: the `[archive]` bucket's records, a retry, and a check of what the
//! bucket holds (the daemon downloads: the credentials stay with it).

use crate::fail::Fail;
use crate::style::{bad, good};
use crate::text::emit;
use clap::Subcommand;
use onrecord_interface::ArchiveProxy;

#[derive(Subcommand, Debug)]
pub enum ArchiveCmd {
    /// Every call with an archive record: archived or pending, how far, the last error.
    Status {
        /// One JSON array.
        #[arg(long)]
        json: bool,
    },
    /// Try the pending calls now rather than at their next backoff (ID: that call's).
    Retry { id: Option<String> },
    /// Download a call's archived objects and check them: against the local files, and as
    /// evidence (signature, hashes, chain).
    Verify {
        id: String,
        /// One JSON object: verified and every check.
        #[arg(long)]
        json: bool,
    },
}

pub async fn run(conn: &zbus::Connection, cmd: ArchiveCmd) -> Result<(), Fail> {
    let archive = ArchiveProxy::new(conn).await?;
    match cmd {
        ArchiveCmd::Status { json } => {
            let list = archive.status().await?;
            if json {
                return crate::laws::print_json(&list);
            }
            let destination = archive.destination().await.unwrap_or_default();
            let mut o = if destination.is_empty() {
                "no [archive] is configured\n".to_owned()
            } else {
                format!("archive: {destination}\n")
            };
            for e in &list {
                let state = if e.state == "archived" {
                    good("archived")
                } else {
                    bad("pending ")
                };
                o.push_str(&format!(
                    "{}  {state}  {}/{} objects  {}\n",
                    e.id, e.confirmed, e.objects, e.last_error
                ));
            }
            emit(&o)
        }
        ArchiveCmd::Retry { id } => {
            archive.retry(id.as_deref().unwrap_or("")).await?;
            emit("retrying now\n")
        }
        ArchiveCmd::Verify { id, json } => {
            let (ok, checks) = archive.verify(&id).await?;
            if json {
                let checks: Vec<serde_json::Value> = checks
                    .iter()
                    .map(|(ok, what)| serde_json::json!({ "ok": ok, "what": what }))
                    .collect();
                crate::laws::print_json(&serde_json::json!({ "verified": ok, "checks": checks }))?;
            } else {
                let mut o = String::new();
                for (ok, what) in &checks {
                    let mark = if *ok { good("ok  ") } else { bad("FAIL") };
                    o.push_str(&format!("{mark}  {what}\n"));
                }
                emit(&o)?;
            }
            if ok {
                Ok(())
            } else {
                Err(Fail::Other(format!(
                    "the archive of {id} is NOT verified: {} check(s) failed",
                    checks.iter().filter(|(ok, _)| !ok).count()
                )))
            }
        }
    }
}
