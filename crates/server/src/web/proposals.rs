//! `/assets/{id}/proposals`: proposed new versions of an asset, each with its message, the tally against the
//! majority it needs, what passing would change in the shares and in the content (the same [`ProposalDetail`]
//! and diff as the API), and the Vote, Execute and Reject buttons the wallet script binds to.

use crate::{
    api::{AppState, query},
    diff,
    proposal::detail_of,
    web::{Ctx, Layout, Nav, PageError, asset_id, discussion, format, markdown},
};
use alloy::primitives::U256;
use askama::Template;
use axum::{
    extract::{Path, State},
    http::HeaderMap,
    response::Response,
};
use futures_util::{StreamExt, TryStreamExt, stream};
use scal3ml_api::{ProposalDetail, ProposalStatus};
use scal3ml_primitives::AssetId;
use std::sync::Arc;

/// Proposals whose detail, diff and discussion are read at the same time.
const PROPOSALS_AT_ONCE: usize = 4;

/// One holder's line of "If it passes".
struct ShareRow {
    holder: String,
    holder_short: String,
    now: String,
    after: String,
    proposer: bool,
}

struct ProposalView {
    id: u64,
    /// `open`, `passed` (open with a majority), `expired`, `executed`, `rejected`.
    state: String,
    /// Voting is still possible.
    open: bool,
    /// The proposer's message, rendered (None when the node does not hold it).
    message_html: Option<String>,
    /// Widths of the tally bar's yes and no parts, in percent of all shares at the snapshot.
    yes_width: String,
    no_width: String,
    /// Where it stands against the majority.
    majority: String,
    /// What passing would change in the shares (open proposals).
    shares: Vec<ShareRow>,
    /// What passing would change in the content: the diff fragment, or why there is none.
    diff_html: Option<String>,
    diff_note: Option<String>,
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
    /// The asset's content is encrypted (so is every proposal's).
    encrypted: bool,
    proposals: Vec<ProposalView>,
}

pub(crate) async fn page(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Response {
    let ctx = Ctx::new(state, &headers);
    let viewer = diff::Viewer::from_headers(&headers);
    match build(&ctx, &id, viewer.as_ref()).await {
        Ok(page) => ctx.render(&page),
        Err(e) => ctx.error(e),
    }
}

async fn build(
    ctx: &Ctx,
    id_text: &str,
    viewer: Option<&diff::Viewer>,
) -> Result<ProposalsPage, PageError> {
    let id = asset_id(id_text)?;
    let (detail, proposals) = query(&ctx.state, move |i| {
        let Some(detail) = i.asset(AssetId(id))? else {
            return Ok((None, vec![]));
        };
        Ok((Some(detail), i.proposals(AssetId(id))?))
    })
    .await?;
    let detail = detail.ok_or_else(|| PageError::no_asset(id_text))?;
    let now = scal3ml_primitives::clock::now_secs();
    let name = if detail.summary.name.is_empty() {
        format!("Asset {id}")
    } else {
        detail.summary.name.clone()
    };
    // Each proposal's detail, diff and discussion are read concurrently, a few proposals at a time, in order.
    let ids: Vec<u64> = proposals.iter().rev().map(|p| p.id).collect();
    let detail = &detail;
    let views: Vec<ProposalView> = stream::iter(ids)
        .map(|id| async move {
            let d = detail_of(&ctx.state, id)
                .await?
                .ok_or_else(|| PageError::internal(format!("proposal {id} left the catalog")))?;
            let (diff_html, diff_note) = if d.status.is_live() {
                content_change(ctx, detail, id, viewer).await
            } else {
                (None, None)
            };
            view(ctx, &d, now, diff_html, diff_note, detail.summary.owner).await
        })
        .buffered(PROPOSALS_AT_ONCE)
        .try_collect()
        .await?;
    Ok(ProposalsPage {
        layout: ctx.layout(format!("Proposals · {name}"), Nav::None),
        id,
        name,
        encrypted: detail.summary.encrypted,
        proposals: views,
    })
}

/// A proposal as the page shows it.
async fn view(
    ctx: &Ctx,
    d: &ProposalDetail,
    now: u64,
    diff_html: Option<String>,
    diff_note: Option<String>,
    owner: alloy::primitives::Address,
) -> Result<ProposalView, PageError> {
    let p = &d.proposal;
    let open = d.status.is_live();
    let expired = open && p.deadline <= now;
    let width = |part: U256| {
        if d.total_at_snapshot.is_zero() {
            "0".to_string()
        } else {
            let bps = (part * U256::from(10_000u64) / d.total_at_snapshot).to::<u64>();
            format!("{}.{:02}", bps / 100, bps % 100)
        }
    };
    let majority = match d.status {
        ProposalStatus::Open if expired => "Voting has ended without a majority.".to_string(),
        ProposalStatus::Open => format!(
            "Needs {} more yes shares to pass ({} of {} at the snapshot: more than half).",
            format::amount_text(d.needed.saturating_sub(p.yes_votes), 0),
            format::amount_text(d.needed, 0),
            format::amount_text(d.total_at_snapshot, 0)
        ),
        ProposalStatus::Passed => "Has a majority: anyone may execute it.".to_string(),
        ProposalStatus::Executed => "Passed and executed.".to_string(),
        ProposalStatus::Rejected => "Rejected by the asset's owner.".to_string(),
        ProposalStatus::Expired => "Voting has ended without a majority.".to_string(),
    };
    let shares = d
        .share_change
        .iter()
        .map(|c| ShareRow {
            holder: c.holder.to_checksum(None),
            holder_short: format::short_address(c.holder),
            now: format::percent(c.shares_now, d.total_now),
            after: format::percent(c.shares_after, d.total_after),
            proposer: c.proposer,
        })
        .collect();
    Ok(ProposalView {
        id: p.id,
        state: if expired {
            "expired".into()
        } else {
            d.status.to_string()
        },
        open,
        message_html: d.description.as_deref().map(markdown::render),
        yes_width: width(p.yes_votes),
        no_width: width(p.no_votes),
        majority,
        shares,
        diff_html,
        diff_note,
        proposer: p.proposer.to_checksum(None),
        proposer_short: format::short_address(p.proposer),
        requested: format::amount_text(p.requested_shares, 0),
        requested_percent: format::percent(p.requested_shares, d.total_after),
        yes_percent: format::percent(p.yes_votes, d.total_at_snapshot),
        no_percent: format::percent(p.no_votes, d.total_at_snapshot),
        votes: format::count(d.votes.len() as u64, "vote"),
        deadline: format::time(p.deadline),
        deadline_iso: format::iso_time(p.deadline),
        snapshot_block: p.snapshot_block,
        content_cid: p.content_cid.clone(),
        metadata_cid: p.metadata_cid.clone(),
        description_cid: p.description_cid.clone(),
        version_index: p.version_index,
        discussion_html: discussion::section(&ctx.state, p.asset, p.id, owner).await?,
    })
}

/// The diff of an open proposal against the latest version, or a sentence saying why the page shows none.
/// Encrypted content is compared for a signed-in viewer with access only.
async fn content_change(
    ctx: &Ctx,
    detail: &scal3ml_api::AssetDetail,
    proposal: u64,
    viewer: Option<&diff::Viewer>,
) -> (Option<String>, Option<String>) {
    let asset = detail.summary.id;
    if detail.summary.encrypted && viewer.is_none() {
        return (
            None,
            Some(format!(
                "The content is encrypted: sign in with a wallet that has access (the owner, a shareholder, a \
                 licensee) to see what it changes, or run `scal3ml diff {asset} --proposal {proposal}`."
            )),
        );
    }
    match diff::of_proposal(
        &ctx.state,
        proposal,
        Default::default(),
        crate::web::diff::PAGE_DIFF_BYTES,
        viewer,
    )
    .await
    {
        Ok(d) => (Some(crate::web::diff::diff_html(&d.diff)), None),
        Err(e) => (None, Some(format!("No diff shown: {}", e.message))),
    }
}
