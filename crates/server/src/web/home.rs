//! `/`: the search box, the catalog's totals, and the newest and most bought assets.

use crate::{
    api::{AppState, query},
    web::{Ctx, Layout, Nav, PageError, views::SummaryView},
};
use askama::Template;
use axum::{extract::State, http::HeaderMap, response::Response};
use scal3ml_api::{SearchQuery, Sort, Stats};
use std::sync::Arc;

/// Assets in each list.
const LISTED: u32 = 6;

#[derive(Template)]
#[template(path = "home.html")]
struct HomePage {
    layout: Layout,
    stats: Stats,
    recent: Vec<SummaryView>,
    popular: Vec<SummaryView>,
}

pub(crate) async fn page(State(state): State<Arc<AppState>>, headers: HeaderMap) -> Response {
    let ctx = Ctx::new(state, &headers);
    match build(&ctx).await {
        Ok(page) => ctx.render(&page),
        Err(e) => ctx.error(e),
    }
}

async fn build(ctx: &Ctx) -> Result<HomePage, PageError> {
    let list = |sort| SearchQuery {
        sort,
        per_page: LISTED,
        page: 1,
        ..Default::default()
    };
    let (stats, recent, popular) = query(&ctx.state, move |i| {
        Ok((
            i.stats()?,
            i.search(&list(Sort::Newest))?,
            i.search(&list(Sort::Sales))?,
        ))
    })
    .await?;
    let n = &ctx.state.network;
    Ok(HomePage {
        layout: ctx.layout("Home", Nav::Home),
        stats,
        recent: recent
            .items
            .iter()
            .map(|s| SummaryView::new(n, s, false))
            .collect(),
        // An asset nobody bought is not "most bought".
        popular: popular
            .items
            .iter()
            .filter(|s| s.sales > 0)
            .map(|s| SummaryView::new(n, s, false))
            .collect(),
    })
}
