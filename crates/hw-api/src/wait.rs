//! Waiting for Microsoft's processing of a submission or a shipping label: reads at growing
//! intervals up to a deadline, and a failed workflow reported with its step, messages and
//! error report.

use hw_api_gen::Id;
use hw_api_gen::types::{
    CommitStatus, CurrentStep, Destination, DownloadType, PreprodPackage, ShippingLabel,
    ShippingLabelCurrentStep, ShippingLabelStep, SigningStatus, Submission, WorkflowState,
    WorkflowStep,
};

use crate::client::Client;
use crate::error::{Error, WorkflowFailure};
use crate::poll::{Poller, WaitOptions};

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

/// How far a submission is, in one word.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub enum SubmissionProgress {
    /// Created and not committed yet: waiting for its package and the commit.
    Created,
    /// Committed; Microsoft is processing it.
    Processing,
    /// Microsoft signed it (a signed package is there, or ingestion finished).
    Completed,
    /// The commit or a workflow step failed.
    Failed,
}

impl SubmissionProgress {
    /// The word, as JSON writes it (`created`, `processing`, `completed`, `failed`).
    pub fn as_str(self) -> &'static str {
        match self {
            SubmissionProgress::Created => "created",
            SubmissionProgress::Processing => "processing",
            SubmissionProgress::Completed => "completed",
            SubmissionProgress::Failed => "failed",
        }
    }
}

impl std::fmt::Display for SubmissionProgress {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Where a submission is, for scripts: what [`Client::submission_status`] returns.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
#[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct SubmissionStatus {
    /// How far it is.
    pub progress: SubmissionProgress,
    /// The commit status (a value this version does not know is kept as the service wrote it).
    pub commit_status: Option<CommitStatus>,
    /// The current workflow step.
    pub step: Option<CurrentStep>,
    /// The state of that step.
    pub state: Option<WorkflowState>,
    /// Whether a signed package can be downloaded.
    pub has_signed_package: bool,
    /// The text of the error report (bounded, redacted) when the workflow failed and has one.
    pub error_report: Option<String>,
}

/// Where a workflow is after one read.
enum Outcome<T> {
    Done(T),
    Failed(WorkflowFailure, Option<String>),
    Pending(String),
}

impl Client {
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

    /// Waits until the submission lists a `kind` file with its URL (the driver metadata that
    /// [`create_publisher_metadata`](Self::create_publisher_metadata) asked for, say); fails
    /// when the submission's workflow fails, and past the deadline.
    pub async fn wait_for_file(
        &self,
        product: Id,
        submission: Id,
        kind: DownloadType,
        options: &WaitOptions,
        observe: &mut (dyn FnMut(&Submission) + Send),
    ) -> Result<Submission, Error> {
        let what = format!("the {kind} of submission {submission}");
        let mut poller = Poller::new(options);
        loop {
            let current = self.get_submission(product, submission).await?;
            observe(&current);
            if lists_file(&current, &kind) {
                return Ok(current);
            }
            // A failed workflow or commit ends the wait, as it ends `wait_for_submission`.
            match submission_outcome(&what, current) {
                Outcome::Failed(failure, report) => return Err(self.failed(failure, report).await),
                Outcome::Pending(last) => poller.pause(&what, last).await?,
                Outcome::Done(_) => {
                    poller
                        .pause(&what, "signed, the file not listed yet".into())
                        .await?
                }
            }
        }
    }

    /// Waits until pre-production signing of `package` ends: `Succeeded` returns the package,
    /// `Failed` fails with [`Error::WorkflowFailed`] and the service's error, past the deadline
    /// [`Error::WaitTimedOut`].
    pub async fn wait_for_preprod_package(
        &self,
        package: &str,
        options: &WaitOptions,
        observe: &mut (dyn FnMut(&PreprodPackage) + Send),
    ) -> Result<PreprodPackage, Error> {
        let what = format!("pre-production package {package}");
        let mut poller = Poller::new(options);
        loop {
            let current = self.get_preprod_package(package).await?;
            observe(&current);
            match &current.signing_status {
                Some(SigningStatus::Succeeded) => return Ok(current),
                Some(SigningStatus::Failed) => {
                    let messages = current
                        .error
                        .as_ref()
                        .and_then(|e| e.message.clone())
                        .into_iter()
                        .collect();
                    return Err(Error::WorkflowFailed(Box::new(WorkflowFailure {
                        what,
                        commit_status: None,
                        step: Some("signing".into()),
                        messages,
                        error_report: None,
                    })));
                }
                other => {
                    let last = other
                        .as_ref()
                        .map(ToString::to_string)
                        .unwrap_or_else(|| "(no signing status)".into());
                    poller.pause(&what, last).await?;
                }
            }
        }
    }

    /// Where a submission is now, in one read (and one more for the error report of a failed
    /// workflow), by the same rules as [`wait_for_submission`](Self::wait_for_submission).
    pub async fn submission_status(
        &self,
        product: Id,
        submission: Id,
    ) -> Result<SubmissionStatus, Error> {
        let current = self.get_submission(product, submission).await?;
        let status = current.workflow_status.as_ref();
        let mut shown = SubmissionStatus {
            progress: SubmissionProgress::Processing,
            commit_status: current.commit_status.clone(),
            step: status.and_then(|s| s.current_step.clone()),
            state: status.and_then(|s| s.state.clone()),
            has_signed_package: has_signed_package(&current),
            error_report: None,
        };
        let not_committed = current
            .commit_status
            .as_ref()
            .is_none_or(|c| *c == CommitStatus::CommitPending);
        shown.progress = match submission_outcome("", current) {
            Outcome::Done(_) => SubmissionProgress::Completed,
            Outcome::Failed(failure, report) => {
                if let Error::WorkflowFailed(failed) = self.failed(failure, report).await {
                    shown.error_report = failed.error_report;
                }
                SubmissionProgress::Failed
            }
            Outcome::Pending(_) if not_committed => SubmissionProgress::Created,
            Outcome::Pending(_) => SubmissionProgress::Processing,
        };
        Ok(shown)
    }

    /// A workflow failure with its error report's text, if it has one.
    async fn failed(&self, mut failure: WorkflowFailure, report_url: Option<String>) -> Error {
        if let Some(url) = report_url {
            failure.error_report = match self.fetch_text(&url).await {
                Ok(text) => Some(crate::redact::text(
                    &text.chars().take(4096).collect::<String>(),
                )),
                Err(e) => Some(format!(
                    "(the error report could not be read: {})",
                    crate::report::chain(&e)
                )),
            };
        }
        Error::WorkflowFailed(Box::new(failure))
    }
}

/// The outcome of a failed workflow: what failed, where, the service's messages, and the URL
/// of its error report for [`Client::wait_for_submission`] to read.
fn failure<T>(
    what: &str,
    commit_status: Option<String>,
    step: Option<String>,
    messages: Vec<String>,
    report: Option<hw_api_gen::SecretUrl>,
) -> Outcome<T> {
    let failure = WorkflowFailure {
        what: what.to_owned(),
        commit_status,
        step,
        messages,
        error_report: None,
    };
    Outcome::Failed(failure, report.map(|u| u.expose().to_owned()))
}

/// Whether the submission offers its signed package: listed, with a URL (one listed with a
/// `null` URL is not available yet).
fn has_signed_package(submission: &Submission) -> bool {
    lists_file(submission, &DownloadType::SignedPackage)
}

/// Whether the submission lists a `kind` file with a URL.
fn lists_file(submission: &Submission, kind: &DownloadType) -> bool {
    submission
        .downloads
        .iter()
        .flat_map(|d| d.items.iter())
        .any(|i| i.type_ == *kind && i.url.is_some())
}

fn submission_outcome(what: &str, current: Submission) -> Outcome<Submission> {
    let status = current.workflow_status.clone();
    let step = status.as_ref().and_then(|s| s.current_step.clone());
    let state = status.as_ref().and_then(|s| s.state.clone());
    let signed = has_signed_package(&current);
    let failed = current.commit_status == Some(CommitStatus::CommitFailed)
        || state == Some(WorkflowState::Failed);
    if failed {
        let commit = current.commit_status.as_ref().map(ToString::to_string);
        let (messages, report) = status
            .map(|s| (s.messages, s.error_report))
            .unwrap_or_default();
        return failure(what, commit, step.map(|s| s.to_string()), messages, report);
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

/// The order of a label step, for "this far or further"; an unknown step counts as the first.
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
    let shown_step = status
        .as_ref()
        .and_then(|s| s.current_step.as_ref())
        .map(ToString::to_string);
    let step = status.as_ref().and_then(|s| match &s.current_step {
        Some(ShippingLabelCurrentStep::ShippingLabelStep(step)) => Some(step.clone()),
        _ => None,
    });
    let state = status.as_ref().and_then(|s| s.state.clone());
    if state == Some(WorkflowState::Failed) {
        let (messages, report) = status
            .map(|s| (s.messages, s.error_report))
            .unwrap_or_default();
        return failure(what, None, step.map(|s| s.to_string()), messages, report);
    }
    let completed = state == Some(WorkflowState::Completed);
    // Other clients have seen labels whose state is `published` (`docs/service-notes.md`,
    // "Hardware API: shipping labels"): whatever the step, that is done.
    let published = state == Some(WorkflowState::Published);
    let shared = current.destination == Some(Destination::AnotherPartner);
    let done = published
        || match (&step, shared, milestone) {
            // Approval first: a label past it (publishing, or finalizing) has reached it.
            (Some(step), false, LabelMilestone::Approval) => {
                label_step_rank(step) >= label_step_rank(&ShippingLabelStep::MicrosoftApproval)
            }
            (Some(ShippingLabelStep::FinalizeSharing), true, _) => completed,
            (Some(ShippingLabelStep::FinalizePublishing), false, _) => completed,
            // An unknown step keeps the wait going; it is shown as received.
            _ => false,
        };
    if done {
        return Outcome::Done(current);
    }
    Outcome::Pending(describe(shown_step, state, None))
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

#[cfg(test)]
mod tests {
    use super::*;

    fn label(destination: &str, step: &str, state: &str) -> ShippingLabel {
        serde_json::from_value(serde_json::json!({
            "id": 1,
            "destination": destination,
            "workflowStatus": {"currentStep": step, "state": state},
        }))
        .unwrap()
    }

    fn is_done(outcome: Outcome<ShippingLabel>) -> bool {
        matches!(outcome, Outcome::Done(_))
    }

    fn pending(outcome: Outcome<ShippingLabel>) -> String {
        match outcome {
            Outcome::Pending(last) => last,
            Outcome::Done(_) => panic!("done, expected pending"),
            Outcome::Failed(..) => panic!("failed, expected pending"),
        }
    }

    #[test]
    fn a_published_label_is_done_whatever_its_step() {
        for step in ["publishing", "finalizePublishing", "somethingNew"] {
            let l = label("windowsUpdate", step, "published");
            assert!(
                is_done(label_outcome("l", LabelMilestone::Done, l)),
                "{step}"
            );
        }
    }

    #[test]
    fn approval_is_reached_at_approval_and_every_step_after_it() {
        for (step, state) in [
            ("microsoftApproval", "started"),
            ("publishing", "started"),
            ("finalizePublishing", "started"),
            ("finalizePublishing", "completed"),
        ] {
            let l = label("windowsUpdate", step, state);
            assert!(
                is_done(label_outcome("l", LabelMilestone::Approval, l)),
                "{step} {state}"
            );
        }
        let early = label("windowsUpdate", "updateGeneration", "completed");
        assert!(!is_done(label_outcome(
            "l",
            LabelMilestone::Approval,
            early
        )));
        // Done needs the last step completed.
        let last = label("windowsUpdate", "finalizePublishing", "started");
        assert!(!is_done(label_outcome("l", LabelMilestone::Done, last)));
        let last = label("windowsUpdate", "finalizePublishing", "completed");
        assert!(is_done(label_outcome("l", LabelMilestone::Done, last)));
        let shared = label("anotherPartner", "finalizeSharing", "completed");
        assert!(is_done(label_outcome(
            "l",
            LabelMilestone::Approval,
            shared
        )));
    }

    /// A committed submission at `step` in `state`, whose signed package has `signed_url`.
    fn submission(step: &str, state: &str, signed_url: serde_json::Value) -> Submission {
        serde_json::from_value(serde_json::json!({
            "id": 2,
            "productId": 1,
            "commitStatus": "commitComplete",
            "workflowStatus": {"currentStep": step, "state": state},
            "downloads": {"items": [
                {"type": "initialPackage", "url": "https://a.test/i?sig=s"},
                {"type": "signedPackage", "url": signed_url},
            ]},
        }))
        .unwrap()
    }

    #[test]
    fn a_signed_package_counts_once_it_has_a_url() {
        let listed_copy = || {
            submission(
                "signing",
                "started",
                serde_json::json!("https://a.test/s?sig=s"),
            )
        };
        assert!(matches!(
            submission_outcome("s", listed_copy()),
            Outcome::Done(_)
        ));
        assert!(has_signed_package(&listed_copy()));
        let not_yet = submission("signing", "started", serde_json::Value::Null);
        assert!(!has_signed_package(&not_yet));
        assert!(matches!(
            submission_outcome("s", not_yet),
            Outcome::Pending(_)
        ));
        // Ingestion finished counts on its own, URL or not: the download waits for the URL.
        let finished = submission("finalizeIngestion", "completed", serde_json::Value::Null);
        assert!(matches!(
            submission_outcome("s", finished),
            Outcome::Done(_)
        ));
        // Another step completed is not the end.
        let step_done = submission("signing", "completed", serde_json::Value::Null);
        assert!(matches!(
            submission_outcome("s", step_done),
            Outcome::Pending(_)
        ));
    }

    #[test]
    fn a_failed_commit_or_a_failed_step_each_fail_the_wait() {
        let mut commit_failed = submission("signing", "started", serde_json::Value::Null);
        commit_failed.commit_status = Some(CommitStatus::CommitFailed);
        assert!(matches!(
            submission_outcome("s", commit_failed),
            Outcome::Failed(..)
        ));
        let step_failed = submission("signing", "failed", serde_json::Value::Null);
        assert!(matches!(
            submission_outcome("s", step_failed),
            Outcome::Failed(..)
        ));
    }

    #[test]
    fn an_unknown_step_keeps_waiting_and_is_shown() {
        let l = label("windowsUpdate", "brandNewStep", "started");
        let shown = pending(label_outcome("l", LabelMilestone::Approval, l));
        assert!(shown.contains("brandNewStep"), "{shown}");
    }
}
