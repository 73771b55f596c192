//! Deploying the contracts over any alloy provider.

use crate::{
    Attestations, ContractsError, ContractsResult, DeployedContract, DeploymentManifest,
    Marketplace, build_info,
};
use alloy::{
    network::ReceiptResponse,
    providers::Provider,
    sol_types::{SolConstructor, SolValue},
};
use alloy_primitives::{Address, Bytes, keccak256};
use std::collections::BTreeMap;

/// What [`deploy`] returns: the addresses to talk to and the manifest to keep.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Deployment {
    /// The marketplace (assets, listings, revenue, proposals).
    pub marketplace: Address,
    /// The evaluation attestations.
    pub attestations: Address,
    /// The full record, to save with [`DeploymentManifest::save`].
    pub manifest: DeploymentManifest,
}

/// Deploys `Marketplace` (with `admin` as its admin and fee recipient) and then `Attestations`, waits for
/// both receipts and returns their addresses with a manifest. The provider must be able to sign for its
/// default sender (e.g. built with a wallet).
pub async fn deploy<P: Provider>(provider: &P, admin: Address) -> ContractsResult<Deployment> {
    let chain_id = provider.get_chain_id().await?;
    let market_args = Bytes::from(Marketplace::constructorCall { admin }.abi_encode());
    let market_tx = Marketplace::deploy_builder(provider, admin);
    let (market, deployer) = record(
        provider,
        "Marketplace",
        &Marketplace::BYTECODE,
        market_args,
        market_tx.send().await,
    )
    .await?;
    let att_args = Bytes::from(market.address.abi_encode());
    let att_tx = Attestations::deploy_builder(provider, market.address);
    let (att, _) = record(
        provider,
        "Attestations",
        &Attestations::BYTECODE,
        att_args,
        att_tx.send().await,
    )
    .await?;
    let info = build_info();
    let manifest = DeploymentManifest {
        chain_id,
        deployer,
        contracts: BTreeMap::from([
            ("Marketplace".to_string(), market.clone()),
            ("Attestations".to_string(), att.clone()),
        ]),
        compiler: info.compiler.clone(),
        settings: info.settings.clone(),
        source_commit: None,
    };
    Ok(Deployment {
        marketplace: market.address,
        attestations: att.address,
        manifest,
    })
}

async fn record<P: Provider>(
    provider: &P,
    contract: &'static str,
    creation_code: &Bytes,
    constructor_args: Bytes,
    sent: Result<
        alloy::providers::PendingTransactionBuilder<alloy::network::Ethereum>,
        alloy::contract::Error,
    >,
) -> ContractsResult<(DeployedContract, Address)> {
    let pending = sent.map_err(|source| ContractsError::Deploy {
        contract,
        source: Box::new(source),
    })?;
    let receipt = pending
        .get_receipt()
        .await
        .map_err(|source| ContractsError::Receipt {
            contract,
            source: Box::new(source),
        })?;
    let tx = receipt.transaction_hash();
    let address = match receipt.contract_address() {
        Some(a) if receipt.status() => a,
        _ => return Err(ContractsError::NotCreated { contract, tx }),
    };
    let runtime = provider.get_code_at(address).await?;
    if runtime.is_empty() {
        return Err(ContractsError::NotCreated { contract, tx });
    }
    let deployed = DeployedContract {
        address,
        transaction_hash: tx,
        block_number: receipt.block_number().unwrap_or_default(),
        block_hash: receipt.block_hash(),
        creation_code_hash: keccak256(creation_code),
        runtime_code_hash: keccak256(&runtime),
        constructor_args,
    };
    Ok((deployed, receipt.from()))
}
