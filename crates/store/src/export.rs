//! UnixFS export: whole files, byte ranges that fetch only the blocks they overlap, directory listings
//! (plain and HAMT-sharded), path resolution, and writing a DAG back to disk. Every block comes through
//! [`BlockStore::get`], whose contract is to return bytes verified against the CID; missing blocks surface as
//! [`StoreError::NotFound`] naming the block. Memory stays at one block plus the link lists on the current
//! path, whatever the file size.

use std::path::Path;

use bytes::Bytes;
use serde::Serialize;

use crate::cid::{Cid, Codec};
use crate::dagpb::PbNode;
use crate::error::{StoreError, StoreResult};
use crate::store::{BlockStore, BoxFuture};
use crate::unixfs::{DataType, UnixFs};

/// What a node is.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    /// A file (UnixFS file or raw block).
    File,
    /// A directory (plain or HAMT-sharded).
    Directory,
    /// A symbolic link.
    Symlink,
}

/// Summary of a node.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct NodeInfo {
    /// The node.
    pub cid: Cid,
    /// What it is.
    pub kind: Kind,
    /// Content bytes for a file; the target's length for a symlink; 0 for a directory.
    pub size: u64,
}

/// One entry of a directory listing.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct LsEntry {
    /// The entry's name.
    pub name: String,
    /// Its CID.
    pub cid: Cid,
    /// Its cumulative DAG size, as the link records it.
    pub tsize: u64,
}

/// Where exported bytes go, in order.
pub type ByteSink<'a> = dyn FnMut(Bytes) -> StoreResult<()> + Send + 'a;

enum Decoded {
    File {
        data: Bytes,
        children: Vec<(Cid, u64)>,
        size: u64,
    },
    Directory {
        links: Vec<LsEntry>,
        sharded: bool,
    },
    Symlink {
        target: Bytes,
    },
}

fn decode(cid: &Cid, block: Bytes) -> StoreResult<Decoded> {
    match cid.codec() {
        Codec::Raw => {
            let size = block.len() as u64;
            Ok(Decoded::File {
                data: block,
                children: Vec::new(),
                size,
            })
        }
        Codec::DagPb => {
            let node = PbNode::decode(&block)?;
            let meta = node.data.as_ref().ok_or_else(|| {
                StoreError::malformed("UnixFS", format!("dag-pb node {cid} has no Data field"))
            })?;
            let meta = UnixFs::decode(meta)?;
            match meta.kind {
                DataType::File | DataType::Raw => {
                    if meta.blocksizes.len() != node.links.len() {
                        return Err(StoreError::malformed(
                            "UnixFS",
                            format!(
                                "file node {cid} has {} links but {} blocksizes",
                                node.links.len(),
                                meta.blocksizes.len()
                            ),
                        ));
                    }
                    let data = meta.data.unwrap_or_default();
                    let children: Vec<(Cid, u64)> = node
                        .links
                        .iter()
                        .map(|l| l.cid)
                        .zip(meta.blocksizes.iter().copied())
                        .collect();
                    let size = meta.filesize.unwrap_or_else(|| {
                        children
                            .iter()
                            .fold(data.len() as u64, |acc, c| acc.saturating_add(c.1))
                    });
                    Ok(Decoded::File {
                        data,
                        children,
                        size,
                    })
                }
                DataType::Directory | DataType::HamtShard => Ok(Decoded::Directory {
                    links: node
                        .links
                        .into_iter()
                        .map(|l| LsEntry {
                            name: l.name,
                            cid: l.cid,
                            tsize: l.tsize,
                        })
                        .collect(),
                    sharded: meta.kind == DataType::HamtShard,
                }),
                DataType::Symlink => Ok(Decoded::Symlink {
                    target: meta.data.unwrap_or_default(),
                }),
                DataType::Metadata => Err(StoreError::WrongKind {
                    cid: *cid,
                    found: "a UnixFS metadata node".into(),
                    expected: "a file, directory or symlink",
                }),
            }
        }
        other => Err(StoreError::WrongKind {
            cid: *cid,
            found: format!("a {other} block"),
            expected: "a UnixFS (dag-pb or raw) node",
        }),
    }
}

/// What `cid` is and how big.
pub async fn stat<S: BlockStore + ?Sized>(store: &S, cid: &Cid) -> StoreResult<NodeInfo> {
    let block = store.get(cid).await?;
    Ok(match decode(cid, block)? {
        Decoded::File { size, .. } => NodeInfo {
            cid: *cid,
            kind: Kind::File,
            size,
        },
        Decoded::Directory { .. } => NodeInfo {
            cid: *cid,
            kind: Kind::Directory,
            size: 0,
        },
        Decoded::Symlink { target } => NodeInfo {
            cid: *cid,
            kind: Kind::Symlink,
            size: target.len() as u64,
        },
    })
}

/// How many child blocks a range read keeps in flight, so a backend can fetch and verify them in parallel.
const PREFETCH: usize = 4;

/// The requested range and where its bytes go.
struct RangeOut<'o, 'a> {
    start: u64,
    end: u64,
    written: u64,
    out: &'o mut ByteSink<'a>,
}

impl RangeOut<'_, '_> {
    /// Emits the part of a node's inline data inside the range and returns the children that overlap it,
    /// with their absolute offsets.
    fn visit(
        &mut self,
        offset: u64,
        data: Bytes,
        children: Vec<(Cid, u64)>,
    ) -> StoreResult<Vec<(Cid, u64, u64)>> {
        let data_end = offset.saturating_add(data.len() as u64);
        if data_end > self.start && offset < self.end && !data.is_empty() {
            let from = self.start.saturating_sub(offset) as usize;
            let to = (self.end.min(data_end) - offset) as usize;
            self.written += (to - from) as u64;
            (self.out)(data.slice(from..to))?;
        }
        let mut pos = data_end;
        let mut wanted = Vec::new();
        for (child, len) in children {
            let child_end = pos.saturating_add(len);
            // A child that holds no bytes adds nothing, and a hostile DAG could link one a million times.
            if len > 0 && pos < self.end && child_end > self.start {
                wanted.push((child, pos, len));
            }
            pos = child_end;
        }
        Ok(wanted)
    }
}

/// Fetches `children` in order with up to [`PREFETCH`] in flight, emitting their bytes and descending into
/// their own children; `path` holds the ancestors, to catch link cycles.
fn visit_children<'f, S: BlockStore + ?Sized>(
    store: &'f S,
    path: &'f mut Vec<Cid>,
    children: Vec<(Cid, u64, u64)>,
    range: &'f mut RangeOut<'_, '_>,
) -> BoxFuture<'f, StoreResult<()>> {
    Box::pin(async move {
        use futures_util::StreamExt;
        if let Some((child, _, _)) = children.iter().find(|(c, _, _)| path.contains(c)) {
            return Err(StoreError::Cycle { cid: *child });
        }
        let mut fetches =
            futures_util::stream::iter(children.into_iter().map(|(cid, offset, len)| async move {
                (cid, offset, len, store.get(&cid).await)
            }))
            .buffered(PREFETCH);
        while let Some((child, offset, len, block)) = fetches.next().await {
            let Decoded::File {
                data,
                children,
                size,
            } = decode(&child, block?)?
            else {
                return Err(StoreError::WrongKind {
                    cid: child,
                    found: "a non-file node".into(),
                    expected: "a file chunk",
                });
            };
            if size != len {
                return Err(StoreError::malformed(
                    "UnixFS",
                    format!("chunk {child} holds {size} bytes but its parent says {len}"),
                ));
            }
            let wanted = range.visit(offset, data, children)?;
            if !wanted.is_empty() {
                path.push(child);
                visit_children(store, path, wanted, range).await?;
                path.pop();
            }
        }
        Ok(())
    })
}

/// Streams bytes `start..end` (end clamped to the file size; `None` = to the end) of the file at `cid` into
/// `out`, fetching only the blocks that overlap the range (a few at a time, in parallel where the backend
/// allows). Returns the number of bytes written.
pub async fn read_range<S: BlockStore + ?Sized>(
    store: &S,
    cid: &Cid,
    start: u64,
    end: Option<u64>,
    out: &mut ByteSink<'_>,
) -> StoreResult<u64> {
    let block = store.get(cid).await?;
    let (data, children, size) = match decode(cid, block)? {
        Decoded::File {
            data,
            children,
            size,
        } => (data, children, size),
        Decoded::Directory { .. } => {
            return Err(StoreError::WrongKind {
                cid: *cid,
                found: "a directory".into(),
                expected: "a file",
            });
        }
        Decoded::Symlink { .. } => {
            return Err(StoreError::WrongKind {
                cid: *cid,
                found: "a symlink".into(),
                expected: "a file",
            });
        }
    };
    let end = end.unwrap_or(size).min(size);
    if start > end {
        return Err(StoreError::RangeOutOfBounds { start, end, size });
    }
    let mut range = RangeOut {
        start,
        end,
        written: 0,
        out,
    };
    let wanted = range.visit(0, data, children)?;
    let mut path = vec![*cid];
    visit_children(store, &mut path, wanted, &mut range).await?;
    Ok(range.written)
}

/// Reads a whole file of at most `max` bytes into memory (cards, descriptions, reports; use [`read_range`] to
/// stream anything larger). A larger file is [`StoreError::LimitExceeded`] before any of it is read: a file's
/// bytes never exceed the size its root declares, since [`read_range`] stops there.
pub async fn cat_to_vec<S: BlockStore + ?Sized>(
    store: &S,
    cid: &Cid,
    max: u64,
) -> StoreResult<Vec<u8>> {
    let size = stat(store, cid).await?.size;
    if size > max {
        return Err(StoreError::LimitExceeded {
            what: "bytes",
            limit: max,
            hint: "this reader takes only small files; stream it with `scal3ml store cat` instead",
        });
    }
    let mut buf = Vec::with_capacity(size.min(1 << 20) as usize);
    let mut sink = |b: Bytes| {
        buf.extend_from_slice(&b);
        Ok(())
    };
    read_range(store, cid, 0, None, &mut sink).await?;
    Ok(buf)
}

/// Most entries (and HAMT sub-shards) one listing visits: a HAMT is flattened into one listing, and a hostile
/// one could link the same sub-shard from every slot of every level.
pub const MAX_DIR_ENTRIES: usize = 1 << 20;

/// Lists a directory's entries; a HAMT-sharded directory is flattened (in shard order). Every name is one a
/// file system can hold (not empty, `.`, `..`, nor containing `/` or NUL) and appears once, also after
/// flattening, so no two entries can land on one path; at most [`MAX_DIR_ENTRIES`] entries.
pub async fn ls<S: BlockStore + ?Sized>(store: &S, cid: &Cid) -> StoreResult<Vec<LsEntry>> {
    let mut seen = std::collections::HashSet::new();
    let mut check = |entry: &LsEntry| {
        check_entry_name(cid, &entry.name)?;
        if !seen.insert(entry.name.clone()) {
            return Err(StoreError::Refused {
                entry: format!("{cid}/{}", entry.name),
                reason: "the directory holds two entries of this name, so one would overwrite the other; \
                         the content is malformed or hostile"
                    .into(),
            });
        }
        Ok(())
    };
    let block = store.get(cid).await?;
    let Decoded::Directory { links, sharded } = decode(cid, block)? else {
        return Err(StoreError::WrongKind {
            cid: *cid,
            found: "not a directory".into(),
            expected: "a directory",
        });
    };
    if !sharded {
        links.iter().try_for_each(&mut check)?;
        return Ok(links);
    }
    let mut out = Vec::new();
    let mut visited = 0usize;
    let mut stack = vec![(*cid, links.into_iter())];
    while let Some((_, iter)) = stack.last_mut() {
        let Some(link) = iter.next() else {
            stack.pop();
            continue;
        };
        visited += 1;
        if visited > MAX_DIR_ENTRIES {
            return Err(StoreError::LimitExceeded {
                what: "directory entries",
                limit: MAX_DIR_ENTRIES as u64,
                hint: "split the folder into smaller ones",
            });
        }
        if link.name.len() < 2 || !link.name.is_char_boundary(2) {
            return Err(StoreError::malformed(
                "HAMT",
                format!("link name {:?} lacks the 2-digit prefix", link.name),
            ));
        }
        if link.name.len() > 2 {
            let entry = LsEntry {
                name: link.name[2..].to_owned(),
                ..link
            };
            check(&entry)?;
            out.push(entry);
            continue;
        }
        if stack.iter().any(|(c, _)| *c == link.cid) {
            return Err(StoreError::Cycle { cid: link.cid });
        }
        let block = store.get(&link.cid).await?;
        match decode(&link.cid, block)? {
            Decoded::Directory {
                links,
                sharded: true,
            } => stack.push((link.cid, links.into_iter())),
            _ => {
                return Err(StoreError::malformed(
                    "HAMT",
                    format!("sub-shard {} is not a HAMT shard", link.cid),
                ));
            }
        }
    }
    Ok(out)
}

/// Follows a `/`-separated path of names from `root` (an empty path is the root itself).
pub async fn resolve<S: BlockStore + ?Sized>(
    store: &S,
    root: &Cid,
    path: &str,
) -> StoreResult<Cid> {
    let mut cid = *root;
    for name in path.split('/').filter(|p| !p.is_empty()) {
        let entries = ls(store, &cid).await?;
        cid = entries
            .into_iter()
            .find(|e| e.name == name)
            .map(|e| e.cid)
            .ok_or_else(|| StoreError::NoSuchEntry {
                dir: cid,
                name: name.to_owned(),
            })?;
    }
    Ok(cid)
}

/// Parses "CID" or "CID/path/inside" (optionally prefixed "/ipfs/") and resolves it.
pub async fn resolve_str<S: BlockStore + ?Sized>(store: &S, input: &str) -> StoreResult<Cid> {
    let input = input.strip_prefix("/ipfs/").unwrap_or(input);
    let (root, path) = input.split_once('/').unwrap_or((input, ""));
    let root = crate::cid::parse(root)?;
    resolve(store, &root, path).await
}

fn check_entry_name(dir: &Cid, name: &str) -> StoreResult<()> {
    if name.is_empty() || name == "." || name == ".." || name.contains('/') || name.contains('\0') {
        return Err(StoreError::Refused {
            entry: format!("{dir}/{name:?}"),
            reason: "this name cannot be a file name (empty, `.`, `..`, or holding `/` or NUL); the content is \
                     malformed or hostile"
                .into(),
        });
    }
    Ok(())
}

/// How [`get_to_path`] writes content that came from someone else.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct GetOptions {
    /// Write the DAG's symlinks, each only if its target is relative and stays inside the destination (`..`
    /// only at its start, resolved from the link's own folder). Without it a symlink is refused.
    pub symlinks: bool,
}

impl GetOptions {
    /// Writes symlinks that stay inside the destination.
    pub fn with_symlinks(mut self, yes: bool) -> Self {
        self.symlinks = yes;
        self
    }
}

/// Entries [`get_to_path`] writes at most: this many, plus this many per distinct node. Honest trees repeat a
/// few nodes (empty files, identical small files); a DAG linking one folder from each entry of its parent,
/// a few levels deep, names 2^40 paths with a handful of blocks.
const REPEATS_ALLOWED: (u64, u64) = (10_000, 64);

/// How often (in bytes written) [`get_to_path`] checks the free space again.
const SPACE_CHECK_EVERY: u64 = 16 << 20;

/// Writes the file or directory tree at `cid` to `dest`, which must not exist yet. The content is trusted for
/// nothing: every file is created new (`O_CREAT|O_EXCL|O_NOFOLLOW`, so nothing already at a path, a planted
/// symlink included, is followed or overwritten), names are checked and unique ([`ls`]), symlinks are refused
/// unless [`GetOptions::symlinks`] allows those that stay inside `dest`, and the free space (and inodes) at `dest`
/// is checked before each file and every 16 MiB written, since a small DAG can declare or link more bytes than
/// any disk holds. Each refusal names the entry and why.
pub async fn get_to_path<S: BlockStore + ?Sized>(
    store: &S,
    cid: &Cid,
    dest: &Path,
    opts: &GetOptions,
) -> StoreResult<()> {
    let space_at = dest
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let mut stack = vec![(*cid, dest.to_path_buf(), 0usize)];
    let (mut entries, mut distinct) = (0u64, std::collections::HashSet::new());
    while let Some((cid, path, depth)) = stack.pop() {
        entries += 1;
        distinct.insert(cid);
        if entries > REPEATS_ALLOWED.0 + REPEATS_ALLOWED.1 * distinct.len() as u64 {
            return Err(StoreError::Refused {
                entry: shown_path(dest, &path, &cid),
                reason: format!(
                    "the content repeats the same entries over and over ({entries} entries from {} distinct \
                     nodes so far), as a DAG that links one folder from every entry of its parent does; it is \
                     malformed or hostile",
                    distinct.len()
                ),
            });
        }
        if depth > 4096 {
            return Err(StoreError::LimitExceeded {
                what: "levels of nesting",
                limit: 4096,
                hint: "the content is malformed or hostile",
            });
        }
        let shown = || shown_path(dest, &path, &cid);
        let block = store.get(&cid).await?;
        match decode(&cid, block)? {
            Decoded::File { size, .. } => {
                ensure_space(space_at, size, 1, &shown())?;
                write_file(store, &cid, &path, space_at, &shown()).await?;
            }
            Decoded::Directory { .. } => {
                ensure_space(space_at, 0, 1, &shown())?;
                std::fs::create_dir(&path)
                    .map_err(|e| StoreError::io(format!("creating {}", path.display()), e))?;
                for entry in ls(store, &cid).await?.into_iter().rev() {
                    stack.push((entry.cid, path.join(&entry.name), depth + 1));
                }
            }
            Decoded::Symlink { target } => {
                let target = String::from_utf8_lossy(&target).into_owned();
                let refuse = |reason: String| StoreError::Refused {
                    entry: shown(),
                    reason,
                };
                if !opts.symlinks {
                    return Err(refuse(format!(
                        "it is a symlink to {target:?}, and symlinks are not written: pass --symlinks to write \
                         those that stay inside the destination"
                    )));
                }
                if depth == 0 {
                    return Err(refuse(format!(
                        "the content itself is a symlink to {target:?}, which cannot point inside itself"
                    )));
                }
                if !stays_inside(depth - 1, &target) {
                    return Err(refuse(format!(
                        "it is a symlink to {target:?}, which leads outside the destination"
                    )));
                }
                #[cfg(unix)]
                std::os::unix::fs::symlink(&target, &path).map_err(|e| {
                    StoreError::io(format!("creating symlink {}", path.display()), e)
                })?;
                #[cfg(not(unix))]
                return Err(refuse("symlinks are written on Unix only".into()));
            }
        }
    }
    Ok(())
}

/// An entry as a user reads it: its path inside the destination, or the CID of a content root.
fn shown_path(dest: &Path, path: &Path, cid: &Cid) -> String {
    match path.strip_prefix(dest) {
        Ok(rel) if !rel.as_os_str().is_empty() => rel.display().to_string(),
        _ => format!("{cid}"),
    }
}

/// Whether a symlink `depth` folders below the destination, pointing at `target`, resolves inside it: the
/// target is relative, its `..` come only first and climb at most `depth` folders (the kernel resolves them from
/// the link's own folder, a real one this export created), and the rest goes down by names, each of which is
/// a folder, a file or a symlink checked the same way.
fn stays_inside(depth: usize, target: &str) -> bool {
    if target.is_empty() || target.starts_with('/') || target.contains('\0') {
        return false;
    }
    let mut parts = target
        .split('/')
        .filter(|p| !p.is_empty() && *p != ".")
        .peekable();
    let mut up = 0;
    while parts.peek() == Some(&"..") {
        parts.next();
        up += 1;
    }
    up <= depth && parts.all(|p| p != "..")
}

/// Refuses to go on when the file system of the folder `at` has less than `bytes` (and `entries` inodes, where
/// the file system counts them) free; `entry` names what needs them. A file's declared size bounds what
/// [`read_range`] writes of it, so checking it before writing is enough for one file.
pub fn ensure_space(at: &Path, bytes: u64, entries: u64, entry: &str) -> StoreResult<()> {
    #[cfg(unix)]
    {
        let Ok(fs) = rustix::fs::statvfs(at) else {
            return Ok(());
        };
        let free = fs.f_bavail.saturating_mul(fs.f_frsize);
        if bytes > free {
            return Err(StoreError::Refused {
                entry: entry.to_owned(),
                reason: format!(
                    "it needs {bytes} more bytes but only {free} are free at {}; free some space or write \
                     elsewhere",
                    at.display()
                ),
            });
        }
        if fs.f_files > 0 && entries > fs.f_favail {
            return Err(StoreError::Refused {
                entry: entry.to_owned(),
                reason: format!(
                    "the file system at {} has no free inodes left for it; the content may hold more entries \
                     than it should",
                    at.display()
                ),
            });
        }
    }
    #[cfg(not(unix))]
    let _ = (at, bytes, entries, entry);
    Ok(())
}

/// Writes one file new at `path` (never through anything already there), checking the free space as it goes.
async fn write_file<S: BlockStore + ?Sized>(
    store: &S,
    cid: &Cid,
    path: &Path,
    space_at: &Path,
    shown: &str,
) -> StoreResult<()> {
    let file = nofollow(std::fs::OpenOptions::new().write(true).create_new(true))
        .open(path)
        .map_err(|e| StoreError::io(format!("creating {}", path.display()), e))?;
    let mut writer = std::io::BufWriter::with_capacity(1 << 20, file);
    let mut since_check = 0u64;
    let mut sink = |b: Bytes| {
        since_check += b.len() as u64;
        if since_check >= SPACE_CHECK_EVERY {
            since_check = 0;
            ensure_space(space_at, SPACE_CHECK_EVERY, 0, shown)?;
        }
        std::io::Write::write_all(&mut writer, &b)
            .map_err(|e| StoreError::io(format!("writing {}", path.display()), e))
    };
    read_range(store, cid, 0, None, &mut sink).await?;
    std::io::Write::flush(&mut writer)
        .map_err(|e| StoreError::io(format!("writing {}", path.display()), e))
}

/// Adds `O_NOFOLLOW` (on Unix): opening a path whose last component is a symlink fails instead of opening
/// whatever it points at. Every file a client writes for content from elsewhere is opened through this.
pub fn nofollow(options: &mut std::fs::OpenOptions) -> &mut std::fs::OpenOptions {
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::custom_flags(
        options,
        rustix::fs::OFlags::NOFOLLOW.bits() as i32,
    );
    options
}
