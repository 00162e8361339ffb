//! `onrecordctl`: the command-line client of onrecordd, over its D-Bus interface.

mod analyze;
mod archive;
mod calls;
mod evidence;
mod fail;
mod laws;
mod rules;
mod style;
mod text;

use clap::{Parser, Subcommand};
use fail::{Fail, START_HINT};
use onrecord_interface::{API_VERSION, DaemonProxy, api_compatible};
use std::process::ExitCode;

/// Talk to onrecordd, the lawful call recorder.
#[derive(Parser, Debug)]
#[command(version, about, propagate_version = true)]
struct Cli {
    #[command(subcommand)]
    command: Top,
}

#[derive(Subcommand, Debug)]
enum Top {
    /// A call and its consent, from notice to stop.
    #[command(subcommand)]
    Call(calls::CallCmd),
    /// Recording law: what consent a call needs, and the tables behind it.
    #[command(subcommand)]
    Laws(laws::LawsCmd),
    /// Rules per number (config.toml's `[[rule]]`): which are in force (the default), which
    /// decides a call.
    Rules {
        #[command(subcommand)]
        cmd: Option<rules::RulesCmd>,
    },
    /// Check a call's evidence: the signed manifest, the audio's hashes and hash chain. Names
    /// what fails and where. TARGET is a call id, a call's directory or an export bundle (the
    /// last two need no daemon).
    Verify {
        target: String,
        /// One JSON object: directory, verified, and every check.
        #[arg(long)]
        json: bool,
        /// An age identity file that decrypts the call's audio (with `[encryption]`): the
        /// check runs on a decrypted copy in a temporary directory, removed after.
        #[arg(long, value_name = "FILE")]
        identity: Option<std::path::PathBuf>,
    },
    /// Write a plaintext copy of an encrypted call (`[encryption]`): every `.age` file
    /// decrypted with the identity, the rest copied. TARGET is a call id or a call's directory.
    Decrypt {
        target: String,
        /// The age identity file (`age-keygen`'s output) whose key the call was encrypted to.
        #[arg(long, value_name = "FILE")]
        identity: std::path::PathBuf,
        /// Where to write the copy (default: onrecord-<directory>-decrypted here); it must
        /// not exist or be empty.
        #[arg(long, value_name = "DIR")]
        to: Option<std::path::PathBuf>,
    },
    /// What a recording's far side did (live speech, hold music, silence, tones, repeated
    /// announcements) over time, and the wait it adds up to: time to the first live agent,
    /// holds, transfers, talk time. TARGET is a recording (what an installed storage plugin
    /// reads, or any WAV or FLAC), a call's directory (neither needs the daemon) or a call id. Stereo is read as onrecord records: caller left, far
    /// side right; mono as the far side.
    Analyze {
        target: String,
        /// One JSON object (an array for a call with several files).
        #[arg(long)]
        json: bool,
    },
    /// The public key that signs this installation's evidence.
    Key {
        /// One JSON object.
        #[arg(long)]
        json: bool,
    },
    /// Write a call's evidence bundle: audio, manifest, signature, key and an HTML report.
    Export {
        id: String,
        /// The zip to write (default: onrecord-<id>.zip here).
        #[arg(long, value_name = "FILE.zip")]
        to: Option<std::path::PathBuf>,
        /// An age identity file that decrypts the call's audio (with `[encryption]`): the
        /// bundle holds the plaintext, made in a temporary directory removed after.
        #[arg(long, value_name = "FILE")]
        identity: Option<std::path::PathBuf>,
        /// `zip` (the bundle) or `vcon` (the call as an IETF vCon, JSON: parties, the
        /// recording, the consent timeline and analysis, onrecord's evidence attached;
        /// default name onrecord-<id>.vcon.json).
        #[arg(long, value_enum, default_value_t = evidence::Format::Zip)]
        format: evidence::Format,
        /// With `--format vcon`: reference the recording by its file URL and content hash
        /// instead of inlining it.
        #[arg(long)]
        reference: bool,
    },
    /// The devices calls can be recorded from (`[capture] microphone` and `far_side` take the
    /// ID), with what each offers.
    Devices {
        /// One JSON object: devices and problems.
        #[arg(long)]
        json: bool,
    },
    /// Your own announcement, recorded from your microphone: played instead of the default
    /// clip from then on (unless config.toml's [announcement] names a file).
    #[command(subcommand)]
    Announcement(AnnouncementCmd),
    /// The archive of sealed calls in an S3-compatible bucket (config.toml's `[archive]`).
    #[command(subcommand)]
    Archive(archive::ArchiveCmd),
    /// The plugins the daemon found, loaded or not, and why.
    Plugins {
        /// One JSON array.
        #[arg(long)]
        json: bool,
    },
    /// The daemon's version and the state of its law tables.
    Status {
        /// One JSON object.
        #[arg(long)]
        json: bool,
    },
    /// Write the man pages and shell completions into DIR (used by `make install`).
    #[command(hide = true)]
    GenerateAssets { dir: std::path::PathBuf },
}

#[derive(Subcommand, Debug)]
enum AnnouncementCmd {
    /// Record it now: speak after the command starts.
    Record {
        /// "Recording has started" instead of the notice.
        #[arg(long)]
        started: bool,
        /// How long to record.
        #[arg(long, default_value_t = 8.0)]
        seconds: f64,
    },
}

async fn announcement(conn: &zbus::Connection, cmd: AnnouncementCmd) -> Result<(), Fail> {
    let AnnouncementCmd::Record { started, seconds } = cmd;
    let daemon = onrecord_interface::DaemonProxy::builder(conn)
        .cache_properties(zbus::proxy::CacheProperties::No)
        .build()
        .await?;
    eprintln!("Recording {seconds} s from your microphone: speak now.");
    let what = if started { "started" } else { "notice" };
    let (path, got) = daemon.record_announcement(what, seconds).await?;
    let which = if started {
        "\"recording has started\""
    } else {
        "notice"
    };
    text::emit(&format!(
        "Recorded {got:.1} s into {path}: it is your {which} from now on.\n"
    ))
}

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(c) => c,
        Err(e) => {
            // Help and version go to stdout with success; usage errors exit 2.
            let _ = e.print();
            return if e.use_stderr() {
                ExitCode::from(2)
            } else {
                ExitCode::SUCCESS
            };
        }
    };
    if let Top::GenerateAssets { dir } = &cli.command {
        return match generate_assets(dir) {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => Fail::Other(format!("cannot write to {}: {e}", dir.display())).exit(),
        };
    }
    let rt = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => return Fail::Other(format!("cannot start: {e}")).exit(),
    };
    match rt.block_on(run(cli)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(f) => f.exit(),
    }
}

/// The man pages (`man1/onrecordctl.1` and one per subcommand) and completions
/// (`completions/onrecordctl.{bash,zsh,fish}`).
fn generate_assets(dir: &std::path::Path) -> std::io::Result<()> {
    use clap::CommandFactory;
    let man = dir.join("man1");
    std::fs::create_dir_all(&man)?;
    clap_mangen::generate_to(Cli::command(), &man)?;
    let completions = dir.join("completions");
    std::fs::create_dir_all(&completions)?;
    for shell in [
        clap_complete::Shell::Bash,
        clap_complete::Shell::Zsh,
        clap_complete::Shell::Fish,
    ] {
        clap_complete::generate_to(shell, &mut Cli::command(), "onrecordctl", &completions)?;
    }
    Ok(())
}

/// A session-bus connection to a compatible daemon.
async fn connect() -> Result<zbus::Connection, Fail> {
    let conn = zbus::Connection::session().await.map_err(|e| {
        Fail::Unreachable(format!(
            "cannot reach the session bus ({e}); is DBUS_SESSION_BUS_ADDRESS set?"
        ))
    })?;
    let daemon = DaemonProxy::builder(&conn)
        .cache_properties(zbus::proxy::CacheProperties::No)
        .build()
        .await?;
    let served = daemon
        .api_version()
        .await
        .map_err(|e| match Fail::from(e) {
            Fail::Other(m) => {
                Fail::Unreachable(format!("onrecordd did not answer ({m}); {START_HINT}"))
            }
            f => f,
        })?;
    if !api_compatible(served, API_VERSION) {
        return Err(Fail::Other(format!(
            "onrecordd serves API {}.{}, onrecordctl needs {}.{} or a later minor: update the older one",
            served.0, served.1, API_VERSION.0, API_VERSION.1
        )));
    }
    Ok(conn)
}

async fn run(cli: Cli) -> Result<(), Fail> {
    // A directory is verified on its own: evidence must be checkable without the daemon.
    if let Top::Verify {
        target,
        json,
        identity,
    } = &cli.command
    {
        let path = std::path::Path::new(target);
        if path.is_dir() {
            return evidence::verify_dir(path, None, *json, identity.as_deref());
        }
        if path.is_file() {
            return evidence::verify_bundle(path, *json, identity.as_deref());
        }
    }
    if let Top::Decrypt {
        target,
        identity,
        to,
    } = &cli.command
        && std::path::Path::new(target).is_dir()
    {
        return evidence::decrypt(std::path::Path::new(target), identity, to.as_deref());
    }
    if let Top::Analyze { target, json } = &cli.command {
        let p = std::path::Path::new(target);
        if p.exists() || target.contains('/') || p.extension().is_some() {
            return analyze::run(target, *json, None).await;
        }
        let conn = connect().await?;
        return analyze::run(target, *json, Some(&conn)).await;
    }
    let conn = connect().await?;
    match cli.command {
        Top::Analyze { .. } | Top::GenerateAssets { .. } => unreachable!("handled above"),
        Top::Call(cmd) => calls::run(&conn, cmd).await,
        Top::Laws(cmd) => laws::run(&conn, cmd).await,
        Top::Rules { cmd } => {
            let cmd = cmd.unwrap_or(rules::RulesCmd::List { json: false });
            rules::run(&conn, cmd).await
        }
        Top::Status { json } => laws::status(&conn, json).await,
        Top::Plugins { json } => laws::plugins(&conn, json).await,
        Top::Announcement(cmd) => announcement(&conn, cmd).await,
        Top::Archive(cmd) => archive::run(&conn, cmd).await,
        Top::Devices { json } => laws::devices(&conn, json).await,
        Top::Key { json } => evidence::key(&conn, json).await,
        Top::Verify {
            target,
            json,
            identity,
        } => evidence::verify(&conn, &target, json, identity.as_deref()).await,
        Top::Decrypt {
            target,
            identity,
            to,
        } => {
            let dir = evidence::call_directory(&conn, &target).await?;
            evidence::decrypt(std::path::Path::new(&dir), &identity, to.as_deref())
        }
        Top::Export {
            id,
            to,
            identity,
            format,
            reference,
        } => evidence::export(&conn, &id, to, identity.as_deref(), format, reference).await,
    }
}
