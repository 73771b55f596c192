//! A node for the tests: the embedded chain with the contracts deployed, a memory block store, the access
//! gateway on 127.0.0.1 port 0 over HTTP, and an asset directory read from the chain's events.

use std::net::SocketAddr;
use std::sync::Arc;

use alloy::{
    network::EthereumWallet,
    primitives::{Address, B256, Bytes, U256, aliases::U96},
    providers::{Provider, ProviderBuilder},
    signers::local::PrivateKeySigner,
};
use async_trait::async_trait;
use scal3ml_access::{
    AccessConfig, AccessResult, AssetContent, AssetDirectory, ChainLicenses, Gateway,
    ProposalContent, VersionContent, client::AccessClient, router,
};
use scal3ml_contracts::{Marketplace, deploy};
use scal3ml_devnet::{DevnetConfig, DevnetHandle, spawn};
use scal3ml_primitives::{AssetId, Cid};
use scal3ml_store::{
    BlockStore, ImportOptions, MemStore, add_reader,
    crypt::{self, FileKey},
    http::HttpClient,
};

pub(crate) const ONE_ETH: u128 = 1_000_000_000_000_000_000;

/// The asset directory a node builds from `AssetPublished` and `VersionAdded`, read straight from the chain.
pub(crate) struct ChainDirectory {
    market: Marketplace::MarketplaceInstance<alloy::providers::RootProvider>,
}

#[async_trait]
impl AssetDirectory for ChainDirectory {
    async fn content(&self, asset: AssetId) -> AccessResult<Option<AssetContent>> {
        let topic = B256::from(asset.to_u256());
        let err = |e: alloy::contract::Error| scal3ml_access::AccessError::Directory(e.to_string());
        let published = self
            .market
            .AssetPublished_filter()
            .topic1(topic)
            .from_block(0)
            .query()
            .await
            .map_err(err)?;
        let Some((event, _)) = published.into_iter().next() else {
            return Ok(None);
        };
        let mut versions = self
            .market
            .VersionAdded_filter()
            .topic1(topic)
            .from_block(0)
            .query()
            .await
            .map_err(err)?;
        versions.sort_by_key(|(v, _)| v.index);
        let cid = |b: &Bytes| Cid::from_bytes(b).expect("the chain holds real CIDs");
        let mut out = Vec::new();
        for (v, log) in &versions {
            out.push(VersionContent {
                cid: cid(&v.contentCid),
                author: v.author,
                block: log.block_number.expect("a mined log"),
            });
        }
        Ok(Some(AssetContent {
            versions: out,
            encrypted: event.encrypted,
        }))
    }

    async fn proposal(&self, id: u64) -> AccessResult<Option<ProposalContent>> {
        let err = |e: alloy::contract::Error| scal3ml_access::AccessError::Directory(e.to_string());
        let created = self
            .market
            .ProposalCreated_filter()
            .topic1(B256::from(U256::from(id)))
            .from_block(0)
            .query()
            .await
            .map_err(err)?;
        Ok(created.into_iter().next().map(|(p, _)| ProposalContent {
            asset: AssetId::try_from(p.assetId).unwrap(),
            proposer: p.proposer,
            content_cid: Cid::from_bytes(&p.contentCid).expect("a real CID"),
        }))
    }

    /// Whether any version on the chain has this content (proposals are not counted here).
    async fn references(&self, cid: &Cid) -> AccessResult<Option<bool>> {
        let err = |e: alloy::contract::Error| scal3ml_access::AccessError::Directory(e.to_string());
        let versions = self
            .market
            .VersionAdded_filter()
            .from_block(0)
            .query()
            .await
            .map_err(err)?;
        Ok(Some(
            versions
                .iter()
                .any(|(v, _)| *v.contentCid == cid.to_bytes()),
        ))
    }
}

pub(crate) struct Node {
    pub(crate) devnet: DevnetHandle,
    pub(crate) marketplace: Address,
    pub(crate) store: Arc<MemStore>,
    pub(crate) base: String,
    pub(crate) state: Gateway,
    pub(crate) data_dir: tempfile::TempDir,
    pub(crate) client: AccessClient,
    pub(crate) chain_id: u64,
}

impl Node {
    /// Starts everything; `failures` is the gateway's refusal budget per IP and account per hour.
    pub(crate) async fn start(failures: u32) -> Self {
        Self::start_with(failures, true).await
    }

    /// As [`Node::start`]; without `connect_info` the server does not tell the gateway the client's IP.
    pub(crate) async fn start_with(failures: u32, connect_info: bool) -> Self {
        Self::start_configured(failures, connect_info, |c| c).await
    }

    /// As [`Node::start_with`], with the gateway's configuration changed by `configure`.
    pub(crate) async fn start_configured(
        failures: u32,
        connect_info: bool,
        configure: impl FnOnce(AccessConfig) -> AccessConfig,
    ) -> Self {
        let devnet = spawn(DevnetConfig::test()).await.unwrap();
        let admin = devnet.dev_keys()[0].0;
        let deployment = deploy(&wallet_provider(&devnet, 0), admin).await.unwrap();
        let chain_id = devnet.chain_id();
        let reader = ProviderBuilder::default().connect_http(devnet.http_url().parse().unwrap());
        let licenses = Arc::new(ChainLicenses::new(deployment.marketplace, reader.clone()));
        let directory = Arc::new(ChainDirectory {
            market: Marketplace::new(deployment.marketplace, reader),
        });
        let store = Arc::new(MemStore::new());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let data_dir = tempfile::tempdir().unwrap();
        let config = configure(
            AccessConfig::new(data_dir.path().join("access"), chain_id, &base)
                .with_failure_window(failures, std::time::Duration::from_secs(3600)),
        );
        let state = Gateway::open(
            config,
            licenses,
            directory,
            store.clone() as Arc<dyn BlockStore>,
        )
        .unwrap();
        let app = axum::Router::new().nest("/access", router(state.clone()));
        tokio::spawn(async move {
            if connect_info {
                axum::serve(
                    listener,
                    app.into_make_service_with_connect_info::<SocketAddr>(),
                )
                .await
                .unwrap();
            } else {
                axum::serve(listener, app).await.unwrap();
            }
        });
        let client = AccessClient::new(&base, &HttpClient::default());
        Self {
            devnet,
            marketplace: deployment.marketplace,
            store,
            base,
            state,
            data_dir,
            client,
            chain_id,
        }
    }

    pub(crate) fn signer(&self, index: usize) -> PrivateKeySigner {
        PrivateKeySigner::from_bytes(&self.devnet.dev_keys()[index].1).unwrap()
    }

    pub(crate) fn address(&self, index: usize) -> Address {
        self.devnet.dev_keys()[index].0
    }

    pub(crate) fn market(
        &self,
        index: usize,
    ) -> Marketplace::MarketplaceInstance<impl Provider + Clone + use<>> {
        Marketplace::new(self.marketplace, wallet_provider(&self.devnet, index))
    }

    /// Encrypts `plaintext` under a fresh key into the store; returns the key and the content CID.
    pub(crate) async fn encrypt_into_store(&self, plaintext: &[u8]) -> (FileKey, Cid) {
        let key = FileKey::generate().unwrap();
        let ciphertext = crypt::encrypt_vec(plaintext, &key, [5; 16]);
        let cid = import(self.store.as_ref(), ciphertext).await;
        (key, cid)
    }

    /// Encrypts `plaintext` under a fresh key without storing it here (content not uploaded yet); returns the
    /// key, the content CID and the ciphertext.
    pub(crate) async fn encrypt_elsewhere(&self, plaintext: &[u8]) -> (FileKey, Cid, Vec<u8>) {
        let key = FileKey::generate().unwrap();
        let ciphertext = crypt::encrypt_vec(plaintext, &key, [6; 16]);
        let cid = import(&MemStore::new(), ciphertext.clone()).await;
        (key, cid, ciphertext)
    }

    /// Uploads bytes into this node's store.
    pub(crate) async fn upload(&self, bytes: Vec<u8>) -> Cid {
        import(self.store.as_ref(), bytes).await
    }

    /// Publishes an encrypted asset owned by account `owner` whose content is `cid`, at `price` wei with a license
    /// of `duration` seconds (0 = perpetual). Returns its id.
    pub(crate) async fn publish(
        &self,
        owner: usize,
        cid: &Cid,
        price: u128,
        duration: u64,
    ) -> AssetId {
        self.publish_as(owner, cid, price, duration, true).await
    }

    /// As [`Node::publish`], encrypted or not.
    pub(crate) async fn publish_as(
        &self,
        owner: usize,
        cid: &Cid,
        price: u128,
        duration: u64,
        encrypted: bool,
    ) -> AssetId {
        let market = self.market(owner);
        let id = market.nextAssetId().call().await.unwrap();
        let params = Marketplace::PublishParams {
            kind: 1,
            contentCid: Bytes::from(cid.to_bytes()),
            metadataCid: Bytes::from(cid.to_bytes()),
            encrypted,
            gatewayUrl: self.base.clone(),
            parents: vec![],
            shareholders: vec![Marketplace::Shareholder {
                account: self.address(owner),
                shares: U96::from(100),
            }],
            listing: Marketplace::ListingTerms {
                token: Address::ZERO,
                price,
                duration,
            },
        };
        let receipt = market
            .publish(params)
            .send()
            .await
            .unwrap()
            .get_receipt()
            .await
            .unwrap();
        assert!(receipt.status(), "publish reverted");
        AssetId::try_from(id).unwrap()
    }

    pub(crate) async fn buy(&self, buyer: usize, asset: AssetId, price: u128) {
        // The card as the chain has it now (zero until the card first changes): the terms this buyer read.
        let card = self
            .market(buyer)
            .metadataHashOf(asset.to_u256())
            .call()
            .await
            .unwrap();
        let receipt = self
            .market(buyer)
            .buy(asset.to_u256(), Address::ZERO, U256::from(price), 0, card)
            .value(U256::from(price))
            .send()
            .await
            .unwrap()
            .get_receipt()
            .await
            .unwrap();
        assert!(receipt.status(), "buy reverted");
    }

    /// Adds a version with content `cid` (and `cid` as its card) to `asset` as its owner `owner`.
    pub(crate) async fn add_version(&self, owner: usize, asset: AssetId, cid: &Cid) {
        let bytes = Bytes::from(cid.to_bytes());
        let receipt = self
            .market(owner)
            .addVersion(asset.to_u256(), bytes.clone(), bytes)
            .send()
            .await
            .unwrap()
            .get_receipt()
            .await
            .unwrap();
        assert!(receipt.status(), "addVersion reverted");
    }

    /// Proposes content `cid` (also as card and description) for `asset` as account `proposer`; returns the
    /// proposal's id.
    pub(crate) async fn propose(&self, proposer: usize, asset: AssetId, cid: &Cid) -> u64 {
        let market = self.market(proposer);
        let bytes = Bytes::from(cid.to_bytes());
        let call = market.propose(
            asset.to_u256(),
            bytes.clone(),
            bytes.clone(),
            U96::from(1),
            bytes,
        );
        let id = call.call().await.unwrap();
        let receipt = call.send().await.unwrap().get_receipt().await.unwrap();
        assert!(receipt.status(), "propose reverted");
        u64::try_from(id).unwrap()
    }

    /// Moves the chain's clock forward and mines a block.
    pub(crate) async fn advance_time(&self, seconds: u64) {
        let p = wallet_provider(&self.devnet, 0);
        let _: serde_json::Value = p
            .raw_request("evm_increaseTime".into(), (seconds,))
            .await
            .unwrap();
        let _: serde_json::Value = p.raw_request("evm_mine".into(), ()).await.unwrap();
    }

    /// Every line of the audit log, parsed.
    pub(crate) fn audit(&self) -> Vec<serde_json::Value> {
        std::fs::read_to_string(self.state.audit_path())
            .unwrap()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect()
    }
}

async fn import(store: &MemStore, bytes: Vec<u8>) -> Cid {
    let imported = add_reader(store, std::io::Cursor::new(bytes), ImportOptions::kubo_v1())
        .await
        .unwrap();
    imported.cid
}

fn wallet_provider(node: &DevnetHandle, index: usize) -> impl Provider + Clone + use<> {
    let signer = PrivateKeySigner::from_bytes(&node.dev_keys()[index].1).unwrap();
    ProviderBuilder::new()
        .wallet(EthereumWallet::from(signer))
        .connect_http(node.http_url().parse().unwrap())
}

/// Deterministic test bytes.
pub(crate) fn noise(len: usize, seed: u8) -> Vec<u8> {
    let mut x = u32::from(seed) | 0x9e37_0000;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            x as u8
        })
        .collect()
}
