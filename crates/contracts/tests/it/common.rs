//! Shared helpers: a deployed world, default publish parameters, short names for calls.

use alloy_primitives::{Address, Bytes, U256, aliases::U96};
use scal3ml_contracts::{
    Marketplace::{self, MarketplaceErrors},
    TestToken,
    test_utils::{Contracts, Receipt, TestChain, TxError},
};

pub(crate) const ETH: Address = Address::ZERO;
pub(crate) const ONE_ETH: u128 = 1_000_000_000_000_000_000;

/// A CIDv1 (raw, sha2-256) whose digest is `seed` repeated.
pub(crate) fn cid(seed: u8) -> Bytes {
    let mut b = vec![0x01, 0x55, 0x12, 0x20];
    b.extend([seed; 32]);
    b.into()
}

pub(crate) fn u96(v: u64) -> U96 {
    U96::from(v)
}

pub(crate) struct World {
    pub(crate) chain: TestChain,
    pub(crate) c: Contracts,
    pub(crate) a: Vec<Address>,
}

impl World {
    pub(crate) fn new() -> Self {
        Self::with_accounts(8)
    }

    pub(crate) fn with_accounts(n: usize) -> Self {
        let mut chain = TestChain::new(n);
        let c = chain.deploy_all();
        let a = chain.accounts.clone();
        Self { chain, c, a }
    }

    /// Default publish parameters: a dataset owned and fully held by `owner`, 1 ETH perpetual.
    pub(crate) fn params(&self, owner: Address) -> Marketplace::PublishParams {
        Marketplace::PublishParams {
            kind: 0,
            contentCid: cid(1),
            metadataCid: cid(2),
            encrypted: false,
            gatewayUrl: String::new(),
            parents: vec![],
            shareholders: vec![Marketplace::Shareholder {
                account: owner,
                shares: u96(100),
            }],
            listing: Marketplace::ListingTerms {
                token: ETH,
                price: ONE_ETH,
                duration: 0,
            },
        }
    }

    pub(crate) fn market<C: alloy_sol_types::SolCall>(
        &mut self,
        from: Address,
        value: u128,
        call: C,
    ) -> Result<(C::Return, Receipt), TxError> {
        self.chain
            .send(from, self.c.marketplace, U256::from(value), &call)
    }

    /// Sends and expects success.
    pub(crate) fn ok<C: alloy_sol_types::SolCall>(
        &mut self,
        from: Address,
        value: u128,
        call: C,
    ) -> C::Return {
        self.market(from, value, call)
            .unwrap_or_else(|e| panic!("expected success, got {e:?}"))
            .0
    }

    /// Sends and expects a marketplace custom error.
    pub(crate) fn err<C: alloy_sol_types::SolCall>(
        &mut self,
        from: Address,
        value: u128,
        call: C,
    ) -> MarketplaceErrors {
        match self.market(from, value, call) {
            Ok(_) => panic!("expected a revert"),
            Err(e) => e.decode::<MarketplaceErrors>(),
        }
    }

    pub(crate) fn view<C: alloy_sol_types::SolCall>(&mut self, call: C) -> C::Return {
        self.chain
            .call(self.c.marketplace, &call)
            .expect("view call succeeds")
    }

    pub(crate) fn publish(&mut self, owner: Address, p: Marketplace::PublishParams) -> U256 {
        self.ok(owner, 0, Marketplace::publishCall { p })
    }

    /// Publishes with the default parameters but the given holders (account, shares) and price.
    pub(crate) fn publish_simple(
        &mut self,
        owner: Address,
        holders: &[(Address, u64)],
        price: u128,
    ) -> U256 {
        let mut p = self.params(owner);
        p.shareholders = holders
            .iter()
            .map(|&(account, s)| Marketplace::Shareholder {
                account,
                shares: u96(s),
            })
            .collect();
        p.listing.price = price;
        self.publish(owner, p)
    }

    pub(crate) fn claimable(&mut self, asset: U256, account: Address, token: Address) -> U256 {
        self.view(Marketplace::claimableCall {
            assetId: asset,
            account,
            token,
        })
    }

    pub(crate) fn has_access(&mut self, asset: U256, account: Address) -> bool {
        self.view(Marketplace::hasAccessCall {
            assetId: asset,
            account,
        })
    }

    /// Buys at up to `price` in ether, accepting any duration and the card as it is now (tests of the terms
    /// themselves are in terms.rs).
    pub(crate) fn buy_eth(&mut self, buyer: Address, asset: U256, price: u128) -> u64 {
        let card = self.view(Marketplace::metadataHashOfCall { assetId: asset });
        self.ok(
            buyer,
            price,
            Marketplace::buyCall {
                assetId: asset,
                token: ETH,
                maxPrice: U256::from(price),
                minDuration: 0,
                metadataHash: card,
            },
        )
    }

    /// Mints test tokens to `to` and approves the marketplace for all of them.
    pub(crate) fn fund_token(&mut self, to: Address, amount: u128) {
        let (token, market) = (self.c.token, self.c.marketplace);
        self.chain
            .send(
                to,
                token,
                U256::ZERO,
                &TestToken::mintCall {
                    to,
                    amount: U256::from(amount),
                },
            )
            .expect("mint");
        self.chain
            .send(
                to,
                token,
                U256::ZERO,
                &TestToken::approveCall {
                    spender: market,
                    value: U256::MAX,
                },
            )
            .expect("approve");
    }

    pub(crate) fn token_balance(&mut self, who: Address) -> U256 {
        let token = self.c.token;
        self.chain
            .call(token, &TestToken::balanceOfCall { account: who })
            .expect("balanceOf")
    }
}

/// Every event of type `E` in a receipt, in order.
pub(crate) fn events<E: alloy_sol_types::SolEvent>(r: &Receipt) -> Vec<E> {
    r.logs
        .iter()
        .filter_map(|log| E::decode_log(log).ok().map(|l| l.data))
        .collect()
}
