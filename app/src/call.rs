//! A call's page: what happened (its timeline and figures), its recording to play, and its
//! evidence to verify and export.
//!
//! The player is GTK's own `GtkMediaFile` with `GtkMediaControls`: GTK plays it through its
//! GStreamer media backend (a playbin-like pipeline), so the app needs no GStreamer binding
//! of its own and gets seekable controls for free.

use crate::a11y::{self, row, status_label};
use crate::backend::{Action, Backend, Details};
use crate::i18n::{tr, trf};
use crate::model;
use crate::window::Ctx;
use adw::prelude::*;
use std::cell::RefCell;
use std::path::PathBuf;
use std::rc::Rc;

pub struct CallPage {
    pub root: gtk::Widget,
    pub back: gtk::Button,
    ctx: Rc<Ctx>,
    title: gtk::Label,
    facts: adw::PreferencesGroup,
    player: adw::PreferencesGroup,
    player_status: gtk::Label,
    verification: gtk::Label,
    checks: adw::PreferencesGroup,
    export_progress: gtk::ProgressBar,
    export_result: gtk::Label,
    verify: gtk::Button,
    export: gtk::Button,
    keep: gtk::Button,
    timeline: adw::PreferencesGroup,
    /// Rows added to the groups for the call shown (removed when another is shown).
    added: RefCell<Vec<(adw::PreferencesGroup, gtk::Widget)>>,
    shown: RefCell<Option<Details>>,
    media: RefCell<Vec<gtk::MediaFile>>,
    /// The export's file chooser while it is open (GTK needs it held).
    chooser: RefCell<Option<gtk::FileChooserNative>>,
    on_back: RefCell<Option<Box<dyn Fn()>>>,
}

impl CallPage {
    pub fn new(ctx: Rc<Ctx>) -> Rc<CallPage> {
        let back = gtk::Button::from_icon_name("go-previous-symbolic");
        a11y::name(&back, &tr("Back to calls"));
        back.set_halign(gtk::Align::Start);
        let title = status_label(&tr("Call title"));
        title.add_css_class("title-2");
        let facts = adw::PreferencesGroup::builder().title(tr("Call")).build();
        let player = adw::PreferencesGroup::builder()
            .title(tr("Recording"))
            .build();
        let player_status = status_label(&tr("Player status"));
        player_status.add_css_class("dim-label");
        let verify = gtk::Button::with_label(&tr("Verify"));
        let export = gtk::Button::with_label(&tr("Export…"));
        let keep = gtk::Button::with_label(&tr("Keep forever"));
        let buttons = gtk::Box::new(gtk::Orientation::Horizontal, 6);
        buttons.set_valign(gtk::Align::Center);
        for b in [&verify, &export, &keep] {
            buttons.append(b);
        }
        let verification = status_label(&tr("Verification"));
        let checks = adw::PreferencesGroup::builder()
            .title(tr("Evidence"))
            .description(tr(
                "The signature, each file's hash and every block of audio, checked as onrecordctl verify does.",
            ))
            .build();
        checks.set_header_suffix(Some(&buttons));
        let export_progress = gtk::ProgressBar::builder().show_text(true).build();
        a11y::name(&export_progress, &tr("Export progress"));
        export_progress.set_visible(false);
        let export_result = status_label(&tr("Export"));
        let timeline = adw::PreferencesGroup::builder()
            .title(tr("Timeline"))
            .build();
        let column = gtk::Box::new(gtk::Orientation::Vertical, 18);
        for w in [
            back.upcast_ref::<gtk::Widget>(),
            title.upcast_ref(),
            facts.upcast_ref(),
            player.upcast_ref(),
            player_status.upcast_ref(),
            checks.upcast_ref(),
            verification.upcast_ref(),
            export_progress.upcast_ref(),
            export_result.upcast_ref(),
            timeline.upcast_ref(),
        ] {
            column.append(w);
        }
        column.set_margin_top(12);
        column.set_margin_bottom(12);
        column.set_margin_start(12);
        column.set_margin_end(12);
        let clamp = adw::Clamp::builder()
            .maximum_size(720)
            .child(&column)
            .build();
        let scroll = gtk::ScrolledWindow::builder()
            .hscrollbar_policy(gtk::PolicyType::Never)
            .child(&clamp)
            .width_request(340)
            .build();
        let empty = adw::StatusPage::builder()
            .title(tr("Pick a call"))
            .icon_name("go-previous-symbolic")
            .build();
        let stack = gtk::Stack::new();
        stack.add_named(&empty, Some("empty"));
        stack.add_named(&scroll, Some("call"));
        let page = Rc::new(CallPage {
            root: stack.upcast(),
            back,
            ctx,
            title,
            facts,
            player,
            player_status,
            verification,
            checks,
            export_progress,
            export_result,
            verify,
            export,
            keep,
            timeline,
            added: RefCell::new(Vec::new()),
            shown: RefCell::new(None),
            media: RefCell::new(Vec::new()),
            chooser: RefCell::new(None),
            on_back: RefCell::new(None),
        });
        page.connect();
        page
    }

    pub fn on_back(&self, f: impl Fn() + 'static) {
        *self.on_back.borrow_mut() = Some(Box::new(f));
    }

    fn connect(self: &Rc<Self>) {
        let p = Rc::downgrade(self);
        self.back.connect_clicked(move |_| {
            if let Some(p) = p.upgrade()
                && let Some(f) = p.on_back.borrow().as_ref()
            {
                f();
            }
        });
        let p = Rc::downgrade(self);
        self.verify.connect_clicked(move |_| {
            if let Some(p) = p.upgrade() {
                p.run_verify();
            }
        });
        let p = Rc::downgrade(self);
        self.export.connect_clicked(move |_| {
            if let Some(p) = p.upgrade() {
                p.choose_export();
            }
        });
        let p = Rc::downgrade(self);
        self.keep.connect_clicked(move |_| {
            if let Some(p) = p.upgrade() {
                p.run_keep();
            }
        });
    }

    /// Refreshes the page when `details` is of the call shown.
    pub fn update(&self, details: &Details) {
        let same = self.shown.borrow().as_ref().map(|d| &d.info.id) == Some(&details.info.id);
        if same {
            self.fill(details, false);
        }
    }

    /// Shows call `details`.
    pub fn open(&self, details: &Details) {
        self.verification.set_text("");
        self.export_result.set_text("");
        self.export_progress.set_visible(false);
        self.fill(details, true);
        if let Some(stack) = self.root.downcast_ref::<gtk::Stack>() {
            stack.set_visible_child_name("call");
        }
    }

    fn add(&self, group: &adw::PreferencesGroup, w: impl IsA<gtk::Widget>) {
        group.add(&w);
        self.added.borrow_mut().push((group.clone(), w.upcast()));
    }

    fn fill(&self, d: &Details, new_call: bool) {
        for (group, w) in self.added.borrow_mut().drain(..) {
            group.remove(&w);
        }
        *self.shown.borrow_mut() = Some(d.clone());
        let info = &d.info;
        self.title.set_text(&info.label);
        let created = info.timeline.first().map(|e| e.utc_us).unwrap_or(0);
        let mut facts = vec![
            (tr("Date"), model::local_time(created)),
            (tr("State"), info.state.as_str().to_owned()),
            (tr("Number"), d.numbers()),
            (tr("Recorded"), model::span(d.duration_s())),
        ];
        if let Some(a) = &d.analysis {
            facts.push((tr("On hold"), model::span(a.hold_s)));
            facts.push((
                tr("Time to agent"),
                a.first_live_s
                    .map(model::span)
                    .unwrap_or_else(|| tr("no agent heard")),
            ));
            if a.menu_s > 0.0 {
                facts.push((tr("Menu"), model::span(a.menu_s)));
            }
            facts.push((tr("Transfers"), a.transfers.to_string()));
        }
        for (what, value) in facts {
            let r = row(&value, &what);
            r.add_css_class("property");
            self.add(&self.facts, r);
        }
        for e in &info.timeline {
            let when = gtk::glib::DateTime::from_unix_local((e.utc_us / 1_000_000) as i64)
                .and_then(|t| t.format("%H:%M:%S"))
                .map(|s| s.to_string())
                .unwrap_or_default();
            let r = row(&format!("{when}  {}", e.kind), &e.detail);
            self.add(&self.timeline, r);
        }
        self.keep.set_sensitive(!d.kept);
        self.keep.set_label(&if d.kept {
            tr("Kept forever")
        } else {
            tr("Keep forever")
        });
        let ended = !info.state.is_active();
        self.verify.set_sensitive(ended);
        self.export.set_sensitive(ended);
        if new_call {
            self.media.borrow_mut().clear();
            self.player_status.set_text("");
        }
        self.player.set_visible(!info.recording_files.is_empty());
        let media = self.media.borrow().clone();
        for (i, file) in info.recording_files.iter().enumerate() {
            let path = PathBuf::from(&d.directory).join(file);
            let encrypted = onrecord_evidence::encrypt::encrypted_name(file);
            if !path.exists() && path.with_file_name(&encrypted).exists() {
                // Encrypted at rest: only the user's identity opens it, and the app has none.
                self.add(
                    &self.player,
                    row(
                        file,
                        &trf(
                            "Encrypted ({}): make a plaintext copy with onrecordctl decrypt {} --identity FILE",
                            &[&encrypted, &info.id],
                        ),
                    ),
                );
                continue;
            }
            let stream = match media.get(i) {
                Some(m) => m.clone(),
                None => {
                    let m = gtk::MediaFile::for_filename(&path);
                    self.follow(&m);
                    self.media.borrow_mut().push(m.clone());
                    m
                }
            };
            let controls = gtk::MediaControls::new(Some(&stream));
            controls.set_hexpand(true);
            let r = row(file, &tr("Play the recording"));
            a11y::name(&controls, &trf("Player of {}", &[file]));
            r.set_child(Some(&controls));
            self.add(&self.player, r);
        }
    }

    /// Keeps the player's status line true: playing, where, or why it cannot.
    fn follow(&self, media: &gtk::MediaFile) {
        let label = self.player_status.downgrade();
        let update = move |m: &gtk::MediaFile| {
            let Some(label) = label.upgrade() else { return };
            let text = if let Some(e) = m.error() {
                trf("Cannot play: {}", &[e.message()])
            } else if m.is_playing() {
                trf(
                    "Playing {} of {}",
                    &[
                        &model::clock(m.timestamp().max(0) as u64),
                        &model::clock(m.duration().max(0) as u64),
                    ],
                )
            } else if m.is_ended() {
                tr("Played to the end")
            } else {
                String::new()
            };
            label.set_text(&text);
        };
        for property in ["playing", "timestamp", "error", "ended"] {
            let u = update.clone();
            media.connect_notify_local(Some(property), move |m, _| u(m));
        }
    }

    fn directory(&self) -> Option<(String, PathBuf)> {
        let d = self.shown.borrow();
        let d = d.as_ref()?;
        Some((d.info.id.clone(), PathBuf::from(&d.directory)))
    }

    fn run_verify(self: &Rc<Self>) {
        let Some((_, dir)) = self.directory() else {
            return;
        };
        self.verification.set_text(&tr("Verifying…"));
        self.verify.set_sensitive(false);
        let key = self
            .ctx
            .backend
            .run(|conn| async move { Ok(Backend::daemon(&conn).await?.public_key().await?) });
        let backend = self.ctx.backend.clone();
        let page = Rc::clone(self);
        gtk::glib::spawn_future_local(async move {
            let key = key.await.ok();
            let report = backend
                .run_blocking(move || {
                    let readers = onrecord_evidence::Readers::discover(
                        &onrecord_plugin::host::plugin_dirs(&[]),
                    );
                    let mut report =
                        onrecord_evidence::verify::verify_dir_with(&dir, &readers, |_| {});
                    if let Some(key) = key {
                        report.check_key(&dir, &key);
                    }
                    report
                })
                .await;
            page.verify.set_sensitive(true);
            let Some(report) = report else { return };
            for (ok, what) in &report.checks {
                let r = row(what, &if *ok { tr("ok") } else { tr("FAILED") });
                let icon = if *ok {
                    "emblem-ok-symbolic"
                } else {
                    "dialog-error-symbolic"
                };
                r.add_prefix(&gtk::Image::from_icon_name(icon));
                page.add(&page.checks, r);
            }
            let failed = report.checks.iter().filter(|(ok, _)| !ok).count();
            page.verification.set_text(&if report.ok() {
                tr("Verified: the recording and its consent record are intact")
            } else {
                trf("NOT verified: {} check(s) failed", &[&failed.to_string()])
            });
        });
    }

    fn run_keep(self: &Rc<Self>) {
        let Some((id, _)) = self.directory() else {
            return;
        };
        let answer = self
            .ctx
            .backend
            .run(move |conn| Backend::perform(conn, id, Action::Keep));
        let page = Rc::clone(self);
        gtk::glib::spawn_future_local(async move {
            if let Err(f) = answer.await {
                page.ctx.toast(&f.message);
            }
            page.ctx.refresh();
        });
    }

    fn choose_export(self: &Rc<Self>) {
        let Some((id, _)) = self.directory() else {
            return;
        };
        let parent = self.root.root().and_downcast::<gtk::Window>();
        let chooser = gtk::FileChooserNative::new(
            Some(&tr("Export the call's evidence")),
            parent.as_ref(),
            gtk::FileChooserAction::Save,
            Some(&tr("Export")),
            Some(&tr("Cancel")),
        );
        // Start where people keep documents (GTK's default, the recent files, may not load).
        let folder = gtk::glib::user_special_dir(gtk::glib::UserDirectory::Documents)
            .filter(|d| d.is_dir())
            .unwrap_or_else(gtk::glib::home_dir);
        let _ = chooser.set_current_folder(Some(&gtk::gio::File::for_path(folder)));
        chooser.set_current_name(&format!("onrecord-{id}.zip"));
        let page = Rc::downgrade(self);
        chooser.connect_response(move |chooser, response| {
            let Some(page) = page.upgrade() else { return };
            if response == gtk::ResponseType::Accept
                && let Some(path) = chooser.file().and_then(|f| f.path())
            {
                page.run_export(path);
            }
            page.chooser.borrow_mut().take();
        });
        chooser.show();
        *self.chooser.borrow_mut() = Some(chooser);
    }

    fn run_export(self: &Rc<Self>, to: PathBuf) {
        let Some((_, dir)) = self.directory() else {
            return;
        };
        let files = self
            .shown
            .borrow()
            .as_ref()
            .map(|d| d.info.recording_files.len())
            .unwrap_or(0);
        // The manifest, its signature, the call record, and each audio file with its journal.
        let steps = (3 + 2 * files) as f64;
        let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<String>();
        self.export_progress.set_visible(true);
        self.export_progress.set_fraction(0.0);
        self.export.set_sensitive(false);
        let out = to.clone();
        let done = self.ctx.backend.run_blocking(move || {
            let readers =
                onrecord_evidence::Readers::discover(&onrecord_plugin::host::plugin_dirs(&[]));
            onrecord_evidence::bundle::export(&dir, &out, &readers, |name, _| {
                let _ = tx.send(name.to_owned());
            })
        });
        let page = Rc::clone(self);
        gtk::glib::spawn_future_local(async move {
            let mut n = 0.0;
            while let Some(name) = rx.recv().await {
                n += 1.0;
                page.export_progress.set_fraction((n / steps).min(1.0));
                page.export_progress.set_text(Some(&name));
            }
            let result = done.await;
            page.export.set_sensitive(true);
            page.export_progress.set_fraction(1.0);
            page.export_result.set_text(&match result {
                Some(Ok(())) => trf("Exported to {}", &[&to.display().to_string()]),
                Some(Err(e)) => trf("Export failed: {}", &[&e]),
                None => tr("Export failed"),
            });
        });
    }
}
