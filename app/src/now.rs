//! The Now page: the call in progress (or proposed), what the law needs, what to say, and one
//! large button for the next step, with the other events of the call beside it.

use crate::a11y::{self, status_label};
use crate::backend::{Action, Active, Backend, Failure};
use crate::decision::DecisionView;
use crate::i18n::{tr, trf};
use crate::model::{self, Step};
use crate::window::Ctx;
use adw::prelude::*;
use onrecord_interface::{CallState, Requirement};
use std::cell::RefCell;
use std::rc::Rc;

pub struct NowPage {
    pub root: gtk::Widget,
    ctx: Rc<Ctx>,
    call_box: gtk::Box,
    idle_box: gtk::Box,
    title: gtk::Label,
    who: gtk::Label,
    state: gtk::Label,
    clock: gtk::Label,
    hold: gtk::Label,
    next: gtk::Label,
    refusal: gtk::Label,
    primary: gtk::Button,
    refuse: gtk::Button,
    dismiss: gtk::Button,
    pause: gtk::Button,
    stop: gtk::Button,
    withdraw: gtk::Button,
    announce: gtk::Button,
    mark_box: gtk::Box,
    mark_entry: gtk::Entry,
    transfer_box: gtk::Box,
    transfer_entry: gtk::Entry,
    number: gtk::Entry,
    label: gtk::Entry,
    last: gtk::Label,
    why: DecisionView,
    /// The call shown, as last read.
    shown: RefCell<Option<Active>>,
    /// The last call shown, once it ended: the idle page says how it ended.
    ended: RefCell<Option<(String, String)>>,
}

fn pill(text: &str, class: &str) -> gtk::Button {
    let b = gtk::Button::with_label(text);
    b.add_css_class("pill");
    if !class.is_empty() {
        b.add_css_class(class);
    }
    b
}

fn entry(accessible: &str, placeholder: &str) -> gtk::Entry {
    let e = gtk::Entry::builder()
        .placeholder_text(placeholder)
        .hexpand(true)
        .build();
    a11y::name(&e, accessible);
    e
}

impl NowPage {
    pub fn new(ctx: Rc<Ctx>) -> Rc<NowPage> {
        let title = status_label(&tr("Call"));
        title.add_css_class("title-1");
        let who = status_label(&tr("Other side"));
        let state = status_label(&tr("Call state"));
        state.add_css_class("heading");
        let clock = status_label(&tr("Recording time"));
        clock.add_css_class("title-2");
        clock.add_css_class("numeric");
        let hold = status_label(&tr("Hold status"));
        hold.add_css_class("warning");
        let next = status_label(&tr("Next step"));
        next.add_css_class("title-4");
        let refusal = status_label(&tr("Refusal"));
        refusal.add_css_class("error");
        let primary = pill("", "suggested-action");
        primary.set_height_request(56);
        let refuse = pill(&tr("They refused"), "destructive-action");
        let dismiss = pill(&tr("Not this call"), "");
        let pause = gtk::Button::with_label(&tr("Pause"));
        let stop = gtk::Button::with_label(&tr("Stop"));
        let withdraw = gtk::Button::with_label(&tr("They withdrew consent"));
        let announce = gtk::Button::with_label(&tr("Play the notice"));
        let mark_entry = entry(&tr("Mark text"), &tr("What just happened"));
        let mark = gtk::Button::with_label(&tr("Mark"));
        let transfer_entry = entry(
            &tr("Transfer to number"),
            &tr("New representative's number"),
        );
        let transfer = gtk::Button::with_label(&tr("Transfer"));
        let number = entry(
            &tr("Number to call"),
            &tr("+1 800 555 0199, or a place: US-CA"),
        );
        let label = entry(&tr("Call label"), &tr("Acme billing (optional)"));
        let create = pill(&tr("Create call"), "suggested-action");
        let last = status_label(&tr("Last call"));
        let why = DecisionView::new(&tr("Why"));

        let buttons = gtk::Box::new(gtk::Orientation::Horizontal, 12);
        buttons.set_halign(gtk::Align::Center);
        buttons.append(&primary);
        buttons.append(&refuse);
        buttons.append(&dismiss);
        // The other events, two by two (a phone-sized window has room for two).
        let beside = gtk::Box::new(gtk::Orientation::Vertical, 6);
        beside.set_halign(gtk::Align::Center);
        for pair in [[&pause, &stop], [&announce, &withdraw]] {
            let line = gtk::Box::new(gtk::Orientation::Horizontal, 6);
            line.set_halign(gtk::Align::Center);
            line.set_homogeneous(true);
            for b in pair {
                line.append(b);
            }
            beside.append(&line);
        }
        let mark_box = gtk::Box::new(gtk::Orientation::Horizontal, 6);
        mark_box.append(&mark_entry);
        mark_box.append(&mark);
        let transfer_box = gtk::Box::new(gtk::Orientation::Horizontal, 6);
        transfer_box.append(&transfer_entry);
        transfer_box.append(&transfer);

        let call_box = gtk::Box::new(gtk::Orientation::Vertical, 12);
        for w in [
            title.upcast_ref::<gtk::Widget>(),
            who.upcast_ref(),
            state.upcast_ref(),
            clock.upcast_ref(),
            hold.upcast_ref(),
            next.upcast_ref(),
            refusal.upcast_ref(),
            buttons.upcast_ref(),
            beside.upcast_ref(),
            mark_box.upcast_ref(),
            transfer_box.upcast_ref(),
            why.group.upcast_ref(),
        ] {
            call_box.append(w);
        }
        let idle_title = gtk::Label::new(Some(&tr("No call in progress")));
        idle_title.add_css_class("title-2");
        let idle_help = gtk::Label::builder()
            .label(tr(
                "onrecord proposes calls it notices. To record one by hand, enter the other side's number.",
            ))
            .wrap(true)
            .build();
        idle_help.add_css_class("dim-label");
        let idle_box = gtk::Box::new(gtk::Orientation::Vertical, 12);
        for w in [
            idle_title.upcast_ref::<gtk::Widget>(),
            idle_help.upcast_ref(),
            number.upcast_ref(),
            label.upcast_ref(),
            create.upcast_ref(),
            last.upcast_ref(),
        ] {
            idle_box.append(w);
        }
        let both = gtk::Box::new(gtk::Orientation::Vertical, 0);
        both.append(&call_box);
        both.append(&idle_box);
        both.set_margin_top(24);
        both.set_margin_bottom(24);
        both.set_margin_start(12);
        both.set_margin_end(12);
        let clamp = adw::Clamp::builder().maximum_size(640).child(&both).build();
        let root = gtk::ScrolledWindow::builder()
            .hscrollbar_policy(gtk::PolicyType::Never)
            .child(&clamp)
            .build();

        let page = Rc::new(NowPage {
            root: root.upcast(),
            ctx,
            call_box,
            idle_box,
            title,
            who,
            state,
            clock,
            hold,
            next,
            refusal,
            primary,
            refuse,
            dismiss,
            pause,
            stop,
            withdraw,
            announce,
            mark_box,
            mark_entry,
            transfer_box,
            transfer_entry,
            number,
            label,
            last,
            why,
            shown: RefCell::new(None),
            ended: RefCell::new(None),
        });
        page.connect(&mark, &transfer, &create);
        page.show(None);
        page
    }

    fn connect(self: &Rc<Self>, mark: &gtk::Button, transfer: &gtk::Button, create: &gtk::Button) {
        let on = |button: &gtk::Button, what: fn(&NowPage) -> Option<Action>| {
            let page = Rc::downgrade(self);
            button.connect_clicked(move |_| {
                if let Some(page) = page.upgrade()
                    && let Some(action) = what(&page)
                {
                    page.act(action);
                }
            });
        };
        on(&self.primary, |p| p.primary_action());
        on(&self.refuse, |_| Some(Action::Consent(false)));
        on(&self.dismiss, |_| Some(Action::Dismiss));
        on(&self.pause, |p| {
            let state = p.shown.borrow().as_ref()?.info.state;
            Some(if state == CallState::Paused {
                Action::Resume
            } else {
                Action::Pause
            })
        });
        on(&self.stop, |_| Some(Action::Stop));
        on(&self.withdraw, |_| Some(Action::Withdraw));
        on(&self.announce, |p| {
            let state = p.shown.borrow().as_ref()?.info.state;
            Some(Action::Announce(if state.is_capturing() {
                "started"
            } else {
                "notice"
            }))
        });
        on(mark, |p| {
            Some(Action::Mark(p.mark_entry.text().to_string()))
        });
        on(transfer, |p| {
            let them: Vec<String> = p
                .transfer_entry
                .text()
                .split(',')
                .map(|s| s.trim().to_owned())
                .filter(|s| !s.is_empty())
                .collect();
            Some(Action::Transfer(them))
        });
        let page = Rc::downgrade(self);
        let create_call = move || {
            if let Some(page) = page.upgrade() {
                page.create();
            }
        };
        let again = create_call.clone();
        create.connect_clicked(move |_| create_call());
        self.number.connect_activate(move |_| again());
        self.mark_entry.connect_activate(glib_clone_click(mark));
        self.transfer_entry
            .connect_activate(glib_clone_click(transfer));
    }

    /// The large button's event now.
    fn primary_action(&self) -> Option<Action> {
        let shown = self.shown.borrow();
        Some(match model::step(&shown.as_ref()?.info) {
            Step::TellThem => Action::Notice("me"),
            Step::Answer => Action::Consent(true),
            Step::StartRecording => Action::Start,
            Step::Confirm => Action::Confirm,
            Step::Resume => Action::Resume,
            Step::Stop => Action::Stop,
            Step::None => return None,
        })
    }

    /// Runs the next step (the Ctrl+Return shortcut), when there is one.
    pub fn next_step(self: &Rc<Self>) {
        if self.primary.is_visible()
            && let Some(action) = self.primary_action()
        {
            self.act(action);
        }
    }

    pub fn focus_mark(&self) {
        if self.mark_box.is_visible() {
            self.mark_entry.grab_focus();
        }
    }

    fn act(self: &Rc<Self>, action: Action) {
        let Some(id) = self.shown.borrow().as_ref().map(|a| a.info.id.clone()) else {
            return;
        };
        let clears = match &action {
            Action::Mark(_) => Some(self.mark_entry.clone()),
            Action::Transfer(_) => Some(self.transfer_entry.clone()),
            _ => None,
        };
        let answer = self
            .ctx
            .backend
            .run(move |conn| Backend::perform(conn, id, action));
        let page = Rc::clone(self);
        gtk::glib::spawn_future_local(async move {
            match answer.await {
                Ok(()) => {
                    page.refuse_with(None);
                    if let Some(e) = clears {
                        e.set_text("");
                    }
                }
                Err(failure) => page.refuse_with(Some(&failure)),
            }
            page.ctx.refresh();
        });
    }

    fn create(self: &Rc<Self>) {
        let them: Vec<String> = self
            .number
            .text()
            .split(',')
            .map(|s| s.trim().to_owned())
            .filter(|s| !s.is_empty())
            .collect();
        let label = self.label.text().trim().to_owned();
        let answer = self.ctx.backend.run(move |conn| async move {
            let calls = onrecord_interface::CallsProxy::new(&conn).await?;
            let mut options = std::collections::HashMap::new();
            options.insert("them", zbus::Variant::from(them));
            if !label.is_empty() {
                options.insert("label", zbus::Variant::from(label));
            }
            Ok(calls.create_call(options).await?)
        });
        let page = Rc::clone(self);
        gtk::glib::spawn_future_local(async move {
            match answer.await {
                Ok(_) => {
                    page.refuse_with(None);
                    page.number.set_text("");
                    page.label.set_text("");
                }
                Err(failure) => page.refuse_with(Some(&failure)),
            }
            page.ctx.refresh();
        });
    }

    /// Shows a refusal (the typed error's message) in the page and as a toast, or clears it.
    fn refuse_with(&self, failure: Option<&Failure>) {
        match failure {
            Some(f) => {
                self.refusal.set_text(&trf("Refused: {}", &[&f.message]));
                self.refusal.set_visible(true);
                self.ctx.toast(&f.message);
            }
            None => {
                self.refusal.set_text("");
                self.refusal.set_visible(false);
            }
        }
    }

    /// Shows the active call, or the idle page when there is none.
    pub fn show(&self, active: Option<&Active>) {
        let previous = self.shown.borrow().as_ref().map(|a| a.info.id.clone());
        if previous.as_deref() != active.map(|a| a.info.id.as_str()) {
            // Another call: the last one's refusal is not this one's.
            self.refuse_with(None);
        }
        *self.shown.borrow_mut() = active.cloned();
        self.call_box.set_visible(active.is_some());
        self.idle_box.set_visible(active.is_none());
        let last = self.ended.borrow().clone();
        self.last.set_visible(last.is_some());
        if let Some((label, state)) = last {
            self.last
                .set_text(&trf("Your last call, {}, ended: {}", &[&label, &state]));
        }
        self.why.show(active.map(|a| &a.info.decision));
        let Some(a) = active else {
            return;
        };
        let info = &a.info;
        self.title.set_text(&info.label);
        let mut who = model::who(&info.parties);
        match (a.detected_by.as_str(), a.application.as_str()) {
            ("", _) => {}
            (by, "") => who.push_str(&format!("\n{}", trf("Noticed by {}", &[by]))),
            (by, app) => who.push_str(&format!("\n{}", trf("Noticed by {} in {}", &[by, app]))),
        }
        self.who.set_text(&who);
        self.state
            .set_text(&trf("State: {}", &[info.state.as_str()]));
        self.next.set_text(&model::guidance(info));
        let step = model::step(info);
        let (text, visible) = match step {
            Step::TellThem => (tr("Tell them"), true),
            Step::Answer => (tr("They agreed"), true),
            Step::StartRecording => (tr("Start recording"), true),
            Step::Confirm => (tr("Confirmed on tape"), true),
            Step::Resume => (tr("Resume"), true),
            Step::Stop => (tr("Stop"), true),
            Step::None => (String::new(), false),
        };
        self.primary.set_label(&text);
        self.primary.set_visible(visible);
        self.refuse.set_visible(step == Step::Answer);
        self.dismiss.set_visible(info.state == CallState::Proposed);
        let capturing = info.state.is_capturing();
        self.pause.set_visible(matches!(
            info.state,
            CallState::Recording | CallState::Paused
        ));
        self.pause.set_label(&if info.state == CallState::Paused {
            tr("Resume")
        } else {
            tr("Pause")
        });
        // "Stop" is the large button once nothing else is due.
        self.stop
            .set_visible(info.state != CallState::Proposed && step != Step::Stop);
        self.withdraw.set_visible(capturing);
        self.announce.set_label(&if capturing {
            tr("Announce “recording started”")
        } else {
            tr("Play the notice")
        });
        self.announce.set_visible(
            matches!(info.state, CallState::Proposed | CallState::AwaitingNotice)
                || info.state == CallState::Recording,
        );
        self.mark_box.set_visible(info.state != CallState::Proposed);
        self.transfer_box
            .set_visible(info.state != CallState::Proposed);
        self.tick(now_us());
    }

    /// A call that was shown has ended: the idle page names it.
    pub fn ended(&self, label: &str, state: CallState) {
        *self.ended.borrow_mut() = Some((label.to_owned(), state.as_str().to_owned()));
    }

    /// The id of the call shown.
    pub fn shown_id(&self) -> Option<String> {
        self.shown.borrow().as_ref().map(|a| a.info.id.clone())
    }

    /// Updates the recording clock and the hold time (every second).
    pub fn tick(&self, now: u64) {
        let shown = self.shown.borrow();
        let Some(a) = shown.as_ref() else {
            return;
        };
        let started = a.info.started_us > 0;
        self.clock.set_visible(started);
        if started {
            let recorded = model::recorded_us(&a.info.timeline, now);
            let what = match a.info.state {
                CallState::Recording => tr("Recording"),
                CallState::Paused => tr("Paused at"),
                CallState::Held => tr("Held at"),
                _ => tr("Recorded"),
            };
            self.clock
                .set_text(&format!("{what} {}", model::clock(recorded)));
        }
        self.hold.set_visible(a.on_hold);
        if a.on_hold {
            let since = if a.hold_since > 0 { a.hold_since } else { now };
            self.hold.set_text(&trf(
                "On hold for {}",
                &[&model::clock(now.saturating_sub(since))],
            ));
        }
        let all_party = a.info.requirement == Requirement::AllParty;
        self.refuse.set_tooltip_text(Some(&if all_party {
            tr("The call ends for good: it can never be recorded")
        } else {
            tr("They said no")
        }));
    }
}

/// A closure for an entry's Enter that clicks `button`.
fn glib_clone_click(button: &gtk::Button) -> impl Fn(&gtk::Entry) + 'static {
    let button = button.downgrade();
    move |_| {
        if let Some(b) = button.upgrade() {
            b.emit_clicked();
        }
    }
}

/// Microseconds since the Unix epoch (UTC).
pub fn now_us() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_micros() as u64)
        .unwrap_or(0)
}
