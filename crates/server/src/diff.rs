//! `GET /api/assets/{id}/diff` and `GET /api/proposals/{id}/diff`: what changed between two versions of an
//! asset, or between its latest version and a proposal, compared by scal3ml-diff. For content stored in the
//! clear only: the node exports both sides from its own block store into a temporary folder. Encrypted content
//! is refused with 403: the node holds no plaintext, so a licensee compares it with `scal3ml diff`.

use crate::api::{AppState, query};
use axum::{
    Json, Router,
    extract::{Path, Query, State},
    http::StatusCode,
    routing::get,
};
use scal3ml_access::ApiError;
use scal3ml_diff::{DiffOptions, TreeDiff};
use scal3ml_primitives::card::Card;
use scal3ml_store::{Cid, export};
use serde::{Deserialize, Serialize};
use std::sync::Arc;
use utoipa::ToSchema;

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

pub(crate) fn router(state: Arc<AppState>) -> Router {
    Router::new()
        .route("/api/assets/{id}/diff", get(asset_diff))
        .route("/api/proposals/{id}/diff", get(proposal_diff))
        .with_state(state)
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
            "asset {id} is encrypted, so the node cannot read {what}: as a licensee (or the proposer), run \
             `scal3ml diff {id} {}` with your signer flags",
            if what.starts_with("proposal") {
                format!("--proposal {}", what.trim_start_matches("proposal "))
            } else {
                "--from N --to N".to_string()
            }
        ),
    )
}

/// Two versions of an asset compared (tables: rows, schema, column statistics; models: tensors, inputs,
/// outputs). Only for content stored in the clear, up to 512 MiB.
#[utoipa::path(get, path = "/api/assets/{id}/diff",
    params(
        ("id" = u64, Path, description = "asset id"),
        ("from" = Option<u64>, Query, description = "old version [default: the one before `to`]"),
        ("to" = Option<u64>, Query, description = "new version [default: the latest]"),
        ("key" = Option<String>, Query, description = "key column of CSV/JSON Lines rows [default: rows compared by content]"),
        ("max_examples" = Option<usize>, Query, description = "example rows per category, at most 1000 [default: 20]"),
    ),
    responses((status = 200, body = AssetDiff),
        (status = 400, description = "a bad parameter, a key column that is missing or not unique, a file that does not parse"),
        (status = 403, description = "encrypted content: compare it with `scal3ml diff` as a licensee"),
        (status = 404, description = "no such asset or version"),
        (status = 413, description = "content larger than 512 MiB")))]
pub(crate) async fn asset_diff(
    State(state): State<Arc<AppState>>,
    Path(id): Path<u64>,
    q: Result<Query<DiffQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Json<AssetDiff>, ApiError> {
    let q = parse_query(q)?;
    let opts = options(&q)?;
    let detail = query(&state, move |i| i.asset(id))
        .await?
        .ok_or_else(|| no_asset(id))?;
    let last = detail
        .versions
        .last()
        .map(|v| v.index)
        .ok_or_else(|| no_asset(id))?;
    let to = q.to.unwrap_or(last);
    let from = match q.from {
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
    if detail.summary.encrypted {
        return Err(encrypted(id, "its versions"));
    }
    let diff = compare(
        &state,
        (&a.content_cid, &a.metadata_cid),
        (&b.content_cid, &b.metadata_cid),
        opts,
        (format!("asset {id} v{from}"), format!("asset {id} v{to}")),
    )
    .await?;
    Ok(Json(AssetDiff {
        asset: id,
        from,
        to: Some(to),
        proposal: None,
        diff,
    }))
}

/// A proposal's content compared with its asset's latest version. Only for content stored in the clear, up
/// to 512 MiB.
#[utoipa::path(get, path = "/api/proposals/{id}/diff",
    params(
        ("id" = u64, Path, description = "proposal id"),
        ("key" = Option<String>, Query, description = "key column of CSV/JSON Lines rows [default: rows compared by content]"),
        ("max_examples" = Option<usize>, Query, description = "example rows per category, at most 1000 [default: 20]"),
    ),
    responses((status = 200, body = AssetDiff),
        (status = 400, description = "a bad parameter, a key column that is missing or not unique, a file that does not parse"),
        (status = 403, description = "encrypted content: compare it with `scal3ml diff ASSET --proposal ID` as a licensee"),
        (status = 404, description = "no such proposal, or its content is not on this node"),
        (status = 413, description = "content larger than 512 MiB")))]
pub(crate) async fn proposal_diff(
    State(state): State<Arc<AppState>>,
    Path(id): Path<u64>,
    q: Result<Query<DiffQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Json<AssetDiff>, ApiError> {
    let q = parse_query(q)?;
    let opts = options(&q)?;
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
        .proposal(id)
        .await
        .map_err(|_| no_proposal())?
        .asset
        .0;
    let proposal = query(&state, move |i| i.proposals(asset))
        .await?
        .into_iter()
        .find(|p| p.id == id)
        .ok_or_else(no_proposal)?;
    let detail = query(&state, move |i| i.asset(asset))
        .await?
        .ok_or_else(|| no_asset(asset))?;
    let latest = detail.versions.last().ok_or_else(|| no_asset(asset))?;
    if detail.summary.encrypted {
        return Err(encrypted(asset, &format!("proposal {id}")));
    }
    let diff = compare(
        &state,
        (&latest.content_cid, &latest.metadata_cid),
        (&proposal.content_cid, &proposal.metadata_cid),
        opts,
        (
            format!("asset {asset} v{}", latest.index),
            format!("proposal {id}"),
        ),
    )
    .await?;
    Ok(Json(AssetDiff {
        asset,
        from: latest.index,
        to: None,
        proposal: Some(id),
        diff,
    }))
}

fn no_asset(id: u64) -> ApiError {
    ApiError::not_found(
        "no_such_asset",
        format!("no asset {id} in the catalog: check the id with `scal3ml search`"),
    )
}

/// Exports both sides into a temporary folder and compares them off the async threads.
async fn compare(
    state: &AppState,
    old: (&str, &str),
    new: (&str, &str),
    opts: DiffOptions,
    labels: (String, String),
) -> Result<TreeDiff, ApiError> {
    let dir = tempfile::tempdir()
        .map_err(|e| ApiError::internal(format!("creating a temporary folder: {e}")))?;
    let mut budget = MAX_DIFF_BYTES;
    let a = export_side(state, old, &dir.path().join("old"), &mut budget).await?;
    let b = export_side(state, new, &dir.path().join("new"), &mut budget).await?;
    let mut diff = tokio::task::spawn_blocking(move || {
        let diff = scal3ml_diff::diff_dirs(&a, &b, &opts);
        drop(dir);
        diff
    })
    .await
    .map_err(|e| ApiError::internal(format!("the diff task failed: {e}")))?
    .map_err(|e| ApiError::bad_request(e.to_string()).with_code("cannot_compare"))?;
    diff.old = labels.0;
    diff.new = labels.1;
    Ok(diff)
}

/// Writes one side's content under `dest` (a single file under its card name, so its extension names its
/// format; a folder as `dest/content`), refusing it when it would exceed `budget`.
async fn export_side(
    state: &AppState,
    (content, metadata): (&str, &str),
    dest: &std::path::Path,
    budget: &mut u64,
) -> Result<std::path::PathBuf, ApiError> {
    let root: Cid = content.parse().map_err(|_| {
        ApiError::internal(format!("the catalog's content id {content} is not a CID"))
    })?;
    let card_cid: Cid = metadata.parse().map_err(|_| {
        ApiError::internal(format!("the catalog's card id {metadata} is not a CID"))
    })?;
    let not_here = |what: &str, e: scal3ml_store::StoreError| {
        ApiError::not_found(
            "content_not_here",
            format!(
                "this node cannot read {what}: {e}; it may not have been uploaded to this node"
            ),
        )
    };
    let info = export::stat(&state.store, &root)
        .await
        .map_err(|e| not_here(&format!("content {root}"), e))?;
    let size = match info.kind {
        export::Kind::Directory => export::ls(&state.store, &root)
            .await
            .map_err(|e| not_here(&format!("content {root}"), e))?
            .iter()
            .map(|e| e.tsize)
            .sum(),
        _ => info.size,
    };
    if size > *budget {
        return Err(ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "too_large_to_compare",
            format!(
                "the two sides are over {} MiB together, more than the node compares: download them with \
                 `scal3ml get` and run `scal3ml diff --old PATH --new PATH`",
                MAX_DIFF_BYTES >> 20
            ),
        ));
    }
    *budget -= size;
    let name = if info.kind == export::Kind::Directory {
        "content".to_string()
    } else {
        let card = export::cat_to_vec(&state.store, &card_cid)
            .await
            .map_err(|e| not_here(&format!("card {card_cid}"), e))?;
        let card = Card::from_json(&card)
            .map_err(|e| ApiError::internal(format!("the card {card_cid} is not valid: {e}")))?;
        card.files
            .first()
            .and_then(|f| f.path.rsplit('/').next())
            .filter(|n| !n.is_empty() && *n != "." && *n != ".." && !n.contains('\\'))
            .unwrap_or("content")
            .to_string()
    };
    std::fs::create_dir_all(dest)
        .map_err(|e| ApiError::internal(format!("creating {}: {e}", dest.display())))?;
    let target = dest.join(name);
    export::get_to_path(&state.store, &root, &target)
        .await
        .map_err(|e| not_here(&format!("content {root}"), e))?;
    Ok(target)
}
