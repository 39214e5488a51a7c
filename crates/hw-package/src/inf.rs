//! A reader of INF files, the setup scripts of Windows driver packages: sections, entries and
//! their comma-separated fields, quoted strings, comments, line continuation and `%strkey%`
//! substitution from `[Strings]`, in ANSI (Windows-1252) or UTF-16 LE files with a BOM, each
//! entry with its line number (`docs/package-rules.md`, "INF syntax").
//!
//! Hand-written: no maintained Rust crate reads INF files. It is total: any input gives an
//! [`Inf`] (whatever of it could be read, with [`Inf::problems`]) or an [`InfError`] for an
//! encoding it cannot read, never a panic, and memory in proportion to the input, which is
//! bounded by [`MAX_INF_BYTES`].

use std::collections::HashMap;
use std::fmt;

/// The largest INF file read (real ones are kilobytes; the bound keeps memory in check on any
/// input).
pub const MAX_INF_BYTES: usize = 16 * 1024 * 1024;

/// The longest a field may be, before or after string substitution.
pub const MAX_FIELD: usize = 4096;

/// Why an INF cannot be read at all.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum InfError {
    /// Larger than [`MAX_INF_BYTES`].
    #[error("the INF is {0} bytes, more than the {MAX_INF_BYTES} an INF may be")]
    TooLarge(usize),
    /// Not ANSI or UTF-16 LE.
    #[error("the INF is {0}: an INF must be ANSI or UTF-16 LE")]
    Encoding(&'static str),
}

/// Something the reader noticed but read past, on a line.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct InfProblem {
    /// The line (from 1).
    pub line: usize,
    /// What is wrong.
    pub message: String,
}

impl fmt::Display for InfProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "line {}: {}", self.line, self.message)
    }
}

/// One line of a section: `key = field, field, …`, or fields without a key.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Entry {
    /// The key, when the line has an unquoted `=`.
    pub key: Option<String>,
    /// The fields, unquoted, not yet substituted (see [`Inf::expand`]).
    pub fields: Vec<String>,
    /// The line it starts on (from 1).
    pub line: usize,
}

impl Entry {
    /// Whether the key is `name` (INF keys ignore case).
    pub fn is(&self, name: &str) -> bool {
        self.key
            .as_deref()
            .is_some_and(|k| k.eq_ignore_ascii_case(name))
    }
}

/// A section: all the lines under every `[name]` header of that name (names ignore case).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Section {
    /// The name as first written.
    pub name: String,
    /// The line of its first header.
    pub line: usize,
    /// Its entries, in file order.
    pub entries: Vec<Entry>,
}

impl Section {
    /// The first entry whose key is `key`.
    pub fn entry(&self, key: &str) -> Option<&Entry> {
        self.entries.iter().find(|e| e.is(key))
    }
}

/// A read INF file.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Inf {
    sections: Vec<Section>,
    /// Lower-cased section name → index.
    index: HashMap<String, usize>,
    /// Lower-cased string key → value, from `[Strings]` and its locale sections.
    strings: HashMap<String, String>,
    problems: Vec<InfProblem>,
}

impl Inf {
    /// Reads an INF file's bytes: UTF-16 LE with a BOM, UTF-8 with a BOM, else ANSI
    /// (Windows-1252).
    pub fn parse(bytes: &[u8]) -> Result<Inf, InfError> {
        if bytes.len() > MAX_INF_BYTES {
            return Err(InfError::TooLarge(bytes.len()));
        }
        Ok(Self::parse_text(&decode(bytes)?))
    }

    /// Reads INF text.
    pub fn parse_text(text: &str) -> Inf {
        let mut inf = Inf::default();
        let mut current: Option<usize> = None;
        for (line, logical) in logical_lines(text, &mut inf.problems) {
            let trimmed = logical.trim();
            if trimmed.is_empty() {
                continue;
            }
            if let Some(rest) = trimmed.strip_prefix('[') {
                current = Some(inf.open_section(rest, line));
                continue;
            }
            let Some(index) = current else {
                inf.problem(line, "text before the first section is ignored");
                continue;
            };
            let entry = entry(&logical, line, &mut inf.problems);
            inf.sections[index].entries.push(entry);
        }
        inf.collect_strings();
        inf.problems.sort_by_key(|p| p.line);
        inf
    }

    fn problem(&mut self, line: usize, message: impl Into<String>) {
        self.problems.push(InfProblem {
            line,
            message: message.into(),
        });
    }

    /// The section the header after its `[` opens (made if new).
    fn open_section(&mut self, header: &str, line: usize) -> usize {
        let name = match header.find(']') {
            Some(end) => {
                if !header[end + 1..].trim().is_empty() {
                    self.problem(line, "text after a section header is ignored");
                }
                header[..end].trim()
            }
            None => {
                self.problem(line, "a section header without `]`");
                header.trim()
            }
        };
        if name.chars().count() > 255 {
            self.problem(line, "a section name longer than 255 characters");
        }
        let key = name.to_lowercase();
        if let Some(&index) = self.index.get(&key) {
            return index;
        }
        self.sections.push(Section {
            name: name.to_owned(),
            line,
            entries: Vec::new(),
        });
        self.index.insert(key, self.sections.len() - 1);
        self.sections.len() - 1
    }

    /// `[Strings]` first, then its locale sections (`[Strings.0409]`), which do not override it.
    fn collect_strings(&mut self) {
        let mut strings = HashMap::new();
        let mut sections: Vec<&Section> = self
            .sections
            .iter()
            .filter(|s| {
                let name = s.name.to_lowercase();
                name == "strings" || name.starts_with("strings.")
            })
            .collect();
        sections.sort_by_key(|s| !s.name.eq_ignore_ascii_case("strings"));
        for section in sections {
            for entry in &section.entries {
                if let (Some(key), Some(value)) = (&entry.key, entry.fields.first()) {
                    strings
                        .entry(key.to_lowercase())
                        .or_insert_with(|| value.clone());
                }
            }
        }
        self.strings = strings;
    }

    /// The sections, in the order they first appear.
    pub fn sections(&self) -> &[Section] {
        &self.sections
    }

    /// The section named `name` (ignoring case).
    pub fn section(&self, name: &str) -> Option<&Section> {
        self.index
            .get(&name.to_lowercase())
            .map(|&i| &self.sections[i])
    }

    /// What the reader noticed and read past.
    pub fn problems(&self) -> &[InfProblem] {
        &self.problems
    }

    /// The value of string key `key` in `[Strings]` (ignoring case).
    pub fn string(&self, key: &str) -> Option<&str> {
        self.strings.get(&key.to_lowercase()).map(String::as_str)
    }

    /// `text` with every `%strkey%` replaced by its string and `%%` by `%`; a key with no
    /// string is left as written. At most [`MAX_FIELD`] characters.
    pub fn expand(&self, text: &str) -> String {
        let mut out = String::with_capacity(text.len().min(MAX_FIELD));
        let mut rest = text;
        while let Some(start) = rest.find('%') {
            out.push_str(&rest[..start]);
            let after = &rest[start + 1..];
            match after.find('%') {
                Some(0) => {
                    out.push('%');
                    rest = &after[1..];
                }
                Some(end) => {
                    let key = &after[..end];
                    match self.string(key) {
                        // A string's own `%%` is one `%`; its other text is not substituted.
                        Some(value) => out.push_str(&value.replace("%%", "%")),
                        None => {
                            out.push('%');
                            out.push_str(key);
                            out.push('%');
                        }
                    }
                    rest = &after[end + 1..];
                }
                None => {
                    out.push_str(&rest[start..]);
                    rest = "";
                }
            }
            if out.len() > MAX_FIELD {
                break;
            }
        }
        out.push_str(rest);
        truncate(&mut out, MAX_FIELD);
        out
    }

    /// The first field of `key` in section `section`, substituted.
    pub fn value(&self, section: &str, key: &str) -> Option<String> {
        let entry = self.section(section)?.entry(key)?;
        entry.fields.first().map(|f| self.expand(f))
    }
}

/// Cuts `text` to at most `max` bytes, at a character boundary.
fn truncate(text: &mut String, max: usize) {
    if text.len() > max {
        let mut end = max;
        while !text.is_char_boundary(end) {
            end -= 1;
        }
        text.truncate(end);
    }
}

/// The text of an INF's bytes.
fn decode(bytes: &[u8]) -> Result<String, InfError> {
    match bytes {
        [0xFF, 0xFE, rest @ ..] => {
            let units: Vec<u16> = rest
                .chunks(2)
                .map(|pair| u16::from_le_bytes([pair[0], *pair.get(1).unwrap_or(&0)]))
                .collect();
            Ok(String::from_utf16_lossy(&units))
        }
        [0xFE, 0xFF, ..] => Err(InfError::Encoding("UTF-16 big-endian")),
        [0xEF, 0xBB, 0xBF, rest @ ..] => Ok(String::from_utf8_lossy(rest).into_owned()),
        _ if bytes.len() >= 4 && bytes[1] == 0 && bytes[3] == 0 && bytes[0] != 0 => {
            Err(InfError::Encoding("UTF-16 without a byte-order mark"))
        }
        _ => Ok(bytes.iter().map(|&b| windows_1252(b)).collect()),
    }
}

/// A Windows-1252 byte as a character (the five unassigned bytes map to themselves, as Windows
/// does).
fn windows_1252(byte: u8) -> char {
    const HIGH: [char; 32] = [
        '€', '\u{81}', '‚', 'ƒ', '„', '…', '†', '‡', 'ˆ', '‰', 'Š', '‹', 'Œ', '\u{8d}', 'Ž',
        '\u{8f}', '\u{90}', '‘', '’', '“', '”', '•', '–', '—', '˜', '™', 'š', '›', 'œ', '\u{9d}',
        'ž', 'Ÿ',
    ];
    match byte {
        0x80..=0x9F => HIGH[usize::from(byte - 0x80)],
        _ => char::from(byte),
    }
}

/// The logical lines of `text`: comments removed (a `;` outside quotes), physical lines joined
/// where one ends in `\` (its last character outside a comment), each with its first line.
fn logical_lines(text: &str, problems: &mut Vec<InfProblem>) -> Vec<(usize, String)> {
    let mut lines = Vec::new();
    let mut pending: Option<(usize, String)> = None;
    for (index, raw) in text.split('\n').enumerate() {
        let number = index + 1;
        let code = strip_comment(raw.trim_end_matches('\r'), number, problems);
        let trimmed = code.trim_end();
        let (content, continues) = match trimmed.strip_suffix('\\') {
            Some(before) => (before, true),
            None => (trimmed, false),
        };
        let (start, mut joined) = pending.take().unwrap_or((number, String::new()));
        joined.push_str(content);
        if continues {
            pending = Some((start, joined));
        } else {
            lines.push((start, joined));
        }
    }
    if let Some(last) = pending {
        lines.push(last);
    }
    lines
}

/// The line without its comment; a quote left open is reported and closed at the line's end.
fn strip_comment(line: &str, number: usize, problems: &mut Vec<InfProblem>) -> String {
    let mut quoted = false;
    for (at, c) in line.char_indices() {
        match c {
            '"' => quoted = !quoted,
            ';' if !quoted => return line[..at].to_owned(),
            _ => {}
        }
    }
    if quoted {
        problems.push(InfProblem {
            line: number,
            message: "a quoted string is not closed".into(),
        });
    }
    line.to_owned()
}

/// An entry from a logical line: a key before the first unquoted `=`, then fields split at
/// unquoted commas, each trimmed and unquoted (`""` inside quotes is a quote).
fn entry(line: &str, number: usize, problems: &mut Vec<InfProblem>) -> Entry {
    let mut key = None;
    let mut fields = Vec::new();
    let mut field = String::new();
    let mut quoted = false;
    let mut was_quoted = false;
    let mut chars = line.chars().peekable();
    // A quoted field keeps its text as written; another is trimmed.
    let finish = |field: &mut String, was_quoted: bool| {
        if was_quoted {
            std::mem::take(field)
        } else {
            let trimmed = field.trim().to_owned();
            field.clear();
            trimmed
        }
    };
    while let Some(c) = chars.next() {
        match c {
            '"' if quoted && chars.peek() == Some(&'"') => {
                chars.next();
                field.push('"');
            }
            '"' => {
                if !quoted && !was_quoted {
                    // Text before the quote (spaces) is dropped.
                    field.clear();
                }
                quoted = !quoted;
                was_quoted = true;
            }
            '=' if !quoted && key.is_none() && fields.is_empty() => {
                key = Some(finish(&mut field, was_quoted));
                was_quoted = false;
            }
            ',' if !quoted => {
                fields.push(finish(&mut field, was_quoted));
                was_quoted = false;
            }
            _ if was_quoted && !quoted => {
                if !c.is_whitespace() {
                    field.push(c);
                }
            }
            _ => field.push(c),
        }
    }
    fields.push(finish(&mut field, was_quoted));
    if fields.len() == 1 && fields[0].is_empty() && key.is_some() {
        fields.clear();
    }
    for f in &mut fields {
        if f.len() > MAX_FIELD {
            problems.push(InfProblem {
                line: number,
                message: format!("a field longer than {MAX_FIELD} characters"),
            });
            truncate(f, MAX_FIELD);
        }
    }
    Entry {
        key,
        fields,
        line: number,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SAMPLE: &str = "; A sample driver\r\n\
[Version]\r\n\
Signature   = \"$Windows NT$\"\r\n\
Class       = Extension ; a comment\r\n\
Provider    = %Contoso%\r\n\
DriverVer   = 11/30/2026,1.2.3.4\r\n\
\r\n\
[Manufacturer]\r\n\
%Contoso% = Touch, NTamd64.10.0...17763, \\\r\n\
    NTarm64.10.0...17763\r\n\
\r\n\
[Strings]\r\n\
Contoso = \"Contoso \"\"Devices\"\"; Ltd\"\r\n\
[strings.0409]\r\n\
Contoso = \"ignored: [Strings] comes first\"\r\n\
Percent = 100%%\r\n";

    #[test]
    fn sections_entries_strings_and_continuations() {
        let inf = Inf::parse_text(SAMPLE);
        assert!(inf.problems().is_empty(), "{:?}", inf.problems());
        let version = inf.section("version").unwrap();
        assert_eq!(version.line, 2);
        assert_eq!(inf.value("Version", "signature").unwrap(), "$Windows NT$");
        assert_eq!(inf.value("Version", "Class").unwrap(), "Extension");
        assert_eq!(
            inf.value("Version", "Provider").unwrap(),
            "Contoso \"Devices\"; Ltd"
        );
        let manufacturer = &inf.section("Manufacturer").unwrap().entries[0];
        assert_eq!(manufacturer.line, 9);
        assert_eq!(
            manufacturer.fields,
            vec!["Touch", "NTamd64.10.0...17763", "NTarm64.10.0...17763"]
        );
        assert_eq!(inf.expand("%Percent%"), "100%");
        assert_eq!(inf.expand("50%% and %missing%"), "50% and %missing%");
    }

    #[test]
    fn utf16_with_a_bom_reads_like_ansi() {
        let mut bytes = vec![0xFF, 0xFE];
        for unit in SAMPLE.encode_utf16() {
            bytes.extend_from_slice(&unit.to_le_bytes());
        }
        assert_eq!(Inf::parse(&bytes).unwrap(), Inf::parse_text(SAMPLE));
        let big_endian: Vec<u8> = [0xFE, 0xFF, 0, b'['].to_vec();
        assert!(matches!(
            Inf::parse(&big_endian),
            Err(InfError::Encoding(_))
        ));
        let no_bom: Vec<u8> = SAMPLE.encode_utf16().flat_map(u16::to_le_bytes).collect();
        assert!(matches!(Inf::parse(&no_bom), Err(InfError::Encoding(_))));
    }

    #[test]
    fn ansi_is_windows_1252() {
        let inf = Inf::parse(b"[Strings]\nName = \"Caf\xe9 \x80\"\n").unwrap();
        assert_eq!(inf.string("name"), Some("Café €"));
    }

    #[test]
    fn what_cannot_be_read_is_a_problem_with_its_line() {
        let inf = Inf::parse_text("stray\n[Version\nA = \"open\n[B] trailing\n");
        let lines: Vec<usize> = inf.problems().iter().map(|p| p.line).collect();
        assert_eq!(lines, vec![1, 2, 3, 4], "{:?}", inf.problems());
        assert!(inf.section("version").is_some() && inf.section("b").is_some());
    }

    #[test]
    fn repeated_sections_merge_and_keys_ignore_case() {
        let inf = Inf::parse_text("[A]\nx=1\n[b]\n[a]\nX=2\n");
        let a = inf.section("A").unwrap();
        assert_eq!(a.entries.len(), 2);
        assert_eq!(a.entry("x").unwrap().fields, vec!["1"]);
        assert_eq!(inf.sections().len(), 2);
    }

    #[test]
    fn fields_and_substitution_are_bounded() {
        let long = "x".repeat(MAX_FIELD * 2);
        let inf = Inf::parse_text(&format!("[Strings]\nk = {long}\n[S]\nv = %k%%k%\n"));
        assert!(inf.string("k").unwrap().len() <= MAX_FIELD);
        assert!(inf.value("S", "v").unwrap().len() <= MAX_FIELD);
        assert_eq!(inf.problems().len(), 1);
        assert!(matches!(
            Inf::parse(&vec![b' '; MAX_INF_BYTES + 1]),
            Err(InfError::TooLarge(_))
        ));
    }
}
