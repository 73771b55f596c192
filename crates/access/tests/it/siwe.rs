//! Sign-In with Ethereum, then the decrypted content with `Range`, as a browser would fetch it.

use alloy::signers::SignerSync;
use scal3ml_primitives::AssetId;

use crate::common::{Node, ONE_ETH, noise};

pub(crate) fn message(
    node: &Node,
    account: usize,
    nonce: &str,
    chain_id: u64,
    domain: Option<&str>,
) -> String {
    let host = node.base.trim_start_matches("http://");
    let now = chrono::Utc::now();
    format!(
        "{} wants you to sign in with your Ethereum account:\n{}\n\nSign in to the Scal3ML gateway.\n\nURI: {}/\n\
         Version: 1\nChain ID: {chain_id}\nNonce: {nonce}\nIssued At: {}\nExpiration Time: {}",
        domain.unwrap_or(host),
        node.address(account).to_checksum(None),
        node.base,
        now.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        (now + chrono::Duration::minutes(30)).to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
    )
}

pub(crate) async fn nonce(http: &reqwest::Client, node: &Node) -> String {
    let v: serde_json::Value = http
        .get(format!("{}/access/nonce", node.base))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    v["nonce"].as_str().unwrap().to_owned()
}

pub(crate) async fn login(
    http: &reqwest::Client,
    node: &Node,
    msg: &str,
    account: usize,
) -> reqwest::Response {
    let sig = node
        .signer(account)
        .sign_message_sync(msg.as_bytes())
        .unwrap();
    http.post(format!("{}/access/siwe", node.base))
        .json(&serde_json::json!({
            "message": msg,
            "signature": format!("0x{}", alloy::primitives::hex::encode(sig.as_bytes())),
        }))
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn siwe_session_streams_exact_plaintext_ranges() {
    let node = Node::start(1000).await;
    let (publisher, buyer, outsider) = (1, 2, 3);
    let chain = node.chain_id;
    // Several encrypted segments, so ranges cross segment boundaries.
    let plaintext = noise(200_000, 7);
    let (key, cid) = node.encrypt_into_store(&plaintext).await;
    node.client
        .deposit_key(&node.signer(publisher), chain, &cid.to_string(), &key)
        .await
        .unwrap();
    let asset = node.publish(publisher, &cid, ONE_ETH, 0).await;
    node.buy(buyer, asset, ONE_ETH).await;
    let http = reqwest::Client::new();
    let url = format!("{}/access/content/{asset}", node.base);

    // Without a session or a signed request: who is asking?
    let r = http.get(&url).send().await.unwrap();
    assert_eq!(r.status().as_u16(), 401);

    // Sign in: the cookie is HttpOnly and SameSite=Strict, the token comes back in JSON too.
    let n = nonce(&http, &node).await;
    let msg = message(&node, buyer, &n, chain, None);
    let r = login(&http, &node, &msg, buyer).await;
    assert_eq!(r.status().as_u16(), 200);
    let cookie = r.headers()["set-cookie"].to_str().unwrap().to_owned();
    assert!(
        cookie.contains("HttpOnly") && cookie.contains("SameSite=Strict"),
        "{cookie}"
    );
    let session: serde_json::Value = r.json().await.unwrap();
    let token = session["token"].as_str().unwrap().to_owned();
    assert!(cookie.starts_with(&format!("scal3ml_session={token};")));
    // The nonce is single use.
    let r = login(&http, &node, &msg, buyer).await;
    let body: serde_json::Value = r.json().await.unwrap();
    assert_eq!(body["error"]["code"], "bad_nonce");

    // A range across two segments: exactly those plaintext bytes.
    let cookie_header = format!("scal3ml_session={token}");
    let r = http
        .get(&url)
        .header("cookie", &cookie_header)
        .header("range", "bytes=65000-70999")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 206);
    assert_eq!(r.headers()["content-range"], "bytes 65000-70999/200000");
    assert_eq!(r.headers()["content-length"], "6000");
    assert_eq!(r.bytes().await.unwrap(), plaintext[65_000..71_000]);
    // A suffix range, and the whole file with the bearer token.
    let r = http
        .get(&url)
        .header("cookie", &cookie_header)
        .header("range", "bytes=-10")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 206);
    assert_eq!(r.bytes().await.unwrap(), plaintext[199_990..]);
    let r = http.get(&url).bearer_auth(&token).send().await.unwrap();
    assert_eq!(r.status().as_u16(), 200);
    assert_eq!(r.headers()["content-length"], "200000");
    assert_eq!(r.bytes().await.unwrap(), plaintext);
    // Past the end: 416 with the length.
    let r = http
        .get(&url)
        .bearer_auth(&token)
        .header("range", "bytes=200000-")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 416);
    assert_eq!(r.headers()["content-range"], "bytes */200000");

    // The command line's way: a signed request header, with a range.
    let bytes = node
        .client
        .fetch_content(&node.signer(buyer), chain, asset, "", Some("bytes=10-19"))
        .await
        .unwrap();
    assert_eq!(bytes, plaintext[10..20]);

    // An outsider signed in gets no content.
    let n = nonce(&http, &node).await;
    let r = login(
        &http,
        &node,
        &message(&node, outsider, &n, chain, None),
        outsider,
    )
    .await;
    let t: serde_json::Value = r.json().await.unwrap();
    let r = http
        .get(&url)
        .bearer_auth(t["token"].as_str().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 403);
    let body: serde_json::Value = r.json().await.unwrap();
    assert_eq!(body["error"]["code"], "no_license");

    // After logout the session is gone.
    let r = http
        .post(format!("{}/access/logout", node.base))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 204);
    let r = http.get(&url).bearer_auth(&token).send().await.unwrap();
    assert_eq!(r.status().as_u16(), 401);

    let audit = node.audit();
    assert!(
        audit
            .iter()
            .any(|e| e["action"] == "siwe" && e["decision"] == "accept")
    );
    assert!(
        audit.iter().any(|e| e["action"] == "content"
            && e["decision"] == "release"
            && e["asset"] == asset.0)
    );
    assert!(
        audit
            .iter()
            .any(|e| e["action"] == "content" && e["reason"] == "no_license")
    );
    let _ = AssetId(0);
}

#[tokio::test]
async fn siwe_refuses_wrong_domain_chain_signer_and_unknown_nonce() {
    let node = Node::start(1000).await;
    let http = reqwest::Client::new();
    let chain = node.chain_id;

    let n = nonce(&http, &node).await;
    let r = login(
        &http,
        &node,
        &message(&node, 2, &n, chain, Some("evil.example")),
        2,
    )
    .await;
    assert_eq!(r.status().as_u16(), 401);
    assert_eq!(
        r.json::<serde_json::Value>().await.unwrap()["error"]["code"],
        "wrong_domain"
    );

    let n = nonce(&http, &node).await;
    let r = login(&http, &node, &message(&node, 2, &n, 1, None), 2).await;
    assert_eq!(
        r.json::<serde_json::Value>().await.unwrap()["error"]["code"],
        "wrong_chain"
    );

    // Signed by account 3 for account 2's address.
    let n = nonce(&http, &node).await;
    let r = login(&http, &node, &message(&node, 2, &n, chain, None), 3).await;
    assert_eq!(
        r.json::<serde_json::Value>().await.unwrap()["error"]["code"],
        "bad_signature"
    );

    // A URI that only looks like this gateway's (same prefix, another port).
    let n = nonce(&http, &node).await;
    let msg = message(&node, 2, &n, chain, None).replace(
        &format!("URI: {}/", node.base),
        &format!("URI: {}0/", node.base),
    );
    let r = login(&http, &node, &msg, 2).await;
    assert_eq!(
        r.json::<serde_json::Value>().await.unwrap()["error"]["code"],
        "wrong_uri"
    );

    // A nonce this gateway never issued.
    let r = login(
        &http,
        &node,
        &message(&node, 2, "abcdefgh1234", chain, None),
        2,
    )
    .await;
    assert_eq!(
        r.json::<serde_json::Value>().await.unwrap()["error"]["code"],
        "bad_nonce"
    );
}
