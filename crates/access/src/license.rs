//! What the gateway asks others: the chain (may this account use this asset?) through [`LicenseChecker`], and
//! the catalog (who published this asset, with which content?) through [`AssetDirectory`]. Both are traits so
//! the node wires its own (the chain over its alloy provider, the directory over the indexer).

use alloy::{eips::BlockId, providers::Provider};
use alloy_primitives::Address;
use async_trait::async_trait;
use scal3ml_contracts::Marketplace;
use scal3ml_primitives::{AssetId, Cid};

use crate::error::{AccessError, AccessResult};

/// Answers license questions, at the chain's latest block.
#[async_trait]
pub trait LicenseChecker: Send + Sync {
    /// Whether `account` may use `asset` now (the contract's `hasAccess`).
    async fn has_access(&self, asset: AssetId, account: Address) -> AccessResult<bool>;
    /// Whether `account` could use `asset` at block `block` (`hasAccess` in that block's state): a version's key
    /// goes to whoever could read the asset when the version was added. Needs the chain's state at that block
    /// (an archive node for old blocks).
    async fn had_access(&self, asset: AssetId, account: Address, block: u64) -> AccessResult<bool>;
    /// When `account`'s license of `asset` expires (Unix seconds), `None` if it never had one. Used only to tell
    /// an expired license from none at all in the refusal.
    async fn license_expiry(&self, asset: AssetId, account: Address) -> AccessResult<Option<u64>>;
}

/// [`LicenseChecker`] over the deployed `Marketplace` contract, through any alloy provider.
#[derive(Debug, Clone)]
pub struct ChainLicenses<P> {
    market: Marketplace::MarketplaceInstance<P>,
}

impl<P: Provider> ChainLicenses<P> {
    /// Asks the marketplace at `marketplace` through `provider`.
    pub fn new(marketplace: Address, provider: P) -> Self {
        Self {
            market: Marketplace::new(marketplace, provider),
        }
    }
}

#[async_trait]
impl<P: Provider + Send + Sync> LicenseChecker for ChainLicenses<P> {
    async fn has_access(&self, asset: AssetId, account: Address) -> AccessResult<bool> {
        self.market
            .hasAccess(asset.to_u256(), account)
            .block(BlockId::latest())
            .call()
            .await
            .map_err(|e| AccessError::Chain(format!("hasAccess({asset}, {account}): {e}")))
    }

    async fn had_access(&self, asset: AssetId, account: Address, block: u64) -> AccessResult<bool> {
        self.market
            .hasAccess(asset.to_u256(), account)
            .block(BlockId::number(block))
            .call()
            .await
            .map_err(|e| {
                AccessError::Chain(format!(
                    "hasAccess({asset}, {account}) at block {block}: {e} (the gateway needs the chain's state at \
                     the block a version was added: point the node at an archive RPC endpoint)"
                ))
            })
    }

    async fn license_expiry(&self, asset: AssetId, account: Address) -> AccessResult<Option<u64>> {
        let expiry = self
            .market
            .licenseExpiry(asset.to_u256(), account)
            .block(BlockId::latest())
            .call()
            .await
            .map_err(|e| AccessError::Chain(format!("licenseExpiry({asset}, {account}): {e}")))?;
        Ok((expiry != 0).then_some(expiry))
    }
}

/// What the gateway needs to know of an asset.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AssetContent {
    /// Every version in order (never empty); the latest is what content requests stream unless they name a
    /// version.
    pub versions: Vec<VersionContent>,
    /// Whether the content is encrypted.
    pub encrypted: bool,
}

/// One version of an asset (a `VersionAdded` event): its content, who made it and when.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VersionContent {
    /// The content CID.
    pub cid: Cid,
    /// Who made it: the publisher for version 0, the owner for `addVersion`, the proposer for an executed
    /// proposal. Only this account's key deposit for `cid` is released for the version.
    pub author: Address,
    /// The block it was added in: whoever could read the asset then (`hasAccess` at that block) may read it.
    pub block: u64,
}

impl AssetContent {
    /// Version 0.
    pub fn first(&self) -> &VersionContent {
        self.versions.first().expect("an asset has version 0")
    }

    /// Version `n`, or the latest for `None`, with its number; `None` if there is no version `n`.
    pub fn version(&self, n: Option<u64>) -> Option<(u64, &VersionContent)> {
        match n {
            None => {
                let last = self.versions.len() - 1;
                Some((last as u64, &self.versions[last]))
            }
            Some(n) => self.versions.get(usize::try_from(n).ok()?).map(|v| (n, v)),
        }
    }
}

/// What the gateway needs to know of a proposed new version (the `ProposalCreated` event).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProposalContent {
    /// The asset it would change: who may read it is who may read this asset.
    pub asset: AssetId,
    /// Who proposed it: the only depositor whose key for `content_cid` is used, and a reader too.
    pub proposer: Address,
    /// The proposed content.
    pub content_cid: Cid,
}

/// Looks assets up (the node implements it over its catalog).
#[async_trait]
pub trait AssetDirectory: Send + Sync {
    /// The asset's publisher and content, `None` if no such asset is known.
    async fn content(&self, asset: AssetId) -> AccessResult<Option<AssetContent>>;

    /// A proposal's asset, proposer and content, `None` if no such proposal is known (the default: a directory
    /// that knows no proposals serves none).
    async fn proposal(&self, id: u64) -> AccessResult<Option<ProposalContent>> {
        let _ = id;
        Ok(None)
    }

    /// Whether a chain event the directory knows names `cid` as content (a version of an asset, or a
    /// proposal): `Some(false)` only when it is sure nothing does, `None` when it cannot tell (the default, so
    /// a directory that cannot answer never has a deposit dropped). Pending key deposits are dropped after the
    /// grace period only on `Some(false)`.
    async fn references(&self, cid: &Cid) -> AccessResult<Option<bool>> {
        let _ = cid;
        Ok(None)
    }
}
