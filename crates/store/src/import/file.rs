//! The file importer: fixed-size chunks, leaves hashed on all cores, a balanced tree built in order.
//!
//! Pipeline: one worker per core takes the next chunk from the shared reader and hashes it; the calling thread
//! puts the leaves back in file order, hands them and every completed parent node to the sink, and returns a
//! credit for each leaf it takes, so only a window of a few chunks per core is ever in memory.

use std::collections::BTreeMap;
use std::io::Read;
use std::sync::{Mutex, mpsc};

use bytes::Bytes;

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

/// Reads exactly `size` bytes unless the input ends first. (`read_to_end` on a `Take` fills the buffer without
/// zeroing it first when the reader, like `File`, writes into uninitialised memory itself.)
fn read_chunk(reader: &mut impl Read, size: usize) -> std::io::Result<Bytes> {
    let mut buf = Vec::with_capacity(size);
    reader.take(size as u64).read_to_end(&mut buf)?;
    Ok(Bytes::from(buf))
}

/// A hashed leaf, ready for the sink and the tree.
struct Leaf {
    link: Link,
    data: Bytes,
}

fn leaf(chunk: Bytes, opts: &ImportOptions) -> Leaf {
    let filesize = chunk.len() as u64;
    let data = if opts.raw_leaves {
        chunk
    } else {
        let mut meta = UnixFs::new(DataType::File);
        meta.data = (filesize > 0).then_some(chunk);
        meta.filesize = Some(filesize);
        Bytes::from(
            PbNode {
                links: vec![],
                data: Some(Bytes::from(meta.encode())),
            }
            .encode(),
        )
    };
    let digest = sha256(&data);
    // Raw leaves are CIDv1 even under a CIDv0 tree, as Kubo's `--raw-leaves` without `--cid-version=1` makes
    // them.
    let cid = match (opts.raw_leaves, opts.cid_version) {
        (true, _) => Cid::v1(Codec::Raw, digest),
        (false, 0) => Cid::v0(digest),
        (false, _) => Cid::v1(Codec::DagPb, digest),
    };
    Leaf {
        link: Link {
            cid,
            tsize: data.len() as u64,
            filesize,
        },
        data,
    }
}

/// The input shared by the workers: whoever holds the lock reads the next chunk, so chunk numbers follow the
/// stream's order.
struct Stream<R> {
    reader: R,
    /// The number the next chunk gets (0 for the first).
    next: u64,
    /// The input ended or failed: nothing more to read.
    done: bool,
}

impl<R: Read> Stream<R> {
    /// The next chunk and its number, or `None` once the input has ended.
    fn next(this: &Mutex<Self>, size: usize) -> std::io::Result<Option<(u64, Bytes)>> {
        let mut stream = this.lock().unwrap_or_else(|e| e.into_inner());
        if stream.done {
            return Ok(None);
        }
        let chunk = read_chunk(&mut stream.reader, size).inspect_err(|_| stream.done = true)?;
        stream.done = chunk.len() < size;
        stream.next += 1;
        // Only the first chunk may be empty (an empty file); after it, empty means the input ended on a chunk
        // boundary.
        Ok((stream.next == 1 || !chunk.is_empty()).then(|| (stream.next - 1, chunk)))
    }
}

/// One worker: takes a credit, then the next chunk, hashes it and sends it on with its number. Stops at the end
/// of the input, on a read error (sent on), or when the consumer has gone.
///
/// The consumer returns a credit for every leaf it takes, so at most `window` chunks are read ahead of it,
/// however the threads are scheduled.
fn hash_chunks<R: Read>(
    source: &Mutex<Stream<R>>,
    credits: &Mutex<mpsc::Receiver<()>>,
    opts: &ImportOptions,
    leaves: mpsc::SyncSender<StoreResult<(u64, Leaf)>>,
) {
    loop {
        let credit = credits.lock().unwrap_or_else(|e| e.into_inner()).recv();
        if credit.is_err() {
            return;
        }
        let sent = match Stream::next(source, opts.chunk_size) {
            Ok(Some((seq, chunk))) => leaves.send(Ok((seq, leaf(chunk, opts)))),
            Ok(None) => return,
            Err(e) => leaves.send(Err(read_error(e))),
        };
        if sent.is_err() {
            return;
        }
    }
}

fn read_error(e: std::io::Error) -> StoreError {
    StoreError::io("reading the file to import", e)
}

/// Imports one file from `reader`, handing every block to `sink` (children before parents) and returning the
/// root.
///
/// A file that fits in one chunk is hashed on the calling thread. A larger one is read and hashed by
/// `opts.threads` workers, while the calling thread takes the leaves back in file order, hands them to the sink
/// and builds the tree.
pub fn import_file<R: Read + Send>(
    reader: R,
    opts: &ImportOptions,
    sink: &mut Sink<'_>,
) -> StoreResult<FileRoot> {
    opts.validate()?;
    let source = Mutex::new(Stream {
        reader,
        next: 0,
        done: false,
    });
    let (_, first) = Stream::next(&source, opts.chunk_size)
        .map_err(read_error)?
        .expect("the first chunk is always handed out");
    let first = leaf(first, opts);
    let mut size = first.link.filesize;
    sink(Block::trusted(first.link.cid, first.data))?;
    if size < opts.chunk_size as u64 {
        return Ok(FileRoot {
            cid: first.link.cid,
            size,
            tsize: first.link.tsize,
        });
    }

    let threads = opts.threads.max(1);
    let window = threads * 4;
    let mut tree = Balanced {
        levels: vec![Vec::new()],
        max_links: opts.max_links,
        v0: opts.cid_version == 0,
    };
    let mut single = Some(first.link);
    let (credit, credits) = mpsc::sync_channel(window);
    for _ in 0..window {
        credit.send(()).expect("the channel holds the whole window");
    }
    let credits = Mutex::new(credits);
    std::thread::scope(|scope| -> StoreResult<FileRoot> {
        // Owned by this closure, so that returning early (an error) stops the workers: they find no credit.
        let credit = credit;
        let (done, leaves) = mpsc::sync_channel(window);
        for _ in 0..threads {
            let (credits, done) = (&credits, done.clone());
            let source = &source;
            scope.spawn(move || hash_chunks(source, credits, opts, done));
        }
        drop(done);
        // Leaves arrive in any order; `waiting` holds those ahead of the next one due.
        let mut waiting = BTreeMap::new();
        let mut due = 1u64;
        for received in leaves {
            let (seq, leaf) = received?;
            waiting.insert(seq, leaf);
            while let Some(leaf) = waiting.remove(&due) {
                due += 1;
                let _ = credit.send(());
                size += leaf.link.filesize;
                sink(Block::trusted(leaf.link.cid, leaf.data))?;
                if let Some(first) = single.take() {
                    tree.push(0, first, sink)?;
                }
                tree.push(0, leaf.link, sink)?;
            }
        }
        // The workers stop only at the end of the input or on an error they send, so every leaf came in.
        debug_assert!(waiting.is_empty());
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
