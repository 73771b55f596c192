//! One generic suite run against every local block store.

use bytes::Bytes;
use scal3ml_store::dagpb::{PbLink, PbNode};
use scal3ml_store::{
    Block, BlockStore, Cid, Codec, FsStore, MemStore, PinMode, PinStore, StoreError,
};

fn raw(data: &'static [u8]) -> Block {
    Block::hash(Codec::Raw, Bytes::from_static(data)).unwrap()
}

fn node(children: &[&Block]) -> Block {
    let node = PbNode {
        links: children
            .iter()
            .map(|b| PbLink {
                cid: *b.cid(),
                name: String::new(),
                tsize: b.data().len() as u64,
            })
            .collect(),
        data: Some(Bytes::from_static(&[8, 1])),
    };
    Block::hash(Codec::DagPb, node.encode()).unwrap()
}

async fn suite<S: PinStore>(store: &S) {
    let a = raw(b"alpha");
    let b = raw(b"beta");
    let c = raw(b"gamma");
    let loose = raw(b"loose");
    let parent = node(&[&a, &b]);

    // get / put / has / delete
    assert!(matches!(
        store.get(a.cid()).await,
        Err(StoreError::NotFound { .. })
    ));
    assert!(!store.has(a.cid()).await.unwrap());
    // a batch (with a duplicate) as the importer writes, then single puts
    store
        .put_many(vec![a.clone(), b.clone(), a.clone()])
        .await
        .unwrap();
    for block in [&c, &loose, &parent] {
        store.put(block.clone()).await.unwrap();
    }
    store.put(a.clone()).await.unwrap(); // idempotent
    assert_eq!(&store.get(a.cid()).await.unwrap(), a.data());
    assert!(store.has(parent.cid()).await.unwrap());
    let stats = store.stat().await.unwrap();
    assert_eq!(stats.blocks, 5);
    assert_eq!(stats.bytes, (5 + 4 + 5 + 5 + parent.data().len()) as u64);

    // pins: a recursive pin needs the whole DAG
    let missing = raw(b"not stored");
    let orphan_parent = node(&[&a, &missing]);
    store.put(orphan_parent.clone()).await.unwrap();
    assert!(matches!(
        store.pin(orphan_parent.cid(), PinMode::Recursive).await,
        Err(StoreError::NotFound { cid }) if cid == *missing.cid()
    ));
    store.pin(parent.cid(), PinMode::Recursive).await.unwrap();
    store.pin(c.cid(), PinMode::Direct).await.unwrap();
    assert_eq!(store.pins().await.unwrap().len(), 2);

    // gc keeps what pins reach and drops the rest
    let report = store.gc().await.unwrap();
    assert_eq!(report.removed_blocks, 2, "loose and orphan_parent");
    for kept in [&a, &b, &c, &parent] {
        assert!(store.has(kept.cid()).await.unwrap());
    }
    assert!(!store.has(loose.cid()).await.unwrap());

    // unpin then gc frees the DAG
    store.unpin(parent.cid()).await.unwrap();
    assert!(
        store.unpin(parent.cid()).await.is_err(),
        "unpinning twice is an error"
    );
    store.gc().await.unwrap();
    assert!(!store.has(a.cid()).await.unwrap());
    assert!(store.has(c.cid()).await.unwrap());
    store.delete(c.cid()).await.unwrap();
    store.delete(c.cid()).await.unwrap(); // idempotent
    assert_eq!(store.stat().await.unwrap().blocks, 0);

    // regression_gc_kept_cidv0_pins: a block pinned by its CIDv0 must survive gc
    let v0_dir: Cid = "QmUNLLsPACCz1vLxQVkXqqLX5R1X345qqfHbsf67hvA3Nn"
        .parse()
        .unwrap();
    store
        .put(Block::new(v0_dir, Bytes::from_static(&[0x0a, 0x02, 0x08, 0x01])).unwrap())
        .await
        .unwrap();
    store.pin(&v0_dir, PinMode::Recursive).await.unwrap();
    assert_eq!(store.gc().await.unwrap().removed_blocks, 0);
    assert!(store.has(&v0_dir).await.unwrap());
}

#[tokio::test]
async fn mem_store_passes_the_suite() {
    suite(&MemStore::new()).await;
}

#[tokio::test]
async fn fs_store_passes_the_suite() {
    let dir = tempfile::tempdir().unwrap();
    suite(&FsStore::open(dir.path()).unwrap()).await;
}

#[tokio::test]
async fn fs_store_keeps_blocks_and_pins_across_reopen() {
    let dir = tempfile::tempdir().unwrap();
    let a = raw(b"persist me");
    {
        let store = FsStore::open(dir.path()).unwrap();
        store.put(a.clone()).await.unwrap();
        store.pin(a.cid(), PinMode::Direct).await.unwrap();
    }
    // a crash mid-write leaves only a temp file, which reopening removes
    std::fs::write(dir.path().join("tmp").join("999-0"), b"half a blo").unwrap();
    let store = FsStore::open(dir.path()).unwrap();
    assert_eq!(&store.get(a.cid()).await.unwrap(), a.data());
    assert_eq!(
        store.pins().await.unwrap(),
        vec![(*a.cid(), PinMode::Direct)]
    );
    assert_eq!(
        std::fs::read_dir(dir.path().join("tmp")).unwrap().count(),
        0
    );
}

#[tokio::test]
async fn fs_store_detects_a_corrupted_block_on_read() {
    let dir = tempfile::tempdir().unwrap();
    let store = FsStore::open(dir.path()).unwrap();
    let a = raw(b"precious bytes");
    store.put(a.clone()).await.unwrap();
    let (cid, _) = store.list().await.unwrap()[0];
    let name = cid.to_string();
    let path = dir
        .path()
        .join("blocks")
        .join(&name[name.len() - 3..name.len() - 1])
        .join(format!("{name}.data"));
    std::fs::write(&path, b"precious bytez").unwrap();
    assert!(matches!(
        store.get(a.cid()).await,
        Err(StoreError::HashMismatch { .. })
    ));
}

#[tokio::test]
async fn cidv0_and_cidv1_of_one_node_share_a_block() {
    let dir = tempfile::tempdir().unwrap();
    let store = FsStore::open(dir.path()).unwrap();
    let data = Bytes::from_static(&[0x0a, 0x02, 0x08, 0x01]);
    let v0: Cid = "QmUNLLsPACCz1vLxQVkXqqLX5R1X345qqfHbsf67hvA3Nn"
        .parse()
        .unwrap();
    store
        .put(Block::new(v0, data.clone()).unwrap())
        .await
        .unwrap();
    assert_eq!(store.get(&v0.to_v1()).await.unwrap(), data);
}

#[test]
fn block_new_rejects_wrong_bytes_and_oversized_blocks() {
    let cid = Cid::hash_v1(Codec::Raw, b"right");
    assert!(matches!(
        Block::new(cid, &b"wrong"[..]),
        Err(StoreError::HashMismatch { .. })
    ));
    let big = vec![0u8; scal3ml_store::MAX_BLOCK_SIZE + 1];
    assert!(matches!(
        Block::hash(Codec::Raw, big),
        Err(StoreError::BlockTooLarge { .. })
    ));
}
