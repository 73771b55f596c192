//! `scal3ml diff` through the built binary: local folders, two versions of a published asset and a proposal on
//! `scal3ml dev`, the same through `/api/assets/{id}/diff` and `/api/proposals/{id}/diff`, and an encrypted
//! asset refused by the API and compared by its publisher through the access gateway.

use crate::common::{DevNode, dev_key, fails, json, run};
use alloy::{
    network::EthereumWallet,
    primitives::{Bytes, U256, aliases::U96},
    providers::ProviderBuilder,
};
use scal3ml_contracts::Marketplace;
use serde_json::Value;
use std::{path::Path, time::Duration};

/// No node is needed for local paths: any URL will do.
const NO_NODE: &str = "http://127.0.0.1:9";

fn csv(rows: &[(u32, &str, f64)]) -> String {
    let mut s = String::from("id,name,score\n");
    for (id, name, score) in rows {
        s.push_str(&format!("{id},{name},{score}\n"));
    }
    s
}

#[test]
fn local_folders_diffed_as_json_and_text() {
    let work = tempfile::tempdir().unwrap();
    let (a, b) = (work.path().join("v1"), work.path().join("v2"));
    std::fs::create_dir_all(&a).unwrap();
    std::fs::create_dir_all(&b).unwrap();
    std::fs::write(
        a.join("train.csv"),
        csv(&[(1, "a", 0.5), (2, "b", 0.7), (3, "c", 0.9)]),
    )
    .unwrap();
    std::fs::write(b.join("train.csv"), csv(&[(1, "a", 0.5), (3, "c", 0.8)])).unwrap();
    std::fs::write(a.join("README.md"), "v1").unwrap();
    std::fs::write(b.join("README.md"), "v1").unwrap();
    std::fs::write(b.join("labels.txt"), "x").unwrap();
    let (a, b) = (a.to_str().unwrap(), b.to_str().unwrap());
    let out = json(NO_NODE, &["diff", "--old", a, "--new", b, "--key", "id"]);
    assert_eq!(
        (
            out["added"].clone(),
            out["changed"].clone(),
            out["unchanged"].clone()
        ),
        (1.into(), 1.into(), 1.into())
    );
    let train = out["files"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["path"] == "train.csv")
        .unwrap();
    let t = &train["content"];
    assert_eq!(t["removed"]["count"], 1);
    assert_eq!(t["removed"]["examples"][0]["values"]["name"], "b");
    assert_eq!(t["changed"]["examples"][0]["changes"][0]["column"], "score");

    let text = run(NO_NODE, &["diff", "--old", a, "--new", b, "--key", "id"]);
    assert!(text.status.success());
    let text = String::from_utf8(text.stdout).unwrap();
    assert!(text.contains(" A labels.txt"), "{text}");
    assert!(text.contains("-1 removed"), "{text}");
    assert!(
        text.contains("id=3 (rows 3 -> 2): score: 0.9 -> 0.8"),
        "{text}"
    );

    let wrong = fails(NO_NODE, &["diff", "--old", a, "--new", b, "--key", "nope"]);
    assert!(wrong.contains("key column \"nope\" is not in"), "{wrong}");
    assert!(wrong.contains("its columns are id, name, score"), "{wrong}");
    let neither = fails(NO_NODE, &["diff"]);
    assert!(neither.contains("--old"), "{neither}");
}

fn publish(node: &str, path: &Path, name: &str, extra: &[&str]) -> Value {
    let mut args = vec![
        "publish",
        path.to_str().unwrap(),
        "--kind",
        "dataset",
        "--name",
        name,
        "--license",
        "CC0-1.0",
        "--description",
        "Rows for a diff",
        "--dev-account",
        "0",
    ];
    args.extend(extra);
    json(node, &args)
}

async fn get(url: &str) -> (u16, Value) {
    let r = reqwest::get(url).await.unwrap();
    let status = r.status().as_u16();
    (status, r.json().await.unwrap())
}

async fn wait_for(url: &str, ready: impl Fn(&Value) -> bool) -> Value {
    for _ in 0..200 {
        let (status, v) = get(url).await;
        if status == 200 && ready(&v) {
            return v;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("{url} never became ready");
}

fn cid(v: &Value) -> Bytes {
    Bytes::from(
        v.as_str()
            .unwrap()
            .parse::<scal3ml_primitives::Cid>()
            .unwrap()
            .to_bytes(),
    )
}

#[tokio::test(flavor = "multi_thread")]
async fn published_versions_and_a_proposal_diffed_by_cli_and_api() {
    let work = tempfile::tempdir().unwrap();
    let node = DevNode::start(&work.path().join("node"));
    let url = node.server.url.clone();
    let url = url.as_str();
    let info = get(&format!("{url}/api/network")).await.1;
    let doc = get(&format!("{url}/api/openapi.json")).await.1;
    for route in ["/api/assets/{id}/diff", "/api/proposals/{id}/diff"] {
        assert!(
            doc["paths"].get(route).is_some(),
            "{route} is not in the OpenAPI document"
        );
    }

    // v0, then a cleaned v1 (rows 2 and 4 removed, row 3 fixed), then a proposal adding a row to v1.
    let files = work.path().join("files");
    for (dir, rows) in [
        (
            "v0",
            vec![(1, "a", 0.5), (2, "dup", 0.7), (3, "c", 9.0), (4, "x", 1.0)],
        ),
        ("v1", vec![(1, "a", 0.5), (3, "c", 0.9)]),
        ("p", vec![(1, "a", 0.5), (3, "c", 0.9), (5, "e", 0.2)]),
    ] {
        std::fs::create_dir_all(files.join(dir)).unwrap();
        std::fs::write(files.join(dir).join("data.csv"), csv(&rows)).unwrap();
    }
    let v0 = publish(url, &files.join("v0/data.csv"), "Rows", &[]);
    let asset = v0["asset"].as_u64().unwrap();
    // Publishing the other contents stores them on the node, as a contributor's upload does.
    let v1 = publish(url, &files.join("v1/data.csv"), "Rows cleaned", &[]);
    let p = publish(url, &files.join("p/data.csv"), "Rows extended", &[]);

    let rpc: String = info["rpc_url"].as_str().unwrap().into();
    let marketplace: alloy::primitives::Address =
        info["marketplace"].as_str().unwrap().parse().unwrap();
    let owner = ProviderBuilder::new()
        .wallet(EthereumWallet::from(dev_key(0)))
        .connect_http(rpc.parse().unwrap());
    let mp = Marketplace::new(marketplace, &owner);
    let receipt = mp
        .addVersion(
            U256::from(asset),
            cid(&v1["content_cid"]),
            cid(&v1["metadata_cid"]),
        )
        .send()
        .await
        .unwrap()
        .get_receipt()
        .await
        .unwrap();
    assert!(receipt.status());
    let contributor = ProviderBuilder::new()
        .wallet(EthereumWallet::from(dev_key(2)))
        .connect_http(rpc.parse().unwrap());
    let mp2 = Marketplace::new(marketplace, &contributor);
    let propose = mp2.propose(
        U256::from(asset),
        cid(&p["content_cid"]),
        cid(&p["metadata_cid"]),
        U96::from(100),
        cid(&p["metadata_cid"]),
    );
    let proposal = propose.call().await.unwrap().to::<u64>();
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
    wait_for(&format!("{url}/api/assets/{asset}/versions"), |v| {
        v.as_array().is_some_and(|a| a.len() == 2)
    })
    .await;
    wait_for(&format!("{url}/api/assets/{asset}/proposals"), |v| {
        v.as_array()
            .is_some_and(|a| a.iter().any(|p| p["id"] == proposal))
    })
    .await;

    // The previous and the latest version: the rows v1 removed, and the row it fixed.
    let a = asset.to_string();
    let out = json(url, &["diff", &a, "--key", "id"]);
    assert_eq!(
        (out["from"].clone(), out["to"].clone()),
        (0.into(), 1.into())
    );
    assert_eq!(out["diff"]["changed"], 1);
    let t = &out["diff"]["files"][0]["content"];
    assert_eq!(t["rows_old"], 4);
    assert_eq!(t["removed"]["count"], 2);
    let removed: Vec<&Value> = t["removed"]["examples"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| &r["values"]["id"])
        .collect();
    assert_eq!(removed, [&Value::from(2), &Value::from(4)]);
    assert_eq!(t["changed"]["examples"][0]["changes"][0]["new"], 0.9);
    let text = String::from_utf8(run(url, &["diff", &a, "--key", "id"]).stdout).unwrap();
    assert!(
        text.starts_with(&format!("asset {asset} v0 -> v1")),
        "{text}"
    );
    assert!(text.contains("removed rows (2)"), "{text}");

    // The API answers the same.
    let (status, api) = get(&format!("{url}/api/assets/{asset}/diff?key=id")).await;
    assert_eq!(status, 200, "{api}");
    assert_eq!(api["diff"]["files"][0]["content"]["removed"], t["removed"]);
    let (status, api) = get(&format!("{url}/api/assets/{asset}/diff?from=0&to=7")).await;
    assert_eq!(
        (status, api["error"]["code"].clone()),
        (404, "no_such_version".into())
    );
    let (status, api) = get(&format!("{url}/api/assets/{asset}/diff?key=nope")).await;
    assert_eq!(status, 400);
    assert!(
        api["error"]["message"]
            .as_str()
            .unwrap()
            .contains("key column"),
        "{api}"
    );

    // The proposal against the latest version: one row added.
    let pr = proposal.to_string();
    let out = json(url, &["diff", &a, "--proposal", &pr, "--key", "id"]);
    assert_eq!(
        (out["from"].clone(), out["proposal"].clone()),
        (1.into(), proposal.into())
    );
    let t = &out["diff"]["files"][0]["content"];
    assert_eq!(
        (t["added"]["count"].clone(), t["removed"]["count"].clone()),
        (1.into(), 0.into())
    );
    assert_eq!(t["added"]["examples"][0]["values"]["name"], "e");
    let (status, api) = get(&format!("{url}/api/proposals/{proposal}/diff?key=id")).await;
    assert_eq!(status, 200, "{api}");
    assert_eq!(api["diff"]["files"][0]["content"]["added"], t["added"]);
    let (status, api) = get(&format!("{url}/api/proposals/999/diff")).await;
    assert_eq!(
        (status, api["error"]["code"].clone()),
        (404, "no_such_proposal".into())
    );
    let missing = fails(url, &["diff", &a, "--proposal", "999"]);
    assert!(missing.contains("has no proposal 999"), "{missing}");

    // An encrypted asset: the node cannot read it and says who can; its publisher (a licensee) compares it.
    let paid = publish(
        url,
        &files.join("v0/data.csv"),
        "Rows for sale",
        &["--price", "0.01"],
    );
    assert_eq!(paid["encrypted"], true);
    let paid = paid["asset"].as_u64().unwrap();
    let (status, api) = get(&format!("{url}/api/assets/{paid}/diff?from=0&to=0")).await;
    assert_eq!(
        (status, api["error"]["code"].clone()),
        (403, "encrypted_content".into())
    );
    assert!(
        api["error"]["message"]
            .as_str()
            .unwrap()
            .contains(&format!("scal3ml diff {paid}")),
        "{api}"
    );
    let ps = paid.to_string();
    let out = json(
        url,
        &[
            "diff",
            &ps,
            "--from",
            "0",
            "--to",
            "0",
            "--dev-account",
            "0",
        ],
    );
    assert_eq!(out["diff"]["unchanged"], 1);
    let refused = fails(
        url,
        &[
            "diff",
            &ps,
            "--from",
            "0",
            "--to",
            "0",
            "--dev-account",
            "5",
        ],
    );
    assert!(refused.contains("asking"), "{refused}");
    drop(node);
}
