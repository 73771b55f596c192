//! Persistence: opening a chain from its data directory (the newest usable snapshot, then the log records
//! after it), appending records, writing snapshots, and when mined blocks become visible to readers.

use std::{collections::HashMap, sync::Arc};

use alloy::consensus::Header;
use alloy_primitives::{B256, Bloom};
use alloy_trie::EMPTY_ROOT_HASH;

use super::{Chain, Genesis, StoredBlock, dev_header};
use crate::{
    error::{DevnetError, DevnetResult},
    state::{AccountValue, History, StateChanges},
    store::{Record, StateSnapshot, Store},
};

/// How the chain was restored at open.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RestoreStats {
    /// Head block number of the snapshot loaded, if one was.
    pub snapshot_head: Option<u64>,
    /// Log records replayed after it (all of them without a snapshot, including the genesis record).
    pub records_replayed: u64,
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
    pub(super) fn persist(&mut self, record: &Record) -> DevnetResult<Option<u64>> {
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
}

#[cfg(test)]
mod tests {
    use super::*;

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
