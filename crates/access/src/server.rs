//! The gateway's HTTP side: [`router`], which the node mounts at `/access`. Each route extracts what the
//! request carries, calls one [`Gateway`] method (where the rules are) and maps its answer:
//!
//! | route | what |
//! |---|---|
//! | `POST /keys` | deposit a content key ([`SignedKeyDeposit`]; [`Gateway::deposit`]) |
//! | `POST /key` | release an asset's key to a licensee ([`SignedAccessRequest`]; [`Gateway::release`]) |
//! | `GET /nonce` | a Sign-In with Ethereum nonce |
//! | `POST /siwe` | sign in: `{message, signature}` -> session cookie and token ([`Gateway::login`]) |
//! | `POST /logout` | end the session |
//! | `GET /content/{asset}[/{path}]` | the asset's bytes, decrypted, with `Range` support (unencrypted assets: to anyone) |
//! | `GET /assets/{asset}/versions/{n}/content[/{path}]` | the same for version `n` (licensees read every version) |
//! | `GET /proposals/{id}/key-status` | whether the proposer's key is held ([`Gateway::proposal_key_status`]) |
//! | `GET /proposals/{id}/content[/{path}]` | a proposed version's bytes, to the proposer and whoever may read its asset |
//!
//! The client IP used for rate limiting is [`client_addr`]: axum's `ConnectInfo<SocketAddr>` (serve the router
//! with `into_make_service_with_connect_info::<SocketAddr>()`; without it, refusals are limited per account
//! only), or, when that peer is a `--trusted-proxy`, the right-most `X-Forwarded-For` address that is not
//! itself a trusted proxy. A request carrying the node's own [`NODE_CALL_HEADER`] token (the node calling its
//! own gateway on a viewer's behalf) is charged to no IP.
//!
//! A body or query that is not the route's shape is refused like any other request ([`ApiJson`]'s error,
//! logged and charged to the client's address).

use std::net::{IpAddr, SocketAddr};

use alloy_primitives::keccak256;
use axum::{
    Json, Router,
    extract::{
        ConnectInfo, Path, Query, State,
        rejection::{PathRejection, QueryRejection},
    },
    http::{Extensions, HeaderMap, HeaderValue, StatusCode, header},
    response::{IntoResponse, Response},
    routing::{MethodRouter, get, post},
};
use ipnet::IpNet;
use scal3ml_api::{
    ApiJson, DepositReply, KeyQuery, KeyRelease, KeyStatus, NonceReply, SessionReply, SiweLogin,
};
use scal3ml_primitives::{AssetId, clock::now_secs};
use serde::Deserialize;

use crate::content::RangeAnswer;
use crate::eip712::{SignedAccessRequest, SignedKeyDeposit};
use crate::error::{ApiError, ApiErrorBody};
use crate::gateway::{Action, ContentRead, Credentials, Gateway, Origin};

/// The header a command-line client puts a [`SignedAccessRequest`] (JSON) in to fetch content.
pub const ACCESS_HEADER: &str = "x-scal3ml-access";
/// The session cookie's name.
pub const SESSION_COOKIE: &str = "scal3ml_session";
/// The header the node puts [`Gateway::node_call_token`] in when it calls its own gateway (a diff or a
/// browser's proposal read as the viewer): such a request is charged to the viewer's account, never to an IP.
pub const NODE_CALL_HEADER: &str = "x-scal3ml-node-call";

/// Every route under `/access`: method, path, handler. [`router`] serves exactly these, and a test checks
/// that the OpenAPI document ([`crate::AccessApiDoc`]) describes each.
pub(crate) fn routes() -> Vec<(&'static str, &'static str, MethodRouter<Gateway>)> {
    vec![
        ("post", "/keys", post(deposit_key)),
        ("post", "/key", post(release_key)),
        ("get", "/nonce", get(siwe_nonce)),
        ("post", "/siwe", post(siwe_login)),
        ("post", "/logout", post(logout)),
        ("get", "/content/{asset}", get(serve_content)),
        ("get", "/content/{asset}/{*path}", get(serve_content)),
        (
            "get",
            "/assets/{asset}/versions/{n}/content",
            get(serve_content),
        ),
        (
            "get",
            "/assets/{asset}/versions/{n}/content/{*path}",
            get(serve_content),
        ),
        (
            "get",
            "/proposals/{id}/key-status",
            get(proposal_key_status),
        ),
        ("get", "/proposals/{id}/content", get(serve_proposal)),
        (
            "get",
            "/proposals/{id}/content/{*path}",
            get(serve_proposal),
        ),
    ]
}

/// The routes, to mount at `/access`.
pub fn router(gateway: Gateway) -> Router {
    routes()
        .into_iter()
        .fold(Router::new(), |r, (_, path, handler)| {
            r.route(path, handler)
        })
        .with_state(gateway)
}

/// The client's address: the TCP peer, or, when the peer is in `trusted` (a reverse proxy), the right-most
/// `X-Forwarded-For` address that is not itself in `trusted` (addresses left of it were written by the client
/// and prove nothing). `None` when the peer is unknown. The node's own routes use it too, so every limit per
/// address counts the same client.
pub fn client_addr(peer: Option<IpAddr>, headers: &HeaderMap, trusted: &[IpNet]) -> Option<IpAddr> {
    let peer = peer?.to_canonical();
    let is_trusted = |ip: &IpAddr| trusted.iter().any(|n| n.contains(ip));
    if !is_trusted(&peer) {
        return Some(peer);
    }
    let mut client = peer;
    let hops = headers
        .get_all("x-forwarded-for")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .collect::<Vec<_>>();
    for hop in hops.into_iter().rev() {
        let hop = hop.trim();
        let Some(ip) = hop
            .parse::<IpAddr>()
            .ok()
            .or_else(|| hop.parse::<SocketAddr>().ok().map(|a| a.ip()))
        else {
            // Not an address: written by whoever is beyond the last trusted hop; that hop's peer is the client.
            break;
        };
        client = ip.to_canonical();
        if !is_trusted(&client) {
            break;
        }
    }
    Some(client)
}

/// Parses a `--trusted-proxy` value: a network in CIDR form (`10.0.0.0/8`, `fd00::/8`) or one address.
pub fn parse_trusted_proxy(text: &str) -> Result<IpNet, String> {
    let text = text.trim();
    text.parse::<IpNet>()
        .or_else(|_| text.parse::<IpAddr>().map(IpNet::from))
        .map_err(|_| {
            format!("{text:?} is not a network: give a CIDR such as 10.0.0.0/8 or fd00::/8, or one address")
        })
}

impl Gateway {
    /// Where a request comes from: the node itself when it carries [`Gateway::node_call_token`], else the client
    /// [`client_addr`] finds (`ConnectInfo`, through a trusted proxy when one is configured).
    pub fn origin(&self, ext: &Extensions, headers: &HeaderMap) -> Origin {
        if let Some(token) = headers.get(NODE_CALL_HEADER) {
            // Compared as hashes, so the time taken says nothing about the token.
            if keccak256(token.as_bytes()) == keccak256(self.node_call_token().as_bytes()) {
                return Origin::Node;
            }
        }
        let peer = ext.get::<ConnectInfo<SocketAddr>>().map(|c| c.0.ip());
        client_addr(peer, headers, &self.config().trusted_proxies)
            .map_or(Origin::Unknown, Origin::Ip)
    }
}

/// The session token a request carries: `Authorization: Bearer`, else the session cookie.
pub(crate) fn session_token(headers: &HeaderMap) -> Option<String> {
    if let Some(v) = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        && let Some(t) = v.strip_prefix("Bearer ")
    {
        return Some(t.trim().to_owned());
    }
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|c| c.trim().split_once('='))
        .find(|(k, _)| *k == SESSION_COOKIE)
        .map(|(_, v)| v.to_owned())
}

/// Who a content request says it is: a signed request in the [`ACCESS_HEADER`], else a session.
fn credentials(headers: &HeaderMap) -> Credentials {
    if let Some(v) = headers.get(ACCESS_HEADER) {
        return v
            .to_str()
            .ok()
            .and_then(|t| serde_json::from_str::<SignedAccessRequest>(t).ok())
            .map_or(Credentials::Unreadable, |req| {
                Credentials::Signed(Box::new(req))
            });
    }
    session_token(headers).map_or(Credentials::Anonymous, Credentials::Session)
}

/// Deposits a content key (EIP-712 signed by the depositor) for content this node holds.
#[utoipa::path(post, path = "/access/keys", tag = "access", request_body = SignedKeyDeposit,
    responses((status = 200, body = DepositReply, description = "stored, or the same key was already there"),
        (status = 400, body = ApiErrorBody, description = "bad body, CID or key; `key_mismatch`: the key does not open the content"),
        (status = 401, body = ApiErrorBody, description = "signature, chain, gateway, expiry or nonce refused"),
        (status = 409, body = ApiErrorBody, description = "`content_not_held`: upload the content first; `key_conflict`: another key is held"),
        (status = 429, body = ApiErrorBody, description = "`rate_limited`, or `too_many_pending_keys` for unpublished content"),
        (status = 500, body = ApiErrorBody, description = "the key store failed")))]
async fn deposit_key(
    State(gateway): State<Gateway>,
    ext: Extensions,
    headers: HeaderMap,
    body: Result<ApiJson<SignedKeyDeposit>, ApiError>,
) -> Result<Json<DepositReply>, ApiError> {
    let origin = gateway.origin(&ext, &headers);
    let ApiJson(dep) = body.map_err(|e| gateway.reject(Action::Deposit, origin, e))?;
    gateway.deposit(origin, dep).await.map(Json)
}

/// Releases the content key of one version of an asset (`?version=N`, else the latest) to an account the chain
/// lets read it (EIP-712 signed request): access now, or a license that had not run out when the version was
/// added. Each version has its own key, deposited by its author.
#[utoipa::path(post, path = "/access/key", tag = "access", request_body = SignedAccessRequest,
    params(KeyQuery),
    responses((status = 200, body = KeyRelease, description = "the key"),
        (status = 400, body = ApiErrorBody, description = "bad body, or the asset is not encrypted"),
        (status = 401, body = ApiErrorBody, description = "signature, chain, gateway, expiry or nonce refused"),
        (status = 403, body = ApiErrorBody, description = "`no_license` or `license_expired`"),
        (status = 404, body = ApiErrorBody, description = "`unknown_asset`, `no_such_version` or `no_key`"),
        (status = 429, body = ApiErrorBody, description = "too many refusals from this address or account"),
        (status = 502, body = ApiErrorBody, description = "the chain cannot be asked")))]
async fn release_key(
    State(gateway): State<Gateway>,
    ext: Extensions,
    headers: HeaderMap,
    query: Result<Query<KeyQuery>, QueryRejection>,
    body: Result<ApiJson<SignedAccessRequest>, ApiError>,
) -> Result<Json<KeyRelease>, ApiError> {
    let origin = gateway.origin(&ext, &headers);
    let reject = |e| gateway.reject(Action::Key, origin, e);
    let Query(KeyQuery { version }) = query.map_err(|e| {
        reject(ApiError::bad_request(format!(
            "the query is not `?version=N` (a version number, 0 for the first): {}",
            e.body_text()
        )))
    })?;
    let ApiJson(req) = body.map_err(reject)?;
    gateway.release(origin, req, version).await.map(Json)
}

/// Whether this gateway holds the key of proposal `id`'s content: executing a proposal of an encrypted asset
/// whose key nobody deposited would add a version nobody can read, so `scal3ml execute` and the pages ask first.
#[utoipa::path(get, path = "/access/proposals/{id}/key-status", tag = "access",
    params(("id" = u64, Path, description = "proposal id")),
    responses((status = 200, body = KeyStatus, description = "whether the key is held"),
        (status = 400, body = ApiErrorBody, description = "the id is not a number"),
        (status = 404, body = ApiErrorBody, description = "`unknown_proposal`")))]
async fn proposal_key_status(
    State(gateway): State<Gateway>,
    id: Result<Path<u64>, PathRejection>,
) -> Result<Json<KeyStatus>, ApiError> {
    let Path(id) = id.map_err(|e| {
        ApiError::bad_request(format!(
            "the proposal id is not a number: {}",
            e.body_text()
        ))
    })?;
    gateway.proposal_key_status(id).await.map(Json)
}

#[utoipa::path(get, path = "/access/nonce", tag = "access",
    responses((status = 200, body = NonceReply, description = "a fresh Sign-In with Ethereum nonce"),
        (status = 500, body = ApiErrorBody, description = "no randomness")))]
async fn siwe_nonce(State(gateway): State<Gateway>) -> Result<Json<NonceReply>, ApiError> {
    gateway.siwe_nonce().map(Json)
}

/// Signs in with Ethereum (EIP-4361): sets the session cookie and answers the token.
#[utoipa::path(post, path = "/access/siwe", tag = "access", request_body = SiweLogin,
    responses((status = 200, body = SessionReply, description = "signed in"),
        (status = 400, body = ApiErrorBody, description = "not a SIWE message"),
        (status = 401, body = ApiErrorBody, description = "domain, URI, chain, time, signature or nonce refused"),
        (status = 429, body = ApiErrorBody, description = "too many refusals from this address")))]
async fn siwe_login(
    State(gateway): State<Gateway>,
    ext: Extensions,
    headers: HeaderMap,
    body: Result<ApiJson<SiweLogin>, ApiError>,
) -> Result<Response, ApiError> {
    let origin = gateway.origin(&ext, &headers);
    let ApiJson(login) = body.map_err(|e| gateway.reject(Action::Siwe, origin, e))?;
    let reply = gateway.login(origin, &login)?;
    let secure = if gateway.config().public_url.starts_with("https://") {
        "; Secure"
    } else {
        ""
    };
    let cookie = format!(
        "{SESSION_COOKIE}={}; HttpOnly; SameSite=Strict; Path=/; Max-Age={}{secure}",
        reply.token,
        reply.expires_at.saturating_sub(now_secs())
    );
    let mut response = Json(reply).into_response();
    if let Ok(v) = HeaderValue::from_str(&cookie) {
        response.headers_mut().insert(header::SET_COOKIE, v);
    }
    Ok(response)
}

/// Ends the session (if any) and clears the cookie.
#[utoipa::path(post, path = "/access/logout", tag = "access",
    responses((status = 204, description = "signed out")))]
async fn logout(State(gateway): State<Gateway>, headers: HeaderMap) -> Response {
    if let Some(token) = session_token(&headers) {
        gateway.logout(&token);
    }
    let mut response = StatusCode::NO_CONTENT.into_response();
    response.headers_mut().insert(
        header::SET_COOKIE,
        HeaderValue::from_static("scal3ml_session=; HttpOnly; SameSite=Strict; Path=/; Max-Age=0"),
    );
    response
}

/// The path of a content route: an asset, a version number on the versions routes (else the latest), and the
/// path inside the content (empty for its root).
#[derive(Deserialize)]
struct ContentTarget {
    asset: u64,
    n: Option<u64>,
    #[serde(default)]
    path: String,
}

async fn serve_content(
    State(gateway): State<Gateway>,
    ext: Extensions,
    headers: HeaderMap,
    Path(ContentTarget { asset, n, path }): Path<ContentTarget>,
) -> Result<Response, ApiError> {
    let origin = gateway.origin(&ext, &headers);
    let range = headers.get(header::RANGE).and_then(|v| v.to_str().ok());
    gateway
        .read_content(
            origin,
            &credentials(&headers),
            AssetId(asset),
            n,
            &path,
            range,
        )
        .await
        .map(content_response)
}

/// The path of a proposal's content route: the proposal, and the path inside its content (empty for its
/// root).
#[derive(Deserialize)]
struct ProposalTarget {
    id: u64,
    #[serde(default)]
    path: String,
}

async fn serve_proposal(
    State(gateway): State<Gateway>,
    ext: Extensions,
    headers: HeaderMap,
    Path(ProposalTarget { id, path }): Path<ProposalTarget>,
) -> Result<Response, ApiError> {
    let origin = gateway.origin(&ext, &headers);
    let range = headers.get(header::RANGE).and_then(|v| v.to_str().ok());
    gateway
        .read_proposal(origin, &credentials(&headers), id, &path, range)
        .await
        .map(content_response)
}

/// The bytes of a read: 200 whole, 206 a range, 416 a range outside the content.
fn content_response(read: ContentRead) -> Response {
    let ContentRead { len, range, body } = read;
    let (status, start, end) = match range {
        RangeAnswer::Whole => (StatusCode::OK, 0, len),
        RangeAnswer::Part(a, b) => (StatusCode::PARTIAL_CONTENT, a, b),
        RangeAnswer::Unsatisfiable => {
            let mut r = ApiError::new(
                StatusCode::RANGE_NOT_SATISFIABLE,
                "range_not_satisfiable",
                format!("the requested range is outside the content ({len} bytes)"),
            )
            .into_response();
            if let Ok(v) = HeaderValue::from_str(&format!("bytes */{len}")) {
                r.headers_mut().insert(header::CONTENT_RANGE, v);
            }
            return r;
        }
    };
    let mut r = Response::new(body);
    *r.status_mut() = status;
    let h = r.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/octet-stream"),
    );
    h.insert(header::ACCEPT_RANGES, HeaderValue::from_static("bytes"));
    h.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("private, no-store"),
    );
    h.insert(header::CONTENT_LENGTH, HeaderValue::from(end - start));
    if status == StatusCode::PARTIAL_CONTENT
        && let Ok(v) = HeaderValue::from_str(&format!("bytes {start}-{}/{len}", end - 1))
    {
        h.insert(header::CONTENT_RANGE, v);
    }
    r
}

#[cfg(test)]
mod tests {
    use super::*;

    fn xff(value: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert("x-forwarded-for", HeaderValue::from_str(value).unwrap());
        h
    }

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn the_client_is_the_peer_unless_the_peer_is_a_trusted_proxy() {
        let proxies = [
            parse_trusted_proxy("10.0.0.0/8").unwrap(),
            parse_trusted_proxy("fd00::1").unwrap(),
        ];
        // An untrusted peer's X-Forwarded-For is its own invention.
        assert_eq!(
            client_addr(Some(ip("198.51.100.7")), &xff("1.2.3.4"), &proxies),
            Some(ip("198.51.100.7"))
        );
        // Through a trusted proxy: the right-most address not itself trusted; what the client wrote to its left
        // is ignored.
        assert_eq!(
            client_addr(
                Some(ip("10.0.0.2")),
                &xff("6.6.6.6, 203.0.113.9, 10.0.0.5"),
                &proxies
            ),
            Some(ip("203.0.113.9"))
        );
        // Through an IPv6 proxy, with an IPv4-mapped peer normalised.
        assert_eq!(
            client_addr(Some(ip("fd00::1")), &xff("2001:db8::7"), &proxies),
            Some(ip("2001:db8::7"))
        );
        assert_eq!(
            client_addr(Some(ip("::ffff:10.1.2.3")), &xff("203.0.113.1"), &proxies),
            Some(ip("203.0.113.1"))
        );
        // Garbage stops the walk at the last address a trusted hop vouched for.
        assert_eq!(
            client_addr(
                Some(ip("10.0.0.2")),
                &xff("203.0.113.9, nonsense"),
                &proxies
            ),
            Some(ip("10.0.0.2"))
        );
        // No header: the proxy itself.
        assert_eq!(
            client_addr(Some(ip("10.0.0.2")), &HeaderMap::new(), &proxies),
            Some(ip("10.0.0.2"))
        );
        assert_eq!(client_addr(None, &xff("1.2.3.4"), &proxies), None);
        assert!(parse_trusted_proxy("10.0.0.0/33").is_err());
        assert!(parse_trusted_proxy("proxy.example").is_err());
    }
}
