//! The IPFS Pinning Service API v0.1.1 served by our node, as an axum [`Router`] over a [`PinStore`] and a small
//! table of pin requests, so one Scal3ML node can pin for others.
//!
//! A request is `pinned` once every block of its DAG is in the store (the store then holds a recursive pin).
//! Until then it is `queued`, and it is checked again whenever it is read, so uploading the blocks (for example a
//! CAR import) completes it. If the request names origins that are trustless gateways (`https://host` URLs or
//! multiaddrs ending in `/http` or `/https`), the node fetches the DAG from them, verifying every block, and the
//! request becomes `pinned` or `failed` with the reason in `info.reason`.

use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use chrono::{DateTime, SecondsFormat, Utc};
use serde::{Deserialize, Serialize};

use super::api::{
    DEFAULT_LIMIT, Failure, FailureError, MAX_ADDRS, MAX_CID_FILTER, MAX_LIMIT, MAX_NAME_LEN, Pin,
    PinResults, PinStatus, Status, TextMatch,
};
use crate::cid::Cid;
use crate::error::StoreError;
use crate::gateway::client::GatewayClient;
use crate::store::{PinMode, PinStore};

/// The longest meta value a `GET /pins?meta=` filter may hold: request lines over 64 KiB never reach the API.
const MAX_META_QUERY_VALUE: usize = 1024;

/// How the pinning service is set up.
#[derive(Debug, Clone)]
pub struct PinningConfig {
    /// Bearer tokens accepted (at least one; requests without a listed token get 401).
    pub tokens: Vec<String>,
    /// Multiaddrs returned as `delegates` (where clients can reach this node).
    pub delegates: Vec<String>,
    /// Where the request table is kept across restarts; `None` keeps it in memory only.
    pub table_path: Option<PathBuf>,
    /// Fetch DAGs from origins that are trustless gateways.
    pub fetch_from_origins: bool,
}

impl PinningConfig {
    /// A service accepting `token`, announcing `delegate`, keeping its table in memory.
    pub fn new(token: impl Into<String>, delegate: impl Into<String>) -> Self {
        Self {
            tokens: vec![token.into()],
            delegates: vec![delegate.into()],
            table_path: None,
            fetch_from_origins: true,
        }
    }

    /// Keeps the request table in a JSON file at `path`.
    pub fn with_table_path(mut self, path: impl Into<PathBuf>) -> Self {
        self.table_path = Some(path.into());
        self
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct Record {
    seq: u64,
    created: DateTime<Utc>,
    status: Status,
    pin: Pin,
    #[serde(default)]
    info: BTreeMap<String, String>,
}

#[derive(Debug, Default, Serialize, Deserialize)]
struct Table {
    next_seq: u64,
    records: HashMap<String, Record>,
}

/// The service state behind the router.
pub struct PinningService {
    store: Arc<dyn PinStore>,
    config: PinningConfig,
    table: Mutex<Table>,
}

impl std::fmt::Debug for PinningService {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PinningService")
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

impl PinningService {
    /// A service pinning into `store`. Loads the request table from `config.table_path` if it exists.
    pub fn new(store: Arc<dyn PinStore>, config: PinningConfig) -> Result<Arc<Self>, StoreError> {
        let table = match &config.table_path {
            Some(path) if path.exists() => {
                let bytes = std::fs::read(path)
                    .map_err(|e| StoreError::io(format!("read {}", path.display()), e))?;
                serde_json::from_slice(&bytes).map_err(|e| {
                    StoreError::malformed(
                        "pin request table",
                        format!("{}: {e}; move it aside to start empty", path.display()),
                    )
                })?
            }
            _ => Table::default(),
        };
        Ok(Arc::new(Self {
            store,
            config,
            table: Mutex::new(table),
        }))
    }

    /// The axum router: `/pins` and `/pins/{requestid}`. Mount it where clients expect the service endpoint.
    pub fn router(self: Arc<Self>) -> Router {
        Router::new()
            .route("/pins", get(list_pins).post(add_pin))
            .route(
                "/pins/{requestid}",
                get(get_pin).post(replace_pin).delete(delete_pin),
            )
            .with_state(self)
    }

    fn status_of(&self, requestid: &str, record: &Record) -> PinStatus {
        PinStatus {
            requestid: requestid.to_owned(),
            status: record.status,
            created: record.created.to_rfc3339_opts(SecondsFormat::Millis, true),
            pin: record.pin.clone(),
            delegates: self.config.delegates.clone(),
            info: if record.info.is_empty() {
                None
            } else {
                Some(record.info.clone())
            },
        }
    }

    fn save(&self, table: &Table) -> Result<(), ApiError> {
        let Some(path) = &self.config.table_path else {
            return Ok(());
        };
        let json = serde_json::to_vec(table).map_err(|e| ApiError::internal(e.to_string()))?;
        let tmp = path.with_extension("tmp");
        std::fs::write(&tmp, json)
            .and_then(|()| std::fs::rename(&tmp, path))
            .map_err(|e| {
                ApiError::internal(format!(
                    "cannot save the pin table at {}: {e}",
                    path.display()
                ))
            })
    }

    /// Tries to complete a queued request: pins it if the whole DAG is present. Returns the new status.
    async fn refresh(&self, requestid: &str) -> Result<(), ApiError> {
        let cid = {
            let table = self.table.lock().expect("pin table lock");
            match table.records.get(requestid) {
                Some(record) if record.status == Status::Queued => {
                    record.pin.cid.parse::<Cid>().ok()
                }
                _ => None,
            }
        };
        let Some(cid) = cid else { return Ok(()) };
        match self.store.pin(&cid, PinMode::Recursive).await {
            Ok(()) => self.set_status(requestid, Status::Pinned, None),
            Err(StoreError::NotFound { .. }) => Ok(()),
            Err(e) => self.set_status(requestid, Status::Failed, Some(e.to_string())),
        }
    }

    fn set_status(
        &self,
        requestid: &str,
        status: Status,
        reason: Option<String>,
    ) -> Result<(), ApiError> {
        let mut table = self.table.lock().expect("pin table lock");
        if let Some(record) = table.records.get_mut(requestid) {
            record.status = status;
            if let Some(reason) = reason {
                record.info.insert("reason".into(), reason);
            }
        }
        self.save(&table)
    }

    async fn create(self: &Arc<Self>, pin: Pin) -> Result<PinStatus, ApiError> {
        let cid = validate_pin(&pin)?;
        let requestid = {
            let mut table = self.table.lock().expect("pin table lock");
            let requestid = new_request_id();
            let seq = table.next_seq;
            table.next_seq += 1;
            let record = Record {
                seq,
                created: Utc::now(),
                status: Status::Queued,
                pin: pin.clone(),
                info: BTreeMap::new(),
            };
            table.records.insert(requestid.clone(), record);
            self.save(&table)?;
            requestid
        };
        self.refresh(&requestid).await?;
        let gateways: Vec<String> = pin
            .origins
            .iter()
            .flatten()
            .filter_map(|o| gateway_url(o))
            .collect();
        let queued = self.lookup(&requestid)?.status == Status::Queued;
        if queued && self.config.fetch_from_origins && !gateways.is_empty() {
            self.set_status(&requestid, Status::Pinning, None)?;
            let service = Arc::clone(self);
            let id = requestid.clone();
            tokio::spawn(async move { service.fetch(&id, cid, gateways).await });
        }
        self.lookup(&requestid)
    }

    async fn fetch(&self, requestid: &str, cid: Cid, gateways: Vec<String>) {
        let mut errors = Vec::new();
        for url in gateways {
            let client = GatewayClient::new(&url);
            match client.fetch_dag(&cid, self.store.as_ref()).await {
                Ok(_) => match self.store.pin(&cid, PinMode::Recursive).await {
                    Ok(()) => {
                        let _ = self.set_status(requestid, Status::Pinned, None);
                        return;
                    }
                    Err(e) => errors.push(e.to_string()),
                },
                Err(e) => errors.push(e.to_string()),
            }
        }
        tracing::warn!(target: "store::pinning", requestid, %cid, ?errors, "pin from origins failed");
        let _ = self.set_status(requestid, Status::Failed, Some(errors.join("; ")));
    }

    fn lookup(&self, requestid: &str) -> Result<PinStatus, ApiError> {
        let table = self.table.lock().expect("pin table lock");
        table
            .records
            .get(requestid)
            .map(|record| self.status_of(requestid, record))
            .ok_or_else(|| ApiError::not_found(requestid))
    }

    async fn remove(&self, requestid: &str) -> Result<(), ApiError> {
        let (cid, still_wanted) = {
            let mut table = self.table.lock().expect("pin table lock");
            let record = table
                .records
                .remove(requestid)
                .ok_or_else(|| ApiError::not_found(requestid))?;
            self.save(&table)?;
            let still = table
                .records
                .values()
                .any(|r| r.pin.cid == record.pin.cid && r.status == Status::Pinned);
            (
                record
                    .pin
                    .cid
                    .parse::<Cid>()
                    .ok()
                    .filter(|_| record.status == Status::Pinned),
                still,
            )
        };
        if let (Some(cid), false) = (cid, still_wanted) {
            match self.store.unpin(&cid).await {
                Ok(()) | Err(StoreError::InvalidArgument { .. }) => {}
                Err(e) => return Err(ApiError::internal(e.to_string())),
            }
        }
        Ok(())
    }
}

/// Turns an origin into a gateway base URL, if it names one.
fn gateway_url(origin: &str) -> Option<String> {
    if origin.starts_with("http://") || origin.starts_with("https://") {
        return Some(origin.trim_end_matches('/').to_owned());
    }
    // /ip4/1.2.3.4/tcp/8080/http, /dns4/host/tcp/443/https, /ip6/::1/tcp/80/http
    let parts: Vec<&str> = origin.trim_start_matches('/').split('/').collect();
    if let [proto, host, "tcp", port, scheme @ ("http" | "https")] = parts.as_slice() {
        let host = match *proto {
            "ip6" => format!("[{host}]"),
            "ip4" | "dns" | "dns4" | "dns6" => (*host).to_owned(),
            _ => return None,
        };
        return Some(format!("{scheme}://{host}:{port}"));
    }
    None
}

fn new_request_id() -> String {
    let mut bytes = [0u8; 16];
    getrandom::getrandom(&mut bytes).expect("the OS random source works");
    const_hex::encode(bytes)
}

fn validate_pin(pin: &Pin) -> Result<Cid, ApiError> {
    let cid =
        crate::cid::parse(&pin.cid).map_err(|e| ApiError::bad_request(format!("pin.cid: {e}")))?;
    if let Some(name) = &pin.name
        && name.chars().count() > MAX_NAME_LEN
    {
        return Err(ApiError::bad_request(format!(
            "pin.name is longer than {MAX_NAME_LEN} characters"
        )));
    }
    if let Some(origins) = &pin.origins {
        if origins.len() > MAX_ADDRS {
            return Err(ApiError::bad_request(format!(
                "pin.origins lists more than {MAX_ADDRS} addresses"
            )));
        }
        let mut seen = std::collections::HashSet::new();
        if !origins.iter().all(|o| seen.insert(o)) {
            return Err(ApiError::bad_request(
                "pin.origins lists an address twice".into(),
            ));
        }
    }
    if let Some(meta) = &pin.meta
        && meta.len() > MAX_LIMIT
    {
        return Err(ApiError::bad_request(format!(
            "pin.meta has more than {MAX_LIMIT} entries"
        )));
    }
    Ok(cid)
}

/// An error answered as the API's `Failure` body.
#[derive(Debug)]
pub(crate) struct ApiError {
    status: StatusCode,
    reason: &'static str,
    details: String,
}

impl ApiError {
    fn bad_request(details: String) -> Self {
        Self {
            status: StatusCode::BAD_REQUEST,
            reason: "BAD_REQUEST",
            details,
        }
    }

    fn not_found(requestid: &str) -> Self {
        Self {
            status: StatusCode::NOT_FOUND,
            reason: "NOT_FOUND",
            details: format!("no pin request {requestid:?}; GET /pins lists the existing ones"),
        }
    }

    fn unauthorized() -> Self {
        Self {
            status: StatusCode::UNAUTHORIZED,
            reason: "UNAUTHORIZED",
            details: "send a valid access token as `Authorization: Bearer <token>`".into(),
        }
    }

    fn internal(details: String) -> Self {
        Self {
            status: StatusCode::INTERNAL_SERVER_ERROR,
            reason: "INTERNAL_SERVER_ERROR",
            details,
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = Failure {
            error: FailureError {
                reason: self.reason.into(),
                details: Some(self.details),
            },
        };
        (self.status, axum::Json(body)).into_response()
    }
}

type Svc = State<Arc<PinningService>>;

fn authorize(service: &PinningService, headers: &HeaderMap) -> Result<(), ApiError> {
    let token = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| {
            v.strip_prefix("Bearer ")
                .or_else(|| v.strip_prefix("bearer "))
        })
        .map(str::trim);
    match token {
        Some(token) if service.config.tokens.iter().any(|t| t == token) => Ok(()),
        _ => Err(ApiError::unauthorized()),
    }
}

fn parse_pin(body: &[u8]) -> Result<Pin, ApiError> {
    serde_json::from_slice(body)
        .map_err(|e| ApiError::bad_request(format!("the body is not a Pin object: {e}")))
}

/// A body axum could not read (over its 2 MiB limit, or cut off) is a bad request in the API's own
/// `Failure` shape, not axum's plain-text rejection.
fn read_body(body: Result<Bytes, BytesRejection>) -> Result<Bytes, ApiError> {
    body.map_err(|e| {
        ApiError::bad_request(format!(
            "request body: {e}; a pin request is a small JSON object"
        ))
    })
}

async fn add_pin(
    State(service): Svc,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    authorize(&service, &headers)?;
    let status = service.create(parse_pin(&read_body(body)?)?).await?;
    Ok((StatusCode::ACCEPTED, axum::Json(status)).into_response())
}

async fn get_pin(
    State(service): Svc,
    headers: HeaderMap,
    Path(requestid): Path<String>,
) -> Result<Response, ApiError> {
    authorize(&service, &headers)?;
    service.lookup(&requestid)?;
    service.refresh(&requestid).await?;
    Ok(axum::Json(service.lookup(&requestid)?).into_response())
}

async fn replace_pin(
    State(service): Svc,
    headers: HeaderMap,
    Path(requestid): Path<String>,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    authorize(&service, &headers)?;
    service.lookup(&requestid)?;
    let pin = parse_pin(&read_body(body)?)?;
    validate_pin(&pin)?;
    let status = service.create(pin).await?;
    service.remove(&requestid).await?;
    Ok((StatusCode::ACCEPTED, axum::Json(status)).into_response())
}

async fn delete_pin(
    State(service): Svc,
    headers: HeaderMap,
    Path(requestid): Path<String>,
) -> Result<Response, ApiError> {
    authorize(&service, &headers)?;
    service.remove(&requestid).await?;
    Ok(StatusCode::ACCEPTED.into_response())
}

struct Filter {
    cids: Vec<String>,
    name: Option<String>,
    text_match: TextMatch,
    statuses: Vec<Status>,
    before: Option<DateTime<Utc>>,
    after: Option<DateTime<Utc>>,
    limit: usize,
    meta: BTreeMap<String, String>,
}

/// The spec types the `cid` and `status` filters as sets (uniqueItems): a repeated value is a malformed query.
fn distinct<T: Ord>(what: &str, values: Vec<T>) -> Result<Vec<T>, ApiError> {
    let unique: std::collections::BTreeSet<&T> = values.iter().collect();
    if unique.len() == values.len() {
        Ok(values)
    } else {
        Err(ApiError::bad_request(format!(
            "query parameter {what}: a value is repeated; name each one once"
        )))
    }
}

fn parse_filter(query: Option<&str>) -> Result<Filter, ApiError> {
    let mut filter = Filter {
        cids: Vec::new(),
        name: None,
        text_match: TextMatch::Exact,
        statuses: vec![Status::Pinned],
        before: None,
        after: None,
        limit: DEFAULT_LIMIT,
        meta: BTreeMap::new(),
    };
    let bad = |what: &str, detail: String| {
        ApiError::bad_request(format!("query parameter {what}: {detail}"))
    };
    let time = |what: &str, value: &str| {
        DateTime::parse_from_rfc3339(value)
            .map(|t| t.with_timezone(&Utc))
            .map_err(|e| {
                bad(
                    what,
                    format!("{value:?} is not an RFC 3339 date-time ({e})"),
                )
            })
    };
    for (key, value) in form_urlencoded::parse(query.unwrap_or("").as_bytes()) {
        match key.as_ref() {
            "cid" => {
                // Any string may be asked for; one that is not a CID simply matches nothing.
                let cids: Vec<String> = value.split(',').map(str::to_owned).collect();
                if cids.len() > MAX_CID_FILTER {
                    return Err(bad(
                        "cid",
                        format!("give at most {MAX_CID_FILTER} comma-separated CIDs"),
                    ));
                }
                filter.cids = distinct("cid", cids)?;
            }
            "name" => {
                if value.chars().count() > MAX_NAME_LEN {
                    return Err(bad(
                        "name",
                        format!("longer than {MAX_NAME_LEN} characters"),
                    ));
                }
                filter.name = Some(value.into_owned());
            }
            "match" => filter.text_match = value.parse().map_err(|e| bad("match", e))?,
            "status" => {
                let statuses = value
                    .split(',')
                    .map(str::parse)
                    .collect::<Result<Vec<Status>, _>>()
                    .map_err(|e| bad("status", e))?;
                filter.statuses = distinct("status", statuses)?;
            }
            "before" => filter.before = Some(time("before", &value)?),
            "after" => filter.after = Some(time("after", &value)?),
            "limit" => {
                filter.limit = value
                    .parse::<usize>()
                    .ok()
                    .filter(|n| (1..=MAX_LIMIT).contains(n))
                    .ok_or_else(|| {
                        bad(
                            "limit",
                            format!("{value:?} is not an integer from 1 to {MAX_LIMIT}"),
                        )
                    })?;
            }
            "meta" => {
                let meta: BTreeMap<String, String> = serde_json::from_str(&value)
                    .map_err(|e| bad("meta", format!("expected a JSON object of strings ({e})")))?;
                if meta.len() > MAX_LIMIT
                    || meta
                        .values()
                        .any(|v| v.chars().count() > MAX_META_QUERY_VALUE)
                {
                    return Err(bad(
                        "meta",
                        format!(
                            "at most {MAX_LIMIT} entries of at most {MAX_META_QUERY_VALUE} characters each"
                        ),
                    ));
                }
                filter.meta = meta;
            }
            _ => {}
        }
    }
    Ok(filter)
}

async fn list_pins(
    State(service): Svc,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> Result<Response, ApiError> {
    authorize(&service, &headers)?;
    let filter = parse_filter(query.as_deref())?;
    let queued: Vec<String> = {
        let table = service.table.lock().expect("pin table lock");
        table
            .records
            .iter()
            .filter(|(_, r)| r.status == Status::Queued)
            .map(|(id, _)| id.clone())
            .collect()
    };
    for requestid in queued {
        service.refresh(&requestid).await?;
    }
    let table = service.table.lock().expect("pin table lock");
    let mut matching: Vec<(&String, &Record)> = table
        .records
        .iter()
        .filter(|(_, r)| filter.statuses.contains(&r.status))
        .filter(|(_, r)| filter.cids.is_empty() || filter.cids.contains(&r.pin.cid))
        .filter(|(_, r)| match &filter.name {
            Some(wanted) => r
                .pin
                .name
                .as_deref()
                .is_some_and(|name| filter.text_match.matches(wanted, name)),
            None => true,
        })
        .filter(|(_, r)| filter.before.is_none_or(|t| r.created < t))
        .filter(|(_, r)| filter.after.is_none_or(|t| r.created > t))
        .filter(|(_, r)| {
            filter
                .meta
                .iter()
                .all(|(k, v)| r.pin.meta.as_ref().and_then(|m| m.get(k)) == Some(v))
        })
        .collect();
    matching.sort_by_key(|(_, r)| std::cmp::Reverse((r.created, r.seq)));
    let results = matching
        .iter()
        .take(filter.limit)
        .map(|(id, r)| service.status_of(id, r))
        .collect();
    Ok(axum::Json(PinResults {
        count: matching.len() as u64,
        results,
    })
    .into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn origins_that_name_gateways() {
        assert_eq!(
            gateway_url("/ip4/127.0.0.1/tcp/8080/http").as_deref(),
            Some("http://127.0.0.1:8080")
        );
        assert_eq!(
            gateway_url("/dns4/example.org/tcp/443/https").as_deref(),
            Some("https://example.org:443")
        );
        assert_eq!(
            gateway_url("/ip6/::1/tcp/80/http").as_deref(),
            Some("http://[::1]:80")
        );
        assert_eq!(
            gateway_url("https://gw.example/").as_deref(),
            Some("https://gw.example")
        );
        assert_eq!(gateway_url("/ip4/1.2.3.4/tcp/4001/p2p/QmPeer"), None);
    }

    #[test]
    fn list_filter_rejects_what_the_spec_forbids() {
        assert!(parse_filter(Some("limit=0")).is_err());
        assert!(parse_filter(Some("limit=1001")).is_err());
        assert!(parse_filter(Some("status=done")).is_err());
        assert!(parse_filter(Some("before=yesterday")).is_err());
        assert!(parse_filter(Some("meta=%5B1%5D")).is_err());
        let filter =
            parse_filter(Some("status=queued,failed&limit=5&match=ipartial&name=x")).unwrap();
        assert_eq!(filter.statuses, vec![Status::Queued, Status::Failed]);
        assert_eq!(filter.limit, 5);
        assert_eq!(filter.text_match, TextMatch::Ipartial);
    }
}
