//! Errors: [`AccessError`] for the library, [`ApiError`] for what an HTTP client sees. The one mapping from the
//! first to the second is `impl From<AccessError> for ApiError`.

use axum::{
    http::{StatusCode, header},
    response::{IntoResponse, Response},
};
pub use scal3ml_api::{ApiError, ApiErrorBody, ApiErrorDetail};

/// What went wrong in the access gateway or its client.
#[derive(Debug, thiserror::Error)]
pub enum AccessError {
    /// The node key file or the key store could not be read or written.
    #[error("{what} {path}: {source}")]
    Io {
        /// What was being done.
        what: &'static str,
        /// The file.
        path: String,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// The node key file is readable by others, has the wrong size, or the key store is damaged.
    #[error("{0}")]
    KeyStore(String),
    /// A different key is already deposited for this content CID by this depositor.
    #[error(
        "a different key is already deposited for content {cid} by {depositor}: a content CID has exactly one key \
         (the ciphertext depends on it); publish the content you encrypted with the deposited key, or encrypt again \
         (a new key gives a new CID) and deposit for that CID"
    )]
    KeyConflict {
        /// The content CID.
        cid: String,
        /// The depositor.
        depositor: String,
    },
    /// The chain could not be asked (license checks).
    #[error(
        "cannot ask the chain: {0}; check that the node's RPC URL is reachable and the deployment is right"
    )]
    Chain(String),
    /// The asset directory (the catalog) failed.
    #[error("the asset directory failed: {0}")]
    Directory(String),
    /// The block store failed while streaming content.
    #[error(transparent)]
    Store(#[from] scal3ml_store::StoreError),
    /// Signing failed (client side).
    #[error("signing failed: {0}")]
    Sign(String),
    /// The gateway could not be reached (client side).
    #[error("cannot reach the access gateway at {url}: {reason}")]
    Unreachable {
        /// The URL asked.
        url: String,
        /// Why.
        reason: String,
    },
    /// The gateway refused (client side); the message says why and what to do.
    #[error("the access gateway refused ({code}): {message}")]
    Refused {
        /// HTTP status.
        status: u16,
        /// Machine-readable code, e.g. `no_license`.
        code: String,
        /// The gateway's message.
        message: String,
    },
    /// The gateway's answer could not be understood (client side).
    #[error("the access gateway at {url} gave an answer that is not what it should be: {reason}")]
    BadAnswer {
        /// The URL asked.
        url: String,
        /// What was wrong.
        reason: String,
    },
    /// Something this gateway was configured with is wrong.
    #[error("access gateway configuration: {0}")]
    Config(String),
}

/// Result alias of this crate.
pub type AccessResult<T> = Result<T, AccessError>;

impl AccessError {
    pub(crate) fn io(what: &'static str, path: &std::path::Path, source: std::io::Error) -> Self {
        Self::Io {
            what,
            path: path.display().to_string(),
            source,
        }
    }
}

/// The most bytes of a non-JSON error answer [`json_errors`] reads to quote in its message.
const MAX_REJECTION_TEXT: usize = 16 * 1024;

/// Middleware that puts every error answer of the routes it wraps into the one JSON shape. The handlers answer
/// [`ApiError`] already; what this catches is what axum answers before a handler runs, as plain text or an empty
/// body: a path segment that does not parse (`/api/assets/-1`), a method the route does not take (405, its
/// `Allow` header kept), a body over the size limit. The status and the other headers stay; successes and
/// answers that are JSON already pass untouched.
pub async fn json_errors(req: axum::extract::Request, next: axum::middleware::Next) -> Response {
    let method = req.method().clone();
    let path = req.uri().path().to_owned();
    let response = next.run(req).await;
    let status = response.status();
    if !(status.is_client_error() || status.is_server_error()) || is_json(response.headers()) {
        return response;
    }
    let (parts, body) = response.into_parts();
    let text = axum::body::to_bytes(body, MAX_REJECTION_TEXT)
        .await
        .map(|b| String::from_utf8_lossy(&b).trim().to_owned())
        .unwrap_or_default();
    let reason = status.canonical_reason().unwrap_or("error");
    let message = if status == StatusCode::METHOD_NOT_ALLOWED {
        format!("{path} does not take {method} (the Allow header names the methods it takes)")
    } else if text.is_empty() {
        format!("{reason} ({path})")
    } else {
        text
    };
    let code = match status {
        StatusCode::BAD_REQUEST => "bad_request".to_owned(),
        StatusCode::INTERNAL_SERVER_ERROR => "internal".to_owned(),
        _ => reason.to_ascii_lowercase().replace([' ', '-'], "_"),
    };
    let mut answer = ApiError::new(
        status,
        code,
        format!("{message}; see /api/openapi.json for what this route takes"),
    )
    .into_response();
    for (name, value) in &parts.headers {
        if name != header::CONTENT_TYPE && name != header::CONTENT_LENGTH {
            answer.headers_mut().append(name, value.clone());
        }
    }
    answer
}

fn is_json(headers: &axum::http::HeaderMap) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|m| {
            let m = m.trim();
            m.eq_ignore_ascii_case("application/json") || m.ends_with("+json")
        })
}

impl From<AccessError> for ApiError {
    fn from(e: AccessError) -> Self {
        match &e {
            AccessError::KeyConflict { .. } => {
                Self::new(StatusCode::CONFLICT, "key_conflict", e.to_string())
            }
            AccessError::Chain(_) => {
                Self::new(StatusCode::BAD_GATEWAY, "chain_unavailable", e.to_string())
            }
            AccessError::Directory(_) => Self::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "directory_unavailable",
                e.to_string(),
            ),
            AccessError::Store(scal3ml_store::StoreError::NotFound { .. }) => Self::not_found(
                "content_missing",
                format!(
                    "{e}: this node does not hold the asset's content blocks; fetch them from the publisher's \
                     gateway or an IPFS gateway"
                ),
            ),
            AccessError::Store(scal3ml_store::StoreError::NoSuchEntry { .. }) => {
                Self::not_found("no_such_path", e.to_string())
            }
            // A path below a single-file asset (whose content is the file itself).
            AccessError::Store(scal3ml_store::StoreError::WrongKind { expected, .. })
                if *expected == "a directory" =>
            {
                Self::not_found(
                    "no_such_path",
                    format!(
                        "{e}: this asset's content is one file, so it has no paths; ask for it without one"
                    ),
                )
            }
            AccessError::Refused {
                status,
                code,
                message,
            } => Self::new(
                StatusCode::from_u16(*status).unwrap_or(StatusCode::BAD_GATEWAY),
                code.clone(),
                message.clone(),
            ),
            _ => Self::internal(e.to_string()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn api_error_is_one_json_shape_with_retry_after() {
        let response = ApiError::rate_limited(17, "slow down").into_response();
        assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
        assert_eq!(response.headers()[header::RETRY_AFTER], "17");
        let body = axum::body::to_bytes(response.into_body(), 1 << 16)
            .await
            .unwrap();
        let v: serde_json::Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(
            v,
            serde_json::json!({"error": {"code": "rate_limited", "message": "slow down"}})
        );
    }

    // regression_plain_text_rejections: axum answered a path segment that does not parse (`/api/assets/-1`,
    // `/access/content/-1`) with `text/plain` "Invalid URL: ...", and a wrong method with an empty 405, outside
    // the error shape every client reads (found by the schemathesis run, scripts/suites/45-api-fuzz.sh).
    #[tokio::test]
    async fn regression_plain_text_rejections_answer_the_error_shape() {
        use axum::{Router, extract::Path, routing::get};
        let app = Router::new()
            .route(
                "/things/{id}",
                get(|Path(id): Path<u64>| async move { id.to_string() }),
            )
            .route(
                "/json-error",
                get(|| async { ApiError::not_found("no_such_thing", "no thing here") }),
            )
            .layer(axum::middleware::from_fn(json_errors));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        let http = reqwest::Client::new();

        let answer = |r: reqwest::Response| async move {
            let status = r.status().as_u16();
            let headers = r.headers().clone();
            let v: serde_json::Value = serde_json::from_slice(&r.bytes().await.unwrap()).unwrap();
            (status, headers, v)
        };
        let (status, headers, v) =
            answer(http.get(format!("{url}/things/-1")).send().await.unwrap()).await;
        assert_eq!(status, 400);
        assert_eq!(headers[header::CONTENT_TYPE], "application/json");
        assert_eq!(v["error"]["code"], "bad_request", "{v}");
        let message = v["error"]["message"].as_str().unwrap();
        assert!(message.contains("Cannot parse `-1`"), "{message}");

        let (status, headers, v) =
            answer(http.delete(format!("{url}/things/1")).send().await.unwrap()).await;
        assert_eq!(status, 405);
        assert_eq!(
            headers[header::ALLOW],
            "GET,HEAD",
            "the Allow header is kept"
        );
        assert_eq!(v["error"]["code"], "method_not_allowed", "{v}");
        assert!(
            v["error"]["message"].as_str().unwrap().contains("DELETE"),
            "{v}"
        );

        // Successes and errors that are JSON already pass untouched.
        let ok = http.get(format!("{url}/things/7")).send().await.unwrap();
        assert_eq!(ok.text().await.unwrap(), "7");
        let (status, _, v) =
            answer(http.get(format!("{url}/json-error")).send().await.unwrap()).await;
        assert_eq!(status, 404);
        assert_eq!(
            v,
            serde_json::json!({"error": {"code": "no_such_thing", "message": "no thing here"}})
        );
    }

    #[test]
    fn invalid_fields_name_each_field_in_the_same_shape() {
        let fields = std::collections::BTreeMap::from([
            ("name".to_string(), "give the asset a name".to_string()),
            ("price".to_string(), "not a number".to_string()),
        ]);
        let e = ApiError::invalid_fields(fields.clone());
        assert_eq!(e.status, StatusCode::UNPROCESSABLE_ENTITY);
        let v = serde_json::to_value(e.body()).unwrap();
        assert_eq!(v["error"]["code"], "invalid_fields");
        assert_eq!(v["error"]["fields"]["price"], "not a number");
        assert!(
            v["error"]["message"]
                .as_str()
                .unwrap()
                .contains("name, price")
        );
        let back: ApiErrorBody = serde_json::from_value(v).unwrap();
        assert_eq!(back.error.fields, fields);
    }
}
