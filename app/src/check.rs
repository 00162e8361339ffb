//! The Check a number page: a number or a place, and the decision `onrecordctl laws check`
//! shows for a call to it from where the user is.

use crate::a11y::{self, row, status_label};
use crate::decision::DecisionView;
use crate::i18n::{tr, trf};
use crate::window::Ctx;
use adw::prelude::*;
use onrecord_interface::{Decision, JurisdictionSummary, LawsProxy, NumberInfo};
use std::cell::RefCell;
use std::rc::Rc;

pub struct CheckPage {
    pub root: gtk::Widget,
    ctx: Rc<Ctx>,
    entry: gtk::Entry,
    places: adw::ComboRow,
    place_ids: RefCell<Vec<String>>,
    number: adw::PreferencesGroup,
    number_rows: RefCell<Vec<adw::ActionRow>>,
    error: gtk::Label,
    decision: DecisionView,
}

impl CheckPage {
    pub fn new(ctx: Rc<Ctx>) -> Rc<CheckPage> {
        let entry = gtk::Entry::builder()
            .placeholder_text(tr("+1 415 555 0100, 0800 123 4567, or US-CA"))
            .hexpand(true)
            .build();
        a11y::name(&entry, &tr("Number or place"));
        let check = gtk::Button::with_label(&tr("Check"));
        check.add_css_class("suggested-action");
        let line = gtk::Box::new(gtk::Orientation::Horizontal, 6);
        line.append(&entry);
        line.append(&check);
        let places = adw::ComboRow::builder()
            .title(tr("Or pick a place"))
            .use_subtitle(false)
            .build();
        let pick = adw::PreferencesGroup::new();
        pick.add(&places);
        let error = status_label(&tr("Check error"));
        error.add_css_class("error");
        let number = adw::PreferencesGroup::builder()
            .title(tr("The number"))
            .build();
        number.set_visible(false);
        let decision = DecisionView::new(&tr("What the law needs"));
        decision.show(None);
        let column = gtk::Box::new(gtk::Orientation::Vertical, 18);
        column.set_margin_top(24);
        column.set_margin_bottom(24);
        column.set_margin_start(12);
        column.set_margin_end(12);
        for w in [
            line.upcast_ref::<gtk::Widget>(),
            pick.upcast_ref(),
            error.upcast_ref(),
            number.upcast_ref(),
            decision.group.upcast_ref(),
        ] {
            column.append(w);
        }
        let clamp = adw::Clamp::builder()
            .maximum_size(640)
            .child(&column)
            .build();
        let root = gtk::ScrolledWindow::builder()
            .hscrollbar_policy(gtk::PolicyType::Never)
            .child(&clamp)
            .build();
        let page = Rc::new(CheckPage {
            root: root.upcast(),
            ctx,
            entry,
            places,
            place_ids: RefCell::new(Vec::new()),
            number,
            number_rows: RefCell::new(Vec::new()),
            error,
            decision,
        });
        let p = Rc::downgrade(&page);
        check.connect_clicked(move |_| {
            if let Some(p) = p.upgrade() {
                p.check();
            }
        });
        let p = Rc::downgrade(&page);
        page.entry.connect_activate(move |_| {
            if let Some(p) = p.upgrade() {
                p.check();
            }
        });
        let p = Rc::downgrade(&page);
        page.places.connect_selected_notify(move |combo| {
            let Some(p) = p.upgrade() else { return };
            let id = p.place_ids.borrow().get(combo.selected() as usize).cloned();
            if let Some(id) = id.filter(|id| !id.is_empty()) {
                p.entry.set_text(&id);
                p.check();
            }
        });
        page
    }

    /// Reads the places from the tables (when the daemon appears).
    pub fn load(self: &Rc<Self>) {
        let answer = self.ctx.backend.run(|conn| async move {
            Ok(LawsProxy::new(&conn).await?.list_jurisdictions().await?)
        });
        let page = Rc::clone(self);
        gtk::glib::spawn_future_local(async move {
            let Ok(mut list) = answer.await else { return };
            list.sort_by(|a, b| a.name.cmp(&b.name));
            page.set_places(&list);
        });
    }

    fn set_places(&self, list: &[JurisdictionSummary]) {
        let mut names = vec![tr("Choose…")];
        let mut ids = vec![String::new()];
        for j in list {
            names.push(format!("{} ({})", j.name, j.id));
            ids.push(j.id.clone());
        }
        let refs: Vec<&str> = names.iter().map(String::as_str).collect();
        *self.place_ids.borrow_mut() = ids;
        self.places.set_model(Some(&gtk::StringList::new(&refs)));
        self.places.set_selected(0);
    }

    fn check(self: &Rc<Self>) {
        let text = self.entry.text().trim().to_owned();
        if text.is_empty() {
            return;
        }
        let is_place = self
            .place_ids
            .borrow()
            .iter()
            .any(|id| id.eq_ignore_ascii_case(&text));
        let answer = self.ctx.backend.run(move |conn| async move {
            let laws = LawsProxy::new(&conn).await?;
            let number = if is_place {
                None
            } else {
                Some(laws.lookup_number(&text).await?)
            };
            let decision = laws.evaluate("", &[text.as_str()], "phone").await?;
            Ok((number, decision))
        });
        let page = Rc::clone(self);
        gtk::glib::spawn_future_local(async move {
            match answer.await {
                Ok((number, decision)) => page.show(number.as_ref(), Some(&decision)),
                Err(failure) => {
                    page.show(None, None);
                    page.error.set_text(&failure.message);
                    page.error.set_visible(true);
                }
            }
        });
    }

    fn show(&self, number: Option<&NumberInfo>, decision: Option<&Decision>) {
        self.error.set_text("");
        self.error.set_visible(false);
        for r in self.number_rows.borrow_mut().drain(..) {
            self.number.remove(&r);
        }
        self.number.set_visible(number.is_some());
        if let Some(n) = number {
            let place = match (n.party.jurisdiction.as_str(), n.party.detail.as_str()) {
                ("", d) => d.to_owned(),
                (j, "") => j.to_owned(),
                (j, d) => format!("{j} ({d})"),
            };
            let rows = [
                row(&n.e164, &tr("Number")),
                row(&n.kind, &tr("Kind")),
                row(
                    &if n.country.is_empty() {
                        trf("+{} (shared)", &[&n.calling_code.to_string()])
                    } else {
                        n.country.clone()
                    },
                    &tr("Country"),
                ),
                row(
                    &if place.is_empty() {
                        tr("unknown: it can ring anywhere")
                    } else {
                        place
                    },
                    &tr("Where the law places it"),
                ),
            ];
            for r in rows {
                self.number.add(&r);
                self.number_rows.borrow_mut().push(r);
            }
        }
        self.decision.show(decision);
    }
}
