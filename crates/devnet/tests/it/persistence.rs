//! Persistence: a restart restores head, hashes, balances, nonces, code, storage and logs; a kill -9 while
//! transactions stream in loses nothing whose receipt was served and leaves a store that opens.

use std::{
    io::{BufRead, BufReader},
    process::{Child, Command, Stdio},
    time::Duration,
};

use alloy::{
    network::TransactionBuilder,
    primitives::{Address, U256},
    providers::Provider,
    rpc::types::{Filter, TransactionRequest},
};
use scal3ml_devnet::{DevnetConfig, spawn};
use serde_json::json;

use crate::{
    alloy_client::{Probe, provider},
    raw::rpc,
};

#[tokio::test]
async fn restart_restores_the_whole_chain() {
    let dir = tempfile::tempdir().unwrap();
    let config = DevnetConfig::test().with_data_dir(dir.path());
    let node = spawn(config.clone()).await.unwrap();
    let p = provider(&node, 0);
    let probe = Probe::deploy(p.clone(), U256::from(3)).await.unwrap();
    probe
        .store(U256::from(1), U256::from(11))
        .send()
        .await
        .unwrap()
        .get_receipt()
        .await
        .unwrap();
    let to = Address::repeat_byte(0x77);
    let transfer = p
        .send_transaction(
            TransactionRequest::default()
                .with_to(to)
                .with_value(U256::from(5)),
        )
        .await
        .unwrap()
        .get_receipt()
        .await
        .unwrap();
    // A snapshot/revert pair and a balance edit are part of the history too.
    let url = node.http_url();
    let snap = rpc(
        &url,
        json!({"jsonrpc":"2.0","id":1,"method":"evm_snapshot"}),
    )
    .await["result"]
        .clone();
    probe
        .store(U256::from(2), U256::from(22))
        .send()
        .await
        .unwrap()
        .get_receipt()
        .await
        .unwrap();
    let reverted = rpc(
        &url,
        json!({"jsonrpc":"2.0","id":2,"method":"evm_revert","params":[snap]}),
    )
    .await;
    assert_eq!(reverted["result"], true);
    let rich = Address::repeat_byte(0x55);
    rpc(
        &url,
        json!({"jsonrpc":"2.0","id":3,"method":"anvil_setBalance","params":[rich, "0x1234"]}),
    )
    .await;

    let head = p
        .get_block(alloy::eips::BlockId::latest())
        .await
        .unwrap()
        .unwrap();
    let me = node.dev_keys()[0].0;
    let my_balance = p.get_balance(me).await.unwrap();
    let filter = Filter::new().address(*probe.address()).from_block(0);
    let logs = p.get_logs(&filter).await.unwrap();
    node.shutdown().await;

    let node = spawn(config).await.unwrap();
    let p = provider(&node, 0);
    let again = p
        .get_block(alloy::eips::BlockId::latest())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(again.header.hash, head.header.hash);
    assert_eq!(again.header.number, head.header.number);
    assert_eq!(p.get_balance(me).await.unwrap(), my_balance);
    assert_eq!(p.get_balance(to).await.unwrap(), U256::from(5));
    assert_eq!(p.get_balance(rich).await.unwrap(), U256::from(0x1234));
    assert_eq!(p.get_transaction_count(me).await.unwrap(), 3);
    let probe = Probe::new(*probe.address(), p.clone());
    assert_eq!(
        probe.values(U256::from(1)).call().await.unwrap(),
        U256::from(11)
    );
    assert_eq!(
        probe.values(U256::from(2)).call().await.unwrap(),
        U256::ZERO,
        "reverted write came back"
    );
    assert_eq!(probe.count().call().await.unwrap(), U256::from(4));
    assert_eq!(p.get_logs(&filter).await.unwrap(), logs);
    let receipt = p
        .get_transaction_receipt(transfer.transaction_hash)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(receipt.block_hash, transfer.block_hash);
    // The chain goes on from where it was.
    let next = probe
        .store(U256::from(9), U256::from(9))
        .send()
        .await
        .unwrap()
        .get_receipt()
        .await
        .unwrap();
    assert_eq!(next.block_number, Some(head.header.number + 1));
    node.shutdown().await;
}

/// Kills the child on drop, so a failing assertion leaves no node behind.
struct Node(Child);

impl Drop for Node {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn start_child(dir: &std::path::Path) -> (Node, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_scal3ml-devnet"))
        // Snapshots every 3 blocks, so kills also land while snapshots are written and restarts load them.
        .args(["--port", "0", "--snapshot-every", "3", "--data-dir"])
        .arg(dir)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("start scal3ml-devnet");
    let stdout = child.stdout.take().unwrap();
    let mut line = String::new();
    BufReader::new(stdout).read_line(&mut line).unwrap();
    let addr = line
        .trim()
        .strip_prefix("Listening on ")
        .unwrap_or_else(|| panic!("unexpected line {line:?}"));
    (Node(child), format!("http://{addr}"))
}

#[tokio::test]
async fn kill_9_loses_no_served_receipt() {
    let dir = tempfile::tempdir().unwrap();
    let mut served: Vec<(alloy::primitives::B256, alloy::primitives::B256)> = Vec::new();
    let to = Address::repeat_byte(0x31);
    for round in 0..3u64 {
        let (mut child, url) = start_child(dir.path());
        let p = alloy::providers::ProviderBuilder::new()
            .wallet(alloy::network::EthereumWallet::from(
                alloy::signers::local::PrivateKeySigner::from_bytes(
                    &"0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80"
                        .parse()
                        .unwrap(),
                )
                .unwrap(),
            ))
            .connect_http(url.parse().unwrap());
        // Everything served before the previous kill is still there, in the same block.
        for (tx, block) in &served {
            let r = p
                .get_transaction_receipt(*tx)
                .await
                .unwrap()
                .unwrap_or_else(|| panic!("lost {tx}"));
            assert_eq!(r.block_hash, Some(*block));
        }
        let me: Address = "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266"
            .parse()
            .unwrap();
        // Mined: everything served, plus at most the one in flight at each earlier kill.
        let mined = p.get_transaction_count(me).await.unwrap() as usize;
        assert!(
            (served.len()..=served.len() + round as usize).contains(&mined),
            "{mined} mined, {} served",
            served.len()
        );
        // Stream transfers and kill the node while they flow, after a varying number of receipts.
        let stop_after = 5 + round as usize * 7;
        for i in 0..stop_after {
            let tx = TransactionRequest::default()
                .with_to(to)
                .with_value(U256::from(1));
            let pending = p.send_transaction(tx).await.unwrap();
            let receipt = pending.get_receipt().await.unwrap();
            served.push((receipt.transaction_hash, receipt.block_hash.unwrap()));
            if i + 1 == stop_after {
                // Fire one more without waiting, then kill -9 while it may be mid-write.
                let tx = TransactionRequest::default()
                    .with_to(to)
                    .with_value(U256::from(1));
                let p2 = p.clone();
                let inflight =
                    tokio::spawn(
                        async move { p2.send_transaction(tx).await.map(|t| *t.tx_hash()) },
                    );
                tokio::time::sleep(Duration::from_millis(2)).await;
                child.0.kill().unwrap();
                child.0.wait().unwrap();
                // If the node answered with a hash before dying, the transaction may or may not be mined;
                // either way the next start must open the store cleanly.
                let _ = inflight.await;
            }
        }
    }
    let (child, url) = start_child(dir.path());
    let count = rpc(
        &url,
        json!({"jsonrpc":"2.0","id":1,"method":"eth_getTransactionCount","params":["0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266","latest"]}),
    )
    .await;
    let mined = u64::from_str_radix(
        count["result"].as_str().unwrap().trim_start_matches("0x"),
        16,
    )
    .unwrap();
    assert!(mined as usize >= served.len() && mined as usize <= served.len() + 3);
    let balance = rpc(
        &url,
        json!({"jsonrpc":"2.0","id":2,"method":"eth_getBalance","params":[to, "latest"]}),
    )
    .await;
    assert_eq!(
        balance["result"],
        format!("{mined:#x}"),
        "every mined transfer moved 1 wei, no more, no less"
    );
    drop(child);
}

#[tokio::test]
async fn restart_replays_only_the_log_after_the_newest_snapshot() {
    let dir = tempfile::tempdir().unwrap();
    let config = DevnetConfig::test()
        .with_data_dir(dir.path())
        .with_snapshot_every(5);
    let node = spawn(config.clone()).await.unwrap();
    assert_eq!(node.restore_stats().snapshot_head, None);
    let p = provider(&node, 0);
    let to = Address::repeat_byte(0x42);
    // Blocks 1..=12, each a transfer of 1 wei more than the last.
    let mut receipts = Vec::new();
    for i in 1..=12u64 {
        let receipt = p
            .send_transaction(
                TransactionRequest::default()
                    .with_to(to)
                    .with_value(U256::from(i)),
            )
            .await
            .unwrap()
            .get_receipt()
            .await
            .unwrap();
        assert_eq!(receipt.block_number, Some(i));
        receipts.push(receipt);
    }
    let url = node.http_url();
    let block3 = rpc(
        &url,
        json!({"jsonrpc":"2.0","id":1,"method":"eth_getBlockByNumber","params":["0x3", true]}),
    )
    .await["result"]
        .clone();
    assert!(block3.is_object());
    // Stop without the shutdown snapshot, as a crash would: the newest snapshot is the one at block 10.
    drop(node);
    tokio::time::sleep(Duration::from_millis(200)).await;

    let node = spawn(config.clone()).await.unwrap();
    let stats = node.restore_stats();
    assert_eq!(stats.snapshot_head, Some(10));
    assert_eq!(
        stats.records_replayed, 2,
        "only blocks 11 and 12 are replayed"
    );
    let p = provider(&node, 0);
    assert_eq!(p.get_block_number().await.unwrap(), 12);
    assert_eq!(p.get_balance(to).await.unwrap(), U256::from(78)); // 1 + 2 + ... + 12
    let url = node.http_url();
    // Bodies older than the snapshot are read back from the log, identical.
    let again = rpc(
        &url,
        json!({"jsonrpc":"2.0","id":2,"method":"eth_getBlockByNumber","params":["0x3", true]}),
    )
    .await["result"]
        .clone();
    assert_eq!(again, block3);
    let old = p
        .get_transaction_receipt(receipts[1].transaction_hash)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(old.block_hash, receipts[1].block_hash);
    // State from after the snapshot is there; state before it is not kept across the restart, and says so.
    assert_eq!(p.get_balance(to).number(11).await.unwrap(), U256::from(66));
    let gone = rpc(
        &url,
        json!({"jsonrpc":"2.0","id":3,"method":"eth_getBalance","params":[to, "0x3"]}),
    )
    .await;
    assert!(
        gone["error"]["message"]
            .as_str()
            .unwrap()
            .contains("snapshot"),
        "{gone}"
    );
    // A clean shutdown writes a snapshot of the head, so the next start replays nothing.
    node.shutdown().await;
    let node = spawn(config.clone()).await.unwrap();
    assert_eq!(
        node.restore_stats(),
        scal3ml_devnet::RestoreStats {
            snapshot_head: Some(12),
            records_replayed: 0
        }
    );
    drop(node);
    tokio::time::sleep(Duration::from_millis(200)).await;

    // A damaged newest snapshot is skipped for the one before it.
    let mut snaps: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "snap"))
        .collect();
    snaps.sort();
    assert_eq!(snaps.len(), 2, "the two newest snapshots are kept");
    let newest = snaps.last().unwrap();
    let mut bytes = std::fs::read(newest).unwrap();
    let mid = bytes.len() / 2;
    bytes[mid] ^= 0x20;
    std::fs::write(newest, bytes).unwrap();
    let node = spawn(config).await.unwrap();
    let stats = node.restore_stats();
    assert_eq!(stats.snapshot_head, Some(10));
    assert_eq!(stats.records_replayed, 2);
    let p = provider(&node, 0);
    assert_eq!(p.get_balance(to).await.unwrap(), U256::from(78));
    node.shutdown().await;
}

#[tokio::test]
async fn concurrent_senders_on_a_data_dir_each_get_a_block_that_survives_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let config = DevnetConfig::test()
        .with_data_dir(dir.path())
        .with_snapshot_every(0);
    let node = spawn(config.clone()).await.unwrap();
    let to = Address::repeat_byte(0x24);
    let senders = (0..4usize).map(|account| {
        let p = provider(&node, account);
        async move {
            let mut receipts = Vec::new();
            for _ in 0..8 {
                let tx = TransactionRequest::default()
                    .with_to(to)
                    .with_value(U256::from(1));
                receipts.push(
                    p.send_transaction(tx)
                        .await
                        .unwrap()
                        .get_receipt()
                        .await
                        .unwrap(),
                );
            }
            receipts
        }
    });
    let receipts: Vec<_> = futures_util::future::join_all(senders)
        .await
        .into_iter()
        .flatten()
        .collect();
    let mut blocks: Vec<u64> = receipts.iter().map(|r| r.block_number.unwrap()).collect();
    blocks.sort();
    assert_eq!(
        blocks,
        (1..=32).collect::<Vec<_>>(),
        "one block per transaction"
    );
    drop(node);
    tokio::time::sleep(Duration::from_millis(200)).await;
    let node = spawn(config).await.unwrap();
    let p = provider(&node, 0);
    assert_eq!(p.get_balance(to).await.unwrap(), U256::from(32));
    for r in &receipts {
        let again = p
            .get_transaction_receipt(r.transaction_hash)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(again.block_hash, r.block_hash);
    }
    node.shutdown().await;
}
