//! A world for the chain tests: the embedded chain in-process, the contracts deployed, a TestToken the admin
//! allows for payment, and one `Market` per dev account.

use alloy::{
    network::EthereumWallet,
    primitives::{Address, U256},
    providers::{DynProvider, Provider, ProviderBuilder},
    signers::local::PrivateKeySigner,
};
use scal3ml_contracts::{TestToken, deploy};
use scal3ml_devnet::{DevnetConfig, DevnetHandle, spawn};
use scal3ml_market::{Deployment, Market};
use scal3ml_primitives::Cid;

pub(crate) const ETH: Address = Address::ZERO;

pub(crate) fn provider(node: &DevnetHandle, index: usize) -> DynProvider {
    let signer = PrivateKeySigner::from_bytes(&node.dev_keys()[index].1).unwrap();
    ProviderBuilder::new()
        .wallet(EthereumWallet::from(signer))
        .connect_http(node.http_url().parse().unwrap())
        .erased()
}

/// A CIDv1 (raw, sha2-256) whose digest is `seed` repeated.
pub(crate) fn cid(seed: u8) -> Cid {
    let mut b = vec![0x01, 0x55, 0x12, 0x20];
    b.extend([seed; 32]);
    Cid::from_bytes(b).unwrap()
}

pub(crate) struct World {
    pub(crate) node: DevnetHandle,
    pub(crate) deployment: Deployment,
    pub(crate) token: Address,
    pub(crate) accounts: Vec<Address>,
}

impl World {
    /// Fee `fee_bps` to the admin (account 0), TestToken "TUSD" allowed for payment.
    pub(crate) async fn new(fee_bps: u16) -> Self {
        Self::with_config(fee_bps, DevnetConfig::test()).await
    }

    pub(crate) async fn with_config(fee_bps: u16, config: DevnetConfig) -> Self {
        let node = spawn(config).await.unwrap();
        let accounts: Vec<Address> = node.dev_keys().iter().map(|k| k.0).collect();
        let admin = provider(&node, 0);
        let deployed = deploy(&admin, accounts[0]).await.unwrap();
        let token = *TestToken::deploy(&admin, "Test USD".into(), "TUSD".into())
            .await
            .unwrap()
            .address();
        let deployment = Deployment::from(&deployed);
        assert_eq!(
            Deployment::try_from(&deployed.manifest).unwrap(),
            deployment
        );
        let m0 = Market::connect(admin, deployment, accounts[0])
            .await
            .unwrap();
        m0.set_fee(accounts[0], fee_bps).await.unwrap();
        m0.allow_payment_token(token).await.unwrap();
        assert_eq!(m0.fee_bps().await.unwrap(), fee_bps);
        Self {
            deployment,
            node,
            token,
            accounts,
        }
    }

    pub(crate) async fn market(&self, index: usize) -> Market<DynProvider> {
        Market::builder(
            provider(&self.node, index),
            self.deployment,
            self.accounts[index],
        )
        .rpc_url(self.node.http_url())
        .connect()
        .await
        .unwrap()
    }

    pub(crate) async fn mint(&self, to: usize, amount: U256) {
        let t = TestToken::new(self.token, provider(&self.node, to));
        let r = t.mint(self.accounts[to], amount).send().await.unwrap();
        assert!(r.get_receipt().await.unwrap().status());
    }

    pub(crate) async fn eth(&self, who: Address) -> U256 {
        provider(&self.node, 0).get_balance(who).await.unwrap()
    }

    pub(crate) async fn tokens(&self, who: Address) -> U256 {
        TestToken::new(self.token, provider(&self.node, 0))
            .balanceOf(who)
            .call()
            .await
            .unwrap()
    }

    pub(crate) async fn nonce(&self, who: Address) -> u64 {
        provider(&self.node, 0)
            .get_transaction_count(who)
            .await
            .unwrap()
    }
}
