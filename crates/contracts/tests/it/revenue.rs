//! Revenue shares, withdrawals, share transfers, upstream royalties, fees and the admin.

use crate::common::*;
use alloy_primitives::{Address, B256, Bytes, U256};
use alloy_sol_types::{SolCall, SolInterface};
use scal3ml_contracts::{
    Marketplace::{self, MarketplaceErrors as E},
    ProbeAccount,
};

#[test]
fn sales_split_pro_rata_and_holders_withdraw_when_they_like() {
    let mut w = World::new();
    let (o, b, buyer) = (w.a[1], w.a[2], w.a[3]);
    let id = w.publish_simple(o, &[(o, 3), (b, 1)], 4000);
    w.buy_eth(buyer, id, 4000);
    assert_eq!(w.claimable(id, o, ETH), U256::from(3000));
    assert_eq!(w.claimable(id, b, ETH), U256::from(1000));
    let before = w.chain.balance(b);
    let (amount, r) = w
        .market(
            b,
            0,
            Marketplace::withdrawCall {
                assetId: id,
                token: ETH,
            },
        )
        .unwrap();
    assert_eq!(amount, U256::from(1000));
    assert_eq!(w.chain.balance(b), before + U256::from(1000));
    let e = &events::<Marketplace::Withdrawn>(&r)[0];
    assert_eq!((e.account, e.token, e.amount), (b, ETH, U256::from(1000)));
    assert_eq!(w.claimable(id, b, ETH), U256::ZERO);
    assert_eq!(
        w.err(
            b,
            0,
            Marketplace::withdrawCall {
                assetId: id,
                token: ETH
            }
        ),
        E::NothingToWithdraw(Marketplace::NothingToWithdraw {
            assetId: id,
            account: b,
            token: ETH
        })
    );
    assert_eq!(w.chain.balance(w.c.marketplace), U256::from(3000));
}

#[test]
fn rounding_remainder_is_carried_to_the_next_sale_never_lost() {
    let mut w = World::new();
    let (o, b, c, buyer) = (w.a[1], w.a[2], w.a[3], w.a[4]);
    let mut p = w.params(o);
    p.shareholders = [o, b, c]
        .iter()
        .map(|&account| Marketplace::Shareholder {
            account,
            shares: u96(1),
        })
        .collect();
    p.listing.duration = 10;
    p.listing.price = 10;
    let id = w.publish(o, p);
    w.buy_eth(buyer, id, 10);
    // 10 wei over 3 shares: 3 each, 1 wei carried.
    assert_eq!(w.claimable(id, o, ETH), U256::from(3));
    let pool = w.view(Marketplace::poolCall {
        assetId: id,
        token: ETH,
    });
    assert_eq!(
        (U256::from(pool.perShare), U256::from(pool.remainder)),
        (U256::from(3), U256::from(1))
    );
    w.buy_eth(buyer, id, 10);
    // 10 + 1 carried = 11: 3 each again, 2 carried.
    assert_eq!(w.claimable(id, c, ETH), U256::from(6));
    assert_eq!(
        U256::from(
            w.view(Marketplace::poolCall {
                assetId: id,
                token: ETH
            })
            .remainder
        ),
        U256::from(2)
    );
    w.buy_eth(buyer, id, 10);
    assert_eq!(
        w.claimable(id, c, ETH),
        U256::from(10),
        "12 wei split, nothing carried"
    );
    assert_eq!(w.chain.balance(w.c.marketplace), U256::from(30));
}

#[test]
fn share_transfers_keep_earned_revenue_with_the_sender() {
    let mut w = World::new();
    let (o, b, buyer) = (w.a[1], w.a[2], w.a[3]);
    let token = w.c.token;
    let mut p = w.params(o);
    p.shareholders = vec![Marketplace::Shareholder {
        account: o,
        shares: u96(2),
    }];
    p.listing = Marketplace::ListingTerms {
        token: ETH,
        price: 100,
        duration: 1,
    };
    let id = w.publish(o, p);
    w.ok(
        o,
        0,
        Marketplace::setListingCall {
            assetId: id,
            token,
            price: 50,
            duration: 1,
        },
    );
    w.fund_token(buyer, 1000);
    w.buy_eth(buyer, id, 100);
    w.ok(
        buyer,
        0,
        Marketplace::buyCall {
            assetId: id,
            token,
            maxPrice: U256::from(50),
            minDuration: 0,
            metadataHash: B256::ZERO,
        },
    );
    let r = w
        .market(
            o,
            0,
            Marketplace::transferSharesCall {
                assetId: id,
                to: b,
                amount: u96(1),
            },
        )
        .unwrap()
        .1;
    let e = &events::<Marketplace::SharesTransferred>(&r)[0];
    assert_eq!((e.from, e.to, e.amount), (o, b, U256::from(1)));
    assert_eq!(w.claimable(id, o, ETH), U256::from(100));
    assert_eq!(w.claimable(id, b, ETH), U256::ZERO);
    assert_eq!(w.claimable(id, o, token), U256::from(50));
    assert_eq!(w.claimable(id, b, token), U256::ZERO);
    // Later revenue follows the shares.
    w.ok(
        buyer,
        0,
        Marketplace::buyCall {
            assetId: id,
            token,
            maxPrice: U256::from(50),
            minDuration: 0,
            metadataHash: B256::ZERO,
        },
    );
    assert_eq!(w.claimable(id, o, token), U256::from(75));
    assert_eq!(w.claimable(id, b, token), U256::from(25));
    w.ok(b, 0, Marketplace::withdrawCall { assetId: id, token });
    assert_eq!(w.token_balance(b), U256::from(25));
    w.ok(o, 0, Marketplace::withdrawCall { assetId: id, token });
    assert_eq!(w.token_balance(o), U256::from(75));
    assert_eq!(w.token_balance(w.c.marketplace), U256::ZERO);
}

#[test]
fn share_transfer_reverts_explain_themselves() {
    let mut w = World::new();
    let (o, b) = (w.a[1], w.a[2]);
    let id = w.publish_simple(o, &[(o, 2)], 100);
    assert_eq!(
        w.err(
            o,
            0,
            Marketplace::transferSharesCall {
                assetId: id,
                to: b,
                amount: u96(3)
            }
        ),
        E::InsufficientShares(Marketplace::InsufficientShares {
            assetId: id,
            account: o,
            balance: U256::from(2),
            needed: U256::from(3)
        })
    );
    assert_eq!(
        w.err(
            o,
            0,
            Marketplace::transferSharesCall {
                assetId: id,
                to: Address::ZERO,
                amount: u96(1)
            }
        ),
        E::ZeroAddress(Marketplace::ZeroAddress {})
    );
    assert_eq!(
        w.err(
            o,
            0,
            Marketplace::transferSharesCall {
                assetId: id,
                to: b,
                amount: u96(0)
            }
        ),
        E::ZeroShares(Marketplace::ZeroShares { account: b })
    );
    let missing = U256::from(50);
    assert_eq!(
        w.err(
            o,
            0,
            Marketplace::transferSharesCall {
                assetId: missing,
                to: b,
                amount: u96(1)
            }
        ),
        E::UnknownAsset(Marketplace::UnknownAsset { assetId: missing })
    );
}

#[test]
fn royalties_climb_the_lineage_and_rounding_stays_with_the_child() {
    let mut w = World::new();
    let (g, p, c, buyer) = (w.a[1], w.a[2], w.a[3], w.a[4]);
    let grand = w.publish_simple(g, &[(g, 1)], ONE_ETH);
    let one = |account| {
        vec![Marketplace::Shareholder {
            account,
            shares: u96(1),
        }]
    };
    let mut params = w.params(p);
    params.shareholders = one(p);
    params.parents = vec![Marketplace::ParentRef {
        assetId: grand,
        royaltyBps: 1000,
    }];
    let parent = w.publish(p, params);
    let mut params = w.params(c);
    params.shareholders = one(c);
    params.parents = vec![Marketplace::ParentRef {
        assetId: parent,
        royaltyBps: 2500,
    }];
    params.listing.price = 10_001;
    let child = w.publish(c, params);
    let r = w
        .market(
            buyer,
            10_001,
            Marketplace::buyCall {
                assetId: child,
                token: ETH,
                maxPrice: U256::MAX,
                minDuration: 0,
                metadataHash: B256::ZERO,
            },
        )
        .unwrap()
        .1;
    // parent gets floor(10001 * 25%) = 2500, of which grand gets 250; child keeps 7501.
    assert_eq!(w.claimable(child, c, ETH), U256::from(7501));
    assert_eq!(w.claimable(parent, p, ETH), U256::from(2250));
    assert_eq!(w.claimable(grand, g, ETH), U256::from(250));
    let paid = events::<Marketplace::RoyaltyPaid>(&r);
    assert_eq!(paid.len(), 2);
    assert_eq!(
        (paid[0].parentId, paid[0].childId, paid[0].amount),
        (parent, child, U256::from(2500))
    );
    assert_eq!(
        (paid[1].parentId, paid[1].childId, paid[1].amount),
        (grand, parent, U256::from(250))
    );
    // The parent's holders can withdraw royalties like sales revenue.
    w.ok(
        g,
        0,
        Marketplace::withdrawCall {
            assetId: grand,
            token: ETH,
        },
    );
    assert_eq!(w.claimable(grand, g, ETH), U256::ZERO);
}

#[test]
fn fees_go_to_the_recipient_and_only_the_admin_sets_them() {
    let mut w = World::new();
    let (admin, o, buyer, treasury) = (w.a[0], w.a[1], w.a[2], w.a[3]);
    assert_eq!(w.view(Marketplace::feeBpsCall {}), 0);
    assert_eq!(w.view(Marketplace::feeRecipientCall {}), admin);
    assert!(matches!(
        w.err(
            o,
            0,
            Marketplace::setFeeCall {
                recipient: o,
                bps: 100
            }
        ),
        E::OwnableUnauthorizedAccount(_)
    ));
    assert_eq!(
        w.err(
            admin,
            0,
            Marketplace::setFeeCall {
                recipient: treasury,
                bps: 1001
            }
        ),
        E::FeeTooHigh(Marketplace::FeeTooHigh {
            bps: U256::from(1001),
            max: U256::from(1000)
        })
    );
    assert_eq!(
        w.err(
            admin,
            0,
            Marketplace::setFeeCall {
                recipient: Address::ZERO,
                bps: 1
            }
        ),
        E::ZeroAddress(Marketplace::ZeroAddress {})
    );
    let r = w
        .market(
            admin,
            0,
            Marketplace::setFeeCall {
                recipient: treasury,
                bps: 250,
            },
        )
        .unwrap()
        .1;
    assert_eq!(events::<Marketplace::FeeChanged>(&r)[0].feeBps, 250);
    let id = w.publish_simple(o, &[(o, 1)], 10_000);
    let r = w
        .market(
            buyer,
            10_000,
            Marketplace::buyCall {
                assetId: id,
                token: ETH,
                maxPrice: U256::MAX,
                minDuration: 0,
                metadataHash: B256::ZERO,
            },
        )
        .unwrap()
        .1;
    assert_eq!(
        events::<Marketplace::FeeCharged>(&r)[0].amount,
        U256::from(250)
    );
    assert_eq!(
        w.view(Marketplace::feesOwedCall { token: ETH }),
        U256::from(250)
    );
    assert_eq!(w.claimable(id, o, ETH), U256::from(9750));
    assert_eq!(
        w.err(admin, 0, Marketplace::withdrawFeesCall { token: ETH }),
        E::NotFeeRecipient(Marketplace::NotFeeRecipient { caller: admin })
    );
    let before = w.chain.balance(treasury);
    w.ok(treasury, 0, Marketplace::withdrawFeesCall { token: ETH });
    assert_eq!(w.chain.balance(treasury), before + U256::from(250));
    assert_eq!(
        w.err(treasury, 0, Marketplace::withdrawFeesCall { token: ETH }),
        E::NothingToWithdraw(Marketplace::NothingToWithdraw {
            assetId: U256::ZERO,
            account: treasury,
            token: ETH
        })
    );
}

#[test]
fn payment_tokens_are_append_only_and_bounded() {
    let mut w = World::with_accounts(12);
    let admin = w.a[0];
    let token = w.c.token;
    assert!(w.view(Marketplace::isPaymentTokenCall { token: ETH }));
    assert!(w.view(Marketplace::isPaymentTokenCall { token }));
    assert!(matches!(
        w.err(
            w.a[1],
            0,
            Marketplace::allowPaymentTokenCall { token: w.a[5] }
        ),
        E::OwnableUnauthorizedAccount(_)
    ));
    assert_eq!(
        w.err(admin, 0, Marketplace::allowPaymentTokenCall { token }),
        E::TokenAlreadyAllowed(Marketplace::TokenAlreadyAllowed { token })
    );
    assert_eq!(
        w.err(
            admin,
            0,
            Marketplace::allowPaymentTokenCall {
                token: Address::ZERO
            }
        ),
        E::ZeroAddress(Marketplace::ZeroAddress {})
    );
    for i in 0..7 {
        let r = w
            .market(
                admin,
                0,
                Marketplace::allowPaymentTokenCall { token: w.a[2 + i] },
            )
            .unwrap()
            .1;
        assert_eq!(
            events::<Marketplace::PaymentTokenAllowed>(&r)[0].token,
            w.a[2 + i]
        );
    }
    assert_eq!(w.view(Marketplace::paymentTokensCall {}).len(), 8);
    assert_eq!(
        w.err(
            admin,
            0,
            Marketplace::allowPaymentTokenCall { token: w.a[11] }
        ),
        E::TooManyPaymentTokens(Marketplace::TooManyPaymentTokens { max: U256::from(8) })
    );
}

#[test]
fn failed_ether_payouts_revert_and_reentry_finds_nothing() {
    let mut w = World::new();
    let (o, buyer) = (w.a[1], w.a[2]);
    let market = w.c.marketplace;
    let (probe, _) = w.chain.deploy(o, &ProbeAccount::BYTECODE, &[]).unwrap();
    let id = w.publish_simple(o, &[(probe, 1)], 100);
    w.buy_eth(buyer, id, 100);
    let withdraw = Bytes::from(
        Marketplace::withdrawCall {
            assetId: id,
            token: ETH,
        }
        .abi_encode(),
    );

    // A holder that refuses ether cannot withdraw, and keeps its claim.
    w.chain
        .send(
            o,
            probe,
            U256::ZERO,
            &ProbeAccount::setRejectEtherCall { reject: true },
        )
        .unwrap();
    let err = w.chain.send(
        o,
        probe,
        U256::ZERO,
        &ProbeAccount::execCall {
            target: market,
            value: U256::ZERO,
            data: withdraw.clone(),
        },
    );
    let inner = match err
        .unwrap_err()
        .decode::<ProbeAccount::ProbeAccountErrors>()
    {
        ProbeAccount::ProbeAccountErrors::CallFailed(f) => E::abi_decode(&f.data).unwrap(),
        other => panic!("unexpected {other:?}"),
    };
    assert_eq!(
        inner,
        E::PaymentFailed(Marketplace::PaymentFailed {
            to: probe,
            amount: U256::from(100)
        })
    );
    assert_eq!(w.claimable(id, probe, ETH), U256::from(100));

    // A holder that re-enters withdraw on receipt gets paid once; the inner call finds nothing.
    w.chain
        .send(
            o,
            probe,
            U256::ZERO,
            &ProbeAccount::setRejectEtherCall { reject: false },
        )
        .unwrap();
    w.chain
        .send(
            o,
            probe,
            U256::ZERO,
            &ProbeAccount::setReentryCall {
                target: market,
                data: withdraw.clone(),
            },
        )
        .unwrap();
    w.chain
        .send(
            o,
            probe,
            U256::ZERO,
            &ProbeAccount::execCall {
                target: market,
                value: U256::ZERO,
                data: withdraw,
            },
        )
        .unwrap();
    assert_eq!(w.chain.balance(probe), U256::from(100));
    assert_eq!(
        w.chain
            .call(probe, &ProbeAccount::reentryAttemptsCall {})
            .unwrap(),
        U256::from(1)
    );
    assert!(
        !w.chain
            .call(probe, &ProbeAccount::reentrySucceededCall {})
            .unwrap()
    );
    assert_eq!(w.chain.balance(market), U256::ZERO);

    // Fees to a recipient that refuses ether stay owed.
    let admin = w.a[0];
    w.ok(
        admin,
        0,
        Marketplace::setFeeCall {
            recipient: probe,
            bps: 1000,
        },
    );
    w.chain
        .send(
            o,
            probe,
            U256::ZERO,
            &ProbeAccount::setRejectEtherCall { reject: true },
        )
        .unwrap();
    w.buy_eth(w.a[3], id, 100);
    let fees = Bytes::from(Marketplace::withdrawFeesCall { token: ETH }.abi_encode());
    assert!(
        w.chain
            .send(
                o,
                probe,
                U256::ZERO,
                &ProbeAccount::execCall {
                    target: market,
                    value: U256::ZERO,
                    data: fees
                }
            )
            .is_err()
    );
    assert_eq!(
        w.view(Marketplace::feesOwedCall { token: ETH }),
        U256::from(10)
    );
}

#[test]
fn withdraw_many_pays_all_named_claims_at_once() {
    let mut w = World::new();
    let (o, h, buyer) = (w.a[1], w.a[2], w.a[3]);
    let first = w.publish_simple(o, &[(h, 1)], 300);
    let second = w.publish_simple(o, &[(h, 1), (o, 1)], 500);
    let unrelated = w.publish_simple(o, &[(o, 1)], 700);
    w.buy_eth(buyer, first, 300);
    w.buy_eth(buyer, second, 500);
    w.buy_eth(buyer, unrelated, 700);
    let ids = vec![first, second, unrelated, first];
    assert_eq!(
        w.view(Marketplace::claimableManyCall {
            assetIds: vec![first, second, unrelated],
            account: h,
            token: ETH
        }),
        U256::from(550)
    );
    let before = w.chain.balance(h);
    let (paid, r) = w
        .market(
            h,
            0,
            Marketplace::withdrawManyCall {
                assetIds: ids.clone(),
                token: ETH,
            },
        )
        .unwrap();
    assert_eq!(paid, U256::from(550), "a repeated id pays once");
    assert_eq!(w.chain.balance(h), before + U256::from(550));
    let withdrawn = events::<Marketplace::Withdrawn>(&r);
    assert_eq!(
        withdrawn
            .iter()
            .map(|e| (e.assetId, e.amount))
            .collect::<Vec<_>>(),
        vec![(first, U256::from(300)), (second, U256::from(250))]
    );
    assert_eq!(
        w.claimable(second, o, ETH),
        U256::from(250),
        "others' claims are untouched"
    );
    assert_eq!(
        w.err(
            h,
            0,
            Marketplace::withdrawManyCall {
                assetIds: ids,
                token: ETH
            }
        ),
        E::NothingToWithdraw(Marketplace::NothingToWithdraw {
            assetId: U256::ZERO,
            account: h,
            token: ETH
        })
    );
}
