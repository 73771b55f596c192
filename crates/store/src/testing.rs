//! The generic test suite every [`BlockStore`] backend runs, behind the `test-utils` feature.
//!
//! [`block_store_suite`] checks what every backend must do: reads that return exactly the bytes stored, `has`,
//! `NotFound` (with the message a user sees) for an absent block, idempotent `put`/`put_many`, a CIDv0 and the
//! CIDv1 of one dag-pb node naming one block, a 1 MiB block (the network's block limit) round-tripping unless
//! the backend declares a smaller limit, and a
//! multi-level file going through the importer and back out through the exporter. What only some backends can do
//! is declared by the backend in [`Capabilities`] and checked either way: a backend that cannot write or delete
//! must refuse with a "read-only" error (asserted), and one whose storage the test can corrupt must refuse to
//! serve the corrupted block. [`pin_store_suite`] adds pins, garbage collection and stats for a [`PinStore`].
//!
//! The suites panic with the check's name on the first failure, as a test should; each returns a
//! [`SuiteReport`] naming the checks that ran and the ones the capabilities ruled out, with the reason.

use std::fmt;

use bytes::Bytes;
use futures_util::future::join_all;

use crate::block::{Block, MAX_BLOCK_SIZE};
use crate::cid::{Cid, CidExt, Codec};
use crate::dagpb::{PbLink, PbNode};
use crate::error::StoreError;
use crate::export::cat_to_vec;
use crate::import::{ImportOptions, add_reader};
use crate::store::{BlockStore, PinMode, PinStore};

/// The largest block every IPFS implementation accepts from `block put` (Kubo refuses more without
/// `--allow-big-block`); our own limit, [`MAX_BLOCK_SIZE`], leaves 1 KiB more for a wrapped 1 MiB chunk.
pub const NETWORK_BLOCK_LIMIT: usize = 1024 * 1024;

/// Writes bytes under a CID without checking them, into the storage a backend reads from: how the suite makes a
/// corrupted block for a backend that declares it can have one.
pub type Tamper<'a> = &'a (dyn Fn(&Cid, Bytes) + Send + Sync);

/// How blocks get into the backend under test.
#[derive(Clone, Copy)]
pub enum Writes<'a> {
    /// `put` and `put_many` store blocks in the backend itself.
    Direct,
    /// The backend is read-only: `put` must fail with an error saying "read-only", and the suite stores its
    /// blocks in `backing`, the store the backend reads from (the store behind a gateway, for example).
    ReadOnly {
        /// The store the backend serves.
        backing: &'a dyn BlockStore,
    },
}

impl fmt::Debug for Writes<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Direct => f.write_str("Direct"),
            Self::ReadOnly { .. } => f.write_str("ReadOnly"),
        }
    }
}

/// What a backend declares it can do beyond the contract every backend meets.
#[derive(Clone, Copy)]
pub struct Capabilities<'a> {
    /// How blocks are written.
    pub writes: Writes<'a>,
    /// `delete` removes blocks; when false it must fail with an error saying "read-only".
    pub delete: bool,
    /// A way to put wrong bytes under a CID into the storage the backend reads from, if the test has one.
    pub tamper: Option<Tamper<'a>>,
    /// The largest block the backend takes and serves; [`NETWORK_BLOCK_LIMIT`] unless declared otherwise. A
    /// backend declaring less is reported as not passing the 1 MiB check.
    pub largest_block: usize,
}

impl fmt::Debug for Capabilities<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Capabilities")
            .field("writes", &self.writes)
            .field("delete", &self.delete)
            .field("tamper", &self.tamper.is_some())
            .field("largest_block", &self.largest_block)
            .finish()
    }
}

impl<'a> Capabilities<'a> {
    /// A backend that stores and deletes blocks itself (the local stores, a Kubo node).
    pub fn read_write() -> Self {
        Self {
            writes: Writes::Direct,
            delete: true,
            tamper: None,
            largest_block: NETWORK_BLOCK_LIMIT,
        }
    }

    /// A read-only backend serving what `backing` holds (a trustless gateway).
    pub fn read_only(backing: &'a dyn BlockStore) -> Self {
        Self {
            writes: Writes::ReadOnly { backing },
            delete: false,
            tamper: None,
            largest_block: NETWORK_BLOCK_LIMIT,
        }
    }

    /// Declares a way to corrupt the backend's storage, so the suite checks corrupted blocks are refused.
    pub fn with_tamper(mut self, tamper: Tamper<'a>) -> Self {
        self.tamper = Some(tamper);
        self
    }

    /// Declares the largest block the backend takes and serves (our own stores: [`MAX_BLOCK_SIZE`]).
    pub fn with_largest_block(mut self, size: usize) -> Self {
        self.largest_block = size;
        self
    }
}

/// The checks a suite ran, and those the backend's capabilities ruled out.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct SuiteReport {
    /// Names of the checks that passed (a failing check panics).
    pub passed: Vec<&'static str>,
    /// Checks not run, each with the reason the capabilities gave.
    pub not_run: Vec<(&'static str, &'static str)>,
}

impl SuiteReport {
    fn pass(&mut self, check: &'static str) {
        self.passed.push(check);
    }

    /// Adds another report's checks to this one.
    pub fn merge(&mut self, other: SuiteReport) {
        self.passed.extend(other.passed);
        self.not_run.extend(other.not_run);
    }
}

impl fmt::Display for SuiteReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for check in &self.passed {
            writeln!(f, "  ok       {check}")?;
        }
        for (check, why) in &self.not_run {
            writeln!(f, "  not run  {check}: {why}")?;
        }
        write!(
            f,
            "{} passed, {} not run",
            self.passed.len(),
            self.not_run.len()
        )
    }
}

/// A per-run nonce, so blocks of one run never collide with those of an earlier run on a long-lived backend.
fn nonce() -> [u8; 16] {
    let mut nonce = [0u8; 16];
    getrandom::getrandom(&mut nonce).expect("the OS random source");
    nonce
}

fn raw(nonce: &[u8], label: &str) -> Block {
    let mut data = label.as_bytes().to_vec();
    data.extend_from_slice(nonce);
    Block::hash(Codec::Raw, data).expect("a small block")
}

fn node(children: &[&Block], data: Bytes) -> PbNode {
    PbNode {
        links: children
            .iter()
            .map(|b| PbLink {
                cid: *b.cid(),
                name: String::new(),
                tsize: b.data().len() as u64,
            })
            .collect(),
        data: Some(data),
    }
}

/// Deterministic pseudo-random bytes (xorshift) over a seed, so test failures reproduce.
pub fn noise(len: usize, seed: u64) -> Vec<u8> {
    let mut x = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x as u8
        })
        .collect()
}

fn assert_read_only(result: Result<(), StoreError>, what: &str) {
    match result {
        Err(e) if e.to_string().contains("read-only") => {}
        Err(e) => panic!("{what} on a read-only backend must say it is read-only, got: {e}"),
        Ok(()) => {
            panic!("{what} on a read-only backend succeeded; it must fail with a read-only error")
        }
    }
}

/// Runs the checks every backend must pass, and those its `caps` declare, against `store`. Blocks are fresh
/// for every run, so a long-lived backend (a Kubo node) can run it again; nothing else needs to be empty.
/// Panics on the first failed check.
pub async fn block_store_suite<S: BlockStore + ?Sized>(
    store: &S,
    caps: Capabilities<'_>,
) -> SuiteReport {
    let mut report = SuiteReport::default();
    let nonce = nonce();
    let a = raw(&nonce, "alpha");
    let b = raw(&nonce, "beta");
    let c = raw(&nonce, "gamma");
    let absent = raw(&nonce, "never stored");
    let parent_node = node(&[&a, &b], Bytes::from_static(&[8, 1]));
    let parent = Block::hash(Codec::DagPb, parent_node.encode()).expect("a small node");
    // One dag-pb node addressed by its CIDv0 (as Kubo's default import writes) and read back by its CIDv1.
    let v0_bytes = node(&[], Bytes::copy_from_slice(&nonce)).encode();
    let v0 = Block::new(Cid::v0(crate::cid::sha256(&v0_bytes)), v0_bytes).expect("a small node");
    let big = Block::hash(Codec::Raw, noise(caps.largest_block, u64::from(nonce[0])))
        .unwrap_or_else(|e| panic!("the declared largest block: {e}"));

    // An absent block: NotFound naming the CID, in words a user can act on.
    match store.get(absent.cid()).await {
        Err(StoreError::NotFound { cid }) if cid == *absent.cid() => {
            let message = StoreError::NotFound { cid }.to_string();
            assert!(
                message.contains(&absent.cid().to_string()) && message.contains("not found"),
                "the not-found message names the block: {message}"
            );
        }
        other => panic!(
            "get of an absent block must be NotFound for {}, got {other:?}",
            absent.cid()
        ),
    }
    report.pass("get of an absent block is NotFound for that CID");
    // A CID the store cannot verify (blake3, 0x1e): refused as such, not looked up.
    let mut blake3 = vec![1, 0x55, 0x1e, 0x20];
    blake3.extend_from_slice(&nonce);
    blake3.resize(36, 0);
    let blake3 = Cid::from_bytes(&blake3).expect("a CIDv1 over blake3");
    match store.get(&blake3).await {
        Err(StoreError::UnsupportedHash { code: 0x1e, .. }) => {}
        other => panic!("get of a blake3 CID must be UnsupportedHash, got {other:?}"),
    }
    report.pass("get of a CID over a hash it cannot verify is UnsupportedHash");
    assert!(
        !store
            .has(absent.cid())
            .await
            .expect("has of an absent block"),
        "has of an absent block must be false"
    );
    report.pass("has of an absent block is false");

    // Writing: a batch with a duplicate (as the importer writes), single puts, a repeated put.
    let blocks = [&a, &b, &c, &parent, &v0, &big];
    match caps.writes {
        Writes::Direct => {
            store
                .put_many(vec![a.clone(), b.clone(), a.clone()])
                .await
                .expect("put_many with a duplicate");
            for block in [&c, &parent, &v0, &big] {
                store
                    .put((*block).clone())
                    .await
                    .unwrap_or_else(|e| panic!("put {}: {e}", block.cid()));
            }
            store
                .put(a.clone())
                .await
                .expect("a second put of the same block is a no-op");
            report.pass("put_many with a duplicate, put, and a repeated put succeed");
        }
        Writes::ReadOnly { backing } => {
            assert_read_only(store.put(a.clone()).await, "put");
            assert_read_only(store.put_many(vec![b.clone()]).await, "put_many");
            report.pass("put and put_many fail with a read-only error");
            backing
                .put_many(blocks.iter().map(|b| (*b).clone()).collect())
                .await
                .expect("put into the backing store");
        }
    }
    for block in blocks {
        let got = store
            .get(block.cid())
            .await
            .unwrap_or_else(|e| panic!("get {} after it was stored: {e}", block.cid()));
        assert!(
            got == block.data(),
            "get {} returned {} bytes that differ from the {} stored",
            block.cid(),
            got.len(),
            block.data().len()
        );
        assert!(
            store.has(block.cid()).await.expect("has"),
            "has {} after it was stored",
            block.cid()
        );
    }
    report.pass("get returns exactly the bytes stored and has is true, raw and dag-pb");
    report.pass("the largest block the backend declares round-trips intact");
    if caps.largest_block < NETWORK_BLOCK_LIMIT {
        report.not_run.push((
            "a 1 MiB block (the network's block limit) round-trips intact",
            "the backend declares a smaller largest block",
        ));
    }
    assert_eq!(
        store
            .get(&v0.cid().to_v1())
            .await
            .expect("get by the CIDv1 of a block stored by its CIDv0"),
        v0.data()
    );
    report.pass("a CIDv0 and the CIDv1 of one dag-pb node name one block");

    let reads = join_all(blocks.iter().map(|block| store.get(block.cid()))).await;
    for (block, read) in blocks.iter().zip(reads) {
        assert_eq!(
            read.unwrap_or_else(|e| panic!("concurrent get {}: {e}", block.cid())),
            block.data()
        );
    }
    report.pass("concurrent gets all return their own block");

    // Blocks that are wrong or too large never become a Block, so no backend's put can receive them.
    match Block::new(*a.cid(), b.data().clone()) {
        Err(e @ StoreError::HashMismatch { .. }) => assert!(
            e.to_string().contains("corrupt"),
            "the mismatch says the block is corrupt: {e}"
        ),
        other => panic!("bytes that do not hash to the CID must be refused, got {other:?}"),
    }
    report.pass("bytes that do not hash to their CID are refused before put");
    let oversized = vec![0u8; MAX_BLOCK_SIZE + 1];
    let oversized_cid = Cid::hash_v1(Codec::Raw, &oversized);
    for result in [
        Block::hash(Codec::Raw, oversized.clone()),
        Block::new(oversized_cid, oversized),
    ] {
        match result {
            Err(e @ StoreError::BlockTooLarge { .. }) => assert!(
                e.to_string().contains("block limit"),
                "the size error names the limit: {e}"
            ),
            other => panic!("a block over the limit must be refused, got {other:?}"),
        }
    }
    report.pass("a block over the 1 MiB limit is refused before put");

    // A multi-level file (1 KiB chunks, 4 links a node) in through the importer, out through the exporter.
    let data = noise(20 * 1024 + 33, u64::from(nonce[1]) + 1);
    let root = match caps.writes {
        Writes::Direct => import_file(store, &data).await,
        Writes::ReadOnly { backing } => import_file(backing, &data).await,
    };
    assert!(
        cat_to_vec(store, &root, u64::MAX)
            .await
            .expect("export the file")
            == data,
        "the exported file differs from the imported one"
    );
    report.pass("a multi-level file imports and exports back identical");

    // Deleting.
    if caps.delete {
        store.delete(c.cid()).await.expect("delete a stored block");
        assert!(
            !store.has(c.cid()).await.expect("has"),
            "has after delete must be false"
        );
        assert!(
            matches!(store.get(c.cid()).await, Err(StoreError::NotFound { cid }) if cid == *c.cid()),
            "get after delete must be NotFound"
        );
        store
            .delete(c.cid())
            .await
            .expect("deleting an absent block is a no-op");
        assert!(
            store.has(a.cid()).await.expect("has"),
            "deleting one block leaves the others"
        );
        report.pass("delete removes one block, and deleting it again is a no-op");
    } else {
        assert_read_only(store.delete(a.cid()).await, "delete");
        assert!(
            store.has(a.cid()).await.expect("has"),
            "a refused delete removes nothing"
        );
        report.pass("delete fails with a read-only error and removes nothing");
    }

    // A corrupted block in the backend's storage is refused, never served.
    match caps.tamper {
        Some(tamper) => {
            let victim = raw(&nonce, "to be corrupted");
            tamper(victim.cid(), Bytes::from_static(b"swapped bytes"));
            match store.get(victim.cid()).await {
                Err(e) => assert!(
                    e.to_string().contains("corrupt"),
                    "reading a corrupted block must say it is corrupt, got: {e}"
                ),
                Ok(bytes) => panic!(
                    "a corrupted block {} was served ({} bytes)",
                    victim.cid(),
                    bytes.len()
                ),
            }
            report.pass("a corrupted block in storage is refused on read");
        }
        None => report.not_run.push((
            "a corrupted block in storage is refused on read",
            "the backend declares no way to corrupt its storage",
        )),
    }
    report
}

async fn import_file<W: BlockStore + ?Sized>(into: &W, data: &[u8]) -> Cid {
    add_reader(
        into,
        std::io::Cursor::new(data.to_vec()),
        ImportOptions::kubo_v1()
            .with_chunk_size(1024)
            .with_max_links(4),
    )
    .await
    .expect("import a file")
    .cid
}

/// Runs the checks of what a store that owns its blocks adds: recursive and direct pins, garbage collection of
/// what no pin reaches, stats, unpinning. `store` must start empty (the stats are checked exactly). Panics on
/// the first failed check.
pub async fn pin_store_suite<S: PinStore + ?Sized>(store: &S) -> SuiteReport {
    let mut report = SuiteReport::default();
    let nonce = nonce();
    let a = raw(&nonce, "alpha");
    let b = raw(&nonce, "beta");
    let c = raw(&nonce, "gamma");
    let loose = raw(&nonce, "loose");
    let parent = Block::hash(
        Codec::DagPb,
        node(&[&a, &b], Bytes::from_static(&[8, 1])).encode(),
    )
    .expect("a small node");
    assert_eq!(
        store.stat().await.expect("stat").blocks,
        0,
        "the pin suite needs an empty store"
    );
    store
        .put_many([&a, &b, &c, &loose, &parent].map(|b| b.clone()).to_vec())
        .await
        .expect("put_many");
    let stats = store.stat().await.expect("stat");
    assert_eq!(stats.blocks, 5, "stat counts every block once");
    assert_eq!(
        stats.bytes,
        [&a, &b, &c, &loose, &parent]
            .iter()
            .map(|b| b.data().len() as u64)
            .sum::<u64>(),
        "stat sums the block sizes"
    );
    assert_eq!(
        store.list().await.expect("list").len(),
        5,
        "list names every block"
    );
    report.pass("stat and list count every block and byte");

    // A recursive pin needs the whole DAG, and names the block that is missing.
    let missing = raw(&nonce, "not stored");
    let orphan_parent = Block::hash(
        Codec::DagPb,
        node(&[&a, &missing], Bytes::from_static(&[8, 1])).encode(),
    )
    .expect("a small node");
    store.put(orphan_parent.clone()).await.expect("put");
    assert!(
        matches!(
            store.pin(orphan_parent.cid(), PinMode::Recursive).await,
            Err(StoreError::NotFound { cid }) if cid == *missing.cid()
        ),
        "a recursive pin over a missing block must be NotFound for that block"
    );
    report.pass("a recursive pin of an incomplete DAG names the missing block");
    store
        .pin(parent.cid(), PinMode::Recursive)
        .await
        .expect("pin recursive");
    store
        .pin(c.cid(), PinMode::Direct)
        .await
        .expect("pin direct");
    let mut pins = store.pins().await.expect("pins");
    pins.sort();
    let mut expected = vec![
        (*parent.cid(), PinMode::Recursive),
        (*c.cid(), PinMode::Direct),
    ];
    expected.sort();
    assert_eq!(pins, expected, "pins lists both pins with their modes");
    let stats = store.stat().await.expect("stat");
    assert_eq!(
        (stats.recursive_pins, stats.direct_pins),
        (1, 1),
        "stat counts pins by mode"
    );
    report.pass("recursive and direct pins are listed and counted");

    // gc keeps what pins reach and drops the rest.
    let gc = store.gc().await.expect("gc");
    assert_eq!(gc.removed_blocks, 2, "gc removes loose and orphan_parent");
    assert_eq!(
        gc.removed_bytes,
        (loose.data().len() + orphan_parent.data().len()) as u64,
        "gc reports the bytes it freed"
    );
    for kept in [&a, &b, &c, &parent] {
        assert!(
            store.has(kept.cid()).await.expect("has"),
            "gc kept {}",
            kept.cid()
        );
    }
    assert!(
        !store.has(loose.cid()).await.expect("has"),
        "gc removed loose"
    );
    report.pass("gc removes exactly the blocks no pin reaches");

    // Unpinning frees the DAG for the next gc; unpinning twice is an error.
    store.unpin(parent.cid()).await.expect("unpin");
    match store.unpin(parent.cid()).await {
        Err(e @ StoreError::InvalidArgument { .. }) => assert!(
            e.to_string().contains("not pinned"),
            "unpinning twice says the CID is not pinned: {e}"
        ),
        other => panic!("unpinning a CID that is not pinned must fail, got {other:?}"),
    }
    store.gc().await.expect("gc");
    assert!(!store.has(a.cid()).await.expect("has"), "gc after unpin");
    assert!(
        store.has(c.cid()).await.expect("has"),
        "the direct pin stays"
    );
    store.unpin(c.cid()).await.expect("unpin");
    store.gc().await.expect("gc");
    assert_eq!(
        store.stat().await.expect("stat"),
        crate::StoreStats::default(),
        "after the last unpin and gc the store is empty"
    );
    report.pass("unpin then gc frees the DAG; unpinning twice is an error");

    // regression_gc_kept_cidv0_pins: a block pinned by its CIDv0 must survive gc.
    let v0_dir: Cid = "QmUNLLsPACCz1vLxQVkXqqLX5R1X345qqfHbsf67hvA3Nn"
        .parse()
        .expect("the empty directory's CIDv0");
    store
        .put(Block::new(v0_dir, Bytes::from_static(&[0x0a, 0x02, 0x08, 0x01])).expect("block"))
        .await
        .expect("put");
    store
        .pin(&v0_dir, PinMode::Recursive)
        .await
        .expect("pin by CIDv0");
    assert_eq!(store.gc().await.expect("gc").removed_blocks, 0);
    assert!(store.has(&v0_dir).await.expect("has"));
    report.pass("a block pinned by its CIDv0 survives gc");
    report
}
