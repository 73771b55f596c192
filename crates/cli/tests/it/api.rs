//! The node's HTTP API as a script or a browser sees it: the OpenAPI document names every route, errors have
//! one JSON shape, uploads are verified, metrics count requests.

use crate::common::{DevNode, get_json, get_text};
use serde_json::Value;

#[tokio::test(flavor = "multi_thread")]
async fn the_api_documents_itself_and_answers_errors_in_one_shape() {
    let work = tempfile::tempdir().unwrap();
    let dev = DevNode::start(&work.path().join("node"));
    let url = &dev.server.url;
    let http = reqwest::Client::new();

    let doc: Value = get_json(&http, &format!("{url}/api/openapi.json")).await;
    assert!(doc["openapi"].as_str().unwrap().starts_with("3."), "{doc}");
    let paths = doc["paths"].as_object().unwrap();
    for route in [
        "/api/network",
        "/api/stats",
        "/api/assets",
        "/api/assets/{id}",
        "/api/assets/{id}/versions",
        "/api/assets/{id}/lineage",
        "/api/assets/{id}/proposals",
        "/api/assets/{id}/attestations",
        "/api/accounts/{address}",
        "/api/car",
    ] {
        assert!(
            paths.contains_key(route),
            "the OpenAPI document lacks {route}"
        );
        // And the route answers (a 404 for an unknown id is still the route answering in the error shape).
        let concrete = route
            .replace("{id}", "1")
            .replace("{address}", "0x0000000000000000000000000000000000000001");
        let response = if route == "/api/car" {
            http.post(format!("{url}{concrete}"))
                .body("not a car")
                .send()
                .await
                .unwrap()
        } else {
            http.get(format!("{url}{concrete}")).send().await.unwrap()
        };
        let status = response.status().as_u16();
        let body: Value = response.json().await.unwrap();
        if status >= 400 {
            assert!(
                body["error"]["code"].is_string() && body["error"]["message"].is_string(),
                "{route}: {body}"
            );
        }
    }
    assert!(
        doc["components"]["schemas"]["AssetDetail"].is_object(),
        "schemas come from the types"
    );

    for (path, code) in [
        ("/api/assets?kind=bogus", "bad_request"),
        ("/api/assets/999", "no_such_asset"),
        ("/api/accounts/not-an-address", "bad_request"),
    ] {
        let response = http.get(format!("{url}{path}")).send().await.unwrap();
        assert!(response.status().is_client_error(), "{path}");
        let body: Value = response.json().await.unwrap();
        assert_eq!(body["error"]["code"], code, "{path}: {body}");
    }
    // An unsigned upload is refused before a byte is read, saying how to sign.
    let unsigned = http
        .post(format!("{url}/api/car"))
        .body(vec![0xa1u8, 0x00])
        .send()
        .await
        .unwrap();
    assert_eq!(unsigned.status().as_u16(), 401);
    let body: Value = unsigned.json().await.unwrap();
    assert_eq!(body["error"]["code"], "unsigned_upload", "{body}");
    let signed = scal3ml_access::upload::SignedUpload::sign(
        &crate::common::dev_key(0),
        31337,
        url,
        "car",
        60,
    )
    .unwrap();
    let car = http
        .post(format!("{url}/api/car"))
        .header(
            scal3ml_access::upload::UPLOAD_HEADER,
            signed.header_value().unwrap(),
        )
        .body(vec![0xa1u8, 0x00])
        .send()
        .await
        .unwrap();
    assert_eq!(car.status().as_u16(), 400);
    let body: Value = car.json().await.unwrap();
    assert!(
        body["error"]["message"].as_str().unwrap().contains("CAR"),
        "{body}"
    );

    // regression_plain_text_rejections: what axum refuses before a handler runs was plain text or an empty
    // body (found by the API fuzz run, scripts/suites/45-api-fuzz.sh); now the error shape, status kept.
    for (method, path, status, code) in [
        ("GET", "/api/assets/-1", 400, "bad_request"),
        ("GET", "/api/proposals/x/diff", 400, "bad_request"),
        ("GET", "/access/content/-1", 400, "bad_request"),
        (
            "GET",
            "/access/assets/1/versions/-1/content",
            400,
            "bad_request",
        ),
        ("DELETE", "/api/stats", 405, "method_not_allowed"),
        // regression_upload_guard_on_any_method: the upload guard ran before axum's 405, so a PUT to an
        // upload route was answered 401 `unsigned_upload` and charged to the client as a refused upload.
        ("PUT", "/api/car", 405, "method_not_allowed"),
        ("PUT", "/api/publish", 405, "method_not_allowed"),
        ("PUT", "/api/propose", 405, "method_not_allowed"),
    ] {
        let response = http
            .request(method.parse().unwrap(), format!("{url}{path}"))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status().as_u16(), status, "{method} {path}");
        assert_eq!(
            response.headers()["content-type"],
            "application/json",
            "{method} {path}"
        );
        if status == 405 {
            assert!(response.headers().contains_key("allow"), "{method} {path}");
        }
        let body: Value = response.json().await.unwrap();
        assert_eq!(body["error"]["code"], code, "{method} {path}: {body}");
        assert!(
            body["error"]["message"].as_str().unwrap().len() > 20,
            "{method} {path}: {body}"
        );
    }

    let health: Value = get_json(&http, &format!("{url}/health")).await;
    assert_eq!(health["status"], "ok");
    let metrics = get_text(&http, &format!("{url}/metrics")).await;
    assert!(
        metrics.contains(
            r#"scal3ml_http_requests_total{method="GET",route="/api/assets/{id}",status="404"}"#
        ),
        "{metrics}"
    );
    assert!(metrics.contains("scal3ml_index_last_block "), "{metrics}");
}

/// A node started with --pinning-service asks the service to pin every upload, naming its own gateway as the
/// origin; the service (our Pinning Service API over its own store) fetches the DAG from there and pins it.
#[tokio::test(flavor = "multi_thread")]
async fn uploads_are_handed_to_a_pinning_service_that_fetches_them_from_the_node() {
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
    let dir = work.path().join("node");
    let port = crate::common::free_port().to_string();
    let node = crate::common::Server::start(
        &[
            "dev",
            "--data-dir",
            dir.to_str().unwrap(),
            "--port",
            &port,
            "--rpc-port",
            "0",
            "--pinning-service",
            &service_url,
        ],
        &[("SCAL3ML_PINNING_TOKEN", "s3cret")],
    );
    let file = work.path().join("table.csv");
    let bytes: Vec<u8> = (0..400_000u32).map(|i| (i % 251) as u8).collect();
    std::fs::write(&file, &bytes).unwrap();
    let published = crate::common::json(
        &node.url,
        &[
            "publish",
            file.to_str().unwrap(),
            "--kind",
            "dataset",
            "--name",
            "Pinned elsewhere",
            "--license",
            "CC0-1.0",
            "--dev-account",
            "0",
        ],
    );
    let client = PinningClient::new(&service_url, "s3cret");
    for cid in [
        published["content_cid"].as_str().unwrap(),
        published["metadata_cid"].as_str().unwrap(),
    ] {
        let query = ListQuery {
            cid: vec![cid.to_string()],
            ..ListQuery::default()
        };
        let mut status = None;
        for _ in 0..200 {
            let found = client.list(&query).await.unwrap();
            status = found.results.first().map(|p| p.status);
            if status == Some(Status::Pinned) {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
        assert_eq!(status, Some(Status::Pinned), "the service pinned {cid}");
    }
}
