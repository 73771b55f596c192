//! [`FsStore`]: blocks as files in sharded directories, like Kubo's flatfs.
//!
//! Layout under the root: `blocks/<shard>/<cidv1>.data`, where `<cidv1>` is the block's CIDv1 in base32 and
//! `<shard>` its next-to-last two characters (flatfs's `next-to-last/2`); `pins` lists the pins, one
//! `<mode> <cid>` per line; `tmp/` holds files being written.
//!
//! Crash safety: every block file is written to `tmp/`, made durable, then renamed into place and the rename
//! made durable: per block, fsync of the file and of its directory; per batch (the importer writes in
//! batches), one syncfs(2) before the renames and one after. The pin file is replaced the same way.
//! A rename is atomic, so after a kill -9 or power loss a block is either whole or absent; leftovers in `tmp/`
//! are removed when the store is opened. Every read is verified against the CID, so a disk that rots is caught.

use std::fs::{self, File};
use std::io::{ErrorKind, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use bytes::Bytes;

use super::{BlockStore, BoxFuture, PinMode, PinSet, PinStore, walk_dag};
use crate::block::Block;
use crate::cid::{Cid, CidExt};
use crate::error::{StoreError, StoreResult};

/// An on-disk block store; see the module docs for layout and crash guarantees. Cheap to clone (the clones
/// share one store). Its file work runs on tokio's blocking pool, so async callers never wait on the disk.
#[derive(Clone, Debug)]
pub struct FsStore {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    root: PathBuf,
    pins: Mutex<PinSet>,
    counter: AtomicU64,
    /// The repo lock, held for as long as the store is open.
    _lock: File,
}

/// Tries to take a busy repo lock this many times, 20 ms apart (2 s in all).
const LOCK_ATTEMPTS: u32 = 100;

/// Takes the repo's lock (`repo.lock`, an advisory lock the OS drops when the process ends, even on kill -9), so
/// one process at a time owns the store: a second one would clear the first one's temp files, collect blocks it
/// has written but not yet pinned, and overwrite its pins. The holder's pid is written in the file for the error.
fn lock_repo(root: &Path) -> StoreResult<File> {
    let path = root.join("repo.lock");
    let mut file = fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .read(true)
        .write(true)
        .open(&path)
        .map_err(|e| StoreError::io(format!("opening {}", path.display()), e))?;
    // A holder that is finishing (a command exiting, or the last clone of a store dropped on another thread)
    // gets a moment to let go before the store is reported busy.
    let mut attempts = 0;
    let locked = loop {
        match file.try_lock() {
            Err(fs::TryLockError::WouldBlock) if attempts < LOCK_ATTEMPTS => {
                attempts += 1;
                std::thread::sleep(std::time::Duration::from_millis(20));
            }
            other => break other,
        }
    };
    match locked {
        Ok(()) => {}
        Err(fs::TryLockError::WouldBlock) => {
            let holder = fs::read_to_string(&path).unwrap_or_default();
            let holder = match holder.trim() {
                "" => String::from("another process"),
                pid => format!("process {pid}"),
            };
            return Err(StoreError::invalid(format!(
                "the store at {} is in use by {holder} (a running `scal3ml` node or command); wait for it to \
                 finish, stop it, or use another --repo",
                root.display()
            )));
        }
        Err(fs::TryLockError::Error(e)) => {
            return Err(StoreError::io(format!("locking {}", path.display()), e));
        }
    }
    let pid = std::process::id().to_string();
    let written = file
        .set_len(0)
        .and_then(|()| file.write_all(pid.as_bytes()));
    written.map_err(|e| StoreError::io(format!("writing {}", path.display()), e))?;
    Ok(file)
}

/// Runs blocking file work on tokio's blocking pool when there is a runtime (inline otherwise), so the threads
/// that drive async tasks, a server's for instance, never wait on the disk.
async fn blocking<T: Send + 'static>(
    work: impl FnOnce() -> StoreResult<T> + Send + 'static,
) -> StoreResult<T> {
    match tokio::runtime::Handle::try_current() {
        Ok(handle) => handle
            .spawn_blocking(work)
            .await
            .map_err(|e| StoreError::invalid(format!("a block store task failed: {e}")))?,
        Err(_) => work(),
    }
}

impl FsStore {
    /// Opens (creating if needed) a store at `root`.
    pub fn open(root: impl AsRef<Path>) -> StoreResult<Self> {
        let root = root.as_ref().to_path_buf();
        for dir in [root.join("blocks"), root.join("tmp")] {
            fs::create_dir_all(&dir)
                .map_err(|e| StoreError::io(format!("creating {}", dir.display()), e))?;
        }
        let lock = lock_repo(&root)?;
        // Half-written files from a crash: never visible as blocks, safe to drop (the lock says no other process
        // is writing).
        let tmp = root.join("tmp");
        let entries = fs::read_dir(&tmp)
            .map_err(|e| StoreError::io(format!("reading {}", tmp.display()), e))?;
        for entry in entries.flatten() {
            let _ = fs::remove_file(entry.path());
        }
        let pins = load_pins(&root.join("pins"))?;
        Ok(Self {
            inner: Arc::new(Inner {
                root,
                pins: Mutex::new(pins),
                counter: AtomicU64::new(0),
                _lock: lock,
            }),
        })
    }

    /// The directory the store lives in.
    pub fn root(&self) -> &Path {
        &self.inner.root
    }
}

impl Inner {
    fn path_of(&self, cid: &Cid) -> PathBuf {
        let name = cid.to_v1().to_string();
        let shard = &name[name.len() - 3..name.len() - 1];
        self.root
            .join("blocks")
            .join(shard)
            .join(format!("{name}.data"))
    }

    fn pin_set(&self) -> MutexGuard<'_, PinSet> {
        self.pins.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Writes `data` to `path` atomically: temp file, fsync, rename, fsync of the directory.
    fn write_atomic(&self, path: &Path, data: &[u8]) -> StoreResult<()> {
        let n = self.counter.fetch_add(1, Ordering::Relaxed);
        let tmp = self
            .root
            .join("tmp")
            .join(format!("{}-{n}", std::process::id()));
        let ctx = |what: &str, p: &Path| format!("{what} {}", p.display());
        let mut file = File::create(&tmp).map_err(|e| StoreError::io(ctx("creating", &tmp), e))?;
        file.write_all(data)
            .map_err(|e| StoreError::io(ctx("writing", &tmp), e))?;
        file.sync_all()
            .map_err(|e| StoreError::io(ctx("syncing", &tmp), e))?;
        drop(file);
        let dir = path.parent().expect("block paths have a parent");
        if let Err(e) = fs::rename(&tmp, path) {
            if e.kind() != ErrorKind::NotFound {
                let _ = fs::remove_file(&tmp);
                return Err(StoreError::io(ctx("moving block into", path), e));
            }
            fs::create_dir_all(dir).map_err(|e| StoreError::io(ctx("creating", dir), e))?;
            fs::rename(&tmp, path)
                .map_err(|e| StoreError::io(ctx("moving block into", path), e))?;
        }
        File::open(dir)
            .and_then(|d| d.sync_all())
            .map_err(|e| StoreError::io(ctx("syncing directory", dir), e))?;
        Ok(())
    }

    /// Writes a batch of blocks with two filesystem syncs instead of two per block: all temp files are
    /// written, synced together (syncfs(2) on Linux, one fsync per file elsewhere), renamed into place, and the
    /// renames synced. No block becomes visible before its bytes are durable.
    fn write_batch(&self, blocks: &[Block]) -> StoreResult<()> {
        let mut pending = Vec::new();
        for block in blocks {
            let path = self.path_of(block.cid());
            if pending.iter().any(|(_, p)| *p == path) || self.holds_intact(&path, block.cid()) {
                continue;
            }
            let n = self.counter.fetch_add(1, Ordering::Relaxed);
            let tmp = self
                .root
                .join("tmp")
                .join(format!("{}-{n}", std::process::id()));
            let written = File::create(&tmp).and_then(|mut f| f.write_all(block.data()));
            if let Err(e) = written {
                let _ = fs::remove_file(&tmp);
                return Err(StoreError::io(format!("writing {}", tmp.display()), e));
            }
            pending.push((tmp, path));
        }
        if pending.is_empty() {
            return Ok(());
        }
        self.sync_files(pending.iter().map(|(tmp, _)| tmp.as_path()))?;
        for (tmp, path) in &pending {
            let dir = path.parent().expect("block paths have a parent");
            let moved = fs::rename(tmp, path).or_else(|e| {
                if e.kind() != ErrorKind::NotFound {
                    return Err(e);
                }
                fs::create_dir_all(dir)?;
                fs::rename(tmp, path)
            });
            moved
                .map_err(|e| StoreError::io(format!("moving block into {}", path.display()), e))?;
        }
        let mut dirs: Vec<&Path> = pending.iter().filter_map(|(_, p)| p.parent()).collect();
        dirs.sort();
        dirs.dedup();
        self.sync_files(dirs.into_iter())
    }

    /// Makes the given files (or directories) durable.
    fn sync_files<'p>(&self, paths: impl Iterator<Item = &'p Path>) -> StoreResult<()> {
        #[cfg(target_os = "linux")]
        {
            use std::os::fd::AsRawFd;
            let _ = paths;
            let root = File::open(&self.root)
                .map_err(|e| StoreError::io(format!("opening {}", self.root.display()), e))?;
            // SAFETY: syncfs only reads the descriptor, which `root` keeps open for the call.
            if unsafe { libc::syncfs(root.as_raw_fd()) } != 0 {
                let e = std::io::Error::last_os_error();
                return Err(StoreError::io(
                    format!("syncing the filesystem of {}", self.root.display()),
                    e,
                ));
            }
            Ok(())
        }
        #[cfg(not(target_os = "linux"))]
        {
            for path in paths {
                File::open(path)
                    .and_then(|f| f.sync_all())
                    .map_err(|e| StoreError::io(format!("syncing {}", path.display()), e))?;
            }
            Ok(())
        }
    }

    fn save_pins(&self, pins: &PinSet) -> StoreResult<()> {
        let mut text = String::new();
        for (cid, mode) in pins.sorted() {
            text.push_str(&format!("{mode} {cid}\n"));
        }
        self.write_atomic(&self.root.join("pins"), text.as_bytes())
    }
}

fn load_pins(path: &Path) -> StoreResult<PinSet> {
    let text = match fs::read_to_string(path) {
        Ok(text) => text,
        Err(e) if e.kind() == ErrorKind::NotFound => return Ok(PinSet::default()),
        Err(e) => return Err(StoreError::io(format!("reading {}", path.display()), e)),
    };
    let mut set = PinSet::default();
    for (i, line) in text.lines().enumerate() {
        let bad = || {
            StoreError::malformed(
                "pin file",
                format!("{} line {}: {line:?}", path.display(), i + 1),
            )
        };
        let (mode, cid) = line.split_once(' ').ok_or_else(bad)?;
        let mode = match mode {
            "recursive" => PinMode::Recursive,
            "direct" => PinMode::Direct,
            _ => return Err(bad()),
        };
        set.pins.insert(cid.parse().map_err(|_| bad())?, mode);
    }
    Ok(set)
}

impl Inner {
    fn get(&self, cid: &Cid) -> StoreResult<Bytes> {
        cid.supported()?;
        let path = self.path_of(cid);
        let data = match fs::read(&path) {
            Ok(data) => Bytes::from(data),
            Err(e) if e.kind() == ErrorKind::NotFound => {
                return Err(StoreError::NotFound { cid: *cid });
            }
            Err(e) => return Err(StoreError::io(format!("reading {}", path.display()), e)),
        };
        cid.verify(&data)?;
        Ok(data)
    }

    /// Whether the block file at `path` exists with the right bytes. A put of a block that is already there
    /// costs a read and a hash, and in exchange a corrupt copy (a disk that rotted) is replaced by the good one:
    /// adding the content again repairs the store.
    fn holds_intact(&self, path: &Path, cid: &Cid) -> bool {
        fs::read(path).is_ok_and(|data| cid.verify(&data).is_ok())
    }

    fn delete(&self, cid: &Cid) -> StoreResult<()> {
        let path = self.path_of(cid);
        match fs::remove_file(&path) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == ErrorKind::NotFound => Ok(()),
            Err(e) => Err(StoreError::io(format!("removing {}", path.display()), e)),
        }
    }
}

impl BlockStore for FsStore {
    // Reads run on the blocking pool too, so readers that keep several gets in flight read and verify blocks
    // on all cores.
    fn get<'a>(&'a self, cid: &'a Cid) -> BoxFuture<'a, StoreResult<Bytes>> {
        let (inner, cid) = (self.inner.clone(), *cid);
        Box::pin(blocking(move || inner.get(&cid)))
    }

    fn put(&self, block: Block) -> BoxFuture<'_, StoreResult<()>> {
        let inner = self.inner.clone();
        Box::pin(blocking(move || {
            let path = inner.path_of(block.cid());
            if inner.holds_intact(&path, block.cid()) {
                return Ok(());
            }
            inner.write_atomic(&path, block.data())
        }))
    }

    fn put_many(&self, blocks: Vec<Block>) -> BoxFuture<'_, StoreResult<()>> {
        let inner = self.inner.clone();
        Box::pin(blocking(move || inner.write_batch(&blocks)))
    }

    fn has<'a>(&'a self, cid: &'a Cid) -> BoxFuture<'a, StoreResult<bool>> {
        let (inner, cid) = (self.inner.clone(), *cid);
        Box::pin(blocking(move || Ok(inner.path_of(&cid).exists())))
    }

    fn delete<'a>(&'a self, cid: &'a Cid) -> BoxFuture<'a, StoreResult<()>> {
        let (inner, cid) = (self.inner.clone(), *cid);
        Box::pin(blocking(move || inner.delete(&cid)))
    }
}

impl Inner {
    /// Records a pin (or, with `None`, removes one) and saves the pin file durably.
    fn set_pin(&self, cid: &Cid, mode: Option<PinMode>) -> StoreResult<()> {
        let mut pins = self.pin_set();
        match mode {
            Some(mode) => {
                pins.pins.insert(*cid, mode);
            }
            None => pins.remove(cid)?,
        }
        self.save_pins(&pins)
    }

    fn list(&self) -> StoreResult<Vec<(Cid, u64)>> {
        let blocks = self.root.join("blocks");
        let read = |p: &Path| {
            fs::read_dir(p).map_err(|e| StoreError::io(format!("listing {}", p.display()), e))
        };
        let mut all = Vec::new();
        for shard in read(&blocks)? {
            let shard = shard.map_err(|e| StoreError::io("listing blocks", e))?;
            for entry in read(&shard.path())? {
                let entry = entry.map_err(|e| StoreError::io("listing blocks", e))?;
                let name = entry.file_name();
                let Some(cid) = name.to_str().and_then(|n| n.strip_suffix(".data")) else {
                    continue;
                };
                let Ok(cid) = cid.parse::<Cid>() else {
                    continue;
                };
                let size = entry.metadata().map(|m| m.len()).unwrap_or(0);
                all.push((cid, size));
            }
        }
        all.sort();
        Ok(all)
    }
}

impl PinStore for FsStore {
    fn pin<'a>(&'a self, cid: &'a Cid, mode: PinMode) -> BoxFuture<'a, StoreResult<()>> {
        Box::pin(async move {
            match mode {
                PinMode::Recursive => walk_dag(self, cid, &mut Default::default()).await?,
                PinMode::Direct => {
                    if !self.has(cid).await? {
                        return Err(StoreError::NotFound { cid: *cid });
                    }
                }
            }
            let (inner, cid) = (self.inner.clone(), *cid);
            blocking(move || inner.set_pin(&cid, Some(mode))).await
        })
    }

    fn unpin<'a>(&'a self, cid: &'a Cid) -> BoxFuture<'a, StoreResult<()>> {
        let (inner, cid) = (self.inner.clone(), *cid);
        Box::pin(blocking(move || inner.set_pin(&cid, None)))
    }

    fn pins(&self) -> BoxFuture<'_, StoreResult<Vec<(Cid, PinMode)>>> {
        Box::pin(async move { Ok(self.inner.pin_set().sorted()) })
    }

    fn list(&self) -> BoxFuture<'_, StoreResult<Vec<(Cid, u64)>>> {
        let inner = self.inner.clone();
        Box::pin(blocking(move || inner.list()))
    }
}
