//! [`NodeApi`]: the typed client of a node's `/api` routes. One method per route, each naming the answer type
//! the node returns, so no caller formats a path or picks a type at the call site. An error answer becomes
//! [`ClientError::Api`] with the node's [`ApiErrorBody`]; its `Display` is the node's message, which says what
//! to do.

use crate::{
    AccountView, AssetDetail, AttestationInfo, DepositReply, HideResult, KeyRelease, KeyStatus,
    Leaderboard, Lineage, NetworkInfo, Posted, ProposalDetail, ProposalInfo, SearchPage,
    SearchQuery, Stats, Thread, UploadResult, VersionInfo, error::ApiErrorBody,
};
use alloy_primitives::Address;
use scal3ml_primitives::{AssetId, AttestationId, ProposalId};
use serde::{Serialize, de::DeserializeOwned};

/// The media type of a CAR upload.
pub const CAR_MEDIA_TYPE: &str = "application/vnd.ipld.car";
/// The header an upload's EIP-712 signature travels in.
pub const UPLOAD_HEADER: &str = "x-scal3ml-upload";

/// The most bytes of a non-JSON error answer quoted in a [`ClientError::Http`].
const QUOTED: usize = 300;

/// What a call to a node can fail with.
#[derive(Debug)]
pub enum ClientError {
    /// The node could not be reached (or the answer could not be read).
    Unreachable {
        /// The URL asked.
        url: String,
        /// The transport's reason.
        source: reqwest::Error,
    },
    /// The node answered with its error body.
    Api {
        /// The URL asked.
        url: String,
        /// The HTTP status.
        status: u16,
        /// What the node said.
        body: ApiErrorBody,
    },
    /// The node answered an error that is not its error body (a proxy in between, or not a Scal3ML node).
    Http {
        /// The URL asked.
        url: String,
        /// The HTTP status.
        status: u16,
        /// The start of the answer.
        text: String,
    },
    /// The answer is not the JSON this route returns.
    Decode {
        /// The URL asked.
        url: String,
        /// The parser's reason.
        source: serde_json::Error,
    },
}

impl ClientError {
    /// The node's error code (`no_such_asset`, `rate_limited`, ...), if the node answered with one.
    pub fn code(&self) -> Option<&str> {
        match self {
            Self::Api { body, .. } => Some(&body.error.code),
            _ => None,
        }
    }

    /// The HTTP status, if the node answered.
    pub fn status(&self) -> Option<u16> {
        match self {
            Self::Api { status, .. } | Self::Http { status, .. } => Some(*status),
            _ => None,
        }
    }
}

impl std::fmt::Display for ClientError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Unreachable { url, source } => {
                write!(f, "cannot reach the node at {url}: {source}")
            }
            Self::Api { body, .. } => f.write_str(&body.error.message),
            Self::Http { url, status, text } => write!(f, "{url} answered {status}: {text}"),
            Self::Decode { url, source } => {
                write!(f, "{url} did not answer the JSON expected: {source}")
            }
        }
    }
}

impl std::error::Error for ClientError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Self::Unreachable { source, .. } => Some(source),
            Self::Decode { source, .. } => Some(source),
            _ => None,
        }
    }
}

/// The result of a call to a node.
pub type ClientResult<T> = Result<T, ClientError>;

/// The filters of `GET /api/assets/{id}/leaderboard`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct LeaderboardQuery {
    /// One metric (e.g. accuracy); every metric attested when left out.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub metric: Option<String>,
    /// Only evaluations on this dataset version.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dataset_version: Option<u64>,
}

/// A node's REST API and access gateway.
#[derive(Debug, Clone)]
pub struct NodeApi {
    base: String,
    http: reqwest::Client,
    /// A header sent with every request (the node's own token when it calls its own gateway).
    header: Option<(&'static str, String)>,
}

impl NodeApi {
    /// A client of the node at `base` (`http://127.0.0.1:8080`), over `http` (one connection pool per program).
    pub fn new(base: &str, http: reqwest::Client) -> Self {
        Self {
            base: base.trim_end_matches('/').to_owned(),
            http,
            header: None,
        }
    }

    /// Sends `name: value` with every request.
    pub fn with_header(mut self, name: &'static str, value: &str) -> Self {
        self.header = Some((name, value.to_owned()));
        self
    }

    /// The node's base URL, without a trailing slash.
    pub fn base(&self) -> &str {
        &self.base
    }

    /// The HTTP client, for routes this client does not cover (content streams).
    pub fn http(&self) -> &reqwest::Client {
        &self.http
    }

    /// `GET /api/network`: the chain and contracts the node serves.
    pub async fn network(&self) -> ClientResult<NetworkInfo> {
        self.get("/api/network").await
    }

    /// `GET /api/stats`: catalog totals and the last indexed block.
    pub async fn stats(&self) -> ClientResult<Stats> {
        self.get("/api/stats").await
    }

    /// `GET /api/assets`: full-text search with filters, sorting and paging.
    pub async fn search(&self, query: &SearchQuery) -> ClientResult<SearchPage> {
        self.get(&format!("/api/assets?{}", query_string(query)))
            .await
    }

    /// `GET /api/assets/{id}`: one asset with everything the catalog knows of it.
    pub async fn asset(&self, id: AssetId) -> ClientResult<AssetDetail> {
        self.get(&format!("/api/assets/{id}")).await
    }

    /// `GET /api/assets/{id}/versions`: its versions, oldest first.
    pub async fn versions(&self, id: AssetId) -> ClientResult<Vec<VersionInfo>> {
        self.get(&format!("/api/assets/{id}/versions")).await
    }

    /// `GET /api/assets/{id}/lineage`: its ancestors and descendants.
    pub async fn lineage(&self, id: AssetId) -> ClientResult<Lineage> {
        self.get(&format!("/api/assets/{id}/lineage")).await
    }

    /// `GET /api/assets/{id}/proposals`: proposals for new versions of it.
    pub async fn proposals(&self, id: AssetId) -> ClientResult<Vec<ProposalInfo>> {
        self.get(&format!("/api/assets/{id}/proposals")).await
    }

    /// `GET /api/proposals/{id}`: one proposal with its votes, live tally and share change.
    pub async fn proposal(&self, id: ProposalId) -> ClientResult<ProposalDetail> {
        self.get(&format!("/api/proposals/{id}")).await
    }

    /// `GET /api/assets/{id}/attestations`: evaluation attestations naming it.
    pub async fn attestations(&self, id: AssetId) -> ClientResult<Vec<AttestationInfo>> {
        self.get(&format!("/api/assets/{id}/attestations")).await
    }

    /// `GET /api/attestations/{id}`: one attestation with its reviews.
    pub async fn attestation(&self, id: AttestationId) -> ClientResult<AttestationInfo> {
        self.get(&format!("/api/attestations/{id}")).await
    }

    /// `GET /api/assets/{id}/leaderboard`: a dataset's boards, best first.
    pub async fn leaderboard(
        &self,
        dataset: AssetId,
        query: &LeaderboardQuery,
    ) -> ClientResult<Vec<Leaderboard>> {
        let query = query_string(query);
        let sep = if query.is_empty() { "" } else { "?" };
        self.get(&format!("/api/assets/{dataset}/leaderboard{sep}{query}"))
            .await
    }

    /// `GET /api/accounts/{address}`: what an account owns, holds and is licensed for.
    pub async fn account(&self, address: Address) -> ClientResult<AccountView> {
        self.get(&format!("/api/accounts/{address}")).await
    }

    /// `GET /api/assets/{id}/comments`: the comments on an asset, or on one of its proposals.
    pub async fn thread(
        &self,
        asset: AssetId,
        proposal: Option<ProposalId>,
    ) -> ClientResult<Thread> {
        match proposal {
            Some(p) => {
                self.get(&format!("/api/assets/{asset}/comments?proposal={p}"))
                    .await
            }
            None => self.get(&format!("/api/assets/{asset}/comments")).await,
        }
    }

    /// `GET /api/comments/{cid}`: one comment with its replies.
    pub async fn comment(&self, cid: &str) -> ClientResult<crate::CommentNode> {
        self.get(&format!("/api/comments/{}", path_segment(cid)))
            .await
    }

    /// `POST /api/comments`: posts a signed comment document.
    pub async fn post_comment(&self, signed: &impl Serialize) -> ClientResult<Posted> {
        self.post("/api/comments", signed).await
    }

    /// `POST /api/comments/{cid}/hide`: posts the owner's signed hide (or show) decision.
    pub async fn hide(&self, cid: &str, signed: &impl Serialize) -> ClientResult<HideResult> {
        self.post(&format!("/api/comments/{}/hide", path_segment(cid)), signed)
            .await
    }

    /// `POST /api/car`: uploads a CAR v1 stream of `len` bytes, with the uploader's signed request (the value of
    /// the [`UPLOAD_HEADER`]); the node pins its roots.
    pub async fn upload_car(
        &self,
        body: reqwest::Body,
        len: u64,
        signed_upload: &str,
    ) -> ClientResult<UploadResult> {
        let url = self.url("/api/car");
        let request = self
            .request(reqwest::Method::POST, &url)
            .header(reqwest::header::CONTENT_TYPE, CAR_MEDIA_TYPE)
            .header(UPLOAD_HEADER, signed_upload)
            .header(reqwest::header::CONTENT_LENGTH, len)
            .body(body);
        self.send(url, request).await
    }

    /// `POST /access/keys`: deposits a content key (a signed `KeyDeposit`).
    pub async fn deposit_key(&self, signed: &impl Serialize) -> ClientResult<DepositReply> {
        self.post("/access/keys", signed).await
    }

    /// `POST /access/key`: the key of version `version` of an asset (the latest for `None`), for a signed
    /// access request.
    pub async fn key(
        &self,
        signed: &impl Serialize,
        version: Option<u64>,
    ) -> ClientResult<KeyRelease> {
        match version {
            Some(n) => self.post(&format!("/access/key?version={n}"), signed).await,
            None => self.post("/access/key", signed).await,
        }
    }

    /// `GET /access/proposals/{id}/key-status`: whether the gateway holds the key of a proposal's content.
    pub async fn proposal_key_status(&self, id: ProposalId) -> ClientResult<KeyStatus> {
        self.get(&format!("/access/proposals/{id}/key-status"))
            .await
    }

    /// GETs the bytes a route answers (decrypted content), with extra headers (a signed request, a `Range`).
    pub async fn get_bytes(
        &self,
        path: &str,
        headers: &[(&str, &str)],
    ) -> ClientResult<reqwest::Response> {
        let url = self.url(path);
        let mut request = self.request(reqwest::Method::GET, &url);
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        let response = match request.send().await {
            Ok(r) => r,
            Err(source) => return Err(ClientError::Unreachable { url, source }),
        };
        if response.status().is_success() {
            return Ok(response);
        }
        let status = response.status();
        match response.bytes().await {
            Ok(bytes) => Err(error_answer(url, status, &bytes)),
            Err(source) => Err(ClientError::Unreachable { url, source }),
        }
    }

    /// GETs a route's JSON answer.
    pub async fn get<T: DeserializeOwned>(&self, path: &str) -> ClientResult<T> {
        let url = self.url(path);
        let request = self.request(reqwest::Method::GET, &url);
        self.send(url, request).await
    }

    /// POSTs JSON to a route and reads its JSON answer.
    pub async fn post<T: DeserializeOwned>(
        &self,
        path: &str,
        body: &impl Serialize,
    ) -> ClientResult<T> {
        let url = self.url(path);
        let bytes = serde_json::to_vec(body).map_err(|source| ClientError::Decode {
            url: url.clone(),
            source,
        })?;
        let request = self
            .request(reqwest::Method::POST, &url)
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .body(bytes);
        self.send(url, request).await
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    fn request(&self, method: reqwest::Method, url: &str) -> reqwest::RequestBuilder {
        let request = self.http.request(method, url);
        match &self.header {
            Some((name, value)) => request.header(*name, value),
            None => request,
        }
    }

    async fn send<T: DeserializeOwned>(
        &self,
        url: String,
        request: reqwest::RequestBuilder,
    ) -> ClientResult<T> {
        let response = match request.send().await {
            Ok(r) => r,
            Err(source) => return Err(ClientError::Unreachable { url, source }),
        };
        let status = response.status();
        let bytes = match response.bytes().await {
            Ok(b) => b,
            Err(source) => return Err(ClientError::Unreachable { url, source }),
        };
        if !status.is_success() {
            return Err(error_answer(url, status, &bytes));
        }
        serde_json::from_slice(&bytes).map_err(|source| ClientError::Decode { url, source })
    }
}

/// An error answer: the node's error body, or what else came back.
fn error_answer(url: String, status: reqwest::StatusCode, bytes: &[u8]) -> ClientError {
    match serde_json::from_slice::<ApiErrorBody>(bytes) {
        Ok(body) => ClientError::Api {
            url,
            status: status.as_u16(),
            body,
        },
        Err(_) => ClientError::Http {
            url,
            status: status.as_u16(),
            text: String::from_utf8_lossy(&bytes[..bytes.len().min(QUOTED)]).into_owned(),
        },
    }
}

/// A query string of `query`'s fields (`None` fields left out).
fn query_string(query: &impl Serialize) -> String {
    serde_urlencoded::to_string(query).expect("a query of flat fields serializes")
}

/// Bytes a path segment keeps as they are (RFC 3986's unreserved set); every other byte is percent-encoded.
const SEGMENT: &percent_encoding::AsciiSet = &percent_encoding::NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

/// `text` as one path segment: a `/` or `?` in a CID (or anything a user typed) is encoded, so it cannot reach
/// another route.
fn path_segment(text: &str) -> String {
    percent_encoding::utf8_percent_encode(text.trim(), SEGMENT).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Sort;

    #[test]
    fn a_search_sends_only_the_filters_it_has() {
        let q = SearchQuery {
            text: Some("cats & dogs".into()),
            kind: Some(scal3ml_primitives::AssetKind::Model),
            sort: Sort::PriceAsc,
            page: 2,
            per_page: 5,
            ..Default::default()
        };
        assert_eq!(
            query_string(&q),
            "text=cats+%26+dogs&kind=model&free_only=false&sort=price_asc&page=2&per_page=5"
        );
        assert_eq!(query_string(&LeaderboardQuery::default()), "");
    }

    #[test]
    fn a_cid_typed_by_a_user_stays_one_path_segment() {
        assert_eq!(
            path_segment(" bafy/../../api/network?x "),
            "bafy%2F..%2F..%2Fapi%2Fnetwork%3Fx"
        );
    }
}
