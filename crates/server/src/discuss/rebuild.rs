//! Rebuilds a lost discussions table from the documents the node pinned when they were posted. Every comment
//! and hide decision is a directly pinned raw block of its canonical JSON, so a node whose
//! `discussions.sqlite` is gone (deleted, or a fresh file beside an old block store) reads each direct pin,
//! keeps the blocks that are exactly a [`CommentDoc`] or [`HideDoc`], and puts them through the checks a post
//! gets (this node's domain, the signature, the asset, proposal and parent; the owner for a decision), the
//! clock aside: a document is as old as it is. Comments go in oldest first, replies after their parents; then
//! the decisions, oldest first, so the latest one for each comment is in force.
//!
//! The catalog may still be catching up with the chain when the node starts, so a document whose asset,
//! proposal or parent is not there yet is tried again every second for up to [`PATIENCE`].

use super::{
    CommentDoc, HideDoc,
    routes::{check_comment, check_hide, check_signed, table},
};
use crate::api::AppState;
use axum::http::StatusCode;
use scal3ml_api::ApiError;
use scal3ml_store::{BlockStore as _, Cid, Codec, PinMode, PinStore as _};
use serde::de::DeserializeOwned;
use std::{
    sync::Arc,
    time::{Duration, Instant},
};

/// How long a document that refers to something the catalog lacks is tried again.
pub(crate) const PATIENCE: Duration = Duration::from_secs(60);

/// Largest block read as a document (a comment is at most 10,000 characters plus its fields).
const MAX_DOCUMENT_BYTES: usize = 256 << 10;

/// What a rebuild put back, and what it left out.
#[derive(Debug, Default, PartialEq, Eq)]
pub(crate) struct Rebuilt {
    pub(crate) comments: usize,
    pub(crate) decisions: usize,
    /// Documents that failed a check (another chain, a bad signature, a missing asset after [`PATIENCE`]).
    pub(crate) refused: usize,
}

/// Rebuilds the table from the pins when it is empty; does nothing (and reads nothing) otherwise.
pub(crate) async fn if_empty(state: Arc<AppState>) -> Result<Rebuilt, ApiError> {
    if !table(&state, |d| d.is_empty()).await? {
        return Ok(Rebuilt::default());
    }
    let pins = state
        .store
        .pins()
        .await
        .map_err(|e| ApiError::internal(format!("listing the pins: {e}")))?;
    let mut comments: Vec<(Cid, CommentDoc)> = vec![];
    let mut decisions: Vec<(Cid, HideDoc)> = vec![];
    for (cid, mode) in pins {
        if mode != PinMode::Direct || cid.codec() != Codec::Raw {
            continue;
        }
        let Ok(bytes) = state.store.get(&cid).await else {
            continue;
        };
        if bytes.len() > MAX_DOCUMENT_BYTES {
            continue;
        }
        if let Some(doc) = document::<CommentDoc>(&bytes, CommentDoc::canonical_bytes) {
            comments.push((cid, doc));
        } else if let Some(doc) = document::<HideDoc>(&bytes, HideDoc::canonical_bytes) {
            decisions.push((cid, doc));
        }
    }
    comments.sort_by_key(|(cid, d)| (d.created_at, cid.to_string()));
    decisions.sort_by_key(|(cid, d)| (d.created_at, cid.to_string()));
    let mut rebuilt = Rebuilt::default();
    let started = Instant::now();
    let (done, refused) = in_rounds(comments, started, |(cid, doc)| {
        let state = state.clone();
        async move {
            check_signed(&state, &doc)?;
            check_comment(&state, &doc).await?;
            let cid = cid.to_string();
            table(&state, move |d| d.insert(&cid, &doc)).await?;
            Ok(())
        }
    })
    .await;
    (rebuilt.comments, rebuilt.refused) = (done, refused);
    let (done, refused) = in_rounds(decisions, started, |(cid, doc)| {
        let state = state.clone();
        async move {
            let comment = check_hide(&state, &doc).await?;
            if comment.hide.is_some_and(|h| h.created_at >= doc.created_at) {
                return Ok(());
            }
            let cid = cid.to_string();
            table(&state, move |d| d.set_hidden(&cid, &doc)).await?;
            Ok(())
        }
    })
    .await;
    rebuilt.decisions = done;
    rebuilt.refused += refused;
    Ok(rebuilt)
}

/// The block as a `T` if it is exactly `T`'s canonical bytes (so its CID is the document's id).
fn document<T: DeserializeOwned>(
    bytes: &[u8],
    canonical: fn(&T) -> Result<Vec<u8>, String>,
) -> Option<T> {
    let doc: T = serde_json::from_slice(bytes).ok()?;
    (canonical(&doc).ok()? == bytes).then_some(doc)
}

/// Applies `apply` to each item in order, again every second to those refused with 404 (something not in
/// the catalog yet) until [`PATIENCE`] after `started`; returns how many were applied and how many refused.
async fn in_rounds<T: Clone, F, Fut>(
    mut pending: Vec<T>,
    started: Instant,
    apply: F,
) -> (usize, usize)
where
    F: Fn(T) -> Fut,
    Fut: std::future::Future<Output = Result<(), ApiError>>,
{
    let (mut done, mut refused) = (0, 0);
    loop {
        let mut later = vec![];
        for item in pending {
            match apply(item.clone()).await {
                Ok(()) => done += 1,
                Err(e) if e.status == StatusCode::NOT_FOUND && started.elapsed() < PATIENCE => {
                    later.push(item)
                }
                Err(e) => {
                    tracing::warn!(target: "scal3ml::discuss", code = %e.code, message = %e.message,
                        "a pinned discussion document was left out of the rebuilt table");
                    refused += 1;
                }
            }
        }
        if later.is_empty() {
            return (done, refused);
        }
        pending = later;
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
}
