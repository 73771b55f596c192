//! `/assets/{id}/changes?from=N&to=N`: what changed between two versions of an asset (by default the latest and
//! the one before), the same diff as `/api/assets/{id}/diff` as the page's fragment. Encrypted content is
//! compared for a signed-in viewer with access, through this node's access gateway.

use crate::{
    api::{AppState, query},
    diff,
    web::{Ctx, Layout, Nav, PageError, asset_id},
};
use askama::Template;
use axum::{
    extract::{Path, Query, State},
    http::HeaderMap,
    response::Response,
};
use scal3ml_primitives::AssetId;
use serde::Deserialize;
use std::sync::Arc;

#[derive(Debug, Deserialize)]
pub(crate) struct Versions {
    from: Option<u64>,
    to: Option<u64>,
}

#[derive(Template)]
#[template(path = "changes.html")]
struct ChangesPage {
    layout: Layout,
    id: u64,
    name: String,
    encrypted: bool,
    /// "v0 → v1", or the versions asked for when there is no diff.
    title: String,
    diff_html: Option<String>,
    /// Why there is no diff.
    note: Option<String>,
}

pub(crate) async fn page(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    Path(id): Path<String>,
    Query(versions): Query<Versions>,
) -> Response {
    let ctx = Ctx::new(state, &headers);
    let viewer = diff::Viewer::from_headers(&headers);
    match build(&ctx, &id, versions, viewer.as_ref()).await {
        Ok(page) => ctx.render(&page),
        Err(e) => ctx.error(e),
    }
}

async fn build(
    ctx: &Ctx,
    id_text: &str,
    versions: Versions,
    viewer: Option<&diff::Viewer>,
) -> Result<ChangesPage, PageError> {
    let id = asset_id(id_text)?;
    let detail = query(&ctx.state, move |i| i.asset(AssetId(id)))
        .await?
        .ok_or_else(|| PageError::no_asset(id_text))?;
    let name = if detail.summary.name.is_empty() {
        format!("Asset {id}")
    } else {
        detail.summary.name.clone()
    };
    let encrypted = detail.summary.encrypted;
    let asked = |v: Option<u64>, default: &str| v.map_or(default.to_string(), |v| format!("v{v}"));
    let mut title = format!(
        "{} → {}",
        asked(versions.from, "previous"),
        asked(versions.to, "latest")
    );
    let (diff_html, note) = if encrypted && viewer.is_none() {
        (
            None,
            Some(format!(
                "The content is encrypted: sign in with a wallet that has access (the owner, a shareholder, a \
                 licensee) to see what changed, or run `scal3ml diff {id}` with your signer flags."
            )),
        )
    } else {
        let opts = Default::default();
        match diff::of_versions(
            &ctx.state,
            id,
            versions.from,
            versions.to,
            opts,
            crate::web::diff::PAGE_DIFF_BYTES,
            viewer,
        )
        .await
        {
            Ok(d) => {
                title = format!("v{} → v{}", d.from, d.to.unwrap_or(d.from));
                (Some(crate::web::diff::diff_html(&d.diff)), None)
            }
            Err(e) => (None, Some(format!("No diff shown: {}", e.message))),
        }
    };
    Ok(ChangesPage {
        layout: ctx.layout(format!("Changes · {name}"), Nav::None),
        id,
        name,
        encrypted,
        title,
        diff_html,
        note,
    })
}
