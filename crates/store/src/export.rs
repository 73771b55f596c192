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
            found: format!("a {} block", other.name()),
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
            if pos < self.end && child_end > self.start {
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

/// Reads a whole file into memory (for small files and tests; use [`read_range`] to stream).
pub async fn cat_to_vec<S: BlockStore + ?Sized>(store: &S, cid: &Cid) -> StoreResult<Vec<u8>> {
    let mut buf = Vec::new();
    let mut sink = |b: Bytes| {
        buf.extend_from_slice(&b);
        Ok(())
    };
    read_range(store, cid, 0, None, &mut sink).await?;
    Ok(buf)
}

/// Lists a directory's entries; a HAMT-sharded directory is flattened (in shard order).
pub async fn ls<S: BlockStore + ?Sized>(store: &S, cid: &Cid) -> StoreResult<Vec<LsEntry>> {
    let block = store.get(cid).await?;
    let Decoded::Directory { links, sharded } = decode(cid, block)? else {
        return Err(StoreError::WrongKind {
            cid: *cid,
            found: "not a directory".into(),
            expected: "a directory",
        });
    };
    if !sharded {
        return Ok(links);
    }
    let mut out = Vec::new();
    let mut stack = vec![(*cid, links.into_iter())];
    while let Some((_, iter)) = stack.last_mut() {
        let Some(link) = iter.next() else {
            stack.pop();
            continue;
        };
        if link.name.len() < 2 || !link.name.is_char_boundary(2) {
            return Err(StoreError::malformed(
                "HAMT",
                format!("link name {:?} lacks the 2-digit prefix", link.name),
            ));
        }
        if link.name.len() > 2 {
            out.push(LsEntry {
                name: link.name[2..].to_owned(),
                ..link
            });
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
    let root: Cid = root.parse()?;
    resolve(store, &root, path).await
}

fn check_entry_name(dir: &Cid, name: &str) -> StoreResult<()> {
    if name.is_empty() || name == "." || name == ".." || name.contains('/') || name.contains('\0') {
        return Err(StoreError::malformed(
            "UnixFS",
            format!("directory {dir} has an entry named {name:?}, which cannot be written safely"),
        ));
    }
    Ok(())
}

/// Writes the file, directory tree or symlink at `cid` to `dest` (which must not exist yet).
pub async fn get_to_path<S: BlockStore + ?Sized>(
    store: &S,
    cid: &Cid,
    dest: &Path,
) -> StoreResult<()> {
    let mut stack = vec![(*cid, dest.to_path_buf(), 0usize)];
    while let Some((cid, path, depth)) = stack.pop() {
        if depth > 4096 {
            return Err(StoreError::malformed(
                "UnixFS",
                "directory nesting deeper than 4096 levels",
            ));
        }
        match stat(store, &cid).await?.kind {
            Kind::File => {
                let file = std::fs::File::create(&path)
                    .map_err(|e| StoreError::io(format!("creating {}", path.display()), e))?;
                let mut writer = std::io::BufWriter::with_capacity(1 << 20, file);
                let mut sink = |b: Bytes| {
                    std::io::Write::write_all(&mut writer, &b)
                        .map_err(|e| StoreError::io(format!("writing {}", path.display()), e))
                };
                read_range(store, &cid, 0, None, &mut sink).await?;
                std::io::Write::flush(&mut writer)
                    .map_err(|e| StoreError::io(format!("writing {}", path.display()), e))?;
            }
            Kind::Directory => {
                std::fs::create_dir(&path)
                    .map_err(|e| StoreError::io(format!("creating {}", path.display()), e))?;
                for entry in ls(store, &cid).await?.into_iter().rev() {
                    check_entry_name(&cid, &entry.name)?;
                    stack.push((entry.cid, path.join(&entry.name), depth + 1));
                }
            }
            Kind::Symlink => {
                let block = store.get(&cid).await?;
                let Decoded::Symlink { target } = decode(&cid, block)? else {
                    unreachable!("stat said symlink")
                };
                let target = String::from_utf8_lossy(&target).into_owned();
                #[cfg(unix)]
                std::os::unix::fs::symlink(&target, &path).map_err(|e| {
                    StoreError::io(format!("creating symlink {}", path.display()), e)
                })?;
                #[cfg(not(unix))]
                std::fs::write(&path, target.as_bytes())
                    .map_err(|e| StoreError::io(format!("writing {}", path.display()), e))?;
            }
        }
    }
    Ok(())
}
