//! Discussions through the built binary on `scal3ml dev`: comments signed with EIP-712 by `scal3ml comment`,
//! replies and a proposal's own thread, the threads `scal3ml comments` prints, documents the node refuses
//! (a forged signature, a stale clock, a reply across threads), a hide refused to a non-owner and done by the
//! owner (the comment stays listed, hidden, and its stored document still verifies, recomputed here), and the
//! asset page rendering the thread with Markdown sanitised.

use crate::common::{DevNode, dev_key, fails, get_json, get_text, json, run};
use alloy::{
    network::EthereumWallet,
    primitives::{Address, Bytes, U256, aliases::U96},
    providers::ProviderBuilder,
    sol_types::{SolStruct, eip712_domain},
};
use scal3ml_contracts::Marketplace;
use serde_json::{Value, json};
use std::time::Duration;

// Our own copy of the signed structs, so the test checks the documents against the spec, not the code.
alloy::sol! {
    struct Comment { uint256 assetId; uint256 proposalId; string parent; string body; uint64 createdAt; }
    struct Hide { string comment; bool hidden; uint64 createdAt; }
}

/// The signer a stored document's signature recovers, over the domain it names.
fn recover(doc: &Value, hash_of: impl Fn(&Value) -> alloy::primitives::B256) -> Address {
    let sig: alloy::primitives::Signature = doc["signature"].as_str().unwrap().parse().unwrap();
    sig.recover_address_from_prehash(&hash_of(doc)).unwrap()
}

fn domain(doc: &Value) -> alloy::sol_types::Eip712Domain {
    eip712_domain! {
        name: "Scal3ML Discussions",
        version: "1",
        chain_id: doc["chain_id"].as_u64().unwrap(),
        verifying_contract: doc["marketplace"].as_str().unwrap().parse::<Address>().unwrap(),
    }
}

fn comment_hash(doc: &Value) -> alloy::primitives::B256 {
    Comment {
        assetId: U256::from(doc["asset"].as_u64().unwrap()),
        proposalId: U256::from(doc["proposal"].as_u64().unwrap()),
        parent: doc["parent"].as_str().unwrap().into(),
        body: doc["body"].as_str().unwrap().into(),
        createdAt: doc["created_at"].as_u64().unwrap(),
    }
    .eip712_signing_hash(&domain(doc))
}

fn hide_hash(doc: &Value) -> alloy::primitives::B256 {
    Hide {
        comment: doc["comment"].as_str().unwrap().into(),
        hidden: doc["hidden"].as_bool().unwrap(),
        createdAt: doc["created_at"].as_u64().unwrap(),
    }
    .eip712_signing_hash(&domain(doc))
}

/// A stored block's bytes from the node's trustless gateway, checked against its CID.
async fn block(http: &reqwest::Client, url: &str, cid: &str) -> Value {
    let bytes = http
        .get(format!("{url}/ipfs/{cid}?format=raw"))
        .send()
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    let computed: scal3ml_store::Cid =
        scal3ml_store::CidExt::hash_v1(scal3ml_store::Codec::Raw, &bytes);
    assert_eq!(
        computed.to_string(),
        cid,
        "the block does not hash to its CID"
    );
    serde_json::from_slice(&bytes).unwrap()
}

fn find<'a>(nodes: &'a [Value], cid: &str) -> Option<&'a Value> {
    nodes.iter().find_map(|n| {
        if n["cid"] == cid {
            Some(n)
        } else {
            find(n["replies"].as_array().unwrap(), cid)
        }
    })
}

#[tokio::test(flavor = "multi_thread")]
async fn comments_are_signed_threaded_hidden_by_the_owner_and_rendered_safely() {
    let work = tempfile::tempdir().unwrap();
    let dev = DevNode::start(&work.path().join("node"));
    let url = dev.server.url.clone();
    let http = reqwest::Client::new();
    let owner = dev_key(0).address();

    let csv = work.path().join("bees.csv");
    std::fs::write(&csv, "hive,count\n1,4000\n").unwrap();
    let published = json(
        &url,
        &[
            "publish",
            csv.to_str().unwrap(),
            "--kind",
            "dataset",
            "--name",
            "Bee counts",
            "--license",
            "CC0-1.0",
            "--description",
            "Bees per hive",
            "--dev-account",
            "0",
        ],
    );
    let asset = published["asset"].as_u64().unwrap();
    let a = asset.to_string();

    // A proposal on the asset, by dev account 2, straight through the contract.
    let info: Value = get_json(&http, &format!("{url}/api/network")).await;
    let proposer = ProviderBuilder::new()
        .wallet(EthereumWallet::from(dev_key(2)))
        .connect_http(info["rpc_url"].as_str().unwrap().parse().unwrap());
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
    let card = cid_bytes(&published["metadata_cid"]);
    let propose = mp.propose(
        U256::from(asset),
        cid_bytes(&published["content_cid"]),
        card.clone(),
        U96::from(10),
        card,
    );
    let proposal: u64 = propose.call().await.unwrap().to();
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
    for i in 0.. {
        let list: Value = get_json(&http, &format!("{url}/api/assets/{asset}/proposals")).await;
        if list.as_array().unwrap().iter().any(|p| p["id"] == proposal) {
            break;
        }
        assert!(i < 200, "the proposal was not indexed in 10 s");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let p = proposal.to_string();

    // Comment, reply, and a comment in the proposal's thread, each signed by its author.
    let first = json(
        &url,
        &[
            "comment",
            &a,
            "--message",
            "Counted **by hand**?",
            "--dev-account",
            "1",
        ],
    );
    assert_eq!(first["new"], true, "{first}");
    let first = first["cid"].as_str().unwrap().to_string();
    let md = work.path().join("reply.md");
    std::fs::write(
        &md,
        "Yes, twice.\n\n<script>alert('x')</script>\n\n[me](javascript:alert(1))",
    )
    .unwrap();
    let reply = json(
        &url,
        &[
            "comment",
            &a,
            "--reply-to",
            &first,
            "--file",
            md.to_str().unwrap(),
            "--dev-account",
            "2",
        ],
    );
    let reply = reply["cid"].as_str().unwrap().to_string();
    let on_proposal = json(
        &url,
        &[
            "comment",
            &a,
            "--proposal",
            &p,
            "--message",
            "10 shares is fair",
            "--dev-account",
            "3",
        ],
    );
    let on_proposal = on_proposal["cid"].as_str().unwrap().to_string();

    // The threads.
    let thread = json(&url, &["comments", &a]);
    assert_eq!(thread["count"], 2, "{thread}");
    let tops = thread["comments"].as_array().unwrap();
    assert_eq!(tops.len(), 1, "{thread}");
    assert_eq!(tops[0]["cid"], first.as_str());
    assert_eq!(tops[0]["author"], dev_key(1).address().to_checksum(None));
    assert_eq!(tops[0]["replies"][0]["cid"], reply.as_str());
    assert_eq!(
        tops[0]["replies"][0]["author"],
        dev_key(2).address().to_checksum(None)
    );
    let pthread = json(&url, &["comments", &a, "--proposal", &p]);
    assert_eq!(pthread["count"], 1, "{pthread}");
    assert_eq!(pthread["comments"][0]["cid"], on_proposal.as_str());
    let printed = String::from_utf8(run(&url, &["comments", &a]).stdout).unwrap();
    assert!(printed.contains("2 comments on asset"), "{printed}");
    assert!(
        printed.contains(&format!("  {} ·", dev_key(1).address())),
        "{printed}"
    );
    assert!(
        printed.contains(&format!("    {} ·", dev_key(2).address())),
        "a reply is indented deeper:\n{printed}"
    );
    assert!(printed.contains("Counted **by hand**?"), "{printed}");

    // The stored document verifies on its own; posting it again is the same comment.
    let doc = block(&http, &url, &first).await;
    assert_eq!(recover(&doc, comment_hash), dev_key(1).address());
    let again: Value = http
        .post(format!("{url}/api/comments"))
        .json(&doc)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(again, json!({"cid": first, "new": false}));

    // Refused: a forged body, a stale clock, a reply across threads, an unknown proposal.
    let mut forged = doc.clone();
    forged["body"] = json!("Counted by machine");
    let r = http
        .post(format!("{url}/api/comments"))
        .json(&forged)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 400);
    let e: Value = r.json().await.unwrap();
    assert_eq!(e["error"]["code"], "bad_signature", "{e}");
    assert!(
        e["error"]["message"]
            .as_str()
            .unwrap()
            .contains("not to the author"),
        "{e}"
    );
    let stale = scal3ml_discuss::CommentDoc {
        chain_id: doc["chain_id"].as_u64().unwrap(),
        marketplace,
        asset,
        proposal: 0,
        parent: String::new(),
        body: "old news".into(),
        created_at: scal3ml_primitives::clock::now_secs() - 3600,
        author: Address::ZERO,
        signature: String::new(),
    }
    .sign(&dev_key(1))
    .unwrap();
    let r = http
        .post(format!("{url}/api/comments"))
        .json(&stale)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 400);
    let e: Value = r.json().await.unwrap();
    assert_eq!(e["error"]["code"], "clock_skew", "{e}");
    let err = fails(
        &url,
        &[
            "comment",
            &a,
            "--proposal",
            &p,
            "--reply-to",
            &first,
            "--message",
            "x",
            "--dev-account",
            "1",
        ],
    );
    assert!(err.contains("reply in the parent's thread"), "{err}");
    let err = fails(
        &url,
        &[
            "comment",
            &a,
            "--proposal",
            "999",
            "--message",
            "x",
            "--dev-account",
            "1",
        ],
    );
    assert!(err.contains("has no proposal 999"), "{err}");
    let err = fails(&url, &["comment", &a, "--message", "x"]);
    assert!(err.contains("say who you are"), "{err}");

    // Hiding: refused to anyone but the owner, done by the owner.
    let err = fails(&url, &["comment-hide", &first, "--dev-account", "1"]);
    assert!(
        err.contains(&format!("only the owner of asset {asset}")),
        "{err}"
    );
    let hidden = json(&url, &["comment-hide", &first, "--dev-account", "0"]);
    assert_eq!(hidden["hidden"], true, "{hidden}");
    let thread = json(&url, &["comments", &a]);
    let c = find(thread["comments"].as_array().unwrap(), &first).unwrap();
    assert_eq!(c["hidden"], true, "{c}");
    assert_eq!(
        c["body"], "Counted **by hand**?",
        "the body stays so the signature can be checked"
    );
    assert_eq!(c["hide"]["owner"], owner.to_checksum(None));
    let printed = String::from_utf8(run(&url, &["comments", &a]).stdout).unwrap();
    assert!(printed.contains("[hidden by the owner]"), "{printed}");
    // The comment's document still verifies, and so does the owner's decision.
    let doc = block(&http, &url, &first).await;
    assert_eq!(recover(&doc, comment_hash), dev_key(1).address());
    let decision = block(&http, &url, c["hide"]["cid"].as_str().unwrap()).await;
    assert_eq!(decision["comment"], first.as_str());
    assert_eq!(recover(&decision, hide_hash), owner);
    // The same decision posted again is not newer than the one in force: refused, so none can be replayed.
    let r = http
        .post(format!("{url}/api/comments/{first}/hide"))
        .json(&decision)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 409);

    // The asset page: the thread, Markdown rendered and sanitised, the hidden comment folded.
    let html = get_text(&http, &format!("{url}/assets/{asset}")).await;
    assert!(html.contains("id=\"discussion\""), "no Discussion section");
    assert!(
        html.contains("<strong>by hand</strong>"),
        "Markdown not rendered"
    );
    assert!(html.contains("Yes, twice."), "the reply is missing");
    assert!(!html.contains("alert('x')"), "the script survived:\n{html}");
    assert!(
        !html.to_lowercase().contains("href=\"javascript:"),
        "a javascript: link survived"
    );
    assert!(html.contains(">me</a>"), "the link's text is kept");
    assert!(
        html.contains("<summary>Hidden by the owner</summary>"),
        "the hidden comment is not folded"
    );
    assert!(html.contains(&format!("data-owner=\"{}\"", owner.to_checksum(None))));
    let html = get_text(&http, &format!("{url}/assets/{asset}/proposals")).await;
    assert!(
        html.contains(&format!("id=\"discussion-{proposal}\"")),
        "no proposal discussion"
    );
    assert!(html.contains("10 shares is fair"));
    let fragment = http
        .get(format!(
            "{url}/assets/{asset}/discussion?proposal={proposal}"
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(fragment.status().as_u16(), 200);
    let fragment = fragment.text().await.unwrap();
    assert!(
        fragment.starts_with("<section") && fragment.contains("10 shares is fair"),
        "{fragment}"
    );

    // Shown again by the owner.
    let shown = json(
        &url,
        &["comment-hide", &first, "--unhide", "--dev-account", "0"],
    );
    assert_eq!(shown["hidden"], false, "{shown}");
    let thread = json(&url, &["comments", &a]);
    assert_eq!(
        find(thread["comments"].as_array().unwrap(), &first).unwrap()["hidden"],
        false
    );

    // The table survives a restart.
    let dev = dev.restart();
    let before = json(&dev.server.url, &["comments", &a]);
    assert_eq!(before["count"], 2, "{before}");

    // And comes back from the pinned documents when it is lost: the same thread, the owner's latest decision
    // (shown again) in force.
    let dev = dev.restart_after(|dir| {
        std::fs::remove_file(dir.join("discussions.sqlite")).expect("the table's file");
        for name in ["discussions.sqlite-wal", "discussions.sqlite-shm"] {
            let _ = std::fs::remove_file(dir.join(name));
        }
    });
    let mut after = json(&dev.server.url, &["comments", &a]);
    for _ in 0..100 {
        if after == before {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
        after = json(&dev.server.url, &["comments", &a]);
    }
    assert_eq!(after, before, "the rebuilt thread is the one before");
}
