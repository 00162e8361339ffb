//! The Settings page: the user's jurisdiction, whether a company's recorded message counts as
//! notice, the capture devices (as `ListDevices` finds them), the storage format, retention
//! and naming. They are written to config.toml in place (see `settings_file`).

use crate::a11y::{self, status_label};
use crate::i18n::{tr, trf};
use crate::settings_file::{self, Settings};
use crate::window::Ctx;
use adw::prelude::*;
use onrecord_interface::{DaemonProxy, LawsProxy};
use std::cell::RefCell;
use std::rc::Rc;

/// A combo row over values, each with the text it shows.
struct Choice {
    row: adw::ComboRow,
    values: RefCell<Vec<String>>,
}

impl Choice {
    fn new(title: &str, subtitle: &str) -> Choice {
        let row = adw::ComboRow::builder()
            .title(title)
            .subtitle(subtitle)
            .use_markup(false)
            .build();
        Choice {
            row,
            values: RefCell::new(Vec::new()),
        }
    }

    /// Offers `options` (value, text) and selects `current`, added when it is not among them.
    fn offer(&self, mut options: Vec<(String, String)>, current: &str) {
        if !options.iter().any(|(v, _)| v == current) {
            options.push((current.to_owned(), trf("{} (not found now)", &[current])));
        }
        let texts: Vec<&str> = options.iter().map(|(_, t)| t.as_str()).collect();
        self.row.set_model(Some(&gtk::StringList::new(&texts)));
        let at = options.iter().position(|(v, _)| v == current).unwrap_or(0);
        *self.values.borrow_mut() = options.into_iter().map(|(v, _)| v).collect();
        self.row.set_selected(at as u32);
    }

    fn value(&self) -> String {
        self.values
            .borrow()
            .get(self.row.selected() as usize)
            .cloned()
            .unwrap_or_default()
    }
}

pub struct SettingsPage {
    pub root: gtk::Widget,
    ctx: Rc<Ctx>,
    jurisdiction: Choice,
    company: gtk::Switch,
    microphone: Choice,
    far_side: Choice,
    storage: Choice,
    retention: gtk::SpinButton,
    naming: adw::EntryRow,
    problems: gtk::Label,
    status: gtk::Label,
    loaded: RefCell<Settings>,
}

impl SettingsPage {
    pub fn new(ctx: Rc<Ctx>) -> Rc<SettingsPage> {
        let jurisdiction = Choice::new(
            &tr("Your jurisdiction"),
            &tr("Where you are: decides the law with the other side's"),
        );
        let company = gtk::Switch::builder().valign(gtk::Align::Center).build();
        // The row names its activatable switch (its title).
        let company_title = tr("A company's recorded message counts as notice");
        let company_row = adw::ActionRow::builder()
            .title(&company_title)
            .subtitle(tr(
                "\"This call may be recorded\": where the law lets it stand for telling them",
            ))
            .use_markup(false)
            .activatable_widget(&company)
            .build();
        company_row.add_suffix(&company);
        let microphone = Choice::new(&tr("Microphone"), &tr("Your side of the call"));
        let far_side = Choice::new(&tr("Far side"), &tr("What your speakers or headset play"));
        let storage = Choice::new(&tr("Storage format"), &tr("How recordings are written"));
        let retention = gtk::SpinButton::with_range(0.0, 3650.0, 1.0);
        retention.set_valign(gtk::Align::Center);
        let retention_title = tr("Delete recordings after (days)");
        a11y::name(&retention, &retention_title);
        let retention_row = adw::ActionRow::builder()
            .title(&retention_title)
            .subtitle(tr(
                "0 keeps them until you delete them; a kept call is never deleted",
            ))
            .use_markup(false)
            .build();
        retention_row.add_suffix(&retention);
        let naming = adw::EntryRow::builder()
            .title(tr("Call folder name ({date}, {label}, {id})"))
            .use_markup(false)
            .build();
        a11y::name(&naming, &tr("Call folder name"));
        let problems = status_label(&tr("Device problems"));
        problems.add_css_class("dim-label");
        let status = status_label(&tr("Settings status"));
        let save = gtk::Button::with_label(&tr("Save"));
        save.add_css_class("suggested-action");
        save.add_css_class("pill");
        save.set_halign(gtk::Align::Center);

        let law = adw::PreferencesGroup::builder()
            .title(tr("The law"))
            .build();
        law.add(&jurisdiction.row);
        law.add(&company_row);
        let audio = adw::PreferencesGroup::builder()
            .title(tr("Recording"))
            .build();
        audio.add(&microphone.row);
        audio.add(&far_side.row);
        audio.add(&storage.row);
        let keep = adw::PreferencesGroup::builder()
            .title(tr("Keeping calls"))
            .build();
        keep.add(&retention_row);
        keep.add(&naming);
        let page = adw::PreferencesPage::new();
        page.add(&law);
        page.add(&audio);
        page.add(&keep);
        let end = adw::PreferencesGroup::new();
        let end_box = gtk::Box::new(gtk::Orientation::Vertical, 12);
        end_box.append(&problems);
        end_box.append(&save);
        end_box.append(&status);
        end.add(&end_box);
        page.add(&end);

        let settings = Rc::new(SettingsPage {
            root: page.upcast(),
            ctx,
            jurisdiction,
            company,
            microphone,
            far_side,
            storage,
            retention,
            naming,
            problems,
            status,
            loaded: RefCell::new(Settings::default()),
        });
        let s = Rc::downgrade(&settings);
        save.connect_clicked(move |_| {
            if let Some(s) = s.upgrade() {
                s.save();
            }
        });
        settings
    }

    /// Reads config.toml and what the daemon offers (places, devices) into the page.
    pub fn load(self: &Rc<Self>) {
        let path = settings_file::path();
        let current = match std::fs::read_to_string(&path) {
            Ok(text) => settings_file::read(&text),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Settings::default()),
            Err(e) => Err(format!("{}: {e}", path.display())),
        };
        let current = match current {
            Ok(c) => c,
            Err(e) => {
                self.status.set_text(&e);
                Settings::default()
            }
        };
        *self.loaded.borrow_mut() = current.clone();
        let answer = self.ctx.backend.run(|conn| async move {
            let places = LawsProxy::new(&conn).await?.list_jurisdictions().await?;
            let devices = DaemonProxy::new(&conn).await?.list_devices().await;
            Ok((places, devices.map_err(crate::backend::Failure::from)))
        });
        let page = Rc::clone(self);
        gtk::glib::spawn_future_local(async move {
            let Ok((mut places, devices)) = answer.await else {
                return;
            };
            places.sort_by(|a, b| a.name.cmp(&b.name));
            let mut options = vec![(String::new(), tr("Not set"))];
            options.extend(
                places
                    .into_iter()
                    .map(|j| (j.id.clone(), format!("{} ({})", j.name, j.id))),
            );
            page.jurisdiction.offer(options, &current.jurisdiction);
            page.company.set_active(current.accept_company_notice);
            let mut mics = vec![
                (String::new(), tr("Not set (the default microphone)")),
                ("default".into(), tr("The default microphone")),
            ];
            let mut monitors = vec![
                (String::new(), tr("Not set (what the default output plays)")),
                ("monitor".into(), tr("What the default output plays")),
            ];
            match devices {
                Ok((list, problems)) => {
                    for d in list {
                        let text = format!("{} ({})", d.name, d.plugin);
                        if d.kind == "monitor" {
                            monitors.push((d.id, text));
                        } else {
                            mics.push((d.id, text));
                        }
                    }
                    page.problems.set_text(&problems.join("\n"));
                }
                Err(f) => page
                    .problems
                    .set_text(&trf("Devices could not be listed: {}", &[&f.message])),
            }
            page.microphone.offer(mics, &current.microphone);
            page.far_side.offer(monitors, &current.far_side);
            page.storage.offer(
                vec![
                    (String::new(), tr("Not set (WAV)")),
                    ("storage-wav".into(), tr("WAV")),
                    ("storage-flac".into(), tr("FLAC (about half the size)")),
                ],
                &current.storage,
            );
            page.retention
                .set_value(current.retention_days.unwrap_or(0.0));
            page.naming.set_text(&current.naming);
        });
    }

    fn save(&self) {
        let days = self.retention.value();
        let settings = Settings {
            jurisdiction: self.jurisdiction.value(),
            accept_company_notice: self.company.is_active(),
            microphone: self.microphone.value(),
            far_side: self.far_side.value(),
            storage: self.storage.value(),
            retention_days: (days > 0.0).then_some(days),
            naming: self.naming.text().trim().to_owned(),
        };
        let path = settings_file::path();
        match settings_file::save(&path, &settings) {
            Ok(()) => {
                *self.loaded.borrow_mut() = settings;
                self.status.set_text(&trf(
                    "Saved to {}. onrecord uses them from its next start.",
                    &[&path.display().to_string()],
                ));
            }
            Err(e) => self.status.set_text(&trf("Not saved: {}", &[&e])),
        }
    }
}
