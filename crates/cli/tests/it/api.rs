//! The node's HTTP API as a script or a browser sees it: the OpenAPI document names every route, errors have
//! one JSON shape, uploads are verified, metrics count requests.

use crate::common::DevNode;
use serde_json::Value;

#[tokio::test(flavor = "multi_thread")]
async fn the_api_documents_itself_and_answers_errors_in_one_shape() {
    let work = tempfile::tempdir().unwrap();
    let dev = DevNode::start(&work.path().join("node"));
    let url = &dev.server.url;
    let http = reqwest::Client::new();

    let doc: Value = http
        .get(format!("{url}/api/openapi.json"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
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
    let car = http
        .post(format!("{url}/api/car"))
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

    let health: Value = http
        .get(format!("{url}/health"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(health["status"], "ok");
    let metrics = http
        .get(format!("{url}/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        metrics.contains(
            r#"scal3ml_http_requests_total{method="GET",route="/api/assets/{id}",status="404"}"#
        ),
        "{metrics}"
    );
    assert!(metrics.contains("scal3ml_index_last_block "), "{metrics}");
}
