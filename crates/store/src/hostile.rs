//! The hostile-content corpus (`testdata/hostile/`): small CARs a stranger could upload, each built here so
//! the committed files can be checked to be exactly what this code makes (`examples/hostile_corpus.rs` writes
//! them). Every consumer of content (`store get`, `get`, `cat`, the gateway, the node's diff routes and pages) is
//! tested against every case: each must be refused with a clear error, and nothing outside a destination may
//! be touched. Symlinks that would escape point at `../victim` (or deeper), a file the tests plant beside the
//! destination and check afterwards.

use bytes::Bytes;

use crate::block::Block;
use crate::car::CarWriter;
use crate::cid::{Cid, Codec};
use crate::dagpb::{PbLink, PbNode};
use crate::unixfs::{DataType, UnixFs};

/// One hostile DAG.
#[derive(Debug)]
pub struct Case {
    /// File name stem in `testdata/hostile/` (`NAME.car`).
    pub name: &'static str,
    /// What it tries.
    pub attack: &'static str,
    /// Its root.
    pub root: Cid,
    /// Every block, root first.
    pub blocks: Vec<Block>,
}

impl Case {
    /// The case as a CAR v1 file.
    pub fn car(&self) -> Vec<u8> {
        let mut car = CarWriter::new(Vec::new(), &[self.root]).expect("a CAR header");
        for b in &self.blocks {
            car.write_block(b).expect("a CAR block");
        }
        car.finish().expect("a CAR")
    }
}

/// Builds blocks, remembering each once.
#[derive(Default)]
struct Dag {
    blocks: Vec<Block>,
}

impl Dag {
    fn add(&mut self, codec: Codec, data: Vec<u8>) -> Cid {
        let block = Block::hash(codec, data).expect("a block under the size limit");
        let cid = *block.cid();
        if !self.blocks.iter().any(|b| *b.cid() == cid) {
            self.blocks.push(block);
        }
        cid
    }

    fn raw(&mut self, data: &[u8]) -> Cid {
        self.add(Codec::Raw, data.to_vec())
    }

    fn node(&mut self, meta: UnixFs, links: Vec<PbLink>) -> Cid {
        let node = PbNode {
            links,
            data: Some(Bytes::from(meta.encode())),
        };
        self.add(Codec::DagPb, node.encode())
    }

    fn dir(&mut self, entries: &[(&str, Cid)]) -> Cid {
        let links = entries
            .iter()
            .map(|(name, cid)| PbLink {
                cid: *cid,
                name: (*name).to_string(),
                tsize: 1,
            })
            .collect();
        self.node(UnixFs::new(DataType::Directory), links)
    }

    fn symlink(&mut self, target: &str) -> Cid {
        let mut meta = UnixFs::new(DataType::Symlink);
        meta.data = Some(Bytes::copy_from_slice(target.as_bytes()));
        self.node(meta, Vec::new())
    }

    /// A file node over `children` (CID, bytes each declares), declaring `filesize`.
    fn file(&mut self, children: &[(Cid, u64)], filesize: u64) -> Cid {
        let mut meta = UnixFs::new(DataType::File);
        meta.filesize = Some(filesize);
        meta.blocksizes = children.iter().map(|c| c.1).collect();
        let links = children
            .iter()
            .map(|(cid, size)| PbLink {
                cid: *cid,
                name: String::new(),
                tsize: *size,
            })
            .collect();
        self.node(meta, links)
    }

    fn shard(&mut self, entries: &[(String, Cid)]) -> Cid {
        let mut meta = UnixFs::new(DataType::HamtShard);
        meta.fanout = Some(256);
        meta.hash_type = Some(0x22);
        meta.data = Some(Bytes::from_static(&[0xff; 32]));
        let links = entries
            .iter()
            .map(|(name, cid)| PbLink {
                cid: *cid,
                name: name.clone(),
                tsize: 1,
            })
            .collect();
        self.node(meta, links)
    }

    fn case(mut self, name: &'static str, attack: &'static str, root: Cid) -> Case {
        let at = self
            .blocks
            .iter()
            .position(|b| *b.cid() == root)
            .expect("the root is one of the blocks");
        let root_block = self.blocks.remove(at);
        self.blocks.insert(0, root_block);
        Case {
            name,
            attack,
            root,
            blocks: self.blocks,
        }
    }
}

/// Links per level of the "linked a million times" cases: four levels of 1024 make 2^40 paths to one block.
const FANOUT: usize = 1024;

/// Every case, in a fixed order.
pub fn corpus() -> Vec<Case> {
    let mut cases = Vec::new();

    let mut d = Dag::default();
    let (evil, fine) = (d.symlink("/nonexistent/scal3ml-hostile"), d.raw(b"fine\n"));
    let root = d.dir(&[("evil", evil), ("ok.txt", fine)]);
    cases.push(d.case("symlink-absolute", "a symlink to an absolute path", root));

    let mut d = Dag::default();
    let (evil, fine) = (d.symlink("../victim"), d.raw(b"fine\n"));
    let root = d.dir(&[("evil", evil), ("ok.txt", fine)]);
    cases.push(d.case(
        "symlink-dotdot",
        "a symlink out of the destination with ..",
        root,
    ));

    let mut d = Dag::default();
    let (here, through, chain) = (d.symlink("."), d.symlink("a/../../victim"), d.symlink("b"));
    let root = d.dir(&[("a", here), ("b", through), ("c", chain)]);
    cases.push(d.case(
        "symlink-chain",
        "a symlink that looks inside but climbs out through another symlink, and a chain to it",
        root,
    ));

    let mut d = Dag::default();
    let (link, bytes) = (d.symlink("../victim"), d.raw(b"attacker bytes\n"));
    let root = d.dir(&[("a", link), ("a", bytes)]);
    cases.push(d.case(
        "duplicate-names",
        "a symlink and a file of one name: the file is written through the symlink",
        root,
    ));

    let mut d = Dag::default();
    let (x, y) = (d.raw(b"first\n"), d.raw(b"second\n"));
    let (s0, s1) = (
        d.shard(&[("00same.csv".into(), x)]),
        d.shard(&[("01same.csv".into(), y)]),
    );
    let root = d.shard(&[("00".into(), s0), ("01".into(), s1)]);
    cases.push(d.case(
        "duplicate-names-hamt",
        "two HAMT sub-shards holding one name, a duplicate only after flattening",
        root,
    ));

    let mut d = Dag::default();
    let leaf = d.raw(&[b'x'; 1024]);
    let mut node = leaf;
    let mut size = 1024u64;
    for _ in 0..4 {
        node = d.file(&vec![(node, size); FANOUT], size * FANOUT as u64);
        size *= FANOUT as u64;
    }
    cases.push(d.case(
        "million-links-file",
        "one 1 KiB block linked 2^40 times: a file of 1 PiB in a small CAR",
        node,
    ));

    let mut d = Dag::default();
    let mut node = d.raw(b"x");
    for level in 0..4 {
        let names: Vec<String> = (0..FANOUT).map(|i| format!("{level}-{i:04}")).collect();
        let entries: Vec<(&str, Cid)> = names.iter().map(|n| (n.as_str(), node)).collect();
        node = d.dir(&entries);
    }
    cases.push(d.case(
        "million-links-dir",
        "one folder linked from every entry of its parent, four levels: 2^40 files",
        node,
    ));

    let mut d = Dag::default();
    let small = d.raw(b"ten bytes\n");
    let root = d.file(&[(small, 10)], 1 << 40);
    cases.push(d.case(
        "lying-filesize",
        "a file that declares 1 TiB and holds 10 bytes",
        root,
    ));

    let mut d = Dag::default();
    let small = d.raw(b"ten bytes\n");
    let root = d.file(&[(small, 1 << 20)], 1 << 20);
    cases.push(d.case(
        "lying-blocksize",
        "a chunk its parent says holds 1 MiB, which holds 10 bytes",
        root,
    ));

    let mut d = Dag::default();
    let mut node = d.raw(b"deep\n");
    for _ in 0..5_000 {
        node = d.dir(&[("d", node)]);
    }
    cases.push(d.case("deep-nesting", "5,000 nested folders", node));

    let mut d = Dag::default();
    let leaf = d.raw(b"x");
    let bottom: Vec<(String, Cid)> = (0..256).map(|i| (format!("{i:02X}f{i}"), leaf)).collect();
    let mut shard = d.shard(&bottom);
    for _ in 0..3 {
        let slots: Vec<(String, Cid)> = (0..256).map(|i| (format!("{i:02X}"), shard)).collect();
        shard = d.shard(&slots);
    }
    cases.push(d.case(
        "huge-fanout-hamt",
        "a HAMT whose every slot links the same sub-shard, three levels: 2^32 entries to flatten",
        shard,
    ));

    let mut d = Dag::default();
    let root = d.symlink("/etc/passwd");
    cases.push(d.case(
        "root-symlink",
        "content that is itself a symlink to a file of the node",
        root,
    ));

    cases
}

/// The two cases the node was first broken with, aimed at `target` (an absolute path a test plants): a folder
/// `{a -> symlink to target, a -> "attacker bytes"}` (writing it overwrote the target), and content that is
/// itself a symlink to `target` (reading it sent back the target's bytes).
pub fn aimed_at(target: &str) -> Vec<Case> {
    let mut d = Dag::default();
    let (link, bytes) = (d.symlink(target), d.raw(b"attacker bytes\n"));
    let root = d.dir(&[("a", link), ("a", bytes)]);
    let overwrite = d.case("aimed-duplicate-names", "overwrite the target", root);
    let mut d = Dag::default();
    let root = d.symlink(target);
    let read = d.case("aimed-root-symlink", "read the target", root);
    vec![overwrite, read]
}

/// A CAR whose last block is cut short (a torn or hostile upload).
pub fn truncated_car() -> Vec<u8> {
    let mut car = corpus()
        .into_iter()
        .find(|c| c.name == "symlink-dotdot")
        .expect("the case exists")
        .car();
    car.truncate(car.len() - 3);
    car
}
