//! Transactions prepared for a wallet to send: the same checks and the same calldata as the sending methods of
//! [`Market`], stopping short of signing. A web page asks the node for the steps of a purchase (say), the
//! browser's wallet sends each with `eth_sendTransaction` from the account the market was made for
//! ([`Market::with_sender`]).
//!
//! Every step is checked before it is handed out: the listing, the price, the balances and allowances as the
//! sending method checks them, then `eth_estimateGas` from the account, so what the contract would revert
//! with reads as the SDK's sentence before the wallet opens. The one step that cannot be estimated is a
//! purchase that follows an ERC-20 approval: until the approval is mined, the contract would refuse it.

use alloy::{
    contract::SolCallBuilder, primitives::Address, providers::Provider, sol_types::SolCall,
};
use scal3ml_primitives::{AssetId, Cid, ProposalId};

use crate::{BuyTerms, Market, MarketError, MarketResult, PublishRequest};
pub use scal3ml_api::PreparedCall;

/// The call `call` makes, as a step for a wallet.
fn prepared_call<P: Provider, C: SolCall>(
    label: impl Into<String>,
    call: &SolCallBuilder<P, C>,
) -> PreparedCall {
    let request = call.as_ref();
    PreparedCall {
        label: label.into(),
        to: request
            .to
            .and_then(|kind| kind.to().copied())
            .unwrap_or_default(),
        data: call.calldata().clone(),
        value: request.value.unwrap_or_default(),
    }
}

impl<P: Provider> Market<P> {
    /// Estimates `call` from the sender: a would-be revert becomes the SDK's error for `op`.
    async fn checked<C: SolCall>(
        &self,
        op: &'static str,
        label: impl Into<String>,
        call: SolCallBuilder<&P, C>,
    ) -> MarketResult<PreparedCall> {
        call.estimate_gas().await.map_err(self.contract_err(op))?;
        Ok(prepared_call(label, &call))
    }

    /// The publish transaction of `req` (one step).
    pub async fn prepare_publish(&self, req: PublishRequest) -> MarketResult<Vec<PreparedCall>> {
        let call = self.publish_call(req)?;
        Ok(vec![
            self.checked("publish", "Publish the asset", call).await?,
        ])
    }

    /// The steps of buying a license on `asset` on the `terms` the buyer read (see [`Market::buy`]): an ERC-20
    /// approval of the price first when the allowance is short, then the purchase, which carries the terms so
    /// the contract reverts if they change before it is mined. Checks what [`Market::buy`] checks.
    pub async fn prepare_buy(
        &self,
        asset: AssetId,
        terms: &BuyTerms,
    ) -> MarketResult<Vec<PreparedCall>> {
        let plan = self.buy_plan(asset, terms).await?;
        let price = format!("{} {}", plan.info.format(plan.price), plan.info.symbol);
        let mut steps = Vec::with_capacity(2);
        if let Some(approve) = &plan.approve {
            steps.push(prepared_call(
                format!("Allow the marketplace to take {price}"),
                approve,
            ));
        } else if !plan.estimated {
            let gas = plan
                .buy
                .estimate_gas()
                .await
                .map_err(self.contract_err("buy"));
            plan.restate(gas)?;
        }
        steps.push(prepared_call(
            format!("Buy a license on asset {asset} for {price}"),
            &plan.buy,
        ));
        Ok(steps)
    }

    /// The withdrawal of what the sender may claim in `token`: `withdraw` for one asset, `withdrawMany` for
    /// several (one payment).
    pub async fn prepare_withdraw(
        &self,
        token: Address,
        assets: &[AssetId],
    ) -> MarketResult<Vec<PreparedCall>> {
        let symbol = Self::token_label(token);
        let step = match assets {
            [] => {
                return Err(MarketError::Invalid(
                    "name at least one asset to withdraw from".into(),
                ));
            }
            [asset] => {
                let label = format!("Withdraw {symbol} earned from asset {asset}");
                self.checked("withdraw", label, self.withdraw_call(*asset, token))
                    .await?
            }
            several => {
                let label = format!("Withdraw {symbol} earned from {} assets", several.len());
                self.checked("withdraw", label, self.withdraw_many_call(several, token))
                    .await?
            }
        };
        Ok(vec![step])
    }

    /// A proposal of a new version of `asset` (content, card and description already stored), asking for
    /// `requested_shares`.
    pub async fn prepare_propose(
        &self,
        asset: AssetId,
        content_cid: &Cid,
        metadata_cid: &Cid,
        requested_shares: u64,
        description_cid: &Cid,
    ) -> MarketResult<Vec<PreparedCall>> {
        let label = format!("Propose a new version of asset {asset} for {requested_shares} shares");
        let call = self.propose_call(
            asset,
            content_cid,
            metadata_cid,
            requested_shares,
            description_cid,
        );
        Ok(vec![self.checked("propose", label, call).await?])
    }

    /// A vote on an open proposal.
    pub async fn prepare_vote(
        &self,
        proposal: ProposalId,
        support: bool,
    ) -> MarketResult<Vec<PreparedCall>> {
        let label = format!(
            "Vote {} on proposal {proposal}",
            if support { "yes" } else { "no" }
        );
        let call = self.vote_call(proposal, support);
        Ok(vec![self.checked("vote", label, call).await?])
    }

    /// Executing a passed proposal.
    pub async fn prepare_execute(&self, proposal: ProposalId) -> MarketResult<Vec<PreparedCall>> {
        let label = format!("Execute proposal {proposal}");
        let call = self.execute_call(proposal);
        Ok(vec![self.checked("execute", label, call).await?])
    }

    /// Rejecting an open proposal (the asset's owner).
    pub async fn prepare_reject(&self, proposal: ProposalId) -> MarketResult<Vec<PreparedCall>> {
        let label = format!("Reject proposal {proposal}");
        let call = self.reject_call(proposal);
        Ok(vec![self.checked("reject", label, call).await?])
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloy::primitives::{Bytes, U256};

    #[test]
    fn a_step_is_hex_on_the_wire() {
        let step = PreparedCall {
            label: "Buy".into(),
            to: Address::repeat_byte(0x11),
            data: Bytes::from(vec![0xab, 0xcd]),
            value: U256::from(1_000_000_000_000_000_000u128),
        };
        let json = serde_json::to_value(&step).unwrap();
        assert_eq!(json["value"], "0xde0b6b3a7640000");
        assert_eq!(json["data"], "0xabcd");
        assert_eq!(
            json["to"].as_str().unwrap().to_lowercase(),
            format!("0x{}", "11".repeat(20))
        );
        assert_eq!(serde_json::from_value::<PreparedCall>(json).unwrap(), step);
    }
}
