//! The gateway's HTTP side: [`AccessConfig`], [`AccessState`] and [`router`], which the node mounts at
//! `/access`:
//!
//! | route | what |
//! |---|---|
//! | `POST /keys` | deposit a content key ([`SignedKeyDeposit`]) |
//! | `POST /key` | release an asset's key to a licensee ([`SignedAccessRequest`]) |
//! | `GET /nonce` | a Sign-In with Ethereum nonce |
//! | `POST /siwe` | sign in: `{message, signature}` -> session cookie and token |
//! | `POST /logout` | end the session |
//! | `GET /content/{asset}[/{path}]` | the asset's bytes, decrypted, with `Range` support (unencrypted assets: to anyone) |
//! | `GET /assets/{asset}/versions/{n}/content[/{path}]` | the same for version `n` (licensees read every version) |
//! | `GET /proposals/{id}/content[/{path}]` | a proposed version's bytes, to the proposer and whoever may read its asset |
//!
//! The client IP used for rate limiting is [`client_addr`]: axum's `ConnectInfo<SocketAddr>` (serve the router
//! with `into_make_service_with_connect_info::<SocketAddr>()`; without it, refusals are limited per account
//! only), or, when that peer is a `--trusted-proxy`, the right-most `X-Forwarded-For` address that is not
//! itself a trusted proxy. A request carrying the node's own [`NODE_CALL_HEADER`] token (the node calling its
//! own gateway on a viewer's behalf) is charged to no IP.
//!
//! Every table a client can grow is a [`BoundedMap`] of at most `max_entries` entries: used request nonces,
//! used SIWE nonces, sessions and refusal buckets. SIWE nonces are not stored when issued: a nonce is the time
//! it was issued, random bytes and an HMAC under a key drawn at start, so asking for a million of them costs
//! nothing. Key deposits are bounded too (pending per depositor, per CID and in all) and those for content no
//! chain event names are dropped after `pending_grace` ([`AccessState::sweep_pending`]).

use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use alloy_primitives::{Address, keccak256};
use alloy_sol_types::SolStruct;
use axum::{
    Json, Router,
    extract::{
        ConnectInfo, Path, Query, State,
        rejection::{JsonRejection, QueryRejection},
    },
    http::{Extensions, HeaderMap, HeaderValue, StatusCode, header},
    response::{IntoResponse, Response},
    routing::{MethodRouter, get, post},
};
use scal3ml_primitives::clock::{now_millis, now_secs};
use scal3ml_primitives::{AssetId, Cid};
use scal3ml_store::{BlockStore, crypt::FileKey, export};
use serde::{Deserialize, Serialize};

use ipnet::IpNet;

use crate::audit::{AuditEntry, AuditLog};
use crate::bounded::BoundedMap;
use crate::content::{KeyCheck, RangeAnswer, Source, parse_range};
use crate::eip712::{SignedAccessRequest, SignedKeyDeposit, domain, normalize_gateway, recover};
use crate::error::{AccessError, AccessResult, ApiError, ApiErrorBody};
use crate::keys::{Deposited, KeyVault, Pending};
use crate::license::{
    AssetContent, AssetDirectory, LicenseChecker, ProposalContent, VersionContent,
};
use crate::limit::FailureLimiter;
use crate::nonces::{NonceBook, NonceUse};
use crate::siwe;

/// The header a command-line client puts a [`SignedAccessRequest`] (JSON) in to fetch content.
pub const ACCESS_HEADER: &str = "x-scal3ml-access";
/// The session cookie's name.
pub const SESSION_COOKIE: &str = "scal3ml_session";
/// The header the node puts [`AccessState::node_call_token`] in when it calls its own gateway (a diff or a
/// browser's proposal read as the viewer): such a request is charged to the viewer's account, never to an IP.
pub const NODE_CALL_HEADER: &str = "x-scal3ml-node-call";

/// How the gateway is set up.
#[derive(Debug, Clone)]
pub struct AccessConfig {
    /// Where the node key, sealed keys, used nonces and the audit log live.
    pub data_dir: PathBuf,
    /// The chain whose licenses count.
    pub chain_id: u64,
    /// The gateway's public base URL (e.g. `http://127.0.0.1:8080`): signed requests must name it, and SIWE
    /// messages' URI must start with it.
    pub public_url: String,
    /// The SIWE `domain` expected (default: the host and port of `public_url`).
    pub siwe_domain: String,
    /// The longest a signed request may be valid for (default 10 minutes).
    pub max_request_ttl: Duration,
    /// Refusals allowed per client IP and per account per `failure_window` before 429 (default 20).
    pub failures_per_minute: u32,
    /// The window `failures_per_minute` counts over (default a minute).
    pub failure_window: Duration,
    /// The longest a browser session lasts (default 12 hours; a SIWE expiration time shortens it).
    pub session_ttl: Duration,
    /// Peers whose `X-Forwarded-For` is believed (`--trusted-proxy`; default none).
    pub trusted_proxies: Vec<IpNet>,
    /// The most entries each client-grown table holds: used nonces, used SIWE nonces, sessions, refusal
    /// buckets (default 100,000 each).
    pub max_entries: usize,
    /// How long a deposited key may wait for a chain event naming its content before it is dropped (default
    /// 24 hours).
    pub pending_grace: Duration,
    /// Deposits one depositor may have pending (default 100).
    pub max_pending_per_depositor: usize,
    /// Depositors who may have a deposit pending for one CID (default 4).
    pub max_pending_per_cid: usize,
    /// Pending deposits in all (default 100,000).
    pub max_pending: usize,
}

impl AccessConfig {
    /// Defaults for a gateway at `public_url` on chain `chain_id`, keeping its files in `data_dir`.
    pub fn new(data_dir: impl Into<PathBuf>, chain_id: u64, public_url: &str) -> Self {
        let public_url = normalize_gateway(public_url);
        let siwe_domain = public_url
            .split_once("://")
            .map_or(public_url.as_str(), |(_, rest)| rest)
            .split('/')
            .next()
            .unwrap_or_default()
            .to_owned();
        Self {
            data_dir: data_dir.into(),
            chain_id,
            public_url,
            siwe_domain,
            max_request_ttl: Duration::from_secs(600),
            failures_per_minute: 20,
            failure_window: Duration::from_secs(60),
            session_ttl: Duration::from_secs(12 * 3600),
            trusted_proxies: Vec::new(),
            max_entries: 100_000,
            pending_grace: Duration::from_secs(24 * 3600),
            max_pending_per_depositor: 100,
            max_pending_per_cid: 4,
            max_pending: 100_000,
        }
    }

    /// Believes `X-Forwarded-For` from peers in these networks (reverse proxies in front of the node).
    pub fn with_trusted_proxies(mut self, proxies: impl IntoIterator<Item = IpNet>) -> Self {
        self.trusted_proxies = proxies.into_iter().collect();
        self
    }

    /// Sets the most entries of each client-grown table.
    pub fn with_max_entries(mut self, n: usize) -> Self {
        self.max_entries = n.max(1);
        self
    }

    /// Sets how long a deposit may wait for its content to be published before it is dropped.
    pub fn with_pending_grace(mut self, grace: Duration) -> Self {
        self.pending_grace = grace;
        self
    }

    /// Sets the pending deposits allowed per depositor, per CID and in all.
    pub fn with_pending_limits(
        mut self,
        per_depositor: usize,
        per_cid: usize,
        total: usize,
    ) -> Self {
        self.max_pending_per_depositor = per_depositor.max(1);
        self.max_pending_per_cid = per_cid.max(1);
        self.max_pending = total.max(1);
        self
    }

    /// Sets the refusals allowed per minute per IP and per account.
    pub fn with_failures_per_minute(mut self, n: u32) -> Self {
        self.failures_per_minute = n;
        self
    }

    /// Sets the refusals allowed per `window` per IP and per account (tests use a long window, so a slow machine
    /// cannot refill a bucket mid-test).
    pub fn with_failure_window(mut self, n: u32, window: Duration) -> Self {
        self.failures_per_minute = n;
        self.failure_window = window;
        self
    }

    /// Sets the SIWE domain (when the public host differs from `public_url`'s, e.g. behind a proxy).
    pub fn with_siwe_domain(mut self, domain: impl Into<String>) -> Self {
        self.siwe_domain = domain.into();
        self
    }

    /// Sets the longest validity of a signed request.
    pub fn with_max_request_ttl(mut self, ttl: Duration) -> Self {
        self.max_request_ttl = ttl;
        self
    }
}

/// How long an issued SIWE nonce may be signed and sent back.
const SIWE_NONCE_TTL: Duration = Duration::from_secs(600);

pub(crate) struct Inner {
    config: AccessConfig,
    vault: KeyVault,
    pub(crate) nonces: NonceBook,
    audit: AuditLog,
    limiter: FailureLimiter,
    licenses: Arc<dyn LicenseChecker>,
    directory: Arc<dyn AssetDirectory>,
    store: Arc<dyn BlockStore>,
    /// Signs issued SIWE nonces (drawn at start: nonces issued before a restart are refused).
    siwe_key: ring::hmac::Key,
    /// SIWE nonces used, until they would have expired anyway (Unix milliseconds).
    siwe_used: Mutex<BoundedMap<[u8; 32], ()>>,
    /// Session token -> account, until the session ends.
    sessions: Mutex<BoundedMap<String, Address>>,
    /// The token of the node's own calls ([`NODE_CALL_HEADER`]).
    node_call: String,
    /// When the last sweep of every pending deposit ran (Unix seconds), so a flood cannot make each deposit
    /// sweep.
    last_sweep: Mutex<u64>,
}

/// Everything the routes share; cheap to clone.
#[derive(Clone)]
pub struct AccessState(pub(crate) Arc<Inner>);

impl std::fmt::Debug for AccessState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AccessState")
            .field("config", &self.0.config)
            .field("vault", &self.0.vault)
            .finish_non_exhaustive()
    }
}

impl AccessState {
    /// Opens the gateway's files in `config.data_dir` (creating the node key on first use) and wires its
    /// dependencies.
    pub fn open(
        config: AccessConfig,
        licenses: Arc<dyn LicenseChecker>,
        directory: Arc<dyn AssetDirectory>,
        store: Arc<dyn BlockStore>,
    ) -> AccessResult<Self> {
        if !config.public_url.starts_with("http://") && !config.public_url.starts_with("https://") {
            return Err(AccessError::Config(format!(
                "public URL {:?} must start with http:// or https://",
                config.public_url
            )));
        }
        std::fs::create_dir_all(&config.data_dir)
            .map_err(|e| AccessError::io("cannot create", &config.data_dir, e))?;
        let vault = KeyVault::open(&config.data_dir)?;
        let nonces = NonceBook::open(&config.data_dir, config.max_entries)?;
        let audit = AuditLog::open(&config.data_dir)?;
        let limiter = FailureLimiter::bounded(
            config.failures_per_minute,
            config.failure_window,
            config.max_entries,
        );
        let random = |n: usize| -> AccessResult<Vec<u8>> {
            let mut b = vec![0u8; n];
            getrandom::getrandom(&mut b)
                .map_err(|e| AccessError::KeyStore(format!("no randomness: {e}")))?;
            Ok(b)
        };
        let siwe_key = ring::hmac::Key::new(ring::hmac::HMAC_SHA256, &random(32)?);
        let node_call = alloy_primitives::hex::encode(random(32)?);
        let max = config.max_entries;
        Ok(Self(Arc::new(Inner {
            config,
            vault,
            nonces,
            audit,
            limiter,
            licenses,
            directory,
            store,
            siwe_key,
            siwe_used: Mutex::new(BoundedMap::new(max)),
            sessions: Mutex::new(BoundedMap::new(max)),
            node_call,
            last_sweep: Mutex::new(now_secs()),
        })))
    }

    /// The token the node sends in [`NODE_CALL_HEADER`] when it calls this gateway itself (random per start;
    /// send it only to this gateway).
    pub fn node_call_token(&self) -> &str {
        &self.0.node_call
    }

    /// How many sessions are held.
    pub fn sessions(&self) -> usize {
        self.0
            .sessions
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .len()
    }

    /// How many used SIWE nonces are remembered.
    pub fn used_siwe_nonces(&self) -> usize {
        self.0
            .siwe_used
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .len()
    }

    /// Looks at every pending deposit (no chain event was known to name its content): those the catalog now
    /// finds named are kept for good, those older than the grace period that it finds named by nothing are
    /// dropped. A deposit is dropped only on the catalog's word; one it cannot tell about stays. The node runs
    /// it every hour.
    pub async fn sweep_pending(&self) -> AccessResult<SweepReport> {
        self.0.sweep(|_| true).await
    }

    /// The configuration.
    pub fn config(&self) -> &AccessConfig {
        &self.0.config
    }

    /// The audit log's path.
    pub fn audit_path(&self) -> &std::path::Path {
        self.0.audit.path()
    }
}

/// Every route under `/access`: method, path, handler. [`router`] serves exactly these, and a test checks
/// that the OpenAPI document ([`crate::AccessApiDoc`]) describes each.
pub(crate) fn routes() -> Vec<(&'static str, &'static str, MethodRouter<AccessState>)> {
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
pub fn router(state: AccessState) -> Router {
    routes()
        .into_iter()
        .fold(Router::new(), |r, (_, path, handler)| {
            r.route(path, handler)
        })
        .with_state(state)
}

/// What [`AccessState::sweep_pending`] did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SweepReport {
    /// Pending deposits now known to be published (kept for good).
    pub published: usize,
    /// Pending deposits dropped (older than the grace period, content named by nothing).
    pub dropped: usize,
}

/// The answer to a deposit.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq, utoipa::ToSchema)]
pub struct DepositReply {
    /// The content CID.
    pub cid: String,
    /// The depositor.
    #[schema(value_type = String, pattern = "^(0x)?[0-9a-fA-F]{40}$")]
    pub depositor: Address,
    /// `true` if this deposit stored the key, `false` if the same key was already there.
    pub stored: bool,
}

/// A released key: the key of one version of an asset. Its `Debug` leaves the key out.
#[derive(Clone, Serialize, Deserialize, PartialEq, Eq, utoipa::ToSchema)]
pub struct KeyRelease {
    /// The asset.
    #[schema(value_type = u64)]
    pub asset: AssetId,
    /// The version the key opens (the latest unless the request named one).
    pub version: u64,
    /// That version's content CID.
    pub content_cid: String,
    /// The content key, 32 hex characters.
    pub key: String,
}

impl std::fmt::Debug for KeyRelease {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KeyRelease")
            .field("asset", &self.asset)
            .field("version", &self.version)
            .field("content_cid", &self.content_cid)
            .field("key", &"..")
            .finish()
    }
}

/// The query of `POST /access/key`: which version's key (the latest if left out).
#[derive(Debug, Clone, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct KeyQuery {
    /// The version number (0 is the first); the latest if left out.
    pub version: Option<u64>,
}

/// A signed-in session.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq, utoipa::ToSchema)]
pub struct SessionReply {
    /// The session token (also set as the `scal3ml_session` cookie); send it as `Authorization: Bearer`.
    pub token: String,
    /// The signed-in account.
    #[schema(value_type = String, pattern = "^(0x)?[0-9a-fA-F]{40}$")]
    pub address: Address,
    /// Unix seconds when the session ends.
    pub expires_at: u64,
}

/// The body of `POST /siwe`.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct SiweLogin {
    /// The EIP-4361 message text, exactly as signed.
    pub message: String,
    /// The EIP-191 signature, 0x-hex.
    pub signature: String,
}

/// A refusal on its way out: the error, and the account to charge if its signature verified.
pub(crate) struct Fail {
    pub(crate) err: ApiError,
    pub(crate) verified: Option<Address>,
}

impl From<ApiError> for Fail {
    fn from(err: ApiError) -> Self {
        Self {
            err,
            verified: None,
        }
    }
}

impl From<AccessError> for Fail {
    fn from(e: AccessError) -> Self {
        ApiError::from(e).into()
    }
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

/// Who is asking, for rate limits and the audit log.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Origin {
    /// A client at this address.
    Ip(IpAddr),
    /// The node itself, on a viewer's behalf (charged to no address).
    Node,
    /// The server does not pass the peer address on.
    Unknown,
}

impl Origin {
    pub(crate) fn ip(self) -> Option<IpAddr> {
        match self {
            Self::Ip(ip) => Some(ip),
            _ => None,
        }
    }
}

/// The rate-limit bucket of a client IP. Without `ConnectInfo` the IP is unknown and only accounts are limited:
/// one shared bucket would let any client lock everybody out.
fn ip_keys(origin: Origin) -> Vec<String> {
    static WARNED: std::sync::Once = std::sync::Once::new();
    match origin {
        Origin::Ip(ip) => vec![format!("ip:{ip}")],
        Origin::Node => Vec::new(),
        Origin::Unknown => {
            WARNED.call_once(|| {
                tracing::warn!(
                    target: "access::limit",
                    "client IPs are unknown (serve with into_make_service_with_connect_info::<SocketAddr>()): \
                     refusals are rate limited per account only"
                )
            });
            Vec::new()
        }
    }
}

impl Inner {
    /// Where a request comes from ([`client_addr`], or the node itself).
    pub(crate) fn origin(&self, ext: &Extensions, headers: &HeaderMap) -> Origin {
        if let Some(token) = headers.get(NODE_CALL_HEADER) {
            // Compared as hashes, so the time taken says nothing about the token.
            if keccak256(token.as_bytes()) == keccak256(self.node_call.as_bytes()) {
                return Origin::Node;
            }
        }
        let peer = ext.get::<ConnectInfo<SocketAddr>>().map(|c| c.0.ip());
        client_addr(peer, headers, &self.config.trusted_proxies).map_or(Origin::Unknown, Origin::Ip)
    }

    /// Turns a client away while its IP has no refusals left (the turning away is audited, not charged).
    pub(crate) fn check_rate(&self, origin: Origin, action: &'static str) -> Result<(), ApiError> {
        let ip = origin.ip();
        self.limiter.check(&ip_keys(origin)).map_err(|wait| {
            let err = ApiError::rate_limited(
                wait,
                format!("too many refused requests from this address: wait {wait} s and try again"),
            );
            self.refuse(
                &Fail::from(err.clone()),
                origin,
                AuditEntry {
                    action,
                    ip,
                    ..Default::default()
                },
            );
            err
        })
    }

    /// Charges a refusal to the IP (and the account, if it proved itself) and writes the audit line.
    pub(crate) fn refuse(&self, fail: &Fail, origin: Origin, mut entry: AuditEntry) {
        let mut keys = ip_keys(origin);
        if let Some(a) = fail.verified {
            keys.push(format!("account:{a}"));
        }
        if fail.err.status != StatusCode::TOO_MANY_REQUESTS {
            self.limiter.fail(&keys);
        }
        entry.decision = "refuse";
        entry.reason = fail.err.code.clone();
        tracing::info!(target: "access::release", code = %fail.err.code, account = ?entry.account, asset = ?entry.asset, "refused");
        self.audit.write(entry);
    }

    pub(crate) fn check_common(
        &self,
        chain_id: u64,
        gateway: &str,
        expiry: u64,
        what: &str,
    ) -> Result<(), ApiError> {
        let cfg = &self.config;
        if chain_id != cfg.chain_id {
            return Err(ApiError::unauthorized(
                "wrong_chain",
                format!(
                    "the {what} was signed for chain {chain_id}, but this gateway serves chain {}: sign it for chain {} \
                     (check --network / --rpc-url)",
                    cfg.chain_id, cfg.chain_id
                ),
            ));
        }
        if normalize_gateway(gateway) != cfg.public_url {
            return Err(ApiError::unauthorized(
                "wrong_gateway",
                format!(
                    "the {what} was signed for gateway {gateway:?}, but this is {:?}: a signature is valid at the one \
                     gateway it names; sign it for this gateway",
                    cfg.public_url
                ),
            ));
        }
        let now = now_secs();
        if expiry < now {
            return Err(ApiError::unauthorized(
                "request_expired",
                format!(
                    "the {what} expired {} s ago: sign a new one (and check this machine's clock if it keeps happening)",
                    now - expiry
                ),
            ));
        }
        let max = cfg.max_request_ttl.as_secs();
        if expiry > now + max {
            return Err(ApiError::unauthorized(
                "expiry_too_far",
                format!(
                    "the {what} is valid for {} s, longer than the {max} s this gateway accepts: sign one that expires \
                     sooner (and check this machine's clock)",
                    expiry - now
                ),
            ));
        }
        Ok(())
    }

    /// Checks a signed access request (chain, gateway, expiry, signature, nonce); returns the proven account.
    fn verify_request(&self, req: &SignedAccessRequest) -> Result<Address, Fail> {
        self.check_common(req.chain_id, &req.gateway, req.expiry, "request")?;
        match req.recover() {
            Ok(a) if a == req.account => {}
            Ok(other) => {
                return Err(ApiError::unauthorized(
                    "bad_signature",
                    format!(
                        "the signature does not match account {} (it recovers {other}): sign the request with that \
                         account's key",
                        req.account
                    ),
                )
                .into());
            }
            Err(reason) => {
                return Err(ApiError::unauthorized("bad_signature", reason).into());
            }
        }
        use_nonce(self, req.account, req.nonce, req.expiry, "request")?;
        Ok(req.account)
    }

    /// Looks at the pending deposits `which` selects: keeps for good those a chain event now names, drops those
    /// older than the grace period that the catalog says nothing names.
    async fn sweep(&self, which: impl Fn(&Pending) -> bool) -> AccessResult<SweepReport> {
        let now = now_secs();
        let grace = self.config.pending_grace.as_secs();
        let (mut published, mut dropped) = (Vec::new(), Vec::new());
        for p in self.vault.pending().into_iter().filter(|p| which(p)) {
            match self.directory.references(&p.cid).await? {
                Some(true) => published.push((p.cid, p.depositor)),
                Some(false) if now.saturating_sub(p.deposited_at) >= grace => {
                    tracing::info!(target: "access::keys", cid = %p.cid, depositor = %p.depositor,
                        "dropping a key deposited for content nobody published within the grace period");
                    dropped.push((p.cid, p.depositor));
                }
                _ => {}
            }
        }
        let report = SweepReport {
            published: published.len(),
            dropped: dropped.len(),
        };
        if report.published + report.dropped > 0 {
            self.vault.settle(&published, &dropped)?;
        }
        Ok(report)
    }

    /// Refuses a new deposit while its depositor, its CID or the gateway has too many pending; first tries to
    /// make room by sweeping (the depositor's own, or everything at most once a minute).
    async fn room_for_deposit(&self, cid: &Cid, depositor: Address) -> Result<(), ApiError> {
        #[derive(Clone, Copy, PartialEq, Eq)]
        enum Full {
            Depositor,
            Cid,
            Gateway,
        }
        let cfg = &self.config;
        let over = |c: crate::keys::PendingCounts| {
            if c.of_depositor >= cfg.max_pending_per_depositor {
                Some(Full::Depositor)
            } else if c.of_cid >= cfg.max_pending_per_cid {
                Some(Full::Cid)
            } else if c.total >= cfg.max_pending {
                Some(Full::Gateway)
            } else {
                None
            }
        };
        let Some(first) = over(self.vault.pending_counts(depositor, cid)) else {
            return Ok(());
        };
        if first == Full::Depositor {
            self.sweep(|p| p.depositor == depositor).await?;
        } else {
            let now = now_secs();
            let due = {
                let mut last = self.last_sweep.lock().unwrap_or_else(|p| p.into_inner());
                let due = now.saturating_sub(*last) >= 60;
                if due {
                    *last = now;
                }
                due
            };
            if due {
                self.sweep(|_| true).await?;
            }
        }
        let Some(full) = over(self.vault.pending_counts(depositor, cid)) else {
            return Ok(());
        };
        let grace = cfg.pending_grace.as_secs();
        let now = now_secs();
        let oldest = self
            .vault
            .pending()
            .into_iter()
            .find(|p| match full {
                Full::Depositor => p.depositor == depositor,
                Full::Cid => p.cid == *cid,
                Full::Gateway => true,
            })
            .map_or(now, |p| p.deposited_at);
        let wait = (oldest + grace).saturating_sub(now).max(1);
        let message = match full {
            Full::Depositor => format!(
                "account {depositor} already has {} key deposits for content no chain event names yet: publish \
                 (or propose) what you deposited keys for, or wait until unpublished deposits are dropped \
                 ({} h after they were made)",
                cfg.max_pending_per_depositor,
                grace / 3600
            ),
            Full::Cid => format!(
                "{} accounts already deposited keys for content {cid}, which no chain event names yet: publish it \
                 first, then deposit",
                cfg.max_pending_per_cid
            ),
            Full::Gateway => format!(
                "this gateway holds {} key deposits for unpublished content, its limit: try again later",
                cfg.max_pending
            ),
        };
        Err(ApiError::rate_limited(wait, message).with_code("too_many_pending_keys"))
    }

    /// Marks a released key as published (a chain event names it), so no sweep drops it.
    fn mark_published(self: &Arc<Self>, cid: &Cid, depositor: Address) {
        if !self.vault.is_pending(cid, depositor) {
            return;
        }
        let (inner, cid) = (self.clone(), cid.clone());
        tokio::task::spawn_blocking(move || {
            if let Err(error) = inner.vault.settle(&[(cid, depositor)], &[]) {
                tracing::warn!(target: "access::keys", %error, "cannot mark a released key as published");
            }
        });
    }

    async fn lookup(&self, asset: AssetId) -> Result<AssetContent, ApiError> {
        self.directory.content(asset).await?.ok_or_else(|| {
            ApiError::not_found(
                "unknown_asset",
                format!(
                    "asset {asset} is not in this node's catalog: check the id (`scal3ml search`), or wait a few \
                     seconds if it was just published"
                ),
            )
        })
    }

    /// Version `n` of `asset` (the latest for `None`) with its number, or 404 `no_such_version`.
    fn version<'c>(
        &self,
        asset: AssetId,
        content: &'c AssetContent,
        n: Option<u64>,
    ) -> Result<(u64, &'c VersionContent), ApiError> {
        content.version(n).ok_or_else(|| {
            ApiError::not_found(
                "no_such_version",
                format!(
                    "asset {asset} has no version {}: it has versions 0 to {}",
                    n.unwrap_or_default(),
                    content.versions.len() - 1
                ),
            )
        })
    }

    /// The key of one version: the one its author deposited for its content CID. A version made before keys
    /// were per version (encrypted under the asset's first key, with no deposit of its own) gets the
    /// publisher's version-0 key, only if that key opens it.
    async fn version_key(
        &self,
        asset: AssetId,
        n: u64,
        version: &VersionContent,
        content: &AssetContent,
    ) -> Result<FileKey, ApiError> {
        if let Some(key) = self.vault.get(&version.cid, version.author)? {
            return Ok(key);
        }
        let first = content.first();
        if n > 0
            && let Some(key) = self.vault.get(&first.cid, first.author)?
        {
            let cid = scal3ml_store::Cid::from_bytes(version.cid.as_bytes())
                .map_err(|e| ApiError::internal(format!("version {n}'s CID: {e}")))?;
            if let Ok(KeyCheck::Opens) =
                crate::content::key_opens(self.store.as_ref(), &cid, &key).await
            {
                return Ok(key);
            }
        }
        Err(ApiError::not_found(
            "no_key",
            format!(
                "this gateway holds no key for version {n} of asset {asset} deposited by its author {}: the author \
                 must deposit the key here before the version is added (`scal3ml publish` and `scal3ml propose` \
                 do), or the asset names another gateway",
                version.author
            ),
        ))
    }

    /// Whether `account` may read version `n`, added in block `added`: it has access now (the chain's
    /// `hasAccess`: owner, shareholder, unexpired license, free asset), or it had access in that block. So a
    /// license reads the versions added while it ran, and none added after it ran out. The refusal says whether
    /// the account never had a license or it ran out.
    async fn require_license(
        &self,
        asset: AssetId,
        account: Address,
        n: u64,
        added: u64,
    ) -> Result<(), ApiError> {
        if self.licenses.has_access(asset, account).await?
            || self.licenses.had_access(asset, account, added).await?
        {
            return Ok(());
        }
        // A license on record that no longer gives access has run out (the chain's clock decides, not ours).
        let expired = self.licenses.license_expiry(asset, account).await?;
        Err(match expired {
            Some(at) => ApiError::new(
                StatusCode::FORBIDDEN,
                "license_expired",
                format!(
                    "the license of {account} for asset {asset} expired at {}, and it did not run when version {n} \
                     was added (block {added}): a license reads the versions added while it ran; renew it with \
                     `scal3ml buy {asset}`, then ask again",
                    chrono::DateTime::from_timestamp(at as i64, 0)
                        .map_or_else(|| at.to_string(), |t| t.to_rfc3339())
                ),
            ),
            None => ApiError::new(
                StatusCode::FORBIDDEN,
                "no_license",
                format!(
                    "account {account} holds no license for asset {asset}: buy one with `scal3ml buy {asset}` \
                     (`scal3ml show {asset}` shows the price), then ask again"
                ),
            ),
        })
    }

    /// The key of version `n` (the latest for `None`) for `account`: the version, its key, its license check;
    /// marks the deposit as published (a chain event names it).
    async fn release(
        self: &Arc<Self>,
        asset: AssetId,
        content: &AssetContent,
        n: Option<u64>,
        account: Address,
    ) -> Result<(u64, FileKey), ApiError> {
        let (n, version) = self.version(asset, content, n)?;
        let key = self.version_key(asset, n, version, content).await?;
        self.require_license(asset, account, n, version.block)
            .await?;
        self.mark_published(&version.cid, version.author);
        Ok((n, key))
    }

    pub(crate) fn session(&self, headers: &HeaderMap) -> Option<Result<Address, ApiError>> {
        let token = session_token(headers)?;
        let sessions = self.sessions.lock().unwrap_or_else(|p| p.into_inner());
        Some(match sessions.get_any(&token) {
            Some((expires, address)) if expires > now_secs() => Ok(*address),
            Some(_) => Err(ApiError::unauthorized(
                "session_expired",
                "your session has ended: sign in again",
            )),
            None => Err(ApiError::unauthorized(
                "no_session",
                "this session is unknown (signed out, or the node restarted): sign in again",
            )),
        })
    }
}

/// Spends a signed request's nonce; a refusal is charged to the account (its signature verified).
pub(crate) fn use_nonce(
    s: &Inner,
    account: Address,
    nonce: alloy_primitives::B256,
    expiry: u64,
    what: &str,
) -> Result<(), Fail> {
    let err = match s.nonces.use_once(account, nonce, expiry)? {
        NonceUse::Fresh => return Ok(()),
        NonceUse::Reused => ApiError::unauthorized(
            "nonce_reused",
            format!(
                "this {what}'s nonce was already used (a replayed {what}): sign a new one with a fresh nonce"
            ),
        ),
        NonceUse::TooOld => ApiError::unauthorized(
            "request_too_old",
            format!(
                "this {what} expires too soon for this busy gateway to be sure its nonce is unused: sign a new one \
                 (valid for a few minutes) and send it at once"
            ),
        ),
    };
    Err(Fail {
        err,
        verified: Some(account),
    })
}

fn session_token(headers: &HeaderMap) -> Option<String> {
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

fn json_body<T>(body: Result<Json<T>, JsonRejection>) -> Result<T, ApiError> {
    body.map(|Json(t)| t).map_err(|e| {
        ApiError::bad_request(format!(
            "the request body is not what this route takes: {e}"
        ))
    })
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
    State(state): State<AccessState>,
    ext: Extensions,
    headers: HeaderMap,
    body: Result<Json<SignedKeyDeposit>, JsonRejection>,
) -> Result<Json<DepositReply>, ApiError> {
    let s = &state.0;
    let origin = s.origin(&ext, &headers);
    let ip = origin.ip();
    s.check_rate(origin, "deposit")?;
    let mut entry = AuditEntry {
        action: "deposit",
        ip,
        ..Default::default()
    };
    let result: Result<(Cid, Address, Deposited), Fail> = async {
        let dep = json_body(body)?;
        entry.account = Some(dep.depositor);
        entry.cid = Some(dep.cid.clone());
        s.check_common(dep.chain_id, &dep.gateway, dep.expiry, "deposit")?;
        let key = FileKey::from_hex(&dep.key).map_err(|_| {
            ApiError::bad_request("key must be 32 hex characters (the 16-byte content key)")
        })?;
        let cid: Cid = dep.cid.parse().map_err(|e| {
            ApiError::bad_request(format!("cid: {e}"))
        })?;
        let hash = dep
            .typed(keccak256(key.0))
            .eip712_signing_hash(&domain(dep.chain_id));
        match recover(&dep.signature, &hash) {
            Ok(a) if a == dep.depositor => {}
            Ok(other) => {
                return Err(ApiError::unauthorized(
                    "bad_signature",
                    format!(
                        "the signature does not match depositor {} and this key (it recovers {other}): sign the \
                         deposit with the publishing account's key",
                        dep.depositor
                    ),
                )
                .into());
            }
            Err(reason) => return Err(ApiError::unauthorized("bad_signature", reason).into()),
        }
        use_nonce(s, dep.depositor, dep.nonce, dep.expiry, "deposit")?;
        // The content must be here (the CLI and the browser upload it before depositing), and the key must open
        // it: a key for content this node does not hold costs memory and disk and helps no buyer, and a key that
        // does not open it would leave buyers with nothing.
        let charge = |err: ApiError| Fail {
            err,
            verified: Some(dep.depositor),
        };
        let store_cid = scal3ml_store::Cid::from_bytes(cid.as_bytes())
            .map_err(|e| ApiError::bad_request(format!("cid: {e}")))?;
        match crate::content::key_opens(s.store.as_ref(), &store_cid, &key).await {
            Ok(KeyCheck::Opens) => {}
            Ok(KeyCheck::NotHeld) => {
                return Err(charge(ApiError::new(
                    StatusCode::CONFLICT,
                    "content_not_held",
                    format!(
                        "this node does not hold content {cid}, so it cannot check the key or serve buyers: upload \
                         the content first (POST /api/car; `scal3ml publish` does), then deposit its key"
                    ),
                )));
            }
            Ok(KeyCheck::NoFile) => {
                return Err(charge(ApiError::bad_request(format!(
                    "content {cid} holds no file to check the key on: an encrypted asset needs at least one file"
                ))
                .with_code("key_mismatch")));
            }
            Err(e) => {
                return Err(charge(match e {
                    AccessError::Store(
                        scal3ml_store::StoreError::Decrypt { .. }
                        | scal3ml_store::StoreError::Malformed { .. },
                    ) => ApiError::bad_request(format!(
                        "this key does not decrypt content {cid} held here ({e}): deposit the key the content was \
                         encrypted with"
                    ))
                    .with_code("key_mismatch"),
                    other => other.into(),
                }));
            }
        }
        if !s.vault.holds(&cid, dep.depositor) {
            s.room_for_deposit(&cid, dep.depositor).await.map_err(charge)?;
        }
        // The deposit fsyncs the key store: off the async threads.
        let (inner, stored_cid, depositor) = (state.0.clone(), cid.clone(), dep.depositor);
        let done = tokio::task::spawn_blocking(move || inner.vault.deposit(&stored_cid, depositor, &key))
            .await
            .map_err(|e| Fail::from(ApiError::internal(format!("the deposit task failed: {e}"))))?
            .map_err(|e| Fail {
                err: e.into(),
                verified: Some(dep.depositor),
            })?;
        Ok((cid, dep.depositor, done))
    }
    .await;
    match result {
        Ok((cid, depositor, done)) => {
            entry.decision = "accept";
            entry.reason = "ok".into();
            s.audit.write(entry);
            tracing::info!(target: "access::keys", %cid, %depositor, new = done == Deposited::New, "key deposited");
            Ok(Json(DepositReply {
                cid: cid.to_string(),
                depositor,
                stored: done == Deposited::New,
            }))
        }
        Err(fail) => {
            s.refuse(&fail, origin, entry);
            Err(fail.err)
        }
    }
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
    State(state): State<AccessState>,
    ext: Extensions,
    headers: HeaderMap,
    query: Result<Query<KeyQuery>, QueryRejection>,
    body: Result<Json<SignedAccessRequest>, JsonRejection>,
) -> Result<Json<KeyRelease>, ApiError> {
    let s = &state.0;
    let origin = s.origin(&ext, &headers);
    let ip = origin.ip();
    s.check_rate(origin, "key")?;
    let mut entry = AuditEntry {
        action: "key",
        ip,
        ..Default::default()
    };
    let result: Result<KeyRelease, Fail> = async {
        let Query(KeyQuery { version }) = query.map_err(|e| {
            ApiError::bad_request(format!(
                "the query is not `?version=N` (a version number, 0 for the first): {}",
                e.body_text()
            ))
        })?;
        let req = json_body(body)?;
        entry.account = Some(req.account);
        entry.asset = Some(req.asset.0);
        let account = s.verify_request(&req)?;
        s.limiter
            .check(&[format!("account:{account}")])
            .map_err(|wait| {
                ApiError::rate_limited(
                    wait,
                    format!("too many refused requests for account {account}: wait {wait} s and try again"),
                )
            })?;
        let charge = |err: ApiError| Fail {
            err,
            verified: Some(account),
        };
        let content = s.lookup(req.asset).await.map_err(charge)?;
        if !content.encrypted {
            return Err(charge(ApiError::bad_request(format!(
                "asset {} is not encrypted, so there is no key: fetch its content directly (`scal3ml get {}`)",
                req.asset, req.asset
            ))));
        }
        let (n, key) = s
            .release(req.asset, &content, version, account)
            .await
            .map_err(charge)?;
        Ok(KeyRelease {
            asset: req.asset,
            version: n,
            content_cid: content.versions[n as usize].cid.to_string(),
            key: key.to_hex(),
        })
    }
    .await;
    match result {
        Ok(release) => {
            entry.decision = "release";
            entry.reason = "ok".into();
            let account = entry.account;
            s.audit.write(entry);
            tracing::info!(target: "access::release", asset = %release.asset, account = ?account, "key released");
            Ok(Json(release))
        }
        Err(fail) => {
            s.refuse(&fail, origin, entry);
            Err(fail.err)
        }
    }
}

/// The answer of `GET /nonce`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq, utoipa::ToSchema)]
pub struct NonceReply {
    /// A fresh nonce for the `Nonce:` line of a Sign-In with Ethereum message; valid for 10 minutes, once.
    pub nonce: String,
}

/// A SIWE nonce is `issued (8 bytes, big-endian Unix milliseconds) || random (8) || HMAC-SHA256(siwe_key, the 16
/// before)[..16]`, in hex: nothing is stored until it is used.
fn issue_siwe_nonce(s: &Inner) -> AccessResult<String> {
    let mut raw = [0u8; 32];
    raw[..8].copy_from_slice(&now_millis().to_be_bytes());
    getrandom::getrandom(&mut raw[8..16])
        .map_err(|e| AccessError::KeyStore(format!("no randomness: {e}")))?;
    let tag = ring::hmac::sign(&s.siwe_key, &raw[..16]);
    raw[16..].copy_from_slice(&tag.as_ref()[..16]);
    Ok(alloy_primitives::hex::encode(raw))
}

/// When a nonce this gateway issued stops being valid (Unix milliseconds); `None` if it did not issue it.
fn siwe_nonce_expiry(s: &Inner, nonce: &str) -> Option<([u8; 32], u64)> {
    let raw: [u8; 32] = alloy_primitives::hex::decode(nonce).ok()?.try_into().ok()?;
    // Compared as hashes, so the time taken says nothing about the tag.
    let tag = ring::hmac::sign(&s.siwe_key, &raw[..16]);
    if keccak256(&tag.as_ref()[..16]) != keccak256(&raw[16..]) {
        return None;
    }
    let issued = u64::from_be_bytes(raw[..8].try_into().ok()?);
    Some((raw, issued + SIWE_NONCE_TTL.as_millis() as u64))
}

/// Whether the gateway holds the key of a proposal's content, deposited by its proposer (`GET
/// /access/proposals/{id}/key-status`). The key itself never leaves here this way.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq, utoipa::ToSchema)]
pub struct KeyStatus {
    /// The proposal.
    pub proposal: u64,
    /// Its content CID.
    pub content_cid: String,
    /// Its proposer, the only depositor whose key counts.
    #[schema(value_type = String, pattern = "^(0x)?[0-9a-fA-F]{40}$")]
    pub proposer: Address,
    /// Whether that key is here (it was checked against the content when it was deposited).
    pub held: bool,
}

/// Whether this gateway holds the key of proposal `id`'s content: executing a proposal of an encrypted asset
/// whose key nobody deposited would add a version nobody can read, so `scal3ml execute` and the pages ask first.
#[utoipa::path(get, path = "/access/proposals/{id}/key-status", tag = "access",
    params(("id" = u64, Path, description = "proposal id")),
    responses((status = 200, body = KeyStatus, description = "whether the key is held"),
        (status = 400, body = ApiErrorBody, description = "the id is not a number"),
        (status = 404, body = ApiErrorBody, description = "`unknown_proposal`")))]
async fn proposal_key_status(
    State(state): State<AccessState>,
    id: Result<Path<u64>, axum::extract::rejection::PathRejection>,
) -> Result<Json<KeyStatus>, ApiError> {
    let Path(id) = id.map_err(|e| {
        ApiError::bad_request(format!(
            "the proposal id is not a number: {}",
            e.body_text()
        ))
    })?;
    let s = &state.0;
    let proposal = s.directory.proposal(id).await?.ok_or_else(|| {
        ApiError::not_found(
            "unknown_proposal",
            format!("proposal {id} is not in this node's catalog: check the id (`scal3ml proposals <asset>`)"),
        )
    })?;
    Ok(Json(KeyStatus {
        proposal: id,
        content_cid: proposal.content_cid.to_string(),
        proposer: proposal.proposer,
        held: s.vault.holds(&proposal.content_cid, proposal.proposer),
    }))
}

#[utoipa::path(get, path = "/access/nonce", tag = "access",
    responses((status = 200, body = NonceReply, description = "a fresh Sign-In with Ethereum nonce"),
        (status = 500, body = ApiErrorBody, description = "no randomness")))]
async fn siwe_nonce(State(state): State<AccessState>) -> Result<Json<NonceReply>, ApiError> {
    let nonce = issue_siwe_nonce(&state.0)?;
    Ok(Json(NonceReply { nonce }))
}

/// Signs in with Ethereum (EIP-4361): sets the session cookie and answers the token.
#[utoipa::path(post, path = "/access/siwe", tag = "access", request_body = SiweLogin,
    responses((status = 200, body = SessionReply, description = "signed in"),
        (status = 400, body = ApiErrorBody, description = "not a SIWE message"),
        (status = 401, body = ApiErrorBody, description = "domain, URI, chain, time, signature or nonce refused"),
        (status = 429, body = ApiErrorBody, description = "too many refusals from this address")))]
async fn siwe_login(
    State(state): State<AccessState>,
    ext: Extensions,
    headers: HeaderMap,
    body: Result<Json<SiweLogin>, JsonRejection>,
) -> Response {
    let s = &state.0;
    let origin = s.origin(&ext, &headers);
    let ip = origin.ip();
    if let Err(e) = s.check_rate(origin, "siwe") {
        return e.into_response();
    }
    let mut entry = AuditEntry {
        action: "siwe",
        ip,
        ..Default::default()
    };
    let result: Result<SessionReply, Fail> = (|| {
        let login = json_body(body)?;
        let msg = siwe::parse(&login.message).map_err(|e| {
            ApiError::bad_request(format!("not a Sign-In with Ethereum message: {e}"))
        })?;
        entry.account = Some(msg.address);
        let cfg = &s.config;
        if msg.domain != cfg.siwe_domain {
            return Err(ApiError::unauthorized(
                "wrong_domain",
                format!(
                    "the message signs in to {:?}, but this is {:?}: the page that made it is not this gateway's",
                    msg.domain, cfg.siwe_domain
                ),
            )
            .into());
        }
        let under = msg.uri.strip_prefix(cfg.public_url.as_str());
        if !under.is_some_and(|rest| rest.is_empty() || rest.starts_with(['/', '?', '#'])) {
            return Err(ApiError::unauthorized(
                "wrong_uri",
                format!(
                    "the message's URI {:?} is not under {:?}",
                    msg.uri, cfg.public_url
                ),
            )
            .into());
        }
        if msg.chain_id != cfg.chain_id {
            return Err(ApiError::unauthorized(
                "wrong_chain",
                format!(
                    "the message is for chain {}, but this gateway serves chain {}: switch your wallet to chain {}",
                    msg.chain_id, cfg.chain_id, cfg.chain_id
                ),
            )
            .into());
        }
        let now = chrono::Utc::now();
        if msg.issued_at > now + chrono::Duration::minutes(5) {
            return Err(ApiError::unauthorized(
                "not_yet_valid",
                "the message was issued in the future: check your computer's clock",
            )
            .into());
        }
        if msg.expiration_time.is_some_and(|t| t <= now) {
            return Err(ApiError::unauthorized(
                "request_expired",
                "the sign-in message has expired: sign in again",
            )
            .into());
        }
        if msg.not_before.is_some_and(|t| t > now) {
            return Err(ApiError::unauthorized(
                "not_yet_valid",
                "the sign-in message is not valid yet (Not Before is in the future)",
            )
            .into());
        }
        let signer = login
            .signature
            .parse::<alloy_primitives::Signature>()
            .map_err(|e| {
                ApiError::unauthorized(
                    "bad_signature",
                    format!("the signature is not 65 bytes of hex ({e})"),
                )
            })?
            .recover_address_from_msg(login.message.as_bytes())
            .map_err(|e| {
                ApiError::unauthorized("bad_signature", format!("no address recovers ({e})"))
            })?;
        if signer != msg.address {
            return Err(ApiError::unauthorized(
                "bad_signature",
                format!(
                    "the signature is not {}'s (it recovers {signer}): sign the message with that account",
                    msg.address
                ),
            )
            .into());
        }
        let now_ms = now_millis();
        let fresh = siwe_nonce_expiry(s, &msg.nonce).filter(|(_, until)| *until > now_ms);
        let spent = fresh.is_some_and(|(raw, until)| {
            let mut used = s.siwe_used.lock().unwrap_or_else(|p| p.into_inner());
            // Forgotten by a full table (the floor) counts as used: eviction never opens a replay.
            if used.get(&raw, now_ms).is_some() || until <= used.floor() {
                return false;
            }
            used.insert(raw, until, (), now_ms);
            true
        });
        if !spent {
            return Err(Fail {
                err: ApiError::unauthorized(
                    "bad_nonce",
                    "the message's nonce was not issued by this gateway, was already used, or is older than 10 \
                     minutes: get a fresh one from GET /access/nonce and sign again",
                ),
                verified: Some(signer),
            });
        }
        let mut expires = now_secs() + cfg.session_ttl.as_secs();
        if let Some(t) = msg.expiration_time {
            expires = expires.min(t.timestamp().max(0) as u64);
        }
        let mut raw = [0u8; 32];
        getrandom::getrandom(&mut raw)
            .map_err(|e| ApiError::internal(format!("no randomness: {e}")))?;
        let token = alloy_primitives::hex::encode(raw);
        s.sessions.lock().unwrap_or_else(|p| p.into_inner()).insert(
            token.clone(),
            expires,
            signer,
            now_secs(),
        );
        Ok(SessionReply {
            token,
            address: signer,
            expires_at: expires,
        })
    })();
    match result {
        Ok(reply) => {
            entry.decision = "accept";
            entry.reason = "ok".into();
            s.audit.write(entry);
            let secure = if s.config.public_url.starts_with("https://") {
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
            response
        }
        Err(fail) => {
            s.refuse(&fail, origin, entry);
            fail.err.into_response()
        }
    }
}

/// Ends the session (if any) and clears the cookie.
#[utoipa::path(post, path = "/access/logout", tag = "access",
    responses((status = 204, description = "signed out")))]
async fn logout(State(state): State<AccessState>, headers: HeaderMap) -> Response {
    if let Some(token) = session_token(&headers) {
        state
            .0
            .sessions
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(&token);
    }
    let mut response = StatusCode::NO_CONTENT.into_response();
    response.headers_mut().insert(
        header::SET_COOKIE,
        HeaderValue::from_static("scal3ml_session=; HttpOnly; SameSite=Strict; Path=/; Max-Age=0"),
    );
    response
}

/// Who asks for content: a signed request in the header, else a session.
fn authenticate(
    s: &Inner,
    headers: &HeaderMap,
    asset: AssetId,
    entry: &mut AuditEntry,
) -> Result<Address, Fail> {
    let account = if let Some(v) = headers.get(ACCESS_HEADER) {
        let req: SignedAccessRequest = v
            .to_str()
            .ok()
            .and_then(|t| serde_json::from_str(t).ok())
            .ok_or_else(|| {
            ApiError::bad_request(format!(
                "the {ACCESS_HEADER} header is not a signed access request (JSON)"
            ))
        })?;
        entry.account = Some(req.account);
        if req.asset != asset {
            return Err(ApiError::unauthorized(
                "wrong_asset",
                format!(
                    "the signed request is for asset {}, not {asset}: sign one for this asset",
                    req.asset
                ),
            )
            .into());
        }
        s.verify_request(&req)?
    } else {
        match s.session(headers) {
            Some(r) => r?,
            None => {
                return Err(ApiError::unauthorized(
                    "unauthenticated",
                    format!(
                        "who is asking? sign in with Ethereum (GET /access/nonce, then POST /access/siwe) or send \
                         a signed access request in the {ACCESS_HEADER} header (`scal3ml get` does)"
                    ),
                )
                .into());
            }
        }
    };
    entry.account = Some(account);
    Ok(account)
}

/// The account asking for encrypted content: authenticated (a signed request or a SIWE session), and not over
/// its limit of refused requests.
fn reader(
    s: &Inner,
    headers: &HeaderMap,
    asset: AssetId,
    entry: &mut AuditEntry,
) -> Result<Address, Fail> {
    let account = authenticate(s, headers, asset, entry)?;
    s.limiter
        .check(&[format!("account:{account}")])
        .map_err(|wait| {
            ApiError::rate_limited(
                wait,
                format!("too many refused requests for account {account}: wait {wait} s"),
            )
        })?;
    Ok(account)
}

impl Inner {
    /// Audits a content answer and turns it into the response: a release (`ok` for an account, `public` for
    /// content in the clear, served to anyone) or the refusal.
    fn finish(
        &self,
        origin: Origin,
        mut entry: AuditEntry,
        result: Result<Response, Fail>,
    ) -> Response {
        match result {
            Ok(r) => {
                entry.decision = "release";
                entry.reason = if entry.account.is_some() {
                    "ok"
                } else {
                    "public"
                }
                .into();
                self.audit.write(entry);
                r
            }
            Err(fail) => {
                self.refuse(&fail, origin, entry);
                fail.err.into_response()
            }
        }
    }
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
    State(state): State<AccessState>,
    ext: Extensions,
    headers: HeaderMap,
    Path(ContentTarget {
        asset,
        n: version,
        path,
    }): Path<ContentTarget>,
) -> Response {
    let s = &state.0;
    let origin = s.origin(&ext, &headers);
    let ip = origin.ip();
    if let Err(e) = s.check_rate(origin, "content") {
        return e.into_response();
    }
    let asset = AssetId(asset);
    let mut entry = AuditEntry {
        action: "content",
        asset: Some(asset.0),
        ip,
        ..Default::default()
    };
    let result: Result<Response, Fail> = async {
        // An unencrypted asset's bytes are public (anyone can fetch its blocks by CID from IPFS anyway), so a
        // plain link downloads it; only encrypted content asks who is asking and checks the license.
        let content = s.lookup(asset).await?;
        let (_, found) = s.version(asset, &content, version)?;
        let cid = &found.cid;
        let mut verified = None;
        let key = if content.encrypted {
            let account = reader(s, &headers, asset, &mut entry)?;
            verified = Some(account);
            let (_, key) = s
                .release(asset, &content, version, account)
                .await
                .map_err(|err| Fail {
                    err,
                    verified: Some(account),
                })?;
            Some(key)
        } else {
            None
        };
        stream(s, &headers, cid, &path, key, verified).await
    }
    .await;
    s.finish(origin, entry, result)
}

/// The path of a proposal's content route: the proposal, and the path inside its content (empty for its
/// root).
#[derive(Deserialize)]
struct ProposalTarget {
    id: u64,
    #[serde(default)]
    path: String,
}

/// A proposal's content: reviewers need to read a proposed version before they vote. It is encrypted (under
/// the asset's key) when the asset is, and then it goes to the same accounts as the asset's own content (the
/// chain's `hasAccess`: owner, shareholders, licensees), and to the proposer. The key used is the one the
/// proposer deposited for the proposal's content CID; nobody else's deposit for that CID counts.
async fn serve_proposal(
    State(state): State<AccessState>,
    ext: Extensions,
    headers: HeaderMap,
    Path(ProposalTarget { id, path }): Path<ProposalTarget>,
) -> Response {
    let s = &state.0;
    let origin = s.origin(&ext, &headers);
    let ip = origin.ip();
    if let Err(e) = s.check_rate(origin, "content") {
        return e.into_response();
    }
    let mut entry = AuditEntry {
        action: "proposal",
        ip,
        ..Default::default()
    };
    let result: Result<Response, Fail> = async {
        let proposal: ProposalContent = s.directory.proposal(id).await?.ok_or_else(|| {
            ApiError::not_found(
                "unknown_proposal",
                format!(
                    "proposal {id} is not in this node's catalog: check the id (`scal3ml proposals <asset>`), or \
                     wait a few seconds if it was just made"
                ),
            )
        })?;
        let asset = proposal.asset;
        entry.asset = Some(asset.0);
        entry.cid = Some(proposal.content_cid.to_string());
        let content = s.lookup(asset).await?;
        let mut verified = None;
        let key = if content.encrypted {
            let account = reader(s, &headers, asset, &mut entry)?;
            verified = Some(account);
            let charge = |err: ApiError| Fail {
                err,
                verified: Some(account),
            };
            let key = s
                .vault
                .get(&proposal.content_cid, proposal.proposer)
                .map_err(|e| charge(e.into()))?
                .ok_or_else(|| {
                    charge(ApiError::not_found(
                        "no_key",
                        format!(
                            "this gateway holds no key for proposal {id} deposited by its proposer {}: the proposer \
                             must deposit it here (`scal3ml propose` does before the transaction)",
                            proposal.proposer
                        ),
                    ))
                })?;
            if account != proposal.proposer
                && !s
                    .licenses
                    .has_access(asset, account)
                    .await
                    .map_err(|e| charge(e.into()))?
            {
                return Err(charge(ApiError::new(
                    StatusCode::FORBIDDEN,
                    "no_license",
                    format!(
                        "account {account} may not read proposal {id}: its content goes to the proposer and to \
                         accounts with access to asset {asset} (its owner, shareholders and licensees); buy a \
                         license with `scal3ml buy {asset}`, then ask again"
                    ),
                )));
            }
            Some(key)
        } else {
            None
        };
        stream(s, &headers, &proposal.content_cid, &path, key, verified).await
    }
    .await;
    s.finish(origin, entry, result)
}

/// Streams `path` inside the content `root` (decrypted with `key` if given), honouring `Range`.
async fn stream(
    s: &Inner,
    headers: &HeaderMap,
    root: &Cid,
    path: &str,
    key: Option<FileKey>,
    verified: Option<Address>,
) -> Result<Response, Fail> {
    let charge = |err: ApiError| Fail { err, verified };
    let root = scal3ml_store::Cid::from_bytes(root.as_bytes())
        .map_err(|e| charge(ApiError::internal(format!("the content CID: {e}"))))?;
    let path = path.to_owned();
    let cid = export::resolve(s.store.as_ref(), &root, &path)
        .await
        .map_err(|e| charge(AccessError::from(e).into()))?;
    let source = Source {
        store: s.store.clone(),
        cid,
        key,
    };
    let len = source.len().await.map_err(|e| charge(e.into()))?;
    let range = parse_range(
        headers.get(header::RANGE).and_then(|v| v.to_str().ok()),
        len,
    );
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
            return Ok(r);
        }
    };
    let body = source
        .body(start, end)
        .await
        .map_err(|e| charge(e.into()))?;
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
    Ok(r)
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
