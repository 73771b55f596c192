//! The Kubo RPC client's failures, caused for real. Its calls against a real node (js-ipfs 0.66 serving the Kubo
//! RPC API) run in the interop suite: scripts/suites/40-store-interop.sh and examples/kubo_interop.rs.

use scal3ml_store::kubo::{AddOptions, KuboClient};
use scal3ml_store::{BlockStore, Cid, StoreError};

#[tokio::test]
async fn an_unreachable_node_is_reported_with_what_to_check() {
    // Bind a port, then free it: nothing listens there.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let kubo = KuboClient::new(format!("http://127.0.0.1:{port}/api/v0/"));
    assert_eq!(
        kubo.api(),
        format!("http://127.0.0.1:{port}"),
        "a trailing /api/v0/ is accepted"
    );
    let err = kubo.id().await.unwrap_err();
    assert!(
        matches!(&err, StoreError::Remote { reason, .. } if reason.contains("is the daemon running")),
        "{err}"
    );
    let cid: Cid = "bafkreic64asha23aw7fh37wv5ox6cxbujtuh2zwspbdmcaoczdpx6vgcky"
        .parse()
        .unwrap();
    assert!(matches!(
        kubo.get(&cid).await,
        Err(StoreError::Remote { .. })
    ));
    assert!(
        kubo.add_bytes("x", vec![1, 2, 3], &AddOptions::v1())
            .await
            .is_err()
    );
}

#[tokio::test]
async fn a_server_that_is_not_kubo_is_reported_as_such() {
    // Our own trustless gateway is a real HTTP server that does not speak the Kubo RPC API.
    let url = crate::gateway::serve(std::sync::Arc::new(scal3ml_store::MemStore::new())).await;
    let err = KuboClient::new(url).id().await.unwrap_err();
    assert!(
        err.to_string().contains("is this a Kubo RPC API address?"),
        "{err}"
    );
}
