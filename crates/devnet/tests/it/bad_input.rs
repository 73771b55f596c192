//! Bad input gets the JSON-RPC error real nodes give, and the node keeps serving afterwards.

use alloy::{
    consensus::{SignableTransaction, TxEip1559, TxEnvelope, TxLegacy},
    eips::Encodable2718,
    primitives::{Address, Bytes, Signature, TxKind, U256},
    signers::{SignerSync, local::PrivateKeySigner},
};
use scal3ml_devnet::{DevnetConfig, DevnetHandle, spawn};
use serde_json::{Value, json};

use crate::{
    alloy_client::wallet,
    raw::{call, rpc},
};

pub(crate) fn sign(signer: &PrivateKeySigner, tx: TxEip1559) -> Bytes {
    let sig = signer.sign_hash_sync(&tx.signature_hash()).unwrap();
    TxEnvelope::from(tx.into_signed(sig)).encoded_2718().into()
}

pub(crate) fn transfer(chain_id: u64, nonce: u64, to: Address) -> TxEip1559 {
    TxEip1559 {
        chain_id,
        nonce,
        gas_limit: 21_000,
        max_fee_per_gas: 10_000_000_000,
        max_priority_fee_per_gas: 1_000_000_000,
        to: TxKind::Call(to),
        value: U256::from(1),
        ..Default::default()
    }
}

async fn error_of(url: &str, method: &str, params: Value) -> Value {
    let answer = rpc(
        url,
        json!({"jsonrpc": "2.0", "id": 7, "method": method, "params": params}),
    )
    .await;
    assert_eq!(answer["id"], 7);
    answer
        .get("error")
        .cloned()
        .unwrap_or_else(|| panic!("{method} should fail: {answer}"))
}

async fn raw_error(node: &DevnetHandle, raw: Bytes) -> (i64, String) {
    let e = error_of(&node.http_url(), "eth_sendRawTransaction", json!([raw])).await;
    (
        e["code"].as_i64().unwrap(),
        e["message"].as_str().unwrap().to_owned(),
    )
}

async fn still_serving(url: &str) {
    assert_eq!(call(url, "eth_chainId", json!([])).await, "0x7a69");
}

#[tokio::test]
async fn malformed_requests_get_protocol_errors() {
    let node = spawn(
        DevnetConfig::test()
            .with_max_batch(3)
            .with_max_body_bytes(4096),
    )
    .await
    .unwrap();
    let url = node.http_url();
    let client = reqwest::Client::new();
    let post = |body: String| {
        client
            .post(&url)
            .header("content-type", "application/json")
            .body(body)
            .send()
    };

    let parse: Value = post("{\"jsonrpc\":\"2.0\",".into())
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(parse["error"]["code"], -32700);
    assert_eq!(parse["id"], Value::Null);
    let empty: Value = post("[]".into()).await.unwrap().json().await.unwrap();
    assert_eq!(empty["error"]["code"], -32600);
    let call1 = json!({"jsonrpc": "2.0", "id": 1, "method": "eth_chainId"});
    let big_batch: Value = post(json!([call1, call1, call1, call1]).to_string())
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(big_batch["error"]["code"], -32600);
    assert!(
        big_batch["error"]["message"]
            .as_str()
            .unwrap()
            .contains("limit of 3")
    );
    let ok_batch: Value = post(json!([call1, call1, call1]).to_string())
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(ok_batch.as_array().unwrap().len(), 3);
    let oversized = post(format!("{{\"pad\":\"{}\"}}", "x".repeat(8192)))
        .await
        .unwrap();
    assert_eq!(oversized.status(), 413);
    let no_method: Value = post(json!({"jsonrpc": "2.0", "id": 2}).to_string())
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(no_method["error"]["code"], -32600);
    let mixed: Value = post(json!([call1, 5]).to_string())
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(mixed[0]["result"], "0x7a69");
    assert_eq!(mixed[1]["error"]["code"], -32600);

    assert_eq!(
        error_of(&url, "eth_frobnicate", json!([])).await["code"],
        -32601
    );
    let e = error_of(&url, "eth_getBalance", json!(["not an address", "latest"])).await;
    assert_eq!(e["code"], -32602);
    assert!(
        e["message"]
            .as_str()
            .unwrap()
            .contains("argument 1 (address)"),
        "{e}"
    );
    assert_eq!(
        error_of(&url, "eth_getBalance", json!({"address": "0x00"})).await["code"],
        -32602
    );
    assert_eq!(
        error_of(&url, "eth_getBlockByNumber", json!([true])).await["code"],
        -32602
    );
    assert_eq!(
        error_of(&url, "eth_getBalance", json!([Address::ZERO, "0x99"])).await["message"],
        "header not found"
    );
    still_serving(&url).await;
}

#[tokio::test]
async fn bad_parameters_are_invalid_params_naming_the_argument() {
    // Parameters are parsed into the method's typed request after its name is known: an unknown method is
    // -32601 whatever its parameters, a known one with a bad argument -32602 saying which argument.
    let node = spawn(DevnetConfig::test()).await.unwrap();
    let url = node.http_url();
    let e = error_of(&url, "eth_frobnicate", json!(["not an address", {"x": 1}])).await;
    assert_eq!(e["code"], -32601, "{e}");
    assert_eq!(
        e["message"],
        "the method eth_frobnicate does not exist/is not available"
    );
    for (method, params, argument) in [
        (
            "eth_getBalance",
            json!(["not an address", "latest"]),
            "argument 1 (address)",
        ),
        (
            "eth_getBalance",
            json!([Address::ZERO, "soon"]),
            "argument 2 (block)",
        ),
        (
            "eth_getStorageAt",
            json!([Address::ZERO]),
            "argument 2 (slot)",
        ),
        ("eth_call", json!(["0x00"]), "argument 1 (transaction)"),
        ("eth_getLogs", json!([42]), "argument 1 (filter)"),
        (
            "eth_getTransactionByBlockNumberAndIndex",
            json!(["latest", "x"]),
            "argument 2 (index)",
        ),
        ("evm_increaseTime", json!([-5]), "argument 1 (seconds)"),
        (
            "anvil_setBalance",
            json!([Address::ZERO, "lots"]),
            "argument 2 (balance)",
        ),
        (
            "hardhat_setBalance",
            json!([Address::ZERO]),
            "argument 2 (balance)",
        ),
        ("personal_sign", json!(["0x00", 7]), "argument 2 (address)"),
    ] {
        let e = error_of(&url, method, params).await;
        assert_eq!(e["code"], -32602, "{method}: {e}");
        let message = e["message"].as_str().unwrap();
        assert!(
            message.starts_with("invalid params: ") && message.contains(argument),
            "{method}: {message}"
        );
    }
    still_serving(&url).await;
    node.shutdown().await;
}

#[tokio::test]
async fn rejected_transactions_use_geth_messages() {
    let node = spawn(DevnetConfig::test()).await.unwrap();
    let url = node.http_url();
    let alice = wallet(&node, 0);
    let to = Address::repeat_byte(0x11);

    let (code, msg) = raw_error(&node, Bytes::from_static(&[0x02, 0xc0, 0x01])).await;
    assert_eq!(code, -32000);
    assert!(msg.contains("could not be decoded"), "{msg}");

    let (_, msg) = raw_error(&node, sign(&alice, transfer(1, 0, to))).await;
    assert!(msg.starts_with("invalid chain id for signer"), "{msg}");

    // A signature with s = 0 recovers to no one.
    let tx = transfer(31337, 0, to);
    let bad = Signature::new(U256::from(1), U256::ZERO, false);
    let raw: Bytes = TxEnvelope::from(tx.into_signed(bad)).encoded_2718().into();
    let (_, msg) = raw_error(&node, raw).await;
    assert!(msg.starts_with("invalid sender"), "{msg}");

    call(
        &url,
        "eth_sendRawTransaction",
        json!([sign(&alice, transfer(31337, 0, to))]),
    )
    .await;
    let (_, msg) = raw_error(&node, sign(&alice, transfer(31337, 0, to))).await;
    assert!(
        msg.starts_with("already known") || msg.starts_with("nonce too low"),
        "{msg}"
    );
    let mut again = transfer(31337, 0, to);
    again.value = U256::from(2);
    let (_, msg) = raw_error(&node, sign(&alice, again)).await;
    assert!(msg.starts_with("nonce too low"), "{msg}");
    let (_, msg) = raw_error(&node, sign(&alice, transfer(31337, 5, to))).await;
    assert!(msg.starts_with("nonce too high"), "{msg}");

    let pauper = PrivateKeySigner::random();
    let (_, msg) = raw_error(&node, sign(&pauper, transfer(31337, 0, to))).await;
    assert!(
        msg.starts_with("insufficient funds for gas * price + value"),
        "{msg}"
    );

    let mut low_gas = transfer(31337, 1, to);
    low_gas.gas_limit = 20_000;
    let (_, msg) = raw_error(&node, sign(&alice, low_gas)).await;
    assert!(msg.starts_with("intrinsic gas too low"), "{msg}");

    let mut cheap = transfer(31337, 1, to);
    cheap.max_fee_per_gas = 1;
    cheap.max_priority_fee_per_gas = 1;
    let (_, msg) = raw_error(&node, sign(&alice, cheap)).await;
    assert!(
        msg.starts_with("max fee per gas less than block base fee"),
        "{msg}"
    );

    let mut huge = transfer(31337, 1, to);
    huge.to = TxKind::Create;
    huge.gas_limit = 29_000_000;
    huge.input = vec![0u8; 49_153].into();
    let (_, msg) = raw_error(&node, sign(&alice, huge)).await;
    assert!(msg.starts_with("max initcode size exceeded"), "{msg}");

    let legacy = TxLegacy {
        chain_id: Some(31337),
        nonce: 1,
        gas_price: 10_000_000_000,
        gas_limit: 50_000_000,
        to: TxKind::Call(to),
        value: U256::from(1),
        ..Default::default()
    };
    let sig = alice.sign_hash_sync(&legacy.signature_hash()).unwrap();
    let raw: Bytes = TxEnvelope::from(legacy.into_signed(sig))
        .encoded_2718()
        .into();
    let (_, msg) = raw_error(&node, raw).await;
    assert!(msg.starts_with("exceeds block gas limit"), "{msg}");

    // None of that disturbed the chain: one block, and the next valid nonce is 1.
    assert_eq!(call(&url, "eth_blockNumber", json!([])).await, "0x1");
    call(
        &url,
        "eth_sendRawTransaction",
        json!([sign(&alice, transfer(31337, 1, to))]),
    )
    .await;
    assert_eq!(
        call(&url, "eth_getBalance", json!([to, "latest"])).await,
        "0x2"
    );
}

#[tokio::test]
async fn reverts_answer_code_3_with_data() {
    let node = spawn(DevnetConfig::test()).await.unwrap();
    let url = node.http_url();
    // Init code that reverts with 4 bytes 0xdeadbeef: PUSH4 deadbeef PUSH1 0 MSTORE PUSH1 4 PUSH1 28 REVERT.
    let code = "0x63deadbeef6000526004601cfd";
    let e = error_of(&url, "eth_call", json!([{"data": code}, "latest"])).await;
    assert_eq!(e["code"], 3);
    assert_eq!(e["data"], "0xdeadbeef");
    assert_eq!(e["message"], "execution reverted");
    let e = error_of(
        &url,
        "eth_estimateGas",
        json!([{"from": Address::ZERO, "data": code}]),
    )
    .await;
    assert_eq!(e["code"], 3);
    assert_eq!(e["data"], "0xdeadbeef");
}
