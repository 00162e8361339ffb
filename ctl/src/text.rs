//! Plain-text layout helpers for the human output.

/// Wraps `text` at `width` columns, each line indented by `indent` spaces.
pub fn wrap(text: &str, indent: usize, width: usize) -> String {
    let pad = " ".repeat(indent);
    let mut out = String::new();
    let mut line = String::new();
    for word in text.split_whitespace() {
        if !line.is_empty() && indent + line.len() + 1 + word.len() > width {
            out.push_str(&pad);
            out.push_str(&line);
            out.push('\n');
            line.clear();
        }
        if !line.is_empty() {
            line.push(' ');
        }
        line.push_str(word);
    }
    if !line.is_empty() {
        out.push_str(&pad);
        out.push_str(&line);
        out.push('\n');
    }
    out
}

/// Writes to stdout. A closed pipe (`onrecordctl laws list | head`) is not an error.
pub fn emit(s: &str) -> Result<(), crate::fail::Fail> {
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    match out.write_all(s.as_bytes()).and_then(|()| out.flush()) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        Err(e) => Err(crate::fail::Fail::Other(format!(
            "cannot write the output: {e}"
        ))),
    }
}

/// A UTC time from microseconds since the Unix epoch, as RFC 3339.
pub fn utc(micros: u64) -> String {
    let t = std::time::UNIX_EPOCH + std::time::Duration::from_micros(micros);
    humantime::format_rfc3339_seconds(t).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wraps_at_width_with_indent() {
        let w = wrap("one two three four five", 2, 12);
        assert_eq!(w, "  one two\n  three four\n  five\n");
    }

    #[test]
    fn formats_epoch() {
        assert_eq!(utc(0), "1970-01-01T00:00:00Z");
        assert_eq!(utc(1_764_000_000_000_000), "2025-11-24T16:00:00Z");
    }
}
