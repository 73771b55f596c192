//! The trustless gateway: our client against our server over real HTTP on 127.0.0.1, the in-process router's
//! answers to what the spec asks of it, and the gateway as a read-only BlockStore.

use std::collections::HashSet;
use std::net::SocketAddr;
use std::sync::Arc;

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use bytes::Bytes;
use scal3ml_store::gateway::{ByteRange, DagScope, GatewayClient, router};
use scal3ml_store::{
    Block, BlockStore, Cid, Codec, ImportOptions, MemStore, PinStore, StoreError, add_path,
    add_reader, export,
};
use tower::ServiceExt;

pub(crate) use scal3ml_store::testing::noise;

/// Serves `store` on 127.0.0.1 port 0; returns the base URL.
pub(crate) async fn serve(store: Arc<dyn BlockStore>) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr: SocketAddr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, router(store)).await.unwrap() });
    format!("http://{addr}")
}

async fn import(store: &MemStore, data: Vec<u8>, opts: ImportOptions) -> Cid {
    add_reader(store, std::io::Cursor::new(data), opts)
        .await
        .unwrap()
        .cid
}

async fn block_set(store: &MemStore) -> HashSet<Cid> {
    store
        .list()
        .await
        .unwrap()
        .into_iter()
        .map(|(cid, _)| cid)
        .collect()
}

#[tokio::test]
async fn client_fetches_a_multi_level_file_from_our_server_and_it_exports_identically() {
    let source = Arc::new(MemStore::new());
    // 1 KiB chunks and 4 links per node: 200 leaves make a DAG four levels deep.
    let data = noise(200 * 1024 + 17, 1);
    let opts = ImportOptions::kubo_v1()
        .with_chunk_size(1024)
        .with_max_links(4);
    let root = import(&source, data.clone(), opts).await;
    let url = serve(source.clone()).await;

    let sink = MemStore::new();
    let stats = GatewayClient::new(&url)
        .fetch_dag(&root, &sink)
        .await
        .unwrap();
    assert_eq!(
        block_set(&sink).await,
        block_set(&source).await,
        "every block arrives, none extra"
    );
    assert_eq!(stats.blocks as usize, block_set(&source).await.len());
    assert_eq!(
        export::cat_to_vec(&sink, &root, u64::MAX).await.unwrap(),
        data
    );
}

#[tokio::test]
async fn entity_bytes_sends_only_the_blocks_covering_the_range() {
    let source = Arc::new(MemStore::new());
    let data = noise(10 * 1024, 2);
    let root = import(
        &source,
        data.clone(),
        ImportOptions::kubo_v1().with_chunk_size(1024),
    )
    .await;
    let client = GatewayClient::new(serve(source).await);

    let sink = MemStore::new();
    let range: ByteRange = "2048:3071".parse().unwrap();
    let stats = client
        .fetch_car(&root, "", DagScope::Entity, Some(range), &sink)
        .await
        .unwrap();
    assert_eq!(
        stats.blocks, 2,
        "the root and the one leaf holding bytes 2048..3072"
    );
    let mut got = Vec::new();
    let mut collect = |b: Bytes| {
        got.extend_from_slice(&b);
        Ok(())
    };
    export::read_range(&sink, &root, 2048, Some(3072), &mut collect)
        .await
        .unwrap();
    assert_eq!(
        got,
        data[2048..3072],
        "the range reads back from the blocks that came"
    );

    let sink = MemStore::new();
    let stats = client
        .fetch_car(
            &root,
            "",
            DagScope::Entity,
            Some("-1:*".parse().unwrap()),
            &sink,
        )
        .await
        .unwrap();
    assert_eq!(
        stats.blocks, 2,
        "the last byte needs the root and the last leaf"
    );

    let sink = MemStore::new();
    let stats = client
        .fetch_car(&root, "", DagScope::Block, None, &sink)
        .await
        .unwrap();
    assert_eq!(stats.blocks, 1);
    assert_eq!(block_set(&sink).await, HashSet::from([root]));
}

#[tokio::test]
async fn paths_resolve_through_directories_and_entity_scope_stops_at_a_directory() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("sub")).unwrap();
    let file = noise(5000, 3);
    std::fs::write(dir.path().join("sub/model.bin"), &file).unwrap();
    std::fs::write(dir.path().join("card.json"), b"{\"name\":\"m\"}").unwrap();
    let source = Arc::new(MemStore::new());
    let opts = ImportOptions::kubo_v1().with_chunk_size(1024);
    let root = add_path(source.as_ref(), dir.path(), opts, false)
        .await
        .unwrap()
        .cid;
    let client = GatewayClient::new(serve(source.clone()).await);

    let sink = MemStore::new();
    client
        .fetch_car(&root, "/sub/model.bin", DagScope::Entity, None, &sink)
        .await
        .unwrap();
    let file_cid = export::resolve_str(&sink, &format!("{root}/sub/model.bin"))
        .await
        .unwrap();
    assert_eq!(
        export::cat_to_vec(&sink, &file_cid, u64::MAX)
            .await
            .unwrap(),
        file,
        "path blocks and the file arrived"
    );

    let sink = MemStore::new();
    let stats = client
        .fetch_car(&root, "", DagScope::Entity, None, &sink)
        .await
        .unwrap();
    assert_eq!(
        stats.blocks, 1,
        "a directory entity is its own node, not its children"
    );

    let sink = MemStore::new();
    let err = client
        .fetch_car(&root, "/nope", DagScope::All, None, &sink)
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::NotFound { .. }), "{err}");
}

#[tokio::test]
async fn a_block_missing_on_the_server_breaks_the_fetch_with_an_error() {
    let source = Arc::new(MemStore::new());
    let root = import(
        &source,
        noise(8 * 1024, 4),
        ImportOptions::kubo_v1().with_chunk_size(1024),
    )
    .await;
    let leaf = block_set(&source)
        .await
        .into_iter()
        .find(|c| c.codec() == Codec::Raw)
        .unwrap();
    source.delete(&leaf).await.unwrap();
    let client = GatewayClient::new(serve(source).await);
    let err = client.fetch_dag(&root, &MemStore::new()).await.unwrap_err();
    assert!(
        matches!(err, StoreError::Remote { .. }),
        "the broken-off CAR is reported: {err}"
    );
}

#[tokio::test]
async fn a_corrupt_block_never_reaches_the_client_as_good_bytes() {
    let source = Arc::new(MemStore::new());
    let honest = Block::hash(Codec::Raw, Bytes::from_static(b"the real bytes")).unwrap();
    source.put_unchecked(*honest.cid(), Bytes::from_static(b"swapped bytes!"));
    let client = GatewayClient::new(serve(source).await);
    assert!(client.block(honest.cid()).await.is_err());
    assert!(
        client
            .fetch_dag(honest.cid(), &MemStore::new())
            .await
            .is_err()
    );
}

#[tokio::test]
async fn blocks_outside_the_requested_dag_never_reach_the_store() {
    // A gateway that answers with the root and then a block nothing links to: a fault our own server cannot
    // be made to commit, so this one handler stands in for a hostile or broken gateway.
    let root = Block::hash(Codec::Raw, Bytes::from_static(b"the asked-for file")).unwrap();
    let stray = Block::hash(Codec::Raw, Bytes::from_static(b"something else")).unwrap();
    let mut car = scal3ml_store::car::CarWriter::new(Vec::new(), &[*root.cid()]).unwrap();
    car.write_block(&root).unwrap();
    car.write_block(&stray).unwrap();
    let body = Bytes::from(car.finish().unwrap());
    let app = axum::Router::new().fallback(move || {
        let body = body.clone();
        async move { ([(header::CONTENT_TYPE, "application/vnd.ipld.car")], body) }
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });

    let sink = MemStore::new();
    let err = GatewayClient::new(url)
        .fetch_dag(root.cid(), &sink)
        .await
        .unwrap_err();
    assert!(
        err.to_string().contains("not part of the requested DAG"),
        "{err}"
    );
    assert!(
        !sink.has(stray.cid()).await.unwrap(),
        "the stray block was not stored"
    );
}

async fn call(
    store: Arc<dyn BlockStore>,
    method: &str,
    uri: &str,
    accept: Option<&str>,
) -> (StatusCode, header::HeaderMap, Bytes) {
    let mut request = Request::builder().method(method).uri(uri);
    if let Some(accept) = accept {
        request = request.header(header::ACCEPT, accept);
    }
    let response = router(store)
        .oneshot(request.body(Body::empty()).unwrap())
        .await
        .unwrap();
    let (parts, body) = response.into_parts();
    let bytes = axum::body::to_bytes(body, usize::MAX).await.unwrap();
    (parts.status, parts.headers, bytes)
}

#[tokio::test]
async fn router_answers_as_the_trustless_gateway_spec_says() {
    let store: Arc<MemStore> = Arc::new(MemStore::new());
    let block = Block::hash(Codec::Raw, Bytes::from_static(b"hello gateway")).unwrap();
    store.put(block.clone()).await.unwrap();
    let store: Arc<dyn BlockStore> = store;
    let cid = block.cid();

    let (status, headers, body) = call(
        store.clone(),
        "GET",
        &format!("/ipfs/{cid}?format=raw"),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(headers[header::CONTENT_TYPE], "application/vnd.ipld.raw");
    assert_eq!(headers[header::ETAG], format!("\"{cid}.raw\""));
    assert_eq!(body, block.data());

    let (status, headers, body) = call(
        store.clone(),
        "GET",
        &format!("/ipfs/{cid}"),
        Some("application/vnd.ipld.raw"),
    )
    .await;
    assert_eq!(
        (status, headers[header::CONTENT_TYPE].to_str().unwrap()),
        (StatusCode::OK, "application/vnd.ipld.raw")
    );
    assert_eq!(
        body,
        block.data(),
        "Accept selects the format as ?format does"
    );

    let (status, headers, body) = call(
        store.clone(),
        "HEAD",
        &format!("/ipfs/{cid}?format=raw"),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        headers[header::CONTENT_LENGTH],
        block.data().len().to_string()
    );
    assert!(body.is_empty());

    let (status, headers, body) = call(
        store.clone(),
        "GET",
        &format!("/ipfs/{cid}"),
        Some("application/vnd.ipld.car; version=1"),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        headers[header::CONTENT_TYPE]
            .to_str()
            .unwrap()
            .starts_with("application/vnd.ipld.car; version=1")
    );
    let mut reader =
        scal3ml_store::car::CarReader::new(std::io::Cursor::new(body.to_vec())).unwrap();
    assert_eq!(reader.roots(), &[*cid]);
    assert_eq!(reader.next_block().unwrap().unwrap(), block);
    assert!(reader.next_block().unwrap().is_none());

    let missing = Block::hash(Codec::Raw, Bytes::from_static(b"missing")).unwrap();
    let (status, _, _) = call(
        store.clone(),
        "GET",
        &format!("/ipfs/{}?format=raw", missing.cid()),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _, _) = call(
        store.clone(),
        "GET",
        &format!("/ipfs/{}?format=car", missing.cid()),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    let (status, _, body) = call(store.clone(), "GET", &format!("/ipfs/{cid}"), None).await;
    assert_eq!(
        status,
        StatusCode::NOT_ACCEPTABLE,
        "no deserialized responses from a trustless gateway"
    );
    assert!(String::from_utf8_lossy(&body).contains("format=raw"));
    let (status, _, _) = call(store.clone(), "GET", "/ipfs/not-a-cid?format=raw", None).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let (status, _, _) = call(
        store.clone(),
        "GET",
        &format!("/ipfs/{cid}?format=car&dag-scope=most"),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let (status, _, _) = call(
        store.clone(),
        "GET",
        &format!("/ipfs/{cid}?format=car&entity-bytes=0:9"),
        None,
    )
    .await;
    assert_eq!(
        status,
        StatusCode::BAD_REQUEST,
        "entity-bytes without dag-scope=entity"
    );
}

#[tokio::test]
async fn paths_resolve_through_a_hamt_sharded_directory() {
    let dir = tempfile::tempdir().unwrap();
    for i in 0..4500 {
        let name = format!("entry-{i:05}-with-a-long-enough-name.txt");
        std::fs::write(dir.path().join(name), format!("entry {i}\n")).unwrap();
    }
    let source = Arc::new(MemStore::new());
    let root = add_path(source.as_ref(), dir.path(), ImportOptions::kubo_v1(), false)
        .await
        .unwrap()
        .cid;
    let client = GatewayClient::new(serve(source.clone()).await);

    let sink = MemStore::new();
    let path = "/entry-03210-with-a-long-enough-name.txt";
    client
        .fetch_car(&root, path, DagScope::Entity, None, &sink)
        .await
        .unwrap();
    let file = export::resolve_str(source.as_ref(), &format!("{root}{path}"))
        .await
        .unwrap();
    assert_eq!(
        export::cat_to_vec(&sink, &file, u64::MAX).await.unwrap(),
        b"entry 3210\n"
    );
    let sent = block_set(&sink).await.len();
    let all = block_set(&source).await.len();
    assert!(
        sent < all / 10,
        "shards searched and the file ({sent} blocks), not all {all}"
    );
}
