//! The steps of shipping a driver that take more than one call: moving the package, a commit
//! that settles unclear outcomes, waiting for Microsoft, and creates that do not duplicate.

use std::path::Path;
use std::time::Duration;

use futures_util::TryStreamExt;
use hw_api_gen::Id;
use hw_api_gen::types::{
    CommitStatus, CurrentStep, Destination, DownloadType, ErrorCode, NewProduct, NewShippingLabel,
    NewSubmission, Product, ShippingLabel, ShippingLabelCurrentStep, ShippingLabelStep, Submission,
    WorkflowState, WorkflowStep,
};

use crate::client::Client;
use crate::error::{Error, WorkflowFailure};
use crate::targeting::{DriverMetadata, Filter};
use crate::transfer::{self, DownloadReport, Progress, SasUrl, TransferError, UploadReport};

/// How many times a create whose outcome stays unclear is sent.
const CREATE_ROUNDS: u32 = 3;

/// The most of an error report or metadata document that is read.
const MAX_TEXT: usize = 16 * 1024 * 1024;

/// How patiently to wait for Microsoft's processing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WaitOptions {
    /// The first pause between two reads.
    pub first_interval: Duration,
    /// The longest pause (pauses grow by half each time up to it).
    pub max_interval: Duration,
    /// The most time to wait in all (`None`: no limit).
    pub deadline: Option<Duration>,
}

impl Default for WaitOptions {
    /// 5 s growing to 60 s, for at most 24 hours.
    fn default() -> Self {
        Self {
            first_interval: Duration::from_secs(5),
            max_interval: Duration::from_secs(60),
            deadline: Some(Duration::from_secs(24 * 3600)),
        }
    }
}

/// How far a shipping label must get for [`Client::wait_for_shipping_label`] to return.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum LabelMilestone {
    /// A Windows Update label reached Microsoft's approval (what SDCM waits for); a shared
    /// label finished sharing.
    Approval,
    /// The label finished publishing (or sharing).
    #[default]
    Done,
}

/// Where a workflow is after one read.
enum Outcome<T> {
    Done(T),
    Failed(WorkflowFailure, Option<String>),
    Pending(String),
}

fn transfer_error(e: TransferError) -> Error {
    Error::Transfer(Box::new(e))
}

impl Client {
    /// Uploads the file at `path` to the submission's `initialPackage` URL (read fresh from the
    /// submission, so an expired URL from earlier does not matter). A re-run resumes.
    pub async fn upload_package(
        &self,
        product: Id,
        submission: Id,
        path: &Path,
        progress: &dyn Progress,
    ) -> Result<UploadReport, Error> {
        let url = self
            .download_url(product, submission, DownloadType::InitialPackage)
            .await?;
        self.upload_to(&url, path, progress).await
    }

    /// Uploads the file at `path` to the blob SAS URL `url`.
    pub async fn upload_to(
        &self,
        url: &str,
        path: &Path,
        progress: &dyn Progress,
    ) -> Result<UploadReport, Error> {
        let (sas, blob) = self.blob(url, 'w')?;
        let inner = self.inner();
        transfer::upload(blob, &inner.retry, &sas, path, &inner.transfer, progress)
            .await
            .map_err(transfer_error)
    }

    /// Downloads the submission's file of `kind` (a signed package, driver metadata, …) to
    /// `dest`, with a URL read fresh from the submission. A re-run resumes.
    pub async fn download_package(
        &self,
        product: Id,
        submission: Id,
        kind: DownloadType,
        dest: &Path,
        progress: &dyn Progress,
    ) -> Result<DownloadReport, Error> {
        let url = self.download_url(product, submission, kind).await?;
        self.download_from(&url, dest, progress).await
    }

    /// Downloads the blob SAS URL `url` to `dest`.
    pub async fn download_from(
        &self,
        url: &str,
        dest: &Path,
        progress: &dyn Progress,
    ) -> Result<DownloadReport, Error> {
        let (sas, blob) = self.blob(url, 'r')?;
        let inner = self.inner();
        let verify = inner.transfer.verify_md5;
        transfer::download(blob, &inner.retry, &sas, dest, verify, progress)
            .await
            .map_err(transfer_error)
    }

    /// Reads a small text blob (driver metadata, an error report) from its SAS URL.
    pub async fn fetch_text(&self, url: &str) -> Result<String, Error> {
        let (sas, blob) = self.blob(url, 'r')?;
        let inner = self.inner();
        transfer::fetch_text(blob, &inner.retry, &sas, MAX_TEXT)
            .await
            .map_err(transfer_error)
    }

    /// The checked SAS URL and the blob client, for an operation needing `permission`.
    fn blob(&self, url: &str, permission: char) -> Result<(SasUrl, &reqwest::Client), Error> {
        let sas = SasUrl::parse(url, permission).map_err(transfer_error)?;
        let blob = self
            .inner()
            .blob
            .as_ref()
            .map_err(|e| Error::Config(e.clone()))?;
        Ok((sas, blob))
    }

    /// The URL of the submission's download of `kind`, read now.
    pub async fn download_url(
        &self,
        product: Id,
        submission: Id,
        kind: DownloadType,
    ) -> Result<String, Error> {
        let current = self.get_submission(product, submission).await?;
        current
            .downloads
            .iter()
            .flat_map(|d| d.items.iter())
            .find(|item| item.type_ == kind)
            .map(|item| item.url.expose().to_owned())
            .ok_or_else(|| Error::InvalidRequest {
                operation: "getSubmission",
                message: format!("submission {submission} offers no {kind} download (yet)"),
            })
    }

    /// The submission's driver metadata, downloaded and parsed.
    pub async fn driver_metadata(
        &self,
        product: Id,
        submission: Id,
    ) -> Result<DriverMetadata, Error> {
        let url = self
            .download_url(product, submission, DownloadType::DriverMetadata)
            .await?;
        let text = self.fetch_text(&url).await?;
        DriverMetadata::parse(&text).map_err(|message| Error::Decode {
            operation: "driverMetadata",
            status: None,
            path: "BundleInfoMap".into(),
            message,
        })
    }

    /// Creates a shipping label whose `targeting.hardwareIds` are every combination of the
    /// submission's driver metadata that `filter` admits, after checking every documented rule
    /// (the extension-INF rule with the metadata's INFs).
    pub async fn publish(
        &self,
        product: Id,
        submission: Id,
        mut label: NewShippingLabel,
        filter: &Filter,
    ) -> Result<ShippingLabel, Error> {
        let metadata = self.driver_metadata(product, submission).await?;
        label.targeting.hardware_ids = metadata.hardware_ids(filter);
        let extension = metadata.has_extension_inf(filter);
        self.create_checked_label(product, submission, &label, extension)
            .await
    }

    /// Commits a submission. When the outcome is unclear (a timeout, a 502) or the service says
    /// it is no longer pending, the submission is read again after a pause: a received or
    /// complete commit is success, and the commit is sent again only while the submission is
    /// still pending (at most three times in all).
    pub async fn commit_submission(&self, product: Id, submission: Id) -> Result<(), Error> {
        const ROUNDS: u32 = 3;
        let mut round = 0;
        loop {
            round += 1;
            let error = match self.send_commit(product, submission).await {
                Ok(()) => return Ok(()),
                Err(e) => e,
            };
            let unclear = matches!(error, Error::Ambiguous { .. });
            if !unclear && error.code() != Some(&ErrorCode::RequestInvalidForCurrentState) {
                return Err(error);
            }
            // The first request may still be in flight at the service: give it a moment.
            tokio::time::sleep(self.inner().retry.settle_delay()).await;
            let current = match self.get_submission(product, submission).await {
                Ok(current) => current,
                Err(check) => {
                    let checked = format!(
                        "reading submission {submission} to see whether the commit arrived failed: {check}"
                    );
                    return Err(unreconciled("commitSubmission", checked, error));
                }
            };
            match current.commit_status {
                Some(CommitStatus::CommitReceived | CommitStatus::CommitComplete) => {
                    tracing::info!(%submission, "the commit had arrived");
                    return Ok(());
                }
                Some(CommitStatus::CommitPending) if unclear && round < ROUNDS => {
                    tracing::info!(%submission, round, "the commit had not arrived: sending it again");
                }
                other => {
                    let status = other
                        .map(|s| s.to_string())
                        .unwrap_or_else(|| "(none)".into());
                    let checked = format!(
                        "submission {submission} has commit status {status} after {round} commit(s)"
                    );
                    return Err(unreconciled("commitSubmission", checked, error));
                }
            }
        }
    }

    /// Waits until Microsoft has signed the submission: a `signedPackage` download appears or
    /// `finalizeIngestion` completes. Fails with [`Error::WorkflowFailed`] (with the step, the
    /// messages and the error report's text) when a step or the commit fails, and with
    /// [`Error::WaitTimedOut`] past the deadline. `observe` sees every read.
    pub async fn wait_for_submission(
        &self,
        product: Id,
        submission: Id,
        options: &WaitOptions,
        observe: &mut (dyn FnMut(&Submission) + Send),
    ) -> Result<Submission, Error> {
        let what = format!("submission {submission}");
        let mut poller = Poller::new(options);
        loop {
            let current = self.get_submission(product, submission).await?;
            observe(&current);
            match submission_outcome(&what, current) {
                Outcome::Done(done) => return Ok(done),
                Outcome::Failed(failure, report) => return Err(self.failed(failure, report).await),
                Outcome::Pending(last) => poller.pause(&what, last).await?,
            }
        }
    }

    /// Waits until the shipping label reaches `milestone`; fails when its workflow fails.
    pub async fn wait_for_shipping_label(
        &self,
        product: Id,
        submission: Id,
        label: Id,
        milestone: LabelMilestone,
        options: &WaitOptions,
        observe: &mut (dyn FnMut(&ShippingLabel) + Send),
    ) -> Result<ShippingLabel, Error> {
        let what = format!("shipping label {label}");
        let mut poller = Poller::new(options);
        loop {
            let current = self
                .get_shipping_label(product, submission, label, false)
                .await?;
            observe(&current);
            match label_outcome(&what, milestone, current) {
                Outcome::Done(done) => return Ok(done),
                Outcome::Failed(failure, report) => return Err(self.failed(failure, report).await),
                Outcome::Pending(last) => poller.pause(&what, last).await?,
            }
        }
    }

    /// A workflow failure with its error report's text, if it has one.
    async fn failed(&self, mut failure: WorkflowFailure, report_url: Option<String>) -> Error {
        if let Some(url) = report_url {
            failure.error_report = match self.fetch_text(&url).await {
                Ok(text) => Some(crate::redact::text(
                    &text.chars().take(4096).collect::<String>(),
                )),
                Err(e) => Some(format!("(the error report could not be read: {e})")),
            };
        }
        Error::WorkflowFailed(Box::new(failure))
    }

    /// Creates a submission once. The name acts as the key: when the create's outcome is unclear
    /// — or the service answers that an initial submission already exists — the product's
    /// submissions are searched (after a pause, for a create still in flight) for one of this
    /// name and type; if found it is returned, if certainly absent the create is sent again, up
    /// to three rounds in all, after which the last error is returned.
    pub async fn create_submission_once(
        &self,
        product: Id,
        body: &NewSubmission,
    ) -> Result<Submission, Error> {
        let name = body.name.as_str();
        let what = format!(
            "submissions of product {product} named {name:?} of type {}",
            body.type_
        );
        let mut round = 0;
        loop {
            round += 1;
            let error = match self.create_submission(product, body).await {
                Ok(created) => return Ok(created),
                Err(e) => e,
            };
            let exists = error.code() == Some(&ErrorCode::RequestInvalidForCurrentState);
            let last = round == CREATE_ROUNDS;
            let found = self
                .reconcile(
                    error,
                    exists,
                    last,
                    "createSubmission",
                    &what,
                    self.list_submissions(product),
                    |s: &Submission| {
                        s.name.as_deref() == Some(name) && s.type_.as_ref() == Some(&body.type_)
                    },
                )
                .await?;
            if let Some(one) = found {
                return self.get_submission(product, one.id).await;
            }
        }
    }

    /// Creates a product once, with its name as the key (see
    /// [`create_submission_once`](Self::create_submission_once)).
    pub async fn create_product_once(&self, body: &NewProduct) -> Result<Product, Error> {
        let name = body.product_name.as_str();
        let what = format!("products named {name:?}");
        let mut round = 0;
        loop {
            round += 1;
            let error = match self.create_product(body).await {
                Ok(created) => return Ok(created),
                Err(e) => e,
            };
            let last = round == CREATE_ROUNDS;
            let found = self
                .reconcile(
                    error,
                    false,
                    last,
                    "createProduct",
                    &what,
                    self.list_products(),
                    |p: &Product| p.product_name.as_deref() == Some(name),
                )
                .await?;
            if let Some(one) = found {
                return Ok(one);
            }
        }
    }

    /// Settles a failed create by looking for what it would have made: `Ok(Some)` when exactly
    /// one match exists, `Ok(None)` when none does and the create may be sent again (unless this
    /// was the `last` round), an error otherwise. `exists` says the service refused because it
    /// already has one.
    #[allow(clippy::too_many_arguments)]
    async fn reconcile<T, F>(
        &self,
        error: Error,
        exists: bool,
        last: bool,
        operation: &'static str,
        what: &str,
        candidates: crate::Pager<T>,
        matches: F,
    ) -> Result<Option<T>, Error>
    where
        T: Send + 'static,
        F: Fn(&T) -> bool,
    {
        let unclear = matches!(error, Error::Ambiguous { .. });
        if !unclear && !exists {
            return Err(error);
        }
        if unclear {
            // The create may still be in flight at the service: give it a moment.
            tokio::time::sleep(self.inner().retry.settle_delay()).await;
        }
        let found: Vec<T> = match candidates.try_collect::<Vec<T>>().await {
            Ok(all) => all.into_iter().filter(|c| matches(c)).collect(),
            Err(check) => {
                return Err(unreconciled(
                    operation,
                    format!("listing the {what} failed: {check}"),
                    error,
                ));
            }
        };
        let count = found.len();
        match (count, unclear) {
            (1, _) => {
                tracing::info!(operation, "found what the create made");
                Ok(found.into_iter().next())
            }
            (0, true) if last => Err(unreconciled(
                operation,
                format!("no {what} after {CREATE_ROUNDS} unclear creates"),
                error,
            )),
            (0, true) => {
                tracing::info!(operation, "nothing was made: sending the create again");
                Ok(None)
            }
            (0, false) => Err(unreconciled(
                operation,
                format!("the service says it exists, but there are no {what}"),
                error,
            )),
            _ => Err(unreconciled(
                operation,
                format!("{count} {what} exist; cannot tell which is meant"),
                error,
            )),
        }
    }
}

/// Growing pauses between reads, up to a deadline; the last pause ends at the deadline so that
/// one more read happens there.
struct Poller<'a> {
    options: &'a WaitOptions,
    started: tokio::time::Instant,
    pause: Duration,
}

/// The shortest pause between two reads.
const MIN_PAUSE: Duration = Duration::from_millis(10);

impl<'a> Poller<'a> {
    fn new(options: &'a WaitOptions) -> Self {
        Self {
            options,
            started: tokio::time::Instant::now(),
            pause: options.first_interval.max(MIN_PAUSE),
        }
    }

    /// Pauses before the next read, or fails when the deadline has passed.
    async fn pause(&mut self, what: &str, last: String) -> Result<(), Error> {
        let waited = self.started.elapsed();
        let remaining = self
            .options
            .deadline
            .map(|deadline| deadline.saturating_sub(waited));
        if remaining == Some(Duration::ZERO) {
            return Err(Error::WaitTimedOut {
                what: what.to_owned(),
                waited,
                last: Some(last),
            });
        }
        let pause = remaining.map_or(self.pause, |r| r.min(self.pause));
        tracing::debug!(what, %last, pause_ms = pause.as_millis() as u64, "waiting");
        tokio::time::sleep(pause).await;
        self.pause = (self.pause + self.pause / 2).min(self.options.max_interval.max(MIN_PAUSE));
        Ok(())
    }
}

fn unreconciled(operation: &'static str, checked: String, source: Error) -> Error {
    Error::Unreconciled {
        operation,
        checked,
        source: Box::new(source),
    }
}

fn submission_outcome(what: &str, current: Submission) -> Outcome<Submission> {
    let status = current.workflow_status.clone();
    let step = status.as_ref().and_then(|s| s.current_step.clone());
    let state = status.as_ref().and_then(|s| s.state.clone());
    let signed = current
        .downloads
        .iter()
        .flat_map(|d| d.items.iter())
        .any(|i| i.type_ == DownloadType::SignedPackage);
    let failed = current.commit_status == Some(CommitStatus::CommitFailed)
        || state == Some(WorkflowState::Failed);
    if failed {
        let failure = WorkflowFailure {
            what: what.to_owned(),
            commit_status: current.commit_status.as_ref().map(ToString::to_string),
            step: step.as_ref().map(ToString::to_string),
            messages: status
                .as_ref()
                .map(|s| s.messages.clone())
                .unwrap_or_default(),
            error_report: None,
        };
        return Outcome::Failed(
            failure,
            status
                .and_then(|s| s.error_report)
                .map(|u| u.expose().to_owned()),
        );
    }
    let finalized = step == Some(CurrentStep::WorkflowStep(WorkflowStep::FinalizeIngestion))
        && state == Some(WorkflowState::Completed);
    if signed || finalized {
        return Outcome::Done(current);
    }
    Outcome::Pending(describe(
        step.map(|s| s.to_string()),
        state,
        current.commit_status.map(|c| c.to_string()),
    ))
}

/// The order of a label step, for "this far or further".
fn label_step_rank(step: &ShippingLabelStep) -> usize {
    const ORDER: [ShippingLabelStep; 10] = [
        ShippingLabelStep::Created,
        ShippingLabelStep::PreProcessShippingLabel,
        ShippingLabelStep::FinalizePreProcessing,
        ShippingLabelStep::PublishJobValidation,
        ShippingLabelStep::UpdateGeneration,
        ShippingLabelStep::ProcessSharing,
        ShippingLabelStep::MicrosoftApproval,
        ShippingLabelStep::Publishing,
        ShippingLabelStep::FinalizeSharing,
        ShippingLabelStep::FinalizePublishing,
    ];
    ORDER.iter().position(|s| s == step).unwrap_or(0)
}

fn label_outcome(
    what: &str,
    milestone: LabelMilestone,
    current: ShippingLabel,
) -> Outcome<ShippingLabel> {
    let status = current.workflow_status.clone();
    let step = status.as_ref().and_then(|s| match &s.current_step {
        Some(ShippingLabelCurrentStep::ShippingLabelStep(step)) => Some(step.clone()),
        _ => None,
    });
    let state = status.as_ref().and_then(|s| s.state.clone());
    if state == Some(WorkflowState::Failed) {
        let failure = WorkflowFailure {
            what: what.to_owned(),
            commit_status: None,
            step: step.as_ref().map(ToString::to_string),
            messages: status
                .as_ref()
                .map(|s| s.messages.clone())
                .unwrap_or_default(),
            error_report: None,
        };
        return Outcome::Failed(
            failure,
            status
                .and_then(|s| s.error_report)
                .map(|u| u.expose().to_owned()),
        );
    }
    let completed = state == Some(WorkflowState::Completed);
    let shared = current.destination == Some(Destination::AnotherPartner);
    let done = match (&step, shared, milestone) {
        (Some(ShippingLabelStep::FinalizeSharing), true, _) => completed,
        (Some(ShippingLabelStep::FinalizePublishing), false, _) => completed,
        (Some(step), false, LabelMilestone::Approval) => {
            label_step_rank(step) >= label_step_rank(&ShippingLabelStep::MicrosoftApproval)
        }
        _ => false,
    };
    if done {
        return Outcome::Done(current);
    }
    Outcome::Pending(describe(step.map(|s| s.to_string()), state, None))
}

fn describe(step: Option<String>, state: Option<WorkflowState>, commit: Option<String>) -> String {
    let mut out = format!(
        "{} {}",
        step.unwrap_or_else(|| "(no step)".into()),
        state.map(|s| s.to_string()).unwrap_or_default()
    );
    if let Some(commit) = commit {
        out.push_str(&format!(", {commit}"));
    }
    out.trim().to_owned()
}
