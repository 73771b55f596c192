//! `/assets/{id}/proposals`: proposed new versions of an asset with their tallies, and the Vote, Execute and
//! Reject buttons the wallet script binds to.

use crate::{
    api::{AppState, query},
    web::{Ctx, Layout, Nav, PageError, asset_id, discussion, format},
};
use alloy::primitives::U256;
use askama::Template;
use axum::{
    extract::{Path, State},
    http::HeaderMap,
    response::Response,
};
use std::{sync::Arc, time::SystemTime};

struct ProposalView {
    id: u64,
    /// `open`, `expired`, `executed`, `rejected`.
    state: String,
    /// Voting is still possible.
    open: bool,
    proposer: String,
    proposer_short: String,
    requested: String,
    requested_percent: String,
    yes_percent: String,
    no_percent: String,
    votes: String,
    deadline: String,
    deadline_iso: String,
    snapshot_block: u64,
    content_cid: String,
    metadata_cid: String,
    description_cid: String,
    version_index: Option<u64>,
    /// This proposal's Discussion section (web/discussion.rs), rendered.
    discussion_html: String,
}

#[derive(Template)]
#[template(path = "proposals.html")]
struct ProposalsPage {
    layout: Layout,
    id: u64,
    name: String,
    proposals: Vec<ProposalView>,
}

pub(crate) async fn page(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Response {
    let ctx = Ctx::new(state, &headers);
    match build(&ctx, &id).await {
        Ok(page) => ctx.render(&page),
        Err(e) => ctx.error(e),
    }
}

async fn build(ctx: &Ctx, id_text: &str) -> Result<ProposalsPage, PageError> {
    let id = asset_id(id_text)?;
    let (detail, proposals) = query(&ctx.state, move |i| {
        let Some(detail) = i.asset(id)? else {
            return Ok((None, vec![]));
        };
        Ok((Some(detail), i.proposals(id)?))
    })
    .await?;
    let detail = detail.ok_or_else(|| PageError::no_asset(id_text))?;
    let shares: U256 = detail
        .shareholders
        .iter()
        .fold(U256::ZERO, |a, h| a + h.shares);
    let now = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let name = if detail.summary.name.is_empty() {
        format!("Asset {id}")
    } else {
        detail.summary.name.clone()
    };
    let mut proposals: Vec<ProposalView> = proposals
        .iter()
        .rev()
        .map(|p| {
            let expired = p.state == "open" && p.deadline <= now;
            ProposalView {
                id: p.id,
                state: if expired {
                    "expired".into()
                } else {
                    p.state.clone()
                },
                open: p.state == "open",
                proposer: p.proposer.to_checksum(None),
                proposer_short: format::short_address(p.proposer),
                requested: format::amount_text(p.requested_shares, 0),
                requested_percent: format::percent(p.requested_shares, shares + p.requested_shares),
                yes_percent: format::percent(p.yes_votes, shares),
                no_percent: format::percent(p.no_votes, shares),
                votes: format::count(p.votes, "vote"),
                deadline: format::time(p.deadline),
                deadline_iso: format::iso_time(p.deadline),
                snapshot_block: p.snapshot_block,
                content_cid: p.content_cid.clone(),
                metadata_cid: p.metadata_cid.clone(),
                description_cid: p.description_cid.clone(),
                version_index: p.version_index,
                discussion_html: String::new(),
            }
        })
        .collect();
    for p in &mut proposals {
        p.discussion_html = discussion::section(&ctx.state, id, p.id, detail.summary.owner).await?;
    }
    Ok(ProposalsPage {
        layout: ctx.layout(format!("Proposals · {name}"), Nav::None),
        id,
        name,
        proposals,
    })
}
