//! UnixFS import with Kubo's CIDs: files (fixed-size chunker, balanced layout, CIDv0 with dag-pb leaves or
//! CIDv1 with raw leaves, single-chunk reduction), directories (sorted links, HAMT sharding above Kubo's
//! threshold), recursive import of a path, wrap-in-directory, and hash-only runs.
//!
//! The importers are synchronous and push every block, children before parents, into a [`Sink`]; the async
//! functions [`add_reader`] and [`add_path`] run them on a blocking thread and write the blocks into a
//! [`BlockStore`] as they come, so memory stays bounded by a few chunks.

use std::io::Read;
use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::block::{Block, MAX_BLOCK_SIZE};
use crate::cid::Cid;
use crate::error::{StoreError, StoreResult};
use crate::store::BlockStore;

mod dir;
mod file;
pub mod hamt;

pub use dir::{DirEntry, build_directory, import_path, wrap};
pub use file::{FileRoot, import_file};

/// Where the importers put blocks: a store writer, a CAR writer, or nothing (hash only).
pub type Sink<'a> = dyn FnMut(Block) -> StoreResult<()> + Send + 'a;

/// Kubo's threshold for switching a directory to a HAMT: the estimated size (sum of name length plus CID byte
/// length over the links) must exceed 256 KiB.
pub const HAMT_THRESHOLD: usize = 256 * 1024;

/// Import settings. [`Default`] is Kubo's `ipfs add` (CIDv0).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ImportOptions {
    /// 0 or 1.
    pub cid_version: u8,
    /// Leaves as raw blocks (CIDv1 default) instead of UnixFS dag-pb nodes.
    pub raw_leaves: bool,
    /// Chunk size in bytes.
    pub chunk_size: usize,
    /// Links per internal node.
    pub max_links: usize,
    /// Directory size estimate above which directories become HAMT shards.
    pub hamt_threshold: usize,
    /// Import names starting with '.' in recursive imports (Kubo's `--hidden`).
    pub hidden: bool,
    /// Hashing threads (defaults to the number of cores).
    pub threads: usize,
}

impl Default for ImportOptions {
    fn default() -> Self {
        Self {
            cid_version: 0,
            raw_leaves: false,
            chunk_size: 262_144,
            max_links: 174,
            hamt_threshold: HAMT_THRESHOLD,
            hidden: false,
            threads: std::thread::available_parallelism().map_or(1, |n| n.get()),
        }
    }
}

impl ImportOptions {
    /// `ipfs add` defaults: CIDv0, dag-pb leaves, 256 KiB chunks, 174 links.
    pub fn kubo_v0() -> Self {
        Self::default()
    }

    /// `ipfs add --cid-version=1`: CIDv1 and raw leaves.
    pub fn kubo_v1() -> Self {
        Self::default().with_cid_version(1)
    }

    /// The `unixfs-v1-2025` profile (IPIP-499): CIDv1, raw leaves, 1 MiB chunks, 1024 links.
    pub fn unixfs_v1_2025() -> Self {
        Self {
            chunk_size: 1 << 20,
            max_links: 1024,
            ..Self::kubo_v1()
        }
    }

    /// A named profile: "kubo-v0" (default), "kubo-v1", "unixfs-v1-2025".
    pub fn profile(name: &str) -> StoreResult<Self> {
        match name {
            "kubo-v0" | "default" => Ok(Self::kubo_v0()),
            "kubo-v1" => Ok(Self::kubo_v1()),
            "unixfs-v1-2025" => Ok(Self::unixfs_v1_2025()),
            other => Err(StoreError::invalid(format!(
                "unknown profile {other:?}: use kubo-v0, kubo-v1 or unixfs-v1-2025"
            ))),
        }
    }

    /// Sets the CID version; like Kubo, version 1 turns raw leaves on and version 0 turns them off.
    pub fn with_cid_version(mut self, version: u8) -> Self {
        self.cid_version = version;
        self.raw_leaves = version == 1;
        self
    }

    /// Sets raw leaves explicitly (after [`Self::with_cid_version`]). With CIDv0, raw leaves get CIDv1 (raw)
    /// and the nodes above them CIDv0, as in Kubo.
    pub fn with_raw_leaves(mut self, raw: bool) -> Self {
        self.raw_leaves = raw;
        self
    }

    /// Sets the chunk size.
    pub fn with_chunk_size(mut self, size: usize) -> Self {
        self.chunk_size = size;
        self
    }

    /// Sets Kubo's chunker spec, `size-<bytes>`.
    pub fn with_chunker(self, spec: &str) -> StoreResult<Self> {
        let size = spec
            .strip_prefix("size-")
            .and_then(|n| n.parse().ok())
            .ok_or_else(|| {
                StoreError::invalid(format!("chunker {spec:?}: only size-<bytes> is supported"))
            })?;
        Ok(self.with_chunk_size(size))
    }

    /// Sets links per node.
    pub fn with_max_links(mut self, links: usize) -> Self {
        self.max_links = links;
        self
    }

    /// Sets the number of hashing threads.
    pub fn with_threads(mut self, threads: usize) -> Self {
        self.threads = threads;
        self
    }

    /// Includes hidden files in recursive imports.
    pub fn with_hidden(mut self, hidden: bool) -> Self {
        self.hidden = hidden;
        self
    }

    pub(crate) fn validate(&self) -> StoreResult<()> {
        if self.cid_version > 1 {
            return Err(StoreError::invalid(format!(
                "CID version {} (use 0 or 1)",
                self.cid_version
            )));
        }
        if self.chunk_size == 0 || self.chunk_size > MAX_BLOCK_SIZE - 1024 {
            return Err(StoreError::invalid(format!(
                "chunk size {} (use 1 to {} bytes)",
                self.chunk_size,
                MAX_BLOCK_SIZE - 1024
            )));
        }
        if self.max_links < 2 {
            return Err(StoreError::invalid(format!(
                "{} links per node (use at least 2)",
                self.max_links
            )));
        }
        Ok(())
    }
}

/// The result of an import.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct Imported {
    /// The root CID.
    pub cid: Cid,
    /// Bytes of file content (0 for directories).
    pub size: u64,
    /// Cumulative DAG size.
    pub tsize: u64,
    /// Blocks produced.
    pub blocks: u64,
}

/// Runs `work` (an importer over a sink) on a blocking thread and writes its blocks into `store` as they come.
async fn run_into_store<S, F>(store: &S, work: F) -> StoreResult<Imported>
where
    S: BlockStore + ?Sized,
    F: FnOnce(&mut Sink<'_>) -> StoreResult<(Cid, u64, u64)> + Send + 'static,
{
    let (tx, mut rx) = tokio::sync::mpsc::channel::<Block>(16);
    let worker = tokio::task::spawn_blocking(move || {
        let mut sink = |block: Block| {
            tx.blocking_send(block)
                .map_err(|_| StoreError::invalid("import cancelled: the block writer stopped"))
        };
        work(&mut sink)
    });
    let mut blocks = 0;
    let mut write_error = None;
    // Blocks go to the store in batches (up to 64 blocks or 8 MiB) so a durable store syncs once per batch.
    while let Some(first) = rx.recv().await {
        let mut bytes = first.data().len();
        let mut batch = vec![first];
        while batch.len() < 64 && bytes < 8 << 20 {
            match rx.try_recv() {
                Ok(block) => {
                    bytes += block.data().len();
                    batch.push(block);
                }
                Err(_) => break,
            }
        }
        let n = batch.len() as u64;
        if let Err(e) = store.put_many(batch).await {
            write_error = Some(e);
            break;
        }
        blocks += n;
    }
    drop(rx);
    let result = worker
        .await
        .map_err(|e| StoreError::invalid(format!("import thread failed: {e}")))?;
    if let Some(e) = write_error {
        return Err(e);
    }
    let (cid, size, tsize) = result?;
    Ok(Imported {
        cid,
        size,
        tsize,
        blocks,
    })
}

/// Imports one file's bytes from `reader` into `store`.
pub async fn add_reader<S, R>(store: &S, reader: R, opts: ImportOptions) -> StoreResult<Imported>
where
    S: BlockStore + ?Sized,
    R: Read + Send + 'static,
{
    run_into_store(store, move |sink| {
        let root = import_file(reader, &opts, sink)?;
        Ok((root.cid, root.size, root.tsize))
    })
    .await
}

/// Imports a file or (recursively) a directory into `store`; with `wrap_in_dir` the result is wrapped in a
/// directory holding one entry named after the path's last component (Kubo's `-w`).
pub async fn add_path<S>(
    store: &S,
    path: impl Into<PathBuf>,
    opts: ImportOptions,
    wrap_in_dir: bool,
) -> StoreResult<Imported>
where
    S: BlockStore + ?Sized,
{
    let path = path.into();
    run_into_store(store, move |sink| {
        import_path_wrapped(&path, &opts, wrap_in_dir, sink)
    })
    .await
}

/// Imports a path without storing anything; returns the root as `add_path` would (Kubo's `--only-hash`).
pub fn hash_path(path: &Path, opts: &ImportOptions, wrap_in_dir: bool) -> StoreResult<Imported> {
    let mut blocks = 0u64;
    let mut sink = |_block: Block| {
        blocks += 1;
        Ok(())
    };
    let (cid, size, tsize) = import_path_wrapped(path, opts, wrap_in_dir, &mut sink)?;
    Ok(Imported {
        cid,
        size,
        tsize,
        blocks,
    })
}

fn import_path_wrapped(
    path: &Path,
    opts: &ImportOptions,
    wrap_in_dir: bool,
    sink: &mut Sink<'_>,
) -> StoreResult<(Cid, u64, u64)> {
    let entry = import_path(path, opts, sink)?;
    if wrap_in_dir {
        let name = path.file_name().and_then(|n| n.to_str()).ok_or_else(|| {
            StoreError::invalid(format!("{} has no UTF-8 file name to wrap", path.display()))
        })?;
        let root = wrap(
            DirEntry {
                name: name.to_owned(),
                ..entry
            },
            opts,
            sink,
        )?;
        Ok((root.cid, entry.size, root.tsize))
    } else {
        Ok((entry.cid, entry.size, entry.tsize))
    }
}
