//! Prepared transactions for browser wallets (`/api/tx/*`, `/api/publish`): the server checks and encodes each
//! call, the wallet signs and sends it. See docs/web.md.

use crate::api::AppState;
use axum::Router;
use std::sync::Arc;

pub(crate) fn router(state: Arc<AppState>) -> Router {
    Router::new().with_state(state)
}
