//! Uploads as an attacker tries them: unsigned, from fresh keys over the limits, from many addresses at once,
//! and left unpublished; and what a publisher still gets: content kept, handed on to the pinning service.

use crate::common::{Server, car_of, dev_key, free_port, json};
use alloy::signers::local::PrivateKeySigner;
use scal3ml_access::upload::{SignedUpload, UPLOAD_HEADER};
use serde_json::Value;
use std::{net::IpAddr, time::Duration};

/// `scal3ml dev` with `flags` added, in `dir`.
fn dev_with(dir: &std::path::Path, flags: &[&str], envs: &[(&str, &str)]) -> Server {
    let port = free_port().to_string();
    let mut args = vec![
        "dev",
        "--data-dir",
        dir.to_str().unwrap(),
        "--port",
        &port,
        "--rpc-port",
        "0",
    ];
    args.extend_from_slice(flags);
    Server::start(&args, envs)
}

/// POSTs `car` to the node signed by `key` (or unsigned), from the client address `from`.
async fn upload(
    node: &str,
    car: &[u8],
    key: Option<&PrivateKeySigner>,
    from: IpAddr,
) -> (u16, Value) {
    let http = reqwest::Client::builder()
        .local_address(from)
        .build()
        .unwrap();
    let mut request = http.post(format!("{node}/api/car")).body(car.to_vec());
    if let Some(key) = key {
        let signed = SignedUpload::sign(key, 31337, node, "car", 60).unwrap();
        request = request.header(UPLOAD_HEADER, signed.header_value().unwrap());
    }
    let r = request.send().await.unwrap();
    (r.status().as_u16(), r.json().await.unwrap_or(Value::Null))
}

fn local(n: u8) -> IpAddr {
    IpAddr::from([127, 0, 0, n])
}

/// Bytes that differ for every `seed`, so every upload is new content.
fn noise(seed: u32, len: usize) -> Vec<u8> {
    (0..len as u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) ^ seed.wrapping_mul(40_503)) as u8)
        .collect()
}

// Anyone could make the node store (and pin, and forward) up to 64 GiB per request without an account.
#[tokio::test(flavor = "multi_thread")]
async fn regression_unsigned_or_forged_uploads_are_refused() {
    let work = tempfile::tempdir().unwrap();
    let node = dev_with(&work.path().join("node"), &[], &[]);
    let (car, _) = car_of(b"hello").await;
    let (status, body) = upload(&node.url, &car, None, local(1)).await;
    assert_eq!(status, 401, "{body}");
    assert_eq!(body["error"]["code"], "unsigned_upload");
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("x-scal3ml-upload"),
        "the refusal says how to sign: {body}"
    );

    // A request signed by another key than the account it names.
    let mut forged = SignedUpload::sign(&dev_key(1), 31337, &node.url, "car", 60).unwrap();
    forged.account = dev_key(2).address();
    let r = reqwest::Client::new()
        .post(format!("{}/api/car", node.url))
        .header(UPLOAD_HEADER, forged.header_value().unwrap())
        .body(car.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 401);
    // A signed request replayed.
    let signed = SignedUpload::sign(&dev_key(1), 31337, &node.url, "car", 60).unwrap();
    let send = || {
        reqwest::Client::new()
            .post(format!("{}/api/car", node.url))
            .header(UPLOAD_HEADER, signed.header_value().unwrap())
            .body(car.clone())
            .send()
    };
    let first = send().await.unwrap();
    assert_eq!(first.status().as_u16(), 200);
    let again: Value = send().await.unwrap().json().await.unwrap();
    assert_eq!(again["error"]["code"], "nonce_reused", "{again}");
}

// Fresh keys cost nothing: per-account limits alone let one client fill the disk with new accounts.
#[tokio::test(flavor = "multi_thread")]
async fn regression_fresh_keys_are_held_by_address_and_by_the_global_cap() {
    let work = tempfile::tempdir().unwrap();
    let node = dev_with(
        &work.path().join("node"),
        &[
            "--max-upload",
            "400KiB",
            "--pending-per-client",
            "300KiB",
            "--max-pending",
            "1MiB",
        ],
        &[],
    );
    // One request over --max-upload: 413 before the body is stored.
    let (big, _) = car_of(&noise(0, 450 << 10)).await;
    let (status, body) = upload(&node.url, &big, Some(&dev_key(1)), local(1)).await;
    assert_eq!(status, 413, "{body}");
    assert_eq!(body["error"]["code"], "upload_too_large");
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("--max-upload"),
        "{body}"
    );

    // One account: a second 200 KiB upload passes its 300 KiB.
    let (a, _) = car_of(&noise(1, 200 << 10)).await;
    let (b, _) = car_of(&noise(2, 200 << 10)).await;
    assert_eq!(
        upload(&node.url, &a, Some(&dev_key(1)), local(1)).await.0,
        200
    );
    let (status, body) = upload(&node.url, &b, Some(&dev_key(1)), local(2)).await;
    assert_eq!(status, 429, "{body}");
    assert_eq!(body["error"]["code"], "upload_quota");
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("account"),
        "{body}"
    );
    // A fresh key from the same address: the address's quota holds.
    let fresh = PrivateKeySigner::random();
    let (status, body) = upload(&node.url, &b, Some(&fresh), local(1)).await;
    assert_eq!(status, 429, "{body}");
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("this address"),
        "{body}"
    );

    // Fresh keys from fresh addresses: together they stop at --max-pending (1 MiB: four more 200 KiB
    // uploads fit beside the first, the fifth does not).
    let mut accepted = 1;
    let mut refused = None;
    for i in 0..8u8 {
        let (car, _) = car_of(&noise(10 + u32::from(i), 200 << 10)).await;
        let (status, body) = upload(
            &node.url,
            &car,
            Some(&PrivateKeySigner::random()),
            local(10 + i),
        )
        .await;
        match status {
            200 => accepted += 1,
            _ => {
                refused = Some((status, body));
                break;
            }
        }
    }
    let (status, body) = refused.expect("the global cap held");
    assert_eq!((status, accepted), (429, 5), "{body}");
    assert_eq!(body["error"]["code"], "pending_cap");
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("--max-pending"),
        "{body}"
    );
}

// Every upload was pinned forever and handed to the operator's pinning service, published or not.
#[tokio::test(flavor = "multi_thread")]
async fn regression_unreferenced_uploads_are_collected_and_never_handed_on() {
    use scal3ml_store::pinning::{ListQuery, PinningClient, PinningConfig, PinningService, Status};
    let service_store = std::sync::Arc::new(scal3ml_store::MemStore::new());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let service_url = format!("http://{}", listener.local_addr().unwrap());
    let service = PinningService::new(
        service_store,
        PinningConfig::new("s3cret", "/ip4/127.0.0.1/tcp/1/http"),
    )
    .unwrap();
    tokio::spawn(async move { axum::serve(listener, service.router()).await });

    let work = tempfile::tempdir().unwrap();
    let node = dev_with(
        &work.path().join("node"),
        &["--upload-grace", "1s", "--pinning-service", &service_url],
        &[("SCAL3ML_PINNING_TOKEN", "s3cret")],
    );
    let bytes = noise(99, 300_000);
    let (car, orphan) = car_of(&bytes).await;
    let (status, body) = upload(&node.url, &car, Some(&dev_key(3)), local(1)).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["keep_unreferenced_secs"], 1);
    let raw = |cid: String| {
        let url = format!("{}/ipfs/{cid}?format=raw", node.url);
        async move { reqwest::get(url).await.unwrap().status().as_u16() }
    };
    assert_eq!(raw(orphan.to_string()).await, 200, "stored at first");

    // A published asset, uploaded the same way (`scal3ml publish` signs its upload).
    let file = work.path().join("table.csv");
    std::fs::write(&file, noise(7, 200_000)).unwrap();
    let published = json(
        &node.url,
        &[
            "publish",
            file.to_str().unwrap(),
            "--kind",
            "dataset",
            "--name",
            "Kept",
            "--license",
            "CC0-1.0",
            "--dev-account",
            "0",
        ],
    );
    let content = published["content_cid"].as_str().unwrap().to_string();
    let card = published["metadata_cid"].as_str().unwrap().to_string();

    // The published content reaches the pinning service; by then the sweep has seen the orphan too.
    let client = PinningClient::new(&service_url, "s3cret");
    for cid in [&content, &card] {
        let query = ListQuery {
            cid: vec![cid.clone()],
            ..ListQuery::default()
        };
        let mut status = None;
        for _ in 0..300 {
            status = client
                .list(&query)
                .await
                .unwrap()
                .results
                .first()
                .map(|p| p.status);
            if status == Some(Status::Pinned) {
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        assert_eq!(status, Some(Status::Pinned), "the service pinned {cid}");
    }
    // The orphan is collected after its second of grace...
    let mut gone = false;
    for _ in 0..100 {
        if raw(orphan.to_string()).await != 200 {
            gone = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(gone, "the unreferenced upload {orphan} is still served");
    // ...and was never handed to the pinning service.
    let asked = client
        .list(&ListQuery {
            cid: vec![orphan.to_string()],
            status: Status::ALL.to_vec(),
            ..ListQuery::default()
        })
        .await
        .unwrap();
    assert!(asked.results.is_empty(), "{:?}", asked.results);
    // The published asset outlives the grace period, and downloads whole.
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(raw(content.clone()).await, 200);
    assert_eq!(raw(card).await, 200);
    let out = work.path().join("out");
    let got = crate::common::run(
        &node.url,
        &[
            "get",
            &published["asset"].to_string(),
            "-o",
            out.to_str().unwrap(),
            "--no-progress",
        ],
    );
    assert!(
        got.status.success(),
        "{}",
        String::from_utf8_lossy(&got.stderr)
    );
    assert_eq!(std::fs::read(&out).unwrap(), noise(7, 200_000));
}
