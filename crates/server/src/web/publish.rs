//! `/publish`: the publish form. It needs a wallet: `app.js` validates it, uploads the files with a progress
//! bar to `/api/publish`, deposits the key and sends the transaction; each field has a place for its error.

use crate::{
    api::AppState,
    web::{
        Ctx, Layout, Nav,
        search::{Opt, token_opts},
    },
};
use askama::Template;
use axum::{extract::State, http::HeaderMap, response::Response};
use std::sync::Arc;

/// Empty collaborator and parent rows the form starts with (the script can add more).
const COLLABORATOR_ROWS: usize = 3;
const PARENT_ROWS: usize = 2;

#[derive(Template)]
#[template(path = "publish.html")]
struct PublishPage {
    layout: Layout,
    tokens: Vec<Opt>,
    collaborator_rows: Vec<usize>,
    parent_rows: Vec<usize>,
}

pub(crate) async fn page(State(state): State<Arc<AppState>>, headers: HeaderMap) -> Response {
    let ctx = Ctx::new(state, &headers);
    let page = PublishPage {
        layout: ctx.layout("Publish", Nav::Publish),
        tokens: token_opts(&ctx.state.network, "ETH"),
        collaborator_rows: (1..=COLLABORATOR_ROWS).collect(),
        parent_rows: (1..=PARENT_ROWS).collect(),
    };
    ctx.render(&page)
}
