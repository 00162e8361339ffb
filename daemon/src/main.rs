//! `onrecordd`: the onrecord user daemon.

use clap::Parser;
use onrecord_interface::{BUS_NAME, OBJECT_PATH};
use onrecord_plugin::host::{dev_build_dir, exe_dir, plugin_dirs};
use onrecordd::capture::{Capture, NoCapture, Unavailable};
use onrecordd::cli::Args;
use onrecordd::config::{CaptureSection, Config, LIVE_SOURCE};
use onrecordd::plugins::Registry;
use onrecordd::recording::{CaptureConfig, PluginCapture};
use onrecordd::service::{
    CallsIface, Command, DaemonIface, LawsIface, Owner, Paths, RulesIface, watch_dirs,
};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use tokio::signal::unix::{SignalKind, signal};
use tokio::sync::mpsc;
use zbus::fdo::{RequestNameFlags, RequestNameReply};

fn main() -> ExitCode {
    onrecordd::memory::limit_arenas();
    let args = Args::parse();
    init_logging();
    if let Some(file) = &args.probe_plugin {
        let probed = onrecordd::plugins::probe_here(file);
        return match serde_json::to_string(&probed) {
            Ok(line) => {
                println!("{line}");
                ExitCode::SUCCESS
            }
            Err(e) => {
                eprintln!("onrecordd: cannot write the probe's report: {e}");
                ExitCode::FAILURE
            }
        };
    }
    let rt = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("onrecordd: cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match rt.block_on(run(args)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("onrecordd: {e}");
            ExitCode::FAILURE
        }
    }
}

/// `RUST_LOG`-style filtering by target and level (`warn`, `onrecordd=debug,zbus=warn`;
/// default and when unreadable `info`), to the journal when systemd connected stderr to it
/// (`JOURNAL_STREAM` names stderr's device and inode), else to stderr, coloured only on a
/// terminal. The filter is `Targets`, not `EnvFilter`: a daemon's log needs no filtering by
/// span fields, and `EnvFilter`'s regular expressions (a full DFA) were 0.13 MiB of the
/// daemon's code.
fn init_logging() {
    use tracing_subscriber::filter::Targets;
    use tracing_subscriber::prelude::*;
    let filter = std::env::var("RUST_LOG")
        .ok()
        .and_then(|v| v.parse::<Targets>().ok())
        .unwrap_or_else(|| Targets::new().with_default(tracing::Level::INFO));
    if stderr_is_journal()
        && let Ok(journal) = tracing_journald::layer()
    {
        tracing_subscriber::registry()
            .with(journal.with_syslog_identifier("onrecordd".into()))
            .with(filter)
            .init();
        return;
    }
    tracing_subscriber::registry()
        .with(
            tracing_subscriber::fmt::layer()
                .with_writer(std::io::stderr)
                .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr())),
        )
        .with(filter)
        .init();
}

/// systemd's way to say "your stderr is the journal": `JOURNAL_STREAM=<dev>:<inode>` of it.
fn stderr_is_journal() -> bool {
    use std::os::fd::AsFd;
    use std::os::unix::fs::MetadataExt;
    let Some(stream) = std::env::var_os("JOURNAL_STREAM") else {
        return false;
    };
    let Ok(fd) = std::io::stderr().as_fd().try_clone_to_owned() else {
        return false;
    };
    let Ok(meta) = std::fs::File::from(fd).metadata() else {
        return false;
    };
    stream.to_str() == Some(&format!("{}:{}", meta.dev(), meta.ino()))
}

fn xdg(var: &str, fallback: &str) -> Option<PathBuf> {
    std::env::var_os(var)
        .map(PathBuf::from)
        .filter(|p| p.is_absolute())
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(fallback)))
}

/// The shipped tables: the source tree's in a development build, else the installed
/// `<prefix>/share/onrecord/laws`. An installed daemon never reads the source tree its build
/// came from: without its tables it says where they were expected.
fn default_laws_dir() -> Result<PathBuf, String> {
    if dev_build_dir().is_some() {
        let source_tree = PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../laws"));
        if source_tree.is_dir() {
            return Ok(source_tree);
        }
    }
    let installed = exe_dir()
        .as_deref()
        .and_then(Path::parent)
        .map(|prefix| prefix.join("share/onrecord/laws"))
        .ok_or("cannot tell where this onrecordd is installed: pass --laws-dir")?;
    if installed.is_dir() {
        Ok(installed)
    } else {
        Err(format!(
            "no law tables at {}, where this installation keeps them: reinstall onrecord, or pass --laws-dir",
            installed.display()
        ))
    }
}

async fn run(args: Args) -> Result<(), String> {
    let (config, paths) = settle(&args)?;
    // Each plugin is probed in a child process (this program, `--probe-plugin`); if this
    // binary cannot be found again, in this process.
    let exe = std::env::current_exe().ok();
    let plugins = Arc::new(onrecordd::plugins::discover(
        &plugin_dirs(&args.plugin_dirs),
        |path| match &exe {
            Some(exe) => onrecordd::plugins::probe_in_child(exe, path),
            None => onrecordd::plugins::probe_here(path),
        },
    ));
    let capture = capture_for(&config, &plugins);
    let data_dir = paths.data_dir.clone();
    let config_path = paths.config.clone();
    let dirs: Vec<PathBuf> = [Some(paths.laws_dir.clone()), paths.user_laws_dir.clone()]
        .into_iter()
        .flatten()
        .collect();
    let (owner, state) = Owner::start(
        paths,
        config.jurisdiction.clone(),
        config.policy,
        onrecordd::rules::Rules(config.rules.clone()),
        capture,
    )
    .map_err(|e| format!("invalid law tables:\n{e}"))?;
    // The installation's signing key, created on first run (0600).
    let signing = onrecord_evidence::key::load_or_create(&data_dir.join("signing.key"))?;
    let public_key = onrecord_evidence::key::public_hex(&signing);
    let mut owner = owner
        .with_signing_key(signing)
        .with_retention(config.retention)
        .with_hooks(config.hooks.clone())
        .with_encryption(config.encryption.recipients()?)
        .with_announcement(config.announcement.clone());
    if let Some(j) = &config.jurisdiction
        && state.borrow().set.get(j).is_none()
    {
        return Err(format!(
            "invalid configuration: jurisdiction {j:?} is not in the law tables"
        ));
    }

    let (commands, rx) = mpsc::channel(8);
    let mut archive_jobs = None;
    if let Some(a) = &config.archive {
        a.validate()?;
        let pending = onrecordd::archive::pending(&data_dir.join("calls"));
        let to_owner = commands.clone();
        let jobs = onrecordd::archive::spawn(a.clone(), pending, move |outcome| {
            let _ = to_owner.blocking_send(onrecordd::service::Command::Archive(outcome));
        });
        owner.set_archive(jobs.clone());
        archive_jobs = Some(jobs);
    }
    let conn = zbus::connection::Builder::session()
        .serve_at(
            OBJECT_PATH,
            DaemonIface::new(plugins.clone(), public_key, data_dir.clone()),
        )
        .serve_at(OBJECT_PATH, LawsIface::new(state.clone(), commands.clone()))
        .serve_at(OBJECT_PATH, RulesIface::new(state))
        .serve_at(
            OBJECT_PATH,
            onrecordd::service::ArchiveIface::new(
                data_dir.join("calls"),
                config.archive.clone(),
                archive_jobs,
            ),
        )
        .serve_at(OBJECT_PATH, CallsIface::new(commands.clone()))
        // A generic client gets every call, with all its properties, in one round trip, and
        // InterfacesAdded/Removed as calls come and go.
        .serve_at(OBJECT_PATH, zbus::fdo::ObjectManager)
        .build()
        .await
        .map_err(|e| format!("cannot connect to the session bus: {e}"))?;
    // Everything is in place before the name is taken, so a client that sees the name finds
    // every call object and a watcher that sees every change.
    owner.restore_calls(&conn, &commands).await;
    // A default source a killed helper left set to the virtual microphone is given back.
    onrecordd::service::mic::restore_default(&data_dir).await;
    let config_file: Vec<PathBuf> = config_path.into_iter().collect();
    let _watcher = watch_dirs(&dirs, &config_file, commands.clone())
        .map_err(|e| tracing::warn!("cannot watch the law tables ({e}); use Reload or SIGHUP"))
        .ok();
    take_name(&conn).await?;
    tracing::info!(
        name = BUS_NAME,
        laws = %dirs[0].display(),
        data = %data_dir.display(),
        "serving on the session bus"
    );
    tokio::spawn(owner.run(rx, commands.clone(), conn.clone()));
    onrecordd::service::detect::start(config.detect, &conn, commands.clone());
    serve_until_told_to_stop(&commands, &conn).await?;
    finish_recordings(&commands).await;
    tracing::info!("stopping");
    Ok(())
}

/// The configuration and where everything lives, the data directory and the user's law
/// overlay created (private) when missing.
fn settle(args: &Args) -> Result<(Config, Paths), String> {
    let config_home = xdg("XDG_CONFIG_HOME", ".config").map(|p| p.join("onrecord"));
    let config_file = match (&args.config, &config_home) {
        (Some(path), _) => Some(path.clone()),
        (None, Some(home)) => Some(home.join("config.toml")),
        (None, None) => None,
    };
    let config = match &config_file {
        Some(path) => Config::load(path, args.config.is_some()),
        None => Ok(Config::default()),
    }
    .map_err(|e| format!("invalid configuration: {e}"))?;
    let laws_dir = match &args.laws_dir {
        Some(dir) => dir.clone(),
        None => default_laws_dir()?,
    };
    let user_laws_dir = args
        .user_laws_dir
        .clone()
        .or_else(|| config_home.as_ref().map(|h| h.join("laws")));
    let data_dir = args
        .data_dir
        .clone()
        .or(config.data_dir.clone())
        .or_else(|| xdg("XDG_DATA_HOME", ".local/share").map(|p| p.join("onrecord")))
        .ok_or("no data directory: pass --data-dir")?;
    create_private_dir(&data_dir)?;
    if let Some(dir) = &user_laws_dir {
        // Created so that it can be watched from the start; a user who never writes a table
        // there loses nothing.
        if let Err(e) = create_private_dir(dir) {
            tracing::warn!("{e}; the user's law overlay is not watched");
        }
    }
    let paths = Paths {
        laws_dir,
        user_laws_dir,
        data_dir,
        naming: config.naming.directory.clone(),
        config: config_file,
    };
    Ok((config, paths))
}

/// One daemon owns the devices: a second one must fail, not queue or take over.
async fn take_name(conn: &zbus::Connection) -> Result<(), String> {
    match conn
        .request_name_with_flags(BUS_NAME, RequestNameFlags::DO_NOT_QUEUE)
        .await
    {
        Ok(RequestNameReply::PrimaryOwner | RequestNameReply::AlreadyOwner) => Ok(()),
        Ok(_) => Err(format!(
            "cannot serve {BUS_NAME} on the session bus: another onrecordd owns it"
        )),
        Err(e) => Err(format!("cannot serve {BUS_NAME} on the session bus: {e}")),
    }
}

/// Serves until SIGTERM, SIGINT or the loss of the session bus; SIGHUP reloads the tables.
async fn serve_until_told_to_stop(
    commands: &mpsc::Sender<Command>,
    conn: &zbus::Connection,
) -> Result<(), String> {
    let mut hup = signal(SignalKind::hangup()).map_err(|e| e.to_string())?;
    let mut term = signal(SignalKind::terminate()).map_err(|e| e.to_string())?;
    let mut int = signal(SignalKind::interrupt()).map_err(|e| e.to_string())?;
    loop {
        tokio::select! {
            _ = hup.recv() => {
                let _ = commands.send(Command::Reload { why: "SIGHUP", reply: None }).await;
            }
            _ = term.recv() => return Ok(()),
            _ = int.recv() => return Ok(()),
            // The session ended (or its bus died): nobody can reach this daemon any more, and a
            // daemon started by D-Bus activation would otherwise linger, reparented to init.
            _ = conn.closed() => {
                tracing::warn!("the session bus went away: finishing recordings and stopping");
                return Ok(());
            }
        }
    }
}

/// Calls still recording are finished and sealed before the process ends (a kill -9 leaves
/// them to be repaired at the next start instead).
async fn finish_recordings(commands: &mpsc::Sender<Command>) {
    let (reply, done) = tokio::sync::oneshot::channel();
    if commands.send(Command::Shutdown { reply }).await.is_ok() {
        match tokio::time::timeout(std::time::Duration::from_secs(20), done).await {
            Ok(Ok(n)) if n > 0 => tracing::info!(calls = n, "recordings finished and sealed"),
            Ok(_) => {}
            Err(_) => tracing::error!("recordings not finished within 20 s: left to be repaired"),
        }
    }
}

/// What records calls: the configured `[capture]`, else the live plugin when installed, else
/// nothing (calls keep their consent timeline without audio). A configured plugin that is not
/// loaded (refused, failed its probe) costs recording, not the daemon: the law queries, the
/// calls and their consent go on, and starting a recording says why it cannot.
fn capture_for(config: &Config, plugins: &Arc<Registry>) -> Box<dyn Capture> {
    let section = match &config.capture {
        Some(c) => Some(c.clone()),
        None if plugins.offers_capture(LIVE_SOURCE) => Some(CaptureSection::default()),
        None => {
            tracing::warn!(
                "the live capture plugin is not installed and no [capture] is configured: calls will record no audio"
            );
            None
        }
    };
    let Some(c) = section.filter(|c| c.enabled()) else {
        return Box::new(NoCapture::default());
    };
    let missing = [
        (&c.source, plugins.offers_capture(&c.source)),
        (&c.storage, plugins.offers_storage(&c.storage)),
    ]
    .into_iter()
    .find(|(_, found)| !found);
    if let Some((id, _)) = missing {
        let why = format!(
            "[capture] names plugin {id:?}, which is not loaded (see `onrecordctl plugins`)"
        );
        tracing::error!("{why}: recording is unavailable");
        return Box::new(Unavailable { why });
    }
    let sides = c.sides();
    tracing::info!(source = %c.source, storage = %c.storage, channels = ?sides.iter().map(|s| s.0.as_str()).collect::<Vec<_>>(), "capture configured");
    Box::new(PluginCapture::new(
        plugins.clone(),
        CaptureConfig {
            source: c.source.clone(),
            source_config: c.source_config(),
            sides,
            storage: c.storage.clone(),
            sync_interval: std::time::Duration::from_millis(c.sync_interval_ms),
        },
    ))
}

fn create_private_dir(dir: &std::path::Path) -> Result<(), String> {
    use std::os::unix::fs::DirBuilderExt;
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
        .map_err(|e| format!("cannot create {}: {e}", dir.display()))
}
