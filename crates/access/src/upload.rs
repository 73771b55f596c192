//! Who uploads: the node's upload routes (`POST /api/car`, `/api/publish`, `/api/propose`) take bytes only from
//! an account that proves itself, the same two ways a key request does: an EIP-712 [`SignedUpload`] (same
//! domain, nonce book and expiry rules as [`crate::eip712::SignedAccessRequest`]) in the [`UPLOAD_HEADER`], or
//! the browser's Sign-In with Ethereum session. [`Gateway::authorize_upload`] checks either and names the
//! account and the client's address, which the node's limits count against.

use std::net::IpAddr;

use alloy::signers::local::PrivateKeySigner;
use alloy_primitives::{Address, B256, U256};
use alloy_sol_types::SolStruct;
use axum::http::{Extensions, HeaderMap};
use serde::{Deserialize, Serialize};

use crate::eip712::{domain, normalize_gateway, random_nonce, recover, sign_hash};
use crate::error::{AccessError, AccessResult, ApiError};
use crate::gateway::{Action, Fail, Gateway};
use crate::server::session_token;
use scal3ml_primitives::clock::now_secs;

/// The header a command-line client puts a [`SignedUpload`] (JSON) in.
pub use scal3ml_api::UPLOAD_HEADER;

/// The EIP-712 struct, as a wallet shows it.
pub mod typed {
    alloy_sol_types::sol! {
        /// Upload to `gateway` as `account`: `action` names the route (`car`, `publish`, `propose`).
        #[derive(Debug, PartialEq, Eq, serde::Serialize)]
        struct UploadRequest {
            string action;
            address account;
            bytes32 nonce;
            uint64 expiry;
            uint256 chainId;
            string gateway;
        }
    }
}

/// A signed upload request, sent as JSON in the [`UPLOAD_HEADER`] of an upload.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct SignedUpload {
    /// The route: `car`, `publish` or `propose`.
    pub action: String,
    /// Who uploads (must be the signer).
    pub account: Address,
    /// 32 random bytes, single use.
    pub nonce: B256,
    /// Unix seconds after which the request is void.
    pub expiry: u64,
    /// The node's chain.
    pub chain_id: u64,
    /// The node's public base URL.
    pub gateway: String,
    /// 65-byte signature (r, s, v) as 0x-hex.
    pub signature: String,
}

impl SignedUpload {
    /// The EIP-712 struct.
    pub fn typed(&self) -> typed::UploadRequest {
        typed::UploadRequest {
            action: self.action.clone(),
            account: self.account,
            nonce: self.nonce,
            expiry: self.expiry,
            chainId: U256::from(self.chain_id),
            gateway: self.gateway.clone(),
        }
    }

    /// Signs a fresh request for `action` at the node `gateway`, valid for `ttl_secs`.
    pub fn sign(
        signer: &PrivateKeySigner,
        chain_id: u64,
        gateway: &str,
        action: &str,
        ttl_secs: u64,
    ) -> AccessResult<Self> {
        let mut req = Self {
            action: action.to_owned(),
            account: signer.address(),
            nonce: random_nonce()?,
            expiry: now_secs() + ttl_secs,
            chain_id,
            gateway: normalize_gateway(gateway),
            signature: String::new(),
        };
        let hash = req.typed().eip712_signing_hash(&domain(chain_id));
        req.signature = sign_hash(signer, &hash)?;
        Ok(req)
    }

    /// The JSON for the [`UPLOAD_HEADER`].
    pub fn header_value(&self) -> AccessResult<String> {
        serde_json::to_string(self)
            .map_err(|e| AccessError::Sign(format!("the upload request does not serialize: {e}")))
    }
}

/// An account allowed to upload, and where its request came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Uploader {
    /// The account that signed the request or holds the session.
    pub account: Address,
    /// The client's address (the same one the gateway's rate limits count), when the server knows it.
    pub ip: Option<IpAddr>,
}

impl Gateway {
    /// The client's address as the gateway's own limits see it (`ConnectInfo`, through a trusted proxy when one
    /// is configured): what the node's per-address limits count.
    pub fn client_address(&self, ext: &Extensions, headers: &HeaderMap) -> Option<IpAddr> {
        self.origin(ext, headers).ip()
    }

    /// The account behind an upload to the route `action`: a [`SignedUpload`] in the [`UPLOAD_HEADER`] for this
    /// node's chain and URL (fresh nonce, unexpired), else a Sign-In with Ethereum session (cookie or bearer
    /// token). Anything else is 401 with how to sign; refusals count against the client's address as the
    /// gateway's own do, and 429 follows too many.
    pub fn authorize_upload(
        &self,
        ext: &Extensions,
        headers: &HeaderMap,
        action: &str,
    ) -> Result<Uploader, ApiError> {
        let s = &self.0;
        let origin = self.origin(ext, headers);
        let ip = origin.ip();
        let mut decision = self.admit(Action::Upload, origin)?;
        let result: Result<Address, Fail> = (|| {
            if let Some(v) = headers.get(UPLOAD_HEADER) {
                let req: SignedUpload = v
                    .to_str()
                    .ok()
                    .and_then(|t| serde_json::from_str(t).ok())
                    .ok_or_else(|| {
                        ApiError::bad_request(format!(
                            "the {UPLOAD_HEADER} header is not a signed upload request (JSON): see docs/node.md"
                        ))
                    })?;
                decision.account(req.account);
                if req.action != action {
                    return Err(ApiError::unauthorized(
                        "wrong_action",
                        format!(
                            "the upload request is signed for {:?}, but this route is {action:?}: sign one for it",
                            req.action
                        ),
                    )
                    .into());
                }
                s.check_common(req.chain_id, &req.gateway, req.expiry, "upload request")?;
                let hash = req.typed().eip712_signing_hash(&domain(req.chain_id));
                match recover(&req.signature, &hash) {
                    Ok(a) if a == req.account => {}
                    Ok(other) => {
                        return Err(ApiError::unauthorized(
                            "bad_signature",
                            format!(
                                "the upload request's signature does not match account {} (it recovers {other}): \
                                 sign it with that account's key",
                                req.account
                            ),
                        )
                        .into());
                    }
                    Err(reason) => {
                        return Err(ApiError::unauthorized("bad_signature", reason).into());
                    }
                }
                s.use_nonce(req.account, req.nonce, req.expiry, "upload request")?;
                return Ok(req.account);
            }
            match session_token(headers) {
                Some(token) => Ok(self.session(&token)?),
                None => Err(ApiError::unauthorized(
                    "unsigned_upload",
                    format!(
                        "uploads must be signed by an account: from a browser, sign in with Ethereum first (the \
                         publish and proposal forms do; GET /access/nonce, then POST /access/siwe); from a program, \
                         send an EIP-712 UploadRequest signed by your key as JSON in the {UPLOAD_HEADER} header \
                         (`scal3ml publish`, `propose` and `eval --attest` do; see docs/node.md)"
                    ),
                )
                .into()),
            }
        })();
        let account = self.decide(decision, result)?;
        Ok(Uploader { account, ip })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_signed_upload_recovers_its_signer_and_binds_its_action() {
        let signer = PrivateKeySigner::random();
        let req = SignedUpload::sign(&signer, 31337, "http://node/", "car", 60).unwrap();
        assert_eq!(req.gateway, "http://node");
        let hash = req.typed().eip712_signing_hash(&domain(31337));
        assert_eq!(recover(&req.signature, &hash).unwrap(), signer.address());
        let mut other = req.clone();
        other.action = "publish".into();
        let hash = other.typed().eip712_signing_hash(&domain(31337));
        assert_ne!(recover(&req.signature, &hash).unwrap(), signer.address());
        assert!(req.expiry >= now_secs() + 59);
    }
}
