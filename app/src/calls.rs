//! The Calls page: every call the daemon keeps, newest first, with its date, label, number,
//! length, time on hold and time to an agent; a call's own page beside the list (or over
//! it, in a narrow window).

use crate::backend::{Backend, Details};
use crate::call::CallPage;
use crate::i18n::{tr, trf};
use crate::model;
use crate::window::Ctx;
use adw::prelude::*;
use onrecord_interface::{CallState, CallSummary};
use std::cell::RefCell;
use std::collections::HashMap;
use std::rc::Rc;

pub struct CallsPage {
    pub root: gtk::Widget,
    ctx: Rc<Ctx>,
    leaflet: adw::Leaflet,
    list: gtk::ListBox,
    empty: adw::StatusPage,
    /// Each call's row, the state it showed, and the details read for it.
    rows: RefCell<HashMap<String, Row>>,
    /// The ids in the order shown.
    order: RefCell<Vec<String>>,
    page: Rc<CallPage>,
}

struct Row {
    row: adw::ActionRow,
    open: gtk::Button,
    summary: CallSummary,
    details: Option<Details>,
}

impl CallsPage {
    pub fn new(ctx: Rc<Ctx>) -> Rc<CallsPage> {
        let list = gtk::ListBox::builder()
            .selection_mode(gtk::SelectionMode::None)
            .build();
        list.add_css_class("boxed-list");
        crate::a11y::name(&list, &tr("Past calls"));
        let empty = adw::StatusPage::builder()
            .icon_name("document-open-recent-symbolic")
            .title(tr("No calls yet"))
            .description(tr("Calls you record are kept here with their evidence."))
            .build();
        let column = gtk::Box::new(gtk::Orientation::Vertical, 12);
        column.set_margin_top(12);
        column.set_margin_bottom(12);
        column.set_margin_start(12);
        column.set_margin_end(12);
        column.append(&empty);
        column.append(&list);
        let list_side = gtk::ScrolledWindow::builder()
            .hscrollbar_policy(gtk::PolicyType::Never)
            .child(&column)
            .width_request(300)
            .build();
        let page = CallPage::new(Rc::clone(&ctx));
        let leaflet = adw::Leaflet::builder().can_navigate_back(true).build();
        leaflet.append(&list_side);
        leaflet.append(&gtk::Separator::new(gtk::Orientation::Vertical));
        leaflet.append(&page.root);
        page.root.set_hexpand(true);
        let calls = Rc::new(CallsPage {
            root: leaflet.clone().upcast(),
            ctx,
            leaflet: leaflet.clone(),
            list,
            empty,
            rows: RefCell::new(HashMap::new()),
            order: RefCell::new(Vec::new()),
            page,
        });
        let l = leaflet.downgrade();
        calls.page.on_back(move || {
            if let Some(l) = l.upgrade() {
                l.navigate(adw::NavigationDirection::Back);
            }
        });
        leaflet
            .bind_property("folded", &calls.page.back, "visible")
            .sync_create()
            .build();
        calls
    }

    /// Shows the daemon's calls, reading the details of those new or changed.
    pub fn show(self: &Rc<Self>, calls: &[CallSummary]) {
        let mut newest_first: Vec<&CallSummary> = calls.iter().collect();
        newest_first.sort_by_key(|c| std::cmp::Reverse(c.created_us));
        let ids: Vec<String> = newest_first.iter().map(|c| c.id.clone()).collect();
        self.empty.set_visible(ids.is_empty());
        self.list.set_visible(!ids.is_empty());
        let reorder = *self.order.borrow() != ids;
        if reorder {
            while let Some(child) = self.list.first_child() {
                self.list.remove(&child);
            }
            self.rows.borrow_mut().retain(|id, _| ids.contains(id));
        }
        for c in newest_first {
            let stale = {
                let mut rows = self.rows.borrow_mut();
                let entry = rows.entry(c.id.clone()).or_insert_with(|| {
                    let (row, open) = self.new_row(&c.id);
                    Row {
                        row,
                        open,
                        summary: c.clone(),
                        details: None,
                    }
                });
                // An active call changes all the time; an ended one once more (sealed).
                let stale = entry.details.is_none()
                    || entry.summary.state != c.state
                    || c.state.is_active();
                entry.summary = c.clone();
                describe(entry);
                if reorder {
                    self.list.append(&entry.row);
                }
                stale
            };
            if stale {
                self.fetch(&c.id);
            }
        }
        *self.order.borrow_mut() = ids;
    }

    fn new_row(self: &Rc<Self>, id: &str) -> (adw::ActionRow, gtk::Button) {
        let row = adw::ActionRow::builder().use_markup(false).build();
        let open = gtk::Button::from_icon_name("go-next-symbolic");
        open.add_css_class("flat");
        open.set_valign(gtk::Align::Center);
        row.add_suffix(&open);
        // The row and its button open the call (the button is not the row's activatable
        // widget: that would add the row's title to its accessible name).
        row.set_activatable(true);
        let page = Rc::downgrade(self);
        let id = id.to_owned();
        let opens = move || {
            if let Some(page) = page.upgrade() {
                page.open(&id);
            }
        };
        let again = opens.clone();
        open.connect_clicked(move |_| opens());
        row.connect_activated(move |_| again());
        (row, open)
    }

    fn fetch(self: &Rc<Self>, id: &str) {
        let id = id.to_owned();
        let want = id.clone();
        let answer = self
            .ctx
            .backend
            .run(move |conn| Backend::details(conn, want));
        let page = Rc::clone(self);
        gtk::glib::spawn_future_local(async move {
            // A call removed meanwhile is simply not shown.
            let Ok(details) = answer.await else { return };
            let mut rows = page.rows.borrow_mut();
            if let Some(entry) = rows.get_mut(&id) {
                entry.details = Some(details.clone());
                describe(entry);
            }
            drop(rows);
            page.page.update(&details);
        });
    }

    fn open(self: &Rc<Self>, id: &str) {
        let details = self.rows.borrow().get(id).and_then(|r| r.details.clone());
        if let Some(d) = details {
            self.page.open(&d);
            self.leaflet.navigate(adw::NavigationDirection::Forward);
        }
    }
}

/// A row's text: the label, then date, number, length, hold and time to agent.
fn describe(entry: &Row) {
    let c = &entry.summary;
    entry.row.set_title(&c.label);
    let mut parts = vec![model::local_time(c.created_us)];
    if let Some(d) = &entry.details {
        let numbers = d.numbers();
        if !numbers.is_empty() {
            parts.push(numbers);
        }
        if d.info.started_us > 0 {
            parts.push(model::span(d.duration_s()));
        }
        if let Some(a) = &d.analysis {
            if a.hold_s > 0.0 {
                parts.push(trf("on hold {}", &[&model::span(a.hold_s)]));
            }
            if let Some(live) = a.first_live_s {
                parts.push(trf("agent after {}", &[&model::span(live)]));
            }
        }
    }
    if c.state != CallState::Stopped {
        parts.push(c.state.as_str().to_owned());
    }
    entry.row.set_subtitle(&parts.join(" · "));
    crate::a11y::name(&entry.open, &trf("Open {}", &[&c.label]));
    entry.open.set_tooltip_text(Some(&tr("Open the call")));
}
