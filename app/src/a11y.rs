//! Accessible names for controls whose text does not name them (entries, status labels).
//!
//! gtk4-rs puts `update_property` behind GTK 4.10, but `gtk_accessible_update_property_value`
//! has been in GTK since 4.0 (the binding's gate follows its metadata, not the library), and
//! Debian 12 has 4.8: the one call is declared here.

use gtk::glib::translate::{IntoGlib, ToGlibPtr};
use gtk::prelude::*;

unsafe extern "C" {
    fn gtk_accessible_update_property_value(
        accessible: *mut gtk::glib::gobject_ffi::GObject,
        n_properties: std::ffi::c_int,
        properties: *mut gtk::ffi::GtkAccessibleProperty,
        values: *const gtk::glib::gobject_ffi::GValue,
    );
}

/// Gives `widget` the accessible name `name` (what a screen reader says, what AT-SPI finds),
/// whatever it shows. (A label's name is its text: GTK sets it on every change; see
/// [`status_label`].)
pub fn name(widget: &impl IsA<gtk::Widget>, name: &str) {
    set(widget, gtk::AccessibleProperty::Label, name);
}

/// Gives `widget` the accessible description `text`.
pub fn describe(widget: &impl IsA<gtk::Widget>, text: &str) {
    set(widget, gtk::AccessibleProperty::Description, text);
}

fn set(widget: &impl IsA<gtk::Widget>, which: gtk::AccessibleProperty, text: &str) {
    let mut property = [which.into_glib()];
    let value = text.to_value();
    let widget: &gtk::Widget = widget.as_ref();
    let object: *mut gtk::glib::gobject_ffi::GObject =
        widget.upcast_ref::<gtk::glib::Object>().to_glib_none().0;
    // SAFETY: every GtkWidget implements GtkAccessible (GTK 4.0), so the object is a valid
    // GtkAccessible; one property and one value, as the count says; the value is a GValue
    // holding a string, the type GTK documents for the LABEL and DESCRIPTION properties; both
    // outlive the call, which copies the value.
    unsafe {
        gtk_accessible_update_property_value(
            object,
            1,
            property.as_mut_ptr(),
            value.to_glib_none().0,
        );
    }
}

/// A label whose text changes (the call's state, a refusal): its accessible name is its text,
/// and its accessible description says what it is (`Call state`), so a screen reader reads
/// both and a test finds it whatever it shows.
pub fn status_label(accessible: &str) -> gtk::Label {
    let label = gtk::Label::builder()
        .wrap(true)
        .xalign(0.0)
        .selectable(false)
        .build();
    describe(&label, accessible);
    label
}

/// A row of plain text (the daemon's texts may hold `&` or `<`: never markup).
pub fn row(title: &str, subtitle: &str) -> adw::ActionRow {
    adw::ActionRow::builder()
        .use_markup(false)
        .title(title)
        .subtitle(subtitle)
        .build()
}
