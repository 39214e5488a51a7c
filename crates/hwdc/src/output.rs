//! What goes to standard output (results only: JSON or columns) and to standard error (errors,
//! warnings and progress).

use std::io::Write;
use std::sync::atomic::{AtomicBool, Ordering};

use futures_util::{FutureExt, Stream, StreamExt};
use hw_api::Error;
use serde::Serialize;

use crate::cli::OutputFormat;
use crate::exit;

/// Whether a JSON list was opened on stdout and not closed yet.
static OPEN_LIST: AtomicBool = AtomicBool::new(false);
/// Whether a result could not be written (other than to a reader that went away).
static WRITE_FAILED: AtomicBool = AtomicBool::new(false);

/// Writes `text` to standard output: never a panic (as `print!` gives on a closed pipe); a
/// failed write other than a closed pipe is remembered for [`write_failed`].
pub(crate) fn emit(text: &str) {
    let mut out = std::io::stdout().lock();
    if let Err(e) = out.write_all(text.as_bytes()).and_then(|()| out.flush())
        && e.kind() != std::io::ErrorKind::BrokenPipe
    {
        tracing::error!("cannot write the output: {e}");
        WRITE_FAILED.store(true, Ordering::SeqCst);
    }
}

/// Whether a result could not be written: the command must not report success.
pub(crate) fn write_failed() -> bool {
    WRITE_FAILED.load(Ordering::SeqCst)
}

/// A result object with the version of its shape ([`exit::SCHEMA_VERSION`]) beside its own
/// fields.
#[derive(Serialize, schemars::JsonSchema)]
pub(crate) struct Versioned<T> {
    /// The version of the shape: a change is additive, or this moves (CHANGELOG.md).
    schema_version: u32,
    #[serde(flatten)]
    result: T,
}

impl<T> Versioned<T> {
    fn new(result: T) -> Self {
        Self {
            schema_version: exit::SCHEMA_VERSION,
            result,
        }
    }
}

/// `value` as JSON with every SAS signature redacted (download URLs are secrets).
fn redacted_json<T: Serialize>(value: &T, pretty: bool) -> String {
    let mut value = serde_json::to_value(value).unwrap_or(serde_json::Value::Null);
    redact_strings(&mut value);
    let text = if pretty {
        serde_json::to_string_pretty(&value)
    } else {
        serde_json::to_string(&value)
    };
    text.unwrap_or_default()
}

fn redact_strings(value: &mut serde_json::Value) {
    match value {
        serde_json::Value::String(text) if text.to_ascii_lowercase().contains("sig=") => {
            *text = hw_api::redact::text(text);
        }
        serde_json::Value::Array(items) => items.iter_mut().for_each(redact_strings),
        serde_json::Value::Object(map) => map.values_mut().for_each(redact_strings),
        _ => {}
    }
}

/// Whether serialized JSON holds `sig=` in any case (a SAS signature to redact).
fn has_signature(json: &[u8]) -> bool {
    json.iter()
        .enumerate()
        .skip(3)
        .any(|(i, b)| *b == b'=' && json[i - 3..i].eq_ignore_ascii_case(b"sig"))
}

/// Writes `item` as one line of JSON: serialized straight into `scratch`, and only when that
/// holds a SAS signature, through the redacting tree.
fn write_json<T: Serialize>(
    out: &mut impl Write,
    scratch: &mut Vec<u8>,
    item: &T,
) -> std::io::Result<()> {
    scratch.clear();
    if serde_json::to_writer(&mut *scratch, item).is_err() || has_signature(scratch) {
        out.write_all(redacted_json(item, false).as_bytes())
    } else {
        out.write_all(scratch)
    }
}

/// How a list ends when its output cannot be written: the reader going away (`| head`) ends
/// it quietly, as the reader stopped reading; any other write error (a full disk) is a failure,
/// never a list silently cut short.
fn write_ended(error: std::io::Error, count: usize) -> Result<usize, exit::Failure> {
    if error.kind() == std::io::ErrorKind::BrokenPipe {
        Ok(count)
    } else {
        Err(exit::Failure::Local {
            kind: hw_api::ErrorKind::LocalIo,
            message: format!("cannot write the output: {error}"),
        })
    }
}

/// Closes a JSON list that an interruption cut short, so stdout stays valid JSON.
pub(crate) fn close_open_list() {
    if OPEN_LIST.swap(false, Ordering::SeqCst) {
        emit("\n]\n");
    }
}

/// A result shown as one row of a table.
pub(crate) trait Row: Serialize {
    /// The column titles and widths.
    const COLUMNS: &'static [(&'static str, usize)];

    /// The cells, in column order.
    fn cells(&self) -> Vec<String>;
}

/// Where results go.
#[derive(Clone, Copy)]
pub(crate) struct Output {
    pub format: OutputFormat,
    /// Whether progress may be drawn (a terminal, not `--no-progress`, not JSON, not quiet).
    pub progress: bool,
}

impl Output {
    /// One line of a table.
    fn row(cells: &[String], columns: &[(&str, usize)]) -> String {
        let mut line = String::new();
        for (cell, (_, width)) in cells.iter().zip(columns) {
            line.push_str(&format!("{cell:<width$}  "));
        }
        let mut line = line.trim_end().to_owned();
        line.push('\n');
        line
    }

    /// One result.
    pub(crate) fn item<T: Row>(&self, item: &T) {
        match self.format {
            OutputFormat::Json => {
                emit(&format!("{}\n", redacted_json(&Versioned::new(item), true)))
            }
            // Table, and the formats of findings for the rest of `check` and `package`.
            _ => {
                let titles: Vec<String> = T::COLUMNS.iter().map(|(t, _)| (*t).to_owned()).collect();
                emit(&Self::row(&titles, T::COLUMNS));
                emit(&Self::row(&item.cells(), T::COLUMNS));
            }
        }
    }

    /// A list, written as items arrive (memory does not grow with the list); stops after
    /// `limit` items. Output is buffered and flushed whenever the next item is not ready yet,
    /// so a reader sees each page as soon as it came, without a write per item.
    pub(crate) async fn list<T: Row>(
        &self,
        items: impl Stream<Item = Result<T, Error>>,
        limit: Option<usize>,
    ) -> Result<usize, exit::Failure> {
        let mut items = std::pin::pin!(items.take(limit.unwrap_or(usize::MAX)));
        let json = self.format == OutputFormat::Json;
        let mut out = std::io::BufWriter::with_capacity(64 * 1024, std::io::stdout());
        let mut scratch = Vec::with_capacity(1024);
        // The list opens (`[`, or the column titles) with its first item or its end: a failure
        // before the first page (a sign-in) leaves standard output empty.
        let mut opened = false;
        let mut count = 0;
        let outcome = loop {
            let next = match items.next().now_or_never() {
                Some(next) => next,
                None => {
                    if let Err(e) = out.flush() {
                        break write_ended(e, count);
                    }
                    items.next().await
                }
            };
            if !opened && !matches!(next, Some(Err(_))) {
                opened = true;
                let opening = if json {
                    OPEN_LIST.store(true, Ordering::SeqCst);
                    out.write_all(b"[")
                } else {
                    let titles: Vec<String> =
                        T::COLUMNS.iter().map(|(t, _)| (*t).to_owned()).collect();
                    out.write_all(Self::row(&titles, T::COLUMNS).as_bytes())
                };
                if let Err(e) = opening {
                    break write_ended(e, count);
                }
            }
            let written = match next {
                None => break Ok(count),
                Some(Err(e)) => break Err(exit::Failure::from(e)),
                Some(Ok(item)) if json => out
                    .write_all(if count == 0 { b"\n" } else { b",\n" })
                    .and_then(|()| write_json(&mut out, &mut scratch, &Versioned::new(&item))),
                Some(Ok(item)) => out.write_all(Self::row(&item.cells(), T::COLUMNS).as_bytes()),
            };
            if let Err(e) = written {
                break write_ended(e, count);
            }
            count += 1;
        };
        if json && OPEN_LIST.swap(false, Ordering::SeqCst) {
            let _ = out.write_all(if count == 0 { b"]\n" } else { b"\n]\n" });
        }
        match (outcome, out.flush()) {
            (Ok(count), Err(e)) => write_ended(e, count),
            (outcome, _) => outcome,
        }
    }

    /// The result of an action: a sentence in table mode, `value` in JSON mode (an object, which
    /// gets its `schema_version`).
    pub(crate) fn done(&self, sentence: &str, value: impl Serialize) {
        match self.format {
            OutputFormat::Json => {
                let mut value = serde_json::to_value(value).unwrap_or_default();
                if let serde_json::Value::Object(fields) = &mut value {
                    fields.insert("schema_version".into(), exit::SCHEMA_VERSION.into());
                }
                emit(&format!("{}\n", redacted_json(&value, true)))
            }
            _ => emit(&format!("{sentence}\n")),
        }
    }

    /// An error, on standard error.
    pub(crate) fn error(&self, error: &exit::Failure) {
        match self.format {
            OutputFormat::Json => {
                let value = exit::ErrorEnvelope {
                    error: error.json(),
                };
                eprintln!("{}", serde_json::to_string(&value).unwrap_or_default());
            }
            _ => eprintln!("error: {}", error.message()),
        }
    }
}
