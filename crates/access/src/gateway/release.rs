//! Key release: [`Gateway::release`] hands the key of one version of an asset to an account that proves itself
//! (an EIP-712 signed request) and that the chain lets read that version; [`Gateway::proposal_key_status`] says
//! whether a proposal's key is held, never giving it.

use scal3ml_api::{KeyRelease, KeyStatus};

use super::{Action, Fail, Gateway, Origin};
use crate::eip712::SignedAccessRequest;
use crate::error::ApiError;

impl Gateway {
    /// Releases the key of version `version` (the latest for `None`) of the asset `req` names, to the account
    /// that signed `req`: the request is checked (chain, gateway, expiry, signature, fresh nonce), then that
    /// the asset is encrypted, that the version's author deposited its key here, and that the account has
    /// access now or had it when the version was added. Refusals say why and what to do (`no_license`,
    /// `license_expired`, `no_key`, ...).
    pub async fn release(
        &self,
        origin: Origin,
        req: SignedAccessRequest,
        version: Option<u64>,
    ) -> Result<KeyRelease, ApiError> {
        let mut decision = self.admit(Action::Key, origin)?;
        decision.account(req.account);
        decision.asset(req.asset);
        let result = self.release_to(&req, version).await;
        let release = self.decide(decision, result)?;
        tracing::info!(target: "access::release", asset = %release.asset, account = ?req.account, "key released");
        Ok(release)
    }

    async fn release_to(
        &self,
        req: &SignedAccessRequest,
        version: Option<u64>,
    ) -> Result<KeyRelease, Fail> {
        let s = &self.0;
        let account = s.verify_request(req)?;
        s.check_account(account)?;
        let charge = Fail::charged(account);
        let content = s.lookup(req.asset).await.map_err(charge)?;
        if !content.encrypted {
            return Err(charge(ApiError::bad_request(format!(
                "asset {} is not encrypted, so there is no key: fetch its content directly (`scal3ml get {}`)",
                req.asset, req.asset
            ))));
        }
        let (n, key) = s
            .key_for(req.asset, &content, version, account)
            .await
            .map_err(charge)?;
        Ok(KeyRelease {
            asset: req.asset,
            version: n,
            content_cid: content.versions[n as usize].cid.to_string(),
            key: key.to_hex(),
        })
    }

    /// Whether this gateway holds the key of proposal `id`'s content, deposited by its proposer: executing a
    /// proposal of an encrypted asset whose key nobody deposited would add a version nobody can read, so
    /// `scal3ml execute` and the pages ask first. Not a decision about anyone: nothing is logged.
    pub async fn proposal_key_status(&self, id: u64) -> Result<KeyStatus, ApiError> {
        let s = &self.0;
        let proposal = s.directory.proposal(id).await?.ok_or_else(|| {
            ApiError::not_found(
                "unknown_proposal",
                format!(
                    "proposal {id} is not in this node's catalog: check the id (`scal3ml proposals <asset>`)"
                ),
            )
        })?;
        Ok(KeyStatus {
            proposal: id,
            content_cid: proposal.content_cid.to_string(),
            proposer: proposal.proposer,
            held: s.vault.holds(&proposal.content_cid, proposal.proposer),
        })
    }
}
