//! Dev controls: state edits (`anvil_setBalance`), `evm_snapshot` / `evm_revert`, and the clock
//! (`evm_increaseTime`, `evm_setNextBlockTimestamp`).

use alloy_primitives::{Address, U256};

use super::Chain;
use crate::{
    error::{DevnetError, DevnetResult},
    state::{AccountValue, StateChanges},
    store::Record,
};
use scal3ml_primitives::clock::now_secs;

#[derive(Clone, Copy, Debug)]
pub(super) struct Snapshot {
    head: u64,
    version: u64,
    time_offset: i64,
}

impl Chain {
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
