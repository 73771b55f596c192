//! A client of any IPFS Pinning Service API v0.1.1 endpoint (ours, or a commercial pinning service).

use std::time::Duration;

use reqwest::{Method, StatusCode};
use serde::de::DeserializeOwned;

use super::api::{Failure, ListQuery, Pin, PinResults, PinStatus, Status};
use crate::error::{StoreError, StoreResult};
use crate::http::{self, HttpClient};

/// Talks to one pinning service with one bearer token.
#[derive(Debug, Clone)]
pub struct PinningClient {
    http: reqwest::Client,
    endpoint: String,
    token: String,
}

impl PinningClient {
    /// A client of the service at `endpoint` (the URL that `/pins` is appended to), authenticating with `token`
    /// and trusting the system's CA certificates (see [`PinningClient::with_http`] for others).
    pub fn new(endpoint: impl Into<String>, token: impl Into<String>) -> Self {
        let endpoint = endpoint.into().trim_end_matches('/').to_owned();
        Self {
            http: HttpClient::default().inner().clone(),
            endpoint,
            token: token.into(),
        }
    }

    /// Uses `http` for every request: for example one from [`crate::http::HttpConfig`] that trusts a private CA.
    pub fn with_http(mut self, http: &HttpClient) -> Self {
        self.http = http.inner().clone();
        self
    }

    /// The service URL this client talks to.
    pub fn endpoint(&self) -> &str {
        &self.endpoint
    }

    /// Asks the service to pin `pin.cid` (`POST /pins`).
    pub async fn add(&self, pin: &Pin) -> StoreResult<PinStatus> {
        let request = self.request(Method::POST, "/pins").json(pin);
        self.send_json(request, "add pin").await
    }

    /// Lists pin requests matching `query` (`GET /pins`).
    pub async fn list(&self, query: &ListQuery) -> StoreResult<PinResults> {
        let request = self.request(Method::GET, "/pins").query(&query.to_pairs());
        self.send_json(request, "list pins").await
    }

    /// The current status of one request (`GET /pins/{requestid}`).
    pub async fn status(&self, requestid: &str) -> StoreResult<PinStatus> {
        let request = self.request(Method::GET, &format!("/pins/{}", encode_segment(requestid)));
        self.send_json(request, "get pin status").await
    }

    /// Replaces a request with a new pin (`POST /pins/{requestid}`); the service may assign a new request id.
    pub async fn replace(&self, requestid: &str, pin: &Pin) -> StoreResult<PinStatus> {
        let request = self
            .request(
                Method::POST,
                &format!("/pins/{}", encode_segment(requestid)),
            )
            .json(pin);
        self.send_json(request, "replace pin").await
    }

    /// Removes a request; the service may then drop the data (`DELETE /pins/{requestid}`).
    pub async fn delete(&self, requestid: &str) -> StoreResult<()> {
        let request = self.request(
            Method::DELETE,
            &format!("/pins/{}", encode_segment(requestid)),
        );
        let response = request.send().await.map_err(|e| self.unreachable(e))?;
        if response.status().is_success() {
            return Ok(());
        }
        Err(self.failure(response, "delete pin").await)
    }

    /// Polls a request until it is `pinned` (returns its status) or `failed` (an error), or `timeout` passes.
    pub async fn wait_pinned(&self, requestid: &str, timeout: Duration) -> StoreResult<PinStatus> {
        let deadline = tokio::time::Instant::now() + timeout;
        let mut delay = Duration::from_millis(50);
        loop {
            let status = self.status(requestid).await?;
            match status.status {
                Status::Pinned => return Ok(status),
                Status::Failed => {
                    let why = status
                        .info
                        .as_ref()
                        .and_then(|info| info.get("reason"))
                        .cloned();
                    return Err(self.remote(format!(
                        "pin {} of {} failed{}",
                        status.requestid,
                        status.pin.cid,
                        why.map(|w| format!(": {w}")).unwrap_or_default()
                    )));
                }
                Status::Queued | Status::Pinning => {}
            }
            if tokio::time::Instant::now() + delay > deadline {
                return Err(self.remote(format!(
                    "pin {requestid} still {} after {timeout:?}: check the service, or wait longer",
                    status.status
                )));
            }
            tokio::time::sleep(delay).await;
            delay = (delay * 2).min(Duration::from_secs(2));
        }
    }

    fn request(&self, method: Method, path: &str) -> reqwest::RequestBuilder {
        self.http
            .request(method, format!("{}{path}", self.endpoint))
            .bearer_auth(&self.token)
    }

    async fn send_json<T: DeserializeOwned>(
        &self,
        request: reqwest::RequestBuilder,
        what: &str,
    ) -> StoreResult<T> {
        let response = request.send().await.map_err(|e| self.unreachable(e))?;
        if !response.status().is_success() {
            return Err(self.failure(response, what).await);
        }
        let body = response.bytes().await.map_err(|e| self.unreachable(e))?;
        serde_json::from_slice(&body).map_err(|e| {
            self.remote(format!(
                "{what}: the answer is not the API's JSON ({e}); is {} a pinning service?",
                self.endpoint
            ))
        })
    }

    async fn failure(&self, response: reqwest::Response, what: &str) -> StoreError {
        let status = response.status();
        let body = response.bytes().await.unwrap_or_default();
        let detail = match serde_json::from_slice::<Failure>(&body) {
            Ok(failure) => match failure.error.details {
                Some(details) => format!("{}: {details}", failure.error.reason),
                None => failure.error.reason,
            },
            Err(_) => String::from_utf8_lossy(&body[..body.len().min(200)]).into_owned(),
        };
        let hint = match status {
            StatusCode::UNAUTHORIZED => " (check the access token)",
            StatusCode::NOT_FOUND => " (no such pin request, or wrong endpoint URL)",
            _ => "",
        };
        self.remote(format!("{what}: HTTP {status}{hint}: {detail}"))
    }

    fn unreachable(&self, error: reqwest::Error) -> StoreError {
        self.remote(format!(
            "cannot reach the service: {}",
            http::describe(&error)
        ))
    }

    fn remote(&self, reason: String) -> StoreError {
        StoreError::Remote {
            backend: format!("pinning service {}", self.endpoint),
            reason,
        }
    }
}

/// Percent-encodes a path segment (request ids are opaque strings chosen by the service).
pub(crate) fn encode_segment(segment: &str) -> String {
    let mut out = String::with_capacity(segment.len());
    for byte in segment.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'_' | b'.' | b'~') {
            out.push(byte as char);
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}
