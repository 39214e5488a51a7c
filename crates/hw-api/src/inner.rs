//! What the clones of a [`Client`](crate::Client) share.

use crate::poll::WaitOptions;
use crate::transfer::TransferOptions;
use crate::transport::Transport;

/// What the clones of a client share. No methods of its own: requests go through `api`,
/// package transfers through `blob`.
pub(crate) struct Inner {
    /// Every API request.
    pub(crate) api: Transport,
    /// The blob client, or why it could not be built.
    pub(crate) blob: Result<crate::net::Sender, String>,
    /// How packages are transferred.
    pub(crate) transfer: TransferOptions,
    /// The most pages a list may have.
    pub(crate) max_pages: u32,
    /// How long a flow waits for a file's URL that is not available yet.
    pub(crate) file_url_wait: WaitOptions,
}
