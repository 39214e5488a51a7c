//! The floor of benchmark P5 (`BENCHMARKS.md`): a JSON GET with the same reqwest, TLS stack,
//! serde_json and tokio as hw-api's default build, so that a cold build of this crate is what
//! any client of the service costs, and hw-api's cold build is compared with it.

/// The JSON at `url`, read with a client of the same stack as hw-api's.
pub async fn get_json(url: &str) -> Result<serde_json::Value, reqwest::Error> {
    let client = reqwest::Client::builder().build()?;
    client
        .get(url)
        .send()
        .await?
        .error_for_status()?
        .json()
        .await
}

/// [`get_json`] on a runtime of its own.
pub fn get_json_blocking(url: &str) -> std::io::Result<serde_json::Value> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    runtime
        .block_on(get_json(url))
        .map_err(std::io::Error::other)
}
