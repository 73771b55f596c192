//! The chain: blocks, transactions, receipts, the versioned state, and the queries the JSON-RPC layer answers
//! from. Everything here is synchronous; the server holds it behind a mutex. Split by concern: `persist`
//! (opening, the log, snapshots), `pool` (the pending pool and mining), `execute` (the EVM environment, calls
//! and gas estimation) and `dev` (dev controls).

mod dev;
mod execute;
mod persist;
mod pool;

use std::{
    collections::HashMap,
    sync::{Arc, OnceLock},
};

use scal3ml_primitives::clock::now_secs;

use alloy::{
    consensus::{
        EMPTY_OMMER_ROOT_HASH, Eip658Value, Header, Receipt, ReceiptEnvelope, ReceiptWithBloom,
        Transaction as _, TxEnvelope, TxType,
    },
    eips::{eip1559::BaseFeeParams, eip7685::EMPTY_REQUESTS_HASH},
};
use alloy_primitives::{Address, B256, Bytes, Log, U256};
use alloy_trie::EMPTY_ROOT_HASH;
use revm::primitives::hardfork::SpecId;
use serde::{Deserialize, Serialize};

use crate::{
    state::{AccountValue, History},
    store::{BlockIndex, Record, Store},
};

pub(crate) use execute::halt_message;
pub use persist::RestoreStats;

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
    snapshots: HashMap<u64, dev::Snapshot>,
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

impl Chain {
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
}
