//! `buy` carries the terms the buyer read (price ceiling, minimum duration, the card's metadata CID hash)
//! and reverts naming what changed; an ERC-20 payment must arrive in full.

use crate::common::*;
use alloy_primitives::{Address, B256, Bytes, U256, keccak256};
use scal3ml_contracts::{
    FeeToken,
    Marketplace::{self, MarketplaceErrors as E},
};

const DAY: u64 = 24 * 3600;

fn buy(
    asset: U256,
    token: Address,
    price: u128,
    min_duration: u64,
    card: &Bytes,
) -> Marketplace::buyCall {
    Marketplace::buyCall {
        assetId: asset,
        token,
        maxPrice: U256::from(price),
        minDuration: min_duration,
        metadataHash: keccak256(card),
    }
}

fn set_listing(w: &mut World, owner: Address, asset: U256, price: u128, duration: u64) {
    w.ok(
        owner,
        0,
        Marketplace::setListingCall {
            assetId: asset,
            token: ETH,
            price,
            duration,
        },
    );
}

/// Publishes a 30-day, 1 ETH listing with the card `cid(2)` (World::params).
fn thirty_days(w: &mut World, owner: Address) -> U256 {
    let mut p = w.params(owner);
    p.listing.duration = 30 * DAY;
    w.publish(owner, p)
}

// regression: the owner front-ran a purchase with setListing(asset, ETH, samePrice, 1 second) and the buyer
// paid 1 ETH for a license of one second.
#[test]
fn regression_a_shortened_duration_between_read_and_buy_reverts() {
    let mut w = World::new();
    let (o, buyer) = (w.a[1], w.a[2]);
    let id = thirty_days(&mut w, o);
    let card = cid(2);
    set_listing(&mut w, o, id, ONE_ETH, 1);
    assert_eq!(
        w.err(buyer, ONE_ETH, buy(id, ETH, ONE_ETH, 30 * DAY, &card)),
        E::DurationTooShort(Marketplace::DurationTooShort {
            duration: 1,
            minDuration: 30 * DAY
        })
    );
    assert!(!w.has_access(id, buyer), "nothing was bought");
    assert_eq!(w.chain.balance(w.c.marketplace), U256::ZERO);

    // A perpetual license read, a timed one listed: also shorter.
    set_listing(&mut w, o, id, ONE_ETH, 0);
    set_listing(&mut w, o, id, ONE_ETH, 365 * DAY);
    assert_eq!(
        w.err(buyer, ONE_ETH, buy(id, ETH, ONE_ETH, u64::MAX, &card)),
        E::DurationTooShort(Marketplace::DurationTooShort {
            duration: 365 * DAY,
            minDuration: u64::MAX
        })
    );

    // A longer license than read is no harm: it goes through, and so does a perpetual one.
    let expiry = w.ok(buyer, ONE_ETH, buy(id, ETH, ONE_ETH, 30 * DAY, &card));
    assert_eq!(expiry, w.chain.timestamp() + 365 * DAY);
    set_listing(&mut w, o, id, ONE_ETH, 0);
    let expiry = w.ok(buyer, ONE_ETH, buy(id, ETH, ONE_ETH, 30 * DAY, &card));
    assert_eq!(expiry, u64::MAX);
}

// regression: the owner swapped the card (license, description) with updateMetadata after the buyer read it,
// and the purchase went through on the new card.
#[test]
fn regression_a_card_changed_between_read_and_buy_reverts() {
    let mut w = World::new();
    let (o, buyer, other) = (w.a[1], w.a[2], w.a[3]);
    let id = thirty_days(&mut w, o);
    let (read, swapped) = (cid(2), cid(9));
    // Nothing changed since publish: the card read is the card bought.
    w.ok(other, ONE_ETH, buy(id, ETH, ONE_ETH, 30 * DAY, &read));

    w.ok(
        o,
        0,
        Marketplace::updateMetadataCall {
            assetId: id,
            metadataCid: swapped.clone(),
        },
    );
    assert_eq!(
        w.view(Marketplace::metadataHashOfCall { assetId: id }),
        keccak256(&swapped)
    );
    assert_eq!(
        w.err(buyer, ONE_ETH, buy(id, ETH, ONE_ETH, 30 * DAY, &read)),
        E::MetadataChanged(Marketplace::MetadataChanged {
            current: keccak256(&swapped),
            seen: keccak256(&read)
        })
    );
    assert!(!w.has_access(id, buyer));
    // Having read the new card, the buyer buys.
    w.ok(buyer, ONE_ETH, buy(id, ETH, ONE_ETH, 30 * DAY, &swapped));

    // A new version brings a new card: a purchase made on the old one reverts too.
    let next = cid(10);
    w.ok(
        o,
        0,
        Marketplace::addVersionCall {
            assetId: id,
            contentCid: cid(11),
            metadataCid: next.clone(),
        },
    );
    assert_eq!(
        w.err(other, ONE_ETH, buy(id, ETH, ONE_ETH, 30 * DAY, &swapped)),
        E::MetadataChanged(Marketplace::MetadataChanged {
            current: keccak256(&next),
            seen: keccak256(&swapped)
        })
    );
    w.ok(other, ONE_ETH, buy(id, ETH, ONE_ETH, 30 * DAY, &next));
    // The hash of no card at all never matches once the card changed.
    assert!(matches!(
        w.err(
            other,
            ONE_ETH,
            Marketplace::buyCall {
                assetId: id,
                token: ETH,
                maxPrice: U256::from(ONE_ETH),
                minDuration: 0,
                metadataHash: B256::ZERO,
            }
        ),
        E::MetadataChanged(_)
    ));
}

// regression: a fee-on-transfer token paid the marketplace less than the price, and the contract credited the
// shareholders the whole price, owing more than it held.
#[test]
fn regression_a_fee_on_transfer_token_is_refused() {
    let mut w = World::new();
    let (admin, o, buyer) = (w.c.admin, w.a[1], w.a[2]);
    let (fee_token, _) = w
        .chain
        .deploy(admin, &FeeToken::BYTECODE, &[])
        .expect("FeeToken deploys");
    w.ok(
        admin,
        0,
        Marketplace::allowPaymentTokenCall { token: fee_token },
    );
    let id = thirty_days(&mut w, o);
    w.ok(
        o,
        0,
        Marketplace::setListingCall {
            assetId: id,
            token: fee_token,
            price: 1_000,
            duration: 30 * DAY,
        },
    );
    let market = w.c.marketplace;
    w.chain
        .send(
            buyer,
            fee_token,
            U256::ZERO,
            &FeeToken::mintCall {
                to: buyer,
                amount: U256::from(5_000),
            },
        )
        .expect("mint");
    w.chain
        .send(
            buyer,
            fee_token,
            U256::ZERO,
            &FeeToken::approveCall {
                spender: market,
                value: U256::MAX,
            },
        )
        .expect("approve");
    assert_eq!(
        w.err(buyer, 0, buy(id, fee_token, 1_000, 30 * DAY, &cid(2))),
        E::ReceivedWrongAmount(Marketplace::ReceivedWrongAmount {
            token: fee_token,
            received: U256::from(990),
            expected: U256::from(1_000)
        })
    );
    let balance = |w: &mut World, who| {
        w.chain
            .call(fee_token, &FeeToken::balanceOfCall { account: who })
            .expect("balanceOf")
    };
    assert_eq!(
        balance(&mut w, buyer),
        U256::from(5_000),
        "the buyer kept everything"
    );
    assert_eq!(balance(&mut w, market), U256::ZERO);
    assert_eq!(
        w.claimable(id, o, fee_token),
        U256::ZERO,
        "nothing was credited"
    );
    assert!(!w.has_access(id, buyer));
}

/// The terms check changes nothing on the paying path: an ERC-20 and an ether purchase with a fee and three
/// holders still credit every wei.
#[test]
fn a_purchase_on_unchanged_terms_credits_every_wei() {
    let mut w = World::new();
    let (admin, o, h2, h3) = (w.c.admin, w.a[1], w.a[2], w.a[3]);
    let (buyer, eth_buyer) = (w.a[4], w.a[5]);
    w.ok(
        admin,
        0,
        Marketplace::setFeeCall {
            recipient: admin,
            bps: 250,
        },
    );
    let token = w.c.token;
    let price = 1_000_003u128;
    let id = w.publish_simple(o, &[(o, 5), (h2, 3), (h3, 2)], price);
    w.ok(
        o,
        0,
        Marketplace::setListingCall {
            assetId: id,
            token,
            price,
            duration: 0,
        },
    );
    w.fund_token(buyer, price);
    let card = cid(2);
    w.ok(buyer, 0, buy(id, token, price, u64::MAX, &card));
    w.ok(eth_buyer, price, buy(id, ETH, price, u64::MAX, &card));
    // 1,000,003 - 2.5 % fee (25,000) = 975,003 over 10 shares: 97,500 a share, 3 wei carried in the pool.
    let fee = price * 250 / 10_000;
    assert_eq!(fee, 25_000);
    for t in [token, ETH] {
        let pool: Marketplace::Pool = w.view(Marketplace::poolCall {
            assetId: id,
            token: t,
        });
        assert_eq!(w.claimable(id, o, t), U256::from(487_500));
        assert_eq!(w.claimable(id, h2, t), U256::from(292_500));
        assert_eq!(w.claimable(id, h3, t), U256::from(195_000));
        assert_eq!(pool.remainder, alloy_primitives::aliases::U96::from(3));
        assert_eq!(
            w.view(Marketplace::feesOwedCall { token: t }),
            U256::from(fee)
        );
    }
    assert_eq!(w.token_balance(w.c.marketplace), U256::from(price));
    assert_eq!(w.chain.balance(w.c.marketplace), U256::from(price));
}
