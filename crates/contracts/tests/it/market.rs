//! Listings, buying, renewing and access.

use crate::common::*;
use alloy_primitives::{B256, U256};
use scal3ml_contracts::Marketplace::{self, MarketplaceErrors as E};

#[test]
fn perpetual_eth_purchase_pays_records_and_grants_access() {
    let mut w = World::new();
    let (o, buyer, stranger) = (w.a[1], w.a[2], w.a[3]);
    let id = w.publish_simple(o, &[(o, 100)], ONE_ETH);
    assert!(!w.has_access(id, buyer));
    let before = w.chain.balance(buyer);
    let (expiry, r) = w
        .market(
            buyer,
            ONE_ETH,
            Marketplace::buyCall {
                assetId: id,
                token: ETH,
                maxPrice: U256::from(ONE_ETH),
                minDuration: 0,
                metadataHash: B256::ZERO,
            },
        )
        .unwrap();
    assert_eq!(expiry, u64::MAX);
    assert_eq!(w.chain.balance(buyer), before - U256::from(ONE_ETH));
    assert_eq!(w.chain.balance(w.c.marketplace), U256::from(ONE_ETH));
    assert!(w.has_access(id, buyer));
    assert!(!w.has_access(id, stranger));
    assert_eq!(
        w.view(Marketplace::licenseExpiryCall {
            assetId: id,
            account: buyer
        }),
        u64::MAX
    );
    let e = &events::<Marketplace::LicensePurchased>(&r)[0];
    assert_eq!(
        (e.assetId, e.buyer, e.token, e.price, e.expiry),
        (id, buyer, ETH, U256::from(ONE_ETH), u64::MAX)
    );
    assert_eq!(
        events::<Marketplace::RevenueCredited>(&r)[0].amount,
        U256::from(ONE_ETH)
    );
    assert_eq!(
        w.err(
            buyer,
            ONE_ETH,
            Marketplace::buyCall {
                assetId: id,
                token: ETH,
                maxPrice: U256::from(ONE_ETH),
                minDuration: 0,
                metadataHash: B256::ZERO,
            }
        ),
        E::AlreadyPerpetual(Marketplace::AlreadyPerpetual {
            assetId: id,
            account: buyer
        })
    );
}

#[test]
fn buy_protects_the_buyer_and_rejects_wrong_payment() {
    let mut w = World::new();
    let (o, buyer) = (w.a[1], w.a[2]);
    let id = w.publish_simple(o, &[(o, 100)], ONE_ETH);
    // The owner raises the price while the buyer's transaction is in flight.
    w.ok(
        o,
        0,
        Marketplace::setListingCall {
            assetId: id,
            token: ETH,
            price: 2 * ONE_ETH,
            duration: 0,
        },
    );
    assert_eq!(
        w.err(
            buyer,
            ONE_ETH,
            Marketplace::buyCall {
                assetId: id,
                token: ETH,
                maxPrice: U256::from(ONE_ETH),
                minDuration: 0,
                metadataHash: B256::ZERO,
            }
        ),
        E::PriceTooHigh(Marketplace::PriceTooHigh {
            price: U256::from(2 * ONE_ETH),
            maxPrice: U256::from(ONE_ETH)
        })
    );
    // Overpayment and underpayment are both rejected, never kept.
    for sent in [3 * ONE_ETH, ONE_ETH] {
        assert_eq!(
            w.err(
                buyer,
                sent,
                Marketplace::buyCall {
                    assetId: id,
                    token: ETH,
                    maxPrice: U256::from(3 * ONE_ETH),
                    minDuration: 0,
                    metadataHash: B256::ZERO,
                }
            ),
            E::WrongPayment(Marketplace::WrongPayment {
                sent: U256::from(sent),
                expected: U256::from(2 * ONE_ETH)
            })
        );
    }
    let token = w.c.token;
    assert_eq!(
        w.err(
            buyer,
            0,
            Marketplace::buyCall {
                assetId: id,
                token,
                maxPrice: U256::MAX,
                minDuration: 0,
                metadataHash: B256::ZERO,
            }
        ),
        E::NotListed(Marketplace::NotListed { assetId: id, token })
    );
    w.ok(
        o,
        0,
        Marketplace::setListingCall {
            assetId: id,
            token,
            price: 10,
            duration: 0,
        },
    );
    assert_eq!(
        w.err(
            buyer,
            1,
            Marketplace::buyCall {
                assetId: id,
                token,
                maxPrice: U256::MAX,
                minDuration: 0,
                metadataHash: B256::ZERO,
            }
        ),
        E::WrongPayment(Marketplace::WrongPayment {
            sent: U256::from(1),
            expected: U256::ZERO
        })
    );
    let missing = U256::from(77);
    assert_eq!(
        w.err(
            buyer,
            0,
            Marketplace::buyCall {
                assetId: missing,
                token: ETH,
                maxPrice: U256::MAX,
                minDuration: 0,
                metadataHash: B256::ZERO,
            }
        ),
        E::UnknownAsset(Marketplace::UnknownAsset { assetId: missing })
    );
    assert_eq!(w.chain.balance(w.c.marketplace), U256::ZERO);
}

#[test]
fn timed_licenses_expire_and_renewals_extend() {
    let mut w = World::new();
    let (o, buyer) = (w.a[1], w.a[2]);
    let mut p = w.params(o);
    p.listing.duration = 1000;
    let id = w.publish(o, p);
    let first = w.buy_eth(buyer, id, ONE_ETH);
    assert_eq!(first, w.chain.timestamp() + 1000);
    // Renewing before expiry extends from the current expiry.
    let second = w.buy_eth(buyer, id, ONE_ETH);
    assert_eq!(second, first + 1000);
    assert!(w.has_access(id, buyer));
    w.chain.advance(second - w.chain.timestamp());
    assert!(
        !w.has_access(id, buyer),
        "a license is void at its expiry second"
    );
    // Renewing after expiry starts from now.
    let third = w.buy_eth(buyer, id, ONE_ETH);
    assert_eq!(third, w.chain.timestamp() + 1000);
    assert!(w.has_access(id, buyer));
}

#[test]
fn erc20_purchase_moves_tokens_and_credits_in_that_token() {
    let mut w = World::new();
    let (o, buyer) = (w.a[1], w.a[2]);
    let token = w.c.token;
    let id = w.publish_simple(o, &[(o, 3)], ONE_ETH);
    let r = w
        .market(
            o,
            0,
            Marketplace::setListingCall {
                assetId: id,
                token,
                price: 300,
                duration: 60,
            },
        )
        .unwrap()
        .1;
    assert_eq!(events::<Marketplace::ListingSet>(&r)[0].token, token);
    // Without allowance the token transfer fails and nothing is recorded.
    assert!(
        w.market(
            buyer,
            0,
            Marketplace::buyCall {
                assetId: id,
                token,
                maxPrice: U256::from(300),
                minDuration: 0,
                metadataHash: B256::ZERO,
            }
        )
        .is_err()
    );
    assert!(!w.has_access(id, buyer));
    w.fund_token(buyer, 1000);
    w.ok(
        buyer,
        0,
        Marketplace::buyCall {
            assetId: id,
            token,
            maxPrice: U256::from(300),
            minDuration: 0,
            metadataHash: B256::ZERO,
        },
    );
    assert_eq!(w.token_balance(buyer), U256::from(700));
    assert_eq!(w.token_balance(w.c.marketplace), U256::from(300));
    assert_eq!(w.claimable(id, o, token), U256::from(300));
    assert_eq!(w.claimable(id, o, ETH), U256::ZERO);
    assert!(w.has_access(id, buyer));
}

#[test]
fn listings_are_managed_by_the_owner() {
    let mut w = World::new();
    let (o, x) = (w.a[1], w.a[2]);
    let id = w.publish_simple(o, &[(o, 1)], ONE_ETH);
    let bogus = w.a[6];
    assert_eq!(
        w.err(
            o,
            0,
            Marketplace::setListingCall {
                assetId: id,
                token: bogus,
                price: 1,
                duration: 0
            }
        ),
        E::TokenNotAllowed(Marketplace::TokenNotAllowed { token: bogus })
    );
    assert_eq!(
        w.err(
            x,
            0,
            Marketplace::setListingCall {
                assetId: id,
                token: ETH,
                price: 1,
                duration: 0
            }
        ),
        E::NotAssetOwner(Marketplace::NotAssetOwner {
            assetId: id,
            caller: x
        })
    );
    assert_eq!(
        w.err(
            x,
            0,
            Marketplace::removeListingCall {
                assetId: id,
                token: ETH
            }
        ),
        E::NotAssetOwner(Marketplace::NotAssetOwner {
            assetId: id,
            caller: x
        })
    );
    let r = w
        .market(
            o,
            0,
            Marketplace::removeListingCall {
                assetId: id,
                token: ETH,
            },
        )
        .unwrap()
        .1;
    assert_eq!(events::<Marketplace::ListingRemoved>(&r)[0].assetId, id);
    assert!(
        !w.view(Marketplace::listingCall {
            assetId: id,
            token: ETH
        })
        .active
    );
    assert_eq!(
        w.err(
            o,
            0,
            Marketplace::removeListingCall {
                assetId: id,
                token: ETH
            }
        ),
        E::NotListed(Marketplace::NotListed {
            assetId: id,
            token: ETH
        })
    );
    assert_eq!(
        w.err(
            x,
            ONE_ETH,
            Marketplace::buyCall {
                assetId: id,
                token: ETH,
                maxPrice: U256::MAX,
                minDuration: 0,
                metadataHash: B256::ZERO,
            }
        ),
        E::NotListed(Marketplace::NotListed {
            assetId: id,
            token: ETH
        })
    );
}

#[test]
fn free_assets_are_open_to_everyone_while_a_free_listing_exists() {
    let mut w = World::new();
    let (o, x) = (w.a[1], w.a[2]);
    let id = w.publish_simple(o, &[(o, 1)], 0);
    assert!(w.has_access(id, x));
    assert_eq!(
        w.view(Marketplace::assetRecordCall { assetId: id })
            .freeListings,
        1
    );
    // "Buying" a free listing records a license and moves no money.
    let r = w
        .market(
            x,
            0,
            Marketplace::buyCall {
                assetId: id,
                token: ETH,
                maxPrice: U256::ZERO,
                minDuration: 0,
                metadataHash: B256::ZERO,
            },
        )
        .unwrap()
        .1;
    assert!(events::<Marketplace::RevenueCredited>(&r).is_empty());
    let token = w.c.token;
    w.ok(
        o,
        0,
        Marketplace::setListingCall {
            assetId: id,
            token,
            price: 0,
            duration: 0,
        },
    );
    assert_eq!(
        w.view(Marketplace::assetRecordCall { assetId: id })
            .freeListings,
        2
    );
    w.ok(
        o,
        0,
        Marketplace::setListingCall {
            assetId: id,
            token: ETH,
            price: 5,
            duration: 0,
        },
    );
    w.ok(o, 0, Marketplace::removeListingCall { assetId: id, token });
    assert_eq!(
        w.view(Marketplace::assetRecordCall { assetId: id })
            .freeListings,
        0
    );
    let y = w.a[3];
    assert!(!w.has_access(id, y), "no free listing left");
    assert!(
        w.has_access(id, x),
        "the perpetual license taken while free stays"
    );
}

#[test]
fn access_goes_to_owner_shareholders_and_licensees_only() {
    let mut w = World::new();
    let (o, holder, stranger) = (w.a[1], w.a[2], w.a[3]);
    let id = w.publish_simple(o, &[(holder, 5)], ONE_ETH);
    assert!(w.has_access(id, o), "owner");
    assert!(w.has_access(id, holder), "shareholder");
    assert!(!w.has_access(id, stranger));
    assert!(!w.has_access(U256::from(99), o), "unknown asset");
    // A shareholder who gives away all shares loses access.
    w.ok(
        holder,
        0,
        Marketplace::transferSharesCall {
            assetId: id,
            to: stranger,
            amount: u96(5),
        },
    );
    assert!(!w.has_access(id, holder));
    assert!(w.has_access(id, stranger));
}
