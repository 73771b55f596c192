//! The wider method list: filters, subscriptions, dev controls, signing, mining modes.

use std::time::Duration;

use alloy::{
    dyn_abi::TypedData,
    primitives::{Address, B256, Bytes, Signature, U256, keccak256},
    providers::Provider,
};
use futures_util::{SinkExt, StreamExt};
use scal3ml_devnet::{DevnetConfig, MiningMode, spawn};
use serde_json::{Value, json};
use tokio_tungstenite::{connect_async, tungstenite::Message};

use crate::{
    alloy_client::{Probe, provider},
    raw::{call, rpc},
};

const ALICE: &str = "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266";
const BOB: &str = "0x70997970C51812dc3A010C7d01b50e0d17dc79C8";

fn send(url: &str, value: u64) -> impl std::future::Future<Output = Value> + use<> {
    let url = url.to_owned();
    async move {
        call(
            &url,
            "eth_sendTransaction",
            json!([{"from": ALICE, "to": BOB, "value": format!("{value:#x}")}]),
        )
        .await
    }
}

#[tokio::test]
async fn log_and_block_filters_report_only_what_is_new() {
    let node = spawn(DevnetConfig::test()).await.unwrap();
    let url = node.http_url();
    let probe = Probe::deploy(provider(&node, 0), U256::ZERO).await.unwrap();
    let logs = call(
        &url,
        "eth_newFilter",
        json!([{"fromBlock": "earliest", "address": probe.address()}]),
    )
    .await;
    let blocks = call(&url, "eth_newBlockFilter", json!([])).await;
    probe
        .store(U256::from(1), U256::from(2))
        .send()
        .await
        .unwrap()
        .get_receipt()
        .await
        .unwrap();
    probe
        .store(U256::from(3), U256::from(4))
        .send()
        .await
        .unwrap()
        .get_receipt()
        .await
        .unwrap();
    let changes = call(&url, "eth_getFilterChanges", json!([logs])).await;
    assert_eq!(changes.as_array().unwrap().len(), 2, "{changes:#}");
    assert_eq!(
        call(&url, "eth_getFilterChanges", json!([logs])).await,
        json!([])
    );
    assert_eq!(
        call(&url, "eth_getFilterLogs", json!([logs]))
            .await
            .as_array()
            .unwrap()
            .len(),
        2
    );
    let hashes = call(&url, "eth_getFilterChanges", json!([blocks])).await;
    assert_eq!(hashes.as_array().unwrap().len(), 2);
    assert_eq!(call(&url, "eth_uninstallFilter", json!([logs])).await, true);
    assert_eq!(
        call(&url, "eth_uninstallFilter", json!([logs])).await,
        false
    );
    let gone = rpc(
        &url,
        json!({"jsonrpc":"2.0","id":1,"method":"eth_getFilterChanges","params":[logs]}),
    )
    .await;
    assert_eq!(gone["error"]["message"], "filter not found");
}

#[tokio::test]
async fn get_logs_topic_lists_with_nulls_and_or_arrays() {
    let node = spawn(DevnetConfig::test()).await.unwrap();
    let url = node.http_url();
    let probe = Probe::deploy(provider(&node, 0), U256::ZERO).await.unwrap();
    for key in 1..=3u64 {
        probe
            .store(U256::from(key), U256::from(key))
            .send()
            .await
            .unwrap()
            .get_receipt()
            .await
            .unwrap();
    }
    let topic = |k: u64| B256::from(U256::from(k));
    let sig = keccak256("Stored(address,uint256,uint256)");
    let count = |filter: Value| {
        let url = url.clone();
        async move {
            call(&url, "eth_getLogs", json!([filter]))
                .await
                .as_array()
                .unwrap()
                .len()
        }
    };
    assert_eq!(
        count(json!({"fromBlock": "earliest", "topics": [sig]})).await,
        3
    );
    assert_eq!(
        count(json!({"fromBlock": "0x0", "topics": [null, null, [topic(1), topic(3)]]})).await,
        2
    );
    assert_eq!(
        count(json!({"fromBlock": "0x0", "topics": [sig, null, topic(2)]})).await,
        1
    );
    assert_eq!(
        count(json!({"fromBlock": "0x0", "address": [Address::ZERO, probe.address()]})).await,
        3
    );
    assert_eq!(
        count(json!({"fromBlock": "0x0", "address": Address::ZERO})).await,
        0
    );
    assert_eq!(
        count(json!({"fromBlock": "0x2", "toBlock": "0x2"})).await,
        1
    );
    let block = call(&url, "eth_getBlockByNumber", json!(["0x3", false])).await;
    assert_eq!(count(json!({"blockHash": block["hash"]})).await, 1);
}

#[tokio::test]
async fn websocket_subscriptions_deliver_heads_and_logs() {
    let node = spawn(DevnetConfig::test()).await.unwrap();
    let probe = Probe::deploy(provider(&node, 0), U256::ZERO).await.unwrap();
    let (mut ws, _) = connect_async(node.ws_url()).await.unwrap();
    let request = |id: u64, method: &str, params: Value| {
        Message::Text(
            json!({"jsonrpc":"2.0","id":id,"method":method,"params":params})
                .to_string()
                .into(),
        )
    };
    ws.send(request(1, "eth_subscribe", json!(["newHeads"])))
        .await
        .unwrap();
    ws.send(request(
        2,
        "eth_subscribe",
        json!(["logs", {"address": probe.address()}]),
    ))
    .await
    .unwrap();
    ws.send(request(3, "eth_chainId", json!([]))).await.unwrap();
    let mut next = async || -> Value {
        let msg = tokio::time::timeout(Duration::from_secs(10), ws.next())
            .await
            .unwrap()
            .unwrap()
            .unwrap();
        serde_json::from_str(msg.to_text().unwrap()).unwrap()
    };
    let heads_id = next().await["result"].clone();
    let logs_id = next().await["result"].clone();
    assert_eq!(next().await["result"], "0x7a69");
    probe
        .store(U256::from(1), U256::from(5))
        .send()
        .await
        .unwrap()
        .get_receipt()
        .await
        .unwrap();
    let mut got_head = false;
    let mut got_log = false;
    while !(got_head && got_log) {
        let msg = next().await;
        assert_eq!(msg["method"], "eth_subscription");
        let params = &msg["params"];
        if params["subscription"] == heads_id {
            assert_eq!(params["result"]["number"], "0x2");
            got_head = true;
        } else if params["subscription"] == logs_id {
            assert_eq!(
                params["result"]["address"].as_str().unwrap().to_lowercase(),
                probe.address().to_string().to_lowercase()
            );
            got_log = true;
        }
    }
}

#[tokio::test]
async fn snapshot_revert_mine_and_time_controls() {
    let node = spawn(DevnetConfig::test()).await.unwrap();
    let url = node.http_url();
    let snap = call(&url, "evm_snapshot", json!([])).await;
    send(&url, 7).await;
    assert_eq!(call(&url, "eth_blockNumber", json!([])).await, "0x1");
    assert_eq!(call(&url, "evm_revert", json!([snap])).await, true);
    assert_eq!(call(&url, "eth_blockNumber", json!([])).await, "0x0");
    assert_eq!(
        call(&url, "eth_getBalance", json!([BOB, "latest"])).await,
        "0x21e19e0c9bab2400000"
    );
    assert_eq!(
        call(&url, "evm_revert", json!([snap])).await,
        false,
        "a snapshot is used up by revert"
    );

    let head: Value = call(&url, "eth_getBlockByNumber", json!(["latest", false])).await;
    let ts = u64::from_str_radix(
        head["timestamp"].as_str().unwrap().trim_start_matches("0x"),
        16,
    )
    .unwrap();
    call(&url, "evm_setNextBlockTimestamp", json!([ts + 1000])).await;
    call(&url, "evm_mine", json!([])).await;
    let mined: Value = call(&url, "eth_getBlockByNumber", json!(["latest", false])).await;
    assert_eq!(mined["timestamp"], format!("{:#x}", ts + 1000));
    call(&url, "evm_increaseTime", json!([3600])).await;
    call(&url, "evm_mine", json!([])).await;
    let later: Value = call(&url, "eth_getBlockByNumber", json!(["latest", false])).await;
    let later_ts = u64::from_str_radix(
        later["timestamp"]
            .as_str()
            .unwrap()
            .trim_start_matches("0x"),
        16,
    )
    .unwrap();
    assert!(later_ts >= ts + 1000 + 3600, "{later_ts} vs {ts}");
    let past = rpc(
        &url,
        json!({"jsonrpc":"2.0","id":1,"method":"evm_setNextBlockTimestamp","params":[ts]}),
    )
    .await;
    assert_eq!(past["error"]["code"], -32602);

    for method in ["anvil_setBalance", "hardhat_setBalance"] {
        call(&url, method, json!([BOB, "0x2a"])).await;
        assert_eq!(
            call(&url, "eth_getBalance", json!([BOB, "latest"])).await,
            "0x2a"
        );
    }
    call(&url, "anvil_mine", json!(["0x3"])).await;
    assert_eq!(call(&url, "eth_blockNumber", json!([])).await, "0x5");
}

#[tokio::test]
async fn signing_methods_recover_to_the_dev_account() {
    let node = spawn(DevnetConfig::test()).await.unwrap();
    let url = node.http_url();
    let alice: Address = ALICE.parse().unwrap();
    let message = b"Sign in to Scal3ML";
    let hex_msg = Bytes::from_static(message);
    for (method, params) in [
        ("personal_sign", json!([hex_msg, ALICE])),
        ("eth_sign", json!([ALICE, hex_msg])),
    ] {
        let sig: Bytes = serde_json::from_value(call(&url, method, params).await).unwrap();
        let sig = Signature::try_from(sig.as_ref()).unwrap();
        assert_eq!(
            sig.recover_address_from_msg(message).unwrap(),
            alice,
            "{method}"
        );
    }
    let typed = json!({
        "types": {
            "EIP712Domain": [{"name": "name", "type": "string"}, {"name": "chainId", "type": "uint256"}],
            "Login": [{"name": "nonce", "type": "uint256"}]
        },
        "primaryType": "Login",
        "domain": {"name": "Scal3ML", "chainId": 31337},
        "message": {"nonce": 42}
    });
    let sig: Bytes = serde_json::from_value(
        call(
            &url,
            "eth_signTypedData_v4",
            json!([ALICE, typed.to_string()]),
        )
        .await,
    )
    .unwrap();
    let hash = serde_json::from_value::<TypedData>(typed)
        .unwrap()
        .eip712_signing_hash()
        .unwrap();
    let sig = Signature::try_from(sig.as_ref()).unwrap();
    assert_eq!(sig.recover_address_from_prehash(&hash).unwrap(), alice);
    let stranger = rpc(
        &url,
        json!({"jsonrpc":"2.0","id":1,"method":"personal_sign","params":[hex_msg, Address::ZERO]}),
    )
    .await;
    assert!(
        stranger["error"]["message"]
            .as_str()
            .unwrap()
            .contains("unknown account")
    );
}

#[tokio::test]
async fn manual_mining_holds_transactions_until_evm_mine() {
    let node = spawn(DevnetConfig::test().with_mining(MiningMode::Manual))
        .await
        .unwrap();
    let url = node.http_url();
    let pending_filter = call(&url, "eth_newPendingTransactionFilter", json!([])).await;
    let hash = send(&url, 1).await;
    let second = send(&url, 2).await;
    assert_eq!(
        call(&url, "eth_getFilterChanges", json!([pending_filter])).await,
        json!([hash, second])
    );
    assert_eq!(
        call(&url, "eth_getFilterChanges", json!([pending_filter])).await,
        json!([])
    );
    assert_eq!(
        call(&url, "eth_getTransactionReceipt", json!([hash])).await,
        Value::Null
    );
    assert_eq!(
        call(&url, "eth_getTransactionCount", json!([ALICE, "pending"])).await,
        "0x2"
    );
    assert_eq!(
        call(&url, "eth_getTransactionCount", json!([ALICE, "latest"])).await,
        "0x0"
    );
    let pending = call(&url, "eth_getTransactionByHash", json!([hash])).await;
    assert_eq!(pending["blockHash"], Value::Null);
    call(&url, "evm_mine", json!([])).await;
    let block = call(&url, "eth_getBlockByNumber", json!(["0x1", false])).await;
    assert_eq!(block["transactions"], json!([hash, second]));
    let r = call(&url, "eth_getTransactionReceipt", json!([second])).await;
    assert_eq!(r["transactionIndex"], "0x1");
    assert_eq!(r["cumulativeGasUsed"], "0xa410");
}

#[tokio::test]
async fn interval_mining_produces_blocks_on_its_own() {
    let node =
        spawn(DevnetConfig::test().with_mining(MiningMode::Interval(Duration::from_millis(100))))
            .await
            .unwrap();
    let p = provider(&node, 0);
    let hash = send(&node.http_url(), 3).await;
    let hash: B256 = serde_json::from_value(hash).unwrap();
    let mut receipt = None;
    for _ in 0..100 {
        receipt = p.get_transaction_receipt(hash).await.unwrap();
        if receipt.is_some() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(receipt.expect("mined within 5 s").status());
    assert!(p.get_block_number().await.unwrap() >= 1);
}
