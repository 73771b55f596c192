//! Prepared transactions sent the way a browser wallet sends them: `eth_sendTransaction` with `{from, to,
//! data, value}` from an unlocked dev account, nothing else filled in. The purchase, the withdrawal and the
//! vote must take effect; a prepare that would fail says why before anything is sent.

use crate::common::{ETH, World, cid};
use alloy::{
    primitives::{Address, B256, U256},
    providers::{Provider, ProviderBuilder},
    rpc::types::TransactionReceipt,
};
use scal3ml_devnet::DevnetHandle;
use scal3ml_market::{BuyTerms, MarketError, PreparedCall, PublishRequest, parse_amount};
use scal3ml_primitives::{
    AssetId, AssetKind, LicenseDuration, LicenseTerms, PaymentToken, ProposalId,
};

/// Sends `step` as a wallet would and waits for its receipt, which must be a success.
async fn send(node: &DevnetHandle, from: Address, step: &PreparedCall) -> TransactionReceipt {
    let chain = ProviderBuilder::new().connect_http(node.http_url().parse().unwrap());
    let tx =
        serde_json::json!({"from": from, "to": step.to, "data": step.data, "value": step.value});
    let hash: B256 = chain
        .raw_request("eth_sendTransaction".into(), [tx])
        .await
        .unwrap_or_else(|e| panic!("{}: {e}", step.label));
    for _ in 0..200 {
        if let Some(receipt) = chain.get_transaction_receipt(hash).await.unwrap() {
            assert!(receipt.status(), "{} reverted", step.label);
            return receipt;
        }
        tokio::time::sleep(std::time::Duration::from_millis(25)).await;
    }
    panic!("{}: no receipt for {hash}", step.label);
}

fn listing(token: Address, price: U256) -> LicenseTerms {
    LicenseTerms {
        token: PaymentToken::from(token),
        price,
        duration: LicenseDuration::Perpetual,
    }
}

fn publish_request(seed: u8, holder: Address, price: U256) -> PublishRequest {
    PublishRequest {
        kind: AssetKind::Model,
        content_cid: cid(seed),
        metadata_cid: cid(seed + 100),
        encrypted: false,
        gateway_url: String::new(),
        parents: vec![],
        shareholders: vec![(holder, 10)],
        listing: listing(ETH, price),
    }
}

/// What a buyer reads off an asset published with `publish_request(seed, ..)` and listed in `token` at `price`.
fn terms(seed: u8, token: Address, price: U256) -> BuyTerms {
    BuyTerms::new(&listing(token, price), cid(seed + 100))
}

#[tokio::test]
async fn prepared_steps_sent_by_a_wallet_publish_buy_withdraw_and_vote() {
    let w = World::new(0).await;
    let a = &w.accounts;
    let (publisher, eth_buyer, token_buyer) = (a[2], a[4], a[5]);
    let price = parse_amount("0.25", 18).unwrap();
    let read = w.market(0).await;

    // Publishing: one step, from the publisher.
    let m2 = read.with_sender(publisher);
    let steps = m2
        .prepare_publish(publish_request(1, publisher, price))
        .await
        .unwrap();
    assert_eq!(steps.len(), 1);
    assert_eq!(steps[0].to, w.deployment.marketplace);
    assert_eq!(steps[0].value, U256::ZERO);
    send(&w.node, publisher, &steps[0]).await;
    let model = AssetId(1);
    assert_eq!(read.owner_of(model).await.unwrap(), publisher);
    // A second listing in the token, sent by the SDK itself.
    w.market(2)
        .await
        .set_listing(model, listing(w.token, U256::from(500)))
        .await
        .unwrap();

    // ETH: one step carrying the price.
    let steps = read
        .with_sender(eth_buyer)
        .prepare_buy(model, &terms(1, ETH, price))
        .await
        .unwrap();
    assert_eq!(steps.len(), 1);
    assert_eq!(steps[0].value, price);
    assert!(steps[0].label.contains("0.25 ETH"), "{}", steps[0].label);
    assert!(!read.has_access(model, eth_buyer).await.unwrap());
    send(&w.node, eth_buyer, &steps[0]).await;
    assert!(read.has_access(model, eth_buyer).await.unwrap());

    // The ERC-20: an approval of exactly the price, then the purchase (not estimated: no allowance yet).
    w.mint(5, U256::from(2_000)).await;
    let buyer = read.with_sender(token_buyer);
    let steps = buyer
        .prepare_buy(model, &terms(1, w.token, U256::from(500)))
        .await
        .unwrap();
    assert_eq!(steps.len(), 2, "{steps:?}");
    assert_eq!(steps[0].to, w.token);
    assert_eq!(steps[1].to, w.deployment.marketplace);
    assert!(steps.iter().all(|s| s.value.is_zero()));
    for step in &steps {
        send(&w.node, token_buyer, step).await;
    }
    assert!(read.has_access(model, token_buyer).await.unwrap());
    assert_eq!(w.tokens(token_buyer).await, U256::from(1_500));
    // With an allowance already in place there is no approval step.
    let second = w.market(3).await;
    second
        .publish(publish_request(2, a[3], U256::ZERO))
        .await
        .unwrap();
    second
        .set_listing(AssetId(2), listing(w.token, U256::from(100)))
        .await
        .unwrap();
    let t = scal3ml_contracts::TestToken::new(w.token, crate::common::provider(&w.node, 5));
    t.approve(w.deployment.marketplace, U256::from(100))
        .send()
        .await
        .unwrap()
        .get_receipt()
        .await
        .unwrap();
    let steps = buyer
        .prepare_buy(AssetId(2), &terms(2, w.token, U256::from(100)))
        .await
        .unwrap();
    assert_eq!(steps.len(), 1);
    send(&w.node, token_buyer, &steps[0]).await;
    assert!(read.has_access(AssetId(2), token_buyer).await.unwrap());

    // Withdrawals: one asset with `withdraw`, several with `withdrawMany`.
    let seller = read.with_sender(publisher);
    assert_eq!(read.claimable(model, publisher, ETH).await.unwrap(), price);
    let before = w.eth(publisher).await;
    let steps = seller.prepare_withdraw(ETH, &[model]).await.unwrap();
    let receipt = send(&w.node, publisher, &steps[0]).await;
    let gas = U256::from(receipt.gas_used) * U256::from(receipt.effective_gas_price);
    assert_eq!(w.eth(publisher).await, before + price - gas);
    assert!(
        read.claimable(model, publisher, ETH)
            .await
            .unwrap()
            .is_zero()
    );
    let steps = seller
        .prepare_withdraw(w.token, &[model, AssetId(2)])
        .await
        .unwrap();
    assert_eq!(steps.len(), 1);
    send(&w.node, publisher, &steps[0]).await;
    assert_eq!(w.tokens(publisher).await, U256::from(500));

    // A vote, an execution.
    let (proposal, _) = w
        .market(3)
        .await
        .propose(model, &cid(3), &cid(4), 2, &cid(5))
        .await
        .unwrap();
    let steps = seller.prepare_vote(proposal, true).await.unwrap();
    send(&w.node, publisher, &steps[0]).await;
    let info = read.proposal(proposal).await.unwrap();
    assert_eq!(info.yes_votes, 10);
    let steps = read
        .with_sender(a[3])
        .prepare_execute(proposal)
        .await
        .unwrap();
    send(&w.node, a[3], &steps[0]).await;
    assert_eq!(read.asset_record(model).await.unwrap().version_count, 2);
    w.node.shutdown().await;
}

#[tokio::test]
async fn a_prepare_that_would_fail_says_why_and_sends_nothing() {
    let w = World::new(0).await;
    let a = &w.accounts;
    let read = w.market(0).await;
    let m1 = w.market(1).await;
    let dear = parse_amount("20000", 18).unwrap();
    m1.publish(publish_request(1, a[1], dear)).await.unwrap();
    let buyer = read.with_sender(a[4]);
    let nonce = w.nonce(a[4]).await;

    let err = buyer
        .prepare_buy(AssetId(99), &terms(9, ETH, dear))
        .await
        .unwrap_err();
    assert!(
        matches!(err, MarketError::UnknownAsset { asset } if asset == AssetId(99)),
        "{err}"
    );
    let err = buyer
        .prepare_buy(AssetId(1), &terms(1, ETH, dear))
        .await
        .unwrap_err();
    assert!(
        matches!(err, MarketError::InsufficientFunds { .. }),
        "{err}"
    );
    assert!(err.to_string().contains("20000 ETH"), "{err}");
    let err = buyer
        .prepare_buy(AssetId(1), &terms(1, ETH, U256::from(1)))
        .await
        .unwrap_err();
    assert!(matches!(err, MarketError::PriceTooHigh { .. }), "{err}");
    let err = buyer
        .prepare_buy(AssetId(1), &terms(1, w.token, U256::MAX))
        .await
        .unwrap_err();
    assert!(matches!(err, MarketError::NotListed { .. }), "{err}");
    // Terms the page showed that are no longer the asset's: a longer license, another card.
    let week = BuyTerms {
        duration: LicenseDuration::Seconds(7 * 86_400),
        ..terms(1, ETH, dear)
    };
    m1.set_listing(
        AssetId(1),
        LicenseTerms {
            duration: LicenseDuration::Seconds(86_400),
            ..listing(ETH, dear)
        },
    )
    .await
    .unwrap();
    let err = buyer.prepare_buy(AssetId(1), &week).await.unwrap_err();
    assert!(
        err.to_string()
            .contains("the license is now 1 day, not 7 days"),
        "{err}"
    );
    m1.update_metadata(AssetId(1), &cid(50)).await.unwrap();
    let day = BuyTerms {
        duration: LicenseDuration::Seconds(86_400),
        ..terms(1, ETH, dear)
    };
    let err = buyer.prepare_buy(AssetId(1), &day).await.unwrap_err();
    assert!(
        matches!(err, MarketError::MetadataChanged { asset } if asset == AssetId(1)),
        "{err}"
    );
    let err = buyer
        .prepare_withdraw(ETH, &[AssetId(1)])
        .await
        .unwrap_err()
        .to_string();
    assert!(err.contains("nothing to withdraw"), "{err}");
    let err = buyer
        .prepare_vote(ProposalId(7), true)
        .await
        .unwrap_err()
        .to_string();
    assert!(err.contains("proposal 7 does not exist"), "{err}");
    let err = buyer
        .prepare_reject(ProposalId(7))
        .await
        .unwrap_err()
        .to_string();
    assert!(err.contains("does not exist"), "{err}");
    // A publish the contract would refuse: encrypted without a gateway.
    let mut bad = publish_request(2, a[4], dear);
    bad.encrypted = true;
    let err = buyer.prepare_publish(bad).await.unwrap_err().to_string();
    assert!(err.contains("gateway"), "{err}");
    assert_eq!(w.nonce(a[4]).await, nonce, "nothing was sent");
    w.node.shutdown().await;
}
