//! The API the web pages use, as a browser and its wallet use it, over plain HTTP against `scal3ml dev`: the
//! node prepares, the wallet (here: the dev chain's unlocked accounts, as the dev wallet uses them) signs and
//! sends. Publish a paid model from a folder, deposit its key with a wallet signature, buy it in ETH and in the
//! ERC-20 (approval first), see access and earnings change, withdraw; a free file downloads from a plain link;
//! bad fields are named, requests without the CSRF token refused, and `/dev/rpc` passes only wallet methods
//! and exists only on `scal3ml dev`.

use crate::common::{DevNode, Server, dev_key, free_port, get_json, json};
use alloy::{
    network::EthereumWallet,
    primitives::{Address, Bytes, U256, aliases::U96},
    providers::ProviderBuilder,
};
use scal3ml_contracts::Marketplace;
use serde_json::{Value, json};
use std::time::Duration;

/// Any 32 hex digits: the double-submit check compares the cookie with the header.
const CSRF: &str = "0123456789abcdef0123456789abcdef";

struct Browser {
    http: reqwest::Client,
    node: String,
    rpc: String,
    /// The Sign-In with Ethereum session uploads go with (the pages sign in before they upload).
    session: Option<String>,
}

/// One multipart part: a field, or a file (its filename the path in the asset).
enum Part<'a> {
    Field(&'a str, &'a str),
    File(&'a str, &'a [u8]),
}

impl Browser {
    fn post(&self, path: &str) -> reqwest::RequestBuilder {
        let request = self
            .http
            .post(format!("{}{path}", self.node))
            .header("cookie", format!("scal3ml_csrf={CSRF}"))
            .header("x-csrf-token", CSRF);
        match &self.session {
            Some(token) => request.bearer_auth(token),
            None => request,
        }
    }

    async fn get(&self, path: &str) -> (u16, Value) {
        let r = self
            .http
            .get(format!("{}{path}", self.node))
            .send()
            .await
            .unwrap();
        (r.status().as_u16(), r.json().await.unwrap_or(Value::Null))
    }

    async fn post_json(&self, path: &str, body: Value) -> (u16, Value) {
        let r = self.post(path).json(&body).send().await.unwrap();
        (r.status().as_u16(), r.json().await.unwrap())
    }

    async fn publish(&self, parts: &[Part<'_>]) -> (u16, Value) {
        let boundary = "scal3ml-test-boundary-7d1f";
        let mut body = Vec::new();
        for part in parts {
            body.extend_from_slice(format!("--{boundary}\r\n").as_bytes());
            match part {
                Part::Field(name, value) => {
                    body.extend_from_slice(
                        format!(
                            "Content-Disposition: form-data; name=\"{name}\"\r\n\r\n{value}\r\n"
                        )
                        .as_bytes(),
                    );
                }
                Part::File(path, bytes) => {
                    body.extend_from_slice(
                        format!(
                            "Content-Disposition: form-data; name=\"file\"; filename=\"{path}\"\r\n\
                             Content-Type: application/octet-stream\r\n\r\n"
                        )
                        .as_bytes(),
                    );
                    body.extend_from_slice(bytes);
                    body.extend_from_slice(b"\r\n");
                }
            }
        }
        body.extend_from_slice(format!("--{boundary}--\r\n").as_bytes());
        let r = self
            .post("/api/publish")
            .header(
                "content-type",
                format!("multipart/form-data; boundary={boundary}"),
            )
            .body(body)
            .send()
            .await
            .unwrap();
        (r.status().as_u16(), r.json().await.unwrap())
    }

    /// A JSON-RPC call to the chain, as a wallet makes it.
    async fn rpc(&self, method: &str, params: Value) -> Value {
        let answer: Value = self
            .http
            .post(&self.rpc)
            .json(&json!({"jsonrpc": "2.0", "id": 1, "method": method, "params": params}))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert!(answer["error"].is_null(), "{method}: {answer}");
        answer["result"].clone()
    }

    /// Sends every prepared step from `from` in order, as the pages do, waiting for each receipt.
    async fn send_steps(&self, from: Address, prepared: &Value) -> Vec<Value> {
        let mut receipts = Vec::new();
        for step in prepared["steps"].as_array().expect("steps") {
            let hash = self
                .rpc(
                    "eth_sendTransaction",
                    json!([{"from": from, "to": step["to"], "data": step["data"], "value": step["value"]}]),
                )
                .await;
            let receipt = loop {
                let r = self.rpc("eth_getTransactionReceipt", json!([hash])).await;
                if !r.is_null() {
                    break r;
                }
                tokio::time::sleep(Duration::from_millis(50)).await;
            };
            assert_eq!(receipt["status"], "0x1", "{} reverted", step["label"]);
            receipts.push(receipt);
        }
        receipts
    }

    async fn balance(&self, who: Address) -> U256 {
        let v = self.rpc("eth_getBalance", json!([who, "latest"])).await;
        v.as_str().unwrap().parse().unwrap()
    }

    /// Waits for the catalog to show a new asset owned by `owner`; returns its id.
    async fn owned_asset(&self, owner: Address, known: usize) -> u64 {
        for _ in 0..200 {
            let (_, view) = self.get(&format!("/api/accounts/{owner}")).await;
            let owned = view["assets_owned"].as_array().cloned().unwrap_or_default();
            if owned.len() > known {
                return owned[0]["id"].as_u64().unwrap();
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("the catalog never showed the asset of {owner}");
    }

    /// Waits until the catalog's detail of `asset` has its card.
    async fn detail(&self, asset: u64) -> Value {
        for _ in 0..200 {
            let (status, detail) = self.get(&format!("/api/assets/{asset}")).await;
            if status == 200 && !detail["card"].is_null() {
                return detail;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("asset {asset} never showed its card");
    }
}

fn fields(answer: &Value) -> Vec<String> {
    answer["error"]["fields"]
        .as_object()
        .map(|f| f.keys().cloned().collect())
        .unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_browser_wallet_publishes_buys_and_withdraws_through_prepared_transactions() {
    let work = tempfile::tempdir().unwrap();
    let dev = DevNode::start(&work.path().join("node"));
    let http = reqwest::Client::new();
    let info: Value = get_json(&http, &format!("{}/api/network", dev.server.url)).await;
    let mut b = Browser {
        http,
        node: dev.server.url.clone(),
        rpc: info["rpc_url"].as_str().unwrap().to_string(),
        session: None,
    };
    let (_, doc) = b.get("/api/openapi.json").await;
    for route in [
        "/api/publish",
        "/api/tx/buy",
        "/api/tx/withdraw",
        "/api/tx/vote",
        "/api/tx/execute",
        "/api/tx/reject",
        "/api/assets/{id}/access/{account}",
        "/api/accounts/{address}/earnings",
        "/dev/rpc",
    ] {
        assert!(
            doc["paths"][route].is_object(),
            "the OpenAPI document lacks {route}"
        );
    }
    let usdx: Address = info["tokens"][0]["address"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    let (publisher, collaborator, buyer, token_buyer) = (
        dev_key(1).address(),
        dev_key(2).address(),
        dev_key(3).address(),
        dev_key(4).address(),
    );
    let publisher_text = publisher.to_string();
    let share = format!("{collaborator}=25");

    // Uploads are signed: without a session (or a signed request) the node reads nothing.
    let (status, answer) = b
        .publish(&[
            Part::Field("account", &publisher_text),
            Part::File("x.bin", b"x"),
        ])
        .await;
    assert_eq!(status, 401, "{answer}");
    assert_eq!(answer["error"]["code"], "unsigned_upload");
    b.session = Some(crate::common::sign_in(&b.http, &b.node, &dev_key(1)).await);

    // Bad fields: every one is named at once, and nothing is imported.
    let (status, answer) = b
        .publish(&[
            Part::Field("account", "not-an-address"),
            Part::Field("kind", "model"),
            Part::Field("license", "MIT"),
            Part::Field("price", "1.2.3"),
            Part::Field("duration", "3 weeks"),
            Part::Field("collaborator", "0x12=10"),
            Part::File("x.bin", b"x"),
        ])
        .await;
    assert_eq!(status, 422, "{answer}");
    assert_eq!(answer["error"]["code"], "invalid_fields");
    assert_eq!(
        fields(&answer),
        ["account", "collaborator", "duration", "name", "price"],
        "{answer}"
    );
    let (status, answer) = b
        .publish(&[
            Part::Field("account", &publisher_text),
            Part::Field("kind", "model"),
            Part::Field("name", "No files"),
            Part::Field("license", "MITT"),
        ])
        .await;
    assert_eq!(status, 422, "{answer}");
    assert_eq!(fields(&answer), ["file", "license"], "{answer}");
    assert!(
        answer["error"]["fields"]["license"]
            .as_str()
            .unwrap()
            .contains("spdx"),
        "{answer}"
    );
    // A POST without the page's CSRF token.
    let r = b
        .http
        .post(format!("{}/api/tx/buy", b.node))
        .json(&json!({"account": buyer, "asset": 1, "token": Address::ZERO}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["error"]["code"], "csrf");
    // regression_contract_account: a transaction prepared from a contract's address was answered 502
    // `chain_unavailable` (the chain refuses to simulate it: EIP-3607), as if the chain were down (found by the
    // API fuzz run, scripts/suites/45-api-fuzz.sh).
    let marketplace = info["marketplace"].as_str().unwrap();
    for path in ["/api/tx/vote", "/api/tx/execute", "/api/tx/reject"] {
        let (status, answer) = b
            .post_json(
                path,
                json!({"account": marketplace, "proposal": 1, "support": true}),
            )
            .await;
        assert_eq!(status, 400, "{path}: {answer}");
        assert_eq!(
            answer["error"]["code"], "contract_account",
            "{path}: {answer}"
        );
    }

    // A paid model from a folder: encrypted, two files at their paths inside the folder.
    let config = br#"{"layers": 2}"#.to_vec();
    let weights: Vec<u8> = (0..300_000u32).map(|i| (i * 7 % 251) as u8).collect();
    let (status, published) = b
        .publish(&[
            Part::Field("account", &publisher_text),
            Part::Field("kind", "model"),
            Part::Field("name", "Tiny classifier"),
            Part::Field("description", "Classifies *tiny* things."),
            Part::Field("license", "Apache-2.0"),
            Part::Field("tags", "nlp, tiny"),
            Part::Field("price", "0.5"),
            Part::Field("token", "0x0000000000000000000000000000000000000000"),
            Part::Field("duration", "30d"),
            Part::Field("collaborator", &share),
            Part::File("tiny/config.json", &config),
            Part::File("tiny/weights/w.bin", &weights),
        ])
        .await;
    assert_eq!(status, 200, "{published}");
    assert_eq!(published["encrypted"], true);
    let paths: Vec<&str> = published["files"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["path"].as_str().unwrap())
        .collect();
    assert_eq!(paths, ["config.json", "weights/w.bin"]);
    assert_eq!(published["files"][1]["size"], weights.len());

    // The wallet signs the key deposit; the gateway takes it.
    let deposit = &published["deposit"];
    assert_eq!(deposit["typed_data"]["primaryType"], "KeyDeposit");
    let signature = b
        .rpc(
            "eth_signTypedData_v4",
            json!([publisher, deposit["typed_data"].to_string()]),
        )
        .await;
    let mut body = deposit["body"].clone();
    body["signature"] = signature;
    let r = b
        .http
        .post(format!("{}/access/keys", b.node))
        .json(&body)
        .send()
        .await
        .unwrap();
    let status = r.status().as_u16();
    let text = r.text().await.unwrap();
    assert_eq!(
        status, 200,
        "the gateway refused the wallet's deposit: {text}"
    );

    // The wallet sends the publish transaction; the catalog shows the asset with its files.
    assert_eq!(published["tx"]["steps"].as_array().unwrap().len(), 1);
    b.send_steps(publisher, &published["tx"]).await;
    let model = b.owned_asset(publisher, 0).await;
    let detail = b.detail(model).await;
    assert_eq!(detail["card"]["name"], "Tiny classifier");
    let card_paths: Vec<&str> = detail["card"]["files"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["path"].as_str().unwrap())
        .collect();
    assert_eq!(card_paths, ["config.json", "weights/w.bin"]);
    assert_eq!(detail["gateway_url"], b.node);
    assert_eq!(
        detail["versions"][0]["content_cid"],
        published["content_cid"]
    );

    // Buying in ETH: one step carrying the price; access flips. The page sends back the terms it showed.
    let card = detail["versions"][0]["metadata_cid"].clone();
    let thirty_days = 30 * 86_400;
    let access = format!("/api/assets/{model}/access/{buyer}");
    let (_, before) = b.get(&access).await;
    assert_eq!(before["has_access"], false, "{before}");
    // Terms other than the asset's are refused before the wallet opens, saying what changed.
    let (status, refused) = b
        .post_json(
            "/api/tx/buy",
            json!({"account": buyer, "asset": model, "token": Address::ZERO,
                "max_price": "500000000000000000", "duration": 0, "metadata_cid": card}),
        )
        .await;
    assert_eq!(
        (status, refused["error"]["code"].clone()),
        (409, json!("duration_changed")),
        "{refused}"
    );
    assert!(
        refused["error"]["message"]
            .as_str()
            .unwrap()
            .contains("the license is now 30 days, not perpetual"),
        "{refused}"
    );
    let (status, prepared) = b
        .post_json(
            "/api/tx/buy",
            json!({"account": buyer, "asset": model, "token": Address::ZERO,
                "max_price": "500000000000000000", "duration": thirty_days, "metadata_cid": card}),
        )
        .await;
    assert_eq!(status, 200, "{prepared}");
    let steps = prepared["steps"].as_array().unwrap();
    assert_eq!(steps.len(), 1);
    assert_eq!(steps[0]["value"], "0x6f05b59d3b20000", "0.5 ETH in wei");
    b.send_steps(buyer, &prepared).await;
    let (_, after) = b.get(&access).await;
    assert_eq!(after["has_access"], true, "{after}");
    assert!(
        after["expiry"].as_u64().is_some(),
        "a 30-day license: {after}"
    );
    let (_, owner) = b
        .get(&format!("/api/assets/{model}/access/{publisher}"))
        .await;
    assert_eq!(
        (owner["owner"].clone(), owner["shares"].clone()),
        (json!(true), json!(7500))
    );

    // Buying in USDX: an approval of the price, then the purchase.
    json(
        &b.node,
        &[
            "listing",
            "set-price",
            &model.to_string(),
            "2",
            "--token",
            "USDX",
            "--dev-account",
            "1",
        ],
    );
    let (status, prepared) = b
        .post_json(
            "/api/tx/buy",
            json!({"account": token_buyer, "asset": model, "token": usdx,
                "max_price": "2000000000000000000", "duration": 0, "metadata_cid": card}),
        )
        .await;
    assert_eq!(status, 200, "{prepared}");
    let steps = prepared["steps"].as_array().unwrap();
    assert_eq!(steps.len(), 2, "{prepared}");
    assert_eq!(
        steps[0]["to"].as_str().unwrap().parse::<Address>().unwrap(),
        usdx
    );
    b.send_steps(token_buyer, &prepared).await;
    let (_, after) = b
        .get(&format!("/api/assets/{model}/access/{token_buyer}"))
        .await;
    assert_eq!(after["has_access"], true, "{after}");

    // Earnings in both tokens, for the publisher (and the collaborator).
    let earnings = format!("/api/accounts/{publisher}/earnings");
    let mut listed = Value::Null;
    for _ in 0..100 {
        listed = b.get(&earnings).await.1;
        if listed.as_array().is_some_and(|e| e.len() == 2) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let symbols: Vec<&str> = listed
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["symbol"].as_str().unwrap())
        .collect();
    assert_eq!(symbols, ["ETH", "USDX"], "{listed}");
    let eth_claim: U256 = listed[0]["claimable"].as_str().unwrap().parse().unwrap();
    assert!(!eth_claim.is_zero());
    assert!(
        listed[1]["formatted"].as_str().unwrap().starts_with("1."),
        "75% of 2 USDX less the fee: {listed}"
    );
    let (_, theirs) = b
        .get(&format!("/api/accounts/{collaborator}/earnings"))
        .await;
    assert_eq!(theirs.as_array().unwrap().len(), 2, "{theirs}");

    // Withdrawing pays out what the earnings said.
    let before = b.balance(publisher).await;
    let (status, prepared) = b
        .post_json(
            "/api/tx/withdraw",
            json!({"account": publisher, "token": Address::ZERO, "assets": [model]}),
        )
        .await;
    assert_eq!(status, 200, "{prepared}");
    let receipts = b.send_steps(publisher, &prepared).await;
    let gas = |r: &Value| {
        let q = |k: &str| r[k].as_str().unwrap().parse::<U256>().unwrap();
        q("gasUsed") * q("effectiveGasPrice")
    };
    assert_eq!(
        b.balance(publisher).await,
        before + eth_claim - gas(&receipts[0])
    );
    let (status, prepared) = b
        .post_json(
            "/api/tx/withdraw",
            json!({"account": publisher, "token": usdx, "assets": [model]}),
        )
        .await;
    assert_eq!(status, 200, "{prepared}");
    b.send_steps(publisher, &prepared).await;
    let (_, left) = b.get(&earnings).await;
    assert_eq!(left, json!([]), "everything was withdrawn");
    // A second withdrawal has nothing to take, and says so before the wallet opens.
    let (status, refused) = b
        .post_json(
            "/api/tx/withdraw",
            json!({"account": publisher, "token": Address::ZERO, "assets": [model]}),
        )
        .await;
    assert_eq!(status, 409, "{refused}");
    assert!(
        refused["error"]["message"]
            .as_str()
            .unwrap()
            .contains("nothing to withdraw"),
        "{refused}"
    );
    let (status, refused) = b
        .post_json(
            "/api/tx/buy",
            json!({"account": buyer, "asset": 999, "token": Address::ZERO,
                "max_price": "1", "duration": 0, "metadata_cid": card}),
        )
        .await;
    assert_eq!(
        (status, refused["error"]["code"].clone()),
        (404, json!("unknown_asset"))
    );

    // A proposal: the collaborator proposes a version, the publisher (75%) votes yes through the page, the
    // proposer executes it; rejecting it afterwards is refused before the wallet opens.
    let proposer = ProviderBuilder::new()
        .wallet(EthereumWallet::from(dev_key(2)))
        .connect_http(b.rpc.parse().unwrap());
    let marketplace: Address = info["marketplace"].as_str().unwrap().parse().unwrap();
    let mp = Marketplace::new(marketplace, &proposer);
    let cid_bytes = |c: &Value| {
        Bytes::from(
            c.as_str()
                .unwrap()
                .parse::<scal3ml_primitives::Cid>()
                .unwrap()
                .to_bytes(),
        )
    };
    let (content, card) = (
        cid_bytes(&published["content_cid"]),
        cid_bytes(&published["metadata_cid"]),
    );
    let propose = mp.propose(
        U256::from(model),
        content,
        card.clone(),
        U96::from(100),
        card,
    );
    let proposal = propose.call().await.unwrap();
    assert!(
        propose
            .send()
            .await
            .unwrap()
            .get_receipt()
            .await
            .unwrap()
            .status()
    );
    let (status, prepared) = b
        .post_json(
            "/api/tx/vote",
            json!({"account": publisher, "proposal": proposal.to::<u64>(), "support": true}),
        )
        .await;
    assert_eq!(status, 200, "{prepared}");
    b.send_steps(publisher, &prepared).await;
    // The model is encrypted and the proposer deposited no key for the proposed content: executing would add a
    // version nobody can read, so the page's execute is refused until the proposer deposits one. (It proposed
    // version 0's content again; as a shareholder it may have that version's key, and deposits it.)
    let execute = json!({"account": collaborator, "proposal": proposal.to::<u64>()});
    let mut answer = (0, Value::Null);
    for _ in 0..100 {
        answer = b.post_json("/api/tx/execute", execute.clone()).await;
        if answer.1["error"]["code"] != "unknown_proposal" {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let (status, refused) = answer;
    assert_eq!(
        (status, refused["error"]["code"].clone()),
        (409, json!("no_proposal_key")),
        "{refused}"
    );
    let gateway = scal3ml_access::client::AccessClient::new(
        &b.node,
        &scal3ml_store::http::HttpClient::default(),
    );
    let chain_id = info["chain_id"].as_u64().unwrap();
    let (_, key) = gateway
        .request_key(
            &dev_key(2),
            chain_id,
            scal3ml_primitives::AssetId(model),
            Some(0),
        )
        .await
        .unwrap();
    gateway
        .deposit_key(
            &dev_key(2),
            chain_id,
            published["content_cid"].as_str().unwrap(),
            &key,
        )
        .await
        .unwrap();
    let (status, prepared) = b.post_json("/api/tx/execute", execute).await;
    assert_eq!(status, 200, "{prepared}");
    b.send_steps(collaborator, &prepared).await;
    let mut versions = 0;
    for _ in 0..100 {
        versions = b
            .get(&format!("/api/assets/{model}/versions"))
            .await
            .1
            .as_array()
            .map_or(0, Vec::len);
        if versions == 2 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(versions, 2, "the executed proposal is version 1");
    let (status, refused) = b
        .post_json(
            "/api/tx/reject",
            json!({"account": publisher, "proposal": proposal.to::<u64>()}),
        )
        .await;
    assert_eq!(
        (status, refused["error"]["code"].clone()),
        (409, json!("rejected")),
        "{refused}"
    );
    assert!(
        refused["error"]["message"]
            .as_str()
            .unwrap()
            .contains("is not open"),
        "{refused}"
    );

    // A free single file: no deposit, and it downloads from a plain link.
    let csv = b"sepal,petal\n5.1,1.4\n".to_vec();
    let (status, free) = b
        .publish(&[
            Part::Field("account", &publisher_text),
            Part::Field("kind", "dataset"),
            Part::Field("name", "Flowers"),
            Part::Field("license", "CC-BY-4.0"),
            Part::File("flowers.csv", &csv),
        ])
        .await;
    assert_eq!(status, 200, "{free}");
    assert_eq!(
        (free["encrypted"].clone(), free["deposit"].clone()),
        (json!(false), Value::Null)
    );
    b.send_steps(publisher, &free["tx"]).await;
    let dataset = b.owned_asset(publisher, 1).await;
    b.detail(dataset).await;
    let r = b
        .http
        .get(format!("{}/access/content/{dataset}", b.node))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.bytes().await.unwrap(), csv);

    // The dev wallet's door to the chain: wallet methods only.
    let (status, answer) = b
        .post_json(
            "/dev/rpc",
            json!({"jsonrpc": "2.0", "id": 7, "method": "eth_requestAccounts"}),
        )
        .await;
    assert_eq!(status, 200);
    assert_eq!(answer["id"], 7);
    assert_eq!(answer["result"].as_array().unwrap().len(), 10, "{answer}");
    let (_, answer) = b
        .post_json(
            "/dev/rpc",
            json!([
                {"jsonrpc": "2.0", "id": 1, "method": "eth_chainId"},
                {"jsonrpc": "2.0", "id": 2, "method": "evm_increaseTime", "params": [3600]}
            ]),
        )
        .await;
    assert_eq!(answer[0]["result"], "0x7a69");
    assert_eq!(answer[1]["error"]["code"], -32601, "{answer}");
    assert!(
        answer[1]["error"]["message"]
            .as_str()
            .unwrap()
            .contains("evm_increaseTime"),
        "{answer}"
    );

    // `scal3ml node` in front of the same chain serves no dev wallet.
    let port = free_port().to_string();
    let other = work.path().join("other");
    let node = Server::start(
        &[
            "node",
            "--rpc-url",
            &b.rpc,
            "--deployment",
            dev.dir.join("deployment.json").to_str().unwrap(),
            "--data-dir",
            other.to_str().unwrap(),
            "--port",
            &port,
        ],
        &[],
    );
    let r = b
        .http
        .post(format!("{}/dev/rpc", node.url))
        .header("cookie", format!("scal3ml_csrf={CSRF}"))
        .header("x-csrf-token", CSRF)
        .json(&json!({"jsonrpc": "2.0", "id": 1, "method": "eth_accounts"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404);
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["error"]["code"], "no_dev_wallet");
}
