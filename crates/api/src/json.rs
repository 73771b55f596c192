//! [`ApiJson`]: the one JSON body extractor of the node's routes. Its rejection is an [`ApiError`], so a body
//! that is not JSON, is not the route's shape or has the wrong content type answers the one error body, saying
//! what was wrong and where the route's shape is described (axum's `error-handling` example pattern).

use axum::{
    extract::{FromRequest, Request, rejection::JsonRejection},
    response::{IntoResponse, Response},
};
use serde::{Serialize, de::DeserializeOwned};

use crate::ApiError;

/// A JSON body (`Json<T>` whose rejection is [`ApiError`] 400 `bad_request`), and a JSON answer.
#[derive(Debug, Clone, Copy, Default)]
pub struct ApiJson<T>(pub T);

impl<T, S> FromRequest<S> for ApiJson<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        match axum::Json::<T>::from_request(req, state).await {
            Ok(axum::Json(value)) => Ok(Self(value)),
            Err(rejection) => Err(rejected(&rejection)),
        }
    }
}

/// What the client is told about a body axum could not read.
fn rejected(rejection: &JsonRejection) -> ApiError {
    ApiError::bad_request(format!(
        "the request body is not what this route takes: {}; see /api/openapi.json",
        rejection.body_text()
    ))
}

impl<T: Serialize> IntoResponse for ApiJson<T> {
    fn into_response(self) -> Response {
        axum::Json(self.0).into_response()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::body::Body;

    #[derive(Debug, serde::Deserialize)]
    struct Thing {
        #[allow(dead_code)]
        name: String,
    }

    async fn extract(content_type: Option<&str>, body: &str) -> Result<ApiJson<Thing>, ApiError> {
        let mut req = axum::http::Request::builder().method("POST").uri("/");
        if let Some(ct) = content_type {
            req = req.header("content-type", ct);
        }
        let req = req.body(Body::from(body.to_owned())).unwrap();
        ApiJson::<Thing>::from_request(req, &()).await
    }

    #[tokio::test]
    async fn a_bad_body_is_the_error_body_saying_what_was_wrong() {
        assert!(
            extract(Some("application/json"), r#"{"name":"x"}"#)
                .await
                .is_ok()
        );
        for (ct, body, says) in [
            (Some("application/json"), "{", "EOF"),
            (
                Some("application/json"),
                r#"{"nom":"x"}"#,
                "missing field `name`",
            ),
            (None, r#"{"name":"x"}"#, "Content-Type"),
        ] {
            let e = extract(ct, body).await.unwrap_err();
            assert_eq!((e.status.as_u16(), e.code.as_str()), (400, "bad_request"));
            assert!(e.message.contains(says), "{}", e.message);
            assert!(e.message.contains("/api/openapi.json"), "{}", e.message);
        }
    }
}
