//! A commit that settles unclear outcomes: the commit is not idempotent, so when its answer is
//! unclear the submission is read to see whether it arrived before anything is sent again.

use hw_api_gen::Id;
use hw_api_gen::types::{CommitStatus, ErrorCode};

use crate::client::{COMMIT_SUBMISSION, Client};
use crate::create_once::unreconciled;
use crate::error::Error;

impl Client {
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
            tokio::time::sleep(self.inner().api.retry().settle_delay()).await;
            let current = match self.get_submission(product, submission).await {
                Ok(current) => current,
                Err(check) => {
                    let checked = format!(
                        "reading submission {submission} to see whether the commit arrived failed: {check}"
                    );
                    return Err(unreconciled(
                        COMMIT_SUBMISSION.id,
                        checked,
                        Vec::new(),
                        error,
                    ));
                }
            };
            match current.commit_status {
                Some(
                    CommitStatus::CommitStarted
                    | CommitStatus::CommitReceived
                    | CommitStatus::CommitComplete,
                ) => {
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
                    return Err(unreconciled(
                        COMMIT_SUBMISSION.id,
                        checked,
                        Vec::new(),
                        error,
                    ));
                }
            }
        }
    }
}
