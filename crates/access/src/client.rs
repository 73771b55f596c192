//! The command line's side: [`AccessClient`] deposits keys and asks for them (and for content) with EIP-712
//! signed requests, over the store's HTTP client (same TLS trust, same connection pool).

use alloy::signers::local::PrivateKeySigner;
use bytes::Bytes;
use scal3ml_primitives::AssetId;
use scal3ml_store::{crypt::FileKey, http::HttpClient};

use crate::eip712::{SignedAccessRequest, SignedKeyDeposit, normalize_gateway};
use crate::error::{AccessError, AccessResult, ApiErrorBody};
use crate::server::ACCESS_HEADER;
use scal3ml_api::{DepositReply, KeyRelease, KeyStatus};

/// How long the client's signed requests are valid.
const TTL_SECS: u64 = 120;

/// Talks to one access gateway.
#[derive(Debug, Clone)]
pub struct AccessClient {
    base: String,
    http: reqwest::Client,
    /// The node's own token ([`crate::NODE_CALL_HEADER`]) when the node calls its own gateway.
    node_call: Option<String>,
}

impl AccessClient {
    /// A client of the gateway at `base_url` (the node's public base URL, e.g. `http://127.0.0.1:8080`; the
    /// routes are under `/access`), using `http` (see `scal3ml_store::http::HttpConfig`).
    pub fn new(base_url: &str, http: &HttpClient) -> Self {
        Self {
            base: normalize_gateway(base_url),
            http: http.reqwest().clone(),
            node_call: None,
        }
    }

    /// Sends `token` ([`crate::Gateway::node_call_token`]) with every request: for the node calling its own
    /// gateway on a viewer's behalf, so the refusals count against the viewer's account and no IP. Never give it
    /// a client of another gateway.
    pub fn with_node_call(mut self, token: &str) -> Self {
        self.node_call = Some(token.to_owned());
        self
    }

    fn request(&self, method: reqwest::Method, url: &str) -> reqwest::RequestBuilder {
        let builder = self.http.request(method, url);
        match &self.node_call {
            Some(token) => builder.header(crate::NODE_CALL_HEADER, token),
            None => builder,
        }
    }

    /// The gateway's base URL, as requests name it.
    pub fn base_url(&self) -> &str {
        &self.base
    }

    /// Deposits `key` for content `cid` (the version-0 content CID, text form) as the signer. Depositing the same
    /// key again is fine; returns whether this call stored it.
    pub async fn deposit_key(
        &self,
        signer: &PrivateKeySigner,
        chain_id: u64,
        cid: &str,
        key: &FileKey,
    ) -> AccessResult<bool> {
        let dep = SignedKeyDeposit::sign(signer, chain_id, &self.base, cid, &key.0, TTL_SECS)?;
        let reply: DepositReply = self.post("/access/keys", &dep).await?;
        Ok(reply.stored)
    }

    /// Asks for the content key of version `version` of `asset` (the latest for `None`) as the signer: each
    /// version has its own key. The answer names the version and its content CID.
    pub async fn request_key(
        &self,
        signer: &PrivateKeySigner,
        chain_id: u64,
        asset: AssetId,
        version: Option<u64>,
    ) -> AccessResult<(KeyRelease, FileKey)> {
        let req = SignedAccessRequest::sign(signer, chain_id, &self.base, asset, TTL_SECS)?;
        let path = match version {
            Some(n) => format!("/access/key?version={n}"),
            None => "/access/key".to_owned(),
        };
        let release: KeyRelease = self.post(&path, &req).await?;
        let key = FileKey::from_hex(&release.key).map_err(|e| AccessError::BadAnswer {
            url: format!("{}/access/key", self.base),
            reason: format!("the key: {e}"),
        })?;
        Ok((release, key))
    }

    /// Whether this gateway holds the key of proposal `id`'s content, deposited by its proposer.
    pub async fn proposal_key_status(&self, id: u64) -> AccessResult<KeyStatus> {
        self.get_json(&format!("/access/proposals/{id}/key-status"))
            .await
    }

    /// Before executing proposal `id` of an encrypted asset: refuses (`no_proposal_key`) unless this gateway
    /// holds the key its proposer deposited for its content, since executing it would add a version nobody could
    /// read.
    pub async fn ensure_proposal_key(&self, id: u64) -> AccessResult<()> {
        let status = self.proposal_key_status(id).await?;
        if status.held {
            return Ok(());
        }
        Err(AccessError::Refused {
            status: 409,
            code: "no_proposal_key".into(),
            message: format!(
                "the access gateway {} holds no key deposited by proposer {} for proposal {id}'s content {}: \
                 executing it would add a version nobody can read. The proposer deposits it (`scal3ml propose` \
                 does, before its transaction); execute once it is there, or reject the proposal",
                self.base, status.proposer, status.content_cid
            ),
        })
    }

    /// Fetches the decrypted bytes of `asset` (its latest content, or `path` inside it), optionally a `Range`
    /// such as `bytes=0-99`.
    pub async fn fetch_content(
        &self,
        signer: &PrivateKeySigner,
        chain_id: u64,
        asset: AssetId,
        path: &str,
        range: Option<&str>,
    ) -> AccessResult<Bytes> {
        let base = format!("{}/access/content/{asset}", self.base);
        self.fetch(signer, chain_id, asset, &base, path, range)
            .await
    }

    /// Fetches the decrypted bytes of version `version` of `asset` (or `path` inside it): a licensee reads
    /// every version, not only the latest.
    pub async fn fetch_version_content(
        &self,
        signer: &PrivateKeySigner,
        chain_id: u64,
        asset: AssetId,
        version: u64,
        path: &str,
    ) -> AccessResult<Bytes> {
        let base = format!(
            "{}/access/assets/{asset}/versions/{version}/content",
            self.base
        );
        self.fetch(signer, chain_id, asset, &base, path, None).await
    }

    /// Fetches the decrypted bytes of proposal `proposal` of `asset` (or `path` inside it): the proposer and
    /// accounts with access to the asset may read it.
    pub async fn fetch_proposal_content(
        &self,
        signer: &PrivateKeySigner,
        chain_id: u64,
        asset: AssetId,
        proposal: u64,
        path: &str,
    ) -> AccessResult<Bytes> {
        let base = format!("{}/access/proposals/{proposal}/content", self.base);
        self.fetch(signer, chain_id, asset, &base, path, None).await
    }

    async fn fetch(
        &self,
        signer: &PrivateKeySigner,
        chain_id: u64,
        asset: AssetId,
        base: &str,
        path: &str,
        range: Option<&str>,
    ) -> AccessResult<Bytes> {
        let req = SignedAccessRequest::sign(signer, chain_id, &self.base, asset, TTL_SECS)?;
        let url = if path.is_empty() {
            base.to_owned()
        } else {
            format!("{base}/{}", path.trim_start_matches('/'))
        };
        let header = serde_json::to_string(&req).map_err(|e| AccessError::Sign(e.to_string()))?;
        let mut builder = self
            .request(reqwest::Method::GET, &url)
            .header(ACCESS_HEADER, header);
        if let Some(r) = range {
            builder = builder.header(reqwest::header::RANGE, r);
        }
        let response = builder.send().await.map_err(|e| unreachable(&url, &e))?;
        if !response.status().is_success() {
            return Err(refusal(&url, response).await);
        }
        response.bytes().await.map_err(|e| unreachable(&url, &e))
    }

    async fn post<B: serde::Serialize, T: serde::de::DeserializeOwned>(
        &self,
        route: &str,
        body: &B,
    ) -> AccessResult<T> {
        let url = format!("{}{route}", self.base);
        let request = self.request(reqwest::Method::POST, &url).json(body);
        self.answer(url, request).await
    }

    async fn get_json<T: serde::de::DeserializeOwned>(&self, route: &str) -> AccessResult<T> {
        let url = format!("{}{route}", self.base);
        let request = self.request(reqwest::Method::GET, &url);
        self.answer(url, request).await
    }

    /// Sends `request` and reads its JSON answer, or the gateway's refusal.
    async fn answer<T: serde::de::DeserializeOwned>(
        &self,
        url: String,
        request: reqwest::RequestBuilder,
    ) -> AccessResult<T> {
        let response = request.send().await.map_err(|e| unreachable(&url, &e))?;
        if !response.status().is_success() {
            return Err(refusal(&url, response).await);
        }
        response.json().await.map_err(|e| AccessError::BadAnswer {
            url,
            reason: e.to_string(),
        })
    }
}

fn unreachable(url: &str, e: &reqwest::Error) -> AccessError {
    let mut reason = e.to_string();
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        reason.push_str(": ");
        reason.push_str(&s.to_string());
        source = s.source();
    }
    AccessError::Unreachable {
        url: url.to_owned(),
        reason: format!("{reason}; check the URL and that the node is running"),
    }
}

async fn refusal(url: &str, response: reqwest::Response) -> AccessError {
    let status = response.status().as_u16();
    let text = response.text().await.unwrap_or_default();
    match serde_json::from_str::<ApiErrorBody>(&text) {
        Ok(body) => AccessError::Refused {
            status,
            code: body.error.code,
            message: body.error.message,
        },
        Err(_) => AccessError::BadAnswer {
            url: url.to_owned(),
            reason: format!(
                "HTTP {status} without the JSON error body: {}",
                text.chars().take(200).collect::<String>()
            ),
        },
    }
}
