//! A node for the route tests: the devnet in-process with the contracts deployed, the node on 127.0.0.1 port 0
//! in a temporary data directory, and a helper that calls its router in-process.

use alloy::{
    network::EthereumWallet, providers::ProviderBuilder, signers::local::PrivateKeySigner,
};
use axum::{
    body::Body,
    http::{Request, header},
};
use scal3ml_devnet::{DevnetConfig, DevnetHandle, spawn};
use scal3ml_server::{Node, NodeConfig};
use serde_json::Value;
use tower::ServiceExt as _;

/// Any 32 hex digits: the double-submit check compares the cookie with the header.
pub(crate) const CSRF: &str = "0123456789abcdef0123456789abcdef";

pub(crate) struct TestNode {
    pub(crate) node: Node,
    _devnet: DevnetHandle,
    _dir: tempfile::TempDir,
}

impl TestNode {
    pub(crate) async fn start() -> Self {
        let devnet = spawn(DevnetConfig::test()).await.unwrap();
        let admin = PrivateKeySigner::from_bytes(&devnet.dev_keys()[0].1).unwrap();
        let provider = ProviderBuilder::new()
            .wallet(EthereumWallet::from(admin.clone()))
            .connect_http(devnet.http_url().parse().unwrap());
        let deployment = scal3ml_contracts::deploy(&provider, admin.address())
            .await
            .unwrap();
        let dir = tempfile::tempdir().unwrap();
        let config = NodeConfig::new(
            dir.path().join("node"),
            "127.0.0.1:0".parse().unwrap(),
            devnet.http_url(),
            deployment.manifest,
        );
        let node = Node::start(config).await.unwrap();
        Self {
            node,
            _devnet: devnet,
            _dir: dir,
        }
    }

    /// Sends `request` to the node's router in-process; the status and the body as JSON (`Value::Null` when it
    /// is not JSON), and the content type.
    pub(crate) async fn call(&self, request: Request<Body>) -> (u16, Value, String) {
        let response = self.node.router().oneshot(request).await.unwrap();
        let status = response.status().as_u16();
        let kind = response
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_string();
        let bytes = axum::body::to_bytes(response.into_body(), 1 << 20)
            .await
            .unwrap();
        (
            status,
            serde_json::from_slice(&bytes).unwrap_or(Value::Null),
            kind,
        )
    }
}

/// A request with the CSRF cookie and header a page sends.
pub(crate) fn with_csrf(method: &str, path: &str) -> axum::http::request::Builder {
    Request::builder()
        .method(method)
        .uri(path)
        .header(header::COOKIE, format!("scal3ml_csrf={CSRF}"))
        .header("x-csrf-token", CSRF)
}
