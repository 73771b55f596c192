//! [`Gateway`]: the access gateway's rules, callable without HTTP. Each operation is one typed method: a key
//! deposit ([`Gateway::deposit`]), a key release ([`Gateway::release`]), Sign-In with Ethereum
//! ([`Gateway::siwe_nonce`], [`Gateway::login`], [`Gateway::logout`], [`Gateway::session`]), reads of an asset's
//! or a proposal's content ([`Gateway::read_content`], [`Gateway::read_proposal`]) and a proposal's key status
//! ([`Gateway::proposal_key_status`]). The routes in `server.rs` only extract, call one of these and map the
//! answer.
//!
//! Every allow or refuse decision goes through one function, [`Gateway::decide`]: it writes the audit line and
//! charges a refusal to the client's address (and to the account, once its signature verified), so refusals
//! are rate limited the same way everywhere. [`Gateway::admit`] turns a client away while its address has no
//! refusals left, through the same function.
//!
//! Split by concern: `deposit.rs` (deposits and the sweep of unpublished ones), `release.rs` (key release and
//! proposal key status), `session.rs` (SIWE nonces, sign-in, sessions), `read.rs` (who reads content, and the
//! bytes).

mod deposit;
mod read;
mod release;
mod session;

pub use deposit::SweepReport;
pub use read::{ContentRead, Credentials};

use std::net::IpAddr;
use std::sync::{Arc, Mutex};

use alloy_primitives::Address;
use axum::http::StatusCode;
use scal3ml_primitives::clock::now_secs;
use scal3ml_primitives::{AssetId, Cid};
use scal3ml_store::{BlockStore, crypt::FileKey};

use crate::audit::{AuditEntry, AuditLog};
use crate::bounded::BoundedMap;
use crate::config::AccessConfig;
use crate::content::KeyCheck;
use crate::eip712::{SignedAccessRequest, normalize_gateway};
use crate::error::{AccessError, AccessResult, ApiError};
use crate::keys::KeyVault;
use crate::license::{AssetContent, AssetDirectory, LicenseChecker, VersionContent};
use crate::limit::FailureLimiter;
use crate::nonces::{NonceBook, NonceUse};
use crate::sessions::SessionBook;

pub(crate) struct Inner {
    config: AccessConfig,
    vault: KeyVault,
    nonces: NonceBook,
    audit: AuditLog,
    limiter: FailureLimiter,
    licenses: Arc<dyn LicenseChecker>,
    directory: Arc<dyn AssetDirectory>,
    store: Arc<dyn BlockStore>,
    /// Signs issued SIWE nonces (drawn at start: nonces issued before a restart are refused).
    siwe_key: ring::hmac::Key,
    /// SIWE nonces used, until they would have expired anyway (Unix milliseconds).
    siwe_used: Mutex<BoundedMap<[u8; 32], ()>>,
    /// The signed-in sessions.
    sessions: SessionBook,
    /// The token of the node's own calls ([`crate::NODE_CALL_HEADER`]).
    node_call: String,
    /// When the last sweep of every pending deposit ran (Unix seconds), so a flood cannot make each deposit
    /// sweep.
    last_sweep: Mutex<u64>,
}

/// The access gateway: its files, its tables and the chain and catalog it asks; cheap to clone (the node's
/// routes share one).
#[derive(Clone)]
pub struct Gateway(pub(crate) Arc<Inner>);

impl std::fmt::Debug for Gateway {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Gateway")
            .field("config", &self.0.config)
            .field("vault", &self.0.vault)
            .finish_non_exhaustive()
    }
}

impl Gateway {
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
            sessions: SessionBook::new(max),
            node_call,
            last_sweep: Mutex::new(now_secs()),
        })))
    }

    /// The token the node sends in [`crate::NODE_CALL_HEADER`] when it calls this gateway itself (random per start;
    /// send it only to this gateway).
    pub fn node_call_token(&self) -> &str {
        &self.0.node_call
    }

    /// How many sessions are held.
    pub fn sessions(&self) -> usize {
        self.0.sessions.len()
    }

    /// How many used SIWE nonces are remembered.
    pub fn used_siwe_nonces(&self) -> usize {
        self.0
            .siwe_used
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .len()
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

/// Who is asking, for rate limits and the audit log.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Origin {
    /// A client at this address.
    Ip(IpAddr),
    /// The node itself, on a viewer's behalf (charged to no address).
    Node,
    /// The server does not pass the peer address on.
    Unknown,
}

impl Origin {
    /// The client's address, if known.
    pub fn ip(self) -> Option<IpAddr> {
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

/// What a decision is about: its name in the audit log, and the word an allowed one is logged with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Action {
    /// A key deposit.
    Deposit,
    /// A key release.
    Key,
    /// A sign-in.
    Siwe,
    /// An asset's content.
    Content,
    /// A proposal's content.
    Proposal,
    /// An upload to the node (only refusals are logged).
    Upload,
}

impl Action {
    fn name(self) -> &'static str {
        match self {
            Self::Deposit => "deposit",
            Self::Key => "key",
            Self::Siwe => "siwe",
            Self::Content => "content",
            Self::Proposal => "proposal",
            Self::Upload => "upload",
        }
    }

    /// The audit decision of an allowed request (`None`: not logged).
    fn allowed(self) -> Option<&'static str> {
        match self {
            Self::Deposit | Self::Siwe => Some("accept"),
            Self::Key | Self::Content | Self::Proposal => Some("release"),
            Self::Upload => None,
        }
    }
}

/// One decision in the making: what is asked, by whom (as far as known yet) and about what; its audit line.
pub(crate) struct Decision {
    origin: Origin,
    allowed: Option<&'static str>,
    entry: AuditEntry,
}

impl Decision {
    /// The account asking (as claimed, until its signature verifies).
    pub(crate) fn account(&mut self, account: Address) {
        self.entry.account = Some(account);
    }

    /// The asset asked about.
    pub(crate) fn asset(&mut self, asset: AssetId) {
        self.entry.asset = Some(asset.0);
    }

    /// The content CID asked about.
    pub(crate) fn cid(&mut self, cid: impl ToString) {
        self.entry.cid = Some(cid.to_string());
    }
}

/// A refusal on its way out: the error, and the account to charge if its signature verified.
pub(crate) struct Fail {
    pub(crate) err: ApiError,
    pub(crate) verified: Option<Address>,
}

impl Fail {
    /// A refusal charged to `account`, whose signature verified.
    pub(crate) fn charged(account: Address) -> impl Fn(ApiError) -> Self + Copy {
        move |err| Self {
            err,
            verified: Some(account),
        }
    }
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

impl Gateway {
    /// Starts a decision about `action` for a client at `origin`, turning the client away (429, audited) while
    /// its address has no refusals left.
    pub(crate) fn admit(&self, action: Action, origin: Origin) -> Result<Decision, ApiError> {
        let decision = Decision {
            origin,
            allowed: action.allowed(),
            entry: AuditEntry {
                action: action.name(),
                ip: origin.ip(),
                ..Default::default()
            },
        };
        match self.0.limiter.check(&ip_keys(origin)) {
            Ok(()) => Ok(decision),
            Err(wait) => self.decide(
                decision,
                Err(ApiError::rate_limited(
                    wait,
                    format!(
                        "too many refused requests from this address: wait {wait} s and try again"
                    ),
                )
                .into()),
            ),
        }
    }

    /// The one place a decision is made final: an allowed request is logged (`ok` for an account, `public`
    /// for content in the clear served to anyone); a refusal is charged to the client's address, and to the
    /// account if its signature verified (a 429 is not charged again), and logged with its code.
    pub(crate) fn decide<T>(
        &self,
        decision: Decision,
        result: Result<T, Fail>,
    ) -> Result<T, ApiError> {
        let Decision {
            origin,
            allowed,
            mut entry,
        } = decision;
        match result {
            Ok(answer) => {
                if let Some(word) = allowed {
                    entry.decision = word;
                    entry.reason = if entry.account.is_some() {
                        "ok"
                    } else {
                        "public"
                    }
                    .into();
                    self.0.audit.write(entry);
                }
                Ok(answer)
            }
            Err(fail) => {
                let mut keys = ip_keys(origin);
                if let Some(a) = fail.verified {
                    keys.push(format!("account:{a}"));
                }
                if fail.err.status != StatusCode::TOO_MANY_REQUESTS {
                    self.0.limiter.fail(&keys);
                }
                entry.decision = "refuse";
                entry.reason = fail.err.code.clone();
                tracing::info!(target: "access::release", code = %fail.err.code, account = ?entry.account, asset = ?entry.asset, "refused");
                self.0.audit.write(entry);
                Err(fail.err)
            }
        }
    }

    /// Refuses a request the route could not even read (a body or query that is not the route's shape): turned
    /// away first if the client is over its limit, else charged and logged like any refusal.
    pub(crate) fn reject(&self, action: Action, origin: Origin, err: ApiError) -> ApiError {
        match self.admit(action, origin) {
            Ok(decision) => self.decide::<()>(decision, Err(err.into())).unwrap_err(),
            Err(turned_away) => turned_away,
        }
    }
}

impl Inner {
    /// Refuses an account whose signature verified while it has no refusals left.
    pub(crate) fn check_account(&self, account: Address) -> Result<(), ApiError> {
        self.limiter
            .check(&[format!("account:{account}")])
            .map_err(|wait| {
                ApiError::rate_limited(
                    wait,
                    format!("too many refused requests for account {account}: wait {wait} s and try again"),
                )
            })
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
        self.use_nonce(req.account, req.nonce, req.expiry, "request")?;
        Ok(req.account)
    }

    /// Marks a released key as published (a chain event names it), so no sweep drops it.
    fn mark_published(self: &Arc<Self>, cid: &Cid, depositor: Address) {
        if !self.vault.is_pending(cid, depositor) {
            return;
        }
        let (inner, cid) = (self.clone(), *cid);
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
            && let Ok(KeyCheck::Opens) =
                crate::content::key_opens(self.store.as_ref(), &version.cid, &key).await
        {
            return Ok(key);
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
    async fn key_for(
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

    /// Spends a signed request's nonce; a refusal is charged to the account (its signature verified).
    pub(crate) fn use_nonce(
        &self,
        account: Address,
        nonce: alloy_primitives::B256,
        expiry: u64,
        what: &str,
    ) -> Result<(), Fail> {
        let err = match self.nonces.use_once(account, nonce, expiry)? {
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
}
