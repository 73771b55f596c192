//! The "Discussion" section of the asset page and of each proposal: threads rendered server-side (bodies as
//! sanitised Markdown, hidden comments folded in a `<details>`), and the form and buttons `app.js` binds to
//! (sign with the wallet, post, reload the section from `/assets/{id}/discussion`). Reading needs no script.

use crate::{
    api::{AppState, query},
    discuss::routes::table,
    web::{Ctx, PageError, asset_id, format, markdown},
};
use alloy::primitives::Address;
use askama::Template;
use axum::{
    extract::{Path, Query, State},
    http::{HeaderMap, StatusCode},
    response::{Html, IntoResponse, Response},
};
use scal3ml_api::CommentNode;
use scal3ml_primitives::AssetId;
use serde::Deserialize;
use std::sync::Arc;

/// Replies deeper than this are indented as much as this.
const MAX_INDENT: usize = 6;

struct CommentRow {
    cid: String,
    /// Indentation level, 0 for a thread's first comment.
    depth: usize,
    author: String,
    author_short: String,
    time: String,
    iso: String,
    body_html: String,
    hidden: bool,
}

#[derive(Template)]
#[template(path = "discussion.html")]
pub(crate) struct DiscussionSection {
    asset: u64,
    /// 0 for the asset itself.
    proposal: u64,
    /// The asset's owner: `app.js` shows the Hide buttons to this account.
    owner: String,
    count: u64,
    comments: Vec<CommentRow>,
}

impl DiscussionSection {
    /// `discussion` or `discussion-P`: the section's id, and the prefix of its elements' ids.
    fn key(&self) -> String {
        if self.proposal == 0 {
            "discussion".into()
        } else {
            format!("discussion-{}", self.proposal)
        }
    }
}

fn flatten(nodes: &[CommentNode], depth: usize, out: &mut Vec<CommentRow>) {
    for c in nodes {
        let author: Address = c.author.parse().unwrap_or_default();
        out.push(CommentRow {
            cid: c.cid.clone(),
            depth: depth.min(MAX_INDENT),
            author: c.author.clone(),
            author_short: format::short_address(author),
            time: format::time(c.created_at),
            iso: format::iso_time(c.created_at),
            body_html: markdown::render(&c.body),
            hidden: c.hidden,
        });
        flatten(&c.replies, depth + 1, out);
    }
}

/// The section for `asset` (owned by `owner`), on its proposal `proposal` or on itself for 0, as HTML.
pub(crate) async fn section(
    state: &AppState,
    asset: u64,
    proposal: u64,
    owner: Address,
) -> Result<String, PageError> {
    let thread = table(state, move |d| d.thread(asset, proposal)).await?;
    let mut comments = Vec::with_capacity(thread.count as usize);
    flatten(&thread.comments, 0, &mut comments);
    DiscussionSection {
        asset,
        proposal,
        owner: owner.to_checksum(None),
        count: thread.count,
        comments,
    }
    .render()
    .map_err(|e| PageError::internal(format!("the discussion could not be rendered: {e}")))
}

#[derive(Deserialize)]
pub(crate) struct FragmentQuery {
    #[serde(default)]
    proposal: u64,
}

/// `GET /assets/{id}/discussion[?proposal=P]`: the section alone, for `app.js` to put in place after a post.
pub(crate) async fn fragment(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    Path(id): Path<String>,
    q: Result<Query<FragmentQuery>, axum::extract::rejection::QueryRejection>,
) -> Response {
    let proposal = q.map_or(0, |Query(q)| q.proposal);
    let found = async {
        let asset = asset_id(&id)?;
        let summary = query(&state, move |i| i.summary(AssetId(asset)))
            .await?
            .ok_or_else(|| PageError::no_asset(&id))?;
        section(&state, asset, proposal, summary.owner).await
    }
    .await;
    match found {
        Ok(html) => {
            let mut r = (StatusCode::OK, Html(html)).into_response();
            r.headers_mut().insert(
                axum::http::header::CACHE_CONTROL,
                axum::http::HeaderValue::from_static("no-store"),
            );
            r
        }
        Err(e) => Ctx::new(state, &headers).error(e),
    }
}
