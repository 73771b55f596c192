//! The served OpenAPI document and the router agree: every operation the document describes is routed (each
//! `/api` route is registered with its description in one place, utoipa-axum's `OpenApiRouter`), the access
//! gateway is described too, and every error answer is described as the one error shape.

use crate::common::TestNode;
use axum::{body::Body, http::Request};
use serde_json::Value;

/// A value for a path parameter that parses, so a request reaches the handler.
fn sample(name: &str) -> &'static str {
    match name {
        "address" | "account" => "0x70997970C51812dc3A010C7d01b50e0d17dc79C8",
        "cid" => "bafkreigh2akiscaildcqabsyg3dfr6chu3fgpregiymsck7e7aqa4s52zy",
        _ => "1",
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn the_served_document_and_the_router_agree() {
    let node = TestNode::start().await;
    let (status, doc, _) = node
        .call(
            Request::get("/api/openapi.json")
                .body(Body::empty())
                .unwrap(),
        )
        .await;
    assert_eq!(status, 200);
    let paths = doc["paths"].as_object().expect("the document has paths");
    let mut operations = 0;
    for (path, ops) in paths {
        for (method, op) in ops.as_object().unwrap() {
            let mut uri = path.clone();
            for p in op["parameters"].as_array().into_iter().flatten() {
                if p["in"] == "path" {
                    let name = p["name"].as_str().unwrap();
                    uri = uri.replace(&format!("{{{name}}}"), sample(name));
                }
            }
            assert!(
                !uri.contains('{'),
                "{method} {path}: a path parameter is not described"
            );
            let request = Request::builder()
                .method(method.to_uppercase().as_str())
                .uri(&uri)
                .body(Body::empty())
                .unwrap();
            let (status, body, _) = node.call(request).await;
            assert_ne!(
                body["error"]["code"], "no_such_route",
                "{method} {path} is described but not routed"
            );
            assert_ne!(
                status, 405,
                "{method} {path} is described but routed for another method"
            );
            operations += 1;
        }
    }
    assert!(operations >= 40, "{operations} operations described");

    // The access gateway's routes are described in the served document (an HTTP fuzzer of the node reaches
    // them), beside the node's own.
    use utoipa::OpenApi as _;
    let access = serde_json::to_value(scal3ml_access::AccessApiDoc::openapi()).unwrap();
    let access_paths = access["paths"].as_object().unwrap();
    assert!(access_paths.len() >= 11);
    for (path, ops) in access_paths {
        for method in ops.as_object().unwrap().keys() {
            assert!(
                doc["paths"][path][method].is_object(),
                "{method} {path} is not in the document"
            );
        }
    }
    assert!(doc["components"]["schemas"]["SignedKeyDeposit"].is_object());
    assert!(doc["paths"]["/api/network"]["get"].is_object());

    // regression_undocumented_errors: the document gave most 4xx answers no body, and left out the 400 every
    // route with a path segment answers when it does not parse, so a client (and the fuzz run) could not know
    // an error's shape (found by scripts/suites/45-api-fuzz.sh).
    let mut errors = 0;
    for (path, ops) in paths {
        for (method, op) in ops.as_object().unwrap() {
            let responses = op["responses"].as_object().unwrap();
            let params = op["parameters"].as_array();
            if params.is_some_and(|p| p.iter().any(|p| p["in"] == "path")) {
                assert!(
                    responses.contains_key("400"),
                    "{method} {path} lacks its 400"
                );
            }
            if params.is_some_and(|p| p.iter().any(|p| p["name"] == "x-csrf-token")) {
                assert!(
                    responses.contains_key("403"),
                    "{method} {path} lacks its 403"
                );
            }
            for (status, response) in responses {
                if status.starts_with('4') || status.starts_with('5') {
                    errors += 1;
                    assert_eq!(
                        response["content"]["application/json"]["schema"]["$ref"],
                        "#/components/schemas/ApiErrorBody",
                        "{method} {path} {status}"
                    );
                }
            }
        }
    }
    assert!(errors > 100, "{errors} error answers described");
    // Unsigned integers carry the registry's format names.
    let text = doc.to_string();
    assert!(
        !text.contains("\"u-int"),
        "utoipa's u-int formats are renamed"
    );
    let _: Value = doc;
}
