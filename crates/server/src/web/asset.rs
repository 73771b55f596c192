//! `/assets/{id}`: everything a buyer weighs before buying, and the hooks the wallet script binds to (Buy,
//! Download, access state, transaction status).

use crate::{
    api::{AppState, query},
    web::{Ctx, Layout, Nav, PageError, asset_id, discussion, format, lineage, markdown},
};
use alloy::primitives::U256;
use askama::Template;
use axum::{
    extract::{Path, State},
    http::HeaderMap,
    response::Response,
};
use scal3ml_api::{AssetDetail, Direction, Leaderboard, Lineage};
use scal3ml_primitives::AssetId;
use serde::Deserialize;
use std::sync::Arc;

/// Files listed on the page; the rest are counted (the card holds them all).
const MAX_FILES_SHOWN: usize = 100;
/// Description bytes rendered; a longer one is cut (the full card is linked) to keep the page light.
const MAX_DESCRIPTION: usize = 48 * 1024;

/// The card fields the page shows beyond what the catalog indexes. Lenient: a field of the wrong type makes
/// the card read as empty rather than failing the page.
#[derive(Deserialize, Default)]
#[serde(default)]
struct CardFields {
    description: String,
    task: Option<String>,
    framework: Option<String>,
    files: Vec<CardFile>,
    metrics: Vec<CardMetric>,
    datasets: Vec<String>,
    base_model: Option<String>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct CardFile {
    path: String,
    size: u64,
    cid: String,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct CardMetric {
    name: String,
    value: f64,
    dataset: Option<String>,
}

struct FileView {
    path: String,
    /// The name the browser saves it as.
    name: String,
    size: String,
    cid: String,
    href: String,
}

struct VersionView {
    index: u64,
    content_cid: String,
    metadata_cid: String,
    author: String,
    author_short: String,
    time: String,
    iso: String,
}

struct EdgeView {
    id: u64,
    name: String,
    royalty: String,
}

struct ListingView {
    /// The token's address (the zero address for ETH): what `/api/tx/buy` takes.
    token: String,
    symbol: String,
    price: String,
    duration: String,
    /// The price in base units and the duration in seconds (0: perpetual): the terms the page shows, which
    /// `/api/tx/buy` takes back so the purchase reverts if they change.
    price_raw: String,
    duration_raw: u64,
}

struct HolderView {
    address: String,
    short: String,
    percent: String,
}

struct RevenueView {
    credited: String,
    royalties_received: String,
    royalties_paid: String,
    withdrawn: String,
}

struct EvaluationView {
    id: u64,
    metric: String,
    value: String,
    /// "model #3 v0 on dataset #1 v0".
    model: u64,
    model_version: u64,
    dataset: u64,
    dataset_version: u64,
    attester: String,
    attester_short: String,
    report_cid: String,
    endorsements: u64,
    disputes: u64,
}

/// A dataset's leaderboard of one metric.
struct BoardView {
    metric: String,
    /// "higher is better", "lower is better", or "ranked as higher is better (unknown metric)".
    direction: &'static str,
    rows: Vec<BoardRowView>,
}

struct BoardRowView {
    rank: u32,
    attestation: u64,
    model: u64,
    model_name: String,
    model_version: u64,
    dataset_version: u64,
    value: String,
    attester: String,
    attester_short: String,
    endorsements: u64,
    disputes: u64,
    report_cid: String,
}

struct MetricView {
    name: String,
    value: String,
    dataset: String,
}

#[derive(Template)]
#[template(path = "asset.html")]
struct AssetPage {
    layout: Layout,
    id: u64,
    name: String,
    kind: String,
    license: String,
    tags: Vec<String>,
    task: String,
    framework: String,
    base_model: String,
    datasets: Vec<String>,
    owner: String,
    owner_short: String,
    publisher: String,
    publisher_short: String,
    created: String,
    created_iso: String,
    encrypted: bool,
    deprecated: bool,
    card_indexed: bool,
    description_html: String,
    description_cut: bool,
    metadata_cid: String,
    files: Vec<FileView>,
    files_hidden: usize,
    total_size: String,
    versions: Vec<VersionView>,
    lineage_svg: Option<String>,
    parents: Vec<EdgeView>,
    children: Vec<EdgeView>,
    /// "2 ancestors, 1 descendant".
    lineage_counts: String,
    evaluations: Vec<EvaluationView>,
    /// For a dataset: one leaderboard per metric attested on it.
    leaderboards: Vec<BoardView>,
    metrics: Vec<MetricView>,
    listings: Vec<ListingView>,
    holders: Vec<HolderView>,
    revenue: Vec<RevenueView>,
    /// "3 licenses sold to 2 accounts".
    licenses_sold: String,
    /// "2 proposals, 1 open".
    proposal_counts: String,
    /// The Discussion section (web/discussion.rs), rendered.
    discussion_html: String,
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

async fn build(ctx: &Ctx, id_text: &str) -> Result<AssetPage, PageError> {
    let id = asset_id(id_text)?;
    // One blocking task, one read connection, for all the page's reads.
    let (detail, lineage, proposals, boards) = query(&ctx.state, move |i| {
        let Some(detail) = i.asset(AssetId(id))? else {
            return Ok((
                None,
                Lineage {
                    ancestors: vec![],
                    descendants: vec![],
                },
                vec![],
                vec![],
            ));
        };
        let boards = if detail.summary.kind == scal3ml_primitives::AssetKind::Dataset {
            i.leaderboard(AssetId(id), None, None)?
        } else {
            vec![]
        };
        Ok((
            Some(detail),
            i.lineage(AssetId(id))?,
            i.proposals(AssetId(id))?,
            boards,
        ))
    })
    .await?;
    let detail = detail.ok_or_else(|| PageError::no_asset(id_text))?;
    let open_proposals = proposals
        .iter()
        .filter(|p| p.state == scal3ml_api::ProposalState::Open)
        .count();
    let discussion = discussion::section(&ctx.state, id, 0, detail.summary.owner).await?;
    let mut page = view(ctx, detail, &lineage, proposals.len(), open_proposals);
    page.leaderboards = boards.into_iter().map(board_view).collect();
    page.discussion_html = discussion;
    Ok(page)
}

fn board_view(b: Leaderboard) -> BoardView {
    BoardView {
        direction: match b.direction {
            Direction::HigherIsBetter => "higher is better",
            Direction::LowerIsBetter => "lower is better",
            Direction::AssumedHigherIsBetter => {
                "ranked as higher is better (a metric the node does not know)"
            }
        },
        metric: b.metric,
        rows: b
            .rows
            .into_iter()
            .map(|r| BoardRowView {
                rank: r.rank,
                attestation: r.attestation,
                model: r.model_asset,
                model_name: if r.model_name.is_empty() {
                    format!("Asset {}", r.model_asset)
                } else {
                    r.model_name
                },
                model_version: r.model_version,
                dataset_version: r.dataset_version,
                value: r.value,
                attester: r.attester.to_checksum(None),
                attester_short: format::short_address(r.attester),
                endorsements: r.endorsements,
                disputes: r.disputes,
                report_cid: r.report_cid,
            })
            .collect(),
    }
}

fn view(
    ctx: &Ctx,
    d: AssetDetail,
    lineage: &Lineage,
    proposals: usize,
    open_proposals: usize,
) -> AssetPage {
    let network = &ctx.state.network;
    let s = &d.summary;
    let id = s.id;
    let card: CardFields = d
        .card
        .as_ref()
        .and_then(|c| CardFields::deserialize(c).ok())
        .unwrap_or_default();
    let name = if s.name.is_empty() {
        format!("Asset {id}")
    } else {
        s.name.clone()
    };

    let mut description = card.description.as_str();
    let description_cut = description.len() > MAX_DESCRIPTION;
    if description_cut {
        let mut end = MAX_DESCRIPTION;
        while !description.is_char_boundary(end) {
            end -= 1;
        }
        description = &description[..end];
    }
    let total: u64 = card.files.iter().map(|f| f.size).sum();
    // A single-file asset's content is the file itself: it has no paths below it.
    let latest_content = d.versions.last().map(|v| v.content_cid.as_str());
    let files: Vec<FileView> = card
        .files
        .iter()
        .take(MAX_FILES_SHOWN)
        .map(|f| FileView {
            href: if latest_content == Some(f.cid.as_str()) {
                format!("/access/content/{id}")
            } else {
                format!("/access/content/{id}/{}", format::path_encode(&f.path))
            },
            name: f.path.rsplit('/').next().unwrap_or(&f.path).to_string(),
            path: f.path.clone(),
            size: format::size(f.size),
            cid: f.cid.clone(),
        })
        .collect();
    let versions = d
        .versions
        .iter()
        .rev()
        .map(|v| VersionView {
            index: v.index,
            content_cid: v.content_cid.clone(),
            metadata_cid: v.metadata_cid.clone(),
            author: v.author.to_checksum(None),
            author_short: format::short_address(v.author),
            time: format::time(v.time),
            iso: format::iso_time(v.time),
        })
        .collect();
    let named = |nodes: &[scal3ml_api::LineageNode], asset: u64| {
        nodes
            .iter()
            .find(|n| n.asset == asset)
            .map(|n| n.name.clone())
            .filter(|n| !n.is_empty())
            .unwrap_or_else(|| format!("Asset {asset}"))
    };
    let parents = d
        .parents
        .iter()
        .map(|e| EdgeView {
            id: e.asset,
            name: named(&lineage.ancestors, e.asset),
            royalty: format::bps(e.royalty_bps),
        })
        .collect();
    let children = d
        .children
        .iter()
        .map(|e| EdgeView {
            id: e.asset,
            name: named(&lineage.descendants, e.asset),
            royalty: format::bps(e.royalty_bps),
        })
        .collect();
    let total_shares: U256 = d
        .shareholders
        .iter()
        .map(|h| h.shares)
        .fold(U256::ZERO, |a, b| a + b);
    let holders = d
        .shareholders
        .iter()
        .map(|h| HolderView {
            address: h.holder.to_checksum(None),
            short: format::short_address(h.holder),
            percent: format::percent(h.shares, total_shares),
        })
        .collect();
    let listings = if s.deprecated {
        Vec::new()
    } else {
        s.listings
            .iter()
            .map(|l| ListingView {
                token: l.token.to_checksum(None),
                symbol: format::token(network, l.token).0,
                price: format::price(network, l.token, l.price),
                duration: format::duration(l.duration),
                price_raw: l.price.to_string(),
                duration_raw: l.duration,
            })
            .collect()
    };
    let revenue = d
        .revenue
        .iter()
        .map(|r| RevenueView {
            credited: format::money(network, r.token, r.credited),
            royalties_received: format::money(network, r.token, r.royalties_received),
            royalties_paid: format::money(network, r.token, r.royalties_paid),
            withdrawn: format::money(network, r.token, r.withdrawn),
        })
        .collect();
    let evaluations = d
        .attestations
        .iter()
        .map(|a| EvaluationView {
            id: a.id,
            metric: a.metric.clone(),
            value: format::scaled(&a.value, a.decimals),
            model: a.model_asset,
            model_version: a.model_version,
            dataset: a.dataset_asset,
            dataset_version: a.dataset_version,
            attester: a.attester.to_checksum(None),
            attester_short: format::short_address(a.attester),
            report_cid: a.report_cid.clone(),
            endorsements: a.endorsements,
            disputes: a.disputes,
        })
        .collect();
    let metrics = card
        .metrics
        .iter()
        .take(50)
        .map(|m| MetricView {
            name: m.name.clone(),
            value: format!("{}", m.value),
            dataset: m.dataset.clone().unwrap_or_default(),
        })
        .collect();
    AssetPage {
        layout: ctx.layout(name.clone(), Nav::None),
        id,
        kind: s.kind.to_string(),
        license: s.license.clone(),
        tags: s.tags.clone(),
        task: card.task.clone().unwrap_or_default(),
        framework: card.framework.clone().unwrap_or_default(),
        base_model: card.base_model.clone().unwrap_or_default(),
        datasets: card.datasets.iter().take(20).cloned().collect(),
        owner: s.owner.to_checksum(None),
        owner_short: format::short_address(s.owner),
        publisher: d.publisher.to_checksum(None),
        publisher_short: format::short_address(d.publisher),
        created: format::time(s.created_time),
        created_iso: format::iso_time(s.created_time),
        encrypted: s.encrypted,
        deprecated: s.deprecated,
        card_indexed: s.card_indexed,
        description_html: markdown::render(description),
        description_cut,
        metadata_cid: d
            .versions
            .last()
            .map(|v| v.metadata_cid.clone())
            .unwrap_or_default(),
        files_hidden: card.files.len().saturating_sub(MAX_FILES_SHOWN),
        total_size: format::size(total),
        files,
        versions,
        lineage_svg: lineage::svg(id, &s.name, lineage, &d.parents, &d.children),
        parents,
        children,
        lineage_counts: format!(
            "{}, {}",
            format::count(lineage.ancestors.len() as u64, "ancestor"),
            format::count(lineage.descendants.len() as u64, "descendant")
        ),
        evaluations,
        leaderboards: Vec::new(),
        metrics,
        listings,
        holders,
        revenue,
        licenses_sold: format!(
            "{} sold to {}",
            d.licenses.purchases,
            format::count(d.licenses.accounts, "account")
        ),
        proposal_counts: format!(
            "{}, {open_proposals} open",
            format::count(proposals as u64, "proposal")
        ),
        discussion_html: String::new(),
        name,
    }
}
