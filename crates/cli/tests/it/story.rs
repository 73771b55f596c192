//! The marketplace story a user would recognise, on `scal3ml dev` and on a hardhat node behind `scal3ml node`:
//! a free dataset and two paid models derived from it (one priced in ETH, one in an ERC-20), a collaborator
//! with 30 % of each model, a buyer who finds them by a word of their cards, buys and downloads them, an
//! outsider who is refused the key, and withdrawals that pay each party exactly what the contract's rules
//! give, to the wei. Then the node restarts and everything is still there.

use crate::common::{DevNode, Server, dev_key, fails, free_port, json};
use alloy::{
    network::EthereumWallet,
    primitives::{Address, U256},
    providers::{Provider, ProviderBuilder},
};
use scal3ml_contracts::TestToken;
use serde_json::Value;
use std::{path::Path, time::Duration};

const PUBLISHER: usize = 0;
const COLLABORATOR: usize = 1;
const BUYER: usize = 2;
const OUTSIDER: usize = 3;
const DATASET_OWNER: usize = 4;

/// `--dev-account N`.
fn acct(i: usize) -> [String; 2] {
    ["--dev-account".into(), i.to_string()]
}

fn u256(v: &Value) -> U256 {
    match v {
        Value::String(s) => s
            .parse()
            .unwrap_or_else(|e| panic!("{s:?} is no amount: {e}")),
        Value::Number(n) => U256::from(n.as_u64().unwrap()),
        other => panic!("{other} is no amount"),
    }
}

/// Polls search until `word` finds exactly one asset; returns its id.
fn find(node: &str, word: &str) -> u64 {
    for _ in 0..100 {
        let page = json(node, &["search", word]);
        let items = page["items"].as_array().unwrap();
        if items.len() == 1 {
            return items[0]["id"].as_u64().unwrap();
        }
        assert!(items.is_empty(), "{word:?} should name one asset: {page}");
        std::thread::sleep(Duration::from_millis(50));
    }
    panic!("no asset with {word:?} became searchable within 5 s");
}

/// Runs a CLI command with string arguments.
fn cli(node: &str, args: &[&str], account: usize) -> Value {
    let a = acct(account);
    let mut all: Vec<&str> = args.to_vec();
    all.extend(a.iter().map(String::as_str));
    json(node, &all)
}

/// What the contract's rules pay each party from one sale at `price` of a model with a 10 % royalty to the
/// dataset and 30 % of its shares with the collaborator (10000 shares in all, no marketplace fee):
/// (dataset owner, publisher, collaborator).
fn split(price: U256) -> (U256, U256, U256) {
    let shares = U256::from(10_000u64);
    let royalty = price * U256::from(1_000u64) / shares;
    let dataset_owner = royalty / shares * shares;
    let per_share = (price - royalty) / shares;
    (
        dataset_owner,
        per_share * U256::from(7_000u64),
        per_share * U256::from(3_000u64),
    )
}

struct Story {
    dataset: u64,
    eth_model: u64,
    token_model: u64,
    eth_price: U256,
    token_price: U256,
    token: Address,
    model_bytes: Vec<u8>,
}

/// Everything up to the withdrawals; returns what the checks after a restart need.
async fn publish_buy_get(node: &str, work: &Path) -> Story {
    let network = json(node, &["search", "--per-page", "1"]); // the node answers
    assert!(network["items"].is_array());
    let info: Value = reqwest::get(format!("{node}/api/network"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let rpc = info["rpc_url"].as_str().unwrap().to_string();
    let token: Address = info["tokens"][0]["address"]
        .as_str()
        .expect("the node lists a payment token")
        .parse()
        .unwrap();
    let symbol = info["tokens"][0]["symbol"].as_str().unwrap().to_string();

    // The buyer gets test tokens (anyone may mint the test ERC-20).
    let minter = ProviderBuilder::new()
        .wallet(EthereumWallet::from(dev_key(9)))
        .connect_http(rpc.parse().unwrap());
    let buyer = dev_key(BUYER).address();
    TestToken::new(token, &minter)
        .mint(
            buyer,
            U256::from(1_000u64) * U256::from(10u64).pow(U256::from(18u64)),
        )
        .send()
        .await
        .unwrap()
        .get_receipt()
        .await
        .unwrap();

    let csv = work.join("flowers.csv");
    std::fs::write(
        &csv,
        "sepal,petal,label\n5.1,1.4,setosa\n6.3,4.9,versicolor\n",
    )
    .unwrap();
    let model_dir = work.join("model");
    std::fs::create_dir_all(model_dir.join("weights")).unwrap();
    let model_bytes: Vec<u8> = (0..700_000u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
        .collect();
    std::fs::write(model_dir.join("weights/model.safetensors"), &model_bytes).unwrap();
    std::fs::write(model_dir.join("config.json"), br#"{"layers": 2}"#).unwrap();

    let dataset = cli(
        node,
        &[
            "publish",
            csv.to_str().unwrap(),
            "--kind",
            "dataset",
            "--name",
            "Flower measurements",
            "--license",
            "CC-BY-4.0",
            "--description",
            "Petal lengths of irises, cleaned",
            "--tag",
            "tabular",
        ],
        DATASET_OWNER,
    );
    let dataset = dataset["asset"].as_u64().unwrap();
    let parent = format!("{dataset}=10");
    let collab = format!("{}=30", dev_key(COLLABORATOR).address());
    let eth_price = "0.050000000000000123";
    let token_price = "25.500000000000000007";
    let eth_model = cli(
        node,
        &[
            "publish",
            model_dir.to_str().unwrap(),
            "--kind",
            "model",
            "--name",
            "Iris classifier",
            "--license",
            "MIT",
            "--description",
            "Predicts the species from a sunflowerish petal",
            "--price",
            eth_price,
            "--parent",
            &parent,
            "--collaborator",
            &collab,
        ],
        PUBLISHER,
    );
    assert_eq!(eth_model["encrypted"], true, "a priced asset is encrypted");
    let token_model = cli(
        node,
        &[
            "publish",
            model_dir.to_str().unwrap(),
            "--kind",
            "model",
            "--name",
            "Iris classifier (token)",
            "--license",
            "Apache-2.0",
            "--description",
            "The same weights, sold for a marigoldish stablecoin",
            "--price",
            token_price,
            "--token",
            &symbol,
            "--duration",
            "30d",
            "--parent",
            &parent,
            "--collaborator",
            &collab,
        ],
        PUBLISHER,
    );
    let eth_model = eth_model["asset"].as_u64().unwrap();
    let token_model = token_model["asset"].as_u64().unwrap();

    // The buyer finds each model by a word from its card, buys it and downloads it.
    assert_eq!(find(node, "sunflowerish"), eth_model);
    assert_eq!(find(node, "marigoldish"), token_model);
    let bought = cli(node, &["buy", &eth_model.to_string()], BUYER);
    assert_eq!(
        u256(&bought["price"]),
        U256::from(50_000_000_000_000_123u64)
    );
    let bought = cli(
        node,
        &["buy", &token_model.to_string(), "--token", &symbol],
        BUYER,
    );
    assert!(
        bought["approval"].is_object(),
        "an ERC-20 purchase approves first: {bought}"
    );
    for (asset, out) in [(eth_model, "got-eth"), (token_model, "got-token")] {
        let dest = work.join(out);
        cli(
            node,
            &["get", &asset.to_string(), "-o", dest.to_str().unwrap()],
            BUYER,
        );
        assert_eq!(
            std::fs::read(dest.join("weights/model.safetensors")).unwrap(),
            model_bytes
        );
        assert_eq!(
            std::fs::read(dest.join("config.json")).unwrap(),
            br#"{"layers": 2}"#
        );
    }
    let free = work.join("flowers-copy.csv");
    cli(
        node,
        &["get", &dataset.to_string(), "-o", free.to_str().unwrap()],
        OUTSIDER,
    );
    assert_eq!(
        std::fs::read(&free).unwrap(),
        std::fs::read(&csv).unwrap(),
        "a free dataset is anyone's"
    );

    // An outsider is refused the key and told how to buy.
    let refused = fails(
        node,
        &[
            "get",
            &eth_model.to_string(),
            "-o",
            work.join("nope").to_str().unwrap(),
            "--dev-account",
            &OUTSIDER.to_string(),
        ],
    );
    assert!(
        refused.contains(&format!("scal3ml buy {eth_model}")),
        "{refused}"
    );
    assert!(
        !work.join("nope").exists(),
        "a refused download writes nothing"
    );

    Story {
        dataset,
        eth_model,
        token_model,
        eth_price: U256::from(50_000_000_000_000_123u64),
        token_price: U256::from(25_500_000_000_000_000_007u128),
        token,
        model_bytes,
    }
}

/// Each party withdraws and receives exactly its share, checked in the withdrawal and in its balance.
async fn withdraw_exactly(node: &str, s: &Story) {
    let info: Value = reqwest::get(format!("{node}/api/network"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let provider =
        ProviderBuilder::new().connect_http(info["rpc_url"].as_str().unwrap().parse().unwrap());
    let (eth_ds, eth_pub, eth_col) = split(s.eth_price);
    let (tok_ds, tok_pub, tok_col) = split(s.token_price);
    for (who, eth, tok) in [
        (DATASET_OWNER, eth_ds, tok_ds),
        (PUBLISHER, eth_pub, tok_pub),
        (COLLABORATOR, eth_col, tok_col),
    ] {
        let address = dev_key(who).address();
        let eth_before = provider.get_balance(address).await.unwrap();
        let tok_before = TestToken::new(s.token, &provider)
            .balanceOf(address)
            .call()
            .await
            .unwrap();
        let done = cli(node, &["withdraw"], who);
        let done = done.as_array().unwrap();
        let by_token = |t: Address| {
            done.iter()
                .find(|d| d["token"].as_str().unwrap().parse::<Address>().unwrap() == t)
                .unwrap_or_else(|| panic!("account {who} withdrew nothing in {t}: {done:?}"))
        };
        let eth_w = by_token(Address::ZERO);
        let tok_w = by_token(s.token);
        assert_eq!(
            u256(&eth_w["amount"]),
            eth,
            "ETH withdrawn by account {who}"
        );
        assert_eq!(
            u256(&tok_w["amount"]),
            tok,
            "tokens withdrawn by account {who}"
        );
        // The balances moved by exactly that, less the gas of the two withdrawals.
        let mut gas = U256::ZERO;
        for w in [eth_w, tok_w] {
            let receipt = provider
                .get_transaction_receipt(w["tx"].as_str().unwrap().parse().unwrap())
                .await
                .unwrap()
                .unwrap();
            gas += U256::from(receipt.gas_used) * U256::from(receipt.effective_gas_price);
        }
        let eth_after = provider.get_balance(address).await.unwrap();
        assert_eq!(
            eth_after + gas - eth_before,
            eth,
            "ETH balance of account {who}"
        );
        let tok_after = TestToken::new(s.token, &provider)
            .balanceOf(address)
            .call()
            .await
            .unwrap();
        assert_eq!(
            tok_after - tok_before,
            tok,
            "token balance of account {who}"
        );
        let left = cli(node, &["earnings"], who);
        assert_eq!(
            left.as_array().unwrap().len(),
            0,
            "nothing left to claim for {who}: {left}"
        );
    }
}

/// After a restart: the catalog, the blocks and the keys are all still there.
fn still_there(node: &str, s: &Story, work: &Path) {
    assert_eq!(find(node, "sunflowerish"), s.eth_model);
    let shown = json(node, &["show", &s.eth_model.to_string()]);
    assert_eq!(shown["summary"]["sales"], 1, "{shown}");
    assert_eq!(shown["parents"][0]["asset"], s.dataset);
    let lineage = json(node, &["lineage", &s.dataset.to_string()]);
    let descendants: Vec<u64> = lineage["descendants"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["asset"].as_u64().unwrap())
        .collect();
    assert!(
        descendants.contains(&s.eth_model) && descendants.contains(&s.token_model),
        "{lineage}"
    );
    let dest = work.join("after-restart");
    cli(
        node,
        &[
            "get",
            &s.token_model.to_string(),
            "-o",
            dest.to_str().unwrap(),
        ],
        BUYER,
    );
    assert_eq!(
        std::fs::read(dest.join("weights/model.safetensors")).unwrap(),
        s.model_bytes
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn the_marketplace_story_on_the_dev_node() {
    let work = tempfile::tempdir().unwrap();
    let node = DevNode::start(&work.path().join("node"));
    let url = node.server.url.clone();
    let story = publish_buy_get(&url, work.path()).await;
    let node = node.restart();
    assert_eq!(node.server.url, url);
    still_there(&url, &story, work.path());
    withdraw_exactly(&url, &story).await;
}

/// The same story against hardhat (an independent node, from npm), after `scal3ml deploy`, with
/// `scal3ml node` in front of it. Needs tests/interop/chain's npm packages: scripts/suites/50-market.sh
/// installs them and runs this test.
#[tokio::test(flavor = "multi_thread")]
#[ignore = "needs hardhat from npm: scripts/suites/50-market.sh installs it and runs this test"]
async fn the_marketplace_story_on_hardhat() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/interop/chain");
    let hardhat_bin = root.join("node_modules/.bin/hardhat");
    assert!(
        hardhat_bin.exists(),
        "run `npm ci` in {} first",
        root.display()
    );
    let port = free_port();
    let mut hardhat = std::process::Command::new(&hardhat_bin)
        .args([
            "node",
            "--hostname",
            "127.0.0.1",
            "--port",
            &port.to_string(),
        ])
        .current_dir(&root)
        .env("HARDHAT_DISABLE_TELEMETRY_PROMPT", "true")
        .stdout(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let rpc = format!("http://127.0.0.1:{port}");
    let probe = ProviderBuilder::new().connect_http(rpc.parse().unwrap());
    let mut up = false;
    for _ in 0..300 {
        if probe.get_chain_id().await.is_ok() {
            up = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(up, "hardhat node did not start on {rpc}");

    let work = tempfile::tempdir().unwrap();
    let manifest = work.path().join("deployment.json");
    let out = crate::common::run(
        "http://127.0.0.1:1",
        &[
            "deploy",
            "--rpc-url",
            &rpc,
            "--dev-account",
            "0",
            "--test-token",
            "USDH",
            "--out",
            manifest.to_str().unwrap(),
        ],
    );
    assert!(
        out.status.success(),
        "deploy: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let port = free_port().to_string();
    let data = work.path().join("node");
    let args = [
        "node",
        "--rpc-url",
        &rpc,
        "--deployment",
        manifest.to_str().unwrap(),
        "--data-dir",
        data.to_str().unwrap(),
        "--port",
        &port,
        "--poll-ms",
        "100",
    ];
    let mut node = Server::start(&args, &[]);
    let url = node.url.clone();
    let story = publish_buy_get(&url, work.path()).await;
    node.stop();
    let node = Server::start(&args, &[]);
    assert_eq!(node.url, url);
    still_there(&url, &story, work.path());
    withdraw_exactly(&url, &story).await;
    drop(node);
    let _ = hardhat.kill();
    let _ = hardhat.wait();
}
