//! Key custody and release over HTTP against the embedded chain: deposit, publish, buy, release; and every way a
//! request is refused.

use alloy::primitives::B256;
use scal3ml_access::{AccessError, eip712::SignedAccessRequest};
use scal3ml_primitives::{AssetId, ProposalId};
use scal3ml_store::crypt;

use crate::common::{Node, ONE_ETH, noise};

fn refused(result: Result<impl std::fmt::Debug, AccessError>) -> (u16, String, String) {
    match result {
        Err(AccessError::Refused {
            status,
            code,
            message,
        }) => (status, code, message),
        other => panic!("expected a refusal, got {other:?}"),
    }
}

async fn post_key(node: &Node, req: &SignedAccessRequest) -> (u16, serde_json::Value) {
    let r = reqwest::Client::new()
        .post(format!("{}/access/key", node.base))
        .json(req)
        .send()
        .await
        .unwrap();
    (r.status().as_u16(), r.json().await.unwrap())
}

#[tokio::test]
async fn a_buyer_gets_the_key_that_decrypts_and_an_outsider_is_told_how_to_buy() {
    let node = Node::start(1000).await;
    let (publisher, buyer, outsider) = (1, 2, 3);
    let plaintext = noise(300_000, 1);
    let (key, cid) = node.encrypt_into_store(&plaintext).await;

    // Deposit first (twice: the second changes nothing), then publish.
    let chain = node.chain_id;
    let signer = node.signer(publisher);
    let cid_text = cid.to_string();
    assert!(
        node.client
            .deposit_key(&signer, chain, &cid_text, &key)
            .await
            .unwrap()
    );
    assert!(
        !node
            .client
            .deposit_key(&signer, chain, &cid_text, &key)
            .await
            .unwrap()
    );
    // A key that does not open the content held here is a mistake, and is refused.
    let (status, code, message) = refused(
        node.client
            .deposit_key(&signer, chain, &cid_text, &crypt::FileKey([0; 16]))
            .await,
    );
    assert_eq!((status, code.as_str()), (400, "key_mismatch"), "{message}");
    // Regression: a key for content this node does not hold was accepted (nothing to check it against) and kept,
    // fsynced, without limit. It is refused, saying to upload the content first; once uploaded it is taken.
    let (other_key, other_cid, ciphertext) = node.encrypt_elsewhere(b"not uploaded").await;
    let other_text = other_cid.to_string();
    let (status, code, message) = refused(
        node.client
            .deposit_key(&signer, chain, &other_text, &other_key)
            .await,
    );
    assert_eq!(
        (status, code.as_str()),
        (409, "content_not_held"),
        "{message}"
    );
    assert!(message.contains("upload the content first"), "{message}");
    assert_eq!(node.upload(ciphertext).await, other_cid);
    assert!(
        node.client
            .deposit_key(&signer, chain, &other_text, &other_key)
            .await
            .unwrap()
    );
    let asset = node.publish(publisher, &cid, ONE_ETH, 0).await;

    // Before buying: refused, with the command that buys.
    let (status, code, message) = refused(
        node.client
            .request_key(&node.signer(buyer), chain, asset, None)
            .await,
    );
    assert_eq!((status, code.as_str()), (403, "no_license"));
    assert!(
        message.contains(&format!("scal3ml buy {asset}")),
        "{message}"
    );

    node.buy(buyer, asset, ONE_ETH).await;
    let (release, got) = node
        .client
        .request_key(&node.signer(buyer), chain, asset, None)
        .await
        .unwrap();
    assert_eq!(
        (release.version, release.content_cid.as_str()),
        (0, cid_text.as_str())
    );
    assert_eq!(got, key);
    // The released key decrypts the stored ciphertext to the original bytes.
    let ciphertext = scal3ml_store::export::cat_to_vec(node.store.as_ref(), &cid, u64::MAX)
        .await
        .unwrap();
    assert_eq!(crypt::decrypt_vec(&ciphertext, &got).unwrap(), plaintext);
    // The publisher holds shares, so it may have its own key back.
    assert_eq!(
        node.client
            .request_key(&node.signer(publisher), chain, asset, None)
            .await
            .unwrap()
            .1,
        key
    );

    // The outsider is refused with how to buy, and an unknown asset is named as such.
    let (status, code, message) = refused(
        node.client
            .request_key(&node.signer(outsider), chain, asset, None)
            .await,
    );
    assert_eq!((status, code.as_str()), (403, "no_license"));
    assert!(message.contains("scal3ml buy"), "{message}");
    let (status, code, _) = refused(
        node.client
            .request_key(&node.signer(buyer), chain, AssetId(99), None)
            .await,
    );
    assert_eq!((status, code.as_str()), (404, "unknown_asset"));

    // The audit log has the releases and the refusals, and never the key.
    let audit = node.audit();
    let buyer_addr = node.address(buyer).to_string();
    assert!(audit.iter().any(|e| {
        e["action"] == "key"
            && e["decision"] == "release"
            && e["asset"] == asset.0
            && e["account"]
                .as_str()
                .unwrap()
                .eq_ignore_ascii_case(&buyer_addr)
    }));
    let outsider_addr = node.address(outsider).to_string();
    assert!(audit.iter().any(|e| {
        e["decision"] == "refuse"
            && e["reason"] == "no_license"
            && e["account"]
                .as_str()
                .unwrap()
                .eq_ignore_ascii_case(&outsider_addr)
    }));
    assert!(
        audit
            .iter()
            .any(|e| e["action"] == "deposit" && e["reason"] == "content_not_held")
    );
    assert!(
        audit
            .iter()
            .all(|e| e["time"].as_str().is_some_and(|t| t.ends_with('Z')))
    );

    // At rest: neither the key's bytes nor its hex appear in any file of the gateway's data directory.
    let mut files = 0;
    for entry in std::fs::read_dir(node.data_dir.path().join("access")).unwrap() {
        let bytes = std::fs::read(entry.unwrap().path()).unwrap();
        files += 1;
        assert!(
            !bytes.windows(16).any(|w| w == key.0),
            "raw key found at rest"
        );
        let hex = key.to_hex();
        assert!(
            !bytes.windows(32).any(|w| w == hex.as_bytes()),
            "hex key found at rest"
        );
    }
    assert!(
        files >= 4,
        "node.key, keys.jsonl, nonces.jsonl, audit.jsonl"
    );
}

#[tokio::test]
async fn forged_replayed_expired_wrong_chain_and_wrong_gateway_requests_are_refused() {
    let node = Node::start(1000).await;
    let (publisher, buyer, thief) = (1, 2, 4);
    let (key, cid) = node.encrypt_into_store(b"secret weights").await;
    let chain = node.chain_id;
    node.client
        .deposit_key(&node.signer(publisher), chain, &cid.to_string(), &key)
        .await
        .unwrap();
    let asset = node.publish(publisher, &cid, ONE_ETH, 0).await;
    node.buy(buyer, asset, ONE_ETH).await;
    let sign = |chain_id: u64, gateway: &str, ttl: u64| {
        SignedAccessRequest::sign(&node.signer(buyer), chain_id, gateway, asset, ttl).unwrap()
    };

    // A good request works once; the same bytes again are a replay.
    let good = sign(chain, &node.base, 60);
    let (status, body) = post_key(&node, &good).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["key"], key.to_hex());
    let (status, body) = post_key(&node, &good).await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (401, Some("nonce_reused"))
    );

    // Forged: the thief names the buyer's account but signs with its own key.
    let mut forged =
        SignedAccessRequest::sign(&node.signer(thief), chain, &node.base, asset, 60).unwrap();
    forged.account = node.address(buyer);
    let (status, body) = post_key(&node, &forged).await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (401, Some("bad_signature"))
    );
    assert!(body.get("key").is_none());
    // A signature from the buyer over another asset does not carry over.
    let mut moved = sign(chain, &node.base, 60);
    moved.asset = AssetId(asset.0 + 1);
    let (status, body) = post_key(&node, &moved).await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (401, Some("bad_signature"))
    );

    // Expired: signed with an expiry in the past.
    let mut expired = sign(chain, &node.base, 0);
    expired.expiry -= 30;
    let hash = alloy::sol_types::SolStruct::eip712_signing_hash(
        &expired.typed(),
        &scal3ml_access::eip712::domain(chain),
    );
    let sig = alloy::signers::SignerSync::sign_hash_sync(&node.signer(buyer), &hash).unwrap();
    expired.signature = format!("0x{}", alloy::primitives::hex::encode(sig.as_bytes()));
    let (status, body) = post_key(&node, &expired).await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (401, Some("request_expired"))
    );
    // Valid for a day: longer than the gateway accepts.
    let (status, body) = post_key(&node, &sign(chain, &node.base, 86_400)).await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (401, Some("expiry_too_far"))
    );

    // Wrong chain, wrong gateway.
    let (status, body) = post_key(&node, &sign(1, &node.base, 60)).await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (401, Some("wrong_chain"))
    );
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains(&chain.to_string())
    );
    let (status, body) = post_key(&node, &sign(chain, "https://other-gateway.example", 60)).await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (401, Some("wrong_gateway"))
    );

    // Garbage is a 400 in the same JSON shape.
    let r = reqwest::Client::new()
        .post(format!("{}/access/key", node.base))
        .header("content-type", "application/json")
        .body("{\"asset\": 1}")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 400);
    let body: serde_json::Value = r.json().await.unwrap();
    assert_eq!(body["error"]["code"], "bad_request");

    // The nonce survives a restart of the gateway: reopen on the same data directory and replay.
    use scal3ml_access::nonces::{NonceBook, NonceUse};
    let reopened = NonceBook::open(&node.data_dir.path().join("access"), 100).unwrap();
    assert_eq!(
        reopened
            .use_once(good.account, good.nonce, good.expiry)
            .unwrap(),
        NonceUse::Reused
    );
    assert_eq!(
        reopened
            .use_once(good.account, B256::repeat_byte(0xab), good.expiry)
            .unwrap(),
        NonceUse::Fresh
    );
}

#[tokio::test]
async fn only_the_publishers_deposit_is_released() {
    let node = Node::start(1000).await;
    let (publisher, buyer, squatter) = (1, 2, 5);
    let chain = node.chain_id;

    // Asset A: only a stranger deposited a key for its content; nothing is released.
    let (key_a, cid_a) = node.encrypt_into_store(b"asset a").await;
    node.client
        .deposit_key(&node.signer(squatter), chain, &cid_a.to_string(), &key_a)
        .await
        .unwrap();
    let a = node.publish(publisher, &cid_a, ONE_ETH, 0).await;
    node.buy(buyer, a, ONE_ETH).await;
    let (status, code, message) = refused(
        node.client
            .request_key(&node.signer(buyer), chain, a, None)
            .await,
    );
    assert_eq!((status, code.as_str()), (404, "no_key"));
    assert!(
        message.contains(&node.address(publisher).to_string()),
        "{message}"
    );

    // Asset B: a squatter cannot deposit a key for the publisher's CID before the content is uploaded, nor a
    // wrong one after; the publisher's own deposit is the one released.
    let (key_b, cid_b, ciphertext) = node.encrypt_elsewhere(b"asset b").await;
    let (status, code, _) = refused(
        node.client
            .deposit_key(
                &node.signer(squatter),
                chain,
                &cid_b.to_string(),
                &crypt::FileKey([1; 16]),
            )
            .await,
    );
    assert_eq!((status, code.as_str()), (409, "content_not_held"));
    assert_eq!(node.upload(ciphertext).await, cid_b);
    let (status, code, _) = refused(
        node.client
            .deposit_key(
                &node.signer(6),
                chain,
                &cid_b.to_string(),
                &crypt::FileKey([1; 16]),
            )
            .await,
    );
    assert_eq!((status, code.as_str()), (400, "key_mismatch"));
    node.client
        .deposit_key(&node.signer(publisher), chain, &cid_b.to_string(), &key_b)
        .await
        .unwrap();
    let b = node.publish(publisher, &cid_b, ONE_ETH, 0).await;
    node.buy(buyer, b, ONE_ETH).await;
    assert_eq!(
        node.client
            .request_key(&node.signer(buyer), chain, b, None)
            .await
            .unwrap()
            .1,
        key_b
    );

    // A deposit signed by someone else than the depositor it names is refused.
    let mut forged = scal3ml_access::eip712::SignedKeyDeposit::sign(
        &node.signer(squatter),
        chain,
        &node.base,
        &cid_b.to_string(),
        &[2; 16],
        60,
    )
    .unwrap();
    forged.depositor = node.address(publisher);
    let r = reqwest::Client::new()
        .post(format!("{}/access/keys", node.base))
        .json(&forged)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 401);
    assert_eq!(
        node.client
            .request_key(&node.signer(buyer), chain, b, None)
            .await
            .unwrap()
            .1,
        key_b
    );
}

#[tokio::test]
async fn a_timed_license_expires_and_the_refusal_says_renew() {
    let node = Node::start(1000).await;
    let (publisher, buyer) = (1, 2);
    let chain = node.chain_id;
    let (key, cid) = node.encrypt_into_store(b"a month of access").await;
    node.client
        .deposit_key(&node.signer(publisher), chain, &cid.to_string(), &key)
        .await
        .unwrap();
    let asset = node.publish(publisher, &cid, ONE_ETH, 3600).await;
    node.buy(buyer, asset, ONE_ETH).await;
    assert_eq!(
        node.client
            .request_key(&node.signer(buyer), chain, asset, None)
            .await
            .unwrap()
            .1,
        key
    );

    node.advance_time(3601).await;
    let (status, code, message) = refused(
        node.client
            .request_key(&node.signer(buyer), chain, asset, None)
            .await,
    );
    assert_eq!((status, code.as_str()), (403, "license_expired"));
    assert!(
        message.contains("expired") && message.contains(&format!("scal3ml buy {asset}")),
        "{message}"
    );

    // Renewing gives access again.
    node.buy(buyer, asset, ONE_ETH).await;
    assert_eq!(
        node.client
            .request_key(&node.signer(buyer), chain, asset, None)
            .await
            .unwrap()
            .1,
        key
    );
}

#[tokio::test]
async fn refusals_are_rate_limited_per_ip_with_retry_after() {
    let node = Node::start(3).await;
    let (publisher, outsider) = (1, 3);
    let chain = node.chain_id;
    let (key, cid) = node.encrypt_into_store(b"limited").await;
    node.client
        .deposit_key(&node.signer(publisher), chain, &cid.to_string(), &key)
        .await
        .unwrap();
    let asset = node.publish(publisher, &cid, ONE_ETH, 0).await;
    for _ in 0..3 {
        let (status, code, _) = refused(
            node.client
                .request_key(&node.signer(outsider), chain, asset, None)
                .await,
        );
        assert_eq!((status, code.as_str()), (403, "no_license"));
    }
    // The fourth is turned away before any check, even a request that would have succeeded.
    let req =
        SignedAccessRequest::sign(&node.signer(publisher), chain, &node.base, asset, 60).unwrap();
    let r = reqwest::Client::new()
        .post(format!("{}/access/key", node.base))
        .json(&req)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 429);
    let wait: u64 = r.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    // Three an hour: the next one is about 20 minutes away.
    assert!((1000..=1200).contains(&wait), "Retry-After {wait}");
    let body: serde_json::Value = r.json().await.unwrap();
    assert_eq!(body["error"]["code"], "rate_limited");
    let audit = node.audit();
    assert_eq!(
        audit.iter().filter(|e| e["reason"] == "no_license").count(),
        3
    );
    assert!(
        audit
            .iter()
            .any(|e| e["reason"] == "rate_limited" && e["ip"] == "127.0.0.1")
    );
}

#[tokio::test]
async fn without_client_ips_refusals_are_limited_per_account_and_others_are_served() {
    // Behind a server that does not pass ConnectInfo, one shared IP bucket would let one client lock everybody
    // out; the gateway limits the refused account only.
    let node = crate::common::Node::start_with(2, false).await;
    let (publisher, buyer, outsider) = (1, 2, 3);
    let chain = node.chain_id;
    let (key, cid) = node.encrypt_into_store(b"per account").await;
    node.client
        .deposit_key(&node.signer(publisher), chain, &cid.to_string(), &key)
        .await
        .unwrap();
    let asset = node.publish(publisher, &cid, ONE_ETH, 0).await;
    node.buy(buyer, asset, ONE_ETH).await;
    for _ in 0..2 {
        let (status, _, _) = refused(
            node.client
                .request_key(&node.signer(outsider), chain, asset, None)
                .await,
        );
        assert_eq!(status, 403);
    }
    let (status, code, _) = refused(
        node.client
            .request_key(&node.signer(outsider), chain, asset, None)
            .await,
    );
    assert_eq!((status, code.as_str()), (429, "rate_limited"));
    assert_eq!(
        node.client
            .request_key(&node.signer(buyer), chain, asset, None)
            .await
            .unwrap()
            .1,
        key
    );
}

// Regression (issue 17, "expiry does not expire"): one key served every version, so a one-day license yielded
// the key to every future version. Each version now has its own key, deposited by its author, and goes to
// whoever could read the asset when the version was added, or can now.
#[tokio::test]
async fn a_timed_license_reads_the_versions_added_while_it_ran_and_no_later_one() {
    let node = Node::start(1000).await;
    let (owner, buyer) = (1, 2);
    let chain = node.chain_id;
    let deposit = |key: crypt::FileKey, cid: scal3ml_primitives::Cid| {
        let signer = node.signer(owner);
        let client = &node.client;
        async move {
            client
                .deposit_key(&signer, chain, &cid.to_string(), &key)
                .await
                .unwrap();
        }
    };
    let (key0, cid0) = node.encrypt_into_store(&noise(10_000, 1)).await;
    deposit(key0.clone(), cid0).await;
    let asset = node.publish(owner, &cid0, ONE_ETH, 3600).await;
    node.buy(buyer, asset, ONE_ETH).await;
    let ask = |who: usize, version: Option<u64>| {
        let signer = node.signer(who);
        let client = &node.client;
        async move { client.request_key(&signer, chain, asset, version).await }
    };

    // Version 1, while the license runs: a fresh key, deposited by the owner who adds it.
    let (key1, cid1) = node.encrypt_into_store(&noise(10_000, 2)).await;
    assert_ne!(key1, key0);
    deposit(key1.clone(), cid1).await;
    node.add_version(owner, asset, &cid1).await;
    let (release, got) = ask(buyer, None).await.unwrap();
    assert_eq!(
        (release.version, release.content_cid),
        (1, cid1.to_string())
    );
    assert_eq!(got, key1, "the latest version's own key");
    assert_eq!(ask(buyer, Some(0)).await.unwrap().1, key0);

    // The license runs out; version 2 comes after.
    node.advance_time(3601).await;
    let (key2, cid2) = node.encrypt_into_store(&noise(10_000, 3)).await;
    deposit(key2.clone(), cid2).await;
    node.add_version(owner, asset, &cid2).await;

    for version in [None, Some(2)] {
        let (status, code, message) = refused(ask(buyer, version).await);
        assert_eq!(
            (status, code.as_str()),
            (403, "license_expired"),
            "{message}"
        );
        assert!(message.contains("version 2"), "{message}");
    }
    // Version 1 was added while the license ran: still the buyer's. Version 0 was added before it was bought,
    // so it is not (the buyer read it while the license ran).
    assert_eq!(ask(buyer, Some(1)).await.unwrap().1, key1);
    let (status, code, _) = refused(ask(buyer, Some(0)).await);
    assert_eq!((status, code.as_str()), (403, "license_expired"));
    // The owner reads every version, each under its own key; a version that does not exist is named.
    for (n, key) in [(0, &key0), (1, &key1), (2, &key2)] {
        assert_eq!(&ask(owner, Some(n)).await.unwrap().1, key, "version {n}");
    }
    let (status, code, message) = refused(ask(owner, Some(3)).await);
    assert_eq!(
        (status, code.as_str()),
        (404, "no_such_version"),
        "{message}"
    );
    assert!(message.contains("versions 0 to 2"), "{message}");

    // Renewing gives the latest again.
    node.buy(buyer, asset, ONE_ETH).await;
    assert_eq!(ask(buyer, None).await.unwrap().1, key2);

    // A version made the old way (under the asset's first key, with no deposit of its own) keeps that key; a
    // version nobody deposited a key for, under another key, is `no_key`, not a wrong key.
    let cid3 = node
        .upload(crypt::encrypt_vec(&noise(10_000, 4), &key0, [7; 16]))
        .await;
    node.add_version(owner, asset, &cid3).await;
    assert_eq!(ask(owner, Some(3)).await.unwrap().1, key0);
    let (_, cid4) = node.encrypt_into_store(&noise(10_000, 5)).await;
    node.add_version(owner, asset, &cid4).await;
    let (status, code, message) = refused(ask(owner, Some(4)).await);
    assert_eq!((status, code.as_str()), (404, "no_key"), "{message}");
    assert!(message.contains("version 4"), "{message}");
}

// Executing a proposal of an encrypted asset whose key its proposer never deposited would add a version nobody
// can read: the gateway says whether it holds that key, and `ensure_proposal_key` (what `scal3ml execute` and
// the pages ask first) refuses until it does.
#[tokio::test]
async fn a_proposal_without_its_key_is_named_before_anyone_executes_it() {
    let node = Node::start(1000).await;
    let (owner, proposer) = (1, 2);
    let chain = node.chain_id;
    let (key0, cid0) = node.encrypt_into_store(&noise(10_000, 1)).await;
    node.client
        .deposit_key(&node.signer(owner), chain, &cid0.to_string(), &key0)
        .await
        .unwrap();
    let asset = node.publish(owner, &cid0, ONE_ETH, 0).await;
    let (key, cid) = node.encrypt_into_store(&noise(10_000, 2)).await;
    let id = node.propose(proposer, asset, &cid).await;

    let status = node
        .client
        .proposal_key_status(ProposalId(id))
        .await
        .unwrap();
    assert_eq!(
        (status.held, status.content_cid.as_str(), status.proposer),
        (false, cid.to_string().as_str(), node.address(proposer))
    );
    let (status, code, message) = refused(node.client.ensure_proposal_key(ProposalId(id)).await);
    assert_eq!(
        (status, code.as_str()),
        (409, "no_proposal_key"),
        "{message}"
    );
    assert!(message.contains("nobody can read"), "{message}");
    // Someone else's deposit for that content does not count; the proposer's does.
    node.client
        .deposit_key(&node.signer(owner), chain, &cid.to_string(), &key)
        .await
        .unwrap();
    assert!(
        !node
            .client
            .proposal_key_status(ProposalId(id))
            .await
            .unwrap()
            .held
    );
    node.client
        .deposit_key(&node.signer(proposer), chain, &cid.to_string(), &key)
        .await
        .unwrap();
    assert!(
        node.client
            .proposal_key_status(ProposalId(id))
            .await
            .unwrap()
            .held
    );
    node.client
        .ensure_proposal_key(ProposalId(id))
        .await
        .unwrap();
    let (status, code, _) = refused(node.client.proposal_key_status(ProposalId(99)).await);
    assert_eq!((status, code.as_str()), (404, "unknown_proposal"));
}
