//! The gateway's rules called as a library, without HTTP: [`Gateway`] methods against the embedded chain. The
//! HTTP tests beside this file are the routes' contract; these say what each decision is, and what it logs.

use std::time::Duration;

use alloy::signers::SignerSync;
use scal3ml_access::{
    Credentials, Gateway, Origin, SiweLogin,
    eip712::{SignedAccessRequest, SignedKeyDeposit},
};
use scal3ml_primitives::AssetId;

use crate::common::{Node, ONE_ETH, noise};
use crate::siwe::message;

fn origin() -> Origin {
    Origin::Ip("127.0.0.1".parse().unwrap())
}

fn request(node: &Node, account: usize, asset: AssetId) -> SignedAccessRequest {
    SignedAccessRequest::sign(&node.signer(account), node.chain_id, &node.base, asset, 60).unwrap()
}

/// Signs in `account` with a fresh nonce, without HTTP.
fn login(node: &Node, gateway: &Gateway, account: usize) -> scal3ml_access::SessionReply {
    let nonce = gateway.siwe_nonce().unwrap().nonce;
    let msg = message(node, account, &nonce, node.chain_id, None);
    let sig = node
        .signer(account)
        .sign_message_sync(msg.as_bytes())
        .unwrap();
    let login = SiweLogin {
        message: msg,
        signature: format!("0x{}", alloy::primitives::hex::encode(sig.as_bytes())),
    };
    gateway.login(origin(), &login).unwrap()
}

#[tokio::test]
async fn a_deposited_key_goes_to_a_licensee_and_an_outsider_is_refused_and_logged() {
    let node = Node::start(1000).await;
    let gateway = &node.state;
    let (publisher, buyer, outsider) = (1, 2, 3);
    let plaintext = noise(70_000, 3);
    let (key, cid) = node.encrypt_into_store(&plaintext).await;

    let dep = SignedKeyDeposit::sign(
        &node.signer(publisher),
        node.chain_id,
        &node.base,
        &cid.to_string(),
        &key.0,
        60,
    )
    .unwrap();
    let reply = gateway.deposit(origin(), dep).await.unwrap();
    assert!(reply.stored);
    assert_eq!(reply.depositor, node.address(publisher));
    let asset = node.publish(publisher, &cid, ONE_ETH, 0).await;
    node.buy(buyer, asset, ONE_ETH).await;

    let release = gateway
        .release(origin(), request(&node, buyer, asset), None)
        .await
        .unwrap();
    assert_eq!((release.version, release.key.clone()), (0, key.to_hex()));
    assert_eq!(release.content_cid, cid.to_string());

    let err = gateway
        .release(origin(), request(&node, outsider, asset), None)
        .await
        .unwrap_err();
    assert_eq!(
        (err.status.as_u16(), err.code.as_str()),
        (403, "no_license")
    );
    assert!(
        err.message.contains(&format!("scal3ml buy {asset}")),
        "{err}"
    );

    // One line per decision, in order: the deposit accepted, the key released, the outsider refused.
    let audit = node.audit();
    let lines: Vec<(&str, &str, &str)> = audit
        .iter()
        .map(|l| {
            (
                l["action"].as_str().unwrap(),
                l["decision"].as_str().unwrap(),
                l["reason"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        lines,
        [
            ("deposit", "accept", "ok"),
            ("key", "release", "ok"),
            ("key", "refuse", "no_license"),
        ]
    );
    let refused = audit.last().unwrap();
    assert_eq!(
        refused["account"].as_str().unwrap().to_lowercase(),
        node.address(outsider).to_string().to_lowercase()
    );
    assert_eq!(refused["asset"], asset.0);
    assert_eq!(refused["ip"], "127.0.0.1");
    assert!(!refused.to_string().contains(&key.to_hex()), "never a key");

    // The licensee reads the decrypted bytes through the same rules, as a library.
    let signed = Credentials::Signed(Box::new(request(&node, buyer, asset)));
    let read = gateway
        .read_content(origin(), &signed, asset, None, "", Some("bytes=10-19"))
        .await
        .unwrap();
    assert_eq!(read.len, plaintext.len() as u64);
    let bytes = axum::body::to_bytes(read.body, usize::MAX).await.unwrap();
    assert_eq!(&bytes[..], &plaintext[10..20]);
}

#[tokio::test]
async fn a_session_is_looked_up_until_logout_and_unknown_or_expired_ones_are_refused() {
    let node = Node::start_configured(1000, true, |mut c| {
        c.session_ttl = Duration::from_secs(1);
        c
    })
    .await;
    let gateway = &node.state;
    let (publisher, buyer) = (1, 2);
    let (key, cid) = node.encrypt_into_store(b"for licensees").await;
    node.client
        .deposit_key(
            &node.signer(publisher),
            node.chain_id,
            &cid.to_string(),
            &key,
        )
        .await
        .unwrap();
    let asset = node.publish(publisher, &cid, ONE_ETH, 0).await;
    node.buy(buyer, asset, ONE_ETH).await;

    let session = login(&node, gateway, buyer);
    assert_eq!(session.address, node.address(buyer));
    assert_eq!(
        gateway.session(&session.token).unwrap(),
        node.address(buyer)
    );
    gateway.logout(&session.token);
    let err = gateway.session(&session.token).unwrap_err();
    assert_eq!(
        (err.status.as_u16(), err.code.as_str()),
        (401, "no_session")
    );

    // Unknown tokens, and sessions that ended, read nothing.
    for token in ["", "nonsense", &"ab".repeat(32)] {
        let err = gateway.session(token).unwrap_err();
        assert_eq!(err.code, "no_session", "{token:?}");
    }
    let session = login(&node, gateway, buyer);
    let creds = Credentials::Session(session.token.clone());
    tokio::time::sleep(Duration::from_millis(2100)).await;
    assert_eq!(
        gateway.session(&session.token).unwrap_err().code,
        "session_expired"
    );
    let err = gateway
        .read_content(origin(), &creds, asset, None, "", None)
        .await
        .unwrap_err();
    assert_eq!(
        (err.status.as_u16(), err.code.as_str()),
        (401, "session_expired")
    );
    let err = gateway
        .read_content(origin(), &Credentials::Anonymous, asset, None, "", None)
        .await
        .unwrap_err();
    assert_eq!(err.code, "unauthenticated");
    let last = node.audit().pop().unwrap();
    assert_eq!(
        (last["action"].as_str(), last["decision"].as_str()),
        (Some("content"), Some("refuse"))
    );
    assert_eq!(last["reason"], "unauthenticated");
}
