//! The command line's side: [`AccessClient`] deposits keys and asks for them (and for content) with EIP-712
//! signed requests. It signs; the HTTP calls are [`NodeApi`]'s, over the store's HTTP client (same TLS
//! trust, same connection pool).

use alloy::signers::local::PrivateKeySigner;
use bytes::Bytes;
use scal3ml_api::{ClientError, KeyRelease, KeyStatus, NodeApi};
use scal3ml_primitives::{AssetId, ProposalId};
use scal3ml_store::{crypt::FileKey, http::HttpClient};

use crate::eip712::{SignedAccessRequest, SignedKeyDeposit, normalize_gateway};
use crate::error::{AccessError, AccessResult};
use crate::server::ACCESS_HEADER;

/// How long the client's signed requests are valid.
const TTL_SECS: u64 = 120;

/// Talks to one access gateway.
#[derive(Debug, Clone)]
pub struct AccessClient {
    api: NodeApi,
}

impl AccessClient {
    /// A client of the gateway at `base_url` (the node's public base URL, e.g. `http://127.0.0.1:8080`; the
    /// routes are under `/access`), using `http` (see `scal3ml_store::http::HttpConfig`).
    pub fn new(base_url: &str, http: &HttpClient) -> Self {
        Self {
            api: NodeApi::new(&normalize_gateway(base_url), http.reqwest().clone()),
        }
    }

    /// Sends `token` ([`crate::Gateway::node_call_token`]) with every request: for the node calling its own
    /// gateway on a viewer's behalf, so the refusals count against the viewer's account and no IP. Never give it
    /// a client of another gateway.
    pub fn with_node_call(mut self, token: &str) -> Self {
        self.api = self.api.with_header(crate::NODE_CALL_HEADER, token);
        self
    }

    /// The gateway's base URL, as requests name it.
    pub fn base_url(&self) -> &str {
        self.api.base()
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
        let dep = SignedKeyDeposit::sign(signer, chain_id, self.base_url(), cid, &key.0, TTL_SECS)?;
        Ok(self.api.deposit_key(&dep).await?.stored)
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
        let req = SignedAccessRequest::sign(signer, chain_id, self.base_url(), asset, TTL_SECS)?;
        let release = self.api.key(&req, version).await?;
        let key = FileKey::from_hex(&release.key).map_err(|e| AccessError::BadAnswer {
            url: format!("{}/access/key", self.base_url()),
            reason: format!("the key: {e}"),
        })?;
        Ok((release, key))
    }

    /// Whether this gateway holds the key of proposal `id`'s content, deposited by its proposer.
    pub async fn proposal_key_status(&self, id: ProposalId) -> AccessResult<KeyStatus> {
        Ok(self.api.proposal_key_status(id).await?)
    }

    /// Before executing proposal `id` of an encrypted asset: refuses (`no_proposal_key`) unless this gateway
    /// holds the key its proposer deposited for its content, since executing it would add a version nobody could
    /// read.
    pub async fn ensure_proposal_key(&self, id: ProposalId) -> AccessResult<()> {
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
                self.base_url(),
                status.proposer,
                status.content_cid
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
        let base = format!("/access/content/{asset}");
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
        let base = format!("/access/assets/{asset}/versions/{version}/content");
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
        let base = format!("/access/proposals/{proposal}/content");
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
        let req = SignedAccessRequest::sign(signer, chain_id, self.base_url(), asset, TTL_SECS)?;
        let route = if path.is_empty() {
            base.to_owned()
        } else {
            format!("{base}/{}", path.trim_start_matches('/'))
        };
        let header = serde_json::to_string(&req).map_err(|e| AccessError::Sign(e.to_string()))?;
        let mut headers = vec![(ACCESS_HEADER, header.as_str())];
        if let Some(r) = range {
            headers.push(("range", r));
        }
        let response = self.api.get_bytes(&route, &headers).await?;
        let url = response.url().to_string();
        response
            .bytes()
            .await
            .map_err(|e| AccessError::Unreachable {
                url,
                reason: chain(&e),
            })
    }
}

/// An error and its causes, one after another.
fn chain(e: &dyn std::error::Error) -> String {
    let mut reason = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        reason.push_str(": ");
        reason.push_str(&s.to_string());
        source = s.source();
    }
    reason
}

impl From<ClientError> for AccessError {
    fn from(e: ClientError) -> Self {
        match e {
            ClientError::Unreachable { url, source } => AccessError::Unreachable {
                url,
                reason: format!(
                    "{}; check the URL and that the node is running",
                    chain(&source)
                ),
            },
            ClientError::Api { status, body, .. } => AccessError::Refused {
                status,
                code: body.error.code,
                message: body.error.message,
            },
            ClientError::Http { url, status, text } => AccessError::BadAnswer {
                url,
                reason: format!("HTTP {status} without the JSON error body: {text}"),
            },
            ClientError::Decode { url, source } => AccessError::BadAnswer {
                url,
                reason: source.to_string(),
            },
        }
    }
}
