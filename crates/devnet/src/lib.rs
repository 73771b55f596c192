//! scal3ml-devnet: a local Ethereum chain embedded in Scal3ML, built on revm, the way anvil and hardhat run one
//! for development. It mines real blocks (state, transaction and receipt roots, logs bloom, EIP-1559 base fee),
//! accepts legacy, EIP-2930 and EIP-1559 transactions, serves the standard JSON-RPC over HTTP and WebSocket,
//! unlocks the dev accounts of a mnemonic, and with a data directory keeps every mined block on disk before
//! anyone can see its receipt. It is for development and tests on one machine: it has no peers, no consensus,
//! no transaction gossip, and knows nothing of the marketplace.
//!
//! ```no_run
//! # async fn demo() -> Result<(), scal3ml_devnet::DevnetError> {
//! let handle = scal3ml_devnet::spawn(scal3ml_devnet::DevnetConfig::test()).await?;
//! println!("JSON-RPC at {}", handle.http_url());
//! handle.shutdown().await;
//! # Ok(()) }
//! ```

mod accounts;
mod chain;
mod config;
mod error;
mod request;
mod rpc;
mod server;
mod state;
mod store;

use std::{net::SocketAddr, sync::Arc};

use alloy_primitives::{Address, B256};
use tokio::{net::TcpListener, sync::oneshot, task::JoinHandle};

pub use accounts::DevAccounts;
pub use chain::{RestoreStats, SPEC};
pub use config::{DEFAULT_MNEMONIC, DevnetConfig, MiningMode};
pub use error::{DevnetError, DevnetResult, RpcError};
pub use store::LOG_FILE;

use crate::{
    chain::{Chain, Genesis},
    rpc::Node,
    server::ServerState,
    store::Store,
};

/// A running devnet. Dropping it stops the server too; [`DevnetHandle::shutdown`] waits for it to stop.
pub struct DevnetHandle {
    addr: SocketAddr,
    node: Arc<Node>,
    chain_id: u64,
    shutdown: Option<oneshot::Sender<()>>,
    server: Option<JoinHandle<()>>,
    miner: Option<JoinHandle<()>>,
}

impl std::fmt::Debug for DevnetHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DevnetHandle")
            .field("addr", &self.addr)
            .field("chain_id", &self.chain_id)
            .finish()
    }
}

impl DevnetHandle {
    /// The bound socket address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://host:port`, the JSON-RPC endpoint.
    pub fn http_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// `ws://host:port`, the same endpoint over WebSocket.
    pub fn ws_url(&self) -> String {
        format!("ws://{}", self.addr)
    }

    /// The chain id.
    pub fn chain_id(&self) -> u64 {
        self.chain_id
    }

    /// The unlocked dev accounts with their private keys, in derivation order.
    pub fn dev_keys(&self) -> Vec<(Address, B256)> {
        self.node.accounts().keys()
    }

    /// The current head block number.
    pub fn block_number(&self) -> u64 {
        self.node.chain().head().header.number
    }

    /// How the chain was restored at start: the snapshot loaded and how many log records were replayed.
    pub fn restore_stats(&self) -> RestoreStats {
        self.node.chain().restore_stats()
    }

    /// Stops serving and waits until the server has stopped. Everything mined is already on disk; with a data
    /// directory a snapshot is also written so the next start replays nothing.
    pub async fn shutdown(mut self) {
        self.stop();
        if let Some(server) = self.server.take() {
            let _ = server.await;
        }
        let node = self.node.clone();
        let written = tokio::task::spawn_blocking(move || node.chain().write_snapshot()).await;
        if let Ok(Err(err)) = written {
            tracing::warn!(target: "devnet::store", %err, "writing the shutdown snapshot failed");
        }
    }

    fn stop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(miner) = self.miner.take() {
            miner.abort();
        }
    }
}

impl Drop for DevnetHandle {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Starts a devnet: opens (or creates) the chain, binds the port, serves JSON-RPC and, in interval mode, mines.
pub async fn spawn(config: DevnetConfig) -> DevnetResult<DevnetHandle> {
    let accounts = DevAccounts::from_mnemonic(&config.mnemonic, config.accounts)?;
    let genesis = Genesis {
        chain_id: config.chain_id,
        gas_limit: config.gas_limit,
        base_fee: config.base_fee,
        timestamp: scal3ml_primitives::clock::now_secs(),
        alloc: accounts
            .addresses()
            .into_iter()
            .map(|a| (a, config.balance))
            .collect(),
    };
    if config.gas_limit < 21_000 {
        return Err(DevnetError::Config(format!(
            "block gas limit {} is below the 21000 a plain transfer needs",
            config.gas_limit
        )));
    }
    let store = match &config.data_dir {
        Some(dir) => Some(Store::open(dir)?),
        None => None,
    };
    let snapshot_every = config.snapshot_every;
    let chain = tokio::task::spawn_blocking(move || {
        Chain::open(genesis, store).map(|mut chain| {
            chain.set_snapshot_every(snapshot_every);
            chain
        })
    })
    .await
    .map_err(|e| DevnetError::Internal(e.to_string()))??;
    let chain_id = chain.chain_id();
    let node = Node::new(chain, accounts, &config);

    let bind = SocketAddr::new(config.host, config.port);
    let listener = TcpListener::bind(bind).await.map_err(|e| {
        DevnetError::Config(format!(
            "cannot listen on {bind}: {e}; choose another --port (0 picks a free one)"
        ))
    })?;
    let addr = listener
        .local_addr()
        .map_err(|e| DevnetError::Internal(e.to_string()))?;
    let router = server::router(ServerState {
        node: node.clone(),
        max_batch: config.max_batch,
        max_body: config.max_body_bytes,
    });
    let (shutdown_tx, shutdown_rx) = oneshot::channel::<()>();
    let server = tokio::spawn(async move {
        let serve = axum::serve(listener, router).with_graceful_shutdown(async move {
            let _ = shutdown_rx.await;
        });
        if let Err(err) = serve.await {
            tracing::error!(target: "devnet::server", %err, "server stopped");
        }
    });
    let miner = match config.mining {
        MiningMode::Interval(every) => {
            let node = node.clone();
            Some(tokio::spawn(async move {
                let mut tick = tokio::time::interval(every);
                tick.tick().await;
                loop {
                    tick.tick().await;
                    let node = node.clone();
                    let mined = tokio::task::spawn_blocking(move || node.mine(None)).await;
                    if let Ok(Err(err)) = mined {
                        tracing::error!(target: "devnet::miner", %err, "mining failed");
                    }
                }
            }))
        }
        _ => None,
    };
    if !config.quiet {
        tracing::info!(target: "devnet", %addr, chain_id, "devnet listening");
    }
    Ok(DevnetHandle {
        addr,
        node,
        chain_id,
        shutdown: Some(shutdown_tx),
        server: Some(server),
        miner,
    })
}
