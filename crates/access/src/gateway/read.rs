//! Reads: [`Gateway::read_content`] (an asset's latest content or one version's) and [`Gateway::read_proposal`]
//! (a proposed version's content) decide who may read, then open the bytes, decrypted if they are encrypted,
//! for the range asked. Unencrypted content is public: anyone reads it, logged as `public`.

use alloy_primitives::Address;
use axum::body::Body;
use axum::http::StatusCode;
use scal3ml_primitives::{AssetId, Cid};
use scal3ml_store::{crypt::FileKey, export};

use super::{Action, Decision, Fail, Gateway, Origin};
use crate::content::{RangeAnswer, Source, parse_range};
use crate::eip712::SignedAccessRequest;
use crate::error::{AccessError, ApiError};
use crate::license::ProposalContent;
use crate::server::ACCESS_HEADER;

/// What a reader shows to say who it is. Only encrypted content asks.
#[derive(Debug, Clone)]
pub enum Credentials {
    /// A signed access request for the asset (the command line's, in the `x-scal3ml-access` header).
    Signed(Box<SignedAccessRequest>),
    /// Something in the `x-scal3ml-access` header that is not a signed access request.
    Unreadable,
    /// A Sign-In with Ethereum session token (cookie or bearer).
    Session(String),
    /// Nothing.
    Anonymous,
}

/// The bytes a read opened.
#[derive(Debug)]
pub struct ContentRead {
    /// The length of the file read, in bytes.
    pub len: u64,
    /// Which of its bytes `body` holds: all, a part (206), or none because the range asked is outside it (416).
    pub range: RangeAnswer,
    /// The bytes, decrypted as they are read (empty for an unsatisfiable range).
    pub body: Body,
}

impl Gateway {
    /// Version `version` of `asset` (the latest for `None`), `path` inside it (empty for its root), the
    /// `range` asked (a `Range` header's value). Encrypted content goes to an account that proves itself
    /// (`credentials`) and may read that version, as its key would ([`Gateway::release`]).
    pub async fn read_content(
        &self,
        origin: Origin,
        credentials: &Credentials,
        asset: AssetId,
        version: Option<u64>,
        path: &str,
        range: Option<&str>,
    ) -> Result<ContentRead, ApiError> {
        let mut decision = self.admit(Action::Content, origin)?;
        decision.asset(asset);
        let result = async {
            // An unencrypted asset's bytes are public (anyone can fetch its blocks by CID from IPFS anyway), so a
            // plain link downloads it; only encrypted content asks who is asking and checks the license.
            let s = &self.0;
            let content = s.lookup(asset).await?;
            let (_, found) = s.version(asset, &content, version)?;
            let mut verified = None;
            let key = if content.encrypted {
                let account = self.reader(credentials, asset, &mut decision)?;
                verified = Some(account);
                let (_, key) = s
                    .key_for(asset, &content, version, account)
                    .await
                    .map_err(Fail::charged(account))?;
                Some(key)
            } else {
                None
            };
            self.open_bytes(&found.cid, path, key, range, verified)
                .await
        }
        .await;
        self.decide(decision, result)
    }

    /// Proposal `id`'s content, `path` inside it: reviewers read a proposed version before they vote. It is
    /// encrypted (under the key its proposer deposited) when the asset is, and then it goes to the proposer and
    /// to the accounts with access to the asset (the chain's `hasAccess`: owner, shareholders, licensees).
    /// Nobody else's deposit for that CID counts.
    pub async fn read_proposal(
        &self,
        origin: Origin,
        credentials: &Credentials,
        id: u64,
        path: &str,
        range: Option<&str>,
    ) -> Result<ContentRead, ApiError> {
        let mut decision = self.admit(Action::Proposal, origin)?;
        let result = async {
            let s = &self.0;
            let proposal: ProposalContent = s.directory.proposal(id).await?.ok_or_else(|| {
                ApiError::not_found(
                    "unknown_proposal",
                    format!(
                        "proposal {id} is not in this node's catalog: check the id (`scal3ml proposals <asset>`), \
                         or wait a few seconds if it was just made"
                    ),
                )
            })?;
            let asset = proposal.asset;
            decision.asset(asset);
            decision.cid(proposal.content_cid);
            let content = s.lookup(asset).await?;
            let mut verified = None;
            let key = if content.encrypted {
                let account = self.reader(credentials, asset, &mut decision)?;
                verified = Some(account);
                let charge = Fail::charged(account);
                let key = s
                    .vault
                    .get(&proposal.content_cid, proposal.proposer)
                    .map_err(|e| charge(e.into()))?
                    .ok_or_else(|| {
                        charge(ApiError::not_found(
                            "no_key",
                            format!(
                                "this gateway holds no key for proposal {id} deposited by its proposer {}: the \
                                 proposer must deposit it here (`scal3ml propose` does before the transaction)",
                                proposal.proposer
                            ),
                        ))
                    })?;
                if account != proposal.proposer
                    && !s
                        .licenses
                        .has_access(asset, account)
                        .await
                        .map_err(|e| charge(e.into()))?
                {
                    return Err(charge(ApiError::new(
                        StatusCode::FORBIDDEN,
                        "no_license",
                        format!(
                            "account {account} may not read proposal {id}: its content goes to the proposer and to \
                             accounts with access to asset {asset} (its owner, shareholders and licensees); buy a \
                             license with `scal3ml buy {asset}`, then ask again"
                        ),
                    )));
                }
                Some(key)
            } else {
                None
            };
            self.open_bytes(&proposal.content_cid, path, key, range, verified)
                .await
        }
        .await;
        self.decide(decision, result)
    }

    /// The account asking for encrypted content of `asset`: authenticated (a signed request for this asset, or
    /// a session), and not over its limit of refused requests.
    fn reader(
        &self,
        credentials: &Credentials,
        asset: AssetId,
        decision: &mut Decision,
    ) -> Result<Address, Fail> {
        let s = &self.0;
        let account = match credentials {
            Credentials::Signed(req) => {
                decision.account(req.account);
                if req.asset != asset {
                    return Err(ApiError::unauthorized(
                        "wrong_asset",
                        format!(
                            "the signed request is for asset {}, not {asset}: sign one for this asset",
                            req.asset
                        ),
                    )
                    .into());
                }
                s.verify_request(req)?
            }
            Credentials::Unreadable => {
                return Err(ApiError::bad_request(format!(
                    "the {ACCESS_HEADER} header is not a signed access request (JSON)"
                ))
                .into());
            }
            Credentials::Session(token) => self.session(token)?,
            Credentials::Anonymous => {
                return Err(ApiError::unauthorized(
                    "unauthenticated",
                    format!(
                        "who is asking? sign in with Ethereum (GET /access/nonce, then POST /access/siwe) or send \
                         a signed access request in the {ACCESS_HEADER} header (`scal3ml get` does)"
                    ),
                )
                .into());
            }
        };
        decision.account(account);
        s.check_account(account)?;
        Ok(account)
    }

    /// Opens `path` inside the content `root` (decrypted with `key` if given) for `range`; a failure is charged
    /// to `verified`.
    async fn open_bytes(
        &self,
        root: &Cid,
        path: &str,
        key: Option<FileKey>,
        range: Option<&str>,
        verified: Option<Address>,
    ) -> Result<ContentRead, Fail> {
        let s = &self.0;
        let charge = |err: ApiError| Fail { err, verified };
        let cid = export::resolve(s.store.as_ref(), root, path)
            .await
            .map_err(|e| charge(AccessError::from(e).into()))?;
        let source = Source {
            store: s.store.clone(),
            cid,
            key,
        };
        let len = source.len().await.map_err(|e| charge(e.into()))?;
        let range = parse_range(range, len);
        let (start, end) = match range {
            RangeAnswer::Whole => (0, len),
            RangeAnswer::Part(a, b) => (a, b),
            RangeAnswer::Unsatisfiable => {
                return Ok(ContentRead {
                    len,
                    range,
                    body: Body::empty(),
                });
            }
        };
        let body = source
            .body(start, end)
            .await
            .map_err(|e| charge(e.into()))?;
        Ok(ContentRead { len, range, body })
    }
}
