//! Raw JSON-RPC over HTTP: the shapes and error codes clients rely on.

use scal3ml_devnet::{DevnetConfig, spawn};
use serde_json::{Value, json};

pub(crate) async fn rpc(url: &str, body: Value) -> Value {
    reqwest::Client::new()
        .post(url)
        .json(&body)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

#[tokio::test]
async fn chain_id_and_batch() {
    let node = spawn(DevnetConfig::test()).await.unwrap();
    let url = node.http_url();
    let one = rpc(
        &url,
        json!({"jsonrpc": "2.0", "id": 1, "method": "eth_chainId", "params": []}),
    )
    .await;
    assert_eq!(one["result"], "0x7a69");
    let batch = rpc(
        &url,
        json!([
            {"jsonrpc": "2.0", "id": 1, "method": "eth_blockNumber"},
            {"jsonrpc": "2.0", "id": 2, "method": "net_version"},
            {"jsonrpc": "2.0", "id": 3, "method": "eth_fillTransaction", "params": [{}]},
        ]),
    )
    .await;
    assert_eq!(batch[0]["result"], "0x0");
    assert_eq!(batch[1]["result"], "31337");
    assert_eq!(batch[2]["error"]["code"], -32601);
    node.shutdown().await;
}

/// The `result` of a call, panicking with the error if there is one.
pub(crate) async fn call(url: &str, method: &str, params: Value) -> Value {
    let answer = rpc(
        url,
        json!({"jsonrpc": "2.0", "id": 1, "method": method, "params": params}),
    )
    .await;
    assert!(answer.get("error").is_none(), "{method} failed: {answer}");
    answer["result"].clone()
}
