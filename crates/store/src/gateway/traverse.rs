//! Which blocks a trustless-gateway request covers: path resolution through UnixFS directories (plain and
//! HAMT-sharded), then the terminal entity's blocks under `dag-scope` and `entity-bytes`, in depth-first order
//! without duplicates.

use std::collections::HashSet;
use std::fmt;
use std::str::FromStr;

use bytes::Bytes;

use crate::block::Block;
use crate::cid::{Cid, Codec};
use crate::dagpb::PbNode;
use crate::error::{StoreError, StoreResult};
use crate::store::BlockStore;
use crate::unixfs::{DataType, UnixFs};

/// How much of the DAG below the requested path a CAR response carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum DagScope {
    /// Only the terminal block.
    Block,
    /// The blocks needed to read the terminal entity: a whole file (or a byte range of it), a directory's own
    /// node(s) without its children, or a single non-UnixFS block.
    Entity,
    /// Every block reachable from the terminal block (the default).
    #[default]
    All,
}

impl DagScope {
    /// The word used in the query string.
    pub fn as_str(self) -> &'static str {
        match self {
            DagScope::Block => "block",
            DagScope::Entity => "entity",
            DagScope::All => "all",
        }
    }
}

impl FromStr for DagScope {
    type Err = StoreError;

    fn from_str(s: &str) -> StoreResult<Self> {
        match s {
            "block" => Ok(DagScope::Block),
            "entity" => Ok(DagScope::Entity),
            "all" => Ok(DagScope::All),
            _ => Err(StoreError::invalid(format!(
                "dag-scope {s:?}: expected block, entity or all"
            ))),
        }
    }
}

/// `entity-bytes=from:to`: an inclusive byte range; negative values count from the end, `to` may be `*`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ByteRange {
    /// First byte (negative: from the end).
    pub from: i64,
    /// Last byte, inclusive (negative: from the end; `None`: to the end).
    pub to: Option<i64>,
}

impl ByteRange {
    /// Resolves against a file of `size` bytes to `[start, end)`, or `None` if no byte is selected.
    pub fn resolve(self, size: u64) -> Option<(u64, u64)> {
        let abs = |v: i64| {
            if v < 0 {
                size.saturating_sub(v.unsigned_abs())
            } else {
                v as u64
            }
        };
        let start = abs(self.from);
        let end = match self.to {
            None => size,
            Some(to) => abs(to).saturating_add(1).min(size),
        };
        (start < end).then_some((start, end))
    }
}

impl fmt::Display for ByteRange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.to {
            Some(to) => write!(f, "{}:{to}", self.from),
            None => write!(f, "{}:*", self.from),
        }
    }
}

impl FromStr for ByteRange {
    type Err = StoreError;

    fn from_str(s: &str) -> StoreResult<Self> {
        let bad = || {
            StoreError::invalid(format!(
                "entity-bytes {s:?}: expected from:to with integers, to may be *"
            ))
        };
        let (from, to) = s.split_once(':').ok_or_else(bad)?;
        let from: i64 = from.parse().map_err(|_| bad())?;
        let to = if to == "*" {
            None
        } else {
            Some(to.parse::<i64>().map_err(|_| bad())?)
        };
        if let Some(to) = to
            && from >= 0
            && to >= 0
            && to < from
        {
            return Err(StoreError::invalid(format!(
                "entity-bytes {s:?}: to is before from"
            )));
        }
        Ok(ByteRange { from, to })
    }
}

/// What to do with a block's links once it is emitted.
#[derive(Debug, Clone, Copy)]
enum Mode {
    /// Nothing below it.
    Only,
    /// Everything below it.
    All,
    /// The UnixFS entity rooted here; for files, the blocks covering `[lo, hi)` of the bytes, this node's
    /// content starting at file offset `offset`.
    Entity { offset: u64, lo: u64, hi: u64 },
}

/// A lazy depth-first walk producing the blocks of one request, each exactly once.
pub(crate) struct Walk {
    /// Blocks already resolved along the path, emitted first.
    prefix: std::vec::IntoIter<Block>,
    stack: Vec<(Cid, Mode)>,
    seen: HashSet<Cid>,
}

/// The first block of the walk's root, fetched before answering so a missing root is a 404.
pub(crate) struct Resolved {
    /// The terminal CID after the path.
    pub(crate) cid: Cid,
    /// The blocks to stream.
    pub(crate) walk: Walk,
}

fn unixfs_of(cid: &Cid, data: &Bytes) -> StoreResult<Option<(PbNode, UnixFs)>> {
    if cid.codec() != Codec::DagPb {
        return Ok(None);
    }
    let node = PbNode::decode(data)?;
    let Some(payload) = &node.data else {
        return Ok(None);
    };
    match UnixFs::decode(payload) {
        Ok(fs) => Ok(Some((node, fs))),
        Err(_) => Ok(None),
    }
}

/// Resolves `path` (already split, non-empty segments) below `root`, fetching the blocks on the way.
pub(crate) async fn resolve<S: BlockStore + ?Sized>(
    store: &S,
    root: Cid,
    path: &[String],
    scope: DagScope,
    range: Option<ByteRange>,
) -> StoreResult<Resolved> {
    let mut prefix = Vec::new();
    let mut cid = root;
    for segment in path {
        let data = store.get(&cid).await?;
        prefix.push(Block::new(cid, data.clone())?);
        let Some((node, fs)) = unixfs_of(&cid, &data)? else {
            return Err(StoreError::WrongKind {
                cid,
                found: cid.codec().to_string(),
                expected: "a UnixFS directory",
            });
        };
        cid = match fs.kind {
            DataType::Directory => node
                .links
                .iter()
                .find(|l| &l.name == segment)
                .map(|l| l.cid)
                .ok_or_else(|| StoreError::NoSuchEntry {
                    dir: cid,
                    name: segment.clone(),
                })?,
            DataType::HamtShard => hamt_find(store, cid, node, segment, &mut prefix).await?,
            other => {
                return Err(StoreError::WrongKind {
                    cid,
                    found: other.name().into(),
                    expected: "a UnixFS directory",
                });
            }
        };
    }
    // The terminal block must exist before a response starts.
    let data = store.get(&cid).await?;
    let mode = match scope {
        DagScope::Block => Mode::Only,
        DagScope::All => Mode::All,
        DagScope::Entity => {
            let size = match unixfs_of(&cid, &data)? {
                Some((_, fs)) if matches!(fs.kind, DataType::File | DataType::Raw) => fs
                    .filesize
                    .unwrap_or_else(|| fs.data.as_ref().map_or(0, |d| d.len() as u64)),
                _ => data.len() as u64,
            };
            match range {
                None => Mode::Entity {
                    offset: 0,
                    lo: 0,
                    hi: u64::MAX,
                },
                Some(range) => match range.resolve(size) {
                    Some((lo, hi)) => Mode::Entity { offset: 0, lo, hi },
                    None => Mode::Entity {
                        offset: 0,
                        lo: 0,
                        hi: 0,
                    },
                },
            }
        }
    };
    let seen = prefix.iter().map(|b| *b.cid()).collect();
    Ok(Resolved {
        cid,
        walk: Walk {
            prefix: prefix.into_iter(),
            stack: vec![(cid, mode)],
            seen,
        },
    })
}

/// Finds `name` in a HAMT-sharded directory by walking its shards (every shard visited is added to `visited`,
/// so the response lets the client verify the lookup).
async fn hamt_find<S: BlockStore + ?Sized>(
    store: &S,
    dir: Cid,
    root: PbNode,
    name: &str,
    visited: &mut Vec<Block>,
) -> StoreResult<Cid> {
    let mut pending = vec![root];
    while let Some(node) = pending.pop() {
        for link in &node.links {
            if link.name.len() > 2 {
                if &link.name[2..] == name {
                    return Ok(link.cid);
                }
            } else {
                let data = store.get(&link.cid).await?;
                visited.push(Block::new(link.cid, data.clone())?);
                pending.push(PbNode::decode(&data)?);
            }
        }
    }
    Err(StoreError::NoSuchEntry {
        dir,
        name: name.to_owned(),
    })
}

impl Walk {
    /// The next block in order, or `None` when done.
    pub(crate) async fn next<S: BlockStore + ?Sized>(
        &mut self,
        store: &S,
    ) -> StoreResult<Option<Block>> {
        if let Some(block) = self.prefix.next() {
            return Ok(Some(block));
        }
        while let Some((cid, mode)) = self.stack.pop() {
            if !self.seen.insert(cid) {
                continue;
            }
            let data = store.get(&cid).await?;
            let block = Block::new(cid, data.clone())?;
            self.push_children(&cid, &data, mode)?;
            return Ok(Some(block));
        }
        Ok(None)
    }

    fn push_children(&mut self, cid: &Cid, data: &Bytes, mode: Mode) -> StoreResult<()> {
        let start = self.stack.len();
        match mode {
            Mode::Only => {}
            Mode::All => {
                if cid.codec() == Codec::DagPb {
                    for link in PbNode::decode(data)?.links {
                        self.stack.push((link.cid, Mode::All));
                    }
                }
            }
            Mode::Entity { offset, lo, hi } => {
                let Some((node, fs)) = unixfs_of(cid, data)? else {
                    return Ok(());
                };
                match fs.kind {
                    DataType::File | DataType::Raw => {
                        if node.links.len() != fs.blocksizes.len() {
                            return Err(StoreError::malformed(
                                "UnixFS",
                                format!(
                                    "{cid} has {} links but {} blocksizes",
                                    node.links.len(),
                                    fs.blocksizes.len()
                                ),
                            ));
                        }
                        let mut child_offset =
                            offset + fs.data.as_ref().map_or(0, |d| d.len() as u64);
                        for (link, size) in node.links.iter().zip(&fs.blocksizes) {
                            let end = child_offset + size;
                            if child_offset < hi && end > lo {
                                self.stack.push((
                                    link.cid,
                                    Mode::Entity {
                                        offset: child_offset,
                                        lo,
                                        hi,
                                    },
                                ));
                            }
                            child_offset = end;
                        }
                    }
                    DataType::HamtShard => {
                        for link in node.links.iter().filter(|l| l.name.len() == 2) {
                            self.stack.push((link.cid, mode));
                        }
                    }
                    DataType::Directory | DataType::Metadata | DataType::Symlink => {}
                }
            }
        }
        self.stack[start..].reverse();
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn byte_ranges_resolve_like_the_spec() {
        let r = |s: &str| s.parse::<ByteRange>().unwrap();
        assert_eq!(r("0:*").resolve(100), Some((0, 100)));
        assert_eq!(r("10:19").resolve(100), Some((10, 20)));
        assert_eq!(r("-10:*").resolve(100), Some((90, 100)));
        assert_eq!(r("0:-1").resolve(100), Some((0, 100)));
        assert_eq!(r("50:500").resolve(100), Some((50, 100)));
        assert_eq!(r("200:*").resolve(100), None);
        assert!("5:1".parse::<ByteRange>().is_err());
        assert!("a:1".parse::<ByteRange>().is_err());
        assert!("5".parse::<ByteRange>().is_err());
    }
}
