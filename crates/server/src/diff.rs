//! `GET /api/assets/{id}/diff` and `GET /api/proposals/{id}/diff`: what changed between two versions of an
//! asset, or between its latest version and a proposal, compared by scal3ml-diff. For content stored in the
//! clear, the node reads both sides through the store's bounded reader (never writing them to disk; a hostile
//! DAG's symlinks, duplicate names and declared sizes are refused or not believed). For an encrypted proposal,
//! it reads both sides' plaintext from its own access gateway as the viewer (the request's session cookie or
//! bearer token handed on, so the gateway's access checks and audit log apply); without a session, or for two
//! encrypted versions, 403: a licensee compares them with `scal3ml diff`.

use crate::api::{AppState, query};
use axum::{
    Json,
    extract::{Path, Query, State},
    http::{HeaderMap, StatusCode, header},
};
use futures_util::TryStreamExt;
use scal3ml_api::ApiError;
use scal3ml_diff::{DiffOptions, Input, Reader, Tree, TreeDiff};
use scal3ml_primitives::card::{Card, MAX_CARD_BYTES};
use scal3ml_primitives::{AssetId, ProposalId};
use scal3ml_store::reader::{self, Budget, FileReader, Limits};
use scal3ml_store::{Cid, StoreError, export};
use serde::{Deserialize, Serialize};
use std::sync::Arc;
use tokio_util::io::{StreamReader, SyncIoBridge};
use utoipa::ToSchema;
use utoipa_axum::routes;

/// Content larger than this (both sides together) is not compared by the node.
pub(crate) const MAX_DIFF_BYTES: u64 = 512 << 20;

/// A comparison of two versions, or of a version and a proposal.
#[derive(Debug, Serialize, ToSchema)]
pub struct AssetDiff {
    /// The asset.
    pub asset: u64,
    /// The old version.
    pub from: u64,
    /// The new version, when two versions are compared.
    pub to: Option<u64>,
    /// The proposal, when a proposal is compared with the latest version.
    pub proposal: Option<u64>,
    /// The comparison: files added, removed and changed, and inside each table or model what changed (see
    /// docs/diff.md for every field).
    #[schema(value_type = Object)]
    pub diff: TreeDiff,
}

/// The query of both routes.
#[derive(Debug, Deserialize)]
pub(crate) struct DiffQuery {
    from: Option<u64>,
    to: Option<u64>,
    key: Option<String>,
    max_examples: Option<usize>,
}

pub(crate) fn routes() -> crate::api::Routes {
    crate::api::Routes::new()
        .routes(routes!(asset_diff))
        .routes(routes!(proposal_diff))
}

fn options(q: &DiffQuery) -> Result<DiffOptions, ApiError> {
    let mut opts = DiffOptions::default();
    if let Some(n) = q.max_examples {
        if n > 1000 {
            return Err(ApiError::bad_request(format!(
                "max_examples is at most 1000 (got {n})"
            )));
        }
        opts = opts.with_max_examples(n);
    }
    if let Some(k) = q.key.as_ref().filter(|k| !k.is_empty()) {
        opts = opts.with_key(k.clone());
    }
    Ok(opts)
}

fn parse_query(
    q: Result<Query<DiffQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<DiffQuery, ApiError> {
    q.map(|Query(q)| q).map_err(|e| {
        ApiError::bad_request(format!(
            "{}; the parameters are from=N, to=N, key=COLUMN and max_examples=N",
            e.body_text()
        ))
    })
}

fn encrypted(id: u64, what: &str) -> ApiError {
    ApiError::new(
        StatusCode::FORBIDDEN,
        "encrypted_content",
        format!(
            "asset {id} is encrypted, so the node reads {what} only for a signed-in viewer with access (a \
             session of this node's access gateway: sign in on the page); as a licensee (or the proposer), \
             run `scal3ml diff {id} {}` with your signer flags",
            if what.starts_with("proposal") {
                format!("--proposal {}", what.trim_start_matches("proposal "))
            } else {
                "--from N --to N".to_string()
            }
        ),
    )
}

/// Two versions of an asset compared (tables: rows, schema, column statistics; models: tensors, inputs,
/// outputs), up to 512 MiB. Encrypted content only for a signed-in viewer with access (the session cookie or
/// bearer token of this node's access gateway), when that gateway is this node.
#[utoipa::path(get, path = "/api/assets/{id}/diff",
    params(
        ("id" = u64, Path, description = "asset id"),
        ("from" = Option<u64>, Query, description = "old version [default: the one before `to`]"),
        ("to" = Option<u64>, Query, description = "new version [default: the latest]"),
        ("key" = Option<String>, Query, description = "key column of CSV/JSON Lines rows [default: rows compared by content]"),
        ("max_examples" = Option<usize>, Query, description = "example rows per category, at most 1000 [default: 20]", maximum = 1000),
    ),
    responses((status = 200, body = AssetDiff),
        (status = 400, description = "a bad parameter, a key column that is missing or not unique, a file that does not parse"),
        (status = 403, description = "encrypted content without a signed-in viewer with access: sign in, or compare it with `scal3ml diff` as a licensee"),
        (status = 404, description = "no such asset or version"),
        (status = 413, description = "content larger than 512 MiB")))]
pub(crate) async fn asset_diff(
    State(state): State<Arc<AppState>>,
    Path(id): Path<u64>,
    headers: HeaderMap,
    q: Result<Query<DiffQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Json<AssetDiff>, ApiError> {
    let q = parse_query(q)?;
    let opts = options(&q)?;
    let viewer = Viewer::from_headers(&headers);
    of_versions(
        &state,
        id,
        q.from,
        q.to,
        opts,
        MAX_DIFF_BYTES,
        viewer.as_ref(),
    )
    .await
    .map(Json)
}

/// Versions `from` (default: the one before `to`) and `to` (default: the latest) of asset `id` compared, when
/// both sides together are at most `budget` bytes. Encrypted content is read through this node's access gateway
/// as `viewer` (a signed-in session), who must have access.
pub(crate) async fn of_versions(
    state: &AppState,
    id: u64,
    from: Option<u64>,
    to: Option<u64>,
    opts: DiffOptions,
    budget: u64,
    viewer: Option<&Viewer>,
) -> Result<AssetDiff, ApiError> {
    let detail = query(state, move |i| i.asset(AssetId(id)))
        .await?
        .ok_or_else(|| no_asset(id))?;
    let last = detail
        .versions
        .last()
        .map(|v| v.index)
        .ok_or_else(|| no_asset(id))?;
    let to = to.unwrap_or(last);
    let from = match from {
        Some(f) => f,
        None if to == 0 => {
            return Err(ApiError::bad_request(format!(
                "asset {id} has only version 0: there is nothing before it to compare; give from= and to="
            ))
            .with_code("nothing_to_compare"));
        }
        None => to - 1,
    };
    let version = |n: u64| {
        detail
            .versions
            .iter()
            .find(|v| v.index == n)
            .ok_or_else(|| {
                ApiError::not_found(
                    "no_such_version",
                    format!("asset {id} has no version {n}: it has versions 0 to {last}"),
                )
            })
    };
    let (a, b) = (version(from)?, version(to)?);
    let (mut old, mut new) = (
        Side::clear(&a.content_cid, &a.metadata_cid),
        Side::clear(&b.content_cid, &b.metadata_cid),
    );
    if let Some(access) = gateway_for(state, &detail, viewer, "its versions")? {
        let at = |n: u64| Some(format!("{access}/assets/{id}/versions/{n}/content"));
        (old.plaintext_at, new.plaintext_at) = (at(from), at(to));
    }
    let diff = compare(
        state,
        old,
        new,
        opts,
        (format!("asset {id} v{from}"), format!("asset {id} v{to}")),
        budget,
        viewer,
    )
    .await?;
    Ok(AssetDiff {
        asset: id,
        from,
        to: Some(to),
        proposal: None,
        diff,
    })
}

/// A proposal's content compared with its asset's latest version. Only for content stored in the clear, up
/// to 512 MiB.
#[utoipa::path(get, path = "/api/proposals/{id}/diff",
    params(
        ("id" = u64, Path, description = "proposal id"),
        ("key" = Option<String>, Query, description = "key column of CSV/JSON Lines rows [default: rows compared by content]"),
        ("max_examples" = Option<usize>, Query, description = "example rows per category, at most 1000 [default: 20]", maximum = 1000),
    ),
    responses((status = 200, body = AssetDiff),
        (status = 400, description = "a bad parameter, a key column that is missing or not unique, a file that does not parse"),
        (status = 403, description = "encrypted content: compare it with `scal3ml diff ASSET --proposal ID` as a licensee"),
        (status = 404, description = "no such proposal, or its content is not on this node"),
        (status = 413, description = "content larger than 512 MiB")))]
pub(crate) async fn proposal_diff(
    State(state): State<Arc<AppState>>,
    Path(id): Path<u64>,
    headers: HeaderMap,
    q: Result<Query<DiffQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Json<AssetDiff>, ApiError> {
    let q = parse_query(q)?;
    let opts = options(&q)?;
    let viewer = Viewer::from_headers(&headers);
    of_proposal(&state, id, opts, MAX_DIFF_BYTES, viewer.as_ref())
        .await
        .map(Json)
}

/// Proposal `id`'s content compared with its asset's latest version, when both sides together are at most
/// `budget` bytes (the proposals page shows smaller diffs than the API computes). Encrypted content is read
/// through this node's access gateway as `viewer` (a signed-in session), who must have access.
pub(crate) async fn of_proposal(
    state: &AppState,
    id: u64,
    opts: DiffOptions,
    budget: u64,
    viewer: Option<&Viewer>,
) -> Result<AssetDiff, ApiError> {
    let no_proposal = || {
        ApiError::not_found(
            "no_such_proposal",
            format!(
                "no proposal {id} in the catalog: list an asset's proposals at /api/assets/ASSET/proposals"
            ),
        )
    };
    // The chain names the proposal's asset; the catalog lists that asset's proposals with their content.
    let asset = state
        .market
        .proposal(ProposalId(id))
        .await
        .map_err(|_| no_proposal())?
        .asset
        .0;
    let proposal = query(state, move |i| i.proposals(AssetId(asset)))
        .await?
        .into_iter()
        .find(|p| p.id == id)
        .ok_or_else(no_proposal)?;
    let detail = query(state, move |i| i.asset(AssetId(asset)))
        .await?
        .ok_or_else(|| no_asset(asset))?;
    let latest = detail.versions.last().ok_or_else(|| no_asset(asset))?;
    let mut old = Side::clear(&latest.content_cid, &latest.metadata_cid);
    let mut new = Side::clear(&proposal.content_cid, &proposal.metadata_cid);
    if let Some(access) = gateway_for(state, &detail, viewer, &format!("proposal {id}"))? {
        let n = latest.index;
        old.plaintext_at = Some(format!("{access}/assets/{asset}/versions/{n}/content"));
        new.plaintext_at = Some(format!("{access}/proposals/{id}/content"));
    }
    let diff = compare(
        state,
        old,
        new,
        opts,
        (
            format!("asset {asset} v{}", latest.index),
            format!("proposal {id}"),
        ),
        budget,
        viewer,
    )
    .await?;
    Ok(AssetDiff {
        asset,
        from: latest.index,
        to: None,
        proposal: Some(id),
        diff,
    })
}

/// Where an encrypted asset's plaintext is read as `viewer`: this node's access gateway (`{node}/access`);
/// `None` for content in the clear. Refused (403) without a viewer, or when the asset's gateway is another node
/// (the node hands a viewer's session to its own gateway only).
fn gateway_for(
    state: &AppState,
    detail: &scal3ml_api::AssetDetail,
    viewer: Option<&Viewer>,
    what: &str,
) -> Result<Option<String>, ApiError> {
    if !detail.summary.encrypted {
        return Ok(None);
    }
    if viewer.is_none() || !gateway_is_here(state, &detail.gateway_url) {
        return Err(encrypted(detail.summary.id, what));
    }
    Ok(Some(format!(
        "{}/access",
        state.network.node_url.trim_end_matches('/')
    )))
}

/// Whether an asset's access gateway is this node (the only one it hands a viewer's session to).
pub(crate) fn gateway_is_here(state: &AppState, gateway_url: &str) -> bool {
    use scal3ml_access::eip712::normalize_gateway;
    gateway_url.is_empty()
        || normalize_gateway(gateway_url) == normalize_gateway(&state.network.node_url)
}

pub(crate) fn no_asset(id: u64) -> ApiError {
    ApiError::not_found(
        "no_such_asset",
        format!("no asset {id} in the catalog: check the id with `scal3ml search`"),
    )
}

/// One side of a comparison: its content and card CIDs, and for encrypted content the access gateway URL that
/// serves its plaintext (`.../access/assets/{asset}/versions/{n}/content` or `.../access/proposals/{id}/content`).
struct Side<'a> {
    content: &'a str,
    metadata: &'a str,
    plaintext_at: Option<String>,
}

impl<'a> Side<'a> {
    fn clear(content: &'a str, metadata: &'a str) -> Self {
        Self {
            content,
            metadata,
            plaintext_at: None,
        }
    }
}

/// The viewer's credentials for the access gateway (its `Cookie` and `Authorization` headers), handed on so
/// that encrypted content is read as the viewer, with the gateway's checks and audit log.
#[derive(Debug, Clone, Default)]
pub(crate) struct Viewer(Vec<(header::HeaderName, header::HeaderValue)>);

impl Viewer {
    /// The credentials in a request's headers; `None` when it carries none.
    pub(crate) fn from_headers(headers: &HeaderMap) -> Option<Self> {
        let found: Vec<_> = [header::COOKIE, header::AUTHORIZATION]
            .into_iter()
            .filter_map(|name| headers.get(&name).map(|v| (name, v.clone())))
            .collect();
        (!found.is_empty()).then_some(Self(found))
    }

    /// The same credentials, sent with the node's own token (`x-scal3ml-node-call`).
    fn with_node_call(&self, token: &str) -> Self {
        let mut headers = self.0.clone();
        if let Ok(v) = header::HeaderValue::from_str(token) {
            headers.push((
                header::HeaderName::from_static(scal3ml_access::NODE_CALL_HEADER),
                v,
            ));
        }
        Self(headers)
    }
}

/// Bytes the node reads for one comparison, as a multiple of the content it compares: a table is read up to
/// four times (hash, scan, rows, examples).
const READ_PASSES: u64 = 4;

/// Reads both sides through the store's bounded reader (nothing is written to disk) and compares them off the
/// async threads. `budget` bounds what both sides declare together, and [`READ_PASSES`] times it what is
/// actually read; content that lies about its size runs out of the second.
async fn compare(
    state: &AppState,
    old: Side<'_>,
    new: Side<'_>,
    opts: DiffOptions,
    labels: (String, String),
    budget: u64,
    viewer: Option<&Viewer>,
) -> Result<TreeDiff, ApiError> {
    let reads = Budget::new(
        Limits::default()
            .with_max_bytes(budget.saturating_mul(READ_PASSES))
            .with_max_entries(MAX_DIFF_ENTRIES),
    );
    let too_large = || {
        ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "too_large_to_compare",
            format!(
                "the two sides are over {} MiB (or {MAX_DIFF_ENTRIES} files) together, more than the node \
                 compares: download them with `scal3ml get` and run `scal3ml diff --old PATH --new PATH`",
                budget >> 20
            ),
        )
    };
    let mut declared = 0u64;
    let a = tree_of(state, &old, &reads, viewer, &mut declared).await?;
    let b = tree_of(state, &new, &reads, viewer, &mut declared).await?;
    if declared > budget {
        return Err(too_large());
    }
    let check = reads.clone();
    let diff = tokio::task::spawn_blocking(move || scal3ml_diff::diff_trees(&a, &b, labels, &opts))
        .await
        .map_err(|e| ApiError::internal(format!("the diff task failed: {e}")))?;
    if check.exhausted() {
        return Err(too_large());
    }
    diff.map_err(|e| ApiError::bad_request(e.to_string()).with_code("cannot_compare"))
}

/// Most files the node lists for one comparison (both sides).
const MAX_DIFF_ENTRIES: u64 = 100_000;

/// One side as the diff reads it: content in the clear through the bounded reader over this node's block
/// store; encrypted content as plaintext streamed from the access gateway as the viewer. Adds what the side
/// declares to `declared` (used only to refuse early; the reader counts what it actually reads).
async fn tree_of(
    state: &AppState,
    side: &Side<'_>,
    reads: &Budget,
    viewer: Option<&Viewer>,
    declared: &mut u64,
) -> Result<Tree, ApiError> {
    let (content, metadata) = (side.content, side.metadata);
    let root: Cid = content.parse().map_err(|_| {
        ApiError::internal(format!("the catalog's content id {content} is not a CID"))
    })?;
    let card_cid: Cid = metadata.parse().map_err(|_| {
        ApiError::internal(format!("the catalog's card id {metadata} is not a CID"))
    })?;
    let card = async {
        let bytes = export::cat_to_vec(&state.store, &card_cid, MAX_CARD_BYTES)
            .await
            .map_err(|e| unreadable(&format!("card {card_cid}"), e))?;
        Card::from_json(&bytes)
            .map_err(|e| ApiError::bad_request(format!("the card {card_cid} is not valid: {e}")))
    };
    let runtime = tokio::runtime::Handle::current();
    if let Some(url) = &side.plaintext_at {
        let card = card.await?;
        *declared = declared.saturating_add(card.files.iter().map(|f| f.size).sum());
        reads
            .take_entries(card.files.len() as u64)
            .map_err(|e| unreadable(&format!("card {card_cid}"), e))?;
        let viewer = viewer.cloned().unwrap_or_default();
        // This node's own gateway (`gateway_for` refuses others): its token keeps the viewer's refusals off our IP.
        let viewer = viewer.with_node_call(&state.node_call);
        return plaintext_tree(&state.http, url, &card, &root, viewer, reads, runtime).await;
    }
    let files = reader::walk(&state.store, &root, reads)
        .await
        .map_err(|e| unreadable(&format!("content {root}"), e))?;
    *declared = declared.saturating_add(files.iter().map(|f| f.size).sum());
    let input = |name: String, file: reader::TreeFile| {
        let (store, reads, runtime) = (state.store.clone(), reads.clone(), runtime.clone());
        Input::new(name, file.size, move || {
            let reader = FileReader::new(store.clone(), &file, reads.clone(), runtime.clone());
            Ok(Box::new(reader) as Reader)
        })
    };
    match files.first() {
        Some(f) if f.path.is_empty() => Ok(Tree::File(input(file_name(&card.await?), f.clone()))),
        _ => Ok(Tree::Folder(
            files
                .into_iter()
                .map(|f| (f.path.clone(), input(f.path.clone(), f)))
                .collect(),
        )),
    }
}

/// Why the node cannot read one side: not uploaded here (404), or content it refuses to look into (400,
/// or 413 over its limits), said without any of the node's own paths.
fn unreadable(what: &str, e: StoreError) -> ApiError {
    match e {
        StoreError::NotFound { .. } => ApiError::not_found(
            "content_not_here",
            format!(
                "this node cannot read {what}: {e}; it may not have been uploaded to this node"
            ),
        ),
        StoreError::LimitExceeded { .. } => ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "too_large_to_compare",
            format!("the node does not compare {what}: {e}"),
        ),
        e => ApiError::bad_request(format!("the node does not compare {what}: {e}"))
            .with_code("cannot_compare"),
    }
}

/// A single file's name as its card gives it (so its extension names its format), else `content`.
fn file_name(card: &Card) -> String {
    card.files
        .first()
        .and_then(|f| f.path.rsplit('/').next())
        .filter(|n| !n.is_empty() && *n != "." && *n != ".." && !n.contains('\\'))
        .unwrap_or("content")
        .to_string()
}

/// The plaintext of every file of `card`, streamed from the access gateway at `url` as the viewer (each read
/// a new request, its bytes counted against `reads`): a single file as itself, a folder by the card's paths
/// (names only: nothing is written anywhere). The first file is asked for once up front, so a refusal is the
/// answer's status rather than a note inside the diff.
async fn plaintext_tree(
    http: &scal3ml_store::http::HttpClient,
    url: &str,
    card: &Card,
    root: &Cid,
    viewer: Viewer,
    reads: &Budget,
    runtime: tokio::runtime::Handle,
) -> Result<Tree, ApiError> {
    let single = card.files.len() == 1 && card.files[0].cid == root.to_string();
    let from = |path: &str| {
        if single {
            url.to_string()
        } else {
            format!("{url}/{}", crate::web::format::path_encode(path))
        }
    };
    if let Some(first) = card.files.first() {
        let response = gateway_get(http, &from(&first.path), &viewer).await?;
        let status = response.status();
        if !status.is_success() {
            let body: serde_json::Value = response.json().await.unwrap_or_default();
            let reason = body["error"]["message"]
                .as_str()
                .unwrap_or("it refused")
                .to_string();
            return Err(ApiError::new(
                if status == StatusCode::NOT_FOUND {
                    StatusCode::NOT_FOUND
                } else {
                    StatusCode::FORBIDDEN
                },
                "encrypted_content",
                format!("the access gateway did not serve {}: {reason}", first.path),
            ));
        }
    }
    let input = |name: String, at: String, size: u64| {
        let (http, viewer, reads, runtime) =
            (http.clone(), viewer.clone(), reads.clone(), runtime.clone());
        Input::new(name, size, move || {
            let response = runtime
                .block_on(gateway_get(&http, &at, &viewer))
                .map_err(|e| std::io::Error::other(e.message))?;
            if !response.status().is_success() {
                return Err(std::io::Error::other(format!(
                    "the access gateway answered {}",
                    response.status()
                )));
            }
            let stream = response.bytes_stream().map_err(std::io::Error::other);
            let body = SyncIoBridge::new_with_handle(StreamReader::new(stream), runtime.clone());
            Ok(Box::new(Counted {
                inner: body,
                reads: reads.clone(),
            }) as Reader)
        })
    };
    if single {
        let f = &card.files[0];
        return Ok(Tree::File(input(file_name(card), from(&f.path), f.size)));
    }
    Ok(Tree::Folder(
        card.files
            .iter()
            .map(|f| (f.path.clone(), input(f.path.clone(), from(&f.path), f.size)))
            .collect(),
    ))
}

/// A GET to the access gateway with the viewer's credentials.
async fn gateway_get(
    http: &scal3ml_store::http::HttpClient,
    at: &str,
    viewer: &Viewer,
) -> Result<reqwest::Response, ApiError> {
    let mut request = http.reqwest().get(at);
    for (name, value) in &viewer.0 {
        request = request.header(name, value);
    }
    request.send().await.map_err(|e| {
        tracing::warn!(target: "server::diff", error = %e, "the access gateway did not answer");
        ApiError::internal("the node's access gateway did not answer; try again")
    })
}

/// A reader whose bytes count against a [`Budget`].
struct Counted<R> {
    inner: R,
    reads: Budget,
}

impl<R: std::io::Read> std::io::Read for Counted<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.reads
            .take_bytes(n as u64)
            .map_err(std::io::Error::other)?;
        Ok(n)
    }
}
