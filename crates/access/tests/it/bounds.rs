//! What a hostile client can grow or share: rate limits behind a proxy, pending key deposits, SIWE nonces and
//! sessions. Each bound holds under the attack, and a legitimate user still gets in.

use std::time::Duration;

use scal3ml_access::{NODE_CALL_HEADER, parse_trusted_proxy};

use crate::common::{Node, ONE_ETH};
use crate::siwe::{login, message, nonce};

/// A refused key request (a body that is not one), as sent by `client` through a proxy that appended `xff`.
async fn bad_request(node: &Node, xff: Option<&str>, extra: Option<(&str, &str)>) -> u16 {
    let mut r = reqwest::Client::new()
        .post(format!("{}/access/key", node.base))
        .header("content-type", "application/json")
        .body("{}");
    if let Some(xff) = xff {
        r = r.header("x-forwarded-for", xff);
    }
    if let Some((k, v)) = extra {
        r = r.header(k, v);
    }
    r.send().await.unwrap().status().as_u16()
}

// Regression: behind a reverse proxy every client had the proxy's address, so one client using up its refusals
// locked everybody out. With --trusted-proxy, each client is the address the proxy appended.
#[tokio::test]
async fn regression_behind_a_trusted_proxy_one_client_does_not_lock_out_another() {
    let node = Node::start_configured(3, true, |c| {
        c.with_trusted_proxies([parse_trusted_proxy("127.0.0.1").unwrap()])
    })
    .await;
    for _ in 0..3 {
        assert_eq!(bad_request(&node, Some("203.0.113.1"), None).await, 400);
    }
    assert_eq!(bad_request(&node, Some("203.0.113.1"), None).await, 429);
    // Another client behind the same proxy is not locked out.
    assert_eq!(bad_request(&node, Some("203.0.113.2"), None).await, 400);
    // The locked-out client cannot get out by writing another address in front: the proxy's entry, right-most,
    // is the one believed.
    assert_eq!(
        bad_request(&node, Some("203.0.113.2, 203.0.113.1"), None).await,
        429
    );
}

// A client talking to the node directly cannot pick its address with X-Forwarded-For.
#[tokio::test]
async fn a_forged_forwarded_for_from_an_untrusted_peer_is_ignored() {
    let node = Node::start(3).await;
    for n in 0..3 {
        let forged = format!("198.51.100.{n}");
        assert_eq!(bad_request(&node, Some(&forged), None).await, 400);
    }
    assert_eq!(bad_request(&node, Some("198.51.100.99"), None).await, 429);
}

// The node calls its own gateway on a viewer's behalf (diffs, a browser's proposal): those refusals are the
// viewer's, not the node's address's, so they never lock the node's address out. A wrong token is no token.
#[tokio::test]
async fn the_nodes_own_calls_are_charged_to_no_address() {
    let node = Node::start(3).await;
    let token = node.state.node_call_token().to_owned();
    for _ in 0..10 {
        assert_eq!(
            bad_request(&node, None, Some((NODE_CALL_HEADER, &token))).await,
            400
        );
    }
    for _ in 0..3 {
        assert_eq!(
            bad_request(&node, None, Some((NODE_CALL_HEADER, "forged"))).await,
            400
        );
    }
    assert_eq!(bad_request(&node, None, None).await, 429);
}

// Regression: key deposits were taken for any CID, without limit. Now each depositor may have only so many for
// content no chain event names; publishing makes room.
#[tokio::test]
async fn regression_pending_deposits_are_bounded_per_depositor_and_publishing_makes_room() {
    let node = Node::start_configured(1000, true, |c| c.with_pending_limits(2, 4, 100)).await;
    let (publisher, other) = (1, 2);
    let chain = node.chain_id;
    let mut made = Vec::new();
    for n in 0..3u8 {
        made.push(node.encrypt_into_store(&[n; 1000]).await);
    }
    for (key, cid) in &made[..2] {
        node.client
            .deposit_key(&node.signer(publisher), chain, &cid.to_string(), key)
            .await
            .unwrap();
    }
    let (key3, cid3) = &made[2];
    let err = node
        .client
        .deposit_key(&node.signer(publisher), chain, &cid3.to_string(), key3)
        .await
        .unwrap_err();
    let scal3ml_access::AccessError::Refused {
        status,
        code,
        message,
    } = err
    else {
        panic!("{err}")
    };
    assert_eq!(
        (status, code.as_str()),
        (429, "too_many_pending_keys"),
        "{message}"
    );
    assert!(message.contains("publish"), "{message}");
    // Another depositor is not held to the first one's count.
    node.client
        .deposit_key(&node.signer(other), chain, &cid3.to_string(), key3)
        .await
        .unwrap();
    // Publishing one of the pending makes room.
    node.publish(publisher, &made[0].1, ONE_ETH, 0).await;
    node.client
        .deposit_key(&node.signer(publisher), chain, &cid3.to_string(), key3)
        .await
        .unwrap();
}

// Deposits for content nobody published are dropped after the grace period; a key someone bought access to is
// kept, and still released.
#[tokio::test]
async fn unpublished_deposits_are_dropped_after_the_grace_period_and_bought_ones_never() {
    let node = Node::start_configured(1000, true, |c| c.with_pending_grace(Duration::ZERO)).await;
    let (publisher, buyer) = (1, 2);
    let chain = node.chain_id;
    let (key1, cid1) = node.encrypt_into_store(b"published").await;
    let (key2, cid2) = node.encrypt_into_store(b"never published").await;
    for (key, cid) in [(&key1, &cid1), (&key2, &cid2)] {
        node.client
            .deposit_key(&node.signer(publisher), chain, &cid.to_string(), key)
            .await
            .unwrap();
    }
    let asset = node.publish(publisher, &cid1, ONE_ETH, 0).await;
    node.buy(buyer, asset, ONE_ETH).await;
    let report = node.state.sweep_pending().await.unwrap();
    assert_eq!((report.published, report.dropped), (1, 1));
    // Sweeping again changes nothing: the published key is kept for good.
    let again = node.state.sweep_pending().await.unwrap();
    assert_eq!((again.published, again.dropped), (0, 0));
    let keys = std::fs::read_to_string(node.data_dir.path().join("access/keys.jsonl")).unwrap();
    assert!(
        keys.contains(&cid1.to_string()) && !keys.contains(&cid2.to_string()),
        "{keys}"
    );
    assert_eq!(
        node.client
            .request_key(&node.signer(buyer), chain, asset, None)
            .await
            .unwrap()
            .1,
        key1
    );
    // The dropped one is gone: depositing it again stores it anew.
    assert!(
        node.client
            .deposit_key(&node.signer(publisher), chain, &cid2.to_string(), &key2)
            .await
            .unwrap()
    );
}

// Regression: every GET /access/nonce was stored (pruned only past 10,000), and sessions grew per sign-in. Now a
// nonce costs nothing until it is used, used nonces and sessions are bounded, an evicted nonce cannot be
// replayed, and the newest sign-in works.
#[tokio::test]
async fn regression_siwe_nonces_and_sessions_stay_bounded() {
    let node = Node::start_configured(1000, true, |c| c.with_max_entries(4)).await;
    let publisher = 1;
    let chain = node.chain_id;
    let (key, cid) = node.encrypt_into_store(b"for the owner").await;
    node.client
        .deposit_key(&node.signer(publisher), chain, &cid.to_string(), &key)
        .await
        .unwrap();
    let asset = node.publish(publisher, &cid, ONE_ETH, 0).await;
    let http = reqwest::Client::new();
    for _ in 0..2_000 {
        nonce(&http, &node).await;
    }
    assert_eq!(node.state.used_siwe_nonces(), 0);

    let mut tokens = Vec::new();
    let mut messages = Vec::new();
    for _ in 0..10 {
        let n = nonce(&http, &node).await;
        let msg = message(&node, publisher, &n, chain, None);
        let r = login(&http, &node, &msg, publisher).await;
        assert_eq!(r.status().as_u16(), 200);
        let v: serde_json::Value = r.json().await.unwrap();
        tokens.push(v["token"].as_str().unwrap().to_owned());
        messages.push(msg);
        assert!(node.state.sessions() <= 4);
        assert!(node.state.used_siwe_nonces() <= 4);
    }
    let url = format!("{}/access/content/{asset}", node.base);
    let with = |token: &str| http.get(&url).bearer_auth(token).send();
    assert_eq!(
        with(tokens.last().unwrap())
            .await
            .unwrap()
            .status()
            .as_u16(),
        200
    );
    let r = with(&tokens[0]).await.unwrap();
    assert_eq!(r.status().as_u16(), 401);
    // The first nonce was forgotten to make room; replaying its signed message is still refused.
    let r = login(&http, &node, &messages[0], publisher).await;
    assert_eq!(r.status().as_u16(), 401);
    let v: serde_json::Value = r.json().await.unwrap();
    assert_eq!(v["error"]["code"], "bad_nonce");
}
