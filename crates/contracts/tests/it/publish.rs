//! publish, versions, metadata, gateway, deprecation, ERC-721 control.

use crate::common::*;
use alloy_primitives::{Address, B256, U256, keccak256};
use alloy_sol_types::SolValue;
use scal3ml_contracts::Marketplace::{self, MarketplaceErrors as E};

#[test]
fn publish_mints_the_asset_with_record_version_shares_and_listing() {
    let mut w = World::new();
    let (owner, bob) = (w.a[1], w.a[2]);
    let mut p = w.params(owner);
    p.kind = 1;
    p.encrypted = true;
    p.gatewayUrl = "https://gw.example/".into();
    p.shareholders = vec![
        Marketplace::Shareholder {
            account: owner,
            shares: u96(60),
        },
        Marketplace::Shareholder {
            account: bob,
            shares: u96(40),
        },
    ];
    p.listing = Marketplace::ListingTerms {
        token: ETH,
        price: 5,
        duration: 3600,
    };
    let (id, r) = w
        .market(owner, 0, Marketplace::publishCall { p: p.clone() })
        .unwrap();
    assert_eq!(id, U256::from(1));
    assert_eq!(w.view(Marketplace::nextAssetIdCall {}), U256::from(2));
    assert_eq!(w.view(Marketplace::ownerOfCall { tokenId: id }), owner);

    let rec = w.view(Marketplace::assetRecordCall { assetId: id });
    assert_eq!(
        (rec.totalShares, rec.kind, rec.encrypted, rec.deprecated),
        (u96(100), 1, true, false)
    );
    assert_eq!(
        (
            rec.versionCount,
            rec.parentCount,
            rec.depth,
            rec.freeListings
        ),
        (1, 0, 0, 0)
    );
    assert_eq!(
        w.view(Marketplace::sharesOfCall {
            assetId: id,
            account: bob
        }),
        u96(40)
    );
    let l = w.view(Marketplace::listingCall {
        assetId: id,
        token: ETH,
    });
    assert_eq!((l.price, l.duration, l.active), (5, 3600, true));

    // The version commitment binds the CIDs, author and time carried in the event.
    let v = &events::<Marketplace::VersionAdded>(&r)[0];
    assert_eq!(
        (v.contentCid.clone(), v.metadataCid.clone(), v.author),
        (p.contentCid.clone(), p.metadataCid.clone(), owner)
    );
    let expected = keccak256(
        (
            p.contentCid.clone(),
            p.metadataCid.clone(),
            owner,
            U256::from(w.chain.timestamp()),
        )
            .abi_encode_params(),
    );
    assert_eq!(v.commitment, expected);
    assert_eq!(
        w.view(Marketplace::versionCommitmentCall {
            assetId: id,
            index: U256::ZERO
        }),
        expected
    );

    let published = &events::<Marketplace::AssetPublished>(&r)[0];
    assert_eq!(
        (published.owner, published.kind, published.encrypted),
        (owner, 1, true)
    );
    assert_eq!(published.gatewayUrl, "https://gw.example/");
    let minted = events::<Marketplace::SharesTransferred>(&r);
    assert_eq!(minted.len(), 2);
    assert_eq!(
        (minted[1].from, minted[1].to, minted[1].amount),
        (Address::ZERO, bob, U256::from(40))
    );
    assert_eq!(events::<Marketplace::ListingSet>(&r)[0].price, 5);
}

#[test]
fn publish_rejects_bad_input_with_the_reason() {
    let mut w = World::new();
    let o = w.a[1];
    let root = w.publish_simple(o, &[(o, 10)], ONE_ETH);

    let mut p = w.params(o);
    p.contentCid = Default::default();
    assert_eq!(
        w.err(o, 0, Marketplace::publishCall { p }),
        E::EmptyCid(Marketplace::EmptyCid {})
    );
    let mut p = w.params(o);
    p.metadataCid = Default::default();
    assert_eq!(
        w.err(o, 0, Marketplace::publishCall { p }),
        E::EmptyCid(Marketplace::EmptyCid {})
    );

    let mut p = w.params(o);
    p.encrypted = true;
    assert_eq!(
        w.err(o, 0, Marketplace::publishCall { p }),
        E::MissingGateway(Marketplace::MissingGateway {})
    );

    let mut p = w.params(o);
    p.parents = (0..5)
        .map(|_| Marketplace::ParentRef {
            assetId: root,
            royaltyBps: 1,
        })
        .collect();
    assert_eq!(
        w.err(o, 0, Marketplace::publishCall { p }),
        E::TooManyParents(Marketplace::TooManyParents {
            count: U256::from(5),
            max: U256::from(4)
        })
    );

    let mut p = w.params(o);
    p.shareholders = vec![];
    assert_eq!(
        w.err(o, 0, Marketplace::publishCall { p }),
        E::NoShareholders(Marketplace::NoShareholders {})
    );

    let mut p = w.params(o);
    p.parents = vec![Marketplace::ParentRef {
        assetId: U256::from(99),
        royaltyBps: 100,
    }];
    assert_eq!(
        w.err(o, 0, Marketplace::publishCall { p }),
        E::UnknownAsset(Marketplace::UnknownAsset {
            assetId: U256::from(99)
        })
    );

    let mut p = w.params(o);
    p.parents = vec![Marketplace::ParentRef {
        assetId: root,
        royaltyBps: 0,
    }];
    assert_eq!(
        w.err(o, 0, Marketplace::publishCall { p }),
        E::ZeroRoyalty(Marketplace::ZeroRoyalty { parentId: root })
    );

    let mut p = w.params(o);
    p.parents = vec![
        Marketplace::ParentRef {
            assetId: root,
            royaltyBps: 100,
        },
        Marketplace::ParentRef {
            assetId: root,
            royaltyBps: 100,
        },
    ];
    assert_eq!(
        w.err(o, 0, Marketplace::publishCall { p }),
        E::DuplicateParent(Marketplace::DuplicateParent { parentId: root })
    );

    let other = w.publish_simple(o, &[(o, 10)], ONE_ETH);
    let mut p = w.params(o);
    p.parents = vec![
        Marketplace::ParentRef {
            assetId: root,
            royaltyBps: 6000,
        },
        Marketplace::ParentRef {
            assetId: other,
            royaltyBps: 5000,
        },
    ];
    assert_eq!(
        w.err(o, 0, Marketplace::publishCall { p }),
        E::RoyaltyTooHigh(Marketplace::RoyaltyTooHigh {
            totalBps: U256::from(11000),
            max: U256::from(10000)
        })
    );

    let mut p = w.params(o);
    p.shareholders = vec![Marketplace::Shareholder {
        account: Address::ZERO,
        shares: u96(1),
    }];
    assert_eq!(
        w.err(o, 0, Marketplace::publishCall { p }),
        E::ZeroAddress(Marketplace::ZeroAddress {})
    );

    let mut p = w.params(o);
    p.shareholders = vec![Marketplace::Shareholder {
        account: o,
        shares: u96(0),
    }];
    assert_eq!(
        w.err(o, 0, Marketplace::publishCall { p }),
        E::ZeroShares(Marketplace::ZeroShares { account: o })
    );

    let mut p = w.params(o);
    let max = alloy_primitives::aliases::U96::MAX;
    p.shareholders = vec![
        Marketplace::Shareholder {
            account: o,
            shares: max,
        },
        Marketplace::Shareholder {
            account: w.a[2],
            shares: u96(1),
        },
    ];
    let total = U256::from(max) + U256::from(1);
    assert_eq!(
        w.err(o, 0, Marketplace::publishCall { p }),
        E::TooManyShares(Marketplace::TooManyShares {
            total,
            max: U256::from(max)
        })
    );

    let mut p = w.params(o);
    p.listing.token = w.a[5];
    let bad = w.a[5];
    assert_eq!(
        w.err(o, 0, Marketplace::publishCall { p }),
        E::TokenNotAllowed(Marketplace::TokenNotAllowed { token: bad })
    );
}

#[test]
fn lineage_is_bounded_in_depth_and_in_ancestors() {
    let mut w = World::new();
    let o = w.a[1];
    // A chain root <- c1 <- c2 <- c3 <- c4 has depth 4; a fifth level is refused.
    let mut parent = w.publish_simple(o, &[(o, 1)], ONE_ETH);
    for depth in 1..=4u8 {
        let mut p = w.params(o);
        p.parents = vec![Marketplace::ParentRef {
            assetId: parent,
            royaltyBps: 1000,
        }];
        parent = w.publish(o, p);
        assert_eq!(
            w.view(Marketplace::assetRecordCall { assetId: parent })
                .depth,
            depth
        );
    }
    let mut p = w.params(o);
    p.parents = vec![Marketplace::ParentRef {
        assetId: parent,
        royaltyBps: 1000,
    }];
    assert_eq!(
        w.err(o, 0, Marketplace::publishCall { p }),
        E::LineageTooDeep(Marketplace::LineageTooDeep {
            depth: U256::from(5),
            max: U256::from(4)
        })
    );

    // Ancestors are counted along every path: four parents with three parents each make 4 * (1 + 3) = 16
    // credits per sale, the limit; one more level on top would make 17.
    let roots: Vec<U256> = (0..3)
        .map(|_| w.publish_simple(o, &[(o, 1)], ONE_ETH))
        .collect();
    let mut mids = vec![];
    for _ in 0..4 {
        let mut p = w.params(o);
        p.parents = roots
            .iter()
            .map(|&id| Marketplace::ParentRef {
                assetId: id,
                royaltyBps: 100,
            })
            .collect();
        mids.push(w.publish(o, p));
    }
    let mut p = w.params(o);
    p.parents = mids
        .iter()
        .map(|&id| Marketplace::ParentRef {
            assetId: id,
            royaltyBps: 100,
        })
        .collect();
    let wide = w.publish(o, p);
    let rec = w.view(Marketplace::assetRecordCall { assetId: wide });
    assert_eq!((rec.upstreamCount, rec.depth), (16, 2));
    let mut p = w.params(o);
    p.parents = vec![Marketplace::ParentRef {
        assetId: wide,
        royaltyBps: 100,
    }];
    assert_eq!(
        w.err(o, 0, Marketplace::publishCall { p }),
        E::TooManyAncestors(Marketplace::TooManyAncestors {
            count: U256::from(17),
            max: U256::from(16)
        })
    );
}

#[test]
fn owner_manages_versions_metadata_gateway_and_deprecation() {
    let mut w = World::new();
    let (o, x) = (w.a[1], w.a[2]);
    let id = w.publish_simple(o, &[(o, 1)], ONE_ETH);

    let (index, r) = w
        .market(
            o,
            0,
            Marketplace::addVersionCall {
                assetId: id,
                contentCid: cid(7),
                metadataCid: cid(8),
            },
        )
        .unwrap();
    assert_eq!(index, U256::from(1));
    assert_eq!(
        events::<Marketplace::VersionAdded>(&r)[0].contentCid,
        cid(7)
    );
    assert_eq!(
        w.view(Marketplace::assetRecordCall { assetId: id })
            .versionCount,
        2
    );
    assert_ne!(
        w.view(Marketplace::versionCommitmentCall {
            assetId: id,
            index: U256::from(1)
        }),
        alloy_primitives::B256::ZERO
    );

    let r = w
        .market(
            o,
            0,
            Marketplace::updateMetadataCall {
                assetId: id,
                metadataCid: cid(9),
            },
        )
        .unwrap()
        .1;
    assert_eq!(
        events::<Marketplace::MetadataUpdated>(&r)[0].metadataCid,
        cid(9)
    );
    let r = w
        .market(
            o,
            0,
            Marketplace::setGatewayCall {
                assetId: id,
                gatewayUrl: "https://g/".into(),
            },
        )
        .unwrap()
        .1;
    assert_eq!(
        events::<Marketplace::GatewayChanged>(&r)[0].gatewayUrl,
        "https://g/"
    );

    let not_owner = E::NotAssetOwner(Marketplace::NotAssetOwner {
        assetId: id,
        caller: x,
    });
    assert_eq!(
        w.err(
            x,
            0,
            Marketplace::addVersionCall {
                assetId: id,
                contentCid: cid(7),
                metadataCid: cid(8)
            }
        ),
        not_owner
    );
    assert_eq!(
        w.err(
            x,
            0,
            Marketplace::updateMetadataCall {
                assetId: id,
                metadataCid: cid(9)
            }
        ),
        not_owner
    );
    assert_eq!(
        w.err(
            x,
            0,
            Marketplace::setGatewayCall {
                assetId: id,
                gatewayUrl: String::new()
            }
        ),
        not_owner
    );
    assert_eq!(
        w.err(x, 0, Marketplace::deprecateCall { assetId: id }),
        not_owner
    );
    assert_eq!(
        w.err(
            o,
            0,
            Marketplace::addVersionCall {
                assetId: id,
                contentCid: Default::default(),
                metadataCid: cid(8)
            }
        ),
        E::EmptyCid(Marketplace::EmptyCid {})
    );
    assert_eq!(
        w.err(
            o,
            0,
            Marketplace::updateMetadataCall {
                assetId: id,
                metadataCid: Default::default()
            }
        ),
        E::EmptyCid(Marketplace::EmptyCid {})
    );
    let missing = U256::from(42);
    assert_eq!(
        w.err(o, 0, Marketplace::deprecateCall { assetId: missing }),
        E::UnknownAsset(Marketplace::UnknownAsset { assetId: missing })
    );

    // An encrypted asset cannot drop its gateway.
    let mut p = w.params(o);
    p.encrypted = true;
    p.gatewayUrl = "https://g/".into();
    let enc = w.publish(o, p);
    assert_eq!(
        w.err(
            o,
            0,
            Marketplace::setGatewayCall {
                assetId: enc,
                gatewayUrl: String::new()
            }
        ),
        E::MissingGateway(Marketplace::MissingGateway {})
    );

    let r = w
        .market(o, 0, Marketplace::deprecateCall { assetId: id })
        .unwrap()
        .1;
    assert_eq!(events::<Marketplace::AssetDeprecated>(&r).len(), 1);
    assert!(
        w.view(Marketplace::assetRecordCall { assetId: id })
            .deprecated
    );
    assert_eq!(
        w.err(o, 0, Marketplace::deprecateCall { assetId: id }),
        E::Deprecated(Marketplace::Deprecated { assetId: id })
    );
    assert_eq!(
        w.err(
            x,
            ONE_ETH,
            Marketplace::buyCall {
                assetId: id,
                token: ETH,
                maxPrice: U256::from(ONE_ETH),
                minDuration: 0,
                metadataHash: B256::ZERO,
            }
        ),
        E::Deprecated(Marketplace::Deprecated { assetId: id })
    );
    assert_eq!(
        w.err(o, 0, Marketplace::assetRecordCall { assetId: missing }),
        E::UnknownAsset(Marketplace::UnknownAsset { assetId: missing })
    );
}

#[test]
fn transferring_the_token_moves_control_not_revenue_shares() {
    let mut w = World::new();
    let (o, x, buyer) = (w.a[1], w.a[2], w.a[3]);
    let id = w.publish_simple(o, &[(o, 1)], ONE_ETH);
    w.ok(
        o,
        0,
        Marketplace::transferFromCall {
            from: o,
            to: x,
            tokenId: id,
        },
    );
    assert_eq!(w.view(Marketplace::ownerOfCall { tokenId: id }), x);
    w.ok(
        x,
        0,
        Marketplace::updateMetadataCall {
            assetId: id,
            metadataCid: cid(3),
        },
    );
    assert!(matches!(
        w.err(
            o,
            0,
            Marketplace::updateMetadataCall {
                assetId: id,
                metadataCid: cid(3)
            }
        ),
        E::NotAssetOwner(_)
    ));
    w.buy_eth(buyer, id, ONE_ETH);
    assert_eq!(w.claimable(id, o, ETH), U256::from(ONE_ETH));
    assert_eq!(w.claimable(id, x, ETH), U256::ZERO);
}
