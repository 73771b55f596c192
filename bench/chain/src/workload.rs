//! The workloads, identical for every node: signed locally with the dev accounts, sent raw over HTTP by one alloy
//! `RootProvider`, and checked afterwards (balances, contract state, call results) so a fast wrong answer shows.

use std::{
    path::Path,
    process::Command,
    time::{Duration, Instant},
};

use alloy::{
    consensus::{SignableTransaction, TxEip1559, TxEnvelope},
    eips::eip2718::Encodable2718,
    network::{Ethereum, TxSignerSync},
    primitives::{Address, B256, Bytes, TxKind, U256},
    providers::{Provider, RootProvider},
    rpc::types::{TransactionInput, TransactionRequest},
    signers::local::{MnemonicBuilder, PrivateKeySigner, coins_bip39::English},
    sol,
    sol_types::SolCall,
};
use anyhow::{Context, bail, ensure};
use tokio::task::JoinSet;

/// The dev mnemonic every node here is started with.
pub(crate) const MNEMONIC: &str = "test test test test test test test test test test test junk";

sol! {
    function add(uint256 amount) external returns (uint256);
    function total() external view returns (uint256);
}

const GWEI: u128 = 1_000_000_000;
const COUNTER_START: u64 = 7;

/// What a transaction does, apart from who signs it and its nonce.
#[derive(Clone)]
struct Call {
    to: TxKind,
    value: U256,
    input: Bytes,
    gas_limit: u64,
}

/// A connection to one node with the funded dev accounts.
pub(crate) struct Chain {
    provider: RootProvider<Ethereum>,
    chain_id: u64,
    signers: Vec<PrivateKeySigner>,
}

impl Chain {
    pub(crate) async fn connect(url: &str, accounts: u32) -> anyhow::Result<Self> {
        let provider = RootProvider::<Ethereum>::new_http(url.parse().context("node url")?);
        let chain_id = provider.get_chain_id().await?;
        let signers = (0..accounts)
            .map(|i| {
                MnemonicBuilder::<English>::default()
                    .phrase(MNEMONIC)
                    .index(i)?
                    .build()
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Self {
            provider,
            chain_id,
            signers,
        })
    }

    /// EIP-1559 fees every node accepts for the whole run: tip 1 gwei, cap twice the current gas price plus tip.
    async fn fees(&self) -> anyhow::Result<(u128, u128)> {
        let gas_price = self.provider.get_gas_price().await?;
        Ok((gas_price * 2 + GWEI, GWEI))
    }

    fn sign(
        &self,
        signer: &PrivateKeySigner,
        nonce: u64,
        Call {
            to,
            value,
            input,
            gas_limit,
        }: Call,
        (max_fee_per_gas, max_priority_fee_per_gas): (u128, u128),
    ) -> anyhow::Result<Vec<u8>> {
        let mut tx = TxEip1559 {
            chain_id: self.chain_id,
            nonce,
            gas_limit,
            max_fee_per_gas,
            max_priority_fee_per_gas,
            to,
            value,
            access_list: Default::default(),
            input,
        };
        let signature = signer.sign_transaction_sync(&mut tx)?;
        Ok(TxEnvelope::from(tx.into_signed(signature)).encoded_2718())
    }

    /// For each account, `count` transactions made by `make(account index, signer)` with consecutive nonces.
    async fn presign(
        &self,
        count: usize,
        make: impl Fn(usize) -> Call,
    ) -> anyhow::Result<Vec<Vec<Vec<u8>>>> {
        let fees = self.fees().await?;
        let mut all = Vec::with_capacity(self.signers.len());
        for (i, signer) in self.signers.iter().enumerate() {
            let first = self
                .provider
                .get_transaction_count(signer.address())
                .await?;
            let call = make(i);
            let txs = (0..count as u64)
                .map(|n| self.sign(signer, first + n, call.clone(), fees))
                .collect::<anyhow::Result<Vec<_>>>()?;
            all.push(txs);
        }
        Ok(all)
    }

    /// Sends every account's transactions in nonce order, all accounts at once, then waits for every receipt.
    /// Returns the wall time from the first send to the last successful receipt.
    async fn send_and_confirm(&self, per_account: Vec<Vec<Vec<u8>>>) -> anyhow::Result<Duration> {
        let started = Instant::now();
        let mut tasks = JoinSet::new();
        for txs in per_account {
            let provider = self.provider.clone();
            tasks.spawn(async move {
                let mut hashes: Vec<B256> = Vec::with_capacity(txs.len());
                for raw in &txs {
                    hashes.push(*provider.send_raw_transaction(raw).await?.tx_hash());
                }
                for hash in hashes {
                    wait_receipt(&provider, hash).await?;
                }
                anyhow::Ok(())
            });
        }
        while let Some(done) = tasks.join_next().await {
            done??;
        }
        Ok(started.elapsed())
    }

    /// (a) `total` ETH transfers of 1 gwei, spread over the accounts, each account to its own fresh address.
    /// Returns transactions per second.
    pub(crate) async fn transfers(&self, total: usize) -> anyhow::Result<f64> {
        let per_account = total / self.signers.len();
        let value = U256::from(GWEI);
        let recipient = |i: usize| Address::left_padding_from(&[0xbe, 0xef, i as u8]);
        let mut before = Vec::new();
        for i in 0..self.signers.len() {
            before.push(self.provider.get_balance(recipient(i)).await?);
        }
        let transfer = |i| Call {
            to: TxKind::Call(recipient(i)),
            value,
            input: Bytes::new(),
            gas_limit: 21_000,
        };
        let txs = self.presign(per_account, transfer).await?;
        let elapsed = self.send_and_confirm(txs).await?;
        for (i, before) in before.into_iter().enumerate() {
            let got = self.provider.get_balance(recipient(i)).await?;
            let expected = before + value * U256::from(per_account);
            ensure!(
                got == expected,
                "recipient {i} holds {got} wei after the transfers, expected {expected}"
            );
        }
        Ok((per_account * self.signers.len()) as f64 / elapsed.as_secs_f64())
    }

    /// Deploys the Counter contract (creation code from solcjs) from account 0 and returns its address.
    pub(crate) async fn deploy_counter(&self, creation_code: &[u8]) -> anyhow::Result<Address> {
        let mut input = creation_code.to_vec();
        input.extend_from_slice(&U256::from(COUNTER_START).to_be_bytes::<32>());
        let signer = &self.signers[0];
        let nonce = self
            .provider
            .get_transaction_count(signer.address())
            .await?;
        let create = Call {
            to: TxKind::Create,
            value: U256::ZERO,
            input: input.into(),
            gas_limit: 1_000_000,
        };
        let raw = self.sign(signer, nonce, create, self.fees().await?)?;
        let hash = *self.provider.send_raw_transaction(&raw).await?.tx_hash();
        let receipt = wait_receipt(&self.provider, hash).await?;
        receipt
            .contract_address
            .context("the deployment receipt has no contract address")
    }

    async fn counter_total(&self, counter: Address) -> anyhow::Result<U256> {
        let out = self.provider.call(total_request(counter)).await?;
        Ok(totalCall::abi_decode_returns(&out)?)
    }

    /// (b) `count` calls of `add(1)`, spread over the accounts. Returns transactions per second.
    pub(crate) async fn contract_calls(
        &self,
        counter: Address,
        count: usize,
    ) -> anyhow::Result<f64> {
        let per_account = count / self.signers.len();
        let before = self.counter_total(counter).await?;
        let input: Bytes = addCall {
            amount: U256::from(1),
        }
        .abi_encode()
        .into();
        let call = Call {
            to: TxKind::Call(counter),
            value: U256::ZERO,
            input,
            gas_limit: 100_000,
        };
        let txs = self.presign(per_account, |_| call.clone()).await?;
        let elapsed = self.send_and_confirm(txs).await?;
        let done = per_account * self.signers.len();
        let after = self.counter_total(counter).await?;
        ensure!(
            after == before + U256::from(done),
            "total() is {after} after {done} add(1) calls on {before}"
        );
        Ok(done as f64 / elapsed.as_secs_f64())
    }

    /// (c) `count` eth_call of `total()`, as many at once as there are accounts. Returns calls per second.
    pub(crate) async fn eth_calls(&self, counter: Address, count: usize) -> anyhow::Result<f64> {
        let expected = self.counter_total(counter).await?;
        let workers = self.signers.len();
        let started = Instant::now();
        let mut tasks = JoinSet::new();
        for _ in 0..workers {
            let provider = self.provider.clone();
            tasks.spawn(async move {
                for _ in 0..count / workers {
                    let out = provider.call(total_request(counter)).await?;
                    let got = totalCall::abi_decode_returns(&out)?;
                    ensure!(
                        got == expected,
                        "eth_call total() answered {got}, expected {expected}"
                    );
                }
                anyhow::Ok(())
            });
        }
        while let Some(done) = tasks.join_next().await {
            done??;
        }
        Ok((count / workers * workers) as f64 / started.elapsed().as_secs_f64())
    }
}

fn total_request(counter: Address) -> TransactionRequest {
    TransactionRequest {
        to: Some(TxKind::Call(counter)),
        input: TransactionInput::new(totalCall {}.abi_encode().into()),
        ..Default::default()
    }
}

async fn wait_receipt(
    provider: &RootProvider<Ethereum>,
    hash: B256,
) -> anyhow::Result<alloy::rpc::types::TransactionReceipt> {
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        if let Some(receipt) = provider.get_transaction_receipt(hash).await? {
            ensure!(receipt.status(), "transaction {hash} failed");
            return Ok(receipt);
        }
        if Instant::now() > deadline {
            bail!("no receipt for {hash} after 120 s");
        }
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
}

/// The Counter creation code, compiled by solcjs exactly as the interop scripts do (tests/interop/chain).
pub(crate) fn counter_creation_code(npm_dir: &Path) -> anyhow::Result<Vec<u8>> {
    let output = Command::new("node")
        .arg("-e")
        .arg("process.stdout.write(require('./lib/compile.cjs').compileCounter().bytecode)")
        .current_dir(npm_dir)
        .output()
        .context("running node to compile Counter.sol with solcjs")?;
    ensure!(
        output.status.success(),
        "solcjs failed to compile Counter.sol: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    Ok(alloy::primitives::hex::decode(
        String::from_utf8(output.stdout)?.trim(),
    )?)
}
