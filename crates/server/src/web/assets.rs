//! The static files under `/static/`, compiled into the binary. Pages link them as `/static/NAME?v=HASH`: a URL
//! with the current content hash is cached for a year (`immutable`), any other is revalidated by its ETag.

use axum::{
    extract::{Path, Query},
    http::{HeaderMap, HeaderValue, StatusCode, header},
    response::{IntoResponse, Response},
};
use std::{collections::HashMap, sync::LazyLock};

/// One compiled-in file.
pub(crate) struct StaticFile {
    /// Its name under `/static/`.
    pub(crate) name: &'static str,
    content_type: &'static str,
    bytes: &'static [u8],
    /// The first 8 bytes of the keccak-256 of the bytes, as hex.
    pub(crate) hash: String,
}

static FILES: LazyLock<Vec<StaticFile>> = LazyLock::new(|| {
    const JS: &str = "text/javascript; charset=utf-8";
    [
        (
            "style.css",
            "text/css; charset=utf-8",
            &include_bytes!("../../static/style.css")[..],
        ),
        ("app.js", JS, &include_bytes!("../../static/app.js")[..]),
        (
            "wallet.js",
            JS,
            &include_bytes!("../../static/wallet.js")[..],
        ),
        (
            "devwallet.js",
            JS,
            &include_bytes!("../../static/devwallet.js")[..],
        ),
    ]
    .into_iter()
    .map(|(name, content_type, bytes)| StaticFile {
        name,
        content_type,
        bytes,
        hash: alloy::primitives::hex::encode(&alloy::primitives::keccak256(bytes)[..8]),
    })
    .collect()
});

/// The file called `name`.
pub(crate) fn file(name: &str) -> Option<&'static StaticFile> {
    FILES.iter().find(|f| f.name == name)
}

/// `/static/NAME?v=HASH` for a page to link.
pub(crate) fn url(name: &str) -> String {
    match file(name) {
        Some(f) => format!("/static/{}?v={}", f.name, f.hash),
        None => format!("/static/{name}"),
    }
}

/// `GET /static/{name}`.
pub(crate) async fn serve(
    Path(name): Path<String>,
    Query(q): Query<HashMap<String, String>>,
    headers: HeaderMap,
) -> Response {
    let Some(f) = file(&name) else {
        return (StatusCode::NOT_FOUND, "no such static file").into_response();
    };
    let etag = format!("\"{}\"", f.hash);
    let cache = if q.get("v").is_some_and(|v| *v == f.hash) {
        "public, max-age=31536000, immutable"
    } else {
        "no-cache"
    };
    let mut h = HeaderMap::new();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(f.content_type),
    );
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static(cache));
    h.insert(
        header::ETAG,
        HeaderValue::from_str(&etag).expect("hex is a header value"),
    );
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    let fresh = headers
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| {
            v.split(',')
                .map(|t| t.trim())
                .any(|t| t.strip_prefix("W/").unwrap_or(t) == etag || t == "*")
        });
    if fresh {
        return (StatusCode::NOT_MODIFIED, h).into_response();
    }
    (h, f.bytes).into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_file_has_a_hashed_url_and_a_type() {
        for name in ["style.css", "app.js", "wallet.js", "devwallet.js"] {
            let f = file(name).unwrap();
            assert_eq!(f.hash.len(), 16);
            assert_eq!(url(name), format!("/static/{name}?v={}", f.hash));
            assert!(f.content_type.starts_with("text/"));
        }
        assert!(file("../Cargo.toml").is_none());
    }
}
