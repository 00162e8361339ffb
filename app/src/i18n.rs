//! Translations: gettext with the `onrecord` domain, its catalogues under
//! `<prefix>/share/locale` next to the installed binary (`<prefix>/bin/onrecord`).

pub const DOMAIN: &str = "onrecord";

/// Binds the domain to the catalogues beside the binary, and the locale to the environment.
pub fn init() {
    gettextrs::setlocale(gettextrs::LocaleCategory::LcAll, "");
    let dir = std::env::current_exe()
        .ok()
        .and_then(|exe| Some(exe.parent()?.parent()?.join("share/locale")));
    if let Some(dir) = dir {
        let _ = gettextrs::bindtextdomain(DOMAIN, dir);
    }
    let _ = gettextrs::bind_textdomain_codeset(DOMAIN, "UTF-8");
    let _ = gettextrs::textdomain(DOMAIN);
}

/// The translation of `text` in the user's language (itself in English).
pub fn tr(text: &str) -> String {
    gettextrs::gettext(text)
}

/// The translation of a text with `{}` places, each filled in order.
pub fn trf(text: &str, args: &[&str]) -> String {
    let mut out = String::new();
    let mut rest = gettextrs::gettext(text);
    for a in args {
        match rest.find("{}") {
            Some(i) => {
                out.push_str(&rest[..i]);
                out.push_str(a);
                rest = rest[i + 2..].to_owned();
            }
            None => break,
        }
    }
    out.push_str(&rest);
    out
}
