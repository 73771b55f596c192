//! [`AccessConfig`]: how the access gateway is set up (its files, chain, public URL, limits and bounds).

use std::path::PathBuf;
use std::time::Duration;

use ipnet::IpNet;

use crate::eip712::normalize_gateway;

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
