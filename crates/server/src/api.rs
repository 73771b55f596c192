//! The REST API under `/api`: what the node serves to the command line, the SDK and the web pages. Reads come
//! from the catalog; the writes are uploads into the block store (a CAR here, a browser's files in
//! [`crate::publish`]); transactions are only prepared ([`crate::tx`]), never signed. Every error is the one
//! JSON shape of [`ApiError`].

use crate::metrics::Metrics;
use alloy::primitives::Address;
use axum::{
    Json, Router,
    body::Body,
    extract::{Path, Query, State},
    http::{StatusCode, header},
    response::IntoResponse,
    routing::get,
};
use futures_util::TryStreamExt as _;
use scal3ml_api::{
    AccountView, AssetDetail, AttestationInfo, Leaderboard, Lineage, ProposalInfo, SearchPage,
    SearchQuery, Stats, VersionInfo,
};
use scal3ml_api::{ApiError, NetworkInfo, UploadResult};
use scal3ml_index::Index;
use scal3ml_primitives::{AssetId, AttestationId};
use scal3ml_store::{BlockStore, FsStore, PinMode, PinStore, car::CarReader};
use serde::Deserialize;
use std::sync::Arc;
use tokio_util::io::{StreamReader, SyncIoBridge};
use utoipa::ToSchema;
use utoipa_axum::{
    router::{OpenApiRouter, UtoipaMethodRouterExt as _},
    routes,
};

/// What every handler shares.
pub(crate) struct AppState {
    pub(crate) network: NetworkInfo,
    pub(crate) store: FsStore,
    pub(crate) index: Index,
    pub(crate) metrics: Arc<Metrics>,
    /// An IPFS node every upload is copied to and pinned on.
    pub(crate) kubo: Option<scal3ml_store::kubo::KuboClient>,
    /// A pinning service asked to pin every upload, fetching it from this node's gateway.
    pub(crate) pinning: Option<scal3ml_store::pinning::PinningClient>,
    /// Whether the built-in dev wallet is served (the dev chain only).
    pub(crate) dev_wallet: bool,
    /// The marketplace for chain reads (no sender): prepared transactions, earnings, access state.
    pub(crate) market: scal3ml_market::Market<alloy::providers::DynProvider>,
    /// Signed comments on assets and proposals (their own SQLite file, not the chain catalog).
    pub(crate) discussions: crate::discuss::store::Discussions,
    /// One connection pool for the node's own requests to access gateways (a key release for the browser's
    /// propose, encrypted content for a signed-in viewer's diff).
    pub(crate) http: scal3ml_store::http::HttpClient,
    /// The token the node sends its own gateway in `x-scal3ml-node-call`, so its calls on a viewer's behalf are
    /// charged to no IP (never send it to another gateway).
    pub(crate) node_call: String,
    /// The access gateway: who an upload's signature or session proves, and the client's address.
    pub(crate) access: scal3ml_access::Gateway,
    /// Upload limits and the uploads nobody references yet.
    pub(crate) uploads: crate::uploads::Uploads,
}

/// Routes with their OpenAPI description: `routes!(handler)` registers a handler at the path its
/// `#[utoipa::path]` names and adds that description to the document, so the router and the served document
/// cannot disagree.
pub(crate) type Routes = OpenApiRouter<Arc<AppState>>;

/// The `/api` routes (and `/dev/rpc`), and the OpenAPI document that describes them and the access gateway,
/// as served at `/api/openapi.json`.
pub(crate) fn router(state: Arc<AppState>) -> Router {
    use utoipa::OpenApi as _;
    let (router, doc) = Routes::with_openapi(ApiDoc::openapi())
        .routes(routes!(network))
        .routes(routes!(stats))
        .routes(routes!(search))
        .routes(routes!(asset))
        .routes(routes!(versions))
        .routes(routes!(lineage))
        .routes(routes!(proposals))
        .routes(routes!(crate::proposal::detail))
        .routes(routes!(attestations))
        .routes(routes!(leaderboard))
        .routes(routes!(attestation))
        .routes(routes!(account))
        .routes(routes!(upload_car).map(|r| {
            r.route_layer(axum::middleware::from_fn_with_state(
                (state.clone(), "car"),
                crate::uploads::guard,
            ))
        }))
        .merge(crate::tx::routes())
        .merge(crate::publish::routes(&state))
        .merge(crate::propose::routes(&state))
        .merge(crate::diff::routes())
        .merge(crate::devrpc::routes())
        .merge(crate::discuss::routes::routes())
        .split_for_parts();
    let document = axum::body::Bytes::from(served_document(doc));
    router
        .route(
            "/api/openapi.json",
            get(move || async move { ([(header::CONTENT_TYPE, "application/json")], document) }),
        )
        .route("/health", get(health))
        .route("/metrics", get(metrics))
        .with_state(state)
}

/// Runs a catalog query off the async threads.
pub(crate) async fn query<T: Send + 'static>(
    state: &AppState,
    f: impl FnOnce(&Index) -> scal3ml_index::IndexResult<T> + Send + 'static,
) -> Result<T, ApiError> {
    // At most as many queries at once as the catalog keeps idle read connections: with more, every
    // request beyond them opened and dropped a SQLite connection of its own: 64 concurrent clients got 1,400
    // asset details per second that way, and 17,000 with this limit (bench/node/run.sh, release, 2 cores).
    static QUERIES: tokio::sync::Semaphore =
        tokio::sync::Semaphore::const_new(scal3ml_index::IDLE_READERS);
    let _permit = QUERIES
        .acquire()
        .await
        .map_err(|e| ApiError::internal(format!("the catalog query limit is closed: {e}")))?;
    let index = state.index.clone();
    tokio::task::spawn_blocking(move || f(&index))
        .await
        .map_err(|e| ApiError::internal(format!("the catalog query task failed: {e}")))?
        .map_err(|e| ApiError::internal(format!("the catalog query failed: {e}")))
}

fn missing(id: u64) -> ApiError {
    ApiError::not_found(
        "no_such_asset",
        format!(
            "no asset {id} in the catalog: check the id with `scal3ml search`, or wait a moment if it was just published"
        ),
    )
}

/// The node's chain, contracts and payment tokens.
#[utoipa::path(get, path = "/api/network", responses((status = 200, body = NetworkInfo)))]
async fn network(State(state): State<Arc<AppState>>) -> Json<NetworkInfo> {
    Json(state.network.clone())
}

/// Catalog totals and the last indexed block.
#[utoipa::path(get, path = "/api/stats", responses((status = 200, body = Stats)))]
async fn stats(State(state): State<Arc<AppState>>) -> Result<Json<Stats>, ApiError> {
    Ok(Json(query(&state, Index::stats).await?))
}

/// Full-text search with filters, sorting and paging.
#[utoipa::path(get, path = "/api/assets",
    params(
        ("text" = Option<String>, Query, description = "words, all must occur; `word*` matches a prefix"),
        ("kind" = Option<String>, Query, description = "dataset or model", pattern = "^(dataset|model)$"),
        ("license" = Option<String>, Query, description = "SPDX id or license URL"),
        ("tag" = Option<String>, Query, description = "a card tag"),
        ("min_price" = Option<String>, Query, description = "smallest price, in the token's smallest unit", pattern = "^(0x[0-9a-fA-F]{1,64}|[0-9]{1,77})?$"),
        ("max_price" = Option<String>, Query, description = "largest price, in the token's smallest unit", pattern = "^(0x[0-9a-fA-F]{1,64}|[0-9]{1,77})?$"),
        ("token" = Option<String>, Query, description = "payment token address (zero = ether)", pattern = "^(0x)?[0-9a-fA-F]{40}$"),
        ("free_only" = Option<bool>, Query, description = "only free assets"),
        ("sort" = Option<String>, Query, description = "relevance, newest, price_asc, price_desc or sales", pattern = "^(relevance|newest|price_asc|price_desc|sales)$"),
        ("page" = Option<u32>, Query, description = "page number from 1"),
        ("per_page" = Option<u32>, Query, description = "items per page; more than 100 is read as 100"),
    ),
    responses((status = 200, body = SearchPage), (status = 400, description = "a filter that does not parse")))]
async fn search(
    State(state): State<Arc<AppState>>,
    q: Result<Query<SearchQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Json<SearchPage>, ApiError> {
    let Query(q) = q.map_err(|e| {
        ApiError::bad_request(format!(
            "{}; see /api/openapi.json for the filters",
            e.body_text()
        ))
    })?;
    Ok(Json(query(&state, move |i| i.search(&q)).await?))
}

/// One asset: card, versions, lineage, listings, shareholders, revenue, attestations.
#[utoipa::path(get, path = "/api/assets/{id}", params(("id" = u64, Path, description = "asset id")),
    responses((status = 200, body = AssetDetail), (status = 404, description = "no such asset")))]
async fn asset(
    State(state): State<Arc<AppState>>,
    Path(id): Path<u64>,
) -> Result<Json<AssetDetail>, ApiError> {
    query(&state, move |i| i.asset(AssetId(id)))
        .await?
        .map(Json)
        .ok_or_else(|| missing(id))
}

/// An asset's versions, oldest first.
#[utoipa::path(get, path = "/api/assets/{id}/versions", params(("id" = u64, Path, description = "asset id")),
    responses((status = 200, body = [VersionInfo]), (status = 404, description = "no such asset")))]
async fn versions(
    State(state): State<Arc<AppState>>,
    Path(id): Path<u64>,
) -> Result<Json<Vec<VersionInfo>>, ApiError> {
    let found = query(&state, move |i| i.versions(AssetId(id))).await?;
    if found.is_empty() {
        return Err(missing(id));
    }
    Ok(Json(found))
}

/// An asset's ancestors and descendants, transitively.
#[utoipa::path(get, path = "/api/assets/{id}/lineage", params(("id" = u64, Path, description = "asset id")),
    responses((status = 200, body = Lineage), (status = 404, description = "no such asset")))]
async fn lineage(
    State(state): State<Arc<AppState>>,
    Path(id): Path<u64>,
) -> Result<Json<Lineage>, ApiError> {
    if query(&state, move |i| i.summary(AssetId(id)))
        .await?
        .is_none()
    {
        return Err(missing(id));
    }
    Ok(Json(query(&state, move |i| i.lineage(AssetId(id))).await?))
}

/// Proposals for new versions of an asset.
#[utoipa::path(get, path = "/api/assets/{id}/proposals", params(("id" = u64, Path, description = "asset id")),
    responses((status = 200, body = [ProposalInfo])))]
async fn proposals(
    State(state): State<Arc<AppState>>,
    Path(id): Path<u64>,
) -> Result<Json<Vec<ProposalInfo>>, ApiError> {
    Ok(Json(
        query(&state, move |i| i.proposals(AssetId(id))).await?,
    ))
}

/// Evaluation attestations naming an asset.
#[utoipa::path(get, path = "/api/assets/{id}/attestations", params(("id" = u64, Path, description = "asset id")),
    responses((status = 200, body = [AttestationInfo])))]
async fn attestations(
    State(state): State<Arc<AppState>>,
    Path(id): Path<u64>,
) -> Result<Json<Vec<AttestationInfo>>, ApiError> {
    Ok(Json(
        query(&state, move |i| i.attestations(AssetId(id))).await?,
    ))
}

/// The filters of a leaderboard.
#[derive(Debug, Deserialize)]
struct LeaderboardQuery {
    metric: Option<String>,
    dataset_version: Option<u64>,
}

/// A dataset's leaderboards: its attestations per metric, best first (higher is better for accuracy, F1 and
/// R², lower for RMSE, MAE and log-loss; unknown metrics are ranked as higher is better and say so), with
/// endorsement and dispute counts. Without `metric`, one board per metric attested on this dataset.
#[utoipa::path(get, path = "/api/assets/{id}/leaderboard",
    params(
        ("id" = u64, Path, description = "dataset asset id"),
        ("metric" = Option<String>, Query, description = "one metric, e.g. accuracy or rmse [default: every metric attested]"),
        ("dataset_version" = Option<u64>, Query, description = "only evaluations on this dataset version"),
    ),
    responses((status = 200, body = [Leaderboard]), (status = 404, description = "no such asset"),
        (status = 400, description = "the asset is a model, or a filter does not parse")))]
async fn leaderboard(
    State(state): State<Arc<AppState>>,
    Path(id): Path<u64>,
    q: Result<Query<LeaderboardQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Json<Vec<Leaderboard>>, ApiError> {
    let Query(q) = q.map_err(|e| {
        ApiError::bad_request(format!(
            "{}; the filters are metric=NAME and dataset_version=N",
            e.body_text()
        ))
    })?;
    let summary = query(&state, move |i| i.summary(AssetId(id)))
        .await?
        .ok_or_else(|| missing(id))?;
    if summary.kind != scal3ml_primitives::AssetKind::Dataset {
        return Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            "not_a_dataset",
            format!(
                "asset {id} is a {}: leaderboards are per dataset; its evaluations are at /api/assets/{id}/attestations",
                summary.kind
            ),
        ));
    }
    Ok(Json(
        query(&state, move |i| {
            i.leaderboard(AssetId(id), q.metric.as_deref(), q.dataset_version)
        })
        .await?,
    ))
}

/// One attestation with its endorsements and disputes.
#[utoipa::path(get, path = "/api/attestations/{id}", params(("id" = u64, Path, description = "attestation id")),
    responses((status = 200, body = AttestationInfo), (status = 404, description = "no such attestation")))]
async fn attestation(
    State(state): State<Arc<AppState>>,
    Path(id): Path<u64>,
) -> Result<Json<AttestationInfo>, ApiError> {
    query(&state, move |i| i.attestation(AttestationId(id)))
        .await?
        .map(Json)
        .ok_or_else(|| {
            ApiError::not_found(
                "no_such_attestation",
                format!(
                    "no attestation {id} in the catalog: check the id on the asset page or with `scal3ml leaderboard`, or wait a moment if it was just sent"
                ),
            )
        })
}

/// What an account owns, holds shares in and has licenses for.
#[utoipa::path(get, path = "/api/accounts/{address}", params(("address" = String, Path, description = "0x address", pattern = "^(0x)?[0-9a-fA-F]{40}$")),
    responses((status = 200, body = AccountView), (status = 400, description = "not an address")))]
async fn account(
    State(state): State<Arc<AppState>>,
    Path(address): Path<String>,
) -> Result<Json<AccountView>, ApiError> {
    let address: Address = address.parse().map_err(|_| {
        ApiError::bad_request(format!(
            "{address:?} is not an account address: expected 0x and 40 hex digits"
        ))
    })?;
    Ok(Json(query(&state, move |i| i.account(address)).await?))
}

/// The document served at `/api/openapi.json`: the routes' own, the access gateway's merged in, every error
/// answer described.
fn served_document(doc: utoipa::openapi::OpenApi) -> String {
    use utoipa::OpenApi as _;
    let doc = doc.merge_from(scal3ml_access::AccessApiDoc::openapi());
    let mut doc = serde_json::to_value(doc).expect("the OpenAPI document serializes");
    describe_errors(&mut doc);
    // utoipa 5 spells the unsigned formats `u-int8` to `u-int64`; the OpenAPI format registry, `uint8`.
    serde_json::to_string_pretty(&doc)
        .expect("the OpenAPI document serializes")
        .replace(r#""format": "u-int"#, r#""format": "uint"#)
}

/// Says in the document what every route answers on an error, in the one place that makes it true
/// ([`scal3ml_access::json_errors`] wraps every route): each 4xx and 5xx answer is an [`ApiError`] body; an
/// operation with a path, query or body to parse can answer 400 `bad_request`; one that takes the CSRF header
/// can answer 403 `csrf`. The handlers' annotations say what else, and why.
fn describe_errors(doc: &mut serde_json::Value) {
    use serde_json::{Value, json};
    let error_body =
        || json!({"application/json": {"schema": {"$ref": "#/components/schemas/ApiErrorBody"}}});
    let Some(paths) = doc.get_mut("paths").and_then(Value::as_object_mut) else {
        return;
    };
    for op in paths
        .values_mut()
        .filter_map(Value::as_object_mut)
        .flat_map(|ops| ops.values_mut())
        .filter_map(Value::as_object_mut)
    {
        let params = op.get("parameters").and_then(Value::as_array);
        let parses = op.contains_key("requestBody")
            || params.is_some_and(|p| p.iter().any(|p| p["in"] == "path" || p["in"] == "query"));
        let csrf = params.is_some_and(|p| p.iter().any(|p| p["name"] == crate::csrf::HEADER));
        let Some(responses) = op.get_mut("responses").and_then(Value::as_object_mut) else {
            continue;
        };
        if parses && !responses.contains_key("400") {
            responses.insert(
                "400".into(),
                json!({"description": "`bad_request`: a path segment, query or body that does not parse"}),
            );
        }
        if csrf && !responses.contains_key("403") {
            responses.insert(
                "403".into(),
                json!({"description": "`csrf`: no CSRF token (send the scal3ml_csrf cookie's value in x-csrf-token)"}),
            );
        }
        for (status, response) in responses.iter_mut() {
            let error = status.starts_with('4') || status.starts_with('5');
            if error && response.get("content").is_none() {
                response["content"] = error_body();
            }
        }
    }
}

async fn health() -> Json<serde_json::Value> {
    Json(serde_json::json!({"status": "ok"}))
}

async fn metrics(State(state): State<Arc<AppState>>) -> impl IntoResponse {
    let indexed = query(&state, Index::stats)
        .await
        .map_or(-1.0, |s| s.last_indexed_block.map_or(-1.0, |b| b as f64));
    let text = state.metrics.render(&[(
        "scal3ml_index_last_block",
        "The last block the catalog has indexed (-1 before the first).",
        indexed,
    )]);
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4")], text)
}

/// The body of `POST /api/car`: a CAR v1 stream, as bytes (not a JSON array of them).
#[derive(ToSchema)]
#[schema(value_type = String, format = Binary)]
#[allow(dead_code)]
struct CarStream(Vec<u8>);

/// Blocks per store write while importing a CAR.
const UPLOAD_BATCH: usize = 64;

/// Imports a CAR v1 stream (every block verified against its CID) and pins its roots recursively. A root
/// whose DAG the CAR does not complete is refused. The upload must be signed (an EIP-712 `UploadRequest` with
/// action `car` in the `x-scal3ml-upload` header, or a Sign-In with Ethereum session) and fit the node's limits;
/// roots no chain event names within the grace period are collected, and only named ones are handed on to the
/// node's IPFS node or pinning service.
#[utoipa::path(post, path = "/api/car", request_body(content = CarStream, content_type = "application/vnd.ipld.car"),
    params(("x-scal3ml-upload" = Option<String>, Header, description = "a signed UploadRequest (JSON), unless a session cookie or bearer token is sent")),
    responses((status = 200, body = UploadResult), (status = 400, description = "not a CAR"),
        (status = 401, description = "not signed (`unsigned_upload`), or a bad signature"),
        (status = 413, description = "larger than the node takes in one request (`upload_too_large`)"),
        (status = 422, description = "a root's DAG is incomplete"),
        (status = 429, description = "too many uploads (`too_many_uploads`), or over the unpublished bytes an account, an address or the node holds (`upload_quota`, `pending_cap`)")))]
async fn upload_car(
    State(state): State<Arc<AppState>>,
    axum::Extension(ticket): axum::Extension<Arc<crate::uploads::Ticket>>,
    body: Body,
) -> Result<Json<UploadResult>, ApiError> {
    let stream = body.into_data_stream().map_err(std::io::Error::other);
    let reader = SyncIoBridge::new(StreamReader::new(stream));
    let store = state.store.clone();
    let runtime = tokio::runtime::Handle::current();
    let (roots, blocks) = tokio::task::spawn_blocking(move || {
        let mut car = CarReader::new(std::io::BufReader::with_capacity(1 << 20, reader))?;
        let roots = car.roots().to_vec();
        let mut count = 0u64;
        let mut batch = Vec::with_capacity(UPLOAD_BATCH);
        while let Some(block) = car.next_block()? {
            count += 1;
            batch.push(block);
            if batch.len() == UPLOAD_BATCH {
                runtime.block_on(store.put_many(std::mem::take(&mut batch)))?;
            }
        }
        runtime.block_on(store.put_many(batch))?;
        Ok::<_, scal3ml_store::StoreError>((roots, count))
    })
    .await
    .map_err(|e| ApiError::internal(format!("the upload task failed: {e}")))?
    .map_err(|e| ApiError::bad_request(format!("the upload is not a valid CAR v1 stream: {e}")))?;
    if roots.is_empty() {
        return Err(ApiError::bad_request(
            "the CAR names no root: write it with `scal3ml store export-car` or `ipfs dag export`",
        ));
    }
    let fresh = crate::uploads::not_pinned(&state, &roots).await?;
    for root in &roots {
        state.store.pin(root, PinMode::Recursive).await.map_err(|e| {
            ApiError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "incomplete_dag",
                format!("the CAR does not hold the whole DAG of its root {root}: {e}; export it again with every block"),
            )
        })?;
    }
    state.uploads.commit(&ticket, &fresh).await?;
    Ok(Json(UploadResult {
        roots: roots.iter().map(ToString::to_string).collect(),
        blocks,
        keep_unreferenced_secs: state.uploads.limits().grace.as_secs(),
        replicated_to: state.kubo.as_ref().map(|k| k.api().to_string()),
    }))
}

/// Hands pinned roots on beyond the node's store: copies them to the IPFS node (`--ipfs-api`) and asks the
/// pinning service (`--pinning-service`) to pin them. Only what the node keeps for good is handed on: a signed
/// comment or hide decision, and an upload once a chain event names it ([`crate::uploads::sweep`]). Returns the
/// pinning service's request ids, one per root.
pub(crate) async fn hand_on(
    state: &AppState,
    roots: &[scal3ml_store::Cid],
) -> Result<Vec<String>, ApiError> {
    if let Some(kubo) = &state.kubo {
        for root in roots {
            crate::replicate::to_kubo(&state.store, kubo, root).await.map_err(|e| {
                ApiError::new(
                    StatusCode::BAD_GATEWAY,
                    "ipfs_unavailable",
                    format!(
                        "the node stored and pinned {root}, but copying it to the IPFS node at {} failed: {e}; \
                         check that node (the node tries again)",
                        kubo.api()
                    ),
                )
            })?;
        }
    }
    let mut pin_requests = Vec::new();
    if let Some(service) = &state.pinning {
        let origin = crate::replicate::multiaddr_of(&state.network.node_url).unwrap_or_default();
        for root in roots {
            let id = crate::replicate::to_pinning_service(service, root, &origin)
                .await
                .map_err(|e| {
                    ApiError::new(
                        StatusCode::BAD_GATEWAY,
                        "pinning_unavailable",
                        format!(
                            "the node stored and pinned {root}, but the pinning service at {} refused it: {e}; \
                             check the service and its token, then upload again",
                            service.endpoint()
                        ),
                    )
                })?;
            pin_requests.push(id);
        }
    }
    Ok(pin_requests)
}

/// The document's title and description; [`router`] adds each route's description as it registers it.
#[derive(utoipa::OpenApi)]
#[openapi(info(
    title = "Scal3ML node API",
    description = "Catalog reads, uploads, node information, and transactions prepared for a browser wallet to send. Errors are `{\"error\": {\"code\", \"message\"}}` (with `fields` for a form's invalid_fields)."
))]
pub(crate) struct ApiDoc;
