//! The one bounded reader of untrusted content in a block store: what the node (diffs, previews, anything that
//! looks inside an upload) reads content through, instead of writing it to disk. A [`Budget`] counts what is
//! actually done, never what the content declares: bytes actually read, directory entries actually listed,
//! and depth. [`walk`] lists a tree's regular files (symlinks refused, names checked and unique); a
//! [`FileReader`] reads one of them with `std::io::Read + Seek`, fetching only the blocks a read overlaps, so a
//! format that seeks (Parquet's footer, an NPY header) reads what it needs and no more.
//!
//! A DAG that links one block a million times, or declares sizes it does not hold, exhausts the budget (or
//! fails as malformed) after as many bytes and entries as the budget allows, whatever it claims.

use std::io::{self, Read, Seek, SeekFrom};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use bytes::Bytes;

use crate::cid::Cid;
use crate::error::{StoreError, StoreResult};
use crate::export::{self, Kind};
use crate::store::BlockStore;

/// What one reading job may do.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    /// Bytes of file content actually read, over every file and every pass.
    pub max_bytes: u64,
    /// Directory entries actually listed, over the whole tree.
    pub max_entries: u64,
    /// Folders nested below the root.
    pub max_depth: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_bytes: 1 << 30,
            max_entries: 100_000,
            max_depth: 64,
        }
    }
}

impl Limits {
    /// Reads at most `n` bytes.
    pub fn with_max_bytes(mut self, n: u64) -> Self {
        self.max_bytes = n;
        self
    }

    /// Lists at most `n` entries.
    pub fn with_max_entries(mut self, n: u64) -> Self {
        self.max_entries = n;
        self
    }
}

/// What a reading job has used of its [`Limits`]; clones share one count.
#[derive(Clone, Debug)]
pub struct Budget {
    limits: Limits,
    bytes: Arc<AtomicU64>,
    entries: Arc<AtomicU64>,
}

impl Budget {
    /// A fresh budget of `limits`.
    pub fn new(limits: Limits) -> Self {
        Self {
            limits,
            bytes: Arc::default(),
            entries: Arc::default(),
        }
    }

    /// The limits.
    pub fn limits(&self) -> Limits {
        self.limits
    }

    /// Bytes read so far.
    pub fn bytes_read(&self) -> u64 {
        self.bytes.load(Ordering::Relaxed)
    }

    fn take(counter: &AtomicU64, n: u64, limit: u64, what: &'static str) -> StoreResult<()> {
        let before = counter.fetch_add(n, Ordering::Relaxed);
        if before.saturating_add(n) > limit {
            return Err(StoreError::LimitExceeded {
                what,
                limit,
                hint: "the content is larger than this reader looks into; download it and look at it locally",
            });
        }
        Ok(())
    }

    /// Whether a reader hit a limit (the bytes or entries taken went past it).
    pub fn exhausted(&self) -> bool {
        self.bytes.load(Ordering::Relaxed) > self.limits.max_bytes
            || self.entries.load(Ordering::Relaxed) > self.limits.max_entries
    }

    /// Counts `n` bytes read (by this module's readers, or by a caller reading the same job's content from
    /// elsewhere); [`StoreError::LimitExceeded`] past the limit.
    pub fn take_bytes(&self, n: u64) -> StoreResult<()> {
        Self::take(&self.bytes, n, self.limits.max_bytes, "bytes")
    }

    /// Counts `n` entries listed; [`StoreError::LimitExceeded`] past the limit.
    pub fn take_entries(&self, n: u64) -> StoreResult<()> {
        Self::take(
            &self.entries,
            n,
            self.limits.max_entries,
            "directory entries",
        )
    }
}

/// One regular file of a tree.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TreeFile {
    /// Its `/`-separated path below the root; empty when the root is the file.
    pub path: String,
    /// Its root block.
    pub cid: Cid,
    /// The size its root declares (a [`FileReader`] fails if the content holds fewer bytes).
    pub size: u64,
}

/// Every regular file under `root` (the root itself if it is a file), depth first in name order. A symlink
/// anywhere is refused (nothing on the node follows one); names come checked and unique from
/// [`export::ls`]; entries listed and depth count against `budget`.
pub async fn walk<S: BlockStore + ?Sized>(
    store: &S,
    root: &Cid,
    budget: &Budget,
) -> StoreResult<Vec<TreeFile>> {
    let mut files = Vec::new();
    let mut stack = vec![(*root, String::new(), 0usize)];
    while let Some((cid, path, depth)) = stack.pop() {
        let info = export::stat(store, &cid).await?;
        match info.kind {
            Kind::File => files.push(TreeFile {
                path,
                cid,
                size: info.size,
            }),
            Kind::Symlink => {
                return Err(StoreError::Refused {
                    entry: if path.is_empty() { cid.to_string() } else { path },
                    reason: "it is a symlink, and symlinks in content are not followed: publish the file itself"
                        .into(),
                });
            }
            Kind::Directory => {
                if depth >= budget.limits.max_depth {
                    return Err(StoreError::LimitExceeded {
                        what: "levels of nesting",
                        limit: budget.limits.max_depth as u64,
                        hint: "flatten the folder tree",
                    });
                }
                let entries = export::ls(store, &cid).await?;
                budget.take_entries(entries.len() as u64)?;
                let mut entries = entries;
                entries.sort_by(|a, b| b.name.cmp(&a.name));
                for e in entries {
                    let child = if path.is_empty() {
                        e.name
                    } else {
                        format!("{path}/{}", e.name)
                    };
                    stack.push((e.cid, child, depth + 1));
                }
            }
        }
    }
    Ok(files)
}

/// How many bytes a [`FileReader`] fetches at once.
const WINDOW: u64 = 1 << 20;

/// A file in a block store as `std::io::Read + Seek`, for synchronous parsers (CSV, NPY, ONNX, Parquet) run
/// off the async threads: each read that leaves the buffered window fetches the next window (1 MiB) through
/// [`export::read_range`] on `runtime`, only the blocks it overlaps. Bytes fetched count against the
/// [`Budget`]. Call it from a blocking thread (`spawn_blocking`), never from an async task.
pub struct FileReader<S> {
    store: S,
    cid: Cid,
    size: u64,
    pos: u64,
    window: Bytes,
    window_start: u64,
    budget: Budget,
    runtime: tokio::runtime::Handle,
}

impl<S> std::fmt::Debug for FileReader<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FileReader")
            .field("cid", &self.cid)
            .field("size", &self.size)
            .field("pos", &self.pos)
            .finish_non_exhaustive()
    }
}

impl<S: BlockStore> FileReader<S> {
    /// A reader of `file` (from [`walk`]) in `store`.
    pub fn new(store: S, file: &TreeFile, budget: Budget, runtime: tokio::runtime::Handle) -> Self {
        Self {
            store,
            cid: file.cid,
            size: file.size,
            pos: 0,
            window: Bytes::new(),
            window_start: 0,
            budget,
            runtime,
        }
    }

    /// The file's declared size.
    pub fn size(&self) -> u64 {
        self.size
    }

    fn fill(&mut self) -> StoreResult<()> {
        let end = self.pos.saturating_add(WINDOW).min(self.size);
        self.budget.take_bytes(end - self.pos)?;
        let mut buf = Vec::with_capacity((end - self.pos) as usize);
        let mut sink = |b: Bytes| {
            buf.extend_from_slice(&b);
            Ok(())
        };
        let (store, cid, pos) = (&self.store, self.cid, self.pos);
        self.runtime
            .block_on(export::read_range(store, &cid, pos, Some(end), &mut sink))?;
        if (buf.len() as u64) < end - pos {
            return Err(StoreError::malformed(
                "UnixFS",
                format!(
                    "file {cid} declares {} bytes but holds only {}",
                    self.size,
                    pos + buf.len() as u64
                ),
            ));
        }
        self.window = Bytes::from(buf);
        self.window_start = pos;
        Ok(())
    }
}

impl<S: BlockStore> Read for FileReader<S> {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        if self.pos >= self.size || out.is_empty() {
            return Ok(0);
        }
        let window_end = self.window_start + self.window.len() as u64;
        if self.pos < self.window_start || self.pos >= window_end {
            self.fill().map_err(io::Error::other)?;
        }
        let from = (self.pos - self.window_start) as usize;
        let n = out.len().min(self.window.len() - from);
        out[..n].copy_from_slice(&self.window[from..from + n]);
        self.pos += n as u64;
        Ok(n)
    }
}

impl<S: BlockStore> Seek for FileReader<S> {
    fn seek(&mut self, to: SeekFrom) -> io::Result<u64> {
        let target = match to {
            SeekFrom::Start(n) => Some(n),
            SeekFrom::End(d) => self.size.checked_add_signed(d),
            SeekFrom::Current(d) => self.pos.checked_add_signed(d),
        };
        self.pos = target.ok_or_else(|| {
            io::Error::new(
                io::ErrorKind::InvalidInput,
                "seek before the start of the file",
            )
        })?;
        Ok(self.pos)
    }
}
