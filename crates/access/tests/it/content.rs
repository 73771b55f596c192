//! Content inside an encrypted folder, by path, with the command line's signed request header; every version
//! of an encrypted asset to a licensee; unencrypted content to anyone, from a plain link.

use scal3ml_access::AccessError;
use scal3ml_store::{ImportOptions, add_path, crypt};

use crate::common::{Node, ONE_ETH, noise};

#[tokio::test]
async fn a_file_inside_an_encrypted_folder_streams_by_path() {
    let node = Node::start(1000).await;
    let (publisher, buyer) = (1, 2);
    let chain = node.chain_id;
    // One key for every file of the asset, each file with its own nonce.
    let key = crypt::FileKey::generate().unwrap();
    let weights = noise(150_000, 3);
    let config = b"{\"layers\": 2}".to_vec();
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("model");
    std::fs::create_dir_all(root.join("sub")).unwrap();
    std::fs::write(
        root.join("sub/weights.bin"),
        crypt::encrypt_vec(&weights, &key, [1; 16]),
    )
    .unwrap();
    std::fs::write(
        root.join("config.json"),
        crypt::encrypt_vec(&config, &key, [2; 16]),
    )
    .unwrap();
    let imported = add_path(node.store.as_ref(), &root, ImportOptions::kubo_v1(), false)
        .await
        .unwrap();
    let cid = imported.cid;
    node.client
        .deposit_key(&node.signer(publisher), chain, &cid.to_string(), &key)
        .await
        .unwrap();
    let asset = node.publish(publisher, &cid, ONE_ETH, 0).await;
    node.buy(buyer, asset, ONE_ETH).await;

    let got = node
        .client
        .fetch_content(
            &node.signer(buyer),
            chain,
            asset,
            "sub/weights.bin",
            Some("bytes=70000-"),
        )
        .await
        .unwrap();
    assert_eq!(got, weights[70_000..]);
    let got = node
        .client
        .fetch_content(&node.signer(buyer), chain, asset, "config.json", None)
        .await
        .unwrap();
    assert_eq!(got, config);
    match node
        .client
        .fetch_content(&node.signer(buyer), chain, asset, "missing.bin", None)
        .await
    {
        Err(AccessError::Refused {
            status: 404, code, ..
        }) => assert_eq!(code, "no_such_path"),
        other => panic!("expected 404 no_such_path, got {other:?}"),
    }
    // Someone without a license gets none of it.
    match node
        .client
        .fetch_content(&node.signer(6), chain, asset, "config.json", None)
        .await
    {
        Err(AccessError::Refused {
            status: 403, code, ..
        }) => assert_eq!(code, "no_license"),
        other => panic!("expected 403 no_license, got {other:?}"),
    }
}

/// A licensee reads every version, not only the latest (a diff of two versions needs both); each version is
/// encrypted under the asset's one key.
#[tokio::test]
async fn a_licensee_reads_each_version_by_number() {
    let node = Node::start(1000).await;
    let (publisher, buyer) = (1, 2);
    let chain = node.chain_id;
    let key = crypt::FileKey::generate().unwrap();
    let (v0, v1) = (b"id,x\n1,a\n2,b\n".to_vec(), b"id,x\n1,a\n".to_vec());
    let cid0 = node.upload(crypt::encrypt_vec(&v0, &key, [1; 16])).await;
    let cid1 = node.upload(crypt::encrypt_vec(&v1, &key, [2; 16])).await;
    node.client
        .deposit_key(&node.signer(publisher), chain, &cid0.to_string(), &key)
        .await
        .unwrap();
    let asset = node.publish(publisher, &cid0, ONE_ETH, 0).await;
    node.add_version(publisher, asset, &cid1).await;
    node.buy(buyer, asset, ONE_ETH).await;

    let read = |version| {
        let signer = node.signer(buyer);
        let client = &node.client;
        async move {
            client
                .fetch_version_content(&signer, chain, asset, version, "")
                .await
        }
    };
    assert_eq!(read(0).await.unwrap(), v0);
    assert_eq!(read(1).await.unwrap(), v1);
    let latest = node
        .client
        .fetch_content(&node.signer(buyer), chain, asset, "", None)
        .await
        .unwrap();
    assert_eq!(latest, v1);
    match read(2).await {
        Err(AccessError::Refused {
            status: 404,
            code,
            message,
        }) => {
            assert_eq!(code, "no_such_version");
            assert!(message.contains("versions 0 to 1"), "{message}");
        }
        other => panic!("expected 404 no_such_version, got {other:?}"),
    }
    match node
        .client
        .fetch_version_content(&node.signer(6), chain, asset, 0, "")
        .await
    {
        Err(AccessError::Refused {
            status: 403, code, ..
        }) => assert_eq!(code, "no_license"),
        other => panic!("expected 403 no_license, got {other:?}"),
    }
}

/// An unencrypted asset's blocks are public on IPFS anyway, so its bytes download from a plain link: no
/// sign-in, no license, even when it is priced. Encrypted content still asks who is asking.
#[tokio::test]
async fn unencrypted_content_downloads_from_a_plain_link_and_encrypted_content_still_asks() {
    let node = Node::start(1000).await;
    let http = reqwest::Client::new();
    let plain = noise(70_000, 9);
    let cid = node.upload(plain.clone()).await;
    let asset = node.publish_as(1, &cid, ONE_ETH, 0, false).await;
    let url = format!("{}/access/content/{asset}", node.base);
    let r = http.get(&url).send().await.unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.bytes().await.unwrap(), plain);
    let r = http
        .get(&url)
        .header("range", "bytes=100-199")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 206);
    assert_eq!(r.bytes().await.unwrap(), plain[100..200]);
    let audit = node.audit();
    assert!(
        audit
            .iter()
            .any(|e| e["reason"] == "public" && e["decision"] == "release"),
        "{audit:?}"
    );

    let (key, secret_cid) = node.encrypt_into_store(b"secret weights").await;
    node.client
        .deposit_key(
            &node.signer(1),
            node.chain_id,
            &secret_cid.to_string(),
            &key,
        )
        .await
        .unwrap();
    let secret = node.publish(1, &secret_cid, ONE_ETH, 0).await;
    let r = http
        .get(format!("{}/access/content/{secret}", node.base))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    let body: serde_json::Value = r.json().await.unwrap();
    assert_eq!(body["error"]["code"], "unauthenticated");
}
