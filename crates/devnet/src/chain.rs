//! The chain: blocks, transactions, receipts, the pending pool, block building over revm, dev controls, and
//! the queries the JSON-RPC layer answers from. Everything here is synchronous; the server holds it behind a
//! mutex.

use std::{
    collections::HashMap,
    sync::{Arc, OnceLock},
};

use scal3ml_primitives::clock::now_secs;

use alloy::{
    consensus::{
        EMPTY_OMMER_ROOT_HASH, Eip658Value, Header, Receipt, ReceiptEnvelope, ReceiptWithBloom,
        Transaction as _, TxEnvelope, TxType,
        proofs::{calculate_receipt_root, calculate_transaction_root},
    },
    eips::{eip1559::BaseFeeParams, eip7685::EMPTY_REQUESTS_HASH},
    rpc::types::TransactionRequest,
};
use alloy_primitives::{Address, B256, Bloom, Bytes, Log, TxKind, U256, keccak256};
use alloy_trie::EMPTY_ROOT_HASH;
use revm::{
    Context, DatabaseCommit, ExecuteEvm, MainBuilder, MainContext,
    context::{
        BlockEnv, CfgEnv, ContextTr, TxEnv,
        result::{EVMError, ExecutionResult, InvalidTransaction},
    },
    database::CacheDB,
    primitives::hardfork::SpecId,
};
use serde::{Deserialize, Serialize};

use crate::{
    error::{DevnetError, DevnetResult},
    state::{AccountValue, History, StateAt, StateChanges},
    store::{BlockIndex, Record, StateSnapshot, Store},
};

/// The EVM rules the chain runs (Prague, as current hardhat and anvil default to).
pub const SPEC: SpecId = SpecId::PRAGUE;

/// A transaction's outcome as stored.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub(crate) struct StoredReceipt {
    /// Success (1) or failure (0).
    pub(crate) status: bool,
    /// Gas used by this transaction.
    pub(crate) gas_used: u64,
    /// Gas used by the block up to and including this transaction.
    pub(crate) cumulative_gas_used: u64,
    /// Price paid per gas.
    pub(crate) effective_gas_price: u128,
    /// Logs emitted.
    pub(crate) logs: Vec<Log>,
    /// Address of the created contract, for creations.
    pub(crate) contract_address: Option<Address>,
}

impl StoredReceipt {
    /// The consensus receipt (with bloom) of this outcome.
    pub(crate) fn envelope(&self, tx_type: TxType) -> ReceiptEnvelope {
        let receipt = Receipt {
            status: Eip658Value::Eip658(self.status),
            cumulative_gas_used: self.cumulative_gas_used,
            logs: self.logs.clone(),
        };
        ReceiptEnvelope::from_typed(tx_type, ReceiptWithBloom::from(receipt))
    }
}

/// A mined transaction.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub(crate) struct StoredTx {
    /// The signed transaction.
    pub(crate) envelope: TxEnvelope,
    /// Its recovered sender.
    pub(crate) sender: Address,
    /// Its outcome.
    pub(crate) receipt: StoredReceipt,
}

impl StoredTx {
    /// The transaction hash.
    pub(crate) fn hash(&self) -> B256 {
        *self.envelope.tx_hash()
    }
}

/// A mined block.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub(crate) struct StoredBlock {
    /// The consensus header.
    pub(crate) header: Header,
    /// Its hash.
    pub(crate) hash: B256,
    /// The transactions with their receipts.
    pub(crate) txs: Vec<StoredTx>,
    /// The state version after this block.
    pub(crate) version: u64,
}

/// A transaction waiting in the pool.
#[derive(Clone, Debug)]
pub(crate) struct PooledTx {
    /// The signed transaction.
    pub(crate) envelope: TxEnvelope,
    /// Its recovered sender.
    pub(crate) sender: Address,
}

#[derive(Clone, Copy, Debug)]
struct Snapshot {
    head: u64,
    version: u64,
    time_offset: i64,
}

/// Chain parameters fixed at genesis.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub(crate) struct Genesis {
    /// EIP-155 chain id.
    pub(crate) chain_id: u64,
    /// Block gas limit.
    pub(crate) gas_limit: u64,
    /// Genesis base fee.
    pub(crate) base_fee: u64,
    /// Genesis timestamp.
    pub(crate) timestamp: u64,
    /// Genesis allocations.
    pub(crate) alloc: Vec<(Address, U256)>,
}

/// A block as the chain holds it: its index always, its body once loaded (blocks restored from a snapshot
/// are read from the log on first use).
struct BlockSlot {
    index: BlockIndex,
    body: OnceLock<Box<StoredBlock>>,
}

/// How the chain was restored at open.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RestoreStats {
    /// Head block number of the snapshot loaded, if one was.
    pub snapshot_head: Option<u64>,
    /// Log records replayed after it (all of them without a snapshot, including the genesis record).
    pub records_replayed: u64,
}

/// The chain itself.
pub(crate) struct Chain {
    genesis: Genesis,
    blocks: Vec<BlockSlot>,
    hashes: Vec<B256>,
    by_hash: HashMap<B256, u64>,
    tx_index: HashMap<B256, (u64, usize)>,
    history: History,
    version: u64,
    pool: Vec<PooledTx>,
    time_offset: i64,
    next_timestamp: Option<u64>,
    snapshots: HashMap<u64, Snapshot>,
    next_snapshot: u64,
    store: Option<Arc<Store>>,
    /// Number of the newest block readers may see: every block up to it is on disk. Blocks after it are
    /// mined and written but wait for their fsync (group commit in instant mining).
    visible: u64,
    /// Oldest state version kept (after a restore from a snapshot, older state is gone).
    state_floor: u64,
    /// Write a snapshot every this many blocks (0: never).
    snapshot_every: u64,
    /// State version of the newest snapshot on disk.
    snapshot_version: Option<u64>,
    restore: RestoreStats,
}

/// geth's wording for a transaction revm refused to run.
pub(crate) fn invalid_tx_message(err: &InvalidTransaction, sender: Address) -> String {
    match err {
        InvalidTransaction::NonceTooLow { tx, state } => {
            format!("nonce too low: address {sender}, tx: {tx} state: {state}")
        }
        InvalidTransaction::NonceTooHigh { tx, state } => {
            format!("nonce too high: address {sender}, tx: {tx} state: {state}")
        }
        InvalidTransaction::LackOfFundForMaxFee { fee, balance } => {
            format!(
                "insufficient funds for gas * price + value: address {sender} have {balance} want {fee}"
            )
        }
        InvalidTransaction::CallGasCostMoreThanGasLimit {
            initial_gas,
            gas_limit,
        } => {
            format!("intrinsic gas too low: gas {gas_limit}, minimum needed {initial_gas}")
        }
        InvalidTransaction::GasFloorMoreThanGasLimit {
            gas_floor,
            gas_limit,
        } => {
            format!(
                "insufficient gas for floor data gas cost: gas {gas_limit}, minimum needed {gas_floor}"
            )
        }
        InvalidTransaction::GasPriceLessThanBasefee => {
            "max fee per gas less than block base fee".to_owned()
        }
        InvalidTransaction::PriorityFeeGreaterThanMaxFee => {
            "max priority fee per gas higher than max fee per gas".to_owned()
        }
        InvalidTransaction::CallerGasLimitMoreThanBlock => "exceeds block gas limit".to_owned(),
        InvalidTransaction::CreateInitCodeSizeLimit => "max initcode size exceeded".to_owned(),
        InvalidTransaction::InvalidChainId | InvalidTransaction::MissingChainId => {
            "invalid chain id for signer".to_owned()
        }
        InvalidTransaction::RejectCallerWithCode => format!("sender not an eoa: address {sender}"),
        other => other.to_string(),
    }
}

fn evm_error(err: EVMError<crate::state::StateReadError>, sender: Address) -> DevnetError {
    match err {
        EVMError::Transaction(t) => DevnetError::TxRejected(invalid_tx_message(&t, sender)),
        EVMError::Header(h) => DevnetError::Internal(h.to_string()),
        other => DevnetError::Internal(other.to_string()),
    }
}

/// revm's view of a signed transaction.
pub(crate) fn tx_env(envelope: &TxEnvelope, sender: Address) -> TxEnv {
    TxEnv {
        tx_type: envelope.tx_type() as u8,
        caller: sender,
        gas_limit: envelope.gas_limit(),
        gas_price: envelope.max_fee_per_gas(),
        kind: envelope.kind(),
        value: envelope.value(),
        data: envelope.input().clone(),
        nonce: envelope.nonce(),
        chain_id: envelope.chain_id(),
        access_list: envelope.access_list().cloned().unwrap_or_default(),
        gas_priority_fee: envelope.max_priority_fee_per_gas(),
        ..Default::default()
    }
}

impl Chain {
    /// A new chain from genesis, or the chain stored in `store` if it holds one.
    pub(crate) fn open(genesis: Genesis, store: Option<Store>) -> DevnetResult<Self> {
        if let Some(st) = &store {
            for snapshot in st.snapshots()? {
                if snapshot.genesis.chain_id != genesis.chain_id {
                    break; // the full replay below refuses it with the right message
                }
                let head = snapshot.blocks.len() as u64;
                let mut chain = Self::empty(genesis.clone());
                match chain.restore(st, snapshot) {
                    Ok(()) => {
                        chain.store = store.map(Arc::new);
                        chain.visible = chain.tip_number();
                        return Ok(chain);
                    }
                    Err(err) => tracing::warn!(
                        target: "devnet::store",
                        %err,
                        head,
                        "snapshot unusable; trying an older one or the whole log"
                    ),
                }
            }
        }
        let mut chain = Self::empty(genesis.clone());
        let mut records = match &store {
            Some(s) => s.read_from(0)?,
            None => Vec::new(),
        };
        if records.is_empty() {
            let record = Record::Genesis {
                genesis: genesis.clone(),
            };
            let offset = match &store {
                Some(s) => s.append(&record)?,
                None => 0,
            };
            records.push((offset, record));
        }
        for (offset, record) in records {
            chain.replay(record, offset)?;
            chain.restore.records_replayed += 1;
        }
        chain.store = store.map(Arc::new);
        chain.visible = chain.tip_number();
        Ok(chain)
    }

    fn empty(genesis: Genesis) -> Self {
        Self {
            genesis: genesis.clone(),
            blocks: Vec::new(),
            hashes: Vec::new(),
            by_hash: HashMap::new(),
            tx_index: HashMap::new(),
            history: History::default(),
            version: 0,
            pool: Vec::new(),
            time_offset: 0,
            next_timestamp: None,
            snapshots: HashMap::new(),
            next_snapshot: 1,
            store: None,
            state_floor: 0,
            visible: 0,
            snapshot_every: 0,
            snapshot_version: None,
            restore: RestoreStats::default(),
        }
    }

    /// Rebuilds the chain from `snapshot` and the log records after it.
    fn restore(&mut self, store: &Store, snapshot: StateSnapshot) -> DevnetResult<()> {
        let corrupt = |reason: String| DevnetError::Corrupt {
            path: "snapshot".into(),
            reason,
        };
        self.genesis = snapshot.genesis;
        self.push_block(snapshot.genesis_block, None);
        for index in snapshot.blocks {
            self.push_index(index);
        }
        self.history.apply(snapshot.version, &snapshot.state);
        self.version = snapshot.version;
        self.state_floor = snapshot.version;
        self.snapshot_version = Some(snapshot.version);
        self.time_offset = snapshot.time_offset;
        self.next_timestamp = snapshot.next_timestamp;
        let head = self.blocks.last().expect("genesis pushed");
        if let Some(offset) = head.index.offset {
            let Record::Block { block, .. } = store.read_at(offset)? else {
                return Err(corrupt(format!("no block record at byte {offset}")));
            };
            if block.hash != head.index.hash {
                return Err(corrupt(format!(
                    "the block at byte {offset} is not the head"
                )));
            }
            let _ = head.body.set(block);
        }
        let head = self.loaded_head()?.clone();
        if head.version == self.version
            && self.history.state_root(self.version) != head.header.state_root
        {
            return Err(corrupt(format!(
                "its state does not match the state root of block {}",
                head.header.number
            )));
        }
        self.restore.snapshot_head = Some(head.header.number);
        for (offset, record) in store.read_from(snapshot.log_len)? {
            if let Record::Revert { version, .. } = &record
                && *version < snapshot.version
            {
                return Err(corrupt("the log reverts to before it".into()));
            }
            if matches!(record, Record::Genesis { .. }) {
                return Err(corrupt("a genesis record follows it".into()));
            }
            self.replay(record, offset)?;
            self.restore.records_replayed += 1;
        }
        Ok(())
    }

    fn loaded_head(&self) -> DevnetResult<&StoredBlock> {
        self.blocks
            .last()
            .and_then(|s| s.body.get())
            .map(|b| &**b)
            .ok_or_else(|| DevnetError::Internal("head block not loaded".into()))
    }

    fn replay(&mut self, record: Record, offset: u64) -> DevnetResult<()> {
        match record {
            Record::Genesis { genesis } => {
                if !self.blocks.is_empty() {
                    return Err(DevnetError::Corrupt {
                        path: "chain.log".into(),
                        reason: "second genesis".into(),
                    });
                }
                if genesis.chain_id != self.genesis.chain_id {
                    return Err(DevnetError::Config(format!(
                        "the data directory holds a chain with id {}, not {}; pass --chain-id {} or another \
                         --data-dir",
                        genesis.chain_id, self.genesis.chain_id, genesis.chain_id
                    )));
                }
                self.genesis = genesis.clone();
                let mut changes = StateChanges::default();
                for (address, balance) in &genesis.alloc {
                    changes.accounts.insert(
                        *address,
                        Some(AccountValue {
                            balance: *balance,
                            nonce: 0,
                            code_hash: alloy_primitives::KECCAK256_EMPTY,
                        }),
                    );
                }
                self.history.apply(0, &changes);
                let header = Header {
                    parent_hash: B256::ZERO,
                    state_root: self.history.state_root(0),
                    transactions_root: EMPTY_ROOT_HASH,
                    receipts_root: EMPTY_ROOT_HASH,
                    logs_bloom: Bloom::ZERO,
                    number: 0,
                    gas_limit: genesis.gas_limit,
                    gas_used: 0,
                    timestamp: genesis.timestamp,
                    mix_hash: B256::ZERO,
                    base_fee_per_gas: Some(genesis.base_fee),
                    ..dev_header()
                };
                let hash = header.hash_slow();
                self.push_block(
                    StoredBlock {
                        header,
                        hash,
                        txs: Vec::new(),
                        version: 0,
                    },
                    None,
                );
            }
            Record::Block { block, changes } => {
                if block.header.number != self.blocks.len() as u64
                    || Some(&block.header.parent_hash) != self.hashes.last()
                {
                    return Err(DevnetError::Corrupt {
                        path: "chain.log".into(),
                        reason: format!("block {} does not extend the head", block.header.number),
                    });
                }
                self.history.apply(block.version, &changes);
                self.version = block.version;
                self.push_block(*block, Some(offset));
            }
            Record::Edit { version, changes } => {
                self.history.apply(version, &changes);
                self.version = version;
            }
            Record::Revert { head, version } => self.truncate(head, version),
            Record::Time {
                offset,
                next_timestamp,
            } => {
                self.time_offset = offset;
                self.next_timestamp = next_timestamp;
            }
        }
        Ok(())
    }

    /// Appends `record` to the log (if any) and waits for the disk; returns its offset. Everything mined
    /// before is then durable too, so it all becomes visible.
    fn persist(&mut self, record: &Record) -> DevnetResult<Option<u64>> {
        let offset = match &self.store {
            Some(store) => Some(store.append(record)?),
            None => None,
        };
        self.visible = self.tip_number();
        Ok(offset)
    }

    /// The log, for waiting on the disk without holding the chain.
    pub(crate) fn store(&self) -> Option<Arc<Store>> {
        self.store.clone()
    }

    /// Makes block `number` (and so every earlier one) visible, once its record is on disk; ignored if a
    /// revert replaced it meanwhile.
    pub(crate) fn mark_durable(&mut self, number: u64, hash: B256) {
        if self.hashes.get(number as usize) == Some(&hash) {
            self.visible = self.visible.max(number);
        }
    }

    fn tip_number(&self) -> u64 {
        self.blocks.len() as u64 - 1
    }

    /// The newest block mined, visible or not yet (block building works on it).
    fn tip(&self) -> &StoredBlock {
        self.body(self.tip_number())
            .expect("the newest block is always loaded")
    }

    fn push_block(&mut self, block: StoredBlock, offset: Option<u64>) {
        let index = BlockIndex {
            hash: block.hash,
            version: block.version,
            txs: block.txs.iter().map(StoredTx::hash).collect(),
            offset,
        };
        let number = self.blocks.len();
        self.push_index(index);
        let _ = self.blocks[number].body.set(Box::new(block));
    }

    fn push_index(&mut self, index: BlockIndex) {
        let number = self.blocks.len() as u64;
        for (i, tx) in index.txs.iter().enumerate() {
            self.tx_index.insert(*tx, (number, i));
        }
        self.by_hash.insert(index.hash, number);
        self.hashes.push(index.hash);
        self.blocks.push(BlockSlot {
            index,
            body: OnceLock::new(),
        });
    }

    fn truncate(&mut self, head: u64, version: u64) {
        while self.blocks.len() as u64 > head + 1 {
            let slot = self.blocks.pop().expect("len checked");
            self.hashes.pop();
            self.visible = self.visible.min(self.blocks.len().saturating_sub(1) as u64);
            self.by_hash.remove(&slot.index.hash);
            for tx in &slot.index.txs {
                self.tx_index.remove(tx);
            }
        }
        self.history.truncate(version);
        self.version = version;
        self.pool.clear();
    }

    /// Chain id.
    pub(crate) fn chain_id(&self) -> u64 {
        self.genesis.chain_id
    }

    /// The newest block.
    pub(crate) fn head(&self) -> &StoredBlock {
        self.body(self.visible)
            .expect("the head block is always loadable")
    }

    /// Block by number, if visible (a body older than the snapshot the chain was restored from is read from
    /// the log).
    pub(crate) fn block(&self, number: u64) -> Option<&StoredBlock> {
        if number > self.visible {
            return None;
        }
        self.body(number)
    }

    fn body(&self, number: u64) -> Option<&StoredBlock> {
        let slot = self.blocks.get(usize::try_from(number).ok()?)?;
        if let Some(body) = slot.body.get() {
            return Some(body);
        }
        let offset = slot.index.offset?;
        let store = self.store.as_ref()?;
        match store.read_at(offset) {
            Ok(Record::Block { block, .. }) if block.hash == slot.index.hash => {
                let _ = slot.body.set(block);
                slot.body.get().map(|b| &**b)
            }
            Ok(_) => {
                tracing::error!(target: "devnet::store", number, offset, "the log holds another record where this block should be");
                None
            }
            Err(err) => {
                tracing::error!(target: "devnet::store", number, %err, "cannot read a block from the log");
                None
            }
        }
    }

    /// How the chain was restored at open.
    pub(crate) fn restore_stats(&self) -> RestoreStats {
        self.restore
    }

    /// Sets how often a snapshot is written (every `blocks` blocks; 0 never).
    pub(crate) fn set_snapshot_every(&mut self, blocks: u64) {
        self.snapshot_every = blocks;
    }

    /// Writes a snapshot of the current chain (no-op without a data directory or when nothing changed since
    /// the last one).
    pub(crate) fn write_snapshot(&mut self) -> DevnetResult<()> {
        let Some(store) = &self.store else {
            return Ok(());
        };
        if self.snapshot_every == 0 {
            return Ok(());
        }
        let log_len = store.log_len();
        let genesis_block = self
            .body(0)
            .ok_or_else(|| DevnetError::Internal("genesis block missing".into()))?
            .clone();
        let snapshot = StateSnapshot {
            genesis: self.genesis.clone(),
            genesis_block,
            log_len,
            version: self.version,
            state: self.history.latest_changes(),
            time_offset: self.time_offset,
            next_timestamp: self.next_timestamp,
            blocks: self.blocks[1..].iter().map(|s| s.index.clone()).collect(),
        };
        store.write_snapshot(&snapshot)?;
        self.visible = self.tip_number();
        self.snapshot_version = Some(self.version);
        Ok(())
    }

    /// Block by hash.
    pub(crate) fn block_by_hash(&self, hash: &B256) -> Option<&StoredBlock> {
        self.by_hash.get(hash).and_then(|n| self.block(*n))
    }

    /// A mined transaction and its block.
    pub(crate) fn transaction(&self, hash: &B256) -> Option<(&StoredBlock, usize)> {
        let (number, index) = self.tx_index.get(hash)?;
        Some((self.block(*number)?, *index))
    }

    /// A pending transaction.
    pub(crate) fn pooled(&self, hash: &B256) -> Option<&PooledTx> {
        self.pool.iter().find(|p| p.envelope.tx_hash() == hash)
    }

    /// The state version that answers queries at `number` (the head answers with the latest version, which
    /// includes dev-control edits made since it was mined).
    pub(crate) fn version_at(&self, number: u64) -> Option<u64> {
        if number > self.visible {
            return None;
        }
        if number == self.tip_number() {
            return Some(self.version);
        }
        self.blocks
            .get(usize::try_from(number).ok()?)
            .map(|s| s.index.version)
            .filter(|v| *v >= self.state_floor)
    }

    /// An account at a version.
    pub(crate) fn account(&self, address: &Address, version: u64) -> Option<AccountValue> {
        self.history.account(address, version)
    }

    /// Code of an account at a version.
    pub(crate) fn code(&self, address: &Address, version: u64) -> Bytes {
        self.history
            .account(address, version)
            .and_then(|a| self.history.code(&a.code_hash))
            .map(|c| c.original_bytes())
            .unwrap_or_default()
    }

    /// A storage slot at a version.
    pub(crate) fn storage(&self, address: &Address, slot: U256, version: u64) -> U256 {
        self.history.slot(address, slot, version)
    }

    /// Nonce including pending pool transactions.
    pub(crate) fn pending_nonce(&self, address: &Address) -> u64 {
        let base = self
            .account(address, self.version)
            .map(|a| a.nonce)
            .unwrap_or_default();
        let pooled = self
            .pool
            .iter()
            .filter(|p| p.sender == *address)
            .map(|p| p.envelope.nonce() + 1)
            .max();
        pooled.map_or(base, |n| n.max(base))
    }

    /// The base fee of the next block.
    pub(crate) fn next_base_fee(&self) -> u64 {
        self.tip()
            .header
            .next_block_base_fee(BaseFeeParams::ethereum())
            .unwrap_or(self.genesis.base_fee)
    }

    fn next_timestamp(&self) -> u64 {
        let parent = self.tip().header.timestamp;
        let wall = (now_secs() as i64 + self.time_offset).max(0) as u64;
        self.next_timestamp.unwrap_or(wall).max(parent)
    }

    fn block_env(&self, number: u64, timestamp: u64, base_fee: u64) -> BlockEnv {
        BlockEnv {
            number: U256::from(number),
            beneficiary: Address::ZERO,
            timestamp: U256::from(timestamp),
            gas_limit: self.genesis.gas_limit,
            basefee: base_fee,
            difficulty: U256::ZERO,
            prevrandao: Some(keccak256(number.to_be_bytes())),
            ..Default::default()
        }
    }

    fn cfg(&self) -> CfgEnv {
        let mut cfg = CfgEnv::new_with_spec(SPEC);
        cfg.chain_id = self.genesis.chain_id;
        cfg.tx_gas_limit_cap = Some(u64::MAX);
        cfg
    }

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
    /// number, hash and, with a data directory, the log length to [`Store::sync_to`] before calling
    /// [`Chain::mark_durable`]. Until then the block is invisible to readers, while later blocks can already
    /// be built on it; one fsync then covers all of them (group commit).
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

    /// Executes a call against the state at `version` without committing anything.
    pub(crate) fn call(
        &self,
        request: &TransactionRequest,
        number: u64,
        version: u64,
        gas: Option<u64>,
    ) -> DevnetResult<ExecutionResult> {
        let block = self
            .block(number)
            .ok_or_else(|| DevnetError::NotFound("header not found".into()))?;
        let from = request.from.unwrap_or_default();
        let mut cfg = self.cfg();
        cfg.disable_nonce_check = true;
        cfg.disable_base_fee = true;
        cfg.disable_block_gas_limit = true;
        let gas_price = request.gas_price.or(request.max_fee_per_gas).unwrap_or(0);
        if gas_price == 0 {
            cfg.disable_fee_charge = true;
        }
        let env = TxEnv {
            tx_type: if request.max_fee_per_gas.is_some() {
                2
            } else if request.access_list.is_some() {
                1
            } else {
                0
            },
            caller: from,
            gas_limit: gas.or(request.gas).unwrap_or(self.genesis.gas_limit),
            gas_price,
            kind: request.to.unwrap_or(TxKind::Create),
            value: request.value.unwrap_or_default(),
            data: request.input.input().cloned().unwrap_or_default(),
            nonce: 0,
            chain_id: Some(self.genesis.chain_id),
            access_list: request.access_list.clone().unwrap_or_default(),
            gas_priority_fee: request
                .max_priority_fee_per_gas
                .filter(|_| request.max_fee_per_gas.is_some()),
            ..Default::default()
        };
        let header = &block.header;
        // A call at the head runs as if in the next block, like geth's "pending" view.
        let env_block = if number == self.head().header.number {
            self.block_env(number + 1, self.next_timestamp(), self.next_base_fee())
        } else {
            self.block_env(
                number,
                header.timestamp,
                header.base_fee_per_gas.unwrap_or_default(),
            )
        };
        let db = CacheDB::new(StateAt {
            history: &self.history,
            version,
            hashes: &self.hashes,
        });
        let mut evm = Context::mainnet()
            .with_db(db)
            .with_cfg(cfg)
            .with_block(env_block)
            .build_mainnet();
        evm.transact(env)
            .map(|o| o.result)
            .map_err(|e| evm_error(e, from))
    }

    /// Estimates the gas a transaction needs: the smallest limit (within 1.5%, as geth) at which it succeeds.
    pub(crate) fn estimate_gas(
        &self,
        request: &TransactionRequest,
        number: u64,
        version: u64,
    ) -> DevnetResult<u64> {
        let cap = request.gas.unwrap_or(self.genesis.gas_limit);
        let first = self.call(request, number, version, Some(cap))?;
        let used = match first {
            ExecutionResult::Success { .. } => first.tx_gas_used(),
            ExecutionResult::Revert { output, .. } => return Err(DevnetError::reverted(output)),
            ExecutionResult::Halt { reason, .. } => {
                return Err(DevnetError::Halted(match reason {
                    revm::context::result::HaltReason::OutOfGas(_) => {
                        format!("gas required exceeds allowance ({cap})")
                    }
                    other => halt_message(&other),
                }));
            }
        };
        let ok = |gas: u64| {
            matches!(
                self.call(request, number, version, Some(gas)),
                Ok(ExecutionResult::Success { .. })
            )
        };
        // Most transactions succeed with exactly what they used (no refund, no 63/64 reservation at play).
        if used < cap && ok(used) {
            return Ok(used);
        }
        let mut lo = used.saturating_sub(1);
        let mut hi = cap;
        let optimistic = (used + 2_300) * 64 / 63;
        if optimistic < hi {
            if ok(optimistic) {
                hi = optimistic;
            } else {
                lo = optimistic;
            }
        }
        while lo + 1 < hi {
            if (hi - lo) as f64 / hi as f64 <= 0.015 {
                break;
            }
            let mid = lo + (hi - lo) / 2;
            if ok(mid) { hi = mid } else { lo = mid }
        }
        Ok(hi)
    }

    /// Applies a dev-control edit (set balance, nonce, code, storage) to the latest state.
    pub(crate) fn edit(&mut self, changes: StateChanges) -> DevnetResult<()> {
        let version = self.version + 1;
        let record = Record::Edit { version, changes };
        self.persist(&record)?;
        let Record::Edit { changes, .. } = record else {
            unreachable!("built above")
        };
        self.history.apply(version, &changes);
        self.version = version;
        Ok(())
    }

    /// Sets one account's balance.
    pub(crate) fn set_balance(&mut self, address: Address, balance: U256) -> DevnetResult<()> {
        let mut account = self
            .account(&address, self.version)
            .unwrap_or(AccountValue {
                balance: U256::ZERO,
                nonce: 0,
                code_hash: alloy_primitives::KECCAK256_EMPTY,
            });
        account.balance = balance;
        let mut changes = StateChanges::default();
        changes.accounts.insert(address, Some(account));
        self.edit(changes)
    }

    /// Records a snapshot of the current head and state; returns its id.
    pub(crate) fn snapshot(&mut self) -> u64 {
        let id = self.next_snapshot;
        self.next_snapshot += 1;
        self.snapshots.insert(
            id,
            Snapshot {
                head: self.tip().header.number,
                version: self.version,
                time_offset: self.time_offset,
            },
        );
        id
    }

    /// Returns to a snapshot (and drops it and every later one). False if the id is unknown.
    pub(crate) fn revert(&mut self, id: u64) -> DevnetResult<bool> {
        let Some(snap) = self.snapshots.get(&id).copied() else {
            return Ok(false);
        };
        self.persist(&Record::Revert {
            head: snap.head,
            version: snap.version,
        })?;
        self.truncate(snap.head, snap.version);
        self.time_offset = snap.time_offset;
        self.persist(&Record::Time {
            offset: self.time_offset,
            next_timestamp: None,
        })?;
        if self.snapshot_version.is_some_and(|v| v > snap.version) {
            // The newest snapshot is past the state we returned to; replace it so restart stays bounded.
            self.write_snapshot()?;
        }
        self.snapshots.retain(|k, _| *k < id);
        Ok(true)
    }

    /// Moves the clock forward by `seconds`; returns the new total offset.
    pub(crate) fn increase_time(&mut self, seconds: u64) -> DevnetResult<i64> {
        self.time_offset += seconds as i64;
        self.persist(&Record::Time {
            offset: self.time_offset,
            next_timestamp: self.next_timestamp,
        })?;
        Ok(self.time_offset)
    }

    /// Fixes the timestamp of the next block (must not be before the head's).
    pub(crate) fn set_next_timestamp(&mut self, timestamp: u64) -> DevnetResult<()> {
        let head = self.tip().header.timestamp;
        if timestamp < head {
            return Err(DevnetError::InvalidParams(format!(
                "timestamp {timestamp} is before the head block's timestamp {head}; timestamps only move forward"
            )));
        }
        self.next_timestamp = Some(timestamp);
        self.time_offset = timestamp as i64 - now_secs() as i64;
        self.persist(&Record::Time {
            offset: self.time_offset,
            next_timestamp: self.next_timestamp,
        })
        .map(|_| ())
    }
}

/// geth's wording for an execution that halted.
pub(crate) fn halt_message(reason: &revm::context::result::HaltReason) -> String {
    use revm::context::result::{HaltReason, OutOfGasError};
    match reason {
        HaltReason::OutOfGas(
            OutOfGasError::Basic | OutOfGasError::Memory | OutOfGasError::MemoryLimit,
        ) => "out of gas".to_owned(),
        HaltReason::OutOfGas(_) => "out of gas".to_owned(),
        HaltReason::OpcodeNotFound | HaltReason::InvalidFEOpcode => "invalid opcode".to_owned(),
        HaltReason::StackOverflow => "stack limit reached 1024".to_owned(),
        HaltReason::StackUnderflow => "stack underflow".to_owned(),
        HaltReason::CreateContractSizeLimit => "max code size exceeded".to_owned(),
        HaltReason::OutOfFunds => "insufficient funds for transfer".to_owned(),
        other => format!("execution halted: {other:?}"),
    }
}

/// The fields every devnet header shares, genesis and mined alike: no proof of work, no beneficiary, and the
/// post-Prague fields (withdrawals, blobs, beacon root, requests) present but empty.
fn dev_header() -> Header {
    Header {
        ommers_hash: EMPTY_OMMER_ROOT_HASH,
        beneficiary: Address::ZERO,
        difficulty: U256::ZERO,
        extra_data: Bytes::new(),
        nonce: Default::default(),
        withdrawals_root: Some(EMPTY_ROOT_HASH),
        blob_gas_used: Some(0),
        excess_blob_gas: Some(0),
        parent_beacon_block_root: Some(B256::ZERO),
        requests_hash: Some(EMPTY_REQUESTS_HASH),
        ..Default::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn genesis_is_block_zero_with_the_allocations() {
        let a = Address::repeat_byte(7);
        let chain = Chain::open(
            Genesis {
                chain_id: 5,
                gas_limit: 30_000_000,
                base_fee: 7,
                timestamp: 1,
                alloc: vec![(a, U256::from(3))],
            },
            None,
        )
        .unwrap();
        assert_eq!(chain.head().header.number, 0);
        assert_eq!(chain.account(&a, 0).unwrap().balance, U256::from(3));
        assert_ne!(chain.head().header.state_root, EMPTY_ROOT_HASH);
    }

    #[test]
    fn a_block_waiting_for_its_fsync_is_invisible_until_marked_durable() {
        let dir = tempfile::tempdir().unwrap();
        let genesis = Genesis {
            chain_id: 5,
            gas_limit: 30_000_000,
            base_fee: 7,
            timestamp: 1,
            alloc: vec![],
        };
        let mut chain = Chain::open(genesis, Some(Store::open(dir.path()).unwrap())).unwrap();
        let (one, hash_one, end_one) = chain.mine_deferred(None).unwrap();
        let (two, hash_two, end_two) = chain.mine_deferred(None).unwrap();
        assert_eq!((one, two), (1, 2), "the second block is built on the first");
        // Nothing of them is readable yet.
        assert_eq!(chain.head().header.number, 0);
        assert!(chain.block(1).is_none() && chain.block_by_hash(&hash_two).is_none());
        assert_eq!(chain.version_at(1), None);
        let store = chain.store().unwrap();
        let syncs = store.syncs();
        // One fsync for the second covers the first too; marking the second shows both.
        store.sync_to(end_two.unwrap()).unwrap();
        store.sync_to(end_one.unwrap()).unwrap();
        assert_eq!(store.syncs(), syncs + 1);
        chain.mark_durable(two, hash_two);
        assert_eq!(chain.head().hash, hash_two);
        assert_eq!(chain.block(1).unwrap().hash, hash_one);
        // A late mark for an older block does not move the head back.
        chain.mark_durable(one, hash_one);
        assert_eq!(chain.head().header.number, 2);
    }
}
