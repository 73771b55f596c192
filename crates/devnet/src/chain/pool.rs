//! The pending pool and mining: admission checks for signed transactions, and building blocks from the pool
//! over revm.

use alloy::consensus::{
    Header, ReceiptEnvelope, Transaction as _, TxEnvelope,
    proofs::{calculate_receipt_root, calculate_transaction_root},
};
use alloy_primitives::{Address, B256, Bloom, TxKind, keccak256};
use revm::{
    Context, DatabaseCommit, ExecuteEvm, MainBuilder, MainContext, context::ContextTr,
    database::CacheDB,
};

use super::{
    Chain, PooledTx, StoredBlock, StoredReceipt, StoredTx, dev_header,
    execute::{evm_error, tx_env},
};
use crate::{
    error::{DevnetError, DevnetResult},
    state::{StateAt, StateChanges},
    store::Record,
};

impl Chain {
    /// Checks a signed transaction as it arrives: chain id, nonce against the pool, and a dry run against the
    /// pending state for funds, gas and fees. Returns the sender.
    /// With `dry_run` false only the cheap checks run (instant mining executes the transaction right away and
    /// reports revm's verdict through [`Chain::mine_with`]).
    pub(crate) fn validate(
        &self,
        envelope: &TxEnvelope,
        sender: Address,
        dry_run: bool,
    ) -> DevnetResult<()> {
        if let Some(id) = envelope.chain_id()
            && id != self.genesis.chain_id
        {
            return Err(DevnetError::TxRejected(format!(
                "invalid chain id for signer: have {id}, want {}",
                self.genesis.chain_id
            )));
        }
        if self
            .pool
            .iter()
            .any(|p| p.envelope.tx_hash() == envelope.tx_hash())
            || self.transaction(envelope.tx_hash()).is_some()
        {
            return Err(DevnetError::TxRejected("already known".to_owned()));
        }
        let expected = self.pending_nonce(&sender);
        if envelope.nonce() < expected {
            return Err(DevnetError::TxRejected(format!(
                "nonce too low: address {sender}, tx: {} state: {expected}",
                envelope.nonce()
            )));
        }
        if envelope.nonce() > expected {
            return Err(DevnetError::TxRejected(format!(
                "nonce too high: address {sender}, tx: {} state: {expected}",
                envelope.nonce()
            )));
        }
        if !dry_run {
            return Ok(());
        }
        let mut env = tx_env(envelope, sender);
        env.nonce = self
            .account(&sender, self.version)
            .map(|a| a.nonce)
            .unwrap_or_default();
        let head = self.tip().header.number;
        let block = self.block_env(head + 1, self.next_timestamp(), self.next_base_fee());
        let db = CacheDB::new(StateAt {
            history: &self.history,
            version: self.version,
            hashes: &self.hashes,
        });
        let mut evm = Context::mainnet()
            .with_db(db)
            .with_cfg(self.cfg())
            .with_block(block)
            .build_mainnet();
        match evm.transact(env) {
            Ok(_) => Ok(()),
            Err(err) => Err(evm_error(err, sender)),
        }
    }

    /// Adds a validated transaction to the pool.
    pub(crate) fn add_to_pool(&mut self, envelope: TxEnvelope, sender: Address) {
        self.pool.push(PooledTx { envelope, sender });
    }

    /// Mines one block with everything in the pool that still applies, in nonce order per sender. Returns the
    /// new block's number.
    pub(crate) fn mine(&mut self, timestamp: Option<u64>) -> DevnetResult<u64> {
        self.mine_with(timestamp, None)
    }

    /// Like [`Chain::mine`], but if the transaction `required` cannot be included, nothing is mined and its
    /// error is returned (instant mining of a single transaction).
    pub(crate) fn mine_with(
        &mut self,
        timestamp: Option<u64>,
        required: Option<B256>,
    ) -> DevnetResult<u64> {
        self.mine_inner(timestamp, required, false)
            .map(|(n, _, _)| n)
    }

    /// Like [`Chain::mine_with`] for instant mining, but does not wait for the disk: returns the block's
    /// number, hash and, with a data directory, the log length to
    /// [`Store::sync_to`](crate::store::Store::sync_to) before calling [`Chain::mark_durable`]. Until then the
    /// block is invisible to readers, while later blocks can already be built on it; one fsync then covers all
    /// of them (group commit).
    pub(crate) fn mine_deferred(
        &mut self,
        required: Option<B256>,
    ) -> DevnetResult<(u64, B256, Option<u64>)> {
        self.mine_inner(None, required, true)
    }

    fn mine_inner(
        &mut self,
        timestamp: Option<u64>,
        required: Option<B256>,
        defer: bool,
    ) -> DevnetResult<(u64, B256, Option<u64>)> {
        let mut pool = std::mem::take(&mut self.pool);
        // Keep arrival order across senders, nonce order within a sender.
        pool.sort_by_key(|p| p.envelope.nonce());
        let number = self.tip().header.number + 1;
        let parent = self.tip().hash;
        let base_fee = self.next_base_fee();
        let timestamp = timestamp
            .unwrap_or_else(|| self.next_timestamp())
            .max(self.tip().header.timestamp);
        let gas_limit = self.genesis.gas_limit;

        let mut changes = StateChanges::default();
        let mut txs = Vec::new();
        let mut cumulative = 0u64;
        {
            let db = CacheDB::new(StateAt {
                history: &self.history,
                version: self.version,
                hashes: &self.hashes,
            });
            let mut evm = Context::mainnet()
                .with_db(db)
                .with_cfg(self.cfg())
                .with_block(self.block_env(number, timestamp, base_fee))
                .build_mainnet();
            let history = &self.history;
            for pooled in pool {
                if cumulative + pooled.envelope.gas_limit() > gas_limit {
                    if required == Some(*pooled.envelope.tx_hash()) {
                        return Err(DevnetError::TxRejected(
                            "exceeds block gas limit".to_owned(),
                        ));
                    }
                    self.pool.push(pooled);
                    continue;
                }
                let env = tx_env(&pooled.envelope, pooled.sender);
                let outcome = match evm.transact(env) {
                    Ok(outcome) => outcome,
                    Err(err) if required == Some(*pooled.envelope.tx_hash()) => {
                        return Err(evm_error(err, pooled.sender));
                    }
                    Err(err) => {
                        tracing::debug!(target: "devnet::miner", %err, "dropping transaction that no longer applies");
                        continue;
                    }
                };
                changes.absorb(&outcome.state, |a| history.known_slots(a));
                evm.ctx.db_mut().commit(outcome.state);
                let gas_used = outcome.result.tx_gas_used();
                cumulative += gas_used;
                let effective_gas_price = pooled.envelope.effective_gas_price(Some(base_fee));
                let contract_address = match pooled.envelope.kind() {
                    TxKind::Create => Some(pooled.sender.create(pooled.envelope.nonce())),
                    TxKind::Call(_) => None,
                };
                let status = outcome.result.is_success();
                let logs = outcome.result.into_logs();
                txs.push(StoredTx {
                    envelope: pooled.envelope,
                    sender: pooled.sender,
                    receipt: StoredReceipt {
                        status,
                        gas_used,
                        cumulative_gas_used: cumulative,
                        effective_gas_price,
                        logs,
                        contract_address,
                    },
                });
            }
        }
        // Pooled transactions from a sender whose earlier one was dropped can never apply now.
        let version = self.version + 1;
        self.history.apply(version, &changes);
        let receipts: Vec<ReceiptEnvelope> = txs
            .iter()
            .map(|t| t.receipt.envelope(t.envelope.tx_type()))
            .collect();
        let mut logs_bloom = Bloom::ZERO;
        for r in &receipts {
            logs_bloom.accrue_bloom(r.logs_bloom());
        }
        let envelopes: Vec<&TxEnvelope> = txs.iter().map(|t| &t.envelope).collect();
        let header = Header {
            parent_hash: parent,
            state_root: self.history.state_root(version),
            transactions_root: calculate_transaction_root(&envelopes),
            receipts_root: calculate_receipt_root(&receipts),
            logs_bloom,
            number,
            gas_limit,
            gas_used: cumulative,
            timestamp,
            mix_hash: keccak256(number.to_be_bytes()),
            base_fee_per_gas: Some(base_fee),
            ..dev_header()
        };
        let hash = header.hash_slow();
        let block = StoredBlock {
            header,
            hash,
            txs,
            version,
        };
        let record = Record::Block {
            block: Box::new(block),
            changes,
        };
        let written = match &self.store {
            Some(store) => store.write(&record).map(Some),
            None => Ok(None),
        };
        let (offset, end) = match written {
            Ok(Some((offset, end))) => (Some(offset), Some(end)),
            Ok(None) => (None, None),
            Err(err) => {
                self.history.truncate(self.version);
                return Err(err);
            }
        };
        let Record::Block { block, .. } = record else {
            unreachable!("built above")
        };
        self.version = version;
        self.next_timestamp = None;
        let hash = block.hash;
        self.push_block(*block, offset);
        match (&self.store, end) {
            (Some(store), Some(end)) if !defer => {
                store.sync_to(end)?;
                self.visible = self.tip_number();
            }
            (Some(_), Some(_)) => {}
            _ => self.visible = self.tip_number(),
        }
        if self.snapshot_every > 0
            && number.is_multiple_of(self.snapshot_every)
            && let Err(err) = self.write_snapshot()
        {
            // The block itself is durable in the log; only restart gets slower.
            tracing::warn!(target: "devnet::store", %err, "writing a snapshot failed");
        }
        Ok((number, hash, end))
    }
}
