//! The marketplace over JSON-RPC against the embedded chain: publish, buy with ETH and an ERC-20, exact
//! revenue to every shareholder (checked against an independent model of the contract's rules), withdraw,
//! and every error a user meets before anything is sent.

use crate::common::{ETH, World, cid, provider};
use alloy::{
    primitives::{Address, U256},
    providers::{Provider, ProviderBuilder},
};
use scal3ml_contracts::Marketplace;
use scal3ml_devnet::{DevnetConfig, MiningMode};
use scal3ml_market::{
    AssetRecord, AttestRequest, BuyTerms, Deployment, LicenseExpiry, Market, MarketError,
    PublishRequest, parse_amount,
};
use scal3ml_primitives::{
    AssetId, AssetKind, LicenseDuration, LicenseTerms, PaymentToken, ProposalId,
};
use std::{collections::HashMap, time::Duration};

const BPS: u64 = 10_000;

/// The contract's money rules, written out again: fee rounded down, each parent's royalty rounded down
/// (recursively), the rest credited per share with the remainder carried to the next credit.
#[derive(Default)]
struct Ledger {
    fee_bps: u64,
    parents: HashMap<AssetId, Vec<(AssetId, u64)>>,
    total_shares: HashMap<AssetId, U256>,
    pools: HashMap<(AssetId, Address), (U256, U256)>,
    fees: HashMap<Address, U256>,
}

impl Ledger {
    fn sale(&mut self, asset: AssetId, token: Address, price: U256) {
        let fee = price * U256::from(self.fee_bps) / U256::from(BPS);
        *self.fees.entry(token).or_default() += fee;
        self.credit(asset, token, price - fee);
    }

    fn credit(&mut self, asset: AssetId, token: Address, amount: U256) {
        let mut upstream = U256::ZERO;
        for (parent, bps) in self.parents.get(&asset).cloned().unwrap_or_default() {
            let royalty = amount * U256::from(bps) / U256::from(BPS);
            if royalty.is_zero() {
                continue;
            }
            upstream += royalty;
            self.credit(parent, token, royalty);
        }
        let own = amount - upstream;
        if own.is_zero() {
            return;
        }
        let total = self.total_shares[&asset];
        let (per_share, remainder) = self.pools.entry((asset, token)).or_default();
        let available = own + *remainder;
        *per_share += available / total;
        *remainder = available % total;
    }

    fn claimable(&self, asset: AssetId, token: Address, shares: u64) -> U256 {
        let per_share = self.pools.get(&(asset, token)).map_or(U256::ZERO, |p| p.0);
        U256::from(shares) * per_share
    }
}

fn request(kind: AssetKind, seed: u8, holders: Vec<(Address, u64)>, price: U256) -> PublishRequest {
    PublishRequest {
        kind,
        content_cid: cid(seed),
        metadata_cid: cid(seed + 100),
        encrypted: false,
        gateway_url: String::new(),
        parents: vec![],
        shareholders: holders,
        listing: LicenseTerms {
            token: PaymentToken::Eth,
            price,
            duration: LicenseDuration::Perpetual,
        },
    }
}

/// What a buyer reads off an asset published with `request(_, seed, _, _)` and listed in `token` for
/// `max_price`: a perpetual license (unless said otherwise) and the card `cid(seed + 100)`.
fn terms(seed: u8, token: Address, max_price: U256) -> BuyTerms {
    BuyTerms {
        token,
        max_price,
        duration: LicenseDuration::Perpetual,
        metadata_cid: cid(seed + 100),
    }
}

#[tokio::test]
async fn publish_buy_with_eth_and_erc20_and_everyone_withdraws_to_the_wei() {
    let fee_bps = 250;
    let w = World::new(fee_bps as u16).await;
    let a = &w.accounts;
    let (ds_owner, publisher, collaborator) = (a[1], a[2], a[3]);
    let mut ledger = Ledger {
        fee_bps,
        ..Ledger::default()
    };

    // A free dataset, fully held by its owner.
    let m1 = w.market(1).await;
    let ds = m1
        .publish(request(
            AssetKind::Dataset,
            1,
            vec![(ds_owner, 100)],
            U256::ZERO,
        ))
        .await
        .unwrap()
        .asset;
    ledger.total_shares.insert(ds, U256::from(100));

    // A paid model derived from it: 10% royalty to the dataset, 30% of the shares to a collaborator.
    let m2 = w.market(2).await;
    // Chosen so the fee, the royalty and both pools round: their remainders must be carried, not lost.
    let price = parse_amount("0.012345678901234567", 18).unwrap();
    let mut model_req = request(
        AssetKind::Model,
        2,
        vec![(publisher, 7), (collaborator, 3)],
        price,
    );
    model_req.parents = vec![(ds, 1_000)];
    model_req.listing.duration = LicenseDuration::Seconds(30 * 24 * 3600);
    let published = m2.publish(model_req).await.unwrap();
    let model = published.asset;
    assert_eq!(model, AssetId(ds.0 + 1));
    assert!(published.tx.block > 0);
    ledger.total_shares.insert(model, U256::from(10));
    ledger.parents.insert(model, vec![(ds, 1_000)]);

    assert_eq!(
        m2.asset_record(model).await.unwrap(),
        AssetRecord {
            kind: AssetKind::Model,
            total_shares: 10,
            encrypted: false,
            deprecated: false,
            parent_count: 1,
            depth: 1,
            version_count: 1,
            free: false,
        }
    );
    assert_eq!(m2.owner_of(model).await.unwrap(), publisher);
    assert_eq!(m2.shares_of(model, collaborator).await.unwrap(), 3);
    let outsider = a[9];
    assert!(
        m1.has_access(ds, outsider).await.unwrap(),
        "a free dataset is open to all"
    );
    assert!(!m1.has_access(model, outsider).await.unwrap());

    // Two buyers pay in ETH: the second sale's credit includes the first's remainder.
    for buyer in [4usize, 5] {
        let m = w.market(buyer).await;
        let before = w.eth(a[buyer]).await;
        let read = BuyTerms {
            duration: LicenseDuration::Seconds(30 * 24 * 3600),
            ..terms(2, ETH, price)
        };
        let bought = m.buy(model, &read).await.unwrap();
        assert_eq!(bought.price, price);
        assert!(bought.approval.is_none());
        assert!(matches!(bought.expiry, LicenseExpiry::Until(_)));
        assert_eq!(
            m.license_expiry(model, a[buyer]).await.unwrap(),
            bought.expiry
        );
        assert_eq!(w.eth(a[buyer]).await, before - price - bought.tx.fee);
        assert!(m.has_access(model, a[buyer]).await.unwrap());
        ledger.sale(model, ETH, price);
    }

    // The same model for an ERC-20: the buyer approves exactly the price, then buys.
    let tusd = m2.token_info(w.token).await.unwrap();
    assert_eq!((tusd.symbol.as_str(), tusd.decimals), ("TUSD", 18));
    assert_eq!(m2.payment_tokens().await.unwrap(), vec![w.token]);
    let token_price = tusd.parse("5.123456789012345677").unwrap();
    m2.set_listing(
        model,
        LicenseTerms {
            token: PaymentToken::Erc20(w.token),
            price: token_price,
            duration: LicenseDuration::Perpetual,
        },
    )
    .await
    .unwrap();
    w.mint(6, token_price * U256::from(2)).await;
    let m6 = w.market(6).await;
    let bought = m6
        .buy(model, &terms(2, w.token, token_price))
        .await
        .unwrap();
    assert!(bought.approval.is_some(), "an approval was needed and sent");
    let allowance = scal3ml_contracts::TestToken::new(w.token, provider(&w.node, 0))
        .allowance(a[6], w.deployment.marketplace)
        .call()
        .await
        .unwrap();
    assert_eq!(
        allowance,
        U256::ZERO,
        "exactly the price was approved, and spent"
    );
    assert_eq!(bought.expiry, LicenseExpiry::Perpetual);
    assert_eq!(w.tokens(a[6]).await, token_price);
    ledger.sale(model, w.token, token_price);

    // Every shareholder's claim is what the rules give.
    let holders = [
        (ds, ds_owner, 100u64, 1usize),
        (model, publisher, 7, 2),
        (model, collaborator, 3, 3),
    ];
    for &(asset, who, shares, _) in &holders {
        for token in [ETH, w.token] {
            let expected = ledger.claimable(asset, token, shares);
            assert!(!expected.is_zero());
            assert_eq!(
                m1.claimable(asset, who, token).await.unwrap(),
                expected,
                "asset {asset} holder {who} token {token}"
            );
        }
    }
    let earnings = m1
        .earnings(collaborator, &[ds, model], &[ETH, w.token])
        .await
        .unwrap();
    assert_eq!(
        earnings.len(),
        2,
        "the collaborator earns from the model only"
    );
    assert!(earnings.iter().all(|e| e.asset == model));

    // Withdrawals move exactly the claim: the collaborator one asset at a time, the publisher with one
    // withdrawMany, the dataset owner with legacy (type 0) transactions.
    let m3 = w.market(3).await;
    for token in [ETH, w.token] {
        let expected = ledger.claimable(model, token, 3);
        let (eth0, tok0) = (w.eth(collaborator).await, w.tokens(collaborator).await);
        let done = m3.withdraw(model, token).await.unwrap();
        assert_eq!(done.amount, expected);
        if token == ETH {
            assert_eq!(w.eth(collaborator).await, eth0 + expected - done.tx.fee);
        } else {
            assert_eq!(w.tokens(collaborator).await, tok0 + expected);
        }
        assert_eq!(
            m3.claimable(model, collaborator, token).await.unwrap(),
            U256::ZERO
        );
    }
    let before = w.eth(publisher).await;
    let done = m2.withdraw_many(&[model, ds], ETH).await.unwrap();
    assert_eq!(done.amount, ledger.claimable(model, ETH, 7));
    assert_eq!(w.eth(publisher).await, before + done.amount - done.tx.fee);

    let legacy = Market::builder(provider(&w.node, 1), w.deployment, ds_owner)
        .legacy(true)
        .connect()
        .await
        .unwrap();
    let before = w.tokens(ds_owner).await;
    let done = legacy.withdraw(ds, w.token).await.unwrap();
    assert_eq!(done.amount, ledger.claimable(ds, w.token, 100));
    assert_eq!(w.tokens(ds_owner).await, before + done.amount);
    let tx = provider(&w.node, 0)
        .get_transaction_by_hash(done.tx.hash)
        .await
        .unwrap()
        .unwrap();
    assert!(
        tx.inner.is_legacy(),
        "a legacy market sends type-0 transactions"
    );

    // The admin's fees are what the rules give, and withdrawing them moves exactly that.
    let m0 = w.market(0).await;
    for token in [ETH, w.token] {
        let expected = ledger.fees[&token];
        assert_eq!(m0.fees_owed(token).await.unwrap(), expected);
        let done = m0.withdraw_fees(token).await.unwrap();
        assert_eq!(done.amount, expected);
    }

    // Every wei the contract still holds is the dataset owner's unwithdrawn ETH claim plus the pools'
    // remainders (wei not yet divisible by the shares), nothing more, nothing less.
    let remainders = ledger
        .pools
        .iter()
        .filter(|((_, token), _)| *token == ETH)
        .fold(U256::ZERO, |sum, (_, pool)| sum + pool.1);
    assert!(
        !remainders.is_zero(),
        "the prices were chosen to leave remainders"
    );
    assert_eq!(
        w.eth(w.deployment.marketplace).await,
        ledger.claimable(ds, ETH, 100) + remainders
    );

    // Nothing left: the contract says so in words.
    let err = m3.withdraw(model, ETH).await.unwrap_err().to_string();
    assert!(err.contains("nothing to withdraw"), "{err}");

    // Shares move; revenue earned before stays behind. (Regression: a refused transaction used to take a
    // nonce from the provider's cached nonce manager, so this next one failed with "nonce too high".)
    m3.transfer_shares(model, a[7], 1).await.unwrap();
    assert_eq!(m3.shares_of(model, collaborator).await.unwrap(), 2);
    assert_eq!(m3.shares_of(model, a[7]).await.unwrap(), 1);
    assert_eq!(m3.claimable(model, a[7], ETH).await.unwrap(), U256::ZERO);
    w.node.shutdown().await;
}

#[tokio::test]
async fn errors_say_what_to_do_and_send_nothing() {
    let w = World::new(0).await;
    let a = &w.accounts;
    let m1 = w.market(1).await;
    let m4 = w.market(4).await;
    let buyer = a[4];

    // Priced above the buyer's 10000 ETH.
    let dear = parse_amount("20000", 18).unwrap();
    let big = m1
        .publish(request(AssetKind::Model, 1, vec![(a[1], 100)], dear))
        .await
        .unwrap()
        .asset;
    let nonce = w.nonce(buyer).await;
    match m4.buy(big, &terms(1, ETH, dear)).await.unwrap_err() {
        MarketError::InsufficientFunds {
            needed_raw,
            has_raw,
            ref symbol,
            ..
        } => {
            assert_eq!(needed_raw, dear);
            assert_eq!(has_raw, w.eth(buyer).await);
            assert_eq!(symbol, "ETH");
        }
        other => panic!("expected InsufficientFunds, got {other}"),
    }
    assert_eq!(w.nonce(buyer).await, nonce, "nothing was sent");

    // An ERC-20 price the buyer cannot pay.
    let cheap = m1
        .publish(request(
            AssetKind::Dataset,
            2,
            vec![(a[1], 100)],
            parse_amount("0.05", 18).unwrap(),
        ))
        .await
        .unwrap()
        .asset;
    let one = parse_amount("1", 18).unwrap();
    m1.set_listing(
        cheap,
        LicenseTerms {
            token: PaymentToken::Erc20(w.token),
            price: one,
            duration: LicenseDuration::Perpetual,
        },
    )
    .await
    .unwrap();
    let msg = m4
        .buy(cheap, &terms(2, w.token, one))
        .await
        .unwrap_err()
        .to_string();
    assert!(
        msg.contains("needs 1 TUSD")
            && msg.contains("has 0 TUSD")
            && msg.contains("nothing was sent"),
        "{msg}"
    );
    assert_eq!(w.nonce(buyer).await, nonce);

    // The price is above what the buyer accepts.
    let err = m4
        .buy(cheap, &terms(2, ETH, parse_amount("0.04", 18).unwrap()))
        .await
        .unwrap_err();
    match &err {
        MarketError::PriceTooHigh {
            price_raw, asset, ..
        } => {
            assert_eq!(*price_raw, parse_amount("0.05", 18).unwrap());
            assert_eq!(*asset, cheap);
        }
        other => panic!("expected PriceTooHigh, got {other}"),
    }
    assert!(err.to_string().contains("--max-price 0.05"), "{err}");
    assert_eq!(w.nonce(buyer).await, nonce);

    // Unknown assets, missing listings.
    let ghost = AssetId(999);
    assert!(matches!(
        m4.buy(ghost, &terms(9, ETH, one)).await.unwrap_err(),
        MarketError::UnknownAsset { asset } if asset == ghost
    ));
    assert!(matches!(
        m4.asset_record(ghost).await.unwrap_err(),
        MarketError::UnknownAsset { .. }
    ));
    let msg = m4
        .buy(big, &terms(1, w.token, one))
        .await
        .unwrap_err()
        .to_string();
    assert!(msg.contains("not for sale in TUSD"), "{msg}");

    // Reverts decoded into sentences: not the owner, too many shares.
    let msg = m4
        .set_listing(
            cheap,
            LicenseTerms {
                token: PaymentToken::Eth,
                price: U256::ZERO,
                duration: LicenseDuration::Perpetual,
            },
        )
        .await
        .unwrap_err()
        .to_string();
    assert!(msg.contains("only the owner of asset"), "{msg}");
    let msg = m1
        .transfer_shares(cheap, buyer, 101)
        .await
        .unwrap_err()
        .to_string();
    assert!(msg.contains("holds 100 shares"), "{msg}");
    assert_eq!(w.nonce(buyer).await, nonce);

    // The wrong chain: the deployment says chain 1, the node serves 31337.
    let wrong = Deployment {
        chain_id: 1,
        ..w.deployment
    };
    let err = Market::builder(provider(&w.node, 4), wrong, buyer)
        .rpc_url(w.node.http_url())
        .connect()
        .await
        .unwrap_err();
    assert!(matches!(
        err,
        MarketError::WrongChain {
            expected: 1,
            actual: 31337,
            ..
        }
    ));
    let msg = err.to_string();
    assert!(
        msg.contains("chain id 1") && msg.contains("chain id 31337"),
        "{msg}"
    );

    // Nothing listening.
    let closed = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap()
    };
    let url = format!("http://{closed}");
    let dead = ProviderBuilder::new().connect_http(url.parse().unwrap());
    let err = Market::builder(dead, w.deployment, buyer)
        .rpc_url(&url)
        .connect()
        .await
        .unwrap_err();
    let msg = err.to_string();
    assert!(matches!(err, MarketError::Unreachable { .. }), "{msg}");
    assert!(
        msg.contains(&url) && msg.contains("is the node running"),
        "{msg}"
    );
    w.node.shutdown().await;
}

#[tokio::test]
async fn proposals_and_attestations_through_the_wrappers() {
    let w = World::new(0).await;
    let a = &w.accounts;
    let m1 = w.market(1).await;
    let ds = m1
        .publish(request(AssetKind::Dataset, 1, vec![(a[1], 10)], U256::ZERO))
        .await
        .unwrap()
        .asset;
    let model = m1
        .publish(request(
            AssetKind::Model,
            2,
            vec![(a[1], 7), (a[2], 3)],
            U256::ZERO,
        ))
        .await
        .unwrap()
        .asset;

    // A contributor proposes a version for 2 shares; the 7-share holder's yes is a majority.
    let m3 = w.market(3).await;
    let (proposal, _) = m3
        .propose(model, &cid(3), &cid(4), 2, &cid(5))
        .await
        .unwrap();
    m1.vote(proposal, true).await.unwrap();
    let info = m1.proposal(proposal).await.unwrap();
    assert_eq!(
        (info.yes_votes, info.total_at_snapshot, info.state),
        (7, 10, 1)
    );
    let err = w
        .market(2)
        .await
        .execute(ProposalId(proposal.0 + 1))
        .await
        .unwrap_err()
        .to_string();
    assert!(err.contains("does not exist"), "{err}");
    let (version, _) = m3.execute(proposal).await.unwrap();
    assert_eq!(version, 1);
    assert_eq!(m1.asset_record(model).await.unwrap().version_count, 2);
    assert_eq!(m1.shares_of(model, a[3]).await.unwrap(), 2);

    // An evaluation, endorsed by someone else; the attester cannot endorse their own.
    let m5 = w.market(5).await;
    let (att, _) = m5
        .attest(&AttestRequest {
            model: (model, 1),
            dataset: (ds, 0),
            metric: "accuracy".into(),
            value: 9_123,
            decimals: 4,
            report_cid: cid(6),
        })
        .await
        .unwrap();
    w.market(6).await.endorse(att, &cid(7)).await.unwrap();
    w.market(7).await.dispute(att, &cid(8)).await.unwrap();
    let err = m5.endorse(att, &cid(9)).await.unwrap_err().to_string();
    assert!(err.contains("is your own"), "{err}");
    let err = m5
        .attest(&AttestRequest {
            model: (ds, 0),
            dataset: (ds, 0),
            metric: "accuracy".into(),
            value: 1,
            decimals: 0,
            report_cid: cid(6),
        })
        .await
        .unwrap_err()
        .to_string();
    assert!(err.contains("has kind 0 but 1 was expected"), "{err}");

    // The owner appends a version and changes the card and the gateway; others may not.
    let (index, _) = m1.add_version(model, &cid(10), &cid(11)).await.unwrap();
    assert_eq!(index, 2);
    m1.update_metadata(model, &cid(12)).await.unwrap();
    m1.set_gateway(model, "https://gw.example").await.unwrap();
    let err = m5
        .add_version(model, &cid(10), &cid(11))
        .await
        .unwrap_err()
        .to_string();
    assert!(err.contains("only the owner"), "{err}");

    // The owner deprecates: no more sales.
    m1.deprecate(model).await.unwrap();
    assert!(m1.asset_record(model).await.unwrap().deprecated);
    let err = m1.deprecate(model).await.unwrap_err().to_string();
    assert!(err.contains("deprecated"), "{err}");
    w.node.shutdown().await;
}

#[tokio::test]
async fn a_price_raised_while_the_purchase_is_in_flight_is_reported_with_the_new_price() {
    // A block every 300 ms, so the owner's price change and the purchase land in the same block.
    let config = DevnetConfig::test().with_mining(MiningMode::Interval(Duration::from_millis(300)));
    let w = World::with_config(0, config).await;
    let a = &w.accounts;
    let old = parse_amount("0.05", 18).unwrap();
    let new = parse_amount("0.07", 18).unwrap();
    let owner = w.market(8).await;
    let asset = owner
        .publish(request(AssetKind::Model, 1, vec![(a[8], 1)], old))
        .await
        .unwrap()
        .asset;
    // The devnet orders a block's transactions by nonce: the buyer's must come after the owner's change.
    for _ in 0..3 {
        w.mint(4, U256::from(1)).await;
    }
    let buyer = w.market(4).await;
    let before = w.eth(a[4]).await;

    let mp = Marketplace::new(w.deployment.marketplace, provider(&w.node, 8));
    let raise = mp
        .setListing(asset.to_u256(), ETH, new.to::<u128>(), 0)
        .send()
        .await
        .unwrap();
    let err = buyer.buy(asset, &terms(1, ETH, old)).await.unwrap_err();
    assert!(raise.get_receipt().await.unwrap().status());
    match &err {
        MarketError::PriceTooHigh {
            price_raw,
            asset: a,
            ..
        } => assert_eq!((*price_raw, *a), (new, asset)),
        other => panic!("expected PriceTooHigh, got {other}"),
    }
    assert!(err.to_string().contains("--max-price 0.07"), "{err}");
    assert!(!buyer.has_access(asset, a[4]).await.unwrap());
    assert!(w.eth(a[4]).await > before - old, "the price was not paid");
    w.node.shutdown().await;
}

/// What the owner changes while a purchase is in flight.
enum Change {
    /// The same price for a one-second license.
    Duration,
    /// Another card.
    Card,
}

/// A buyer whose purchase lands in the same block as the owner's `change` of a 30-day listing, what the
/// purchase was refused with, and whether a license was sold anyway.
async fn bought_while_the_owner_changes(change: Change) -> (MarketError, bool) {
    // A block every 300 ms, so the owner's change and the purchase land in the same block.
    let config = DevnetConfig::test().with_mining(MiningMode::Interval(Duration::from_millis(300)));
    let w = World::with_config(0, config).await;
    let a = &w.accounts;
    let price = parse_amount("0.05", 18).unwrap();
    let month = LicenseDuration::Seconds(30 * 24 * 3600);
    let mut req = request(AssetKind::Model, 1, vec![(a[8], 1)], price);
    req.listing.duration = month;
    let asset = w.market(8).await.publish(req).await.unwrap().asset;
    // The devnet orders a block's transactions by nonce: the buyer's must come after the owner's change.
    for _ in 0..3 {
        w.mint(4, U256::from(1)).await;
    }
    let buyer = w.market(4).await;
    let read = BuyTerms {
        duration: month,
        ..terms(1, ETH, price)
    };
    let mp = Marketplace::new(w.deployment.marketplace, provider(&w.node, 8));
    let id = asset.to_u256();
    let pending = match change {
        Change::Duration => mp.setListing(id, ETH, price.to::<u128>(), 1).send().await,
        Change::Card => {
            let card = cid(42).to_bytes();
            mp.updateMetadata(id, card.into()).send().await
        }
    }
    .unwrap();
    let err = buyer.buy(asset, &read).await.unwrap_err();
    assert!(pending.get_receipt().await.unwrap().status());
    let bought = buyer.has_access(asset, a[4]).await.unwrap();
    w.node.shutdown().await;
    (err, bought)
}

// regression: `setListing(asset, ETH, samePrice, 1 second)` sent while a purchase was in flight sold a
// one-second license at the 30-day price.
#[tokio::test]
async fn regression_a_duration_shortened_in_flight_is_refused_in_a_sentence() {
    let (err, bought) = bought_while_the_owner_changes(Change::Duration).await;
    assert!(
        matches!(err, MarketError::DurationChanged { asset, .. } if asset.0 == 1),
        "{err}"
    );
    let msg = err.to_string();
    assert!(
        msg.contains("the license is now 1 s, not 30 days") && msg.contains("scal3ml show 1"),
        "{msg}"
    );
    assert!(!bought, "no license was sold");
}

// regression: `updateMetadata` sent while a purchase was in flight sold the license under another card.
#[tokio::test]
async fn regression_a_card_swapped_in_flight_is_refused_in_a_sentence() {
    let (err, bought) = bought_while_the_owner_changes(Change::Card).await;
    assert!(
        matches!(err, MarketError::MetadataChanged { asset } if asset.0 == 1),
        "{err}"
    );
    assert!(err.to_string().contains("card of asset 1 changed"), "{err}");
    assert!(!bought, "no license was sold");
}
