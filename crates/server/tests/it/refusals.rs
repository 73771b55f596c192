//! Every way a route refuses what it is sent, answered in the one error shape `{"error": {"code", "message"}}`
//! with the status and code a client can act on.

use crate::common::{TestNode, with_csrf};
use axum::{
    body::Body,
    http::{Request, header},
};
use serde_json::json;

fn get(path: &str) -> Request<Body> {
    Request::builder().uri(path).body(Body::empty()).unwrap()
}

fn json_body(builder: axum::http::request::Builder, body: serde_json::Value) -> Request<Body> {
    builder
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from(body.to_string()))
        .unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn each_refusal_has_its_status_and_code_in_the_error_shape() {
    let node = TestNode::start().await;
    let someone = "0x70997970C51812dc3A010C7d01b50e0d17dc79C8";
    let cases: Vec<(&str, Request<Body>, u16, &str)> = vec![
        (
            "an asset nobody published",
            get("/api/assets/999"),
            404,
            "no_such_asset",
        ),
        (
            "an asset id that is no number",
            get("/api/assets/abc"),
            400,
            "bad_request",
        ),
        (
            "a proposal nobody made",
            get("/access/proposals/7/key-status"),
            404,
            "unknown_proposal",
        ),
        (
            "a key request for an asset not in the catalog",
            json_body(
                Request::builder().method("POST").uri("/access/key"),
                json!({"asset": 5, "account": someone, "nonce": format!("0x{}", "11".repeat(32)),
                       "expiry": 1, "chain_id": 31337, "gateway": "http://x", "signature": "0x00"}),
            ),
            401,
            "wrong_gateway",
        ),
        (
            "an upload without a signature or session",
            Request::builder()
                .method("POST")
                .uri("/api/car")
                .header(header::CONTENT_TYPE, "application/vnd.ipld.car")
                .body(Body::from(vec![0u8; 16]))
                .unwrap(),
            401,
            "unsigned_upload",
        ),
        (
            "a wrong method on an upload route",
            Request::builder()
                .method("PUT")
                .uri("/api/car")
                .body(Body::empty())
                .unwrap(),
            405,
            "method_not_allowed",
        ),
        (
            "a prepared transaction without the CSRF header",
            json_body(
                Request::builder().method("POST").uri("/api/tx/withdraw"),
                json!({"account": someone, "token": "0x0000000000000000000000000000000000000000", "assets": []}),
            ),
            403,
            "csrf",
        ),
        (
            "a prepared transaction with a body it does not take",
            json_body(with_csrf("POST", "/api/tx/buy"), json!({"account": 5})),
            400,
            "bad_request",
        ),
        (
            "executing a proposal nobody made",
            json_body(
                with_csrf("POST", "/api/tx/execute"),
                json!({"account": someone, "proposal": 42}),
            ),
            409,
            "",
        ),
    ];
    for (what, request, status, code) in cases {
        let (got, body, kind) = node.call(request).await;
        assert_eq!(got, status, "{what}: {body}");
        assert!(
            kind.starts_with("application/json"),
            "{what}: answered {kind}"
        );
        let error = &body["error"];
        assert!(
            error["message"].as_str().is_some_and(|m| m.len() > 10),
            "{what}: no message that says what to do: {body}"
        );
        if !code.is_empty() {
            assert_eq!(error["code"], code, "{what}: {body}");
        }
        let text = body.to_string();
        assert!(
            !text.contains("/tmp/") && !text.contains("panicked"),
            "{what}: an internal detail in the answer: {text}"
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn the_document_the_node_serves_names_every_api_route_it_answers() {
    let node = TestNode::start().await;
    let (status, doc, _) = node.call(get("/api/openapi.json")).await;
    assert_eq!(status, 200);
    for path in [
        "/api/assets/{id}",
        "/api/car",
        "/api/tx/execute",
        "/access/key",
        "/access/proposals/{id}/key-status",
    ] {
        assert!(
            doc["paths"][path].is_object(),
            "{path} is not in the document"
        );
    }
    let (status, network, _) = node.call(get("/api/network")).await;
    assert_eq!(status, 200);
    assert_eq!(network["chain_id"], 31337, "{network}");
}
