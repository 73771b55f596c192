//! The glue between the node's parts: the indexer reads cards from the block store, and the access gateway
//! looks assets up in the catalog.

use scal3ml_access::{
    AccessError, AccessResult, AssetContent, AssetDirectory, ProposalContent, VersionContent,
};
use scal3ml_index::{CardFuture, CardSource, Index};
use scal3ml_primitives::ProposalId;
use scal3ml_primitives::{AssetId, Cid};
use scal3ml_store::{BlockStore, StoreError, export};
use std::sync::Arc;

/// Largest card the catalog reads (cards are small JSON; anything bigger is not one).
const MAX_CARD_BYTES: u64 = 1 << 20;

/// Cards come from the node's block store: the publisher uploads them with the content.
pub(crate) struct StoreCards(pub(crate) Arc<dyn BlockStore>);

impl CardSource for StoreCards {
    fn card<'a>(&'a self, cid: &'a Cid) -> CardFuture<'a> {
        Box::pin(async move {
            match export::cat_to_vec(self.0.as_ref(), cid, MAX_CARD_BYTES).await {
                Ok(bytes) => Ok(Some(bytes)),
                Err(StoreError::NotFound { .. } | StoreError::LimitExceeded { .. }) => Ok(None),
                Err(e) => Err(e.into()),
            }
        })
    }
}

/// The access gateway's view of an asset, from the catalog.
pub(crate) struct CatalogDirectory(pub(crate) Index);

#[async_trait::async_trait]
impl AssetDirectory for CatalogDirectory {
    async fn content(&self, asset: AssetId) -> AccessResult<Option<AssetContent>> {
        let index = self.0.clone();
        let found = tokio::task::spawn_blocking(move || index.asset_content(AssetId(asset.0)))
            .await
            .map_err(|e| AccessError::Config(format!("catalog lookup task failed: {e}")))?
            .map_err(|e| AccessError::Config(format!("catalog lookup of asset {asset}: {e}")))?;
        let Some(found) = found else { return Ok(None) };
        let parse = |text: &str| {
            text.parse::<Cid>().map_err(|e| {
                AccessError::Config(format!(
                    "asset {asset} has a content id that is no CID: {e}"
                ))
            })
        };
        Ok(Some(AssetContent {
            versions: found
                .versions
                .iter()
                .map(|v| {
                    Ok(VersionContent {
                        cid: parse(&v.content_cid)?,
                        author: v.author,
                        block: v.block,
                    })
                })
                .collect::<AccessResult<_>>()?,
            encrypted: found.encrypted,
        }))
    }

    async fn proposal(&self, id: u64) -> AccessResult<Option<ProposalContent>> {
        let index = self.0.clone();
        let found = tokio::task::spawn_blocking(move || index.proposal(ProposalId(id)))
            .await
            .map_err(|e| AccessError::Config(format!("catalog lookup task failed: {e}")))?
            .map_err(|e| AccessError::Config(format!("catalog lookup of proposal {id}: {e}")))?;
        let Some((p, _)) = found else { return Ok(None) };
        let content_cid = p.content_cid.parse::<Cid>().map_err(|e| {
            AccessError::Config(format!(
                "proposal {id} has a content id that is no CID: {e}"
            ))
        })?;
        Ok(Some(ProposalContent {
            asset: AssetId(p.asset),
            proposer: p.proposer,
            content_cid,
        }))
    }

    /// Asks the catalog; `None` until the indexer has read any block (a catalog being rebuilt knows nothing
    /// yet, and must not get a publisher's key dropped).
    async fn references(&self, cid: &Cid) -> AccessResult<Option<bool>> {
        let index = self.0.clone();
        let bytes = cid.to_bytes();
        tokio::task::spawn_blocking(move || {
            if index.next_block()?.is_none() {
                return Ok(None);
            }
            index.references(&bytes).map(Some)
        })
        .await
        .map_err(|e| AccessError::Config(format!("catalog lookup task failed: {e}")))?
        .map_err(|e: scal3ml_index::IndexError| {
            AccessError::Directory(format!("catalog lookup of content {cid}: {e}"))
        })
    }
}
