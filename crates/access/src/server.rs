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
//! The client IP used for rate limiting comes from axum's `ConnectInfo<SocketAddr>`: serve the router with
//! `into_make_service_with_connect_info::<SocketAddr>()` (without it, refusals are limited per account only).

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use alloy_primitives::{Address, keccak256};
use alloy_sol_types::SolStruct;
use axum::{
    Json, Router,
    extract::{ConnectInfo, Path, State, rejection::JsonRejection},
    http::{Extensions, HeaderMap, HeaderValue, StatusCode, header},
    response::{IntoResponse, Response},
    routing::{get, post},
};
use scal3ml_primitives::{AssetId, Cid};
use scal3ml_store::{BlockStore, crypt::FileKey, export};
use serde::{Deserialize, Serialize};

use crate::audit::{AuditEntry, AuditLog};
use crate::content::{RangeAnswer, Source, parse_range};
use crate::eip712::{
    SignedAccessRequest, SignedKeyDeposit, domain, normalize_gateway, now_secs, recover,
};
use crate::error::{AccessError, AccessResult, ApiError};
use crate::keys::{Deposited, KeyVault};
use crate::license::{AssetContent, AssetDirectory, LicenseChecker, ProposalContent};
use crate::limit::FailureLimiter;
use crate::nonces::NonceBook;
use crate::siwe;

/// The header a command-line client puts a [`SignedAccessRequest`] (JSON) in to fetch content.
pub const ACCESS_HEADER: &str = "x-scal3ml-access";
/// The session cookie's name.
pub const SESSION_COOKIE: &str = "scal3ml_session";

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
        }
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

struct Session {
    address: Address,
    expires: u64,
}

pub(crate) struct Inner {
    config: AccessConfig,
    vault: KeyVault,
    pub(crate) nonces: NonceBook,
    audit: AuditLog,
    limiter: FailureLimiter,
    licenses: Arc<dyn LicenseChecker>,
    directory: Arc<dyn AssetDirectory>,
    store: Arc<dyn BlockStore>,
    siwe_nonces: Mutex<HashMap<String, Instant>>,
    sessions: Mutex<HashMap<String, Session>>,
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
        let nonces = NonceBook::open(&config.data_dir)?;
        let audit = AuditLog::open(&config.data_dir)?;
        let limiter =
            FailureLimiter::with_window(config.failures_per_minute, config.failure_window);
        Ok(Self(Arc::new(Inner {
            config,
            vault,
            nonces,
            audit,
            limiter,
            licenses,
            directory,
            store,
            siwe_nonces: Mutex::new(HashMap::new()),
            sessions: Mutex::new(HashMap::new()),
        })))
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

/// The routes, to mount at `/access`.
pub fn router(state: AccessState) -> Router {
    Router::new()
        .route("/keys", post(deposit_key))
        .route("/key", post(release_key))
        .route("/nonce", get(siwe_nonce))
        .route("/siwe", post(siwe_login))
        .route("/logout", post(logout))
        .route("/content/{asset}", get(serve_content))
        .route("/content/{asset}/{*path}", get(serve_content))
        .route("/assets/{asset}/versions/{n}/content", get(serve_content))
        .route(
            "/assets/{asset}/versions/{n}/content/{*path}",
            get(serve_content),
        )
        .route("/proposals/{id}/content", get(serve_proposal))
        .route("/proposals/{id}/content/{*path}", get(serve_proposal))
        .with_state(state)
}

/// The answer to a deposit.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct DepositReply {
    /// The content CID.
    pub cid: String,
    /// The depositor.
    pub depositor: Address,
    /// `true` if this deposit stored the key, `false` if the same key was already there.
    pub stored: bool,
}

/// A released key. Its `Debug` leaves the key out.
#[derive(Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct KeyRelease {
    /// The asset.
    pub asset: AssetId,
    /// The content key, 32 hex characters.
    pub key: String,
    /// Version 0's content CID.
    pub first_content_cid: String,
    /// The latest version's content CID.
    pub latest_content_cid: String,
}

impl std::fmt::Debug for KeyRelease {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KeyRelease")
            .field("asset", &self.asset)
            .field("key", &"..")
            .field("first_content_cid", &self.first_content_cid)
            .field("latest_content_cid", &self.latest_content_cid)
            .finish()
    }
}

/// A signed-in session.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct SessionReply {
    /// The session token (also set as the `scal3ml_session` cookie); send it as `Authorization: Bearer`.
    pub token: String,
    /// The signed-in account.
    pub address: Address,
    /// Unix seconds when the session ends.
    pub expires_at: u64,
}

/// The body of `POST /siwe`.
#[derive(Debug, Clone, Serialize, Deserialize)]
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

pub(crate) fn client_ip(ext: &Extensions) -> Option<IpAddr> {
    ext.get::<ConnectInfo<SocketAddr>>().map(|c| c.0.ip())
}

/// The rate-limit bucket of a client IP. Without `ConnectInfo` the IP is unknown and only accounts are limited:
/// one shared bucket would let any client lock everybody out.
fn ip_keys(ip: Option<IpAddr>) -> Vec<String> {
    static WARNED: std::sync::Once = std::sync::Once::new();
    match ip {
        Some(ip) => vec![format!("ip:{ip}")],
        None => {
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
    /// Turns a client away while its IP has no refusals left (the turning away is audited, not charged).
    pub(crate) fn check_rate(
        &self,
        ip: Option<IpAddr>,
        action: &'static str,
    ) -> Result<(), ApiError> {
        self.limiter.check(&ip_keys(ip)).map_err(|wait| {
            let err = ApiError::rate_limited(
                wait,
                format!("too many refused requests from this address: wait {wait} s and try again"),
            );
            self.refuse(
                &Fail::from(err.clone()),
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
    pub(crate) fn refuse(&self, fail: &Fail, mut entry: AuditEntry) {
        let mut keys = ip_keys(entry.ip);
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
        if !self
            .nonces
            .use_once(req.account, req.nonce, req.expiry)
            .map_err(Fail::from)?
        {
            return Err(Fail {
                err: ApiError::unauthorized(
                    "nonce_reused",
                    "this request's nonce was already used (a replayed request): sign a new request with a fresh nonce",
                ),
                verified: Some(req.account),
            });
        }
        Ok(req.account)
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

    /// The key the publisher deposited for the asset's version-0 content.
    fn publisher_key(&self, asset: AssetId, content: &AssetContent) -> Result<FileKey, ApiError> {
        self.vault
            .get(content.first(), content.publisher)?
            .ok_or_else(|| {
                ApiError::not_found(
                    "no_key",
                    format!(
                        "this gateway holds no key for asset {asset} deposited by its publisher {}: the publisher must \
                         deposit the key here before publishing (`scal3ml publish` does), or the asset names another \
                         gateway",
                        content.publisher
                    ),
                )
            })
    }

    /// Whether `account` holds a license; the refusal says whether it never had one or it ran out.
    async fn require_license(&self, asset: AssetId, account: Address) -> Result<(), ApiError> {
        if self.licenses.has_access(asset, account).await? {
            return Ok(());
        }
        // A license on record that no longer gives access has run out (the chain's clock decides, not ours).
        let expired = self.licenses.license_expiry(asset, account).await?;
        Err(match expired {
            Some(at) => ApiError::new(
                StatusCode::FORBIDDEN,
                "license_expired",
                format!(
                    "the license of {account} for asset {asset} expired at {}: renew it with `scal3ml buy {asset}`, \
                     then ask again",
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

    pub(crate) fn session(&self, headers: &HeaderMap) -> Option<Result<Address, ApiError>> {
        let token = session_token(headers)?;
        let sessions = self.sessions.lock().unwrap_or_else(|p| p.into_inner());
        Some(match sessions.get(&token) {
            Some(s) if s.expires > now_secs() => Ok(s.address),
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

async fn deposit_key(
    State(state): State<AccessState>,
    ext: Extensions,
    body: Result<Json<SignedKeyDeposit>, JsonRejection>,
) -> Result<Json<DepositReply>, ApiError> {
    let s = &state.0;
    let ip = client_ip(&ext);
    s.check_rate(ip, "deposit")?;
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
        if !s.nonces.use_once(dep.depositor, dep.nonce, dep.expiry)? {
            return Err(Fail {
                err: ApiError::unauthorized(
                    "nonce_reused",
                    "this deposit's nonce was already used (a replayed request): sign a new deposit",
                ),
                verified: Some(dep.depositor),
            });
        }
        // When the content is already here (the CLI uploads it before depositing), a key that does not open it is
        // a mistake that would leave buyers with nothing: refuse it now.
        let store_cid = scal3ml_store::Cid::from_bytes(cid.as_bytes())
            .map_err(|e| ApiError::bad_request(format!("cid: {e}")))?;
        if let Err(e) = crate::content::key_opens(s.store.as_ref(), &store_cid, &key).await {
            let err = match e {
                AccessError::Store(
                    scal3ml_store::StoreError::Decrypt { .. }
                    | scal3ml_store::StoreError::Malformed { .. },
                ) => ApiError::bad_request(format!(
                    "this key does not decrypt content {cid} held here ({e}): deposit the key the content was \
                     encrypted with"
                ))
                .with_code("key_mismatch"),
                other => other.into(),
            };
            return Err(Fail {
                err,
                verified: Some(dep.depositor),
            });
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
            s.refuse(&fail, entry);
            Err(fail.err)
        }
    }
}

async fn release_key(
    State(state): State<AccessState>,
    ext: Extensions,
    body: Result<Json<SignedAccessRequest>, JsonRejection>,
) -> Result<Json<KeyRelease>, ApiError> {
    let s = &state.0;
    let ip = client_ip(&ext);
    s.check_rate(ip, "key")?;
    let mut entry = AuditEntry {
        action: "key",
        ip,
        ..Default::default()
    };
    let result: Result<KeyRelease, Fail> = async {
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
        let key = s.publisher_key(req.asset, &content).map_err(charge)?;
        s.require_license(req.asset, account).await.map_err(charge)?;
        Ok(KeyRelease {
            asset: req.asset,
            key: key.to_hex(),
            first_content_cid: content.first().to_string(),
            latest_content_cid: content.latest().to_string(),
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
            s.refuse(&fail, entry);
            Err(fail.err)
        }
    }
}

#[derive(Serialize)]
struct NonceReply {
    nonce: String,
}

const SIWE_NONCE_TTL: Duration = Duration::from_secs(600);

async fn siwe_nonce(State(state): State<AccessState>) -> Result<Json<NonceReply>, ApiError> {
    let mut raw = [0u8; 12];
    getrandom::getrandom(&mut raw)
        .map_err(|e| ApiError::internal(format!("no randomness: {e}")))?;
    let nonce = alloy_primitives::hex::encode(raw);
    let mut map = state
        .0
        .siwe_nonces
        .lock()
        .unwrap_or_else(|p| p.into_inner());
    if map.len() > 10_000 {
        map.retain(|_, at| at.elapsed() < SIWE_NONCE_TTL);
    }
    map.insert(nonce.clone(), Instant::now());
    Ok(Json(NonceReply { nonce }))
}

async fn siwe_login(
    State(state): State<AccessState>,
    ext: Extensions,
    body: Result<Json<SiweLogin>, JsonRejection>,
) -> Response {
    let s = &state.0;
    let ip = client_ip(&ext);
    if let Err(e) = s.check_rate(ip, "siwe") {
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
        let issued = s
            .siwe_nonces
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(&msg.nonce);
        if issued.is_none_or(|at| at.elapsed() >= SIWE_NONCE_TTL) {
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
        let mut sessions = s.sessions.lock().unwrap_or_else(|p| p.into_inner());
        let now_s = now_secs();
        sessions.retain(|_, sess| sess.expires > now_s);
        sessions.insert(
            token.clone(),
            Session {
                address: signer,
                expires,
            },
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
            s.refuse(&fail, entry);
            fail.err.into_response()
        }
    }
}

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
    fn finish(&self, mut entry: AuditEntry, result: Result<Response, Fail>) -> Response {
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
                self.refuse(&fail, entry);
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
    let ip = client_ip(&ext);
    if let Err(e) = s.check_rate(ip, "content") {
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
        let cid = match version {
            None => content.latest(),
            Some(n) => content.versions.get(n as usize).ok_or_else(|| {
                ApiError::not_found(
                    "no_such_version",
                    format!(
                        "asset {asset} has no version {n}: it has versions 0 to {}",
                        content.versions.len() - 1
                    ),
                )
            })?,
        };
        let mut verified = None;
        let key = if content.encrypted {
            let account = reader(s, &headers, asset, &mut entry)?;
            verified = Some(account);
            let charge = |err: ApiError| Fail {
                err,
                verified: Some(account),
            };
            let key = s.publisher_key(asset, &content).map_err(charge)?;
            s.require_license(asset, account).await.map_err(charge)?;
            Some(key)
        } else {
            None
        };
        stream(s, &headers, cid, &path, key, verified).await
    }
    .await;
    s.finish(entry, result)
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
    let ip = client_ip(&ext);
    if let Err(e) = s.check_rate(ip, "content") {
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
    s.finish(entry, result)
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
