//! The discussion routes: threads to read, signed comments and hide decisions to post, and the EIP-712 typed
//! data a browser wallet signs. The POSTs need no CSRF token: what authorises them is the author's (or the
//! owner's) signature over the document, which another site cannot make, unlike a cookie it can ride on.

use super::{
    CLOCK_SKEW_SECS, CommentDoc, HideDoc, MAX_BODY_CHARS,
    store::{Discussions, Inserted},
};
use crate::api::{AppState, query};
use alloy::primitives::Address;
use axum::{
    Json,
    extract::{Path, Query, State},
    http::StatusCode,
};
use scal3ml_api::ApiJson;
use scal3ml_api::{ApiError, HideResult, Posted};
use scal3ml_api::{CommentNode, Thread};
use scal3ml_primitives::AssetId;
use scal3ml_primitives::clock::now_secs;
use scal3ml_store::{Block, Cid, Codec, PinMode, PinStore as _};
use serde::{Deserialize, Serialize};
use std::sync::Arc;
use utoipa::ToSchema;
use utoipa_axum::routes;

pub(crate) fn routes() -> crate::api::Routes {
    crate::api::Routes::new()
        .routes(routes!(thread))
        .routes(routes!(post_comment))
        .routes(routes!(comment_typed_data))
        .routes(routes!(comment))
        .routes(routes!(hide))
        .routes(routes!(hide_typed_data))
}

/// `?proposal=P` of a thread.
#[derive(Debug, Deserialize)]
pub(crate) struct ThreadQuery {
    #[serde(default)]
    proposal: u64,
}

/// `POST /api/comments/typed-data`: what to sign.
#[derive(Debug, Deserialize, ToSchema)]
pub(crate) struct CommentDraft {
    /// Who will sign.
    #[schema(value_type = String, pattern = "^(0x)?[0-9a-fA-F]{40}$")]
    author: Address,
    /// The asset.
    asset: u64,
    /// The proposal, or 0 (the default) for the asset itself.
    #[serde(default)]
    proposal: u64,
    /// The CID of the comment replied to, or "" (the default).
    #[serde(default)]
    parent: String,
    /// Markdown, 1 to 10,000 characters.
    body: String,
}

/// `POST /api/comments/{cid}/hide/typed-data`: what to sign.
#[derive(Debug, Deserialize, ToSchema)]
pub(crate) struct HideDraft {
    /// The asset's owner, who will sign.
    #[schema(value_type = String, pattern = "^(0x)?[0-9a-fA-F]{40}$")]
    owner: Address,
    /// true (the default) to hide, false to show again.
    #[serde(default = "yes")]
    hidden: bool,
}

fn yes() -> bool {
    true
}

/// A document to sign: `typed_data` goes to `eth_signTypedData_v4`; `document` with the signature filled in
/// is what to post.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub(crate) struct ToSign<T: ToSchema> {
    #[schema(value_type = Object)]
    typed_data: serde_json::Value,
    document: T,
}

/// The threads on an asset, or on one of its proposals: every comment, hidden ones included (marked, with
/// their body, so that anyone can verify them), replies under their parent, oldest first.
#[utoipa::path(get, path = "/api/assets/{id}/comments",
    params(("id" = u64, Path, description = "asset id"),
        ("proposal" = Option<u64>, Query, description = "a proposal of the asset; absent or 0 for the asset itself")),
    responses((status = 200, body = Thread), (status = 404, description = "no such asset or proposal")))]
pub(crate) async fn thread(
    State(state): State<Arc<AppState>>,
    Path(id): Path<u64>,
    q: Result<Query<ThreadQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Json<Thread>, ApiError> {
    let Query(q) = q.map_err(|e| {
        ApiError::bad_request(format!(
            "{}; proposal is a proposal id (a whole number)",
            e.body_text()
        ))
    })?;
    owner_of(&state, id).await?;
    check_proposal(&state, id, q.proposal).await?;
    Ok(Json(
        table(&state, move |d| d.thread(id, q.proposal)).await?,
    ))
}

/// One comment (its replies are in its thread).
#[utoipa::path(get, path = "/api/comments/{cid}", params(("cid" = String, Path, description = "the comment's CID")),
    responses((status = 200, body = CommentNode), (status = 404, description = "no such comment")))]
pub(crate) async fn comment(
    State(state): State<Arc<AppState>>,
    Path(cid): Path<String>,
) -> Result<Json<CommentNode>, ApiError> {
    Ok(Json(find(&state, &cid).await?))
}

/// Posts a signed comment. The node checks that the signature recovers to `author` over this node's domain,
/// that the asset (and the proposal, and the parent in the same thread) exist, that the body holds 1 to
/// 10,000 characters and that `created_at` is within 10 minutes of its clock; then stores the document as a
/// pinned raw block, whose CID is the comment's id. The same document posted again answers the same CID.
#[utoipa::path(post, path = "/api/comments", request_body = CommentDoc,
    responses((status = 200, body = Posted),
        (status = 400, description = "a bad signature (`bad_signature`), another chain or marketplace (`wrong_domain`), an empty or long body, a clock too far off (`clock_skew`), a parent in another thread (`wrong_thread`)"),
        (status = 404, description = "no such asset, proposal or parent"),
        (status = 429, description = "the author or this address sent too many comments and uploads this hour (`too_many_uploads`)")))]
pub(crate) async fn post_comment(
    State(state): State<Arc<AppState>>,
    ext: axum::http::Extensions,
    headers: axum::http::HeaderMap,
    ApiJson(doc): ApiJson<CommentDoc>,
) -> Result<Json<Posted>, ApiError> {
    check_signed(&state, &doc)?;
    let bytes = doc.canonical_bytes().map_err(bad_signature)?;
    let block = Block::hash(Codec::Raw, bytes)
        .map_err(|e| ApiError::bad_request(format!("the comment is too large to store: {e}")))?;
    let cid = block.cid().to_string();
    if find(&state, &cid).await.is_ok() {
        return Ok(Json(Posted { cid, new: false }));
    }
    check_clock(doc.created_at)?;
    check_comment(&state, &doc).await?;
    state
        .uploads
        .count(doc.author, state.access.client_address(&ext, &headers))?;
    store(&state, block).await?;
    let stored = {
        let cid = cid.clone();
        table(&state, move |d| d.insert(&cid, &doc)).await?
    };
    Ok(Json(Posted {
        cid,
        new: stored == Inserted::New,
    }))
}

/// The EIP-712 typed data of a comment, for a wallet's `eth_signTypedData_v4`, with the document to post once
/// it is signed (`created_at` set to now). The draft is checked as a posted comment is, signature aside.
#[utoipa::path(post, path = "/api/comments/typed-data", request_body = CommentDraft,
    responses((status = 200, body = inline(ToSign<CommentDoc>), description = "`{typed_data, document}`"),
        (status = 400, description = "an empty or long body, a parent in another thread"),
        (status = 404, description = "no such asset, proposal or parent")))]
pub(crate) async fn comment_typed_data(
    State(state): State<Arc<AppState>>,
    ApiJson(draft): ApiJson<CommentDraft>,
) -> Result<Json<ToSign<CommentDoc>>, ApiError> {
    let doc = CommentDoc {
        chain_id: state.network.chain_id,
        marketplace: state.network.marketplace,
        asset: draft.asset,
        proposal: draft.proposal,
        parent: draft.parent.trim().to_owned(),
        body: draft.body,
        created_at: now_secs(),
        author: draft.author,
        signature: String::new(),
    };
    check_comment(&state, &doc).await?;
    Ok(Json(ToSign {
        typed_data: doc.typed_data(),
        document: doc,
    }))
}

/// Hides a comment, or shows it again, by a decision the asset's current owner signed. The comment stays
/// stored and listed (marked hidden, its body and signature intact); the decision is stored beside it as a
/// pinned raw block. A decision older than the one in force is refused (409), so an old one cannot be
/// replayed.
#[utoipa::path(post, path = "/api/comments/{cid}/hide", params(("cid" = String, Path, description = "the comment's CID")),
    request_body = HideDoc,
    responses((status = 200, body = HideResult),
        (status = 400, description = "a bad signature, another chain or marketplace, another comment, a clock too far off"),
        (status = 403, description = "the signer is not the asset's owner (`not_owner`)"),
        (status = 404, description = "no such comment"),
        (status = 409, description = "older than the decision in force (`stale_decision`)")))]
pub(crate) async fn hide(
    State(state): State<Arc<AppState>>,
    ext: axum::http::Extensions,
    headers: axum::http::HeaderMap,
    Path(cid): Path<String>,
    ApiJson(doc): ApiJson<HideDoc>,
) -> Result<Json<HideResult>, ApiError> {
    if doc.comment != cid {
        return Err(ApiError::bad_request(format!(
            "the decision names the comment {:?} but was posted to {cid}: post it to /api/comments/{}/hide",
            doc.comment, doc.comment
        )));
    }
    let comment = check_hide(&state, &doc).await?;
    check_clock(doc.created_at)?;
    if let Some(current) = &comment.hide
        && doc.created_at <= current.created_at
    {
        return Err(ApiError::new(
            StatusCode::CONFLICT,
            "stale_decision",
            format!(
                "a later decision (signed at {}) is in force for {cid}: sign a new one",
                current.created_at
            ),
        ));
    }
    let bytes = doc.canonical_bytes().map_err(bad_signature)?;
    let block = Block::hash(Codec::Raw, bytes)
        .map_err(|e| ApiError::bad_request(format!("the decision is too large to store: {e}")))?;
    let hide_cid = block.cid().to_string();
    state
        .uploads
        .count(doc.owner, state.access.client_address(&ext, &headers))?;
    store(&state, block).await?;
    let hidden = doc.hidden;
    {
        let hide_cid = hide_cid.clone();
        table(&state, move |d| d.set_hidden(&hide_cid, &doc)).await?;
    }
    Ok(Json(HideResult {
        comment: cid,
        hidden,
        hide_cid,
    }))
}

/// The EIP-712 typed data of a hide decision, with the document to post once signed; refused unless `owner`
/// owns the comment's asset now.
#[utoipa::path(post, path = "/api/comments/{cid}/hide/typed-data",
    params(("cid" = String, Path, description = "the comment's CID")), request_body = HideDraft,
    responses((status = 200, body = inline(ToSign<HideDoc>), description = "`{typed_data, document}`"),
        (status = 403, description = "not the asset's owner"), (status = 404, description = "no such comment")))]
pub(crate) async fn hide_typed_data(
    State(state): State<Arc<AppState>>,
    Path(cid): Path<String>,
    ApiJson(draft): ApiJson<HideDraft>,
) -> Result<Json<ToSign<HideDoc>>, ApiError> {
    let comment = find(&state, &cid).await?;
    check_owner(&state, comment.asset, draft.owner).await?;
    let doc = HideDoc {
        chain_id: state.network.chain_id,
        marketplace: state.network.marketplace,
        comment: cid,
        hidden: draft.hidden,
        // One second after the decision in force at least, so a quick unhide after a hide is not stale.
        created_at: now_secs().max(comment.hide.map_or(0, |h| h.created_at + 1)),
        owner: draft.owner,
        signature: String::new(),
    };
    Ok(Json(ToSign {
        typed_data: doc.typed_data(),
        document: doc,
    }))
}

/// Runs a query of the discussions table off the async threads.
pub(crate) async fn table<T: Send + 'static>(
    state: &AppState,
    f: impl FnOnce(&Discussions) -> Result<T, super::store::DiscussError> + Send + 'static,
) -> Result<T, ApiError> {
    let d = state.discussions.clone();
    tokio::task::spawn_blocking(move || f(&d))
        .await
        .map_err(|e| ApiError::internal(format!("the discussions task failed: {e}")))?
        .map_err(|e| ApiError::internal(e.to_string()))
}

fn bad_signature(message: String) -> ApiError {
    ApiError::bad_request(message).with_code("bad_signature")
}

fn check_domain(state: &AppState, chain_id: u64, marketplace: Address) -> Result<(), ApiError> {
    let n = &state.network;
    if chain_id != n.chain_id || marketplace != n.marketplace {
        return Err(ApiError::bad_request(format!(
            "the document is signed for chain {chain_id} and marketplace {marketplace}, but this node serves \
             chain {} and marketplace {}: sign it again for this node (GET /api/network)",
            n.chain_id, n.marketplace
        ))
        .with_code("wrong_domain"));
    }
    Ok(())
}

fn check_clock(created_at: u64) -> Result<(), ApiError> {
    let now = now_secs();
    if created_at.abs_diff(now) > CLOCK_SKEW_SECS {
        return Err(ApiError::bad_request(format!(
            "created_at is {created_at}, but the node's clock reads {now}: they may differ by at most {} \
             minutes; check your clock and sign again",
            CLOCK_SKEW_SECS / 60
        ))
        .with_code("clock_skew"));
    }
    Ok(())
}

/// That a comment is for this node's domain and its signature recovers to its author.
pub(super) fn check_signed(state: &AppState, doc: &CommentDoc) -> Result<(), ApiError> {
    check_domain(state, doc.chain_id, doc.marketplace)?;
    let recovered = doc.recover().map_err(bad_signature)?;
    if recovered != doc.author {
        return Err(bad_signature(format!(
            "the signature recovers to {recovered}, not to the author {}: sign the comment as its author \
             (the typed data of POST /api/comments/typed-data, or `scal3ml comment`)",
            doc.author
        )));
    }
    Ok(())
}

/// Everything about a hide decision but its clock: this node's domain, the owner's signature, and the comment
/// it names, whose asset the signer owns now. Returns that comment.
pub(super) async fn check_hide(state: &AppState, doc: &HideDoc) -> Result<CommentNode, ApiError> {
    check_domain(state, doc.chain_id, doc.marketplace)?;
    let recovered = doc.recover().map_err(bad_signature)?;
    if recovered != doc.owner {
        return Err(bad_signature(format!(
            "the signature recovers to {recovered}, not to the owner {} the decision names: sign it as the \
             asset's owner (`scal3ml comment-hide`)",
            doc.owner
        )));
    }
    let comment = find(state, &doc.comment).await?;
    check_owner(state, comment.asset, doc.owner).await?;
    Ok(comment)
}

/// Everything about a comment but its signature and its clock: its body, and that its asset (and proposal,
/// and parent in the same thread) exist.
pub(super) async fn check_comment(state: &AppState, doc: &CommentDoc) -> Result<(), ApiError> {
    let chars = doc.body.chars().count();
    if doc.body.trim().is_empty() {
        return Err(ApiError::bad_request(
            "the comment is empty: write something",
        ));
    }
    if chars > MAX_BODY_CHARS {
        return Err(ApiError::bad_request(format!(
            "the comment holds {chars} characters; at most {MAX_BODY_CHARS} are accepted: shorten it or \
             split it into replies"
        )));
    }
    owner_of(state, doc.asset).await?;
    check_proposal(state, doc.asset, doc.proposal).await?;
    if !doc.parent.is_empty() {
        doc.parent.parse::<Cid>().map_err(|e| {
            ApiError::bad_request(format!(
                "the parent {:?} is not a CID ({e}): give the id of the comment replied to",
                doc.parent
            ))
        })?;
        let parent = find(state, &doc.parent).await.map_err(|_| {
            ApiError::not_found(
                "no_such_parent",
                format!(
                    "no comment {} on this node to reply to: check the id with `scal3ml comments {}`",
                    doc.parent, doc.asset
                ),
            )
        })?;
        if (parent.asset, parent.proposal) != (doc.asset, doc.proposal) {
            return Err(ApiError::bad_request(format!(
                "the parent {} is in the thread of {}, not of {}: reply in the parent's thread",
                doc.parent,
                thread_name(parent.asset, parent.proposal),
                thread_name(doc.asset, doc.proposal)
            ))
            .with_code("wrong_thread"));
        }
    }
    Ok(())
}

fn thread_name(asset: u64, proposal: u64) -> String {
    if proposal == 0 {
        format!("asset {asset}")
    } else {
        format!("proposal {proposal} of asset {asset}")
    }
}

/// The asset's current owner, or 404.
async fn owner_of(state: &AppState, asset: u64) -> Result<Address, ApiError> {
    query(state, move |i| i.summary(AssetId(asset)))
        .await?
        .map(|s| s.owner)
        .ok_or_else(|| {
            ApiError::not_found(
                "no_such_asset",
                format!(
                    "no asset {asset} in the catalog: check the id with `scal3ml search`, or wait a moment if \
                     it was just published"
                ),
            )
        })
}

async fn check_owner(state: &AppState, asset: u64, signer: Address) -> Result<(), ApiError> {
    let owner = owner_of(state, asset).await?;
    if owner != signer {
        return Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "not_owner",
            format!(
                "only the owner of asset {asset} ({owner}) can hide its comments, not {signer}: sign as the \
                 owner"
            ),
        ));
    }
    Ok(())
}

async fn check_proposal(state: &AppState, asset: u64, proposal: u64) -> Result<(), ApiError> {
    if proposal == 0 {
        return Ok(());
    }
    let proposals = query(state, move |i| i.proposals(AssetId(asset))).await?;
    if !proposals.iter().any(|p| p.id == proposal) {
        return Err(ApiError::not_found(
            "no_such_proposal",
            format!(
                "asset {asset} has no proposal {proposal}: its proposals are listed at /assets/{asset}/proposals"
            ),
        ));
    }
    Ok(())
}

async fn find(state: &AppState, cid: &str) -> Result<CommentNode, ApiError> {
    let key = cid.to_owned();
    table(state, move |d| d.get(&key)).await?.ok_or_else(|| {
        ApiError::not_found(
            "no_such_comment",
            format!(
                "no comment {cid} on this node: comment ids are listed by `scal3ml comments ASSET`"
            ),
        )
    })
}

/// Writes a document block, pins it, and hands it on as an upload is (`--ipfs-api`, `--pinning-service`).
async fn store(state: &AppState, block: Block) -> Result<(), ApiError> {
    use scal3ml_store::BlockStore as _;
    let cid = *block.cid();
    let failed = |e: scal3ml_store::StoreError| {
        ApiError::internal(format!("storing the document {cid} failed: {e}"))
    };
    // Garbage collection waits until the block is pinned.
    let _writing = state.uploads.writing().await;
    state.store.put(block).await.map_err(failed)?;
    state
        .store
        .pin(&cid, PinMode::Direct)
        .await
        .map_err(failed)?;
    // Uploaded before as a CAR root? The node keeps it now as a signed document: no sweep may drop it.
    state.uploads.keep(&cid).await?;
    crate::api::hand_on(state, &[cid]).await?;
    Ok(())
}
