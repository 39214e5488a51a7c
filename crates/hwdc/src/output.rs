//! What goes to standard output (results only: JSON or columns) and to standard error (errors,
//! warnings and progress).

use std::io::Write;
use std::sync::atomic::{AtomicBool, Ordering};

use futures_util::{Stream, StreamExt};
use hw_api::Error;
use serde::Serialize;

use crate::cli::OutputFormat;
use crate::exit;

/// Whether a JSON list was opened on stdout and not closed yet.
static OPEN_LIST: AtomicBool = AtomicBool::new(false);

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

/// Closes a JSON list that an interruption cut short, so stdout stays valid JSON.
pub fn close_open_list() {
    if OPEN_LIST.swap(false, Ordering::SeqCst) {
        println!("\n]");
    }
}

/// A result shown as one row of a table.
pub trait Row: Serialize {
    /// The column titles and widths.
    const COLUMNS: &'static [(&'static str, usize)];

    /// The cells, in column order.
    fn cells(&self) -> Vec<String>;
}

/// Where results go.
#[derive(Clone, Copy)]
pub struct Output {
    pub format: OutputFormat,
    /// Whether progress may be drawn (a terminal, not `--no-progress`, not JSON, not quiet).
    pub progress: bool,
}

impl Output {
    fn print_row(cells: &[String], columns: &[(&str, usize)]) {
        let mut line = String::new();
        for (cell, (_, width)) in cells.iter().zip(columns) {
            line.push_str(&format!("{cell:<width$}  "));
        }
        println!("{}", line.trim_end());
    }

    /// One result.
    pub fn item<T: Row>(&self, item: &T) {
        match self.format {
            OutputFormat::Json => {
                println!("{}", redacted_json(item, true))
            }
            OutputFormat::Table => {
                let titles: Vec<String> = T::COLUMNS.iter().map(|(t, _)| (*t).to_owned()).collect();
                Self::print_row(&titles, T::COLUMNS);
                Self::print_row(&item.cells(), T::COLUMNS);
            }
        }
    }

    /// A list, written as items arrive (memory does not grow with the list); stops after
    /// `limit` items.
    pub async fn list<T: Row>(
        &self,
        items: impl Stream<Item = Result<T, Error>>,
        limit: Option<usize>,
    ) -> Result<usize, Error> {
        let mut items = std::pin::pin!(items.take(limit.unwrap_or(usize::MAX)));
        let json = self.format == OutputFormat::Json;
        if json {
            print!("[");
            OPEN_LIST.store(true, Ordering::SeqCst);
        } else {
            let titles: Vec<String> = T::COLUMNS.iter().map(|(t, _)| (*t).to_owned()).collect();
            Self::print_row(&titles, T::COLUMNS);
        }
        let mut count = 0;
        let outcome = loop {
            match items.next().await {
                None => break Ok(count),
                Some(Err(e)) => break Err(e),
                Some(Ok(item)) if json => {
                    let separator = if count == 0 { "\n" } else { ",\n" };
                    print!("{separator}{}", redacted_json(&item, false));
                }
                Some(Ok(item)) => Self::print_row(&item.cells(), T::COLUMNS),
            }
            count += 1;
            let _ = std::io::stdout().flush();
        };
        if json && OPEN_LIST.swap(false, Ordering::SeqCst) {
            println!("{}]", if count == 0 { "" } else { "\n" });
        }
        outcome
    }

    /// The result of an action: a sentence in table mode, `value` in JSON mode.
    pub fn done(&self, sentence: &str, value: serde_json::Value) {
        match self.format {
            OutputFormat::Json => println!("{}", redacted_json(&value, true)),
            OutputFormat::Table => println!("{sentence}"),
        }
    }

    /// An error, on standard error.
    pub fn error(&self, error: &exit::Failure) {
        match self.format {
            OutputFormat::Json => {
                let value = serde_json::json!({"error": error.json()});
                eprintln!("{value}");
            }
            OutputFormat::Table => eprintln!("error: {}", error.message()),
        }
    }
}
