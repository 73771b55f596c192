//! Serves an access gateway for clients written elsewhere (e.g. viem in a browser-like script) to sign in to:
//! the embedded chain with the contracts deployed, one encrypted asset published by dev account 1 and bought
//! by dev account 2. Prints one JSON line (base URL, chain id, asset, the buyer's private key, the content key
//! and the plaintext in hex), then serves until stdin closes.
//!
//! `cargo run -p scal3ml-access --example access_gateway`

#[allow(dead_code)]
#[path = "../tests/it/common.rs"]
mod common;

#[tokio::main]
async fn main() {
    let node = common::Node::start(1000).await;
    let plaintext = common::noise(100_000, 9);
    let (key, cid) = node.encrypt_into_store(&plaintext).await;
    node.client
        .deposit_key(&node.signer(1), node.chain_id, &cid.to_string(), &key)
        .await
        .expect("deposit");
    let asset = node.publish(1, &cid, common::ONE_ETH, 0).await;
    node.buy(2, asset, common::ONE_ETH).await;
    let line = serde_json::json!({
        "base": node.base,
        "chain_id": node.chain_id,
        "asset": asset.0,
        "buyer_key": node.devnet.dev_keys()[2].1.to_string(),
        "key": key.to_hex(),
        "plaintext": alloy::primitives::hex::encode(&plaintext),
    });
    println!("{line}");
    // Serve until stdin closes (std's stdin on a blocking thread: the workspace's tokio has no io-std).
    let _ =
        tokio::task::spawn_blocking(|| std::io::copy(&mut std::io::stdin(), &mut std::io::sink()))
            .await;
    drop(node);
}
