//! The REST API under `/api`: what the node serves to the command line, the SDK and the web pages.

use crate::{ApiError, metrics::Metrics};
use alloy::primitives::Address;
use axum::{
    Json, Router,
    body::Body,
    extract::State,
    http::header,
    response::IntoResponse,
    routing::{get, post},
};
use futures_util::TryStreamExt as _;
use scal3ml_store::{BlockStore, FsStore, PinMode, PinStore, car::CarReader};
use serde::{Deserialize, Serialize};
use std::sync::Arc;
use tokio_util::io::{StreamReader, SyncIoBridge};

/// What every handler shares.
pub(crate) struct AppState {
    pub(crate) network: NetworkInfo,
    pub(crate) store: FsStore,
    pub(crate) metrics: Arc<Metrics>,
}

/// The chain and contracts a node serves: clients read it to know where to send transactions.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NetworkInfo {
    /// Network name (`dev`, `sepolia`, ...).
    pub name: String,
    /// EIP-155 chain id.
    pub chain_id: u64,
    /// The JSON-RPC endpoint the node itself uses.
    pub rpc_url: String,
    /// A block explorer, if the network has one.
    pub explorer: Option<String>,
    /// Whether the chain takes EIP-1559 transactions (else send legacy ones).
    pub eip1559: bool,
    /// The marketplace contract.
    pub marketplace: Address,
    /// The attestations contract.
    pub attestations: Address,
    /// The block the marketplace was deployed in: the indexer starts there.
    pub start_block: u64,
    /// ERC-20 tokens known to be accepted for payment (ether is always accepted).
    pub tokens: Vec<TokenInfo>,
    /// The public base URL of this node (its access gateway and trustless gateway).
    pub node_url: String,
}

/// An ERC-20 payment token.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TokenInfo {
    /// Ticker symbol.
    pub symbol: String,
    /// Contract address.
    pub address: Address,
    /// Decimals.
    pub decimals: u8,
}

/// The answer to a CAR upload.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UploadResult {
    /// The CAR's roots, now pinned.
    pub roots: Vec<String>,
    /// Blocks read from the CAR.
    pub blocks: u64,
}

pub(crate) fn router(state: Arc<AppState>, max_upload: usize) -> Router {
    Router::new()
        .route("/api/network", get(network))
        .route(
            "/api/car",
            post(upload_car).layer(tower_http::limit::RequestBodyLimitLayer::new(max_upload)),
        )
        .route("/health", get(health))
        .route("/metrics", get(metrics))
        .with_state(state)
}

async fn network(State(state): State<Arc<AppState>>) -> Json<NetworkInfo> {
    Json(state.network.clone())
}

async fn health() -> Json<serde_json::Value> {
    Json(serde_json::json!({"status": "ok"}))
}

async fn metrics(State(state): State<Arc<AppState>>) -> impl IntoResponse {
    let text = state.metrics.render(&[]);
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4")], text)
}

/// Blocks per store write while importing a CAR.
const UPLOAD_BATCH: usize = 64;

/// `POST /api/car`: imports a CAR v1 stream (every block verified against its CID) and pins its roots
/// recursively. A root whose DAG the CAR does not complete is refused and nothing is pinned.
async fn upload_car(
    State(state): State<Arc<AppState>>,
    body: Body,
) -> Result<Json<UploadResult>, ApiError> {
    let stream = body.into_data_stream().map_err(std::io::Error::other);
    let reader = SyncIoBridge::new(StreamReader::new(stream));
    let store = state.store.clone();
    let runtime = tokio::runtime::Handle::current();
    let (roots, blocks) = tokio::task::spawn_blocking(move || {
        let mut car = CarReader::new(std::io::BufReader::with_capacity(1 << 20, reader))?;
        let roots = car.roots().to_vec();
        let mut count = 0u64;
        let mut batch = Vec::with_capacity(UPLOAD_BATCH);
        while let Some(block) = car.next_block()? {
            count += 1;
            batch.push(block);
            if batch.len() == UPLOAD_BATCH {
                runtime.block_on(store.put_many(std::mem::take(&mut batch)))?;
            }
        }
        runtime.block_on(store.put_many(batch))?;
        Ok::<_, scal3ml_store::StoreError>((roots, count))
    })
    .await
    .map_err(|e| ApiError::internal(format!("the upload task failed: {e}")))?
    .map_err(|e| ApiError::bad_request(format!("the upload is not a valid CAR v1 stream: {e}")))?;
    if roots.is_empty() {
        return Err(ApiError::bad_request(
            "the CAR names no root: write it with `scal3ml store export-car` or `ipfs dag export`",
        ));
    }
    for root in &roots {
        state
            .store
            .pin(root, PinMode::Recursive)
            .await
            .map_err(|e| {
                ApiError::new(
                    axum::http::StatusCode::UNPROCESSABLE_ENTITY,
                    "incomplete_dag",
                    format!("the CAR does not hold the whole DAG of its root {root}: {e}; export it again with every block"),
                )
            })?;
    }
    Ok(Json(UploadResult {
        roots: roots.iter().map(ToString::to_string).collect(),
        blocks,
    }))
}
