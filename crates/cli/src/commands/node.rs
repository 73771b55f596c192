//! `scal3ml node`: the node's services (REST API, access gateway, trustless gateway, indexer) against a real
//! chain, chosen by a network preset or an RPC URL, with the deployment manifest `scal3ml deploy` wrote.

use crate::commands::devnet::wait_for_signal;
use anyhow::Context as _;
use clap::Args;
use scal3ml_contracts::DeploymentManifest;
use scal3ml_primitives::network::Network;
use scal3ml_server::{Node, NodeConfig};
use std::{net::IpAddr, net::SocketAddr, path::PathBuf, time::Duration};

/// Flags of `scal3ml node`.
#[derive(Debug, Args)]
pub(crate) struct NodeArgs {
    /// A known network: sepolia, arbitrum-sepolia, neon-devnet or localhost. Sets the chain id, a public RPC
    /// URL (override with --rpc-url), the explorer and whether to send EIP-1559 transactions.
    #[arg(long, env = "SCAL3ML_NETWORK")]
    network: Option<Network>,
    /// The chain's JSON-RPC URL (required without --network).
    #[arg(long, env = "SCAL3ML_RPC_URL")]
    rpc_url: Option<String>,
    /// The deployment manifest written by `scal3ml deploy` (contract addresses and the deployment block).
    #[arg(long, env = "SCAL3ML_DEPLOYMENT", value_name = "FILE")]
    deployment: PathBuf,
    /// Where the blocks, the catalog and the keys live [default: <user data dir>/scal3ml/<network>].
    #[arg(long, env = "SCAL3ML_DATA_DIR", value_name = "DIR")]
    data_dir: Option<PathBuf>,
    #[command(flatten)]
    serve: ServeArgs,
    /// The URL clients reach this node at, when it is behind a proxy (signed requests name it).
    #[arg(long, env = "SCAL3ML_PUBLIC_URL")]
    public_url: Option<String>,
    /// Blocks the indexer stays behind the head, so short reorgs never reach the catalog [default: 0 on
    /// localhost, 3 elsewhere].
    #[arg(long, env = "SCAL3ML_CONFIRMATIONS")]
    confirmations: Option<u64>,
    /// How often the indexer asks the chain for new blocks, in milliseconds.
    #[arg(long, default_value_t = 1000, env = "SCAL3ML_POLL_MS")]
    poll_ms: u64,
}

/// Where a node serves and where it hands uploads on: shared by `scal3ml dev` and `scal3ml node`.
#[derive(Debug, Args)]
pub(crate) struct ServeArgs {
    /// Address to bind (the chain's JSON-RPC too, under `scal3ml dev`).
    #[arg(long, default_value = "127.0.0.1", env = "SCAL3ML_HOST")]
    pub(crate) host: IpAddr,
    /// Port of the REST API and gateways (0 picks a free one).
    #[arg(long, default_value_t = 8080, env = "SCAL3ML_PORT")]
    pub(crate) port: u16,
    /// Also copy every upload to this IPFS node and pin it there (its Kubo RPC API, e.g. http://127.0.0.1:5001).
    #[arg(long, env = "SCAL3ML_IPFS_API", value_name = "URL")]
    ipfs_api: Option<String>,
    /// Also ask this pinning service (IPFS Pinning Service API) to pin every upload; it fetches the content
    /// from this node's gateway, so the node must be reachable from it (see --public-url on `scal3ml node`).
    #[arg(
        long,
        env = "SCAL3ML_PINNING_SERVICE",
        value_name = "URL",
        requires = "pinning_token"
    )]
    pinning_service: Option<String>,
    /// The pinning service's access token (better given as SCAL3ML_PINNING_TOKEN than on the command line).
    #[arg(
        long,
        env = "SCAL3ML_PINNING_TOKEN",
        hide_env_values = true,
        requires = "pinning_service"
    )]
    pinning_token: Option<String>,
    /// A reverse proxy in front of the node (a CIDR such as 10.0.0.0/8, or one address; repeat for several):
    /// only requests from it have their client address taken from X-Forwarded-For (the right-most address
    /// that is not itself a trusted proxy). Without it every client is its TCP peer, so behind a proxy all
    /// clients would share one rate limit.
    #[arg(long = "trusted-proxy", value_name = "CIDR", env = "SCAL3ML_TRUSTED_PROXIES", value_delimiter = ',',
        value_parser = scal3ml_access::parse_trusted_proxy)]
    trusted_proxies: Vec<scal3ml_access::IpNet>,
    /// Hours a content key deposited for content no chain event names is kept before it is dropped.
    #[arg(
        long = "key-grace",
        default_value_t = 24,
        value_name = "HOURS",
        env = "SCAL3ML_KEY_GRACE_HOURS"
    )]
    key_grace_hours: u64,
    /// The largest upload request the node takes (4GiB, 500MiB, 1000000) [default: 4GiB].
    #[arg(long, env = "SCAL3ML_MAX_UPLOAD", value_name = "SIZE", value_parser = parse_size)]
    max_upload: Option<u64>,
    /// How long an upload no chain event names is kept before it is unpinned and collected (24h, 30m, 1s)
    /// [default: 24h].
    #[arg(long, env = "SCAL3ML_UPLOAD_GRACE", value_name = "DURATION", value_parser = parse_secs)]
    upload_grace: Option<Duration>,
    /// Unpublished upload bytes the node holds at most, from everyone together [default: 8GiB].
    #[arg(long, env = "SCAL3ML_MAX_PENDING", value_name = "SIZE", value_parser = parse_size)]
    max_pending: Option<u64>,
    /// Unpublished upload bytes one account, and one client address, may hold [default: 4GiB].
    #[arg(long, env = "SCAL3ML_PENDING_PER_CLIENT", value_name = "SIZE", value_parser = parse_size)]
    pending_per_client: Option<u64>,
    /// Uploads and comments per hour per account and per client address [default: 600].
    #[arg(long, env = "SCAL3ML_UPLOADS_PER_HOUR", value_name = "N")]
    uploads_per_hour: Option<u32>,
}

/// A size: a whole number of bytes, or with a unit: KiB, MiB, GiB, TiB (K, M, G, T alike) or KB, MB, GB, TB.
fn parse_size(text: &str) -> Result<u64, String> {
    let t = text.trim();
    let (digits, unit) = t.split_at(t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len()));
    let n: u64 = digits.parse().map_err(|_| {
        format!("{text:?}: write a number of bytes, or one with a unit (4GiB, 500MiB)")
    })?;
    let scale: u64 = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 1,
        "k" | "kib" => 1 << 10,
        "m" | "mib" => 1 << 20,
        "g" | "gib" => 1 << 30,
        "t" | "tib" => 1 << 40,
        "kb" => 1_000,
        "mb" => 1_000_000,
        "gb" => 1_000_000_000,
        "tb" => 1_000_000_000_000,
        other => {
            return Err(format!(
                "{text:?}: unknown unit {other:?}; use KiB, MiB, GiB or TiB"
            ));
        }
    };
    n.checked_mul(scale)
        .ok_or_else(|| format!("{text:?} is too large"))
}

/// A duration: seconds, or a number with s, m, h or d.
fn parse_secs(text: &str) -> Result<Duration, String> {
    let t = text.trim();
    let (digits, unit) = t.split_at(t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len()));
    let n: u64 = digits
        .parse()
        .map_err(|_| format!("{text:?}: write a number with s, m, h or d (24h)"))?;
    let scale = match unit.trim() {
        "" | "s" => 1,
        "m" => 60,
        "h" => 3600,
        "d" => 86_400,
        other => {
            return Err(format!(
                "{text:?}: unknown unit {other:?}; use s, m, h or d"
            ));
        }
    };
    n.checked_mul(scale)
        .map(Duration::from_secs)
        .ok_or_else(|| format!("{text:?} is too long"))
}

impl ServeArgs {
    /// The address to serve on.
    pub(crate) fn listen(&self) -> SocketAddr {
        SocketAddr::new(self.host, self.port)
    }

    /// Sets where the node hands uploads on, and its upload limits.
    pub(crate) fn apply(&self, config: &mut NodeConfig) {
        config.ipfs_api = self.ipfs_api.clone();
        config.pinning_service = self.pinning_service.clone().zip(self.pinning_token.clone());
        config.trusted_proxies = self.trusted_proxies.clone();
        config.key_grace = Duration::from_secs(self.key_grace_hours.saturating_mul(3600));
        if let Some(n) = self.max_upload {
            config.max_upload_bytes = n;
        }
        if let Some(d) = self.upload_grace {
            config.upload_grace = d;
        }
        if let Some(n) = self.max_pending {
            config.max_pending_bytes = n;
        }
        if let Some(n) = self.pending_per_client {
            config.pending_per_client_bytes = n;
        }
        if let Some(n) = self.uploads_per_hour {
            config.uploads_per_hour = n;
        }
    }
}

pub(crate) async fn run(args: NodeArgs) -> anyhow::Result<()> {
    let rpc_url = match (&args.rpc_url, &args.network) {
        (Some(url), _) => url.clone(),
        (None, Some(network)) => network.rpc_url.to_string(),
        (None, None) => anyhow::bail!(
            "say which chain: --network {} or --rpc-url URL",
            Network::names().join("|")
        ),
    };
    let manifest = DeploymentManifest::load(&args.deployment).with_context(|| {
        format!(
            "reading the deployment manifest {} (write one with `scal3ml deploy --rpc-url URL --out FILE`)",
            args.deployment.display()
        )
    })?;
    let network = args
        .network
        .or_else(|| Network::by_chain_id(manifest.chain_id));
    if let Some(n) = &args.network
        && n.chain_id != manifest.chain_id
    {
        anyhow::bail!(
            "the deployment manifest {} is for chain id {}, but --network {} is chain id {}; pass the manifest of {}",
            args.deployment.display(),
            manifest.chain_id,
            n.name,
            n.chain_id,
            n.name
        );
    }
    let name = network.map_or_else(
        || format!("chain-{}", manifest.chain_id),
        |n| n.name.to_string(),
    );
    let data_dir = match args.data_dir {
        Some(dir) => dir,
        None => scal3ml_accounts::default_data_dir()?.join(&name),
    };
    let mut config = NodeConfig::new(&data_dir, args.serve.listen(), &rpc_url, manifest);
    config.network = name;
    args.serve.apply(&mut config);
    config.public_url = args.public_url;
    config.explorer = network.and_then(|n| n.explorer_url.map(str::to_string));
    config.eip1559 = network.is_none_or(|n| n.eip1559);
    config.confirmations = args
        .confirmations
        .unwrap_or(if network.is_some_and(|n| n.is_dev()) {
            0
        } else {
            3
        });
    config.poll_interval = Duration::from_millis(args.poll_ms.max(50));
    let node = Node::start(config).await?;
    println!(
        "Scal3ML node for {} (chain id {})",
        node.network().name,
        node.network().chain_id
    );
    println!("  REST API        {}/api", node.url());
    println!("  Access gateway  {}/access", node.url());
    println!("  IPFS gateway    {}/ipfs/<cid>", node.url());
    println!("  Chain JSON-RPC  {rpc_url}");
    println!("  Data directory  {}", data_dir.display());
    println!("Listening on {}", node.addr());
    wait_for_signal().await;
    eprintln!("shutting down");
    node.shutdown().await;
    Ok(())
}
