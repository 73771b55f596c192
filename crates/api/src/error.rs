//! The one error body every route of the node answers with, and [`ApiError`], the status and body a handler
//! returns.

use http::StatusCode;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// The JSON error every HTTP route of the node answers with: `{"error":{"code":"...","message":"..."}}`, where
/// `code` is stable and machine-readable and `message` says what was wrong and what to do. The REST API reuses
/// it, so a client has one shape to read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiError {
    /// The HTTP status.
    pub status: StatusCode,
    /// Stable machine-readable code, e.g. `no_license`, `bad_signature`, `rate_limited`.
    pub code: String,
    /// What was wrong and what to do about it.
    pub message: String,
    /// Seconds to wait before trying again (sent as `Retry-After`).
    pub retry_after: Option<u64>,
    /// What was wrong with each named input field (a form's `invalid_fields`); empty for other errors.
    pub fields: BTreeMap<String, String>,
}

/// The wire form of [`ApiError`].
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq, utoipa::ToSchema)]
pub struct ApiErrorBody {
    /// The error.
    pub error: ApiErrorDetail,
}

/// `code` and `message` of an [`ApiErrorBody`], and `fields` when a form had bad fields.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq, utoipa::ToSchema)]
pub struct ApiErrorDetail {
    /// Stable machine-readable code.
    pub code: String,
    /// Human-readable explanation with what to do.
    pub message: String,
    /// Per input field, what is wrong with it (only for `invalid_fields`; absent otherwise).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub fields: BTreeMap<String, String>,
}

impl ApiError {
    /// An error with this status, code and message.
    pub fn new(status: StatusCode, code: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            status,
            code: code.into(),
            message: message.into(),
            retry_after: None,
            fields: BTreeMap::new(),
        }
    }

    /// 422 `invalid_fields`: what was wrong with each named field of a form, all at once.
    pub fn invalid_fields(fields: BTreeMap<String, String>) -> Self {
        let names: Vec<&str> = fields.keys().map(String::as_str).collect();
        let message = format!(
            "{} field{} need{} fixing ({}): see each field's message",
            names.len(),
            if names.len() == 1 { "" } else { "s" },
            if names.len() == 1 { "s" } else { "" },
            names.join(", ")
        );
        Self {
            fields,
            ..Self::new(StatusCode::UNPROCESSABLE_ENTITY, "invalid_fields", message)
        }
    }

    /// 400 `bad_request`.
    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "bad_request", message)
    }

    /// 401 with a code saying which check failed.
    pub fn unauthorized(code: &str, message: impl Into<String>) -> Self {
        Self::new(StatusCode::UNAUTHORIZED, code, message)
    }

    /// 404 with a code.
    pub fn not_found(code: &str, message: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, code, message)
    }

    /// 500 `internal`; the message names what failed (never secrets).
    pub fn internal(message: impl Into<String>) -> Self {
        Self::new(StatusCode::INTERNAL_SERVER_ERROR, "internal", message)
    }

    /// 429 `rate_limited` with `Retry-After`.
    pub fn rate_limited(retry_after: u64, message: impl Into<String>) -> Self {
        Self {
            retry_after: Some(retry_after),
            ..Self::new(StatusCode::TOO_MANY_REQUESTS, "rate_limited", message)
        }
    }

    /// The same error under another code.
    pub fn with_code(mut self, code: impl Into<String>) -> Self {
        self.code = code.into();
        self
    }

    /// The JSON body.
    pub fn body(&self) -> ApiErrorBody {
        ApiErrorBody {
            error: ApiErrorDetail {
                code: self.code.clone(),
                message: self.message.clone(),
                fields: self.fields.clone(),
            },
        }
    }
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} {}: {}",
            self.status.as_u16(),
            self.code,
            self.message
        )
    }
}

impl std::error::Error for ApiError {}

#[cfg(feature = "axum")]
mod axum_impl {
    use super::ApiError;
    use axum::{
        Json,
        http::{HeaderValue, header},
        response::{IntoResponse, Response},
    };

    impl IntoResponse for ApiError {
        fn into_response(self) -> Response {
            let mut response = (self.status, Json(self.body())).into_response();
            if let Some(secs) = self.retry_after
                && let Ok(v) = HeaderValue::from_str(&secs.to_string())
            {
                response.headers_mut().insert(header::RETRY_AFTER, v);
            }
            response
        }
    }
}
