//! The on-disk chain: one append-only log, `chain.log`, of length- and checksum-framed records. Each record
//! is `[u32 little-endian payload length][u32 little-endian CRC-32 of the payload][payload: JSON]`. A mined
//! block's record holds the header, the transactions, their receipts and the state changes the block made, so
//! restart applies changes and never re-executes a transaction. Every append is followed by `fsync` before
//! the caller may expose what it wrote. At open, a torn or corrupt record at the tail (a crash mid-append) is
//! cut off and everything before it is kept.
//!
//! Beside the log, `snapshot-<log length>.snap` files (one frame, same framing) hold the latest state, the
//! clock, and an index of every block (hash, state version, tx hashes, byte offset of its record in the log),
//! so a restart loads the newest valid snapshot and replays only the records appended after it. Block bodies
//! older than the snapshot stay in the log and are read from it by offset when asked for. A snapshot is
//! written to a temporary file, fsynced, renamed into place and the directory fsynced, so a crash leaves
//! either the old set of snapshots or the new one; the log is never rewritten.

use std::{
    fs::{File, OpenOptions},
    io::{Read, Seek, SeekFrom, Write},
    path::{Path, PathBuf},
    sync::Mutex,
};

use serde::{Deserialize, Serialize};

use alloy_primitives::B256;

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

/// Where one block lives: enough to serve lookups without its body, and to find the body in the log.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub(crate) struct BlockIndex {
    /// Block hash.
    pub(crate) hash: B256,
    /// State version after the block.
    pub(crate) version: u64,
    /// Hashes of its transactions, in order.
    pub(crate) txs: Vec<B256>,
    /// Byte offset of its `block` record in the log; `None` for genesis (kept in the snapshot).
    pub(crate) offset: Option<u64>,
}

/// The whole chain at one point of the log, minus the block bodies (which the log holds).
#[derive(Debug, Serialize, Deserialize)]
pub(crate) struct StateSnapshot {
    /// The genesis record.
    pub(crate) genesis: Genesis,
    /// The genesis block.
    pub(crate) genesis_block: StoredBlock,
    /// Length of the log this snapshot covers: replay starts here.
    pub(crate) log_len: u64,
    /// State version of `state`.
    pub(crate) version: u64,
    /// Every live account, non-zero slot and code at `version`.
    pub(crate) state: StateChanges,
    /// Clock offset.
    pub(crate) time_offset: i64,
    /// Fixed next timestamp.
    pub(crate) next_timestamp: Option<u64>,
    /// Blocks 1..=head.
    pub(crate) blocks: Vec<BlockIndex>,
}

/// How many snapshot files are kept (the newest first; an older one is the fallback if the newest is bad).
const KEEP_SNAPSHOTS: usize = 2;

#[derive(Debug)]
struct LogFile {
    file: File,
    /// Bytes of intact records (the append position).
    len: u64,
}

/// The append-only log and its snapshots.
#[derive(Debug)]
pub(crate) struct Store {
    dir: PathBuf,
    path: PathBuf,
    file: Mutex<LogFile>,
    /// A second handle on the log, for fsync without holding `file` (so appends go on meanwhile).
    sync_file: File,
    /// Bytes of the log known to be on disk. Held during an fsync: callers that arrive meanwhile wait, then
    /// usually find their record already covered (group commit).
    synced: Mutex<u64>,
    /// fsyncs of the log done so far.
    syncs: std::sync::atomic::AtomicU64,
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
        sync_dir(dir);
        let len = file.metadata().map_err(io_err(&path))?.len();
        let sync_file = file.try_clone().map_err(io_err(&path))?;
        Ok(Self {
            dir: dir.to_path_buf(),
            path,
            file: Mutex::new(LogFile { file, len }),
            sync_file,
            synced: Mutex::new(len),
            syncs: Default::default(),
        })
    }

    /// Reads every intact record, cutting off a torn tail.
    #[cfg(test)]
    pub(crate) fn read_all(&self) -> DevnetResult<Vec<Record>> {
        Ok(self.read_from(0)?.into_iter().map(|(_, r)| r).collect())
    }

    /// Reads every intact record from byte `start` (a record boundary) on, with the offset of each, cutting
    /// off a torn tail.
    pub(crate) fn read_from(&self, start: u64) -> DevnetResult<Vec<(u64, Record)>> {
        let mut log = self.file.lock().expect("store mutex poisoned");
        let mut bytes = Vec::new();
        let size = log.file.metadata().map_err(io_err(&self.path))?.len();
        if start > size {
            return Err(DevnetError::Corrupt {
                path: self.path.display().to_string(),
                reason: format!("a snapshot covers {start} bytes but the log has only {size}"),
            });
        }
        log.file
            .seek(SeekFrom::Start(start))
            .map_err(io_err(&self.path))?;
        log.file
            .read_to_end(&mut bytes)
            .map_err(io_err(&self.path))?;
        let mut records = Vec::new();
        let mut offset = 0usize;
        while offset < bytes.len() {
            let Some(record) = decode_at(&bytes, offset) else {
                break;
            };
            let (record, next) = record;
            let at = start + offset as u64;
            // An intact frame that does not parse was written by another version: stop rather than lose it.
            let record = record.map_err(|e| DevnetError::Corrupt {
                path: self.path.display().to_string(),
                reason: format!("record at byte {at} is intact but unreadable ({e})"),
            })?;
            records.push((at, record));
            offset = next;
        }
        let end = start + offset as u64;
        if offset < bytes.len() {
            tracing::warn!(
                target: "devnet::store",
                path = %self.path.display(),
                kept = end,
                dropped = bytes.len() - offset,
                "cutting off a torn record at the end of the log (a crash while writing)"
            );
            log.file.set_len(end).map_err(io_err(&self.path))?;
            log.file.sync_all().map_err(io_err(&self.path))?;
        }
        log.len = end;
        *self.synced.lock().expect("store mutex poisoned") = end;
        Ok(records)
    }

    /// The record whose frame starts at byte `offset`.
    pub(crate) fn read_at(&self, offset: u64) -> DevnetResult<Record> {
        use std::os::unix::fs::FileExt;
        let log = self.file.lock().expect("store mutex poisoned");
        let corrupt = |reason: String| DevnetError::Corrupt {
            path: self.path.display().to_string(),
            reason,
        };
        let mut header = [0u8; 8];
        log.file
            .read_exact_at(&mut header, offset)
            .map_err(io_err(&self.path))?;
        let len = u32::from_le_bytes(header[..4].try_into().expect("4 bytes"));
        if len > MAX_RECORD {
            return Err(corrupt(format!("no record at byte {offset}")));
        }
        let mut frame = vec![0u8; 8 + len as usize];
        frame[..8].copy_from_slice(&header);
        log.file
            .read_exact_at(&mut frame[8..], offset + 8)
            .map_err(io_err(&self.path))?;
        match decode_at(&frame, 0) {
            Some((Ok(record), _)) => Ok(record),
            Some((Err(e), _)) => Err(corrupt(format!(
                "record at byte {offset} is unreadable ({e})"
            ))),
            None => Err(corrupt(format!(
                "record at byte {offset} fails its checksum"
            ))),
        }
    }

    /// Appends one record and waits until it is on disk; returns the byte offset it was written at.
    pub(crate) fn append(&self, record: &Record) -> DevnetResult<u64> {
        let (offset, end) = self.write(record)?;
        self.sync_to(end)?;
        Ok(offset)
    }

    /// Appends one record without waiting for the disk; returns where it starts and ends. Nothing it holds may
    /// be shown to anyone before [`Store::sync_to`] its end has returned.
    pub(crate) fn write(&self, record: &Record) -> DevnetResult<(u64, u64)> {
        let frame = frame(record)?;
        let mut log = self.file.lock().expect("store mutex poisoned");
        let offset = log.len;
        log.file.write_all(&frame).map_err(io_err(&self.path))?;
        log.len += frame.len() as u64;
        Ok((offset, log.len))
    }

    /// Waits until the log is on disk up to byte `end`. One fsync covers every record written before it
    /// starts, so concurrent writers share it.
    pub(crate) fn sync_to(&self, end: u64) -> DevnetResult<()> {
        let mut synced = self.synced.lock().expect("store mutex poisoned");
        if *synced >= end {
            return Ok(());
        }
        let target = self.file.lock().expect("store mutex poisoned").len;
        self.sync_file.sync_data().map_err(io_err(&self.path))?;
        self.syncs
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        *synced = target;
        Ok(())
    }

    /// How many fsyncs of the log this store has done.
    #[cfg(test)]
    pub(crate) fn syncs(&self) -> u64 {
        self.syncs.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// Length of the log's intact records.
    pub(crate) fn log_len(&self) -> u64 {
        self.file.lock().expect("store mutex poisoned").len
    }

    /// Writes `snapshot` durably (temp file, fsync, rename, fsync of the directory) and drops older ones
    /// beyond the newest [`KEEP_SNAPSHOTS`].
    pub(crate) fn write_snapshot(&self, snapshot: &StateSnapshot) -> DevnetResult<()> {
        // A snapshot only ever covers records that are on disk.
        self.sync_to(snapshot.log_len)?;
        let payload =
            serde_json::to_vec(snapshot).map_err(|e| DevnetError::Internal(e.to_string()))?;
        let tmp = self.dir.join("snapshot.tmp");
        let target = self
            .dir
            .join(format!("snapshot-{:020}.snap", snapshot.log_len));
        {
            let mut file = File::create(&tmp).map_err(io_err(&tmp))?;
            file.write_all(&(payload.len() as u32).to_le_bytes())
                .and_then(|()| file.write_all(&crc32fast::hash(&payload).to_le_bytes()))
                .and_then(|()| file.write_all(&payload))
                .and_then(|()| file.sync_all())
                .map_err(io_err(&tmp))?;
        }
        std::fs::rename(&tmp, &target).map_err(io_err(&target))?;
        sync_dir(&self.dir);
        for old in self.snapshot_paths()?.into_iter().skip(KEEP_SNAPSHOTS) {
            let _ = std::fs::remove_file(old);
        }
        Ok(())
    }

    /// Snapshot files, newest first.
    fn snapshot_paths(&self) -> DevnetResult<Vec<PathBuf>> {
        let mut paths: Vec<PathBuf> = std::fs::read_dir(&self.dir)
            .map_err(io_err(&self.dir))?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| {
                p.file_name()
                    .and_then(|n| n.to_str())
                    .is_some_and(|n| n.starts_with("snapshot-") && n.ends_with(".snap"))
            })
            .collect();
        paths.sort();
        paths.reverse();
        Ok(paths)
    }

    /// Every snapshot that reads back intact, newest first (a damaged one is skipped with a warning).
    pub(crate) fn snapshots(&self) -> DevnetResult<Vec<StateSnapshot>> {
        let mut out = Vec::new();
        for path in self.snapshot_paths()? {
            let bytes = std::fs::read(&path).map_err(io_err(&path))?;
            match decode_snapshot(&bytes) {
                Some(snapshot) => out.push(snapshot),
                None => tracing::warn!(
                    target: "devnet::store",
                    path = %path.display(),
                    "ignoring a damaged snapshot"
                ),
            }
        }
        Ok(out)
    }
}

fn sync_dir(dir: &Path) {
    if let Ok(d) = File::open(dir) {
        let _ = d.sync_all();
    }
}

fn frame(record: &Record) -> DevnetResult<Vec<u8>> {
    let payload = serde_json::to_vec(record).map_err(|e| DevnetError::Internal(e.to_string()))?;
    let mut frame = Vec::with_capacity(payload.len() + 8);
    frame.extend_from_slice(&(payload.len() as u32).to_le_bytes());
    frame.extend_from_slice(&crc32fast::hash(&payload).to_le_bytes());
    frame.extend_from_slice(&payload);
    Ok(frame)
}

fn decode_snapshot(bytes: &[u8]) -> Option<StateSnapshot> {
    let len = u32::from_le_bytes(bytes.get(..4)?.try_into().ok()?) as usize;
    let crc = u32::from_le_bytes(bytes.get(4..8)?.try_into().ok()?);
    let payload = bytes.get(8..8 + len)?;
    if bytes.len() != 8 + len || crc32fast::hash(payload) != crc {
        return None;
    }
    serde_json::from_slice(payload).ok()
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
