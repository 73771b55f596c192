//! The on-disk chain: one append-only log, `chain.log`, of length- and checksum-framed records. Each record
//! is `[u32 little-endian payload length][u32 little-endian CRC-32 of the payload][payload: JSON]`. A mined
//! block's record holds the header, the transactions, their receipts and the state changes the block made, so
//! restart applies changes and never re-executes a transaction. Every append is followed by `fsync` before
//! the caller may expose what it wrote. At open, a torn or corrupt record at the tail (a crash mid-append) is
//! cut off and everything before it is kept.

use std::{
    fs::{File, OpenOptions},
    io::{Read, Seek, SeekFrom, Write},
    path::{Path, PathBuf},
    sync::Mutex,
};

use serde::{Deserialize, Serialize};

use crate::{
    chain::{Genesis, StoredBlock},
    error::{DevnetError, DevnetResult},
    state::StateChanges,
};

/// Name of the log file inside the data directory.
pub const LOG_FILE: &str = "chain.log";

/// Largest record accepted when reading (guards against a garbage length prefix).
const MAX_RECORD: u32 = 512 * 1024 * 1024;

/// One entry of the log.
#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum Record {
    /// The chain's parameters; always the first record.
    Genesis {
        /// The genesis.
        genesis: Genesis,
    },
    /// A mined block and the state it wrote.
    Block {
        /// The block.
        block: Box<StoredBlock>,
        /// The state changes.
        changes: StateChanges,
    },
    /// A dev-control state edit (anvil_setBalance...).
    Edit {
        /// State version it created.
        version: u64,
        /// The changes.
        changes: StateChanges,
    },
    /// evm_revert: the chain went back to this head and state version.
    Revert {
        /// Head block number.
        head: u64,
        /// State version.
        version: u64,
    },
    /// Clock changes (evm_increaseTime, evm_setNextBlockTimestamp).
    Time {
        /// Seconds added to the wall clock.
        offset: i64,
        /// Fixed timestamp of the next block.
        next_timestamp: Option<u64>,
    },
}

/// The append-only log.
#[derive(Debug)]
pub(crate) struct Store {
    path: PathBuf,
    file: Mutex<File>,
}

fn io_err(path: &Path) -> impl FnOnce(std::io::Error) -> DevnetError + '_ {
    move |source| DevnetError::Storage {
        path: path.display().to_string(),
        source,
    }
}

impl Store {
    /// Opens (creating if needed) the log in `dir`.
    pub(crate) fn open(dir: &Path) -> DevnetResult<Self> {
        std::fs::create_dir_all(dir).map_err(io_err(dir))?;
        let path = dir.join(LOG_FILE);
        let file = OpenOptions::new()
            .create(true)
            .read(true)
            .append(true)
            .open(&path)
            .map_err(io_err(&path))?;
        // Make the file's directory entry durable too.
        if let Ok(d) = File::open(dir) {
            let _ = d.sync_all();
        }
        Ok(Self {
            path,
            file: Mutex::new(file),
        })
    }

    /// Reads every intact record, cutting off a torn tail.
    pub(crate) fn read_all(&self) -> DevnetResult<Vec<Record>> {
        let mut file = self.file.lock().expect("store mutex poisoned");
        let mut bytes = Vec::new();
        file.seek(SeekFrom::Start(0)).map_err(io_err(&self.path))?;
        file.read_to_end(&mut bytes).map_err(io_err(&self.path))?;
        let mut records = Vec::new();
        let mut offset = 0usize;
        while offset < bytes.len() {
            let Some(record) = decode_at(&bytes, offset) else {
                break;
            };
            let (record, next) = record;
            // An intact frame that does not parse was written by another version: stop rather than lose it.
            let record = record.map_err(|e| DevnetError::Corrupt {
                path: self.path.display().to_string(),
                reason: format!("record at byte {offset} is intact but unreadable ({e})"),
            })?;
            records.push(record);
            offset = next;
        }
        if offset < bytes.len() {
            tracing::warn!(
                target: "devnet::store",
                path = %self.path.display(),
                kept = offset,
                dropped = bytes.len() - offset,
                "cutting off a torn record at the end of the log (a crash while writing)"
            );
            file.set_len(offset as u64).map_err(io_err(&self.path))?;
            file.sync_all().map_err(io_err(&self.path))?;
        }
        Ok(records)
    }

    /// Appends one record and waits until it is on disk.
    pub(crate) fn append(&self, record: &Record) -> DevnetResult<()> {
        let payload =
            serde_json::to_vec(record).map_err(|e| DevnetError::Internal(e.to_string()))?;
        let mut frame = Vec::with_capacity(payload.len() + 8);
        frame.extend_from_slice(&(payload.len() as u32).to_le_bytes());
        frame.extend_from_slice(&crc32fast::hash(&payload).to_le_bytes());
        frame.extend_from_slice(&payload);
        let mut file = self.file.lock().expect("store mutex poisoned");
        file.write_all(&frame).map_err(io_err(&self.path))?;
        file.sync_data().map_err(io_err(&self.path))
    }
}

/// The record at `offset` and where the next begins; `None` for a torn or corrupt frame.
fn decode_at(bytes: &[u8], offset: usize) -> Option<(serde_json::Result<Record>, usize)> {
    let header = bytes.get(offset..offset + 8)?;
    let len = u32::from_le_bytes(header[..4].try_into().ok()?);
    let crc = u32::from_le_bytes(header[4..].try_into().ok()?);
    if len > MAX_RECORD {
        return None;
    }
    let payload = bytes.get(offset + 8..offset + 8 + len as usize)?;
    if crc32fast::hash(payload) != crc {
        return None;
    }
    Some((serde_json::from_slice(payload), offset + 8 + len as usize))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn time(offset: i64) -> Record {
        Record::Time {
            offset,
            next_timestamp: None,
        }
    }

    #[test]
    fn torn_tail_is_cut_and_earlier_records_survive() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        store.append(&time(1)).unwrap();
        store.append(&time(2)).unwrap();
        drop(store);
        let path = dir.path().join(LOG_FILE);
        let full = std::fs::read(&path).unwrap();
        // Simulate a crash in the middle of writing the second record.
        std::fs::write(&path, &full[..full.len() - 3]).unwrap();
        let store = Store::open(dir.path()).unwrap();
        let records = store.read_all().unwrap();
        assert_eq!(records.len(), 1);
        assert!(matches!(records[0], Record::Time { offset: 1, .. }));
        // The log is usable again after the cut.
        store.append(&time(3)).unwrap();
        assert_eq!(store.read_all().unwrap().len(), 2);
    }

    #[test]
    fn flipped_byte_in_the_last_record_is_detected() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        store.append(&time(1)).unwrap();
        store.append(&time(2)).unwrap();
        drop(store);
        let path = dir.path().join(LOG_FILE);
        let mut full = std::fs::read(&path).unwrap();
        let last = full.len() - 2;
        full[last] ^= 0x55;
        std::fs::write(&path, &full).unwrap();
        assert_eq!(
            Store::open(dir.path()).unwrap().read_all().unwrap().len(),
            1
        );
    }
}
