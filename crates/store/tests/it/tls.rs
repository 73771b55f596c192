//! HTTPS: our trustless gateway and pinning service routers behind a real TLS server on 127.0.0.1 (a CA and
//! leaf certificates made by rcgen, rustls with ring on the server side), reached by our clients through
//! `HttpConfig`; and the errors a user gets when the certificate is not trusted, names another host, or the
//! server does not speak TLS at all.

use std::sync::Arc;

use scal3ml_store::gateway::{GatewayClient, router};
use scal3ml_store::http::HttpConfig;
use scal3ml_store::http::test_utils::{TestCa, serve_tls};
use scal3ml_store::kubo::KuboClient;
use scal3ml_store::pinning::{
    ListQuery, Pin, PinningClient, PinningConfig, PinningService, Status,
};
use scal3ml_store::{
    BlockStore, Cid, ImportOptions, MemStore, PinMode, PinStore, add_reader, export,
};

use crate::gateway::{noise, serve};

async fn import(store: &MemStore, len: usize, seed: u64) -> (Cid, Vec<u8>) {
    let data = noise(len, seed);
    let cid = add_reader(
        store,
        std::io::Cursor::new(data.clone()),
        ImportOptions::kubo_v1()
            .with_chunk_size(1024)
            .with_max_links(4),
    )
    .await
    .unwrap()
    .cid;
    (cid, data)
}

/// The error a fetch of `root` through `client` ends with (the test fails if it succeeds).
async fn fetch_error(client: GatewayClient, root: &Cid) -> String {
    let err = client.fetch_dag(root, &MemStore::new()).await.unwrap_err();
    err.to_string()
}

#[tokio::test]
async fn gateway_client_fetches_and_verifies_a_dag_over_https_when_the_ca_is_trusted() {
    let ca = TestCa::new();
    let source = Arc::new(MemStore::new());
    let (root, data) = import(&source, 40 * 1024 + 5, 1).await;
    let port = serve_tls(router(source.clone()), ca.leaf(&["localhost", "127.0.0.1"])).await;

    let client = GatewayClient::new(format!("https://127.0.0.1:{port}")).with_http(&ca.client());
    let sink = MemStore::new();
    let stats = client.fetch_dag(&root, &sink).await.unwrap();
    assert_eq!(stats.blocks as usize, source.list().await.unwrap().len());
    assert_eq!(
        export::cat_to_vec(&sink, &root, u64::MAX).await.unwrap(),
        data
    );
    // Single blocks (`?format=raw`) too, verified against their CID.
    assert_eq!(
        client.get(&root).await.unwrap(),
        source.get(&root).await.unwrap()
    );
}

#[tokio::test]
async fn a_ca_file_works_like_the_pem_and_localhost_is_a_valid_name() {
    let ca = TestCa::new();
    let dir = tempfile::tempdir().unwrap();
    let ca_file = dir.path().join("ca.pem");
    std::fs::write(&ca_file, ca.pem()).unwrap();
    let source = Arc::new(MemStore::new());
    let (root, data) = import(&source, 3000, 2).await;
    let port = serve_tls(router(source), ca.leaf(&["localhost", "127.0.0.1"])).await;

    let http = HttpConfig::new()
        .with_ca_cert_file(&ca_file)
        .unwrap()
        .client()
        .unwrap();
    let sink = MemStore::new();
    GatewayClient::new(format!("https://localhost:{port}/"))
        .with_http(&http)
        .fetch_dag(&root, &sink)
        .await
        .unwrap();
    assert_eq!(
        export::cat_to_vec(&sink, &root, u64::MAX).await.unwrap(),
        data
    );
}

#[tokio::test]
async fn pinning_client_pins_lists_and_deletes_over_https() {
    const TOKEN: &str = "tls-token";
    let ca = TestCa::new();
    let store = Arc::new(MemStore::new());
    let (cid, _) = import(&store, 5000, 3).await;
    let service = PinningService::new(
        store.clone(),
        PinningConfig::new(TOKEN, "/ip4/127.0.0.1/tcp/443/https"),
    )
    .unwrap();
    let port = serve_tls(service.router(), ca.leaf(&["127.0.0.1"])).await;

    let client =
        PinningClient::new(format!("https://127.0.0.1:{port}"), TOKEN).with_http(&ca.client());
    let status = client.add(&Pin::new(cid.to_string())).await.unwrap();
    assert_eq!(status.status, Status::Pinned);
    assert!(
        store
            .pins()
            .await
            .unwrap()
            .contains(&(cid, PinMode::Recursive))
    );
    assert_eq!(client.list(&ListQuery::default()).await.unwrap().count, 1);
    client.delete(&status.requestid).await.unwrap();
    assert!(store.pins().await.unwrap().is_empty());

    // The bearer token still matters over TLS.
    let wrong =
        PinningClient::new(format!("https://127.0.0.1:{port}"), "wrong").with_http(&ca.client());
    let err = wrong.list(&ListQuery::default()).await.unwrap_err();
    assert!(err.to_string().contains("401"), "{err}");
}

#[tokio::test]
async fn an_untrusted_certificate_is_refused_and_the_error_says_how_to_trust_the_ca() {
    let ca = TestCa::new();
    let source = Arc::new(MemStore::new());
    let (root, _) = import(&source, 3000, 4).await;
    let port = serve_tls(router(source), ca.leaf(&["127.0.0.1"])).await;
    let url = format!("https://127.0.0.1:{port}");

    // The default client trusts the system's CAs, which do not include ours.
    let err = fetch_error(GatewayClient::new(&url), &root).await;
    assert!(err.contains("not trusted"), "{err}");
    assert!(
        err.contains(&format!("127.0.0.1:{port}")),
        "names the host: {err}"
    );
    assert!(err.contains("SCAL3ML_CA_CERT"), "says what to do: {err}");

    let err = PinningClient::new(&url, "token")
        .list(&ListQuery::default())
        .await
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("not trusted") && err.contains("SCAL3ML_CA_CERT"),
        "{err}"
    );

    // Kubo's client says the same, not "is the daemon running?".
    let err = KuboClient::new(&url).id().await.unwrap_err().to_string();
    assert!(err.contains("not trusted"), "{err}");
    assert!(!err.contains("daemon"), "{err}");

    // Another CA's certificate is no substitute for the server's own.
    let other = TestCa::new();
    let err = fetch_error(GatewayClient::new(&url).with_http(&other.client()), &root).await;
    assert!(err.contains("not trusted"), "{err}");
}

#[tokio::test]
async fn a_certificate_for_another_host_name_is_refused() {
    let ca = TestCa::new();
    let source = Arc::new(MemStore::new());
    let (root, _) = import(&source, 3000, 5).await;
    let port = serve_tls(router(source), ca.leaf(&["gateway.example.org"])).await;

    let err = fetch_error(
        GatewayClient::new(format!("https://127.0.0.1:{port}")).with_http(&ca.client()),
        &root,
    )
    .await;
    assert!(err.contains("not valid for the name 127.0.0.1"), "{err}");
    assert!(
        err.contains("gateway.example.org"),
        "names what it is for: {err}"
    );
}

#[tokio::test]
async fn a_plain_http_server_behind_an_https_url_is_reported_as_such() {
    let source = Arc::new(MemStore::new());
    let (root, _) = import(&source, 3000, 6).await;
    let plain = serve(source).await;
    let url = plain.replacen("http://", "https://", 1);

    let err = fetch_error(GatewayClient::new(&url), &root).await;
    assert!(err.contains("did not answer in TLS"), "{err}");
    assert!(err.contains("http://"), "says what to use: {err}");
}

#[tokio::test]
async fn an_expired_certificate_is_refused_with_a_hint_to_renew_it() {
    let ca = TestCa::new();
    let source = Arc::new(MemStore::new());
    let (root, _) = import(&source, 3000, 7).await;
    let port = serve_tls(router(source), ca.expired_leaf(&["127.0.0.1"])).await;

    let err = fetch_error(
        GatewayClient::new(format!("https://127.0.0.1:{port}")).with_http(&ca.client()),
        &root,
    )
    .await;
    assert!(err.contains("outside its validity period"), "{err}");
    assert!(err.contains("renew"), "{err}");
}

#[tokio::test]
async fn an_http_url_to_a_tls_server_suggests_https() {
    let ca = TestCa::new();
    let source = Arc::new(MemStore::new());
    let (root, _) = import(&source, 3000, 8).await;
    let port = serve_tls(router(source), ca.leaf(&["127.0.0.1"])).await;

    let err = fetch_error(
        GatewayClient::new(format!("http://127.0.0.1:{port}")),
        &root,
    )
    .await;
    assert!(err.contains("use an https:// URL"), "{err}");
}
