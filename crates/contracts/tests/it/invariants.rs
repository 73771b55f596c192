//! Stateful property test: random sequences of marketplace operations over several accounts and assets,
//! checking after every step that
//! 1. for each token, the marketplace's balance equals everything claimable + carried remainders + fees owed;
//! 2. no account's claimable falls except by its own withdrawal;
//! 3. `hasAccess` agrees with a plain reference model (owner, shareholders, unexpired licenses, free listings).
//!
//! It also checks that every operation succeeds exactly when the model says it should.
//!
//! Steps: 10,000 by default; set SCAL3ML_PROPTEST_STEPS for more (e.g. 200000).

use crate::common::*;
use alloy_primitives::{Address, B256, U256, keccak256};
use proptest::prelude::*;
use scal3ml_contracts::{Marketplace, TestToken};
use std::collections::{BTreeMap, BTreeSet};

const OPS_PER_CASE: usize = 250;
const USERS: usize = 5;
const MAX_ASSETS: usize = 10;
const VOTING_PERIOD: u64 = 7 * 24 * 3600;

#[derive(Debug, Clone)]
enum Op {
    Publish {
        owner: u8,
        holders: Vec<(u8, u8)>,
        parent: Option<(u8, u16)>,
        price: u32,
        erc20: bool,
        duration: u16,
    },
    Buy {
        buyer: u8,
        asset: u8,
        erc20: bool,
    },
    Withdraw {
        who: u8,
        asset: u8,
        erc20: bool,
    },
    WithdrawMany {
        who: u8,
        erc20: bool,
    },
    TransferShares {
        from: u8,
        to: u8,
        asset: u8,
        amount: u8,
    },
    SetListing {
        asset: u8,
        erc20: bool,
        price: u32,
        duration: u16,
    },
    RemoveListing {
        asset: u8,
        erc20: bool,
    },
    Propose {
        who: u8,
        asset: u8,
        shares: u8,
    },
    Vote {
        who: u8,
        proposal: u8,
        support: bool,
    },
    Execute {
        who: u8,
        proposal: u8,
    },
    SetFee {
        bps: u16,
    },
    WithdrawFees {
        erc20: bool,
    },
    Advance {
        seconds: u16,
    },
}

fn op() -> impl Strategy<Value = Op> {
    let price = prop_oneof![1 => Just(0u32), 6 => 1u32..1_000_000];
    prop_oneof![
        2 => (any::<u8>(), prop::collection::vec((any::<u8>(), 1u8..100), 1..4), prop::option::of((any::<u8>(), 1u16..5000)), price.clone(), any::<bool>(), prop_oneof![Just(0u16), 1u16..3000])
            .prop_map(|(owner, holders, parent, price, erc20, duration)| Op::Publish { owner, holders, parent, price, erc20, duration }),
        8 => (any::<u8>(), any::<u8>(), any::<bool>()).prop_map(|(buyer, asset, erc20)| Op::Buy { buyer, asset, erc20 }),
        4 => (any::<u8>(), any::<u8>(), any::<bool>()).prop_map(|(who, asset, erc20)| Op::Withdraw { who, asset, erc20 }),
        1 => (any::<u8>(), any::<bool>()).prop_map(|(who, erc20)| Op::WithdrawMany { who, erc20 }),
        3 => (any::<u8>(), any::<u8>(), any::<u8>(), 0u8..60).prop_map(|(from, to, asset, amount)| Op::TransferShares { from, to, asset, amount }),
        1 => (any::<u8>(), any::<bool>(), price, prop_oneof![Just(0u16), 1u16..3000]).prop_map(|(asset, erc20, price, duration)| Op::SetListing { asset, erc20, price, duration }),
        1 => (any::<u8>(), any::<bool>()).prop_map(|(asset, erc20)| Op::RemoveListing { asset, erc20 }),
        2 => (any::<u8>(), any::<u8>(), 0u8..40).prop_map(|(who, asset, shares)| Op::Propose { who, asset, shares }),
        3 => (any::<u8>(), any::<u8>(), any::<bool>()).prop_map(|(who, proposal, support)| Op::Vote { who, proposal, support }),
        2 => (any::<u8>(), any::<u8>()).prop_map(|(who, proposal)| Op::Execute { who, proposal }),
        1 => (0u16..=1000).prop_map(|bps| Op::SetFee { bps }),
        1 => any::<bool>().prop_map(|erc20| Op::WithdrawFees { erc20 }),
        2 => (0u16..5000).prop_map(|seconds| Op::Advance { seconds }),
    ]
}

#[derive(Debug, Clone, Default)]
struct AssetModel {
    owner: Address,
    shares: BTreeMap<Address, u64>,
    ever_held: BTreeSet<Address>,
    listings: BTreeMap<Address, (u128, u64)>,
    licenses: BTreeMap<Address, u64>,
    /// keccak256 of the current card's metadata CID: what a buyer who read the card passes to `buy`.
    card: B256,
}

impl AssetModel {
    fn total(&self) -> u64 {
        self.shares.values().sum()
    }
    fn free(&self) -> bool {
        self.listings.values().any(|&(price, _)| price == 0)
    }
}

#[derive(Debug, Clone)]
struct ProposalModel {
    id: U256,
    asset: usize,
    proposer: Address,
    requested: u64,
    snapshot: BTreeMap<Address, u64>,
    total: u64,
    deadline: u64,
    yes: u64,
    voted: BTreeSet<Address>,
    done: bool,
}

struct Run {
    w: World,
    users: Vec<Address>,
    assets: Vec<(U256, AssetModel)>,
    proposals: Vec<ProposalModel>,
    claimable: BTreeMap<(usize, Address, Address), U256>,
    fee_bps: u16,
}

impl Run {
    fn new() -> Self {
        let mut w = World::with_accounts(USERS + 1);
        let users: Vec<Address> = w.a[1..].to_vec();
        for &u in &users {
            w.fund_token(u, u128::MAX / 16);
        }
        Self {
            w,
            users,
            assets: vec![],
            proposals: vec![],
            claimable: BTreeMap::new(),
            fee_bps: 0,
        }
    }

    fn user(&self, i: u8) -> Address {
        self.users[i as usize % USERS]
    }

    fn token(&self, erc20: bool) -> Address {
        if erc20 { self.w.c.token } else { ETH }
    }

    fn asset(&self, i: u8) -> Option<usize> {
        (!self.assets.is_empty()).then(|| i as usize % self.assets.len())
    }

    fn step(&mut self, op: &Op) -> Result<(), TestCaseError> {
        let mut withdrew: BTreeSet<(usize, Address, Address)> = BTreeSet::new();
        match op.clone() {
            Op::Publish {
                owner,
                holders,
                parent,
                price,
                erc20,
                duration,
            } => {
                if self.assets.len() >= MAX_ASSETS {
                    return Ok(());
                }
                let owner = self.user(owner);
                let token = self.token(erc20);
                let mut p = self.w.params(owner);
                let mut m = AssetModel {
                    owner,
                    card: keccak256(&p.metadataCid),
                    ..Default::default()
                };
                p.shareholders = holders
                    .iter()
                    .map(|&(h, s)| {
                        let account = self.user(h);
                        *m.shares.entry(account).or_default() += s as u64;
                        m.ever_held.insert(account);
                        Marketplace::Shareholder {
                            account,
                            shares: u96(s as u64),
                        }
                    })
                    .collect();
                if let (Some((pi, bps)), Some(_)) = (parent, self.asset(0)) {
                    let pidx = self.asset(pi).unwrap();
                    let prec = self.w.view(Marketplace::assetRecordCall {
                        assetId: self.assets[pidx].0,
                    });
                    if prec.depth < 4 && prec.upstreamCount < 16 {
                        p.parents = vec![Marketplace::ParentRef {
                            assetId: self.assets[pidx].0,
                            royaltyBps: bps,
                        }];
                    }
                }
                p.listing = Marketplace::ListingTerms {
                    token,
                    price: price as u128,
                    duration: duration as u64,
                };
                m.listings.insert(token, (price as u128, duration as u64));
                let id = self.w.publish(owner, p);
                prop_assert_eq!(id, U256::from(self.assets.len() + 1));
                self.assets.push((id, m));
            }
            Op::Buy {
                buyer,
                asset,
                erc20,
            } => {
                let Some(ai) = self.asset(asset) else {
                    return Ok(());
                };
                let buyer = self.user(buyer);
                let token = self.token(erc20);
                let (id, m) = &self.assets[ai];
                let listing = m.listings.get(&token).copied();
                let current = m.licenses.get(&buyer).copied().unwrap_or(0);
                let expect_ok = listing.is_some() && current != u64::MAX;
                let (price, duration) = listing.unwrap_or((0, 0));
                let value = if erc20 { 0 } else { price };
                // The terms as the buyer read them: a perpetual listing is read as "at least perpetual".
                let min_duration = if duration == 0 { u64::MAX } else { duration };
                let card = m.card;
                let res = self.w.market(
                    buyer,
                    value,
                    Marketplace::buyCall {
                        assetId: *id,
                        token,
                        maxPrice: U256::from(price),
                        minDuration: min_duration,
                        metadataHash: card,
                    },
                );
                prop_assert_eq!(
                    res.is_ok(),
                    expect_ok,
                    "buy {:?} listing {:?}: {:?}",
                    op,
                    listing,
                    res.as_ref().err()
                );
                if let Ok((expiry, _)) = res {
                    let now = self.w.chain.timestamp();
                    let expected = if duration == 0 {
                        u64::MAX
                    } else {
                        current.max(now) + duration
                    };
                    prop_assert_eq!(expiry, expected);
                    self.assets[ai].1.licenses.insert(buyer, expiry);
                }
            }
            Op::Withdraw { who, asset, erc20 } => {
                let Some(ai) = self.asset(asset) else {
                    return Ok(());
                };
                let who = self.user(who);
                let token = self.token(erc20);
                let id = self.assets[ai].0;
                let owed = self.w.claimable(id, who, token);
                let before = self.balance_of(who, token);
                let res = self
                    .w
                    .market(who, 0, Marketplace::withdrawCall { assetId: id, token });
                prop_assert_eq!(res.is_ok(), !owed.is_zero());
                if res.is_ok() {
                    prop_assert_eq!(
                        self.balance_of(who, token),
                        before + owed,
                        "withdraw pays exactly what was claimable"
                    );
                    withdrew.insert((ai, who, token));
                }
            }
            Op::WithdrawMany { who, erc20 } => {
                let who = self.user(who);
                let token = self.token(erc20);
                let ids: Vec<U256> = self.assets.iter().map(|(id, _)| *id).collect();
                let owed = self.w.view(Marketplace::claimableManyCall {
                    assetIds: ids.clone(),
                    account: who,
                    token,
                });
                let before = self.balance_of(who, token);
                let res = self.w.market(
                    who,
                    0,
                    Marketplace::withdrawManyCall {
                        assetIds: ids,
                        token,
                    },
                );
                prop_assert_eq!(res.is_ok(), !owed.is_zero());
                if res.is_ok() {
                    prop_assert_eq!(
                        self.balance_of(who, token),
                        before + owed,
                        "withdrawMany pays the sum of claims"
                    );
                    withdrew.extend((0..self.assets.len()).map(|ai| (ai, who, token)));
                }
            }
            Op::TransferShares {
                from,
                to,
                asset,
                amount,
            } => {
                let Some(ai) = self.asset(asset) else {
                    return Ok(());
                };
                let (from, to) = (self.user(from), self.user(to));
                let id = self.assets[ai].0;
                let held = self.assets[ai].1.shares.get(&from).copied().unwrap_or(0);
                let res = self.w.market(
                    from,
                    0,
                    Marketplace::transferSharesCall {
                        assetId: id,
                        to,
                        amount: u96(amount as u64),
                    },
                );
                prop_assert_eq!(res.is_ok(), amount > 0 && held >= amount as u64);
                if res.is_ok() {
                    let m = &mut self.assets[ai].1;
                    *m.shares.get_mut(&from).unwrap() -= amount as u64;
                    *m.shares.entry(to).or_default() += amount as u64;
                    m.ever_held.insert(to);
                }
            }
            Op::SetListing {
                asset,
                erc20,
                price,
                duration,
            } => {
                let Some(ai) = self.asset(asset) else {
                    return Ok(());
                };
                let token = self.token(erc20);
                let (id, owner) = (self.assets[ai].0, self.assets[ai].1.owner);
                self.w.ok(
                    owner,
                    0,
                    Marketplace::setListingCall {
                        assetId: id,
                        token,
                        price: price as u128,
                        duration: duration as u64,
                    },
                );
                self.assets[ai]
                    .1
                    .listings
                    .insert(token, (price as u128, duration as u64));
            }
            Op::RemoveListing { asset, erc20 } => {
                let Some(ai) = self.asset(asset) else {
                    return Ok(());
                };
                let token = self.token(erc20);
                let (id, owner) = (self.assets[ai].0, self.assets[ai].1.owner);
                let res = self.w.market(
                    owner,
                    0,
                    Marketplace::removeListingCall { assetId: id, token },
                );
                prop_assert_eq!(
                    res.is_ok(),
                    self.assets[ai].1.listings.remove(&token).is_some()
                );
            }
            Op::Propose { who, asset, shares } => {
                let Some(ai) = self.asset(asset) else {
                    return Ok(());
                };
                let who = self.user(who);
                let id = self.assets[ai].0;
                let call = Marketplace::proposeCall {
                    assetId: id,
                    contentCid: cid(5),
                    metadataCid: cid(6),
                    requestedShares: u96(shares as u64),
                    descriptionCid: cid(7),
                };
                let snapshot = self.assets[ai].1.shares.clone();
                let total = self.assets[ai].1.total();
                let (pid, _) = self
                    .w
                    .market(who, 0, call)
                    .map_err(|e| TestCaseError::fail(format!("{e:?}")))?;
                let deadline = self.w.chain.timestamp() + VOTING_PERIOD;
                self.proposals.push(ProposalModel {
                    id: pid,
                    asset: ai,
                    proposer: who,
                    requested: shares as u64,
                    snapshot,
                    total,
                    deadline,
                    yes: 0,
                    voted: BTreeSet::new(),
                    done: false,
                });
            }
            Op::Vote {
                who,
                proposal,
                support,
            } => {
                if self.proposals.is_empty() {
                    return Ok(());
                }
                let pi = proposal as usize % self.proposals.len();
                let who = self.user(who);
                let p = &self.proposals[pi];
                let weight = p.snapshot.get(&who).copied().unwrap_or(0);
                let now =
                    self.w.chain.timestamp() + scal3ml_contracts::test_utils::TestChain::BLOCK_TIME;
                let expect_ok =
                    !p.done && now <= p.deadline && weight > 0 && !p.voted.contains(&who);
                let res = self.w.market(
                    who,
                    0,
                    Marketplace::voteCall {
                        proposalId: p.id,
                        support,
                    },
                );
                prop_assert_eq!(
                    res.is_ok(),
                    expect_ok,
                    "vote {:?}: {:?}",
                    op,
                    res.as_ref().err()
                );
                if res.is_ok() {
                    let p = &mut self.proposals[pi];
                    p.voted.insert(who);
                    if support {
                        p.yes += weight;
                    }
                }
            }
            Op::Execute { who, proposal } => {
                if self.proposals.is_empty() {
                    return Ok(());
                }
                let pi = proposal as usize % self.proposals.len();
                let who = self.user(who);
                let p = self.proposals[pi].clone();
                let now =
                    self.w.chain.timestamp() + scal3ml_contracts::test_utils::TestChain::BLOCK_TIME;
                let expect_ok = !p.done && now <= p.deadline && p.yes > p.total / 2;
                let res = self
                    .w
                    .market(who, 0, Marketplace::executeCall { proposalId: p.id });
                prop_assert_eq!(
                    res.is_ok(),
                    expect_ok,
                    "execute {:?}: {:?}",
                    p,
                    res.as_ref().err()
                );
                if res.is_ok() {
                    self.proposals[pi].done = true;
                    let m = &mut self.assets[p.asset].1;
                    m.card = keccak256(cid(6));
                    if p.requested > 0 {
                        *m.shares.entry(p.proposer).or_default() += p.requested;
                        m.ever_held.insert(p.proposer);
                    }
                }
            }
            Op::SetFee { bps } => {
                let admin = self.w.c.admin;
                self.w.ok(
                    admin,
                    0,
                    Marketplace::setFeeCall {
                        recipient: admin,
                        bps,
                    },
                );
                self.fee_bps = bps;
            }
            Op::WithdrawFees { erc20 } => {
                let token = self.token(erc20);
                let admin = self.w.c.admin;
                let owed = self.w.view(Marketplace::feesOwedCall { token });
                let res = self
                    .w
                    .market(admin, 0, Marketplace::withdrawFeesCall { token });
                prop_assert_eq!(res.is_ok(), !owed.is_zero());
            }
            Op::Advance { seconds } => self.w.chain.advance(seconds as u64),
        }
        self.check(withdrew)
    }

    fn balance_of(&mut self, who: Address, token: Address) -> U256 {
        if token == ETH {
            self.w.chain.balance(who)
        } else {
            self.w.token_balance(who)
        }
    }

    fn check(
        &mut self,
        withdrew: BTreeSet<(usize, Address, Address)>,
    ) -> Result<(), TestCaseError> {
        let market = self.w.c.marketplace;
        let now = self.w.chain.timestamp();
        for erc20 in [false, true] {
            let token = self.token(erc20);
            let mut owed = self.w.view(Marketplace::feesOwedCall { token });
            for ai in 0..self.assets.len() {
                let id = self.assets[ai].0;
                let pool = self.w.view(Marketplace::poolCall { assetId: id, token });
                owed += U256::from(pool.remainder);
                let holders: Vec<Address> = self.assets[ai].1.ever_held.iter().copied().collect();
                for h in holders {
                    let c = self.w.claimable(id, h, token);
                    owed += c;
                    let prev = self.claimable.insert((ai, h, token), c).unwrap_or_default();
                    if withdrew.contains(&(ai, h, token)) {
                        prop_assert!(c.is_zero(), "claimable after own withdrawal is zero");
                    } else {
                        prop_assert!(
                            c >= prev,
                            "claimable of {h} on asset {id} fell from {prev} to {c}"
                        );
                    }
                }
            }
            let balance = if erc20 {
                self.w
                    .chain
                    .call(token, &TestToken::balanceOfCall { account: market })
                    .unwrap()
            } else {
                self.w.chain.balance(market)
            };
            prop_assert_eq!(
                balance,
                owed,
                "token {}: balance vs claimable + remainders + fees",
                token
            );
        }
        for ai in 0..self.assets.len() {
            let (id, m) = self.assets[ai].clone();
            for &u in &self.users {
                let model = m.free()
                    || u == m.owner
                    || m.shares.get(&u).copied().unwrap_or(0) > 0
                    || m.licenses.get(&u).copied().unwrap_or(0) > now;
                prop_assert_eq!(self.w.has_access(id, u), model, "hasAccess({}, {})", id, u);
            }
        }
        Ok(())
    }
}

fn steps() -> usize {
    std::env::var("SCAL3ML_PROPTEST_STEPS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(10_000)
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: (steps().div_ceil(OPS_PER_CASE)) as u32,
        max_shrink_iters: 64,
        ..ProptestConfig::default()
    })]

    #[test]
    fn money_is_conserved_claims_never_fall_and_access_matches_the_model(
        ops in prop::collection::vec(op(), OPS_PER_CASE)
    ) {
        let mut run = Run::new();
        for op in &ops {
            run.step(op)?;
        }
    }
}
