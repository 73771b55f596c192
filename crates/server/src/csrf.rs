//! CSRF protection by double submit: pages set a random `scal3ml_csrf` cookie (`SameSite=Strict`) and put the
//! same token in their configuration; every browser `POST` that acts (uploads, prepared transactions) sends it
//! back in the `x-csrf-token` header, which another site can neither read nor set.

use axum::http::{HeaderMap, HeaderValue, header};
use scal3ml_api::ApiError;

/// The cookie holding the token.
pub(crate) const COOKIE: &str = "scal3ml_csrf";
/// The header a request repeats it in.
pub(crate) const HEADER: &str = "x-csrf-token";

/// The token of this browser, and the `Set-Cookie` value to send when it had none yet.
pub(crate) fn ensure(headers: &HeaderMap) -> (String, Option<HeaderValue>) {
    if let Some(token) = from_cookie(headers) {
        return (token, None);
    }
    let mut raw = [0u8; 16];
    // Without randomness there is no safe token; an all-zero one would be guessable, so fail closed.
    getrandom::getrandom(&mut raw).expect("the operating system provides randomness");
    let token = alloy::primitives::hex::encode(raw);
    let cookie = HeaderValue::from_str(&format!("{COOKIE}={token}; SameSite=Strict; Path=/"))
        .expect("hex is a valid header value");
    (token, Some(cookie))
}

/// Refuses a request whose `x-csrf-token` header is missing or differs from its cookie.
pub(crate) fn check(headers: &HeaderMap) -> Result<(), ApiError> {
    let sent = headers.get(HEADER).and_then(|v| v.to_str().ok());
    match (from_cookie(headers), sent) {
        (Some(cookie), Some(sent)) if !cookie.is_empty() && cookie == sent => Ok(()),
        _ => Err(ApiError::new(
            axum::http::StatusCode::FORBIDDEN,
            "csrf",
            format!(
                "this request lacks the page's CSRF token: send the {COOKIE} cookie's value in the {HEADER} \
                 header (the pages do); reload the page and try again"
            ),
        )),
    }
}

fn from_cookie(headers: &HeaderMap) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|kv| kv.trim().split_once('='))
        .find(|(k, v)| *k == COOKIE && v.len() == 32 && v.bytes().all(|b| b.is_ascii_hexdigit()))
        .map(|(_, v)| v.to_string())
}

/// The CSRF check as an extractor: put it before the body's extractor, so a request without the token is
/// refused 403 `csrf` whatever its body.
pub(crate) struct Csrf;

impl<S: Send + Sync> axum::extract::FromRequestParts<S> for Csrf {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        _: &S,
    ) -> Result<Self, Self::Rejection> {
        check(&parts.headers).map(|()| Csrf)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_token_is_accepted_only_when_header_and_cookie_agree() {
        let (token, cookie) = ensure(&HeaderMap::new());
        assert!(cookie.is_some());
        let mut h = HeaderMap::new();
        h.insert(
            header::COOKIE,
            HeaderValue::from_str(&format!("a=b; {COOKIE}={token}")).unwrap(),
        );
        assert_eq!(ensure(&h), (token.clone(), None));
        assert!(check(&h).is_err(), "no header");
        h.insert(HEADER, HeaderValue::from_str(&token).unwrap());
        assert!(check(&h).is_ok());
        h.insert(
            HEADER,
            HeaderValue::from_static("00000000000000000000000000000000"),
        );
        assert!(check(&h).is_err(), "another token");
    }
}
