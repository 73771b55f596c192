//! Proposals: propose, vote with snapshot shares, execute, reject, expire.

use crate::common::*;
use alloy_primitives::{Address, U256, aliases::U96};
use scal3ml_contracts::Marketplace::{self, MarketplaceErrors as E};

const OPEN: u8 = 1;
const EXECUTED: u8 = 2;
const REJECTED: u8 = 3;
const EXPIRED: u8 = 4;

fn propose(w: &mut World, from: Address, asset: U256, shares: u64) -> U256 {
    let (id, r) = w
        .market(
            from,
            0,
            Marketplace::proposeCall {
                assetId: asset,
                contentCid: cid(30),
                metadataCid: cid(31),
                requestedShares: u96(shares),
                descriptionCid: cid(32),
            },
        )
        .unwrap();
    let e = &events::<Marketplace::ProposalCreated>(&r)[0];
    assert_eq!(
        (e.proposalId, e.assetId, e.proposer, e.requestedShares),
        (id, asset, from, u96(shares))
    );
    assert_eq!(e.descriptionCid, cid(32));
    id
}

#[test]
fn a_majority_passes_and_execution_appends_the_version_and_mints_shares() {
    let mut w = World::new();
    let (o, b, contributor, buyer) = (w.a[1], w.a[2], w.a[3], w.a[4]);
    let mut p = w.params(o);
    p.shareholders = vec![
        Marketplace::Shareholder {
            account: o,
            shares: u96(60),
        },
        Marketplace::Shareholder {
            account: b,
            shares: u96(40),
        },
    ];
    p.listing = Marketplace::ListingTerms {
        token: ETH,
        price: 1000,
        duration: 1,
    };
    let asset = w.publish(o, p);
    w.buy_eth(buyer, asset, 1000);
    let id = propose(&mut w, contributor, asset, 25);
    let prop = w.view(Marketplace::proposalCall { proposalId: id });
    assert_eq!(prop.state, OPEN);
    assert_eq!(
        u64::try_from(prop.snapshotBlock).unwrap(),
        w.chain.block_number() - 1
    );
    assert_eq!(prop.totalAtSnapshot, u96(100));

    // 40 of 100 is not a majority.
    let r = w
        .market(
            b,
            0,
            Marketplace::voteCall {
                proposalId: id,
                support: true,
            },
        )
        .unwrap()
        .1;
    assert_eq!(events::<Marketplace::VoteCast>(&r)[0].weight, u96(40));
    assert!(w.view(Marketplace::hasVotedCall {
        proposalId: id,
        voter: b
    }));
    assert_eq!(
        w.err(contributor, 0, Marketplace::executeCall { proposalId: id }),
        E::ProposalNotPassed(Marketplace::ProposalNotPassed {
            proposalId: id,
            yesVotes: U256::from(40),
            needed: U256::from(51)
        })
    );
    w.ok(
        o,
        0,
        Marketplace::voteCall {
            proposalId: id,
            support: true,
        },
    );
    let (index, r) = w
        .market(buyer, 0, Marketplace::executeCall { proposalId: id })
        .unwrap();
    assert_eq!(index, U256::from(1));
    let v = &events::<Marketplace::VersionAdded>(&r)[0];
    assert_eq!(
        (v.author, v.contentCid.clone(), v.metadataCid.clone()),
        (contributor, cid(30), cid(31))
    );
    assert_eq!(
        events::<Marketplace::ProposalExecuted>(&r)[0].versionIndex,
        index
    );
    assert_eq!(
        w.view(Marketplace::proposalCall { proposalId: id }).state,
        EXECUTED
    );
    assert_eq!(
        w.view(Marketplace::sharesOfCall {
            assetId: asset,
            account: contributor
        }),
        u96(25)
    );
    assert_eq!(
        w.view(Marketplace::assetRecordCall { assetId: asset })
            .totalShares,
        u96(125)
    );
    // New shares earn only from later sales.
    assert_eq!(w.claimable(asset, contributor, ETH), U256::ZERO);
    assert_eq!(w.claimable(asset, o, ETH), U256::from(600));
    w.buy_eth(buyer, asset, 1000);
    assert_eq!(w.claimable(asset, contributor, ETH), U256::from(200));
    assert_eq!(w.claimable(asset, o, ETH), U256::from(1080));
    assert_eq!(
        w.err(o, 0, Marketplace::executeCall { proposalId: id }),
        E::ProposalNotOpen(Marketplace::ProposalNotOpen {
            proposalId: id,
            state: EXECUTED
        })
    );
}

#[test]
fn moving_shares_after_the_snapshot_cannot_vote_twice() {
    let mut w = World::new();
    let (o, a, b) = (w.a[1], w.a[2], w.a[3]);
    let asset = w.publish_simple(o, &[(a, 60), (o, 40)], 100);
    let id = propose(&mut w, o, asset, 0);
    w.ok(
        a,
        0,
        Marketplace::voteCall {
            proposalId: id,
            support: false,
        },
    );
    w.ok(
        a,
        0,
        Marketplace::transferSharesCall {
            assetId: asset,
            to: b,
            amount: u96(60),
        },
    );
    assert_eq!(
        w.err(
            b,
            0,
            Marketplace::voteCall {
                proposalId: id,
                support: true
            }
        ),
        E::NoVotingPower(Marketplace::NoVotingPower {
            proposalId: id,
            voter: b
        })
    );
    assert_eq!(
        w.err(
            a,
            0,
            Marketplace::voteCall {
                proposalId: id,
                support: true
            }
        ),
        E::AlreadyVoted(Marketplace::AlreadyVoted {
            proposalId: id,
            voter: a
        })
    );
    let snapshot = u64::try_from(
        w.view(Marketplace::proposalCall { proposalId: id })
            .snapshotBlock,
    )
    .unwrap();
    assert_eq!(
        w.view(Marketplace::sharesAtCall {
            assetId: asset,
            account: a,
            blockNumber: U256::from(snapshot)
        }),
        u96(60)
    );
    assert_eq!(
        w.view(Marketplace::sharesAtCall {
            assetId: asset,
            account: b,
            blockNumber: U256::from(snapshot)
        }),
        U96::ZERO
    );
    // A later proposal sees the new holdings.
    let later = propose(&mut w, o, asset, 0);
    w.ok(
        b,
        0,
        Marketplace::voteCall {
            proposalId: later,
            support: true,
        },
    );
    w.ok(o, 0, Marketplace::executeCall { proposalId: later });
    let prop = w.view(Marketplace::proposalCall { proposalId: id });
    assert_eq!((prop.yesVotes, prop.noVotes), (U96::ZERO, u96(60)));
}

#[test]
fn the_owner_rejects_and_proposals_expire() {
    let mut w = World::new();
    let (o, x) = (w.a[1], w.a[2]);
    let asset = w.publish_simple(o, &[(o, 1)], 100);
    let id = propose(&mut w, x, asset, 1);
    assert_eq!(
        w.err(x, 0, Marketplace::rejectCall { proposalId: id }),
        E::NotAssetOwner(Marketplace::NotAssetOwner {
            assetId: asset,
            caller: x
        })
    );
    let r = w
        .market(o, 0, Marketplace::rejectCall { proposalId: id })
        .unwrap()
        .1;
    assert_eq!(
        events::<Marketplace::ProposalRejected>(&r)[0].proposalId,
        id
    );
    assert_eq!(
        w.view(Marketplace::proposalCall { proposalId: id }).state,
        REJECTED
    );
    assert_eq!(
        w.err(
            o,
            0,
            Marketplace::voteCall {
                proposalId: id,
                support: true
            }
        ),
        E::ProposalNotOpen(Marketplace::ProposalNotOpen {
            proposalId: id,
            state: REJECTED
        })
    );

    let id = propose(&mut w, x, asset, 1);
    w.chain.advance(7 * 24 * 3600);
    assert_eq!(
        w.view(Marketplace::proposalCall { proposalId: id }).state,
        OPEN,
        "open through its deadline second"
    );
    w.chain.advance(1);
    assert_eq!(
        w.view(Marketplace::proposalCall { proposalId: id }).state,
        EXPIRED
    );
    assert_eq!(
        w.err(
            o,
            0,
            Marketplace::voteCall {
                proposalId: id,
                support: true
            }
        ),
        E::ProposalNotOpen(Marketplace::ProposalNotOpen {
            proposalId: id,
            state: EXPIRED
        })
    );
    let missing = U256::from(99);
    assert_eq!(
        w.err(
            o,
            0,
            Marketplace::voteCall {
                proposalId: missing,
                support: true
            }
        ),
        E::UnknownProposal(Marketplace::UnknownProposal {
            proposalId: missing
        })
    );
    assert_eq!(
        w.err(
            o,
            0,
            Marketplace::proposalCall {
                proposalId: missing
            }
        ),
        E::UnknownProposal(Marketplace::UnknownProposal {
            proposalId: missing
        })
    );
}

#[test]
fn proposal_reverts_explain_themselves() {
    let mut w = World::new();
    let (o, x) = (w.a[1], w.a[2]);
    let asset = w.publish_simple(o, &[(o, 1)], 100);
    let call = |asset, content: alloy_primitives::Bytes, shares: U96| Marketplace::proposeCall {
        assetId: asset,
        contentCid: content,
        metadataCid: cid(2),
        requestedShares: shares,
        descriptionCid: cid(3),
    };
    assert_eq!(
        w.err(x, 0, call(asset, Default::default(), u96(1))),
        E::EmptyCid(Marketplace::EmptyCid {})
    );
    let missing = U256::from(9);
    assert_eq!(
        w.err(x, 0, call(missing, cid(1), u96(1))),
        E::UnknownAsset(Marketplace::UnknownAsset { assetId: missing })
    );
    assert_eq!(
        w.err(x, 0, call(asset, cid(1), U96::MAX)),
        E::TooManyShares(Marketplace::TooManyShares {
            total: U256::from(U96::MAX) + U256::from(1),
            max: U256::from(U96::MAX)
        })
    );
    // Deprecation stops new proposals and the execution of open ones.
    let id = propose(&mut w, x, asset, 1);
    w.ok(
        o,
        0,
        Marketplace::voteCall {
            proposalId: id,
            support: true,
        },
    );
    w.ok(o, 0, Marketplace::deprecateCall { assetId: asset });
    assert_eq!(
        w.err(x, 0, Marketplace::executeCall { proposalId: id }),
        E::Deprecated(Marketplace::Deprecated { assetId: asset })
    );
    assert_eq!(
        w.err(x, 0, call(asset, cid(1), u96(1))),
        E::Deprecated(Marketplace::Deprecated { assetId: asset })
    );
}
