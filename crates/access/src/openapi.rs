//! The OpenAPI document of the `/access` routes ([`AccessApiDoc`]); the node merges it into `/api/openapi.json`.
//! The content routes share handlers, so each of their paths is described by a function of its own here.

#![allow(dead_code)]

use crate::eip712::{SignedAccessRequest, SignedKeyDeposit};
use crate::error::{ApiErrorBody, ApiErrorDetail};
use scal3ml_api::{DepositReply, KeyRelease, KeyStatus, NonceReply, SessionReply, SiweLogin};

/// The `/access` routes: requests, answers and the one error body.
#[derive(utoipa::OpenApi)]
#[openapi(
    paths(
        crate::server::deposit_key,
        crate::server::release_key,
        crate::server::siwe_nonce,
        crate::server::siwe_login,
        crate::server::logout,
        crate::server::proposal_key_status,
        content,
        content_path,
        version_content,
        version_content_path,
        proposal_content,
        proposal_content_path
    ),
    components(schemas(
        SignedKeyDeposit,
        SignedAccessRequest,
        DepositReply,
        KeyRelease,
        KeyStatus,
        NonceReply,
        SiweLogin,
        SessionReply,
        ApiErrorBody,
        ApiErrorDetail
    )),
    tags((name = "access", description = "The access gateway: key deposits and releases, Sign-In with Ethereum, decrypted content for licensees"))
)]
pub struct AccessApiDoc;

/// An asset's latest content (decrypted for a licensee; unencrypted content to anyone), with `Range`.
#[utoipa::path(get, path = "/access/content/{asset}", tag = "access",
    params(("asset" = u64, Path, description = "asset id"),
        ("x-scal3ml-access" = Option<String>, Header, description = "a signed access request (JSON); else the session cookie or bearer token"),
        ("range" = Option<String>, Header, description = "bytes=START-END")),
    responses((status = 200, content_type = "application/octet-stream", description = "the bytes"),
        (status = 206, content_type = "application/octet-stream", description = "the requested range"),
        (status = 400, body = ApiErrorBody), (status = 401, body = ApiErrorBody), (status = 403, body = ApiErrorBody),
        (status = 404, body = ApiErrorBody), (status = 416, body = ApiErrorBody), (status = 429, body = ApiErrorBody)))]
fn content() {}

/// A path inside an asset's latest content.
#[utoipa::path(get, path = "/access/content/{asset}/{path}", tag = "access",
    params(("asset" = u64, Path, description = "asset id"), ("path" = String, Path, description = "path inside the content"),
        ("x-scal3ml-access" = Option<String>, Header, description = "a signed access request (JSON)"),
        ("range" = Option<String>, Header, description = "bytes=START-END")),
    responses((status = 200, content_type = "application/octet-stream", description = "the bytes"),
        (status = 206, content_type = "application/octet-stream", description = "the requested range"),
        (status = 400, body = ApiErrorBody), (status = 401, body = ApiErrorBody), (status = 403, body = ApiErrorBody),
        (status = 404, body = ApiErrorBody), (status = 416, body = ApiErrorBody), (status = 429, body = ApiErrorBody)))]
fn content_path() {}

/// Version `n` of an asset's content.
#[utoipa::path(get, path = "/access/assets/{asset}/versions/{n}/content", tag = "access",
    params(("asset" = u64, Path, description = "asset id"), ("n" = u64, Path, description = "version, from 0"),
        ("x-scal3ml-access" = Option<String>, Header, description = "a signed access request (JSON)"),
        ("range" = Option<String>, Header, description = "bytes=START-END")),
    responses((status = 200, content_type = "application/octet-stream", description = "the bytes"),
        (status = 206, content_type = "application/octet-stream", description = "the requested range"),
        (status = 400, body = ApiErrorBody), (status = 401, body = ApiErrorBody), (status = 403, body = ApiErrorBody),
        (status = 404, body = ApiErrorBody), (status = 416, body = ApiErrorBody), (status = 429, body = ApiErrorBody)))]
fn version_content() {}

/// A path inside version `n` of an asset's content.
#[utoipa::path(get, path = "/access/assets/{asset}/versions/{n}/content/{path}", tag = "access",
    params(("asset" = u64, Path, description = "asset id"), ("n" = u64, Path, description = "version, from 0"),
        ("path" = String, Path, description = "path inside the content"),
        ("x-scal3ml-access" = Option<String>, Header, description = "a signed access request (JSON)"),
        ("range" = Option<String>, Header, description = "bytes=START-END")),
    responses((status = 200, content_type = "application/octet-stream", description = "the bytes"),
        (status = 206, content_type = "application/octet-stream", description = "the requested range"),
        (status = 400, body = ApiErrorBody), (status = 401, body = ApiErrorBody), (status = 403, body = ApiErrorBody),
        (status = 404, body = ApiErrorBody), (status = 416, body = ApiErrorBody), (status = 429, body = ApiErrorBody)))]
fn version_content_path() {}

/// A proposal's content, to its proposer and to whoever may read its asset.
#[utoipa::path(get, path = "/access/proposals/{id}/content", tag = "access",
    params(("id" = u64, Path, description = "proposal id"),
        ("x-scal3ml-access" = Option<String>, Header, description = "a signed access request (JSON) for the proposal's asset"),
        ("range" = Option<String>, Header, description = "bytes=START-END")),
    responses((status = 200, content_type = "application/octet-stream", description = "the bytes"),
        (status = 206, content_type = "application/octet-stream", description = "the requested range"),
        (status = 400, body = ApiErrorBody), (status = 401, body = ApiErrorBody), (status = 403, body = ApiErrorBody),
        (status = 404, body = ApiErrorBody), (status = 416, body = ApiErrorBody), (status = 429, body = ApiErrorBody)))]
fn proposal_content() {}

/// A path inside a proposal's content.
#[utoipa::path(get, path = "/access/proposals/{id}/content/{path}", tag = "access",
    params(("id" = u64, Path, description = "proposal id"), ("path" = String, Path, description = "path inside the content"),
        ("x-scal3ml-access" = Option<String>, Header, description = "a signed access request (JSON) for the proposal's asset"),
        ("range" = Option<String>, Header, description = "bytes=START-END")),
    responses((status = 200, content_type = "application/octet-stream", description = "the bytes"),
        (status = 206, content_type = "application/octet-stream", description = "the requested range"),
        (status = 400, body = ApiErrorBody), (status = 401, body = ApiErrorBody), (status = 403, body = ApiErrorBody),
        (status = 404, body = ApiErrorBody), (status = 416, body = ApiErrorBody), (status = 429, body = ApiErrorBody)))]
fn proposal_content_path() {}

#[cfg(test)]
mod tests {
    use super::*;
    use utoipa::OpenApi as _;

    // Every route the router serves is in the document, with its method (so a schemathesis run reaches it).
    #[test]
    fn every_access_route_is_described() {
        let doc = AccessApiDoc::openapi();
        let json = serde_json::to_value(&doc).unwrap();
        for (method, path, _) in crate::server::routes() {
            let documented = format!("/access{}", path.replace("{*", "{"));
            assert!(
                json["paths"][&documented][method].is_object(),
                "{method} {documented} is served but not in the OpenAPI document"
            );
        }
        assert_eq!(
            json["paths"].as_object().unwrap().len(),
            crate::server::routes().len(),
            "the document describes routes the router does not serve"
        );
    }
}
