//! What the node accepts to store, from whom, and for how long nobody needs to reference it.
//!
//! Every upload (`POST /api/car`, `/api/publish`, `/api/propose`) is signed by an account (an EIP-712
//! `UploadRequest` or a Sign-In with Ethereum session: [`scal3ml_access::Gateway::authorize_upload`]) and
//! counted against that account and against the client's address (IPv6 per /64):
//!
//! - uploads (and comments) per hour, a token bucket ([`scal3ml_access::limit::FailureLimiter`] charging one per
//!   request);
//! - bytes nobody references yet, per account and per address (`pending_per_client`), and in all
//!   (`max_pending`), counted as the body streams in, so a refusal comes before the limit is passed;
//! - the size of one request (`max_request`, `--max-upload`).
//!
//! A stored upload's roots go into a small table (`uploads.sqlite`: root, bytes, account, address, time). A
//! periodic [`sweep`] looks each up in the catalog: a root a chain event names (content, card, description,
//! report) is referenced: its bytes stop counting, and only now is it handed on to `--ipfs-api` and the pinning
//! service. A root still unreferenced after the grace period (`--upload-grace`) is unpinned and its blocks
//! collected. So content nobody publishes never leaves the node and never stays.

use crate::api::AppState;
use alloy::primitives::Address;
use axum::{
    body::Body,
    extract::{Request, State},
    http::{StatusCode, header},
    middleware::Next,
    response::{IntoResponse, Response},
};
use futures_util::StreamExt as _;
use rusqlite::{Connection, params};
use scal3ml_access::{limit::FailureLimiter, upload::Uploader};
use scal3ml_api::ApiError;
use scal3ml_store::{Cid, PinStore as _};
use std::{
    collections::HashMap,
    net::IpAddr,
    path::Path,
    str::FromStr as _,
    sync::{
        Arc, Mutex,
        atomic::{AtomicBool, AtomicU64, Ordering},
    },
    time::Duration,
};
use tokio::sync::{OwnedRwLockReadGuard, RwLock};

/// The most rows the pending table holds; past it uploads wait (429) for the sweep.
const MAX_PENDING_ROWS: u64 = 100_000;

/// The node's upload limits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UploadLimits {
    /// The largest request body, in bytes (`--max-upload`).
    pub max_request: u64,
    /// How long an upload may stay unreferenced before it is collected (`--upload-grace`).
    pub grace: Duration,
    /// Unreferenced bytes the node holds at most, from everyone together (`--max-pending`).
    pub max_pending: u64,
    /// Unreferenced bytes per account and per client address (`--pending-per-client`).
    pub pending_per_client: u64,
    /// Uploads and comments per hour per account and per client address (`--uploads-per-hour`).
    pub per_hour: u32,
}

impl Default for UploadLimits {
    fn default() -> Self {
        Self {
            max_request: 4 << 30,
            grace: Duration::from_secs(24 * 3600),
            max_pending: 8 << 30,
            pending_per_client: 4 << 30,
            per_hour: 600,
        }
    }
}

/// Why the upload table could not be opened or written.
#[derive(Debug, thiserror::Error)]
#[error("the upload table at {path}: {source}")]
pub(crate) struct UploadsError {
    path: String,
    source: rusqlite::Error,
}

/// Unreferenced bytes: in all, and per account and per address key.
#[derive(Debug, Default)]
struct Ledger {
    total: u64,
    by: HashMap<String, u64>,
}

impl Ledger {
    fn add(&mut self, keys: &[String], n: u64) {
        self.total += n;
        for k in keys {
            *self.by.entry(k.clone()).or_default() += n;
        }
    }

    fn release(&mut self, keys: &[String], n: u64) {
        self.total = self.total.saturating_sub(n);
        for k in keys {
            if let Some(v) = self.by.get_mut(k) {
                *v = v.saturating_sub(n);
                if *v == 0 {
                    self.by.remove(k);
                }
            }
        }
    }
}

/// The node's uploads: limits, the pending table, and the lock that keeps garbage collection away from an
/// upload whose blocks are written but not pinned yet.
pub(crate) struct Uploads {
    limits: UploadLimits,
    conn: Arc<Mutex<Connection>>,
    path: Arc<str>,
    ledger: Mutex<Ledger>,
    counts: FailureLimiter,
    gc: Arc<RwLock<()>>,
    /// Blocks of a refused or failed upload are in the store unpinned: the next sweep collects them.
    dirty: AtomicBool,
    /// When the store last collected its garbage: at most once per [`gc_every`], however often uploads fail.
    last_gc: Mutex<Option<std::time::Instant>>,
}

/// One admitted upload: who, what it may still take, and what it took.
pub(crate) struct Ticket {
    pub(crate) uploader: Uploader,
    keys: Vec<String>,
    bytes: AtomicU64,
    /// The limit the body ran into, answered instead of whatever the handler made of the cut-off body.
    hit: Mutex<Option<ApiError>>,
    committed: AtomicBool,
    _gc: OwnedRwLockReadGuard<()>,
}

/// The limit keys of an uploader: its account, and its address (an IPv6 address by its /64, which one client
/// usually holds whole).
fn keys_of(account: Address, ip: Option<IpAddr>) -> Vec<String> {
    let mut keys = vec![format!("account:{account}")];
    match ip {
        Some(IpAddr::V4(v4)) => keys.push(format!("ip:{v4}")),
        Some(IpAddr::V6(v6)) => match v6.to_ipv4_mapped() {
            Some(v4) => keys.push(format!("ip:{v4}")),
            None => {
                let s = v6.segments();
                keys.push(format!(
                    "ip:{:x}:{:x}:{:x}:{:x}::/64",
                    s[0], s[1], s[2], s[3]
                ));
            }
        },
        None => {}
    }
    keys
}

fn human(bytes: u64) -> String {
    crate::web::format::size(bytes)
}

impl Uploads {
    /// Opens (creating) the table in `path` and counts what it holds.
    pub(crate) fn open(path: &Path, limits: UploadLimits) -> Result<Self, UploadsError> {
        let shown: Arc<str> = path.display().to_string().into();
        let err = |source| UploadsError {
            path: shown.to_string(),
            source,
        };
        let conn = Connection::open(path).map_err(err)?;
        conn.busy_timeout(Duration::from_secs(10)).map_err(err)?;
        conn.pragma_update(None, "journal_mode", "WAL")
            .map_err(err)?;
        conn.execute_batch(
            "CREATE TABLE IF NOT EXISTS pending (
                root TEXT PRIMARY KEY,
                bytes INTEGER NOT NULL,
                account TEXT NOT NULL,
                client TEXT,
                at INTEGER NOT NULL,
                referenced INTEGER NOT NULL DEFAULT 0
            );",
        )
        .map_err(err)?;
        let mut ledger = Ledger::default();
        {
            let mut stmt = conn
                .prepare("SELECT bytes, account, client FROM pending WHERE referenced = 0")
                .map_err(err)?;
            let rows = stmt
                .query_map([], |r| {
                    Ok((
                        r.get::<_, i64>(0)?,
                        r.get::<_, String>(1)?,
                        r.get::<_, Option<String>>(2)?,
                    ))
                })
                .map_err(err)?;
            for row in rows {
                let (bytes, account, client) = row.map_err(err)?;
                let mut keys = vec![account];
                keys.extend(client);
                ledger.add(&keys, bytes.max(0) as u64);
            }
        }
        Ok(Self {
            limits,
            conn: Arc::new(Mutex::new(conn)),
            path: shown,
            ledger: Mutex::new(ledger),
            counts: FailureLimiter::with_window(limits.per_hour, Duration::from_secs(3600)),
            gc: Arc::new(RwLock::new(())),
            dirty: AtomicBool::new(false),
            last_gc: Mutex::new(None),
        })
    }

    /// The limits.
    pub(crate) fn limits(&self) -> &UploadLimits {
        &self.limits
    }

    async fn with<T: Send + 'static>(
        &self,
        f: impl FnOnce(&Connection) -> rusqlite::Result<T> + Send + 'static,
    ) -> Result<T, ApiError> {
        let (conn, path) = (self.conn.clone(), self.path.clone());
        tokio::task::spawn_blocking(move || {
            let conn = conn.lock().unwrap_or_else(|p| p.into_inner());
            f(&conn).map_err(|source| UploadsError {
                path: path.to_string(),
                source,
            })
        })
        .await
        .map_err(|e| ApiError::internal(format!("the upload table task failed: {e}")))?
        .map_err(|e| ApiError::internal(e.to_string()))
    }

    /// Charges one write (an upload or a comment) to the account and the address; 429 when either has none
    /// left this hour.
    pub(crate) fn count(&self, account: Address, ip: Option<IpAddr>) -> Result<(), ApiError> {
        let keys = keys_of(account, ip);
        self.counts.check(&keys).map_err(|wait| {
            ApiError::rate_limited(
                wait,
                format!(
                    "account {account} or this address sent more than {} uploads and comments in the last hour, \
                     this node's limit (--uploads-per-hour): wait {wait} s and try again",
                    self.limits.per_hour
                ),
            )
            .with_code("too_many_uploads")
        })?;
        self.counts.fail(&keys);
        Ok(())
    }

    /// Admits an upload by `uploader` whose body declares `length` bytes (if it does): counts it, checks what
    /// fits, and holds off garbage collection until the ticket is dropped.
    async fn admit(
        &self,
        uploader: Uploader,
        length: Option<u64>,
    ) -> Result<Arc<Ticket>, ApiError> {
        if let Some(n) = length
            && n > self.limits.max_request
        {
            return Err(too_large(n, self.limits.max_request));
        }
        self.count(uploader.account, uploader.ip)?;
        let rows: u64 = self
            .with(|c| c.query_row("SELECT count(*) FROM pending", [], |r| r.get(0)))
            .await?;
        if rows >= MAX_PENDING_ROWS {
            return Err(ApiError::rate_limited(
                600,
                format!(
                    "this node holds {rows} uploads nobody has published yet, as many as it keeps: try again once \
                     they are published or collected"
                ),
            )
            .with_code("pending_full"));
        }
        let keys = keys_of(uploader.account, uploader.ip);
        if let Some(n) = length {
            self.fits(&keys, n)?;
        }
        Ok(Arc::new(Ticket {
            uploader,
            keys,
            bytes: AtomicU64::new(0),
            hit: Mutex::new(None),
            committed: AtomicBool::new(false),
            _gc: self.gc.clone().read_owned().await,
        }))
    }

    /// Whether `n` more unreferenced bytes fit under the global cap and each key's quota; the refusal names the
    /// limit.
    fn fits(&self, keys: &[String], n: u64) -> Result<(), ApiError> {
        let ledger = self.ledger.lock().unwrap_or_else(|p| p.into_inner());
        self.fits_in(&ledger, keys, n)
    }

    fn fits_in(&self, ledger: &Ledger, keys: &[String], n: u64) -> Result<(), ApiError> {
        let grace = crate::web::format::duration(self.limits.grace.as_secs());
        if ledger.total + n > self.limits.max_pending {
            return Err(ApiError::rate_limited(
                60,
                format!(
                    "this node holds {} of uploads nobody has published yet and takes at most {} (--max-pending): \
                     try again later; unpublished uploads are dropped after {grace}",
                    human(ledger.total),
                    human(self.limits.max_pending)
                ),
            )
            .with_code("pending_cap"));
        }
        for key in keys {
            let held = ledger.by.get(key).copied().unwrap_or(0);
            if held + n > self.limits.pending_per_client {
                let who = match key.split_once(':') {
                    Some(("account", a)) => format!("account {a}"),
                    _ => "this address".to_string(),
                };
                return Err(ApiError::rate_limited(
                    60,
                    format!(
                        "{who} has {} of uploads nobody has published yet, and this upload would pass the {} each \
                         may hold (--pending-per-client): publish (or propose) what you uploaded first, or wait \
                         until it is dropped ({grace} after upload)",
                        human(held),
                        human(self.limits.pending_per_client)
                    ),
                )
                .with_code("upload_quota"));
            }
        }
        Ok(())
    }

    /// Takes `n` more body bytes of `ticket`, or records the limit they pass.
    fn charge(&self, ticket: &Ticket, n: u64) -> Result<(), ApiError> {
        let taken = ticket.bytes.load(Ordering::Relaxed);
        let result = if taken + n > self.limits.max_request {
            Err(too_large(taken + n, self.limits.max_request))
        } else {
            let mut ledger = self.ledger.lock().unwrap_or_else(|p| p.into_inner());
            self.fits_in(&ledger, &ticket.keys, n).map(|()| {
                ledger.add(&ticket.keys, n);
                ticket.bytes.fetch_add(n, Ordering::Relaxed);
            })
        };
        if let Err(e) = &result {
            *ticket.hit.lock().unwrap_or_else(|p| p.into_inner()) = Some(e.clone());
        }
        result
    }

    /// Records the roots a ticket's upload stored and pinned, its bytes spread over them. `fresh` says, per
    /// root, whether it was not pinned before this upload: a root the node already kept (published content, a
    /// comment, someone's pending upload) gets no row, so an upload cannot make the node drop it.
    pub(crate) async fn commit(
        &self,
        ticket: &Ticket,
        roots: &[(Cid, bool)],
    ) -> Result<(), ApiError> {
        ticket.committed.store(true, Ordering::Relaxed);
        let total = ticket.bytes.load(Ordering::Relaxed);
        let fresh: Vec<Cid> = roots.iter().filter(|(_, f)| *f).map(|(c, _)| *c).collect();
        let n = fresh.len().max(1) as u64;
        let at = scal3ml_primitives::clock::now_secs() as i64;
        let account = ticket.keys[0].clone();
        let client = ticket.keys.get(1).cloned();
        let rows: Vec<(String, u64)> = fresh
            .iter()
            .enumerate()
            .map(|(i, c)| {
                (
                    c.to_string(),
                    total / n + if i == 0 { total % n } else { 0 },
                )
            })
            .collect();
        let inserted = self
            .with(move |c| {
                let mut kept = 0u64;
                for (root, bytes) in rows {
                    kept += bytes
                        * c.execute(
                            "INSERT OR IGNORE INTO pending (root, bytes, account, client, at) VALUES (?1, ?2, ?3, ?4, ?5)",
                            params![root, bytes as i64, account, client, at],
                        )? as u64;
                }
                Ok(kept)
            })
            .await?;
        let mut ledger = self.ledger.lock().unwrap_or_else(|p| p.into_inner());
        ledger.release(&ticket.keys, total - inserted.min(total));
        Ok(())
    }

    /// Ends a ticket: bytes of an upload that stored nothing stop counting, and its blocks are left for the
    /// next collection.
    fn finish(&self, ticket: &Ticket) {
        if !ticket.committed.load(Ordering::Relaxed) {
            let bytes = ticket.bytes.load(Ordering::Relaxed);
            self.ledger
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .release(&ticket.keys, bytes);
            if bytes > 0 {
                self.dirty.store(true, Ordering::Relaxed);
            }
        }
    }

    /// Takes `root` out of the table: the node keeps it for another reason now (a signed document stored
    /// under that CID), so no sweep may unpin it.
    pub(crate) async fn keep(&self, root: &Cid) -> Result<(), ApiError> {
        let r = root.to_string();
        let row: Option<(i64, String, Option<String>, bool)> = self
            .with(move |c| {
                use rusqlite::OptionalExtension as _;
                let row = c
                    .query_row(
                        "SELECT bytes, account, client, referenced FROM pending WHERE root = ?1",
                        params![r],
                        |x| Ok((x.get(0)?, x.get(1)?, x.get(2)?, x.get(3)?)),
                    )
                    .optional()?;
                c.execute("DELETE FROM pending WHERE root = ?1", params![r])?;
                Ok(row)
            })
            .await?;
        if let Some((bytes, account, client, false)) = row {
            let mut keys = vec![account];
            keys.extend(client);
            self.ledger
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .release(&keys, bytes.max(0) as u64);
        }
        Ok(())
    }

    /// A guard that keeps garbage collection away while blocks are written and pinned outside an upload (a
    /// comment).
    pub(crate) async fn writing(&self) -> OwnedRwLockReadGuard<()> {
        self.gc.clone().read_owned().await
    }

    /// Unreferenced bytes held now, in all.
    #[cfg(test)]
    fn pending_bytes(&self) -> u64 {
        self.ledger.lock().unwrap_or_else(|p| p.into_inner()).total
    }
}

fn too_large(n: u64, max: u64) -> ApiError {
    ApiError::new(
        StatusCode::PAYLOAD_TOO_LARGE,
        "upload_too_large",
        format!(
            "this upload is {} or more, larger than the {} this node takes in one request (--max-upload): \
             split it into several uploads, or ask the node's operator",
            human(n),
            human(max)
        ),
    )
}

/// The middleware in front of an upload route (`action`: `car`, `publish`, `propose`): the signature, the
/// counts, then the body metered against every limit as it streams. The handler finds the [`Ticket`] among the
/// request's extensions and [`Uploads::commit`]s what it stored.
pub(crate) async fn guard(
    State((state, action)): State<(Arc<AppState>, &'static str)>,
    request: Request,
    next: Next,
) -> Response {
    let (parts, body) = request.into_parts();
    let uploader = match state
        .access
        .authorize_upload(&parts.extensions, &parts.headers, action)
    {
        Ok(u) => u,
        Err(e) => return e.into_response(),
    };
    let length = parts
        .headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    let ticket = match state.uploads.admit(uploader, length).await {
        Ok(t) => t,
        Err(e) => return e.into_response(),
    };
    let metered = {
        let (state, ticket) = (state.clone(), ticket.clone());
        body.into_data_stream().map(move |chunk| {
            let chunk = chunk.map_err(axum::BoxError::from)?;
            state
                .uploads
                .charge(&ticket, chunk.len() as u64)
                .map_err(|e| axum::BoxError::from(e.message))?;
            Ok::<_, axum::BoxError>(chunk)
        })
    };
    let mut request = Request::from_parts(parts, Body::from_stream(metered));
    request.extensions_mut().insert(ticket.clone());
    let response = next.run(request).await;
    let hit = ticket.hit.lock().unwrap_or_else(|p| p.into_inner()).take();
    state.uploads.finish(&ticket);
    match hit {
        Some(e) if !response.status().is_success() => e.into_response(),
        _ => response,
    }
}

/// Each root with whether the store does not pin it yet: asked before an upload pins its roots, so that
/// [`Uploads::commit`] adds rows only for what the upload brought.
pub(crate) async fn not_pinned(
    state: &AppState,
    roots: &[Cid],
) -> Result<Vec<(Cid, bool)>, ApiError> {
    let pins: std::collections::HashSet<Cid> = state
        .store
        .pins()
        .await
        .map_err(|e| ApiError::internal(format!("listing the pins: {e}")))?
        .into_iter()
        .map(|(c, _)| c.to_v1())
        .collect();
    Ok(roots
        .iter()
        .map(|r| (*r, !pins.contains(&r.to_v1())))
        .collect())
}

/// Whether the node keeps `cid` for a reason other than an upload: a chain event the catalog knows names it.
async fn referenced(state: &AppState, cid: &Cid) -> Result<bool, ApiError> {
    let forms = [cid.to_bytes(), cid.to_v1().to_bytes()];
    crate::api::query(state, move |i| {
        for form in &forms {
            if i.references(form)? {
                return Ok(true);
            }
        }
        Ok(false)
    })
    .await
}

/// What one sweep did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Swept {
    /// Roots found referenced and handed on.
    pub(crate) forwarded: u64,
    /// Roots unpinned after the grace period.
    pub(crate) collected: u64,
    /// Bytes the garbage collection freed.
    pub(crate) freed: u64,
}

/// One pass over the pending table: referenced roots are handed on (`--ipfs-api`, `--pinning-service`) and
/// leave the table; unreferenced ones past the grace period are unpinned; then, if anything was unpinned or an
/// upload failed, the store collects its garbage.
pub(crate) async fn sweep(state: &AppState) -> Result<Swept, ApiError> {
    let uploads = &state.uploads;
    let rows: Vec<(String, i64, String, Option<String>, i64, bool)> = uploads
        .with(|c| {
            c.prepare(
                "SELECT root, bytes, account, client, at, referenced FROM pending ORDER BY at",
            )?
            .query_map([], |r| {
                Ok((
                    r.get(0)?,
                    r.get(1)?,
                    r.get(2)?,
                    r.get(3)?,
                    r.get(4)?,
                    r.get(5)?,
                ))
            })?
            .collect()
        })
        .await?;
    let now = scal3ml_primitives::clock::now_secs() as i64;
    let grace = uploads.limits.grace.as_secs() as i64;
    let mut swept = Swept::default();
    for (root, bytes, account, client, at, was_referenced) in rows {
        let mut keys = vec![account];
        keys.extend(client);
        let bytes = bytes.max(0) as u64;
        let Ok(cid) = Cid::from_str(&root) else {
            let r = root.clone();
            uploads
                .with(move |c| c.execute("DELETE FROM pending WHERE root = ?1", params![r]))
                .await?;
            continue;
        };
        if was_referenced || referenced(state, &cid).await? {
            if !was_referenced {
                let r = root.clone();
                uploads
                    .with(move |c| {
                        c.execute(
                            "UPDATE pending SET referenced = 1 WHERE root = ?1",
                            params![r],
                        )
                    })
                    .await?;
                uploads
                    .ledger
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .release(&keys, bytes);
            }
            match crate::api::hand_on(state, &[cid]).await {
                Ok(_) => {
                    let r = root.clone();
                    uploads
                        .with(move |c| c.execute("DELETE FROM pending WHERE root = ?1", params![r]))
                        .await?;
                    swept.forwarded += 1;
                }
                Err(e) => tracing::warn!(target: "scal3ml::uploads", %root, message = %e.message,
                    "could not hand a published upload on; trying again at the next sweep"),
            }
        } else if now - at >= grace {
            let _writing = uploads.gc.clone().write_owned().await;
            match state.store.unpin(&cid).await {
                Ok(()) | Err(scal3ml_store::StoreError::InvalidArgument { .. }) => {}
                Err(e) => return Err(ApiError::internal(format!("unpinning {root}: {e}"))),
            }
            let r = root.clone();
            uploads
                .with(move |c| c.execute("DELETE FROM pending WHERE root = ?1", params![r]))
                .await?;
            uploads
                .ledger
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .release(&keys, bytes);
            uploads.dirty.store(true, Ordering::Relaxed);
            swept.collected += 1;
            tracing::info!(target: "scal3ml::uploads", %root, bytes, "collected an upload nobody published");
        }
    }
    let due = uploads
        .last_gc
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .is_none_or(|at| at.elapsed() >= gc_every(&uploads.limits));
    if due && uploads.dirty.swap(false, Ordering::Relaxed) {
        *uploads.last_gc.lock().unwrap_or_else(|p| p.into_inner()) =
            Some(std::time::Instant::now());
        let _writing = uploads.gc.clone().write_owned().await;
        let report = state
            .store
            .gc()
            .await
            .map_err(|e| ApiError::internal(format!("collecting unpinned blocks: {e}")))?;
        swept.freed = report.removed_bytes;
    }
    Ok(swept)
}

/// How often garbage collection may run at most: it walks every pinned DAG, so failed uploads must not make
/// it run at every sweep.
fn gc_every(limits: &UploadLimits) -> Duration {
    limits.grace.min(Duration::from_secs(60))
}

/// How often the sweep runs: often enough that published uploads are handed on within seconds, and
/// that a short grace period (tests) is honoured.
pub(crate) fn sweep_interval(limits: &UploadLimits) -> Duration {
    (limits.grace / 2).clamp(Duration::from_millis(200), Duration::from_secs(5))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn uploads(dir: &Path, limits: UploadLimits) -> Uploads {
        Uploads::open(&dir.join("uploads.sqlite"), limits).unwrap()
    }

    fn uploader(byte: u8, ip: &str) -> Uploader {
        Uploader {
            account: Address::repeat_byte(byte),
            ip: Some(ip.parse().unwrap()),
        }
    }

    #[tokio::test]
    async fn the_global_cap_holds_across_fresh_accounts_and_addresses() {
        let dir = tempfile::tempdir().unwrap();
        let u = uploads(
            dir.path(),
            UploadLimits {
                max_pending: 1000,
                pending_per_client: 400,
                ..Default::default()
            },
        );
        let mut held = Vec::new();
        for i in 0..10u8 {
            let t = u
                .admit(uploader(i + 1, &format!("10.0.0.{i}")), None)
                .await
                .unwrap();
            let r = u.charge(&t, 300);
            if i < 3 {
                r.unwrap();
                held.push(t);
            } else {
                let e = r.unwrap_err();
                assert_eq!(
                    (e.status.as_u16(), e.code.as_str()),
                    (429, "pending_cap"),
                    "{e:?}"
                );
                u.finish(&t);
            }
        }
        assert_eq!(u.pending_bytes(), 900);
        // What an upload that stored nothing took stops counting.
        drop(held);
    }

    #[tokio::test]
    async fn one_client_is_held_to_its_quota_and_one_ipv6_prefix_is_one_client() {
        let dir = tempfile::tempdir().unwrap();
        let u = uploads(
            dir.path(),
            UploadLimits {
                pending_per_client: 500,
                ..Default::default()
            },
        );
        let a = u.admit(uploader(1, "2001:db8::1"), None).await.unwrap();
        u.charge(&a, 400).unwrap();
        // Another fresh account from the same /64.
        let b = u.admit(uploader(2, "2001:db8::ffff"), None).await.unwrap();
        let e = u.charge(&b, 200).unwrap_err();
        assert_eq!(e.code, "upload_quota");
        assert!(e.message.contains("this address"), "{}", e.message);
        u.finish(&b);
        // From another /64 it fits.
        let c = u.admit(uploader(3, "2001:db8:0:1::1"), None).await.unwrap();
        u.charge(&c, 200).unwrap();
    }

    #[tokio::test]
    async fn a_declared_length_past_the_request_limit_is_refused_before_reading() {
        let dir = tempfile::tempdir().unwrap();
        let u = uploads(
            dir.path(),
            UploadLimits {
                max_request: 100,
                ..Default::default()
            },
        );
        let Err(e) = u.admit(uploader(1, "10.0.0.1"), Some(101)).await else {
            panic!("admitted")
        };
        assert_eq!(
            (e.status.as_u16(), e.code.as_str()),
            (413, "upload_too_large")
        );
        let t = u.admit(uploader(1, "10.0.0.1"), None).await.unwrap();
        u.charge(&t, 100).unwrap();
        assert_eq!(u.charge(&t, 1).unwrap_err().status.as_u16(), 413);
    }

    #[tokio::test]
    async fn uploads_per_hour_are_counted_per_account_and_address() {
        let dir = tempfile::tempdir().unwrap();
        let u = uploads(
            dir.path(),
            UploadLimits {
                per_hour: 2,
                ..Default::default()
            },
        );
        for i in 0..2u8 {
            drop(u.admit(uploader(i + 1, "10.0.0.1"), None).await.unwrap());
        }
        let Err(e) = u.admit(uploader(9, "10.0.0.1"), None).await else {
            panic!("a fresh key from the same address was admitted")
        };
        assert_eq!(
            (e.status.as_u16(), e.code.as_str()),
            (429, "too_many_uploads")
        );
    }

    #[tokio::test]
    async fn committed_bytes_survive_a_restart() {
        let dir = tempfile::tempdir().unwrap();
        let limits = UploadLimits::default();
        {
            let u = uploads(dir.path(), limits);
            let t = u.admit(uploader(1, "10.0.0.1"), None).await.unwrap();
            u.charge(&t, 1234).unwrap();
            let root: Cid = "bafkreigh2akiscaildcqabsyg3dfr6chu3fgpregiymsck7e7aqa4s52zy"
                .parse()
                .unwrap();
            u.commit(&t, &[(root, true)]).await.unwrap();
            u.finish(&t);
            assert_eq!(u.pending_bytes(), 1234);
        }
        let u = uploads(dir.path(), limits);
        assert_eq!(u.pending_bytes(), 1234);
        let e = u
            .fits(
                &keys_of(Address::repeat_byte(1), None),
                limits.pending_per_client,
            )
            .unwrap_err();
        assert_eq!(e.code, "upload_quota");
    }
}
