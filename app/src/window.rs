//! The window: four pages in a view stack (a switcher in the header bar, at the bottom when
//! narrow), the daemon's absence as a page of its own, toasts, and keyboard shortcuts.

use crate::backend::{Backend, Event, Snapshot};
use crate::calls::CallsPage;
use crate::check::CheckPage;
use crate::i18n::{tr, trf};
use crate::now::{NowPage, now_us};
use crate::settings::SettingsPage;
use adw::prelude::*;
use std::cell::{Cell, RefCell};
use std::rc::Rc;
use tokio::sync::mpsc;

/// What every page shares: the bus, the toasts, and a way to ask for a fresh look.
pub struct Ctx {
    pub backend: Backend,
    pub toasts: adw::ToastOverlay,
    events: mpsc::UnboundedSender<Event>,
}

impl Ctx {
    /// Reads the daemon's calls again (soon, once).
    pub fn refresh(&self) {
        let _ = self.events.send(Event::Changed);
    }

    pub fn toast(&self, text: &str) {
        let toast = adw::Toast::new(&gtk::glib::markup_escape_text(text));
        toast.set_timeout(5);
        self.toasts.add_toast(toast);
    }
}

/// The API this app was built for (`Announce` is 1.7).
const API_WANTED: (u32, u32) = (1, 7);

pub struct Window {
    pub window: adw::ApplicationWindow,
    /// The page switcher: only while the daemon is there.
    switcher: adw::ViewSwitcherTitle,
    bar: adw::ViewSwitcherBar,
    ctx: Rc<Ctx>,
    stack: gtk::Stack,
    absent: adw::StatusPage,
    views: adw::ViewStack,
    now: Rc<NowPage>,
    calls: Rc<CallsPage>,
    check: Rc<CheckPage>,
    settings: Rc<SettingsPage>,
    present: Cell<bool>,
    /// Set while a refresh runs: a change meanwhile asks for one more.
    refreshing: Cell<bool>,
    again: Cell<bool>,
    /// Called once, when the window first shows the daemon's state (the start-up benchmark).
    ready: RefCell<Option<Box<dyn FnOnce()>>>,
}

impl Window {
    pub fn new(app: &adw::Application, backend: Backend) -> Rc<Window> {
        let (tx, rx) = mpsc::unbounded_channel();
        let toasts = adw::ToastOverlay::new();
        let ctx = Rc::new(Ctx {
            backend: backend.clone(),
            toasts: toasts.clone(),
            events: tx.clone(),
        });
        let now = NowPage::new(Rc::clone(&ctx));
        let calls = CallsPage::new(Rc::clone(&ctx));
        let check = CheckPage::new(Rc::clone(&ctx));
        let settings = SettingsPage::new(Rc::clone(&ctx));

        let views = adw::ViewStack::new();
        views
            .add_titled(&now.root, Some("now"), &tr("Now"))
            .set_icon_name(Some("call-start-symbolic"));
        views
            .add_titled(&calls.root, Some("calls"), &tr("Calls"))
            .set_icon_name(Some("document-open-recent-symbolic"));
        views
            .add_titled(&check.root, Some("check"), &tr("Check a number"))
            .set_icon_name(Some("system-search-symbolic"));
        views
            .add_titled(&settings.root, Some("settings"), &tr("Settings"))
            .set_icon_name(Some("preferences-system-symbolic"));
        let title = adw::ViewSwitcherTitle::builder()
            .stack(&views)
            .title("onrecord")
            .build();
        let header = adw::HeaderBar::builder().title_widget(&title).build();
        let bar = adw::ViewSwitcherBar::builder().stack(&views).build();
        title
            .bind_property("title-visible", &bar, "reveal")
            .sync_create()
            .build();

        let absent = adw::StatusPage::builder()
            .icon_name("dialog-information-symbolic")
            .title(tr("onrecord is not running"))
            .description(tr(
                "The recorder runs in the background and keeps your calls. Start it to continue.",
            ))
            .build();
        let start = gtk::Button::with_label(&tr("Start onrecord"));
        start.add_css_class("pill");
        start.add_css_class("suggested-action");
        start.set_halign(gtk::Align::Center);
        absent.set_child(Some(&start));
        let waiting = adw::StatusPage::builder()
            .title(tr("Connecting to onrecord…"))
            .build();

        let main = gtk::Box::new(gtk::Orientation::Vertical, 0);
        views.set_vexpand(true);
        main.append(&views);
        main.append(&bar);
        let stack = gtk::Stack::new();
        stack.add_named(&waiting, Some("waiting"));
        stack.add_named(&main, Some("main"));
        stack.add_named(&absent, Some("absent"));
        toasts.set_child(Some(&stack));
        let content = gtk::Box::new(gtk::Orientation::Vertical, 0);
        content.append(&header);
        content.append(&toasts);

        let window = adw::ApplicationWindow::builder()
            .application(app)
            .title("onrecord")
            .default_width(820)
            .default_height(720)
            .content(&content)
            .build();
        window.set_size_request(360, 360);

        let win = Rc::new(Window {
            window,
            switcher: title.clone(),
            bar: bar.clone(),
            ctx,
            stack,
            absent,
            views,
            now,
            calls,
            check,
            settings,
            present: Cell::new(false),
            refreshing: Cell::new(false),
            again: Cell::new(false),
            ready: RefCell::new(None),
        });
        {
            let w = Rc::downgrade(&win);
            start.connect_clicked(move |_| {
                if let Some(w) = w.upgrade() {
                    w.start_daemon();
                }
            });
        }
        win.shortcuts(app);
        win.listen(backend.watch(), rx);
        let w = Rc::downgrade(&win);
        gtk::glib::timeout_add_seconds_local(1, move || match w.upgrade() {
            Some(w) => {
                w.now.tick(now_us());
                gtk::glib::ControlFlow::Continue
            }
            None => gtk::glib::ControlFlow::Break,
        });
        win
    }

    /// Calls `f` once the window shows what the daemon has (or that it is absent).
    pub fn on_ready(&self, f: impl FnOnce() + 'static) {
        *self.ready.borrow_mut() = Some(Box::new(f));
    }

    /// The window shows the daemon's state: once that is painted, the window is usable.
    fn became_ready(&self) {
        let Some(f) = self.ready.borrow_mut().take() else {
            return;
        };
        let Some(clock) = self.window.frame_clock() else {
            f();
            return;
        };
        let f = std::cell::Cell::new(Some(f));
        let handler = std::rc::Rc::new(std::cell::Cell::new(None));
        let h = std::rc::Rc::clone(&handler);
        let id = clock.connect_after_paint(move |clock| {
            if let Some(f) = f.take() {
                f();
            }
            if let Some(id) = h.take() {
                clock.disconnect(id);
            }
        });
        handler.set(Some(id));
        self.window.queue_draw();
    }

    fn shortcuts(self: &Rc<Self>, app: &adw::Application) {
        let add = |name: &str, accels: &[&str], f: Box<dyn Fn(&Window)>| {
            let action = gtk::gio::SimpleAction::new(name, None);
            let w = Rc::downgrade(self);
            action.connect_activate(move |_, _| {
                if let Some(w) = w.upgrade() {
                    f(&w);
                }
            });
            self.window.add_action(&action);
            app.set_accels_for_action(&format!("win.{name}"), accels);
        };
        for (i, page) in ["now", "calls", "check", "settings"]
            .into_iter()
            .enumerate()
        {
            let key = format!("<Alt>{}", i + 1);
            add(
                &format!("show-{page}"),
                &[&key],
                Box::new(move |w| w.views.set_visible_child_name(page)),
            );
        }
        add(
            "next-step",
            &["<Control>Return"],
            Box::new(|w| w.now.next_step()),
        );
        add(
            "mark",
            &["<Control>m"],
            Box::new(|w| {
                w.views.set_visible_child_name("now");
                w.now.focus_mark();
            }),
        );
        add("refresh", &["F5"], Box::new(|w| w.ctx.refresh()));
        add(
            "close",
            &["<Control>w", "<Control>q"],
            Box::new(|w| w.window.close()),
        );
    }

    /// Follows the bus's events and the pages' requests for a fresh look.
    fn listen(
        self: &Rc<Self>,
        mut bus: mpsc::UnboundedReceiver<Event>,
        mut asked: mpsc::UnboundedReceiver<Event>,
    ) {
        let w = Rc::downgrade(self);
        gtk::glib::spawn_future_local(async move {
            loop {
                let event = tokio::select! {
                    Some(e) = bus.recv() => e,
                    Some(e) = asked.recv() => e,
                    else => return,
                };
                let Some(w) = w.upgrade() else { return };
                match event {
                    Event::Daemon(present) => w.daemon(present),
                    Event::Changed => w.refresh(),
                }
            }
        });
    }

    fn daemon(self: &Rc<Self>, present: bool) {
        self.present.set(present);
        if present {
            self.check_api();
            self.refresh();
            self.settings.load();
            self.check.load();
        } else {
            self.stack.set_visible_child_name("absent");
            self.switcher.set_view_switcher_enabled(false);
            self.bar.set_visible(false);
            self.became_ready();
        }
    }

    /// A daemon of another major API, or too old, is named as such.
    fn check_api(self: &Rc<Self>) {
        let answer = self
            .ctx
            .backend
            .run(|conn| async move { Ok(Backend::daemon(&conn).await?.api_version().await?) });
        let w = Rc::clone(self);
        gtk::glib::spawn_future_local(async move {
            if let Ok(served) = answer.await
                && !onrecord_interface::api_compatible(served, API_WANTED)
            {
                w.ctx.toast(&trf(
                    "onrecord's service speaks API {}; this app needs {}: some steps may be refused",
                    &[
                        &format!("{}.{}", served.0, served.1),
                        &format!("{}.{}", API_WANTED.0, API_WANTED.1),
                    ],
                ));
            }
        });
    }

    fn refresh(self: &Rc<Self>) {
        if !self.present.get() {
            return;
        }
        if self.refreshing.replace(true) {
            self.again.set(true);
            return;
        }
        let answer = self.ctx.backend.run(Backend::snapshot);
        let w = Rc::clone(self);
        gtk::glib::spawn_future_local(async move {
            match answer.await {
                Ok(snapshot) => w.show(&snapshot),
                // Gone meanwhile: NameOwnerChanged says so.
                Err(failure) => eprintln!("onrecord: reading the calls failed: {failure}"),
            }
            w.refreshing.set(false);
            if w.again.replace(false) {
                w.refresh();
            }
        });
    }

    fn show(&self, snapshot: &Snapshot) {
        if !self.present.get() {
            return;
        }
        // The call shown before has ended: say so on the idle page.
        if let Some(old) = self.now.shown_id()
            && snapshot.active.as_ref().map(|a| &a.info.id) != Some(&old)
            && let Some(c) = snapshot.calls.iter().find(|c| c.id == old)
        {
            self.now.ended(&c.label, c.state);
        }
        self.now.show(snapshot.active.as_ref());
        self.calls.show(&snapshot.calls);
        self.stack.set_visible_child_name("main");
        self.switcher.set_view_switcher_enabled(true);
        self.bar.set_visible(true);
        self.became_ready();
    }

    fn start_daemon(self: &Rc<Self>) {
        let answer = self.ctx.backend.run(|conn| async move {
            let dbus = zbus::fdo::DBusProxy::new(&conn).await?;
            let name = zbus::names::WellKnownName::try_from(onrecord_interface::BUS_NAME)
                .expect("a well-known name");
            Ok(dbus.start_service_by_name(name, 0).await?)
        });
        let w = Rc::clone(self);
        self.absent.set_description(Some(&tr("Starting onrecord…")));
        gtk::glib::spawn_future_local(async move {
            match answer.await {
                Ok(_) => w.absent.set_description(Some(&tr(
                    "The recorder runs in the background and keeps your calls. Start it to continue.",
                ))),
                Err(failure) => w.absent.set_description(Some(
                    &gtk::glib::markup_escape_text(&trf(
                        "onrecord could not be started: {}",
                        &[&failure.message],
                    )),
                )),
            }
        });
    }
}
