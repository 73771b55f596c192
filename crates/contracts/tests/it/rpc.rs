//! The contracts over JSON-RPC: `deploy` and a publish-buy-withdraw round trip through alloy against the
//! embedded devnet, the way the marketplace SDK will use them on any chain.

use crate::common::{ETH, ONE_ETH, World, u96};
use alloy::{
    network::EthereumWallet,
    primitives::{Address, B256, U256, keccak256},
    providers::{Provider, ProviderBuilder},
    signers::local::PrivateKeySigner,
};
use scal3ml_contracts::{
    DeploymentManifest, Marketplace,
    Marketplace::{MarketplaceErrors as E, Shareholder},
    deploy,
};
use scal3ml_devnet::{DevnetConfig, DevnetHandle, spawn};

fn provider(node: &DevnetHandle, index: usize) -> impl Provider + Clone + use<> {
    let signer = PrivateKeySigner::from_bytes(&node.dev_keys()[index].1).unwrap();
    ProviderBuilder::new()
        .wallet(EthereumWallet::from(signer))
        .connect_http(node.http_url().parse().unwrap())
}

#[tokio::test]
async fn deploy_over_rpc_records_what_the_chain_holds() {
    let node = spawn(DevnetConfig::test()).await.unwrap();
    let admin = node.dev_keys()[0].0;
    let p = provider(&node, 0);
    let deployment = deploy(&p, admin).await.unwrap();
    let manifest = &deployment.manifest;

    assert_eq!(manifest.chain_id, 31337);
    assert_eq!(manifest.deployer, admin);
    assert_eq!(
        manifest.address("Marketplace").unwrap(),
        deployment.marketplace
    );
    assert_eq!(
        manifest.address("Attestations").unwrap(),
        deployment.attestations
    );
    for (name, record) in &manifest.contracts {
        let code = p.get_code_at(record.address).await.unwrap();
        assert!(!code.is_empty(), "{name} has no code on chain");
        assert_eq!(
            keccak256(&code),
            record.runtime_code_hash,
            "{name} runtime hash"
        );
        let receipt = p
            .get_transaction_receipt(record.transaction_hash)
            .await
            .unwrap()
            .unwrap_or_else(|| panic!("{name}: no receipt for its deployment"));
        assert_eq!(receipt.contract_address, Some(record.address), "{name}");
        assert_eq!(receipt.block_number, Some(record.block_number), "{name}");
    }

    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("deployment.json");
    manifest.save(&path).unwrap();
    assert_eq!(&DeploymentManifest::load(&path).unwrap(), manifest);
    node.shutdown().await;
}

#[tokio::test]
async fn publish_buy_and_withdraw_over_rpc() {
    let node = spawn(DevnetConfig::test()).await.unwrap();
    let keys = node.dev_keys();
    let (owner, partner, buyer) = (keys[1].0, keys[2].0, keys[3].0);
    let deployment = deploy(&provider(&node, 0), keys[0].0).await.unwrap();
    let market = |index| Marketplace::new(deployment.marketplace, provider(&node, index));

    let mut params = World::new().params(owner);
    params.shareholders = vec![
        Shareholder {
            account: owner,
            shares: u96(60),
        },
        Shareholder {
            account: partner,
            shares: u96(40),
        },
    ];
    let receipt = market(1)
        .publish(params)
        .send()
        .await
        .unwrap()
        .get_receipt()
        .await
        .unwrap();
    assert!(receipt.status(), "publish reverted");
    let id = U256::from(1);
    assert_eq!(market(1).ownerOf(id).call().await.unwrap(), owner);
    assert!(!market(3).hasAccess(id, buyer).call().await.unwrap());

    // A price cap below the listing is refused with the figures that explain it.
    let err = market(3)
        .buy(id, ETH, U256::from(ONE_ETH - 1), 0, B256::ZERO)
        .value(U256::from(ONE_ETH))
        .call()
        .await
        .unwrap_err();
    match err.as_decoded_interface_error::<E>() {
        Some(E::PriceTooHigh(e)) => assert_eq!(
            (e.price, e.maxPrice),
            (U256::from(ONE_ETH), U256::from(ONE_ETH - 1))
        ),
        other => panic!("expected PriceTooHigh, got {other:?} from {err}"),
    }

    let receipt = market(3)
        .buy(id, ETH, U256::from(ONE_ETH), 0, B256::ZERO)
        .value(U256::from(ONE_ETH))
        .send()
        .await
        .unwrap()
        .get_receipt()
        .await
        .unwrap();
    assert!(receipt.status(), "buy reverted");
    assert!(market(3).hasAccess(id, buyer).call().await.unwrap());
    let owed = |account: Address| async move {
        market(1).claimable(id, account, ETH).call().await.unwrap()
    };
    assert_eq!(owed(owner).await, U256::from(ONE_ETH / 100 * 60));
    assert_eq!(owed(partner).await, U256::from(ONE_ETH / 100 * 40));

    let p2 = provider(&node, 2);
    let before = p2.get_balance(partner).await.unwrap();
    let receipt = market(2)
        .withdraw(id, ETH)
        .send()
        .await
        .unwrap()
        .get_receipt()
        .await
        .unwrap();
    let gas = U256::from(receipt.gas_used) * U256::from(receipt.effective_gas_price);
    assert_eq!(
        p2.get_balance(partner).await.unwrap(),
        before + U256::from(ONE_ETH / 100 * 40) - gas
    );
    assert_eq!(owed(partner).await, U256::ZERO);
    node.shutdown().await;
}
