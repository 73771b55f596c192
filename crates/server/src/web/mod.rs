//! The web pages: server-rendered HTML over the catalog, the static files (CSS and the wallet module), and the
//! security headers every page carries. See docs/web.md.

use crate::api::AppState;
use axum::Router;
use std::sync::Arc;

pub(crate) fn router(state: Arc<AppState>) -> Router {
    Router::new().with_state(state)
}
