//! CAR v1 export and import: round trips, verification, truncation.

use std::io::Cursor;

use scal3ml_store::CidExt;
use scal3ml_store::car::{self, CarReader};
use scal3ml_store::{BlockStore, FsStore, ImportOptions, MemStore, StoreError, add_reader, export};

fn pattern(n: usize) -> Vec<u8> {
    (0..n).map(|i| (i * 13 % 251) as u8).collect()
}

async fn sample_car() -> (Vec<u8>, scal3ml_store::Cid, Vec<u8>) {
    let store = MemStore::new();
    let data = pattern(50_000);
    let opts = ImportOptions::kubo_v0()
        .with_chunk_size(4096)
        .with_max_links(3);
    let root = add_reader(&store, Cursor::new(data.clone()), opts)
        .await
        .unwrap();
    let mut out = Vec::new();
    let n = car::export_car(&store, &[root.cid], &mut out)
        .await
        .unwrap();
    assert_eq!(n, root.blocks);
    (out, root.cid, data)
}

#[tokio::test]
async fn a_dag_survives_export_and_import() {
    let (bytes, root, data) = sample_car().await;
    let dir = tempfile::tempdir().unwrap();
    let store = FsStore::open(dir.path()).unwrap();
    let (roots, count) = car::import_car(&store, &bytes[..]).await.unwrap();
    assert_eq!(roots, vec![root]);
    assert!(count > 10);
    assert_eq!(
        export::cat_to_vec(&store, &root, u64::MAX).await.unwrap(),
        data
    );
    // the root comes first, as trustless-gateway clients expect
    let mut reader = CarReader::new(&bytes[..]).unwrap();
    assert_eq!(*reader.next_block().unwrap().unwrap().cid(), root);
}

#[tokio::test]
async fn every_truncation_is_a_clear_error() {
    let (bytes, _, _) = sample_car().await;
    let header_len = car::encode_header(&[]).len();
    let store = MemStore::new();
    let mut step = 1;
    let mut cut = 0;
    while cut < bytes.len() {
        let result = car::import_car(&store, &bytes[..cut]).await;
        match result {
            Err(StoreError::Malformed {
                format: "CAR",
                reason,
            }) => {
                assert!(
                    reason.contains("truncated")
                        || reason.contains("empty")
                        || cut < header_len + 40,
                    "{reason}"
                )
            }
            Ok(_) => {
                // a cut exactly between sections is a shorter, valid CAR
            }
            Err(other) => panic!("cut at {cut}: unexpected {other}"),
        }
        cut += step;
        step = (step * 2).min(997);
    }
}

#[tokio::test]
async fn a_tampered_block_is_rejected() {
    let (mut bytes, _, _) = sample_car().await;
    let last = bytes.len() - 10;
    bytes[last] ^= 0x40;
    let store = MemStore::new();
    assert!(matches!(
        car::import_car(&store, &bytes[..]).await,
        Err(StoreError::HashMismatch { .. })
    ));
}

#[test]
fn header_round_trips_and_garbage_is_rejected() {
    let roots = [
        scal3ml_store::Cid::hash_v1(scal3ml_store::Codec::Raw, b"a"),
        scal3ml_store::Cid::v0([3; 32]),
    ];
    let header = car::encode_header(&roots);
    assert_eq!(CarReader::new(&header[..]).unwrap().roots(), roots);
    for bad in [
        &b""[..],
        b"\x05hello",
        b"\x01\xa0",
        b"\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff",
    ] {
        assert!(CarReader::new(bad).is_err(), "{bad:?}");
    }
}

#[tokio::test]
async fn a_missing_block_stops_export_with_its_cid() {
    let store = MemStore::new();
    let data = pattern(20_000);
    let opts = ImportOptions::kubo_v1().with_chunk_size(4096);
    let root = add_reader(&store, Cursor::new(data.clone()), opts)
        .await
        .unwrap();
    let gone = scal3ml_store::Cid::hash_v1(scal3ml_store::Codec::Raw, &data[4096..8192]);
    store.delete(&gone).await.unwrap();
    let result = car::export_car(&store, &[root.cid], Vec::new()).await;
    assert!(matches!(result, Err(StoreError::NotFound { cid }) if cid == gone));
}
