//! The generic suites of `scal3ml_store::testing` run against every backend that can run in `cargo test`:
//! MemStore, FsStore, and the trustless gateway client against our own gateway over HTTP. The Kubo RPC client
//! runs the same suite against js-ipfs in the interop suite (examples/kubo_interop.rs). Then what only the
//! local stores do: persistence, corruption on disk, CIDv0/CIDv1 sharing one file.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use bytes::Bytes;
use scal3ml_store::gateway::GatewayClient;
use scal3ml_store::testing::{Capabilities, block_store_suite, pin_store_suite};
use scal3ml_store::{
    Block, BlockStore, Cid, Codec, FsStore, MAX_BLOCK_SIZE, MemStore, PinMode, PinStore, StoreError,
};

use super::gateway::serve;

fn raw(data: &'static [u8]) -> Block {
    Block::hash(Codec::Raw, Bytes::from_static(data)).unwrap()
}

/// Where FsStore keeps a block: `blocks/<next-to-last two characters>/<cidv1>.data` (docs/storage.md).
fn fs_block_path(root: &Path, cid: &Cid) -> PathBuf {
    let name = cid.to_v1().to_string();
    root.join("blocks")
        .join(&name[name.len() - 3..name.len() - 1])
        .join(format!("{name}.data"))
}

#[tokio::test]
async fn mem_store_passes_the_suites() {
    let store = MemStore::new();
    let tamper = |cid: &Cid, data: Bytes| store.put_unchecked(*cid, data);
    let report = block_store_suite(
        &store,
        Capabilities::read_write()
            .with_tamper(&tamper)
            .with_largest_block(MAX_BLOCK_SIZE),
    )
    .await;
    assert!(report.not_run.is_empty(), "{report}");
    pin_store_suite(&MemStore::new()).await;
}

#[tokio::test]
async fn fs_store_passes_the_suites() {
    let dir = tempfile::tempdir().unwrap();
    let store = FsStore::open(dir.path()).unwrap();
    // Disk corruption, for real: other bytes in the block's file.
    let tamper = |cid: &Cid, data: Bytes| {
        let path = fs_block_path(dir.path(), cid);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, data).unwrap();
    };
    let report = block_store_suite(
        &store,
        Capabilities::read_write()
            .with_tamper(&tamper)
            .with_largest_block(MAX_BLOCK_SIZE),
    )
    .await;
    assert!(report.not_run.is_empty(), "{report}");
    let dir = tempfile::tempdir().unwrap();
    pin_store_suite(&FsStore::open(dir.path()).unwrap()).await;
}

#[tokio::test]
async fn gateway_client_over_our_gateway_passes_the_read_only_suite() {
    // Our gateway server over real HTTP on 127.0.0.1, a MemStore behind it; the suite writes into that store.
    let backing = Arc::new(MemStore::new());
    let client = GatewayClient::new(serve(backing.clone()).await);
    let tamper = |cid: &Cid, data: Bytes| backing.put_unchecked(*cid, data);
    let report = block_store_suite(
        &client,
        Capabilities::read_only(backing.as_ref())
            .with_tamper(&tamper)
            .with_largest_block(MAX_BLOCK_SIZE),
    )
    .await;
    assert!(report.not_run.is_empty(), "{report}");
    assert!(
        report
            .passed
            .contains(&"put and put_many fail with a read-only error"),
        "{report}"
    );
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
    let path = fs_block_path(dir.path(), &cid);
    assert!(path.exists(), "the block is where docs/storage.md says");
    std::fs::write(&path, b"precious bytez").unwrap();
    let err = store.get(a.cid()).await.unwrap_err();
    assert!(matches!(err, StoreError::HashMismatch { .. }));
    assert!(
        err.to_string().contains("add or fetch the content again"),
        "{err}"
    );

    // Adding the block again repairs the store, by either write path.
    store.put(a.clone()).await.unwrap();
    assert_eq!(&store.get(a.cid()).await.unwrap(), a.data());
    std::fs::write(&path, b"precious bytez").unwrap();
    store.put_many(vec![a.clone()]).await.unwrap();
    assert_eq!(&store.get(a.cid()).await.unwrap(), a.data());
}

#[tokio::test]
async fn one_process_at_a_time_owns_an_fs_store() {
    let dir = tempfile::tempdir().unwrap();
    let store = FsStore::open(dir.path()).unwrap();
    let a = raw(b"written by the first owner");
    store.put(a.clone()).await.unwrap();
    // A second owner would clear the first one's temp files and collect what it has not pinned yet.
    let err = FsStore::open(dir.path()).unwrap_err().to_string();
    assert!(
        err.contains("in use by process") && err.contains(&std::process::id().to_string()),
        "{err}"
    );
    assert!(err.contains("another --repo"), "says what to do: {err}");
    // Clones share the one open store; the lock goes with the last of them.
    let clone = store.clone();
    drop(store);
    assert!(FsStore::open(dir.path()).is_err());
    drop(clone);
    let reopened = FsStore::open(dir.path()).unwrap();
    assert_eq!(&reopened.get(a.cid()).await.unwrap(), a.data());
}
