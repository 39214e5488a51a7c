//! The processing of a committed submission, on the simulator's clock: each step of
//! `packageInfoValidation … finalizeIngestion` takes one step duration (started for the first
//! half, completed for the second). A package that contains the text `HWSIM-FAIL-AT:<step>`
//! fails at that step, so that clients can test their failure handling.

use std::time::Duration;

use hw_api_gen::types::{CommitStatus, WorkflowState, WorkflowStep};

/// The steps of a submission, in order.
pub const STEPS: [WorkflowStep; 8] = [
    WorkflowStep::PackageInfoValidation,
    WorkflowStep::Preparation,
    WorkflowStep::Scanning,
    WorkflowStep::Validation,
    WorkflowStep::CatalogCreation,
    WorkflowStep::ManualReview,
    WorkflowStep::Signing,
    WorkflowStep::FinalizeIngestion,
];

/// The marker that makes a package fail at a step.
pub const FAIL_MARKER: &str = "HWSIM-FAIL-AT:";

/// Where a submission's processing is.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Progress {
    /// The commit status.
    pub commit: CommitStatus,
    /// The current step.
    pub step: WorkflowStep,
    /// Its state.
    pub state: WorkflowState,
}

impl Progress {
    /// True when the submission was signed.
    pub fn finished(&self) -> bool {
        self.step == WorkflowStep::FinalizeIngestion && self.state == WorkflowState::Completed
    }

    /// True when processing failed.
    pub fn failed(&self) -> bool {
        self.state == WorkflowState::Failed
    }
}

/// Where a workflow of `steps` steps is after `elapsed`: the index of the current step and
/// whether it is completed (each step is started for its first half, completed for its second).
pub fn position(elapsed: Duration, step_duration: Duration, steps: usize) -> (usize, bool) {
    let half = step_duration.max(Duration::from_millis(2)) / 2;
    let halves = (elapsed.as_nanos() / half.as_nanos()).min(u128::from(u32::MAX)) as usize;
    let index = (halves / 2).min(steps - 1);
    (index, halves / 2 >= steps || halves % 2 == 1)
}

/// The progress of a submission: not committed (`None`), or committed `elapsed` ago, failing at
/// `fail_at` if set.
pub fn progress(
    elapsed: Option<Duration>,
    step_duration: Duration,
    fail_at: Option<usize>,
) -> Progress {
    let Some(elapsed) = elapsed else {
        return Progress {
            commit: CommitStatus::CommitPending,
            step: STEPS[0].clone(),
            state: WorkflowState::NotStarted,
        };
    };
    let (index, completed) = position(elapsed, step_duration, STEPS.len());
    let commit = |index: usize| {
        if index == 0 && !completed {
            CommitStatus::CommitReceived
        } else {
            CommitStatus::CommitComplete
        }
    };
    if let Some(fail) = fail_at
        && index >= fail
    {
        let step = STEPS[fail.min(STEPS.len() - 1)].clone();
        let commit = if fail == 0 {
            CommitStatus::CommitFailed
        } else {
            CommitStatus::CommitComplete
        };
        return Progress {
            commit,
            step,
            state: WorkflowState::Failed,
        };
    }
    Progress {
        commit: commit(index),
        step: STEPS[index].clone(),
        state: if completed {
            WorkflowState::Completed
        } else {
            WorkflowState::Started
        },
    }
}

/// The step a package asks to fail at (`HWSIM-FAIL-AT:<step name>`), if any.
pub fn fail_step(package: &[u8]) -> Option<usize> {
    let marker = FAIL_MARKER.as_bytes();
    let at = package.windows(marker.len()).position(|w| w == marker)? + marker.len();
    let rest = &package[at..];
    let name: String = rest
        .iter()
        .take_while(|b| b.is_ascii_alphanumeric())
        .map(|b| char::from(*b))
        .collect();
    STEPS
        .iter()
        .position(|s| s.as_str().eq_ignore_ascii_case(&name))
}

#[cfg(test)]
mod tests {
    use super::*;

    const STEP: Duration = Duration::from_millis(100);

    #[test]
    fn steps_advance_on_the_clock() {
        let p = progress(None, STEP, None);
        assert_eq!(
            (p.commit, p.state),
            (CommitStatus::CommitPending, WorkflowState::NotStarted)
        );
        let p = progress(Some(Duration::from_millis(10)), STEP, None);
        assert_eq!(
            (p.commit, p.step, p.state),
            (
                CommitStatus::CommitReceived,
                WorkflowStep::PackageInfoValidation,
                WorkflowState::Started
            )
        );
        let p = progress(Some(Duration::from_millis(160)), STEP, None);
        assert_eq!(
            (p.commit, p.step, p.state),
            (
                CommitStatus::CommitComplete,
                WorkflowStep::Preparation,
                WorkflowState::Completed
            )
        );
        let p = progress(Some(Duration::from_millis(790)), STEP, None);
        assert_eq!(
            (p.step.clone(), p.state.clone()),
            (WorkflowStep::FinalizeIngestion, WorkflowState::Completed)
        );
        assert!(p.finished());
        assert!(progress(Some(Duration::from_secs(3600)), STEP, None).finished());
    }

    #[test]
    fn a_marked_package_fails_at_its_step() {
        let fail = fail_step(b"PK..HWSIM-FAIL-AT:validation..").unwrap();
        assert_eq!(STEPS[fail], WorkflowStep::Validation);
        assert!(!progress(Some(Duration::from_millis(250)), STEP, Some(fail)).failed());
        let p = progress(Some(Duration::from_millis(320)), STEP, Some(fail));
        assert!(p.failed());
        assert_eq!(
            (p.commit, p.step),
            (CommitStatus::CommitComplete, WorkflowStep::Validation)
        );
        let early = progress(
            Some(Duration::from_millis(1)),
            STEP,
            fail_step(b"HWSIM-FAIL-AT:packageInfoValidation"),
        );
        assert_eq!(early.commit, CommitStatus::CommitFailed);
        assert_eq!(fail_step(b"no marker"), None);
    }
}
