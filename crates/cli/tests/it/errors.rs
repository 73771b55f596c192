//! Bad input through the binary: each a clear error that says what to do, and nothing half done.

use crate::common::{DevNode, Server, fails, json, run};
use alloy::{
    network::{EthereumWallet, TransactionBuilder},
    primitives::U256,
    providers::{Provider, ProviderBuilder},
    rpc::types::TransactionRequest,
    signers::local::PrivateKeySigner,
};
use serde_json::Value;

fn assets(node: &str) -> u64 {
    let stats: Value = json(node, &["search", "--per-page", "1"]);
    stats["total"].as_u64().unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn bad_input_is_refused_before_anything_is_written() {
    let work = tempfile::tempdir().unwrap();
    let dev = DevNode::start(&work.path().join("node"));
    let node = dev.server.url.as_str();
    let file = work.path().join("data.csv");
    std::fs::write(&file, "a,b\n1,2\n").unwrap();
    let f = file.to_str().unwrap();
    let base = [
        "publish",
        f,
        "--kind",
        "dataset",
        "--name",
        "Data",
        "--license",
        "MIT",
        "--dev-account",
        "0",
    ];

    let missing = work.path().join("missing.csv");
    let err = fails(
        node,
        &[
            "publish",
            missing.to_str().unwrap(),
            "--kind",
            "dataset",
            "--name",
            "D",
            "--license",
            "MIT",
            "--dev-account",
            "0",
        ],
    );
    assert!(
        err.contains("missing.csv") && err.contains("file or folder"),
        "{err}"
    );

    let err = fails(
        node,
        &[&base[..6], &["--license", "MITT", "--dev-account", "0"]].concat(),
    );
    assert!(err.contains("license") && err.contains("spdx.org"), "{err}");

    let err = fails(node, &[&base[..], &["--price", "1.2.3"]].concat());
    assert!(err.contains("--price") && err.contains("decimal"), "{err}");

    let err = fails(
        node,
        &[
            &base[..],
            &[
                "--collaborator",
                "0x70997970C51812dc3A010C7d01b50e0d17dc79C8=100",
            ],
        ]
        .concat(),
    );
    assert!(err.contains("nothing for you"), "{err}");

    let err = fails(node, &[&base[..], &["--parent", "42=10"]].concat());
    assert!(err.contains("--parent 42"), "{err}");

    let err = fails(node, &[&base[..], &["--duration", "3 weeks"]].concat());
    assert!(err.contains("--duration"), "{err}");

    assert_eq!(assets(node), 0, "no refused publish left an asset");

    // A directory where a file is expected: the folder of a single-file asset gets the file inside it.
    json(node, &base);
    let out_dir = work.path().join("out");
    std::fs::create_dir(&out_dir).unwrap();
    json(node, &["get", "1", "-o", out_dir.to_str().unwrap()]);
    assert_eq!(
        std::fs::read(out_dir.join("data.csv")).unwrap(),
        b"a,b\n1,2\n"
    );

    // An unreachable node.
    let err = fails("http://127.0.0.1:9", &["search", "x"]);
    assert!(
        err.contains("cannot reach the node") && err.contains("scal3ml dev"),
        "{err}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn money_errors_send_nothing_and_a_failed_publish_can_be_run_again() {
    let work = tempfile::tempdir().unwrap();
    let dev = DevNode::start(&work.path().join("node"));
    let node = dev.server.url.as_str();
    let info: Value = reqwest::get(format!("{node}/api/network"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let rpc = info["rpc_url"].as_str().unwrap().to_string();
    let provider = ProviderBuilder::new().connect_http(rpc.parse().unwrap());
    let file = work.path().join("model.bin");
    std::fs::write(&file, vec![7u8; 100_000]).unwrap();
    let f = file.to_str().unwrap();

    // An account with no ether: the publish fails at the transaction, after the upload and the key deposit.
    let poor = PrivateKeySigner::random();
    let key = format!("{:x}", poor.credential().to_bytes());
    let publish = |extra: &[&str]| {
        let mut args = vec![
            "publish",
            f,
            "--kind",
            "model",
            "--name",
            "Costly",
            "--license",
            "MIT",
            "--price",
            "1",
        ];
        args.extend_from_slice(extra);
        std::process::Command::new(crate::common::bin())
            .args(&args)
            .env("SCAL3ML_NODE", node)
            .env("SCAL3ML_PRIVATE_KEY", &key)
            .output()
            .unwrap()
    };
    let out = publish(&[]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.to_lowercase().contains("fund"),
        "the error says the account needs funds: {err}"
    );
    assert_eq!(
        assets(node),
        0,
        "a failed publish leaves no asset and no listing"
    );

    // Funded, the same command succeeds, once.
    let rich = ProviderBuilder::new()
        .wallet(EthereumWallet::from(crate::common::dev_key(0)))
        .connect_http(rpc.parse().unwrap());
    let tx = TransactionRequest::default()
        .with_to(poor.address())
        .with_value(U256::from(10u64).pow(U256::from(18u64)));
    rich.send_transaction(tx)
        .await
        .unwrap()
        .get_receipt()
        .await
        .unwrap();
    let out = publish(&["--json"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    for _ in 0..100 {
        if assets(node) == 1 {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    assert_eq!(assets(node), 1);

    // Insufficient funds to buy: refused before sending (the buyer's nonce does not move).
    let before = provider
        .get_transaction_count(poor.address())
        .await
        .unwrap();
    let buyer_key = format!("{:x}", PrivateKeySigner::random().credential().to_bytes());
    let out = std::process::Command::new(crate::common::bin())
        .args(["buy", "1"])
        .env("SCAL3ML_NODE", node)
        .env("SCAL3ML_PRIVATE_KEY", &buyer_key)
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        !out.status.success()
            && err.contains("insufficient funds")
            && err.contains("nothing was sent"),
        "{err}"
    );
    assert_eq!(
        provider
            .get_transaction_count(poor.address())
            .await
            .unwrap(),
        before
    );

    // The price rose above what the buyer accepts.
    let err = fails(
        node,
        &["buy", "1", "--max-price", "0.5", "--dev-account", "2"],
    );
    assert!(err.contains("--max-price 1"), "{err}");

    // An unknown asset.
    let err = fails(node, &["buy", "77", "--dev-account", "2"]);
    assert!(err.contains("77"), "{err}");

    // The wrong chain: a chain with another id behind --rpc-url.
    let other = Server::start(&["devnet", "--port", "0", "--chain-id", "4242"], &[]);
    let out = run(
        node,
        &["buy", "1", "--dev-account", "2", "--rpc-url", &other.url],
    );
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        !out.status.success() && err.contains("4242") && err.contains("31337"),
        "{err}"
    );
}
