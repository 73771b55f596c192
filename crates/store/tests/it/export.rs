//! Import then export: whole files, ranges, directories, HAMT shards, and the errors a reader must catch.

use std::collections::HashMap;
use std::io::Cursor;
use std::sync::Mutex;

use bytes::Bytes;
use proptest::prelude::*;
use scal3ml_store::CidExt;
use scal3ml_store::dagpb::{PbLink, PbNode};
use scal3ml_store::export::{self, Kind};
use scal3ml_store::import::{DirEntry, build_directory};
use scal3ml_store::unixfs::{DataType, UnixFs};
use scal3ml_store::{
    Block, BlockStore, BoxFuture, Cid, Codec, FsStore, ImportOptions, MemStore, StoreError,
    StoreResult, add_path, add_reader,
};

fn pattern(n: usize) -> Vec<u8> {
    (0..n).map(|i| (i * 7 % 253) as u8).collect()
}

fn small_chunks(opts: ImportOptions) -> ImportOptions {
    opts.with_chunk_size(1000).with_max_links(4)
}

async fn range(store: &impl BlockStore, cid: &Cid, start: u64, end: u64) -> StoreResult<Vec<u8>> {
    let mut out = Vec::new();
    let mut sink = |b: Bytes| {
        out.extend_from_slice(&b);
        Ok(())
    };
    export::read_range(store, cid, start, Some(end), &mut sink).await?;
    Ok(out)
}

#[tokio::test]
async fn files_round_trip_in_every_mode_and_store() {
    let dir = tempfile::tempdir().unwrap();
    let fs = FsStore::open(dir.path()).unwrap();
    let mem = MemStore::new();
    for opts in [
        ImportOptions::kubo_v0(),
        ImportOptions::kubo_v0().with_raw_leaves(true),
        ImportOptions::kubo_v1(),
        ImportOptions::kubo_v1().with_raw_leaves(false),
    ] {
        // 0, one chunk, ragged, exactly 4 chunks (one full node), 4^2 + 1 chunks (a deeper tree)
        for size in [0usize, 1, 999, 1000, 4000, 4001, 16_001, 17_500] {
            let data = pattern(size);
            let opts = small_chunks(opts.clone());
            let a = add_reader(&mem, Cursor::new(data.clone()), opts.clone())
                .await
                .unwrap();
            let b = add_reader(&fs, Cursor::new(data.clone()), opts)
                .await
                .unwrap();
            assert_eq!(a.cid, b.cid);
            assert_eq!(a.size, size as u64);
            assert_eq!(
                export::cat_to_vec(&mem, &a.cid, u64::MAX).await.unwrap(),
                data,
                "size {size}"
            );
            assert_eq!(
                export::cat_to_vec(&fs, &b.cid, u64::MAX).await.unwrap(),
                data,
                "size {size}"
            );
            let info = export::stat(&fs, &b.cid).await.unwrap();
            assert_eq!((info.kind, info.size), (Kind::File, size as u64));
        }
    }
}

#[tokio::test]
async fn a_range_reads_only_the_blocks_it_needs() {
    let store = MemStore::new();
    let data = pattern(10_000); // ten 1000-byte raw leaves under a 4-ary tree
    let opts = small_chunks(ImportOptions::kubo_v1());
    let root = add_reader(&store, Cursor::new(data.clone()), opts)
        .await
        .unwrap()
        .cid;
    // Drop the first and last leaves: a middle range must still be readable.
    let first = scal3ml_store::Cid::hash_v1(Codec::Raw, &data[..1000]);
    let last = scal3ml_store::Cid::hash_v1(Codec::Raw, &data[9000..]);
    store.delete(&first).await.unwrap();
    store.delete(&last).await.unwrap();
    assert_eq!(
        range(&store, &root, 2500, 7300).await.unwrap(),
        &data[2500..7300]
    );
    assert_eq!(
        range(&store, &root, 1000, 9000).await.unwrap(),
        &data[1000..9000]
    );
    match export::cat_to_vec(&store, &root, u64::MAX).await {
        Err(StoreError::NotFound { cid }) => assert_eq!(cid, first),
        other => panic!(
            "expected the missing first leaf, got {:?}",
            other.map(|v| v.len())
        ),
    }
    assert!(
        matches!(range(&store, &root, 8999, 9001).await, Err(StoreError::NotFound { cid }) if cid == last)
    );
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(24))]
    #[test]
    fn any_range_matches_the_slice(size in 0usize..20_000, a in 0usize..20_000, b in 0usize..20_000, v0 in any::<bool>()) {
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        let data = pattern(size);
        let (start, end) = (a.min(b).min(size), a.max(b).min(size));
        let opts = small_chunks(if v0 { ImportOptions::kubo_v0() } else { ImportOptions::kubo_v1() });
        let got = rt.block_on(async {
            let store = MemStore::new();
            let root = add_reader(&store, Cursor::new(data.clone()), opts).await.unwrap().cid;
            range(&store, &root, start as u64, end as u64).await.unwrap()
        });
        prop_assert_eq!(&got[..], &data[start..end]);
    }
}

#[tokio::test]
async fn a_corrupted_block_is_reported_with_its_cid() {
    let store = MemStore::new();
    let data = pattern(5000);
    let root = add_reader(
        &store,
        Cursor::new(data.clone()),
        small_chunks(ImportOptions::kubo_v1()),
    )
    .await
    .unwrap();
    let leaf = Cid::hash_v1(Codec::Raw, &data[1000..2000]);
    let mut bad = data[1000..2000].to_vec();
    bad[17] ^= 1;
    store.put_unchecked(leaf, Bytes::from(bad));
    match export::cat_to_vec(&store, &root.cid, u64::MAX).await {
        Err(StoreError::HashMismatch { cid, .. }) => assert_eq!(cid, leaf),
        other => panic!("expected a hash mismatch, got {:?}", other.map(|v| v.len())),
    }
}

/// A store that hands out whatever it holds without checking: the only way to present a link cycle, which no
/// honest store can contain (a block cannot include its own hash).
#[derive(Default)]
struct Unverified(Mutex<HashMap<Cid, Bytes>>);

impl BlockStore for Unverified {
    fn get<'a>(&'a self, cid: &'a Cid) -> BoxFuture<'a, StoreResult<Bytes>> {
        Box::pin(async move {
            self.0
                .lock()
                .unwrap()
                .get(cid)
                .cloned()
                .ok_or(StoreError::NotFound { cid: *cid })
        })
    }
    fn put(&self, block: Block) -> BoxFuture<'_, StoreResult<()>> {
        Box::pin(async move {
            let (cid, data) = block.into_parts();
            self.0.lock().unwrap().insert(cid, data);
            Ok(())
        })
    }
    fn has<'a>(&'a self, cid: &'a Cid) -> BoxFuture<'a, StoreResult<bool>> {
        Box::pin(async move { Ok(self.0.lock().unwrap().contains_key(cid)) })
    }
    fn delete<'a>(&'a self, cid: &'a Cid) -> BoxFuture<'a, StoreResult<()>> {
        Box::pin(async move {
            self.0.lock().unwrap().remove(cid);
            Ok(())
        })
    }
}

#[tokio::test]
async fn a_link_cycle_is_an_error_not_a_hang() {
    let store = Unverified::default();
    let me = Cid::v1(Codec::DagPb, [9; 32]);
    let mut meta = UnixFs::new(DataType::File);
    meta.filesize = Some(10);
    meta.blocksizes = vec![10];
    let node = PbNode {
        links: vec![PbLink {
            cid: me,
            name: String::new(),
            tsize: 10,
        }],
        data: Some(Bytes::from(meta.encode())),
    };
    store
        .0
        .lock()
        .unwrap()
        .insert(me, Bytes::from(node.encode()));
    assert!(
        matches!(export::cat_to_vec(&store, &me, u64::MAX).await, Err(StoreError::Cycle { cid }) if cid == me)
    );
}

#[tokio::test]
async fn recursive_add_matches_kubo_and_exports_back() {
    let src = tempfile::tempdir().unwrap();
    std::fs::write(src.path().join("hey"), b"Hey\n").unwrap();
    std::fs::create_dir(src.path().join("hello")).unwrap();
    std::fs::write(src.path().join("hello/world"), b"World\n").unwrap();
    std::fs::write(src.path().join(".hidden"), b"skipped like ipfs add -r").unwrap();
    let store = MemStore::new();
    let root = add_path(&store, src.path(), ImportOptions::kubo_v0(), false)
        .await
        .unwrap();
    // `ipfs add -r` of this tree (testdata/unixfs.tsv)
    assert_eq!(
        root.cid.to_string(),
        "QmZQWnfcqJ6hNkkPvrY9Q5X39GP3jUnUbAV4AbmbbR3Cb1"
    );
    let names: Vec<_> = export::ls(&store, &root.cid)
        .await
        .unwrap()
        .into_iter()
        .map(|e| e.name)
        .collect();
    assert_eq!(names, ["hello", "hey"]);
    let world = export::resolve_str(&store, &format!("/ipfs/{}/hello/world", root.cid))
        .await
        .unwrap();
    assert_eq!(
        export::cat_to_vec(&store, &world, u64::MAX).await.unwrap(),
        b"World\n"
    );
    assert!(matches!(
        export::resolve_str(&store, &format!("{}/nope", root.cid)).await,
        Err(StoreError::NoSuchEntry { .. })
    ));

    let out = tempfile::tempdir().unwrap();
    let dest = out.path().join("copy");
    export::get_to_path(&store, &root.cid, &dest, &Default::default())
        .await
        .unwrap();
    assert_eq!(std::fs::read(dest.join("hello/world")).unwrap(), b"World\n");
    assert_eq!(std::fs::read(dest.join("hey")).unwrap(), b"Hey\n");
    assert!(!dest.join(".hidden").exists());
}

#[tokio::test]
async fn wrap_in_directory_names_the_file() {
    let src = tempfile::tempdir().unwrap();
    let file = src.path().join("model.bin");
    std::fs::write(&file, pattern(3000)).unwrap();
    let store = MemStore::new();
    let plain = add_path(&store, &file, ImportOptions::kubo_v1(), false)
        .await
        .unwrap();
    let wrapped = add_path(&store, &file, ImportOptions::kubo_v1(), true)
        .await
        .unwrap();
    let entries = export::ls(&store, &wrapped.cid).await.unwrap();
    assert_eq!(entries.len(), 1);
    assert_eq!(
        (entries[0].name.as_str(), entries[0].cid),
        ("model.bin", plain.cid)
    );
}

#[tokio::test]
async fn big_directories_become_hamt_shards_and_list_back() {
    let store = MemStore::new();
    let opts = ImportOptions::kubo_v1();
    let mut names = Vec::new();
    let mut entries = Vec::new();
    for i in 0..6000 {
        let name = format!("file-{i:05}.txt");
        let block = Block::hash(Codec::Raw, Bytes::from(name.clone().into_bytes())).unwrap();
        entries.push(DirEntry {
            name: name.clone(),
            cid: *block.cid(),
            tsize: name.len() as u64,
            size: name.len() as u64,
        });
        store.put(block).await.unwrap();
        names.push(name);
    }
    // 6000 * (14 + 36) bytes = 300 000 > 256 KiB: sharded
    let mut blocks = Vec::new();
    let mut sink = |b: Block| {
        blocks.push(b);
        Ok(())
    };
    let root = build_directory(entries, &opts, &mut sink).unwrap();
    assert!(blocks.len() > 1, "a HAMT has a root shard and sub-shards");
    for b in blocks {
        store.put(b).await.unwrap();
    }
    let meta = UnixFs::decode(
        &PbNode::decode(&store.get(&root.cid).await.unwrap())
            .unwrap()
            .data
            .unwrap(),
    )
    .unwrap();
    assert_eq!(
        (meta.kind, meta.fanout, meta.hash_type),
        (DataType::HamtShard, Some(256), Some(0x22))
    );
    let mut listed: Vec<_> = export::ls(&store, &root.cid)
        .await
        .unwrap()
        .into_iter()
        .map(|e| e.name)
        .collect();
    listed.sort();
    assert_eq!(listed, names);
    let one = export::resolve(&store, &root.cid, "file-04321.txt")
        .await
        .unwrap();
    assert_eq!(
        export::cat_to_vec(&store, &one, u64::MAX).await.unwrap(),
        b"file-04321.txt"
    );
}

#[tokio::test]
async fn a_directory_below_the_threshold_stays_plain() {
    let opts = ImportOptions::kubo_v1();
    let cid = Cid::hash_v1(Codec::Raw, b"x");
    let entries: Vec<_> = (0..100)
        .map(|i| DirEntry {
            name: format!("n{i}"),
            cid,
            tsize: 1,
            size: 1,
        })
        .collect();
    let mut sink = |_: Block| Ok(());
    let root = build_directory(entries, &opts, &mut sink).unwrap();
    let mut kept = None;
    let mut sink = |b: Block| {
        kept = Some(b);
        Ok(())
    };
    build_directory(
        (0..100)
            .map(|i| DirEntry {
                name: format!("n{i}"),
                cid,
                tsize: 1,
                size: 1,
            })
            .collect(),
        &opts,
        &mut sink,
    )
    .unwrap();
    let block = kept.unwrap();
    assert_eq!(*block.cid(), root.cid);
    let node = PbNode::decode(block.data()).unwrap();
    assert_eq!(node.links.len(), 100);
    assert_eq!(
        UnixFs::decode(&node.data.unwrap()).unwrap().kind,
        DataType::Directory
    );
}
