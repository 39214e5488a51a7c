//! A submission's files: uploading the package, downloading what Microsoft made of it, reading
//! its driver metadata, and publishing to the hardware ids that metadata lists. The transfers
//! themselves are in [`transfer`](crate::transfer); this is the client's façade over them.

use std::path::Path;

use hw_api_gen::Id;
use hw_api_gen::types::{CommitStatus, DownloadType, NewShippingLabel, ShippingLabel};

use crate::client::Client;
use crate::error::{Error, ErrorKind};
use crate::targeting::{DriverMetadata, Filter};
use crate::transfer::{
    self, Access, DownloadReport, Progress, SasUrl, TransferError, UploadReport,
};
use crate::wire::limits;

fn transfer_error(e: TransferError) -> Error {
    Error::Transfer(Box::new(e))
}

impl Client {
    /// Uploads the file at `path` to the submission's `initialPackage` URL, read fresh from the
    /// submission; when storage refuses the URL midway (it expired during a long upload), the
    /// submission is read again for a fresh one and the upload continues from the blocks already
    /// sent. A re-run resumes too.
    pub async fn upload_package(
        &self,
        product: Id,
        submission: Id,
        path: &Path,
        progress: &dyn Progress,
    ) -> Result<UploadReport, Error> {
        self.with_fresh_urls(
            product,
            submission,
            DownloadType::InitialPackage,
            |url| async move { self.upload_to(&url, path, progress).await },
        )
        .await
    }

    /// Runs `transfer` with the URL of the submission's download of `kind`, read now, and once
    /// more with a fresh one when storage refuses the first (an expired signature).
    async fn with_fresh_urls<T, F, Fut>(
        &self,
        product: Id,
        submission: Id,
        kind: DownloadType,
        transfer: F,
    ) -> Result<T, Error>
    where
        F: Fn(String) -> Fut,
        Fut: Future<Output = Result<T, Error>>,
    {
        let url = self.download_url(product, submission, kind.clone()).await?;
        match transfer(url.clone()).await {
            Err(e) if e.kind() == ErrorKind::StorageRefused => {
                tracing::info!(%submission, error = %e, "storage refused the SAS URL: reading the submission for a fresh one");
                match self.download_url(product, submission, kind).await {
                    Ok(fresh) if fresh != url => transfer(fresh).await,
                    // The same URL again, or none: the refusal stands.
                    _ => Err(e),
                }
            }
            other => other,
        }
    }

    /// Uploads the file at `path` to the blob SAS URL `url`.
    pub async fn upload_to(
        &self,
        url: &str,
        path: &Path,
        progress: &dyn Progress,
    ) -> Result<UploadReport, Error> {
        let (sas, blob) = self.blob(url, Access::Write)?;
        let inner = self.inner();
        transfer::upload(
            blob,
            inner.api.retry(),
            &sas,
            path,
            &inner.transfer,
            progress,
        )
        .await
        .map_err(transfer_error)
    }

    /// Downloads the submission's file of `kind` (a signed package, driver metadata, …) to
    /// `dest`, with a URL read fresh from the submission (and once more when storage refuses
    /// it midway, continuing from the partial file). A re-run resumes.
    pub async fn download_package(
        &self,
        product: Id,
        submission: Id,
        kind: DownloadType,
        dest: &Path,
        progress: &dyn Progress,
    ) -> Result<DownloadReport, Error> {
        self.with_fresh_urls(product, submission, kind, |url| async move {
            self.download_from(&url, dest, progress).await
        })
        .await
    }

    /// Downloads the blob SAS URL `url` to `dest`.
    pub async fn download_from(
        &self,
        url: &str,
        dest: &Path,
        progress: &dyn Progress,
    ) -> Result<DownloadReport, Error> {
        let (sas, blob) = self.blob(url, Access::Read)?;
        let inner = self.inner();
        transfer::download(
            blob,
            inner.api.retry(),
            &sas,
            dest,
            &inner.transfer,
            progress,
        )
        .await
        .map_err(transfer_error)
    }

    /// Reads a small text blob (driver metadata, an error report) from its SAS URL.
    pub async fn fetch_text(&self, url: &str) -> Result<String, Error> {
        let (sas, blob) = self.blob(url, Access::Read)?;
        let inner = self.inner();
        let stall = inner.transfer.stall_timeout;
        transfer::fetch_text(blob, inner.api.retry(), &sas, limits::TEXT_BLOB, stall)
            .await
            .map_err(transfer_error)
    }

    /// The checked SAS URL and the blob client, for an operation needing `permission`.
    fn blob(&self, url: &str, access: Access) -> Result<(SasUrl, &crate::net::Sender), Error> {
        let sas = SasUrl::parse(url, access).map_err(transfer_error)?;
        let blob = self
            .inner()
            .blob
            .as_ref()
            .map_err(|e| Error::Config(e.clone()))?;
        Ok((sas, blob))
    }

    /// The URL of the submission's file of `kind`, read now. A file the submission lists with
    /// a `null` URL is not available yet, and so is the package to upload of a submission that
    /// is not committed but lists no `initialPackage` (the create's answer can lack it;
    /// `docs/service-notes.md`, "Hardware API: submissions and commit"): the submission is read
    /// again, at growing intervals, and [`Error::WaitTimedOut`] ends the wait after
    /// [`ClientBuilder::file_url_wait`](crate::ClientBuilder::file_url_wait). A file that the
    /// submission does not list otherwise (a signed package before signing, say) is
    /// [`Error::InvalidRequest`] at once.
    pub async fn download_url(
        &self,
        product: Id,
        submission: Id,
        kind: DownloadType,
    ) -> Result<String, Error> {
        let options = &self.inner().file_url_wait;
        let what = format!("the {kind} URL of submission {submission}");
        let mut poller = crate::poll::Poller::new(options);
        loop {
            let current = self.get_submission(product, submission).await?;
            let uncommitted = current
                .commit_status
                .as_ref()
                .is_none_or(|s| *s == CommitStatus::CommitPending);
            let listed = current
                .downloads
                .iter()
                .flat_map(|d| d.items.iter())
                .filter(|item| item.type_ == kind);
            let mut pending = kind == DownloadType::InitialPackage && uncommitted;
            for item in listed {
                match &item.url {
                    Some(url) => return Ok(url.expose().to_owned()),
                    None => pending = true,
                }
            }
            if !pending {
                return Err(Error::InvalidRequest {
                    operation: "getSubmission",
                    message: format!("submission {submission} offers no {kind} download (yet)"),
                });
            }
            tracing::debug!(%submission, %kind, "the file's URL is not available yet");
            poller
                .pause(&what, "listed without a URL, or not listed yet".to_owned())
                .await?;
        }
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

    /// Creates a shipping label (once: an unclear outcome is settled against the labels that
    /// were there before) whose `targeting.hardwareIds` are every combination of the
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
        let before = self.snapshot_shipping_labels(product, submission).await?;
        self.create_label_once(product, submission, &label, extension, &before)
            .await
    }
}
