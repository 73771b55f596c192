//! A running node: the services of one data directory behind one HTTP port.

use crate::{
    api::{self, AppState},
    catalog::{CatalogDirectory, StoreCards},
    metrics::{self, Metrics},
    uploads::{UploadLimits, Uploads},
};
use alloy::providers::{DynProvider, Provider, ProviderBuilder};
use axum::Router;
use scal3ml_access::{AccessConfig, ChainLicenses, Gateway};
use scal3ml_api::{NetworkInfo, TokenInfo};
use scal3ml_contracts::DeploymentManifest;
use scal3ml_index::{Index, Indexer, IndexerConfig};
use scal3ml_store::{BlockStore, FsStore};
use std::{
    net::SocketAddr,
    path::{Path, PathBuf},
    sync::Arc,
    time::Duration,
};
use tokio::{net::TcpListener, sync::watch, task::JoinHandle};

/// How often pending key deposits are swept.
const SWEEP_EVERY: Duration = Duration::from_secs(3600);

/// Everything a node needs to start.
#[derive(Debug, Clone)]
pub struct NodeConfig {
    /// Where the block store, the catalog and the key vault live.
    pub data_dir: PathBuf,
    /// Address to serve HTTP on (port 0 picks one).
    pub listen: SocketAddr,
    /// The URL clients reach this node at; default `http://{listen address}`.
    pub public_url: Option<String>,
    /// Network name shown to clients.
    pub network: String,
    /// The chain's JSON-RPC endpoint.
    pub rpc_url: String,
    /// A block explorer base URL.
    pub explorer: Option<String>,
    /// Whether the chain takes EIP-1559 transactions.
    pub eip1559: bool,
    /// The contracts on that chain.
    pub deployment: DeploymentManifest,
    /// Blocks the indexer stays behind the head (0 on the dev chain).
    pub confirmations: u64,
    /// How often the indexer polls the chain.
    pub poll_interval: Duration,
    /// Largest upload request accepted, in bytes (`--max-upload`, default 4 GiB).
    pub max_upload_bytes: u64,
    /// How long an upload no chain event names is kept before it is unpinned and collected (`--upload-grace`,
    /// default 24 hours).
    pub upload_grace: Duration,
    /// Bytes of unreferenced uploads the node holds at most, from everyone together (`--max-pending`, default
    /// 8 GiB).
    pub max_pending_bytes: u64,
    /// Bytes of unreferenced uploads one account, and one client address, may hold (`--pending-per-client`,
    /// default 4 GiB).
    pub pending_per_client_bytes: u64,
    /// Uploads and comments per hour per account and per client address (`--uploads-per-hour`, default 600).
    pub uploads_per_hour: u32,
    /// The Kubo RPC API of an IPFS node to copy and pin every published upload on.
    pub ipfs_api: Option<String>,
    /// A pinning service (endpoint, access token) to ask to pin every published upload; it fetches from this
    /// node.
    pub pinning_service: Option<(String, String)>,
    /// Serve the built-in dev wallet (`/dev/rpc` and `devwallet.js`): only for the dev chain, whose accounts are
    /// public test accounts.
    pub dev_wallet: bool,
    /// Reverse proxies whose `X-Forwarded-For` names the client (`--trusted-proxy`); none by default.
    pub trusted_proxies: Vec<scal3ml_access::IpNet>,
    /// How long a key deposited for content no chain event names is kept (`--key-grace HOURS`; default 24 h).
    pub key_grace: Duration,
}

impl NodeConfig {
    /// The upload limits this configuration sets.
    pub fn upload_limits(&self) -> UploadLimits {
        UploadLimits {
            max_request: self.max_upload_bytes,
            grace: self.upload_grace,
            max_pending: self.max_pending_bytes,
            pending_per_client: self.pending_per_client_bytes,
            per_hour: self.uploads_per_hour,
        }
    }

    /// Defaults for a chain at `rpc_url` with `deployment`, serving on `listen`.
    pub fn new(
        data_dir: impl Into<PathBuf>,
        listen: SocketAddr,
        rpc_url: impl Into<String>,
        deployment: DeploymentManifest,
    ) -> Self {
        Self {
            data_dir: data_dir.into(),
            listen,
            public_url: None,
            network: "custom".into(),
            rpc_url: rpc_url.into(),
            explorer: None,
            eip1559: true,
            deployment,
            confirmations: 0,
            poll_interval: Duration::from_millis(100),
            max_upload_bytes: UploadLimits::default().max_request,
            upload_grace: UploadLimits::default().grace,
            max_pending_bytes: UploadLimits::default().max_pending,
            pending_per_client_bytes: UploadLimits::default().pending_per_client,
            uploads_per_hour: UploadLimits::default().per_hour,
            ipfs_api: None,
            pinning_service: None,
            dev_wallet: false,
            trusted_proxies: Vec::new(),
            key_grace: Duration::from_secs(24 * 3600),
        }
    }
}

/// Why a node could not start.
#[derive(Debug, thiserror::Error)]
pub enum NodeError {
    /// The chain did not answer.
    #[error("cannot reach the chain at {url}: {reason}; is the node running and the URL right?")]
    ChainUnreachable {
        /// The JSON-RPC URL.
        url: String,
        /// What failed.
        reason: String,
    },
    /// The chain is not the one the deployment was made on.
    #[error(
        "the chain at {url} has chain id {actual}, but the deployment manifest is for chain id {expected}; \
         pass the manifest of this chain (--deployment) or the RPC URL of chain {expected}"
    )]
    WrongChain {
        /// The JSON-RPC URL.
        url: String,
        /// The manifest's chain id.
        expected: u64,
        /// The chain's id.
        actual: u64,
    },
    /// The deployment manifest lacks a contract.
    #[error(transparent)]
    Manifest(#[from] scal3ml_contracts::ContractsError),
    /// The block store could not be opened.
    #[error(transparent)]
    Store(#[from] scal3ml_store::StoreError),
    /// The marketplace could not be read (not deployed at the manifest's address, or not answering).
    #[error(transparent)]
    Market(Box<scal3ml_market::MarketError>),
    /// The catalog could not be opened.
    #[error("opening the catalog: {0}")]
    Index(#[from] scal3ml_index::IndexError),
    /// The key vault could not be opened.
    #[error("opening the access gateway: {0}")]
    Access(#[from] scal3ml_access::AccessError),
    /// A file or socket failed.
    #[error("{what}: {source}")]
    Io {
        /// What was being done.
        what: String,
        /// The error.
        source: std::io::Error,
    },
}

impl From<scal3ml_market::MarketError> for NodeError {
    fn from(e: scal3ml_market::MarketError) -> Self {
        Self::Market(Box::new(e))
    }
}

/// A running node. [`Node::shutdown`] stops it and waits.
#[derive(Debug)]
pub struct Node {
    addr: SocketAddr,
    url: String,
    network: NetworkInfo,
    stop: watch::Sender<bool>,
    tasks: Vec<JoinHandle<()>>,
    router: Router,
}

impl Node {
    /// Opens the data directory, checks the chain, starts the indexer and serves HTTP.
    pub async fn start(config: NodeConfig) -> Result<Self, NodeError> {
        let url = &config.rpc_url;
        let rpc = url.parse().map_err(|e| NodeError::ChainUnreachable {
            url: url.clone(),
            reason: format!("not a URL: {e}"),
        })?;
        let provider = ProviderBuilder::new().connect_http(rpc);
        let chain_id = provider
            .get_chain_id()
            .await
            .map_err(|e| NodeError::ChainUnreachable {
                url: url.clone(),
                reason: e.to_string(),
            })?;
        if chain_id != config.deployment.chain_id {
            return Err(NodeError::WrongChain {
                url: url.clone(),
                expected: config.deployment.chain_id,
                actual: chain_id,
            });
        }
        let marketplace = config.deployment.address("Marketplace")?;
        let attestations = config.deployment.address("Attestations")?;
        let start_block = config
            .deployment
            .contracts
            .get("Marketplace")
            .map_or(0, |c| c.block_number);

        // One read-only market (no sender) for the chain reads the pages and prepared transactions need.
        let market = scal3ml_market::Market::connect(
            provider.clone().erased(),
            scal3ml_market::Deployment {
                chain_id,
                marketplace,
                attestations,
            },
            Default::default(),
        )
        .await?;
        let tokens = payment_tokens(&market).await?;
        create_dir(&config.data_dir)?;
        create_dir(&config.data_dir.join("index"))?;
        let store = FsStore::open(config.data_dir.join("blocks"))?;
        let index = Index::open(config.data_dir.join("index").join("catalog.sqlite"))?;
        let listener = TcpListener::bind(config.listen)
            .await
            .map_err(|source| NodeError::Io {
                what: format!("binding {}", config.listen),
                source,
            })?;
        let addr = listener.local_addr().map_err(|source| NodeError::Io {
            what: "reading the bound address".into(),
            source,
        })?;
        let node_url = config
            .public_url
            .clone()
            .unwrap_or_else(|| format!("http://{addr}"));
        let network = NetworkInfo {
            name: config.network.clone(),
            chain_id,
            rpc_url: config.rpc_url.clone(),
            explorer: config.explorer.clone(),
            eip1559: config.eip1559,
            marketplace,
            attestations,
            start_block,
            tokens,
            node_url: node_url.clone(),
        };
        let blocks: Arc<dyn BlockStore> = Arc::new(store.clone());
        let access = Gateway::open(
            AccessConfig::new(config.data_dir.join("access"), chain_id, &node_url)
                .with_trusted_proxies(config.trusted_proxies.iter().copied())
                .with_pending_grace(config.key_grace),
            Arc::new(ChainLicenses::new(marketplace, provider.clone())),
            Arc::new(CatalogDirectory(index.clone())),
            blocks.clone(),
        )?;
        let discussions =
            crate::discuss::store::Discussions::open(&config.data_dir.join("discussions.sqlite"))
                .map_err(|e| NodeError::Io {
                what: "opening the discussions".into(),
                source: std::io::Error::other(e),
            })?;
        let uploads = Uploads::open(
            &config.data_dir.join("uploads.sqlite"),
            config.upload_limits(),
        )
        .map_err(|e| NodeError::Io {
            what: "opening the upload table".into(),
            source: std::io::Error::other(e),
        })?;
        let metrics = Arc::new(Metrics::default());
        let state = Arc::new(AppState {
            node_call: access.node_call_token().to_owned(),
            access: access.clone(),
            uploads,
            dev_wallet: config.dev_wallet,
            discussions,
            market,
            network: network.clone(),
            store,
            index: index.clone(),
            metrics: metrics.clone(),
            http: scal3ml_store::http::HttpConfig::default()
                .client()
                .map_err(|e| NodeError::Io {
                    what: "making the HTTP client".into(),
                    source: std::io::Error::other(e),
                })?,
            kubo: config
                .ipfs_api
                .as_deref()
                .map(scal3ml_store::kubo::KuboClient::new),
            pinning: config
                .pinning_service
                .as_ref()
                .map(|(url, token)| scal3ml_store::pinning::PinningClient::new(url, token)),
        });
        // A lost discussions table comes back from the documents pinned in the block store (in the
        // background: it may wait for the catalog to catch up; it ends by itself).
        tokio::spawn({
            let state = state.clone();
            async move {
                match crate::discuss::rebuild::if_empty(state).await {
                    Ok(r) if r.comments + r.decisions + r.refused > 0 => tracing::info!(
                        target: "scal3ml::discuss", comments = r.comments, decisions = r.decisions,
                        refused = r.refused, "rebuilt the discussions table from the pinned documents"),
                    Ok(_) => {}
                    Err(e) => tracing::warn!(target: "scal3ml::discuss", message = %e.message,
                        "could not rebuild the discussions table from the pins"),
                }
            }
        });
        // Every error of the API and the access gateway is the one JSON shape, axum's own rejections (a path
        // segment that does not parse, a wrong method) included; the pages and the trustless gateway answer
        // their own way.
        let app = Router::new()
            .merge(api::router(state.clone()))
            .nest("/access", scal3ml_access::router(access.clone()))
            .layer(axum::middleware::from_fn(scal3ml_access::json_errors))
            .merge(crate::web::router(state.clone()))
            .merge(scal3ml_store::gateway::router(blocks.clone()))
            .layer(axum::middleware::from_fn_with_state(
                metrics,
                metrics::track,
            ));

        let (stop, mut stopped) = watch::channel(false);
        // Keys deposited for content nobody published are dropped after the grace period; the first sweep waits
        // an hour, so a catalog rebuilding at start has caught up before it is asked.
        let mut sweep_stop = stopped.clone();
        tokio::spawn(async move {
            let mut every =
                tokio::time::interval_at(tokio::time::Instant::now() + SWEEP_EVERY, SWEEP_EVERY);
            loop {
                tokio::select! {
                    _ = every.tick() => {}
                    _ = sweep_stop.wait_for(|s| *s) => return,
                }
                match access.sweep_pending().await {
                    Ok(r) if r.dropped + r.published > 0 => {
                        tracing::info!(target: "scal3ml::access",
                        dropped = r.dropped, published = r.published, "swept pending key deposits")
                    }
                    Ok(_) => {}
                    Err(e) => tracing::warn!(target: "scal3ml::access", error = %e,
                        "could not sweep pending key deposits"),
                }
            }
        });
        let indexer = Indexer::new(
            provider,
            index,
            IndexerConfig::new(marketplace, attestations)
                .with_start_block(start_block)
                .with_confirmations(config.confirmations)
                .with_poll_interval(config.poll_interval),
        )
        .with_cards(Arc::new(StoreCards(blocks)));
        // Uploads: hand on what a chain event now names, collect what nobody named in time.
        let sweeper = tokio::spawn({
            let (state, mut stop) = (state.clone(), stopped.clone());
            let every = crate::uploads::sweep_interval(&config.upload_limits());
            async move {
                let mut tick = tokio::time::interval(every);
                tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
                loop {
                    tokio::select! {
                        _ = tick.tick() => {}
                        _ = stop.wait_for(|s| *s) => break,
                    }
                    match crate::uploads::sweep(&state).await {
                        Ok(s) if s.forwarded + s.collected > 0 => {
                            tracing::debug!(target: "scal3ml::uploads",
                            forwarded = s.forwarded, collected = s.collected, freed = s.freed, "swept uploads")
                        }
                        Ok(_) => {}
                        Err(e) => tracing::warn!(target: "scal3ml::uploads", message = %e.message,
                            "the upload sweep failed; trying again"),
                    }
                }
            }
        });
        let mut indexer_stop = stopped.clone();
        let indexer = tokio::spawn(indexer.run(async move {
            let _ = indexer_stop.wait_for(|s| *s).await;
        }));
        let router = app.clone();
        let server = tokio::spawn(async move {
            let shutdown = async move {
                let _ = stopped.wait_for(|s| *s).await;
            };
            // The client's address reaches the access gateway, whose refusal limits are per IP and per account.
            let app = app.into_make_service_with_connect_info::<SocketAddr>();
            if let Err(err) = axum::serve(listener, app)
                .with_graceful_shutdown(shutdown)
                .await
            {
                tracing::error!(target: "scal3ml::server", %err, "the HTTP server failed");
            }
        });
        tracing::debug!(target: "scal3ml::server", %addr, "serving");
        Ok(Self {
            addr,
            url: node_url,
            network,
            stop,
            tasks: vec![server, indexer, sweeper],
            router,
        })
    }

    /// Every route the node serves, to call in-process (`tower::ServiceExt::oneshot`, as the route tests in
    /// crates/server/tests/it do) without a socket. Requests made this way carry no client address.
    pub fn router(&self) -> Router {
        self.router.clone()
    }

    /// The bound address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The public base URL.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// What the node tells clients about its chain.
    pub fn network(&self) -> &NetworkInfo {
        &self.network
    }

    /// Stops serving and indexing, and waits for both.
    pub async fn shutdown(self) {
        let _ = self.stop.send(true);
        for task in self.tasks {
            let _ = task.await;
        }
    }
}

/// The ERC-20 tokens the marketplace accepts, with their symbols and decimals (read once at start).
async fn payment_tokens(
    market: &scal3ml_market::Market<DynProvider>,
) -> Result<Vec<TokenInfo>, NodeError> {
    let mut tokens = Vec::new();
    for address in market.payment_tokens().await? {
        let info = market.token_info(address).await?;
        tokens.push(TokenInfo {
            symbol: info.symbol,
            address,
            decimals: info.decimals,
        });
    }
    Ok(tokens)
}

fn create_dir(dir: &Path) -> Result<(), NodeError> {
    std::fs::create_dir_all(dir).map_err(|source| NodeError::Io {
        what: format!("creating the data directory {}", dir.display()),
        source,
    })
}
