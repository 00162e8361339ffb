//! `onrecord`: the desktop app. A window on onrecordd, over its D-Bus interface only: the
//! call in progress and its next step, past calls with their evidence, what the law needs for
//! a number, and the settings.

mod a11y;
mod backend;
mod call;
mod calls;
mod check;
mod decision;
mod i18n;
mod model;
mod now;
mod settings;
mod settings_file;
mod window;

use adw::prelude::*;
use std::rc::Rc;

/// The app's id: its .desktop file, icon and AppStream metainfo are named after it.
pub const APP_ID: &str = "org.onrecord.OnRecord";

const HELP: &str = "onrecord: the window of onrecordd, the lawful call recorder

Usage: onrecord [--print-ready]

  --print-ready  print `ready` on stdout once the window shows the daemon's state
                 (for scripts and the start-up benchmark)
  --version      print the version
  --help         print this help

Shortcuts: Alt+1..4 pages, Ctrl+Return the next step, Ctrl+M mark, F5 refresh, Ctrl+Q quit.";

fn main() -> std::process::ExitCode {
    let mut print_ready = false;
    for arg in std::env::args().skip(1) {
        match arg.as_str() {
            "--print-ready" => print_ready = true,
            "--version" => {
                println!("onrecord {}", env!("CARGO_PKG_VERSION"));
                return std::process::ExitCode::SUCCESS;
            }
            "--help" | "-h" => {
                println!("{HELP}");
                return std::process::ExitCode::SUCCESS;
            }
            other => {
                eprintln!("onrecord: unknown argument {other:?} (see --help)");
                return std::process::ExitCode::from(2);
            }
        }
    }
    // GTK's cairo renderer unless the user chose one: this window is forms and lists, and on
    // a machine without a GPU the GL renderer runs on llvmpipe: 1.5x the start-up time and
    // twice the memory (`make bench` measures both).
    if std::env::var_os("GSK_RENDERER").is_none() {
        // SAFETY: no other thread runs yet (the bus thread starts below), so nothing reads the
        // environment while it changes.
        unsafe { std::env::set_var("GSK_RENDERER", "cairo") };
    }
    i18n::init();
    let backend = match backend::Backend::connect() {
        Ok(b) => b,
        Err(e) => {
            eprintln!("onrecord: {e}");
            return std::process::ExitCode::FAILURE;
        }
    };
    let app = adw::Application::builder().application_id(APP_ID).build();
    app.connect_startup(|_| gtk::Window::set_default_icon_name(APP_ID));
    app.connect_activate(move |app| {
        if let Some(window) = app.active_window() {
            window.present();
            return;
        }
        let win = window::Window::new(app, backend.clone());
        if print_ready {
            win.on_ready(|| {
                use std::io::Write;
                let mut out = std::io::stdout();
                let _ = writeln!(out, "ready");
                let _ = out.flush();
            });
        }
        win.window.present();
        // The window owns its pages through its widgets' closures; keep the Rc alive with it.
        let keep = Rc::clone(&win);
        win.window.connect_destroy(move |_| {
            let _ = &keep;
        });
    });
    // GTK's own options are not the app's: run without passing the arguments on.
    let status = app.run_with_args::<&str>(&[]);
    std::process::ExitCode::from(status.get())
}
