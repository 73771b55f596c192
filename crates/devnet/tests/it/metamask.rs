//! The calls MetaMask makes when a user adds a custom network and sends ETH, replayed in its order with its
//! parameters, checking each answer the way the wallet uses it.

use alloy::{
    consensus::TxEip1559,
    primitives::{Address, TxKind, U256},
};
use scal3ml_devnet::{DevnetConfig, spawn};
use serde_json::{Value, json};

use crate::{alloy_client::wallet, bad_input::sign, raw::call};

fn num(v: &Value) -> u128 {
    u128::from_str_radix(v.as_str().unwrap().trim_start_matches("0x"), 16).unwrap()
}

#[tokio::test]
async fn add_network_and_send_eth() {
    let node = spawn(DevnetConfig::test()).await.unwrap();
    let url = node.http_url();
    let from = node.dev_keys()[0].0;
    let to: Address = "0x70997970C51812dc3A010C7d01b50e0d17dc79C8"
        .parse()
        .unwrap();

    // Adding the network: the chain id must equal the one the user typed; net_version must agree.
    assert_eq!(call(&url, "eth_chainId", json!([])).await, "0x7a69");
    assert_eq!(call(&url, "net_version", json!([])).await, "31337");
    let number = call(&url, "eth_blockNumber", json!([])).await;
    // EIP-1559 detection: the latest block has a base fee.
    let latest = call(&url, "eth_getBlockByNumber", json!(["latest", false])).await;
    assert_eq!(latest["number"], number);
    let base_fee = num(&latest["baseFeePerGas"]);
    assert!(base_fee > 0);
    assert_eq!(
        call(&url, "eth_getBalance", json!([from, "latest"])).await,
        "0x21e19e0c9bab2400000"
    );

    // Preparing the send: fee suggestions, recipient code (empty: a plain transfer), gas, nonce.
    let history = call(
        &url,
        "eth_feeHistory",
        json!(["0x5", "latest", [10, 20, 30]]),
    )
    .await;
    assert_eq!(
        history["baseFeePerGas"].as_array().unwrap().len(),
        2,
        "one block so far, plus the next"
    );
    assert_eq!(history["reward"][0].as_array().unwrap().len(), 3);
    let next_base_fee = num(history["baseFeePerGas"].as_array().unwrap().last().unwrap());
    assert_eq!(call(&url, "eth_getCode", json!([to, "latest"])).await, "0x");
    let gas = call(
        &url,
        "eth_estimateGas",
        json!([{"from": from, "to": to, "value": "0xde0b6b3a7640000"}]),
    )
    .await;
    assert_eq!(gas, "0x5208");
    let nonce = call(&url, "eth_getTransactionCount", json!([from, "latest"])).await;
    assert_eq!(nonce, "0x0");
    let tip = num(&call(&url, "eth_maxPriorityFeePerGas", json!([])).await);

    // The wallet signs with its own key and submits.
    let tx = TxEip1559 {
        chain_id: 31337,
        nonce: 0,
        gas_limit: num(&gas) as u64,
        max_fee_per_gas: 2 * next_base_fee + tip,
        max_priority_fee_per_gas: tip,
        to: TxKind::Call(to),
        value: U256::from(10u64).pow(U256::from(18u64)),
        ..Default::default()
    };
    let hash = call(
        &url,
        "eth_sendRawTransaction",
        json!([sign(&wallet(&node, 0), tx)]),
    )
    .await;

    // Polling for the receipt, then the block it names.
    let receipt = call(&url, "eth_getTransactionReceipt", json!([hash])).await;
    assert_eq!(receipt["status"], "0x1");
    assert_eq!(receipt["transactionHash"], hash);
    assert_eq!(receipt["type"], "0x2");
    assert_eq!(receipt["gasUsed"], "0x5208");
    assert_eq!(num(&receipt["effectiveGasPrice"]), next_base_fee + tip);
    let block = call(
        &url,
        "eth_getBlockByNumber",
        json!([receipt["blockNumber"], false]),
    )
    .await;
    assert_eq!(block["hash"], receipt["blockHash"]);
    assert_eq!(block["transactions"], json!([hash]));
    assert_eq!(
        call(&url, "eth_getBalance", json!([to, "latest"])).await,
        "0x21e27c1806e59a40000"
    );
    // The wallet's next nonce comes from the chain, so a second send continues from 1.
    assert_eq!(
        call(&url, "eth_getTransactionCount", json!([from, "latest"])).await,
        "0x1"
    );
}
