//! The file importer: fixed-size chunks, leaves hashed on all cores, a balanced tree built in order.
//!
//! Pipeline: a reader thread fills batches of chunks (bounded, so memory stays a few batches whatever the file
//! size); the calling thread hashes each batch's leaves on scoped worker threads, then hands the leaves and
//! any completed parent nodes to the sink in file order.

use std::io::{ErrorKind, Read};
use std::sync::mpsc;

use bytes::{Bytes, BytesMut};

use super::{ImportOptions, Sink};
use crate::block::Block;
use crate::cid::{Cid, Codec, sha256};
use crate::dagpb::{PbLink, PbNode};
use crate::error::{StoreError, StoreResult};
use crate::unixfs::{DataType, UnixFs};

/// What the importer returns for a file.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FileRoot {
    /// The root CID.
    pub cid: Cid,
    /// Bytes of file content.
    pub size: u64,
    /// Cumulative DAG size (the Tsize a parent link to it carries).
    pub tsize: u64,
}

#[derive(Clone, Copy)]
struct Link {
    cid: Cid,
    tsize: u64,
    filesize: u64,
}

/// Builds the balanced layout as Kubo does, streaming: `levels[i]` holds the finished nodes of height `i`
/// waiting for a parent. A level is folded into a parent only when it is full and another node arrives, or at
/// the end, so the last subtree at each height is as deep as its full siblings (Kubo's fill order).
struct Balanced {
    levels: Vec<Vec<Link>>,
    max_links: usize,
    v0: bool,
}

impl Balanced {
    fn push(&mut self, level: usize, link: Link, sink: &mut Sink<'_>) -> StoreResult<()> {
        if self.levels.len() <= level {
            self.levels.push(Vec::new());
        }
        if self.levels[level].len() == self.max_links {
            let children = std::mem::take(&mut self.levels[level]);
            let parent = self.parent(&children, sink)?;
            self.push(level + 1, parent, sink)?;
        }
        self.levels[level].push(link);
        Ok(())
    }

    fn parent(&self, children: &[Link], sink: &mut Sink<'_>) -> StoreResult<Link> {
        let mut meta = UnixFs::new(DataType::File);
        let filesize = children.iter().map(|c| c.filesize).sum();
        meta.filesize = Some(filesize);
        meta.blocksizes = children.iter().map(|c| c.filesize).collect();
        let node = PbNode {
            links: children
                .iter()
                .map(|c| PbLink {
                    cid: c.cid,
                    name: String::new(),
                    tsize: c.tsize,
                })
                .collect(),
            data: Some(Bytes::from(meta.encode())),
        };
        let bytes = Bytes::from(node.encode());
        let digest = sha256(&bytes);
        let cid = if self.v0 {
            Cid::v0(digest)
        } else {
            Cid::v1(Codec::DagPb, digest)
        };
        let tsize = bytes.len() as u64 + children.iter().map(|c| c.tsize).sum::<u64>();
        sink(Block::trusted(cid, bytes))?;
        Ok(Link {
            cid,
            tsize,
            filesize,
        })
    }

    fn finish(mut self, sink: &mut Sink<'_>) -> StoreResult<Link> {
        let mut level = 0;
        loop {
            let top = self.levels[level + 1..].iter().all(Vec::is_empty);
            if top && self.levels[level].len() == 1 {
                return Ok(self.levels[level][0]);
            }
            let children = std::mem::take(&mut self.levels[level]);
            let parent = self.parent(&children, sink)?;
            if top {
                return Ok(parent);
            }
            self.push(level + 1, parent, sink)?;
            level += 1;
        }
    }
}

/// Reads exactly `size` bytes unless the input ends first.
fn read_chunk(reader: &mut impl Read, size: usize) -> std::io::Result<Bytes> {
    let mut buf = BytesMut::zeroed(size);
    let mut filled = 0;
    while filled < size {
        match reader.read(&mut buf[filled..]) {
            Ok(0) => break,
            Ok(n) => filled += n,
            Err(e) if e.kind() == ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        }
    }
    buf.truncate(filled);
    Ok(buf.freeze())
}

fn leaf_payload(chunk: Bytes, opts: &ImportOptions) -> Bytes {
    if opts.raw_leaves {
        return chunk;
    }
    let len = chunk.len() as u64;
    let mut meta = UnixFs::new(DataType::File);
    meta.data = (len > 0).then_some(chunk);
    meta.filesize = Some(len);
    Bytes::from(
        PbNode {
            links: vec![],
            data: Some(Bytes::from(meta.encode())),
        }
        .encode(),
    )
}

/// Imports one file from `reader`, handing every block to `sink` (children before parents) and returning the
/// root.
pub fn import_file<R: Read + Send>(
    reader: R,
    opts: &ImportOptions,
    sink: &mut Sink<'_>,
) -> StoreResult<FileRoot> {
    opts.validate()?;
    let threads = opts.threads.max(1);
    let batch_len = (threads * 2).max((4 << 20) / opts.chunk_size).max(1);
    let v0 = opts.cid_version == 0;
    let leaf_codec = if opts.raw_leaves {
        Codec::Raw
    } else {
        Codec::DagPb
    };
    let mut tree = Balanced {
        levels: vec![Vec::new()],
        max_links: opts.max_links,
        v0,
    };
    let mut size = 0u64;

    std::thread::scope(|scope| -> StoreResult<FileRoot> {
        let (tx, rx) = mpsc::sync_channel::<std::io::Result<Vec<Bytes>>>(2);
        let chunk_size = opts.chunk_size;
        let mut reader = reader;
        scope.spawn(move || {
            let mut first = true;
            loop {
                let mut batch = Vec::with_capacity(batch_len);
                let mut ended = false;
                while batch.len() < batch_len {
                    match read_chunk(&mut reader, chunk_size) {
                        Ok(chunk) if chunk.is_empty() && !(first && batch.is_empty()) => {
                            ended = true;
                            break;
                        }
                        Ok(chunk) => {
                            let short = chunk.len() < chunk_size;
                            batch.push(chunk);
                            if short {
                                ended = true;
                                break;
                            }
                        }
                        Err(e) => {
                            let _ = tx.send(Err(e));
                            return;
                        }
                    }
                }
                first = false;
                if !batch.is_empty() && tx.send(Ok(batch)).is_err() {
                    return;
                }
                if ended {
                    return;
                }
            }
        });

        let mut single = None;
        let mut count = 0usize;
        for batch in rx {
            let batch = batch.map_err(|e| StoreError::io("reading the file to import", e))?;
            let payloads: Vec<(u64, Bytes)> = batch
                .into_iter()
                .map(|c| (c.len() as u64, leaf_payload(c, opts)))
                .collect();
            let digests = hash_parallel(&payloads, threads);
            for ((filesize, data), digest) in payloads.into_iter().zip(digests) {
                // Raw leaves are CIDv1 even under a CIDv0 tree, as Kubo's `--raw-leaves` without
                // `--cid-version=1` makes them.
                let cid = if opts.raw_leaves || !v0 {
                    Cid::v1(leaf_codec, digest)
                } else {
                    Cid::v0(digest)
                };
                let link = Link {
                    cid,
                    tsize: data.len() as u64,
                    filesize,
                };
                size += filesize;
                count += 1;
                sink(Block::trusted(cid, data))?;
                if count == 1 {
                    single = Some(link);
                    continue;
                }
                if let Some(first) = single.take() {
                    tree.push(0, first, sink)?;
                }
                tree.push(0, link, sink)?;
            }
        }
        let root = match single {
            Some(only) => only,
            None => tree.finish(sink)?,
        };
        Ok(FileRoot {
            cid: root.cid,
            size,
            tsize: root.tsize,
        })
    })
}

/// SHA-256 of each payload, split across `threads` scoped threads (the caller's thread takes one share).
fn hash_parallel(payloads: &[(u64, Bytes)], threads: usize) -> Vec<[u8; 32]> {
    let threads = threads.min(payloads.len()).max(1);
    if threads == 1 {
        return payloads.iter().map(|(_, d)| sha256(d)).collect();
    }
    let share = payloads.len().div_ceil(threads);
    let mut out = vec![[0u8; 32]; payloads.len()];
    std::thread::scope(|scope| {
        let mut parts = payloads.chunks(share).zip(out.chunks_mut(share));
        let mine = parts.next().expect("at least one part");
        for (input, output) in parts {
            scope.spawn(move || {
                for ((_, d), o) in input.iter().zip(output) {
                    *o = sha256(d);
                }
            });
        }
        for ((_, d), o) in mine.0.iter().zip(mine.1) {
            *o = sha256(d);
        }
    });
    out
}
