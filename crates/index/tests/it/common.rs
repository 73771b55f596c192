//! A devnet with the contracts deployed, accounts, cards in a memory block store, and publish helpers.

use alloy::{
    network::EthereumWallet,
    primitives::{Address, Bytes, U256, aliases::U96},
    providers::{DynProvider, Provider, ProviderBuilder},
    signers::local::PrivateKeySigner,
};
use scal3ml_contracts::{Deployment, Marketplace, deploy};
use scal3ml_devnet::{DevnetConfig, DevnetHandle, spawn};
use scal3ml_index::{CardFuture, CardSource, Index, Indexer, IndexerConfig};
use scal3ml_primitives::Cid;
use scal3ml_store::{ImportOptions, MemStore, add_reader, export::cat_to_vec};
use std::sync::Arc;

pub(crate) const ETH: Address = Address::ZERO;
pub(crate) const ONE_ETH: u128 = 1_000_000_000_000_000_000;

/// Cards served from a memory block store, as the node serves them from its own.
pub(crate) struct StoreCards(pub(crate) Arc<MemStore>);

impl CardSource for StoreCards {
    fn card<'a>(&'a self, cid: &'a Cid) -> CardFuture<'a> {
        Box::pin(async move {
            if !scal3ml_store::BlockStore::has(&*self.0, cid).await? {
                return Ok(None);
            }
            Ok(Some(cat_to_vec(&*self.0, cid, u64::MAX).await?))
        })
    }
}

pub(crate) struct World {
    pub(crate) node: DevnetHandle,
    pub(crate) deployment: Deployment,
    pub(crate) accounts: Vec<Address>,
    pub(crate) store: Arc<MemStore>,
}

impl World {
    pub(crate) async fn new() -> Self {
        let node = spawn(DevnetConfig::test()).await.unwrap();
        let accounts: Vec<Address> = node.dev_keys().iter().map(|k| k.0).collect();
        let deployment = deploy(&Self::provider_of(&node, 0), accounts[0])
            .await
            .unwrap();
        Self {
            node,
            deployment,
            accounts,
            store: Arc::new(MemStore::new()),
        }
    }

    fn provider_of(node: &DevnetHandle, index: usize) -> DynProvider {
        let signer = PrivateKeySigner::from_bytes(&node.dev_keys()[index].1).unwrap();
        ProviderBuilder::new()
            .wallet(EthereumWallet::from(signer))
            .connect_http(node.http_url().parse().unwrap())
            .erased()
    }

    pub(crate) fn provider(&self, index: usize) -> DynProvider {
        Self::provider_of(&self.node, index)
    }

    pub(crate) fn market(&self, index: usize) -> Marketplace::MarketplaceInstance<DynProvider> {
        Marketplace::new(self.deployment.marketplace, self.provider(index))
    }

    pub(crate) fn config(&self) -> IndexerConfig {
        IndexerConfig::new(self.deployment.marketplace, self.deployment.attestations)
    }

    pub(crate) fn indexer(&self, index: Index) -> Indexer<DynProvider> {
        Indexer::new(self.provider(0), index, self.config())
            .with_cards(Arc::new(StoreCards(self.store.clone())))
    }

    /// Stores `bytes` in the world's block store; returns the CID as the contracts take it.
    pub(crate) async fn put(&self, bytes: &[u8]) -> Bytes {
        put_into(&self.store, bytes).await
    }
}

/// Imports `bytes` into `store` and returns the binary CID.
pub(crate) async fn put_into(store: &MemStore, bytes: &[u8]) -> Bytes {
    let imported = add_reader(
        store,
        std::io::Cursor::new(bytes.to_vec()),
        ImportOptions::kubo_v1(),
    )
    .await
    .unwrap();
    imported.cid.to_bytes().into()
}

/// A content CID that is not stored anywhere (the catalog never fetches content).
pub(crate) fn content_cid(seed: u8) -> Bytes {
    let mut b = vec![0x01, 0x55, 0x12, 0x20];
    b.extend([seed; 32]);
    b.into()
}

pub(crate) struct Publish {
    pub(crate) kind: u8,
    pub(crate) content: Bytes,
    pub(crate) metadata: Bytes,
    pub(crate) parents: Vec<(u64, u16)>,
    pub(crate) holders: Vec<(Address, u64)>,
    pub(crate) token: Address,
    pub(crate) price: u128,
    pub(crate) duration: u64,
}

impl Publish {
    pub(crate) fn new(owner: Address, metadata: Bytes) -> Self {
        Self {
            kind: 0,
            content: content_cid(1),
            metadata,
            parents: vec![],
            holders: vec![(owner, 100)],
            token: ETH,
            price: 0,
            duration: 0,
        }
    }

    pub(crate) fn params(&self) -> Marketplace::PublishParams {
        Marketplace::PublishParams {
            kind: self.kind,
            contentCid: self.content.clone(),
            metadataCid: self.metadata.clone(),
            encrypted: false,
            gatewayUrl: String::new(),
            parents: self
                .parents
                .iter()
                .map(|&(asset, bps)| Marketplace::ParentRef {
                    assetId: U256::from(asset),
                    royaltyBps: bps,
                })
                .collect(),
            shareholders: self
                .holders
                .iter()
                .map(|&(account, shares)| Marketplace::Shareholder {
                    account,
                    shares: U96::from(shares),
                })
                .collect(),
            listing: Marketplace::ListingTerms {
                token: self.token,
                price: self.price,
                duration: self.duration,
            },
        }
    }
}

/// Publishes from account `from`; returns the new asset's id.
pub(crate) async fn publish(world: &World, from: usize, p: &Publish) -> u64 {
    let market = world.market(from);
    let id = market.publish(p.params()).call().await.unwrap();
    let receipt = market
        .publish(p.params())
        .send()
        .await
        .unwrap()
        .get_receipt()
        .await
        .unwrap();
    assert!(receipt.status(), "publish reverted");
    id.to::<u64>()
}

/// Waits for a transaction's receipt and checks it succeeded.
pub(crate) async fn ok(
    pending: alloy::providers::PendingTransactionBuilder<alloy::network::Ethereum>,
) {
    let receipt = pending.get_receipt().await.unwrap();
    assert!(receipt.status(), "transaction reverted: {receipt:?}");
}

pub(crate) fn card(
    name: &str,
    kind: &str,
    description: &str,
    license: &str,
    tags: &[&str],
) -> Vec<u8> {
    serde_json::to_vec(&serde_json::json!({
        "schema": 1,
        "name": name,
        "kind": kind,
        "description": description,
        "license": license,
        "tags": tags,
        "task": if kind == "model" { "image-classification" } else { "text-generation" },
        "framework": if kind == "model" { "onnx" } else { "" },
        "files": [],
        "created": "2026-11-25T12:00:00Z",
    }))
    .unwrap()
}
