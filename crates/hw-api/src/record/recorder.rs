//! The trace itself: where it is written ([`Recorder`]), how ([`RecordOptions`]), and each
//! line made safe once more (every secret the recorder knows of) as it is written.

use std::io::Write;
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, RwLock};
use std::time::{Instant, SystemTime};

use secrecy::{ExposeSecret, SecretString};

use super::anonymize::Anonymizer;
use super::entry::{Entry, Header};
use super::scrub;

/// The version of the trace format, in each trace's first line.
pub const FORMAT: u32 = 1;

/// How a trace is written. Start from [`RecordOptions::default`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct RecordOptions {
    /// Also replace ids (consistently, so that relations survive) and names, for traces whose
    /// owner may not share them.
    pub anonymize: bool,
    /// The program that records, shown in the trace's first line (`hwdc 0.1.0`).
    pub tool: Option<String>,
}

impl RecordOptions {
    /// Whether ids and names are replaced.
    pub fn with_anonymize(mut self, anonymize: bool) -> Self {
        self.anonymize = anonymize;
        self
    }

    /// The program that records.
    pub fn with_tool(mut self, tool: impl Into<String>) -> Self {
        self.tool = Some(tool.into());
        self
    }
}

/// Writes a trace of every exchange of the clients it is given to
/// ([`ClientBuilder::record`](crate::ClientBuilder::record)). Clones write to the same trace.
#[derive(Clone)]
pub struct Recorder {
    shared: Arc<Shared>,
}

struct Shared {
    out: Mutex<Output>,
    anonymize: Option<Mutex<Anonymizer>>,
    secrets: RwLock<Vec<SecretString>>,
    started: Instant,
    seq: AtomicU64,
}

struct Output {
    writer: Box<dyn Write + Send>,
    /// The first write that failed: the trace is incomplete from there.
    error: Option<std::io::Error>,
}

impl std::fmt::Debug for Recorder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Recorder")
            .field("anonymize", &self.shared.anonymize.is_some())
            .field("exchanges", &self.shared.seq.load(Ordering::Relaxed))
            .finish_non_exhaustive()
    }
}

impl Recorder {
    /// Writes the trace to the file at `path`, created afresh (readable by its owner only on
    /// Unix: a trace has no secrets, but names and ids the owner may not share).
    pub fn create(path: &Path, options: RecordOptions) -> std::io::Result<Self> {
        let mut open = std::fs::OpenOptions::new();
        open.write(true).create(true).truncate(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            open.mode(0o600);
        }
        let file = open.open(path)?;
        Self::to_writer(std::io::BufWriter::new(file), options)
    }

    /// Writes the trace to `writer`; each line is flushed as it is written, so that a run that
    /// is killed leaves what it did.
    pub fn to_writer(
        writer: impl Write + Send + 'static,
        options: RecordOptions,
    ) -> std::io::Result<Self> {
        let recorder = Self {
            shared: Arc::new(Shared {
                out: Mutex::new(Output {
                    writer: Box::new(writer),
                    error: None,
                }),
                anonymize: options.anonymize.then(|| Mutex::new(Anonymizer::default())),
                secrets: RwLock::new(Vec::new()),
                started: Instant::now(),
                seq: AtomicU64::new(0),
            }),
        };
        let header = Header::Trace {
            format: FORMAT,
            recorder: concat!("hw-api ", env!("CARGO_PKG_VERSION")),
            tool: options.tool.as_deref(),
            started: httpdate::fmt_http_date(SystemTime::now()),
            anonymized: options.anonymize,
        };
        recorder.write_line(&header);
        recorder.finish()?;
        Ok(recorder)
    }

    /// Adds a secret to replace wherever it would appear (a client secret the service might
    /// echo in an error, say). Tokens the client is issued are added on their own.
    pub fn add_secret(&self, secret: &SecretString) {
        if secret.expose_secret().len() >= scrub::MIN_SECRET_LEN {
            let mut secrets = self
                .shared
                .secrets
                .write()
                .unwrap_or_else(|p| p.into_inner());
            if !secrets
                .iter()
                .any(|s| s.expose_secret() == secret.expose_secret())
            {
                secrets.push(secret.clone());
            }
        }
    }

    /// Flushes what was written and says whether every line was: `Err` with the first write
    /// that failed, after which the trace is incomplete.
    pub fn finish(&self) -> std::io::Result<()> {
        let mut out = self.out();
        if let Some(error) = &out.error {
            return Err(std::io::Error::new(error.kind(), error.to_string()));
        }
        out.writer.flush()
    }

    /// Records the API's base URL, which a replay needs to serve the trace under the same path.
    pub(crate) fn client(&self, api_base: &url::Url) {
        self.write_line(&Header::Client {
            api_base: crate::redact::url(api_base),
        });
    }

    /// The number of the next exchange, in the order requests are sent.
    pub(super) fn next_seq(&self) -> u64 {
        self.shared.seq.fetch_add(1, Ordering::Relaxed) + 1
    }

    /// Milliseconds since the recorder was made.
    pub(super) fn elapsed_ms(&self, at: Instant) -> u64 {
        at.duration_since(self.shared.started).as_millis() as u64
    }

    /// Writes a finished exchange: anonymized if asked, as one line.
    pub(super) fn write_entry(&self, mut entry: Entry) {
        if let Some(anonymizer) = &self.shared.anonymize {
            anonymizer
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .entry(&mut entry);
        }
        self.write_line(&entry);
    }

    /// Writes `value` as one line, with every known secret replaced once more.
    fn write_line(&self, value: &impl serde::Serialize) {
        let Ok(line) = serde_json::to_string(value) else {
            return;
        };
        let line = {
            let secrets = self
                .shared
                .secrets
                .read()
                .unwrap_or_else(|p| p.into_inner());
            scrub::known(&line, &secrets)
        };
        let mut out = self.out();
        if out.error.is_some() {
            return;
        }
        let written = out
            .writer
            .write_all(line.as_bytes())
            .and_then(|()| out.writer.write_all(b"\n"))
            .and_then(|()| out.writer.flush());
        if let Err(error) = written {
            tracing::warn!(error = %error, "the trace cannot be written; it is incomplete from here");
            out.error = Some(error);
        }
    }

    /// The secrets known now, for scrubbing an entry's values.
    pub(super) fn secrets(&self) -> Vec<SecretString> {
        self.shared
            .secrets
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    fn out(&self) -> MutexGuard<'_, Output> {
        self.shared.out.lock().unwrap_or_else(|p| p.into_inner())
    }
}
