//! What goes to standard output (results only: JSON or columns) and to standard error (errors,
//! warnings and progress).

use std::io::Write;

use futures_util::{Stream, StreamExt};
use hw_api::Error;
use serde::Serialize;

use crate::cli::OutputFormat;
use crate::exit;

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
                println!("{}", serde_json::to_string_pretty(item).unwrap_or_default())
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
        let mut count = 0;
        let mut stdout = std::io::stdout().lock();
        match self.format {
            OutputFormat::Json => {
                let _ = write!(stdout, "[");
            }
            OutputFormat::Table => {
                let titles: Vec<String> = T::COLUMNS.iter().map(|(t, _)| (*t).to_owned()).collect();
                drop(stdout);
                Self::print_row(&titles, T::COLUMNS);
                stdout = std::io::stdout().lock();
            }
        }
        drop(stdout);
        while let Some(item) = items.next().await {
            let item = match item {
                Ok(item) => item,
                Err(e) => {
                    if self.format == OutputFormat::Json {
                        println!("]");
                    }
                    return Err(e);
                }
            };
            match self.format {
                OutputFormat::Json => {
                    let separator = if count == 0 { "\n" } else { ",\n" };
                    print!(
                        "{separator}{}",
                        serde_json::to_string(&item).unwrap_or_default()
                    );
                }
                OutputFormat::Table => Self::print_row(&item.cells(), T::COLUMNS),
            }
            count += 1;
        }
        if self.format == OutputFormat::Json {
            println!("{}]", if count == 0 { "" } else { "\n" });
        }
        let _ = std::io::stdout().flush();
        Ok(count)
    }

    /// The result of an action: a sentence in table mode, `value` in JSON mode.
    pub fn done(&self, sentence: &str, value: serde_json::Value) {
        match self.format {
            OutputFormat::Json => println!(
                "{}",
                serde_json::to_string_pretty(&value).unwrap_or_default()
            ),
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
