//! [`Market`]: every marketplace operation over any alloy [`Provider`].

use alloy::{
    contract::{RawCallBuilder, SolCallBuilder},
    primitives::{Address, Bytes, I256, U256, aliases::U96},
    providers::Provider,
    rpc::types::TransactionReceipt,
    sol_types::{SolCall, SolEvent},
};
use scal3ml_contracts::{
    Attestations::{self, AttestationsInstance},
    Marketplace::{self, MarketplaceInstance},
};
use scal3ml_primitives::{
    AssetId, AssetKind, AttestationId, Cid, LicenseDuration, LicenseTerms, PaymentToken, ProposalId,
};

use crate::{
    AssetRecord, AttestRequest, Bought, BuyTerms, Deployment, Earning, LicenseExpiry, MarketError,
    MarketResult, ProposalInfo, PublishRequest, Published, TokenInfo, TxInfo, Withdrawal,
    error::{duration_text, from_contract, from_transport, token_label},
};

pub(crate) mod erc20 {
    #![allow(missing_docs, unreachable_pub)]
    alloy::sol! {
        #[sol(rpc)]
        interface IErc20 {
            function symbol() external view returns (string);
            function decimals() external view returns (uint8);
            function balanceOf(address account) external view returns (uint256);
            function allowance(address owner, address spender) external view returns (uint256);
            function approve(address spender, uint256 value) external returns (bool);
        }
    }
}
pub(crate) use erc20::IErc20;

use std::time::Duration;

const DEFAULT_URL: &str = "the configured RPC endpoint";

/// Builds a [`Market`]: set the options, then [`MarketBuilder::connect`].
#[derive(Debug)]
pub struct MarketBuilder<P> {
    provider: P,
    deployment: Deployment,
    sender: Address,
    legacy: bool,
    url: String,
    receipt_timeout: Duration,
}

impl<P: Provider> MarketBuilder<P> {
    /// How long to wait for a sent transaction's receipt before giving up (default 5 minutes). The
    /// transaction may still be mined later; the error names its hash.
    pub fn receipt_timeout(mut self, timeout: Duration) -> Self {
        self.receipt_timeout = timeout;
        self
    }

    /// Sends legacy transactions (gas price, no EIP-1559 fees), for chains without EIP-1559 (Neon EVM).
    pub fn legacy(mut self, legacy: bool) -> Self {
        self.legacy = legacy;
        self
    }

    /// The endpoint's URL, used only in error messages ("cannot reach the chain at URL").
    pub fn rpc_url(mut self, url: impl Into<String>) -> Self {
        self.url = url.into();
        self
    }

    /// Checks that the node answers, serves the deployment's chain id and holds the marketplace's code.
    pub async fn connect(self) -> MarketResult<Market<P>> {
        let url = self.url;
        let actual = self
            .provider
            .get_chain_id()
            .await
            .map_err(|e| from_transport("connect", &url, e))?;
        if actual != self.deployment.chain_id {
            return Err(MarketError::WrongChain {
                expected: self.deployment.chain_id,
                actual,
                url,
            });
        }
        let code = self
            .provider
            .get_code_at(self.deployment.marketplace)
            .await
            .map_err(|e| from_transport("connect", &url, e))?;
        if code.is_empty() {
            return Err(MarketError::NotDeployed {
                address: self.deployment.marketplace,
                chain_id: actual,
            });
        }
        Ok(Market {
            provider: self.provider,
            deployment: self.deployment,
            sender: self.sender,
            legacy: self.legacy,
            url,
            receipt_timeout: self.receipt_timeout,
        })
    }
}

/// The marketplace as one account sees it: reads for anyone, transactions signed for `sender` by the
/// provider's wallet. Cheap to share behind an `Arc`; every method takes `&self`.
#[derive(Debug, Clone)]
pub struct Market<P> {
    provider: P,
    deployment: Deployment,
    sender: Address,
    legacy: bool,
    url: String,
    receipt_timeout: Duration,
}

fn fee_of(receipt: &TransactionReceipt) -> TxInfo {
    TxInfo {
        hash: receipt.transaction_hash,
        block: receipt.block_number.unwrap_or_default(),
        gas_used: receipt.gas_used,
        fee: U256::from(receipt.gas_used) * U256::from(receipt.effective_gas_price),
    }
}

fn cid_bytes(cid: &Cid) -> Bytes {
    Bytes::from(cid.to_bytes())
}

fn u96(value: u64) -> U96 {
    U96::from(value)
}

fn u128_of(v: U96) -> u128 {
    v.to::<u128>()
}

/// A purchase checked and ready: what [`Market::buy`] sends and `prepare_buy` hands to a wallet.
pub(crate) struct BuyPlan<'a, P> {
    /// The payment token.
    pub(crate) info: TokenInfo,
    /// The listed price.
    pub(crate) price: U256,
    /// The ERC-20 approval to send first, when the allowance is short.
    pub(crate) approve: Option<SolCallBuilder<&'a P, IErc20::approveCall>>,
    /// The purchase (with the price as value when paid in ETH).
    pub(crate) buy: SolCallBuilder<&'a P, Marketplace::buyCall>,
    /// Whether `buy` was estimated already (an ETH purchase, whose gas the balance check needs).
    pub(crate) estimated: bool,
    /// The contract's PriceTooHigh in the token's units.
    pub(crate) too_high: Box<dyn Fn(U256) -> MarketError + Send + Sync>,
    /// The asset, which the contract's errors about changed terms leave out.
    pub(crate) asset: AssetId,
}

impl<P> BuyPlan<'_, P> {
    /// Fills in what a revert of `buy` leaves out: the asset, and the price in the token's units.
    pub(crate) fn restate<T>(&self, result: MarketResult<T>) -> MarketResult<T> {
        let asset = self.asset;
        match result {
            Err(MarketError::PriceTooHigh { price_raw, .. }) => Err((self.too_high)(price_raw)),
            Err(MarketError::DurationChanged { now, read, .. }) => {
                Err(MarketError::DurationChanged { asset, now, read })
            }
            Err(MarketError::MetadataChanged { .. }) => Err(MarketError::MetadataChanged { asset }),
            other => other,
        }
    }
}

impl<P: Provider> Market<P> {
    /// Starts building a market over `provider` for `deployment`, sending as `sender` (whom the provider's
    /// wallet must be able to sign for).
    pub fn builder(provider: P, deployment: Deployment, sender: Address) -> MarketBuilder<P> {
        MarketBuilder {
            provider,
            deployment,
            sender,
            legacy: false,
            url: DEFAULT_URL.to_string(),
            receipt_timeout: Duration::from_secs(300),
        }
    }

    /// [`Market::builder`] with the defaults, connected.
    pub async fn connect(
        provider: P,
        deployment: Deployment,
        sender: Address,
    ) -> MarketResult<Self> {
        Self::builder(provider, deployment, sender).connect().await
    }

    /// The provider.
    pub fn provider(&self) -> &P {
        &self.provider
    }

    /// The account transactions are sent from.
    pub fn sender(&self) -> Address {
        self.sender
    }

    /// Where the contracts live.
    pub fn deployment(&self) -> Deployment {
        self.deployment
    }

    /// The same market sending as another account (the provider must sign for it).
    pub fn with_sender(&self, sender: Address) -> Self
    where
        P: Clone,
    {
        Self {
            sender,
            ..self.clone()
        }
    }

    fn mp(&self) -> MarketplaceInstance<&P> {
        Marketplace::new(self.deployment.marketplace, &self.provider)
    }

    fn att(&self) -> AttestationsInstance<&P> {
        Attestations::new(self.deployment.attestations, &self.provider)
    }

    /// `call` to the contract at `to`, from the sender: the one place a call the SDK sends, or hands to a
    /// wallet as a [`PreparedCall`](crate::PreparedCall), is encoded.
    pub(crate) fn call_to<C: SolCall>(&self, to: Address, call: C) -> SolCallBuilder<&P, C> {
        RawCallBuilder::new_raw(&self.provider, call.abi_encode().into())
            .with_sol_decoder::<C>()
            .to(to)
            .from(self.sender)
    }

    /// `call` to the marketplace, from the sender.
    pub(crate) fn mp_call<C: SolCall>(&self, call: C) -> SolCallBuilder<&P, C> {
        self.call_to(self.deployment.marketplace, call)
    }

    pub(crate) fn contract_err(
        &self,
        op: &'static str,
    ) -> impl Fn(alloy::contract::Error) -> MarketError + '_ {
        move |e| from_contract(op, &self.url, e)
    }

    fn transport_err(
        &self,
        op: &'static str,
    ) -> impl Fn(alloy::transports::TransportError) -> MarketError + '_ {
        move |e| from_transport(op, &self.url, e)
    }

    /// Sends a call from `sender` (legacy-priced when asked), waits for its receipt and checks it succeeded.
    async fn send<Q: Provider, C: SolCall>(
        &self,
        op: &'static str,
        call: SolCallBuilder<Q, C>,
    ) -> MarketResult<TransactionReceipt> {
        let mut call = call.from(self.sender);
        // Estimate here, not in the provider's fillers: a revert then fails before a nonce filler has taken a
        // nonce for it, so the next transaction from a long-lived provider does not leave a gap.
        let gas = call.estimate_gas().await.map_err(self.contract_err(op))?;
        call = call.gas(gas);
        if self.legacy {
            let price = self
                .provider
                .get_gas_price()
                .await
                .map_err(self.transport_err(op))?;
            call = call.gas_price(price);
        }
        let pending = call.send().await.map_err(self.contract_err(op))?;
        let tx = *pending.tx_hash();
        let receipt = pending
            .with_timeout(Some(self.receipt_timeout))
            .get_receipt()
            .await
            .map_err(|e| MarketError::Rpc {
                op,
                url: self.url.clone(),
                reason: format!(
                    "transaction {tx} was sent but waiting for its receipt failed ({e}); it may still be \
                     mined: look it up before sending again"
                ),
            })?;
        if !receipt.status() {
            // It passed the estimate but reverted when mined: something changed in between (another
            // transaction in the same block raised the price, say). Replaying it on the state after that
            // block gives the contract's reason.
            if let Some(block) = receipt.block_number
                && let Err(e) = call.call().block(block.into()).await
            {
                let mapped = from_contract(op, &self.url, e);
                if !matches!(
                    mapped,
                    MarketError::Unreachable { .. } | MarketError::Rpc { .. }
                ) {
                    tracing::debug!(target: "market::tx", op, tx = %receipt.transaction_hash, "reverted when mined");
                    return Err(mapped);
                }
            }
            return Err(MarketError::Reverted {
                op,
                tx: receipt.transaction_hash,
            });
        }
        tracing::debug!(target: "market::tx", op, tx = %receipt.transaction_hash, gas = receipt.gas_used, "mined");
        Ok(receipt)
    }

    /// Every `E` event the marketplace (or attestations) contract emitted in `receipt`.
    fn events<E: SolEvent>(&self, receipt: &TransactionReceipt, from: Address) -> Vec<E> {
        receipt
            .inner
            .logs()
            .iter()
            .filter(|log| log.address() == from)
            .filter_map(|log| log.log_decode::<E>().ok().map(|l| l.inner.data))
            .collect()
    }

    fn first_event<E: SolEvent>(
        &self,
        op: &'static str,
        receipt: &TransactionReceipt,
        from: Address,
    ) -> MarketResult<E> {
        self.events::<E>(receipt, from)
            .into_iter()
            .next()
            .ok_or(MarketError::MissingEvent {
                op,
                tx: receipt.transaction_hash,
                event: E::SIGNATURE,
            })
    }

    /// The most a transaction may pay per gas: the gas price (legacy) or the EIP-1559 max fee.
    async fn max_fee_per_gas(&self, op: &'static str) -> MarketResult<u128> {
        if self.legacy {
            self.provider
                .get_gas_price()
                .await
                .map_err(self.transport_err(op))
        } else {
            Ok(self
                .provider
                .estimate_eip1559_fees()
                .await
                .map_err(self.transport_err(op))?
                .max_fee_per_gas)
        }
    }

    /// Fails with [`MarketError::InsufficientFunds`] if `has < needed`.
    fn check_funds(
        &self,
        what: String,
        token: &TokenInfo,
        has: U256,
        needed: U256,
    ) -> MarketResult<()> {
        if has >= needed {
            return Ok(());
        }
        Err(MarketError::InsufficientFunds {
            what,
            account: self.sender,
            needed: token.format(needed),
            has: token.format(has),
            symbol: token.symbol.clone(),
            needed_raw: needed,
            has_raw: has,
        })
    }

    // ------------------------------------------------------------------ tokens

    /// ETH for the zero address, else the ERC-20's symbol and decimals read from the chain.
    pub async fn token_info(&self, token: Address) -> MarketResult<TokenInfo> {
        if token == Address::ZERO {
            return Ok(TokenInfo::eth());
        }
        let erc = IErc20::new(token, &self.provider);
        let not_erc20 = |e: alloy::contract::Error| MarketError::Token {
            token: token.to_string(),
            reason: format!(
                "could not read its symbol and decimals ({e}); is it an ERC-20 contract on this chain?"
            ),
        };
        let symbol = erc.symbol().call().await.map_err(not_erc20)?;
        let decimals = erc.decimals().call().await.map_err(not_erc20)?;
        Ok(TokenInfo {
            address: token,
            symbol,
            decimals,
        })
    }

    /// The account's balance of `token` (ETH for the zero address).
    pub async fn balance(&self, token: Address, account: Address) -> MarketResult<U256> {
        if token == Address::ZERO {
            return self
                .provider
                .get_balance(account)
                .await
                .map_err(self.transport_err("balance"));
        }
        IErc20::new(token, &self.provider)
            .balanceOf(account)
            .call()
            .await
            .map_err(self.contract_err("balance"))
    }

    /// The ERC-20 tokens the marketplace accepts besides ETH, in the order they were allowed.
    pub async fn payment_tokens(&self) -> MarketResult<Vec<Address>> {
        self.mp()
            .paymentTokens()
            .call()
            .await
            .map_err(self.contract_err("payment tokens"))
    }

    // ------------------------------------------------------------------ publishing and listings

    /// The publish call of `req`, checked as far as it can be without the chain (the price fits).
    pub(crate) fn publish_call(
        &self,
        req: PublishRequest,
    ) -> MarketResult<SolCallBuilder<&P, Marketplace::publishCall>> {
        let price = u128::try_from(req.listing.price).map_err(|_| {
            MarketError::Invalid(format!(
                "price {} does not fit the contract's 128 bits; lower it",
                req.listing.price
            ))
        })?;
        let params = Marketplace::PublishParams {
            kind: req.kind.to_u8(),
            contentCid: cid_bytes(&req.content_cid),
            metadataCid: cid_bytes(&req.metadata_cid),
            encrypted: req.encrypted,
            gatewayUrl: req.gateway_url,
            parents: req
                .parents
                .iter()
                .map(|&(asset, bps)| Marketplace::ParentRef {
                    assetId: asset.to_u256(),
                    royaltyBps: bps,
                })
                .collect(),
            shareholders: req
                .shareholders
                .iter()
                .map(|&(account, shares)| Marketplace::Shareholder {
                    account,
                    shares: u96(shares),
                })
                .collect(),
            listing: Marketplace::ListingTerms {
                token: req.listing.token.address(),
                price,
                duration: req.listing.duration.to_seconds(),
            },
        };
        Ok(self.mp_call(Marketplace::publishCall { p: params }))
    }

    /// Publishes an asset: one transaction that mints it with its first version, shareholders, parents and
    /// listing. The asset id comes from the receipt's `AssetPublished` event.
    pub async fn publish(&self, req: PublishRequest) -> MarketResult<Published> {
        let receipt = self.send("publish", self.publish_call(req)?).await?;
        let event: Marketplace::AssetPublished =
            self.first_event("publish", &receipt, self.deployment.marketplace)?;
        let asset =
            AssetId::try_from(event.assetId).map_err(|e| MarketError::Invalid(e.to_string()))?;
        Ok(Published {
            asset,
            tx: fee_of(&receipt),
        })
    }

    /// Creates or changes the listing in `terms.token` (owner only). Price 0 makes the asset free.
    pub async fn set_listing(&self, asset: AssetId, terms: LicenseTerms) -> MarketResult<TxInfo> {
        let price = u128::try_from(terms.price).map_err(|_| {
            MarketError::Invalid(format!("price {} does not fit 128 bits", terms.price))
        })?;
        let c = self.mp();
        let call = c.setListing(
            asset.to_u256(),
            terms.token.address(),
            price,
            terms.duration.to_seconds(),
        );
        Ok(fee_of(&self.send("set listing", call).await?))
    }

    /// Removes the listing in `token` (owner only).
    pub async fn remove_listing(&self, asset: AssetId, token: Address) -> MarketResult<TxInfo> {
        let c = self.mp();
        let call = c.removeListing(asset.to_u256(), token);
        Ok(fee_of(&self.send("remove listing", call).await?))
    }

    /// Deprecates the asset (owner only): no more sales or proposals; licenses stay valid.
    pub async fn deprecate(&self, asset: AssetId) -> MarketResult<TxInfo> {
        let c = self.mp();
        let call = c.deprecate(asset.to_u256());
        Ok(fee_of(&self.send("deprecate", call).await?))
    }

    /// Appends a new version (owner only); returns its index.
    pub async fn add_version(
        &self,
        asset: AssetId,
        content_cid: &Cid,
        metadata_cid: &Cid,
    ) -> MarketResult<(u64, TxInfo)> {
        let c = self.mp();
        let call = c.addVersion(
            asset.to_u256(),
            cid_bytes(content_cid),
            cid_bytes(metadata_cid),
        );
        let receipt = self.send("add version", call).await?;
        let e: Marketplace::VersionAdded =
            self.first_event("add version", &receipt, self.deployment.marketplace)?;
        Ok((e.index.to::<u64>(), fee_of(&receipt)))
    }

    /// Replaces the card of the latest version (owner only).
    pub async fn update_metadata(
        &self,
        asset: AssetId,
        metadata_cid: &Cid,
    ) -> MarketResult<TxInfo> {
        let c = self.mp();
        let call = c.updateMetadata(asset.to_u256(), cid_bytes(metadata_cid));
        Ok(fee_of(&self.send("update metadata", call).await?))
    }

    /// Changes the access gateway URL (owner only).
    pub async fn set_gateway(&self, asset: AssetId, gateway_url: &str) -> MarketResult<TxInfo> {
        let c = self.mp();
        let call = c.setGateway(asset.to_u256(), gateway_url.to_string());
        Ok(fee_of(&self.send("set gateway", call).await?))
    }

    // ------------------------------------------------------------------ buying

    /// Buys (or renews) a license on `asset` on the `terms` the buyer read: in `terms.token`, at a price up to
    /// `terms.max_price`, a license at least `terms.duration` long, the card `terms.metadata_cid`. The contract
    /// reverts if any of them changed before the purchase is mined, and this says which
    /// ([`MarketError::PriceTooHigh`], [`MarketError::DurationChanged`], [`MarketError::MetadataChanged`]).
    ///
    /// Before anything is sent it checks the listing and the card against the terms, and the balance: ETH
    /// must cover the price plus the most the gas may cost; an ERC-20 balance must cover the price (and ETH
    /// the approval's gas). With an ERC-20 it approves exactly the price first when the allowance is short.
    pub async fn buy(&self, asset: AssetId, terms: &BuyTerms) -> MarketResult<Bought> {
        let op = "buy";
        let token = terms.token;
        let plan = self.buy_plan(asset, terms).await?;
        let approval = match &plan.approve {
            Some(approve) => Some(fee_of(&self.send("approve", approve.clone()).await?)),
            None => None,
        };
        let receipt = self.send(op, plan.buy.clone()).await;
        let receipt = plan.restate(receipt)?;
        let event: Marketplace::LicensePurchased =
            self.first_event(op, &receipt, self.deployment.marketplace)?;
        Ok(Bought {
            asset,
            token,
            price: event.price,
            expiry: LicenseExpiry::from_chain(event.expiry),
            approval,
            tx: fee_of(&receipt),
        })
    }

    /// The checks of a purchase and the calls it takes: the listing is active, its price at most
    /// `max_price`, its license at least as long as the one read, the card the one read, the balance covers
    /// the price (and the gas, in ETH), and an ERC-20 approval of exactly the price comes first when the
    /// allowance is short. [`Market::buy`] sends the calls, `prepare_buy` hands them to a wallet.
    pub(crate) async fn buy_plan(
        &self,
        asset: AssetId,
        terms: &BuyTerms,
    ) -> MarketResult<BuyPlan<'_, P>> {
        let op = "buy";
        let (token, max_price) = (terms.token, terms.max_price);
        let info = self.token_info(token).await?;
        let offer = self
            .mp()
            .listing(asset.to_u256(), token)
            .call()
            .await
            .map_err(self.contract_err(op))?;
        if !offer.active {
            // Tell an unknown asset apart from one not sold in this token.
            self.asset_record(asset).await?;
            return Err(MarketError::NotListed {
                asset,
                token: info.symbol.clone(),
            });
        }
        let price = U256::from(offer.price);
        let too_high = {
            let info = info.clone();
            Box::new(move |price: U256| MarketError::PriceTooHigh {
                asset,
                price: info.format(price),
                max_price: info.format(max_price),
                symbol: info.symbol.clone(),
                price_raw: price,
            })
        };
        if price > max_price {
            return Err(too_high(price));
        }
        let listed = if offer.duration == 0 {
            u64::MAX
        } else {
            offer.duration
        };
        if listed < terms.min_duration() {
            return Err(MarketError::DurationChanged {
                asset,
                now: duration_text(offer.duration),
                read: duration_text(terms.min_duration()),
            });
        }
        // Zero until the card first changes after publish: then the card is the one published.
        let card = self
            .mp()
            .metadataHashOf(asset.to_u256())
            .call()
            .await
            .map_err(self.contract_err(op))?;
        if !card.is_zero() && card != terms.metadata_hash() {
            return Err(MarketError::MetadataChanged { asset });
        }
        let what = format!("buying asset {asset}");
        let eth = TokenInfo::eth();
        let buy = self.mp_call(Marketplace::buyCall {
            assetId: asset.to_u256(),
            token,
            maxPrice: max_price,
            minDuration: terms.min_duration(),
            metadataHash: terms.metadata_hash(),
        });
        if info.is_eth() {
            let has = self.balance(Address::ZERO, self.sender).await?;
            self.check_funds(what.clone(), &eth, has, price)?;
            let buy = buy.value(price);
            let gas = buy.estimate_gas().await.map_err(self.contract_err(op));
            let plan = BuyPlan {
                info,
                price,
                approve: None,
                buy,
                estimated: true,
                too_high,
                asset,
            };
            let gas = plan.restate(gas)?;
            let fee = U256::from(gas) * U256::from(self.max_fee_per_gas(op).await?);
            self.check_funds(what, &eth, has, price + fee)?;
            return Ok(plan);
        }
        let has = self.balance(token, self.sender).await?;
        self.check_funds(what.clone(), &info, has, price)?;
        let allowance = IErc20::new(token, &self.provider)
            .allowance(self.sender, self.deployment.marketplace)
            .call()
            .await
            .map_err(self.contract_err(op))?;
        let mut approve = None;
        if allowance < price {
            let call = self.call_to(
                token,
                IErc20::approveCall {
                    spender: self.deployment.marketplace,
                    value: price,
                },
            );
            let gas = call
                .estimate_gas()
                .await
                .map_err(self.contract_err("approve"))?;
            let fee = U256::from(gas) * U256::from(self.max_fee_per_gas(op).await?);
            let eth_has = self.balance(Address::ZERO, self.sender).await?;
            self.check_funds(
                format!("approving {} for {what}", info.symbol),
                &eth,
                eth_has,
                fee,
            )?;
            approve = Some(call);
        }
        Ok(BuyPlan {
            info,
            price,
            approve,
            buy,
            estimated: false,
            too_high,
            asset,
        })
    }

    // ------------------------------------------------------------------ revenue

    /// What `account` may withdraw from `asset` in `token` now.
    pub async fn claimable(
        &self,
        asset: AssetId,
        account: Address,
        token: Address,
    ) -> MarketResult<U256> {
        self.mp()
            .claimable(asset.to_u256(), account, token)
            .call()
            .await
            .map_err(self.contract_err("claimable"))
    }

    /// Non-zero claimable amounts of `account` over every pair of `assets` and `tokens`.
    pub async fn earnings(
        &self,
        account: Address,
        assets: &[AssetId],
        tokens: &[Address],
    ) -> MarketResult<Vec<Earning>> {
        let mut out = Vec::new();
        for &asset in assets {
            for &token in tokens {
                let claimable = self.claimable(asset, account, token).await?;
                if !claimable.is_zero() {
                    out.push(Earning {
                        asset,
                        token,
                        claimable,
                    });
                }
            }
        }
        Ok(out)
    }

    /// Withdraws everything the sender may claim from `asset` in `token`.
    pub async fn withdraw(&self, asset: AssetId, token: Address) -> MarketResult<Withdrawal> {
        let receipt = self
            .send("withdraw", self.withdraw_call(asset, token))
            .await?;
        Ok(self.withdrawal(token, &receipt))
    }

    pub(crate) fn withdraw_call(
        &self,
        asset: AssetId,
        token: Address,
    ) -> SolCallBuilder<&P, Marketplace::withdrawCall> {
        self.mp_call(Marketplace::withdrawCall {
            assetId: asset.to_u256(),
            token,
        })
    }

    pub(crate) fn withdraw_many_call(
        &self,
        assets: &[AssetId],
        token: Address,
    ) -> SolCallBuilder<&P, Marketplace::withdrawManyCall> {
        self.mp_call(Marketplace::withdrawManyCall {
            assetIds: assets.iter().map(|a| a.to_u256()).collect(),
            token,
        })
    }

    /// Withdraws the sender's claims on several assets in `token` with one payment.
    pub async fn withdraw_many(
        &self,
        assets: &[AssetId],
        token: Address,
    ) -> MarketResult<Withdrawal> {
        let receipt = self
            .send("withdraw", self.withdraw_many_call(assets, token))
            .await?;
        Ok(self.withdrawal(token, &receipt))
    }

    fn withdrawal(&self, token: Address, receipt: &TransactionReceipt) -> Withdrawal {
        let amount = self
            .events::<Marketplace::Withdrawn>(receipt, self.deployment.marketplace)
            .iter()
            .fold(U256::ZERO, |sum, e| sum + e.amount);
        Withdrawal {
            token,
            amount,
            tx: fee_of(receipt),
        }
    }

    /// Moves `amount` shares of `asset` from the sender to `to`. Revenue earned so far stays with the sender.
    pub async fn transfer_shares(
        &self,
        asset: AssetId,
        to: Address,
        amount: u64,
    ) -> MarketResult<TxInfo> {
        let c = self.mp();
        let call = c.transferShares(asset.to_u256(), to, u96(amount));
        Ok(fee_of(&self.send("transfer shares", call).await?))
    }

    /// Marketplace fees owed to the fee recipient in `token`.
    pub async fn fees_owed(&self, token: Address) -> MarketResult<U256> {
        self.mp()
            .feesOwed(token)
            .call()
            .await
            .map_err(self.contract_err("fees owed"))
    }

    /// Withdraws the marketplace fees owed in `token` (fee recipient only).
    pub async fn withdraw_fees(&self, token: Address) -> MarketResult<Withdrawal> {
        let receipt = self
            .send("withdraw fees", self.mp().withdrawFees(token))
            .await?;
        let amount = self
            .events::<Marketplace::FeesWithdrawn>(&receipt, self.deployment.marketplace)
            .iter()
            .fold(U256::ZERO, |sum, e| sum + e.amount);
        Ok(Withdrawal {
            token,
            amount,
            tx: fee_of(&receipt),
        })
    }

    /// Sets the marketplace fee and its recipient (admin only).
    pub async fn set_fee(&self, recipient: Address, bps: u16) -> MarketResult<TxInfo> {
        let c = self.mp();
        let call = c.setFee(recipient, bps);
        Ok(fee_of(&self.send("set fee", call).await?))
    }

    /// Allows an ERC-20 for listings (admin only; allowed tokens can never be removed).
    pub async fn allow_payment_token(&self, token: Address) -> MarketResult<TxInfo> {
        let c = self.mp();
        let call = c.allowPaymentToken(token);
        Ok(fee_of(&self.send("allow payment token", call).await?))
    }

    // ------------------------------------------------------------------ views

    /// Whether `account` may use the asset (owner, shareholder, unexpired license, or a free listing).
    pub async fn has_access(&self, asset: AssetId, account: Address) -> MarketResult<bool> {
        self.mp()
            .hasAccess(asset.to_u256(), account)
            .call()
            .await
            .map_err(self.contract_err("access"))
    }

    /// The license `account` holds on `asset`.
    pub async fn license_expiry(
        &self,
        asset: AssetId,
        account: Address,
    ) -> MarketResult<LicenseExpiry> {
        let expiry = self
            .mp()
            .licenseExpiry(asset.to_u256(), account)
            .call()
            .await
            .map_err(self.contract_err("license"))?;
        Ok(LicenseExpiry::from_chain(expiry))
    }

    /// The asset's stored record; [`MarketError::UnknownAsset`] if there is none.
    pub async fn asset_record(&self, asset: AssetId) -> MarketResult<AssetRecord> {
        let r = self
            .mp()
            .assetRecord(asset.to_u256())
            .call()
            .await
            .map_err(self.contract_err("asset record"))?;
        Ok(AssetRecord {
            kind: AssetKind::try_from(r.kind).map_err(|e| MarketError::Invalid(e.to_string()))?,
            total_shares: u128_of(r.totalShares),
            encrypted: r.encrypted,
            deprecated: r.deprecated,
            parent_count: r.parentCount,
            depth: r.depth,
            version_count: r.versionCount,
            free: r.freeListings != 0,
        })
    }

    /// The asset's owner (the ERC-721 holder).
    pub async fn owner_of(&self, asset: AssetId) -> MarketResult<Address> {
        self.asset_record(asset).await?;
        self.mp()
            .ownerOf(asset.to_u256())
            .call()
            .await
            .map_err(self.contract_err("owner"))
    }

    /// The active listing of `asset` in `token`, if any.
    pub async fn listing(
        &self,
        asset: AssetId,
        token: Address,
    ) -> MarketResult<Option<LicenseTerms>> {
        let l = self
            .mp()
            .listing(asset.to_u256(), token)
            .call()
            .await
            .map_err(self.contract_err("listing"))?;
        Ok(l.active.then(|| LicenseTerms {
            token: PaymentToken::from(token),
            price: U256::from(l.price),
            duration: LicenseDuration::from_seconds(l.duration),
        }))
    }

    /// Shares `account` holds in `asset`.
    pub async fn shares_of(&self, asset: AssetId, account: Address) -> MarketResult<u128> {
        let s = self
            .mp()
            .sharesOf(asset.to_u256(), account)
            .call()
            .await
            .map_err(self.contract_err("shares"))?;
        Ok(u128_of(s))
    }

    /// The marketplace fee in basis points.
    pub async fn fee_bps(&self) -> MarketResult<u16> {
        self.mp()
            .feeBps()
            .call()
            .await
            .map_err(self.contract_err("fee"))
    }

    // ------------------------------------------------------------------ proposals

    /// Proposes a new version of `asset`, asking for `requested_shares` if it is accepted. Returns the
    /// proposal id.
    pub async fn propose(
        &self,
        asset: AssetId,
        content_cid: &Cid,
        metadata_cid: &Cid,
        requested_shares: u64,
        description_cid: &Cid,
    ) -> MarketResult<(ProposalId, TxInfo)> {
        let call = self.propose_call(
            asset,
            content_cid,
            metadata_cid,
            requested_shares,
            description_cid,
        );
        let receipt = self.send("propose", call).await?;
        let e: Marketplace::ProposalCreated =
            self.first_event("propose", &receipt, self.deployment.marketplace)?;
        Ok((ProposalId(e.proposalId.to::<u64>()), fee_of(&receipt)))
    }

    pub(crate) fn propose_call(
        &self,
        asset: AssetId,
        content_cid: &Cid,
        metadata_cid: &Cid,
        requested_shares: u64,
        description_cid: &Cid,
    ) -> SolCallBuilder<&P, Marketplace::proposeCall> {
        self.mp_call(Marketplace::proposeCall {
            assetId: asset.to_u256(),
            contentCid: cid_bytes(content_cid),
            metadataCid: cid_bytes(metadata_cid),
            requestedShares: u96(requested_shares),
            descriptionCid: cid_bytes(description_cid),
        })
    }

    /// Votes on an open proposal with the shares the sender held at its snapshot.
    pub async fn vote(&self, proposal: ProposalId, support: bool) -> MarketResult<TxInfo> {
        Ok(fee_of(
            &self.send("vote", self.vote_call(proposal, support)).await?,
        ))
    }

    pub(crate) fn vote_call(
        &self,
        proposal: ProposalId,
        support: bool,
    ) -> SolCallBuilder<&P, Marketplace::voteCall> {
        self.mp_call(Marketplace::voteCall {
            proposalId: proposal.to_u256(),
            support,
        })
    }

    /// Executes a passed proposal; returns the new version's index.
    pub async fn execute(&self, proposal: ProposalId) -> MarketResult<(u64, TxInfo)> {
        let receipt = self.send("execute", self.execute_call(proposal)).await?;
        let e: Marketplace::ProposalExecuted =
            self.first_event("execute", &receipt, self.deployment.marketplace)?;
        Ok((e.versionIndex.to::<u64>(), fee_of(&receipt)))
    }

    /// Rejects an open proposal (asset owner only).
    pub async fn reject(&self, proposal: ProposalId) -> MarketResult<TxInfo> {
        Ok(fee_of(
            &self.send("reject", self.reject_call(proposal)).await?,
        ))
    }

    pub(crate) fn execute_call(
        &self,
        proposal: ProposalId,
    ) -> SolCallBuilder<&P, Marketplace::executeCall> {
        self.mp_call(Marketplace::executeCall {
            proposalId: proposal.to_u256(),
        })
    }

    pub(crate) fn reject_call(
        &self,
        proposal: ProposalId,
    ) -> SolCallBuilder<&P, Marketplace::rejectCall> {
        self.mp_call(Marketplace::rejectCall {
            proposalId: proposal.to_u256(),
        })
    }

    /// A proposal's state and tallies.
    pub async fn proposal(&self, proposal: ProposalId) -> MarketResult<ProposalInfo> {
        let p = self
            .mp()
            .proposal(proposal.to_u256())
            .call()
            .await
            .map_err(self.contract_err("proposal"))?;
        Ok(ProposalInfo {
            asset: AssetId::try_from(p.assetId).map_err(|e| MarketError::Invalid(e.to_string()))?,
            proposer: p.proposer,
            state: p.state,
            requested_shares: u128_of(p.requestedShares),
            yes_votes: u128_of(p.yesVotes),
            no_votes: u128_of(p.noVotes),
            total_at_snapshot: u128_of(p.totalAtSnapshot),
            deadline: p.deadline.to::<u64>(),
        })
    }

    // ------------------------------------------------------------------ attestations

    /// Attests an evaluation result; returns the attestation id.
    pub async fn attest(&self, req: &AttestRequest) -> MarketResult<(AttestationId, TxInfo)> {
        let c = self.att();
        let call = c.attest(
            req.model.0.to_u256(),
            U256::from(req.model.1),
            req.dataset.0.to_u256(),
            U256::from(req.dataset.1),
            req.metric.clone(),
            I256::try_from(req.value).map_err(|e| MarketError::Invalid(e.to_string()))?,
            req.decimals,
            cid_bytes(&req.report_cid),
        );
        let receipt = self.send("attest", call).await?;
        let e: Attestations::Attested =
            self.first_event("attest", &receipt, self.deployment.attestations)?;
        Ok((AttestationId(e.attestationId.to::<u64>()), fee_of(&receipt)))
    }

    /// Endorses an attestation with the sender's own report.
    pub async fn endorse(
        &self,
        attestation: AttestationId,
        report_cid: &Cid,
    ) -> MarketResult<TxInfo> {
        let c = self.att();
        let call = c.endorse(attestation.to_u256(), cid_bytes(report_cid));
        Ok(fee_of(&self.send("endorse", call).await?))
    }

    /// Disputes an attestation with the sender's own report.
    pub async fn dispute(
        &self,
        attestation: AttestationId,
        report_cid: &Cid,
    ) -> MarketResult<TxInfo> {
        let c = self.att();
        let call = c.dispute(attestation.to_u256(), cid_bytes(report_cid));
        Ok(fee_of(&self.send("dispute", call).await?))
    }

    /// A label for `token` in messages: `ETH` or its address.
    pub fn token_label(token: Address) -> String {
        token_label(token)
    }
}
