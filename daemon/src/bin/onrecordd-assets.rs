//! `onrecordd-assets DIR`: writes onrecordd's man page (`man1/onrecordd.1`) and shell
//! completions (`completions/onrecordd.{bash,zsh,fish}`, `_onrecordd`) from its clap
//! definition. Used by `make install`; not installed.

use clap::CommandFactory;
use onrecordd::cli::Args;
use std::path::PathBuf;
use std::process::ExitCode;

fn main() -> ExitCode {
    let Some(dir) = std::env::args_os().nth(1).map(PathBuf::from) else {
        eprintln!("usage: onrecordd-assets DIR");
        return ExitCode::from(2);
    };
    let write = || -> std::io::Result<()> {
        let man = dir.join("man1");
        std::fs::create_dir_all(&man)?;
        clap_mangen::generate_to(Args::command(), &man)?;
        let completions = dir.join("completions");
        std::fs::create_dir_all(&completions)?;
        for shell in [
            clap_complete::Shell::Bash,
            clap_complete::Shell::Zsh,
            clap_complete::Shell::Fish,
        ] {
            clap_complete::generate_to(shell, &mut Args::command(), "onrecordd", &completions)?;
        }
        Ok(())
    };
    match write() {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("onrecordd-assets: cannot write to {}: {e}", dir.display());
            ExitCode::FAILURE
        }
    }
}
