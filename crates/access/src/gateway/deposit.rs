//! Key deposits: [`Gateway::deposit`] takes a content key (EIP-712 signed by its depositor) for content this
//! node holds and the key opens, within the limits on deposits no chain event names yet;
//! [`Gateway::sweep_pending`] keeps or drops those.

use alloy_primitives::{Address, keccak256};
use alloy_sol_types::SolStruct;
use axum::http::StatusCode;
use scal3ml_api::DepositReply;
use scal3ml_primitives::Cid;
use scal3ml_primitives::clock::now_secs;
use scal3ml_store::crypt::FileKey;

use super::{Action, Fail, Gateway, Inner, Origin};
use crate::content::KeyCheck;
use crate::eip712::{SignedKeyDeposit, domain, recover};
use crate::error::{AccessError, AccessResult, ApiError};
use crate::keys::{Deposited, Pending};

/// What [`Gateway::sweep_pending`] did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SweepReport {
    /// Pending deposits now known to be published (kept for good).
    pub published: usize,
    /// Pending deposits dropped (older than the grace period, content named by nothing).
    pub dropped: usize,
}

impl Gateway {
    /// Deposits a content key for content this node holds, as the EIP-712 signed `dep` says: the chain, this
    /// gateway, the expiry, the depositor's signature over the key's hash and a fresh nonce are checked, then
    /// that the content is here and the key opens it, then the limits on pending deposits. Depositing the same
    /// key again is harmless (`stored: false`); another key for the same CID and depositor is `key_conflict`.
    pub async fn deposit(
        &self,
        origin: Origin,
        dep: SignedKeyDeposit,
    ) -> Result<DepositReply, ApiError> {
        let mut decision = self.admit(Action::Deposit, origin)?;
        decision.account(dep.depositor);
        decision.cid(&dep.cid);
        let result = self.store_deposit(dep).await;
        let reply = self.decide(decision, result)?;
        tracing::info!(target: "access::keys", cid = %reply.cid, depositor = %reply.depositor, new = reply.stored, "key deposited");
        Ok(reply)
    }

    async fn store_deposit(&self, dep: SignedKeyDeposit) -> Result<DepositReply, Fail> {
        let s = &self.0;
        s.check_common(dep.chain_id, &dep.gateway, dep.expiry, "deposit")?;
        let key = FileKey::from_hex(&dep.key).map_err(|_| {
            ApiError::bad_request("key must be 32 hex characters (the 16-byte content key)")
        })?;
        let cid: Cid = dep
            .cid
            .parse()
            .map_err(|e| ApiError::bad_request(format!("cid: {e}")))?;
        let hash = dep
            .typed(keccak256(key.0))
            .eip712_signing_hash(&domain(dep.chain_id));
        match recover(&dep.signature, &hash) {
            Ok(a) if a == dep.depositor => {}
            Ok(other) => {
                return Err(ApiError::unauthorized(
                    "bad_signature",
                    format!(
                        "the signature does not match depositor {} and this key (it recovers {other}): sign the \
                         deposit with the publishing account's key",
                        dep.depositor
                    ),
                )
                .into());
            }
            Err(reason) => return Err(ApiError::unauthorized("bad_signature", reason).into()),
        }
        s.use_nonce(dep.depositor, dep.nonce, dep.expiry, "deposit")?;
        // The content must be here (the CLI and the browser upload it before depositing), and the key must open
        // it: a key for content this node does not hold costs memory and disk and helps no buyer, and a key that
        // does not open it would leave buyers with nothing.
        let charge = Fail::charged(dep.depositor);
        match crate::content::key_opens(s.store.as_ref(), &cid, &key).await {
            Ok(KeyCheck::Opens) => {}
            Ok(KeyCheck::NotHeld) => {
                return Err(charge(ApiError::new(
                    StatusCode::CONFLICT,
                    "content_not_held",
                    format!(
                        "this node does not hold content {cid}, so it cannot check the key or serve buyers: upload \
                         the content first (POST /api/car; `scal3ml publish` does), then deposit its key"
                    ),
                )));
            }
            Ok(KeyCheck::NoFile) => {
                return Err(charge(ApiError::bad_request(format!(
                    "content {cid} holds no file to check the key on: an encrypted asset needs at least one file"
                ))
                .with_code("key_mismatch")));
            }
            Err(e) => {
                return Err(charge(match e {
                    AccessError::Store(
                        scal3ml_store::StoreError::Decrypt { .. }
                        | scal3ml_store::StoreError::Malformed { .. },
                    ) => ApiError::bad_request(format!(
                        "this key does not decrypt content {cid} held here ({e}): deposit the key the content was \
                         encrypted with"
                    ))
                    .with_code("key_mismatch"),
                    other => other.into(),
                }));
            }
        }
        if !s.vault.holds(&cid, dep.depositor) {
            s.room_for_deposit(&cid, dep.depositor)
                .await
                .map_err(charge)?;
        }
        // The deposit fsyncs the key store: off the async threads.
        let (inner, stored_cid, depositor) = (self.0.clone(), cid, dep.depositor);
        let done =
            tokio::task::spawn_blocking(move || inner.vault.deposit(&stored_cid, depositor, &key))
                .await
                .map_err(|e| {
                    Fail::from(ApiError::internal(format!("the deposit task failed: {e}")))
                })?
                .map_err(|e| charge(e.into()))?;
        Ok(DepositReply {
            cid: cid.to_string(),
            depositor: dep.depositor,
            stored: done == Deposited::New,
        })
    }

    /// Looks at every pending deposit (no chain event was known to name its content): those the catalog now
    /// finds named are kept for good, those older than the grace period that it finds named by nothing are
    /// dropped. A deposit is dropped only on the catalog's word; one it cannot tell about stays. The node runs
    /// it every hour.
    pub async fn sweep_pending(&self) -> AccessResult<SweepReport> {
        self.0.sweep(|_| true).await
    }
}

impl Inner {
    /// older than the grace period that the catalog says nothing names.
    async fn sweep(&self, which: impl Fn(&Pending) -> bool) -> AccessResult<SweepReport> {
        let now = now_secs();
        let grace = self.config.pending_grace.as_secs();
        let (mut published, mut dropped) = (Vec::new(), Vec::new());
        for p in self.vault.pending().into_iter().filter(|p| which(p)) {
            match self.directory.references(&p.cid).await? {
                Some(true) => published.push((p.cid, p.depositor)),
                Some(false) if now.saturating_sub(p.deposited_at) >= grace => {
                    tracing::info!(target: "access::keys", cid = %p.cid, depositor = %p.depositor,
                        "dropping a key deposited for content nobody published within the grace period");
                    dropped.push((p.cid, p.depositor));
                }
                _ => {}
            }
        }
        let report = SweepReport {
            published: published.len(),
            dropped: dropped.len(),
        };
        if report.published + report.dropped > 0 {
            self.vault.settle(&published, &dropped)?;
        }
        Ok(report)
    }

    /// Refuses a new deposit while its depositor, its CID or the gateway has too many pending; first tries to
    /// make room by sweeping (the depositor's own, or everything at most once a minute).
    async fn room_for_deposit(&self, cid: &Cid, depositor: Address) -> Result<(), ApiError> {
        #[derive(Clone, Copy, PartialEq, Eq)]
        enum Full {
            Depositor,
            Cid,
            Gateway,
        }
        let cfg = &self.config;
        let over = |c: crate::keys::PendingCounts| {
            if c.of_depositor >= cfg.max_pending_per_depositor {
                Some(Full::Depositor)
            } else if c.of_cid >= cfg.max_pending_per_cid {
                Some(Full::Cid)
            } else if c.total >= cfg.max_pending {
                Some(Full::Gateway)
            } else {
                None
            }
        };
        let Some(first) = over(self.vault.pending_counts(depositor, cid)) else {
            return Ok(());
        };
        if first == Full::Depositor {
            self.sweep(|p| p.depositor == depositor).await?;
        } else {
            let now = now_secs();
            let due = {
                let mut last = self.last_sweep.lock().unwrap_or_else(|p| p.into_inner());
                let due = now.saturating_sub(*last) >= 60;
                if due {
                    *last = now;
                }
                due
            };
            if due {
                self.sweep(|_| true).await?;
            }
        }
        let Some(full) = over(self.vault.pending_counts(depositor, cid)) else {
            return Ok(());
        };
        let grace = cfg.pending_grace.as_secs();
        let now = now_secs();
        let oldest = self
            .vault
            .pending()
            .into_iter()
            .find(|p| match full {
                Full::Depositor => p.depositor == depositor,
                Full::Cid => p.cid == *cid,
                Full::Gateway => true,
            })
            .map_or(now, |p| p.deposited_at);
        let wait = (oldest + grace).saturating_sub(now).max(1);
        let message = match full {
            Full::Depositor => format!(
                "account {depositor} already has {} key deposits for content no chain event names yet: publish \
                 (or propose) what you deposited keys for, or wait until unpublished deposits are dropped \
                 ({} h after they were made)",
                cfg.max_pending_per_depositor,
                grace / 3600
            ),
            Full::Cid => format!(
                "{} accounts already deposited keys for content {cid}, which no chain event names yet: publish it \
                 first, then deposit",
                cfg.max_pending_per_cid
            ),
            Full::Gateway => format!(
                "this gateway holds {} key deposits for unpublished content, its limit: try again later",
                cfg.max_pending
            ),
        };
        Err(ApiError::rate_limited(wait, message).with_code("too_many_pending_keys"))
    }
}
