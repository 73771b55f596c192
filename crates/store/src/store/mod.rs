//! The block store contract and its local implementations.
//!
//! [`BlockStore`] is the one trait every backend implements: the in-memory store ([`MemStore`]), the on-disk
//! store, and remote backends (Kubo RPC, a trustless gateway). It is object-safe (`Arc<dyn BlockStore>` works)
//! and async through boxed futures, so a remote backend can do network I/O without blocking. It has four
//! operations: `get`, `put`, `has`, `delete`. A [`Block`] can only be built by verifying (or computing) its
//! hash, so `put` never re-hashes; `get` returns bytes the backend has verified against the CID.
//!
//! [`PinStore`] adds what a store that owns its blocks supports: pins (recursive and direct), listing,
//! garbage collection of unpinned blocks (a provided method built on the other operations) and stats.

use std::collections::{HashMap, HashSet};
use std::future::Future;
use std::pin::Pin;

use bytes::Bytes;
use serde::{Deserialize, Serialize};

use crate::block::Block;
use crate::cid::Cid;
use crate::dagpb::links_of;
use crate::error::{StoreError, StoreResult};

mod fs;
mod mem;

pub use fs::FsStore;
pub use mem::MemStore;

/// A boxed, sendable future: what the [`BlockStore`] methods return.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// Get, put, has and delete blocks by CID.
pub trait BlockStore: Send + Sync {
    /// The block's bytes, verified against `cid`; [`StoreError::NotFound`] if absent.
    fn get<'a>(&'a self, cid: &'a Cid) -> BoxFuture<'a, StoreResult<Bytes>>;
    /// Stores a block (a no-op if it is already there).
    fn put(&self, block: Block) -> BoxFuture<'_, StoreResult<()>>;
    /// Whether the block is present.
    fn has<'a>(&'a self, cid: &'a Cid) -> BoxFuture<'a, StoreResult<bool>>;
    /// Stores several blocks; a store may make them durable together (one sync for the batch), which is how
    /// the importer writes. The default puts them one by one.
    fn put_many(&self, blocks: Vec<Block>) -> BoxFuture<'_, StoreResult<()>> {
        Box::pin(async move {
            for block in blocks {
                self.put(block).await?;
            }
            Ok(())
        })
    }
    /// Removes a block (a no-op if absent). Pins are not consulted: use [`PinStore::gc`] for safe removal.
    fn delete<'a>(&'a self, cid: &'a Cid) -> BoxFuture<'a, StoreResult<()>>;
}

/// A shared store is a store (a reader that owns its store, such as [`crate::reader::FileReader`], takes one).
impl<T: BlockStore + ?Sized> BlockStore for std::sync::Arc<T> {
    fn get<'a>(&'a self, cid: &'a Cid) -> BoxFuture<'a, StoreResult<Bytes>> {
        (**self).get(cid)
    }
    fn put(&self, block: Block) -> BoxFuture<'_, StoreResult<()>> {
        (**self).put(block)
    }
    fn has<'a>(&'a self, cid: &'a Cid) -> BoxFuture<'a, StoreResult<bool>> {
        (**self).has(cid)
    }
    fn put_many(&self, blocks: Vec<Block>) -> BoxFuture<'_, StoreResult<()>> {
        (**self).put_many(blocks)
    }
    fn delete<'a>(&'a self, cid: &'a Cid) -> BoxFuture<'a, StoreResult<()>> {
        (**self).delete(cid)
    }
}

/// How a CID is pinned.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum PinMode {
    /// The block and everything it links to, transitively.
    Recursive,
    /// The block alone.
    Direct,
}

impl std::fmt::Display for PinMode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::Recursive => "recursive",
            Self::Direct => "direct",
        })
    }
}

/// Block and pin counts of a store.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoreStats {
    /// Number of blocks.
    pub blocks: u64,
    /// Sum of block sizes in bytes.
    pub bytes: u64,
    /// Number of recursive pins.
    pub recursive_pins: u64,
    /// Number of direct pins.
    pub direct_pins: u64,
}

/// What a garbage collection removed.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct GcReport {
    /// Blocks removed.
    pub removed_blocks: u64,
    /// Bytes freed.
    pub removed_bytes: u64,
}

/// A store that owns its blocks: pins, listing, garbage collection, stats.
pub trait PinStore: BlockStore {
    /// Records a pin. A recursive pin first checks that the whole DAG is present.
    fn pin<'a>(&'a self, cid: &'a Cid, mode: PinMode) -> BoxFuture<'a, StoreResult<()>>;
    /// Removes a pin; [`StoreError::InvalidArgument`] if `cid` is not pinned.
    fn unpin<'a>(&'a self, cid: &'a Cid) -> BoxFuture<'a, StoreResult<()>>;
    /// Every pin.
    fn pins(&self) -> BoxFuture<'_, StoreResult<Vec<(Cid, PinMode)>>>;
    /// Every block CID with its size.
    fn list(&self) -> BoxFuture<'_, StoreResult<Vec<(Cid, u64)>>>;

    /// Block and pin counts.
    fn stat(&self) -> BoxFuture<'_, StoreResult<StoreStats>> {
        Box::pin(async move {
            let mut stats = StoreStats::default();
            for (_, size) in self.list().await? {
                stats.blocks += 1;
                stats.bytes += size;
            }
            for (_, mode) in self.pins().await? {
                match mode {
                    PinMode::Recursive => stats.recursive_pins += 1,
                    PinMode::Direct => stats.direct_pins += 1,
                }
            }
            Ok(stats)
        })
    }

    /// Removes every block not pinned directly and not reachable from a recursive pin.
    fn gc(&self) -> BoxFuture<'_, StoreResult<GcReport>> {
        Box::pin(async move {
            let mut reached = HashSet::new();
            for (cid, mode) in self.pins().await? {
                match mode {
                    PinMode::Direct => {
                        reached.insert(cid);
                    }
                    PinMode::Recursive => walk_dag(self, &cid, &mut reached).await?,
                }
            }
            // A CIDv0 and the CIDv1 of the same dag-pb bytes name one block: compare in CIDv1 form.
            let keep: HashSet<Cid> = reached.iter().map(Cid::to_v1).collect();
            let mut report = GcReport::default();
            for (cid, size) in self.list().await? {
                if !keep.contains(&cid.to_v1()) {
                    self.delete(&cid).await?;
                    report.removed_blocks += 1;
                    report.removed_bytes += size;
                }
            }
            tracing::debug!(target: "store::gc", removed = report.removed_blocks, bytes = report.removed_bytes, "gc done");
            Ok(report)
        })
    }
}

/// Adds `root` and every block reachable from it to `seen`; fails with [`StoreError::NotFound`] on the first
/// missing block.
pub async fn walk_dag<S: BlockStore + ?Sized>(
    store: &S,
    root: &Cid,
    seen: &mut HashSet<Cid>,
) -> StoreResult<()> {
    let mut stack = vec![*root];
    while let Some(cid) = stack.pop() {
        if !seen.insert(cid) {
            continue;
        }
        if cid.codec() == crate::cid::Codec::DagPb {
            let data = store.get(&cid).await?;
            stack.extend(links_of(&cid, &data)?);
        } else if !store.has(&cid).await? {
            // Leaf codecs have no links: presence is enough (reads verify them later).
            return Err(StoreError::NotFound { cid });
        }
    }
    Ok(())
}

/// Pins kept in a map, shared by the local stores.
#[derive(Debug, Default)]
pub(crate) struct PinSet {
    pub(crate) pins: HashMap<Cid, PinMode>,
}

impl PinSet {
    pub(crate) fn sorted(&self) -> Vec<(Cid, PinMode)> {
        let mut pins: Vec<_> = self.pins.iter().map(|(c, m)| (*c, *m)).collect();
        pins.sort();
        pins
    }

    pub(crate) fn remove(&mut self, cid: &Cid) -> StoreResult<()> {
        self.pins.remove(cid).map(|_| ()).ok_or_else(|| {
            StoreError::invalid(format!(
                "{cid} is not pinned; `scal3ml store pin` with no CID lists the pins"
            ))
        })
    }
}

impl PartialOrd for PinMode {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for PinMode {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        (*self as u8).cmp(&(*other as u8))
    }
}
