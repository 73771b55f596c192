//! `scal3ml dev`: the whole platform on one machine. Starts the embedded chain, deploys the contracts (and a
//! test ERC-20, USDX, minted to every dev account) on first start, and runs a node against them. State lives
//! under the data directory and survives restarts; `--fresh` starts over. Prints the URLs and accounts, then
//! the stable line `Listening on HOST:PORT` that scripts parse.

use crate::commands::devnet::wait_for_signal;
use crate::commands::node::ServeArgs;
use alloy::{
    network::EthereumWallet,
    primitives::{Address, U256},
    providers::{Provider, ProviderBuilder},
    signers::local::PrivateKeySigner,
};
use anyhow::Context as _;
use clap::Args;
use scal3ml_contracts::{DeploymentManifest, TestToken};
use scal3ml_devnet::DevnetConfig;
use scal3ml_server::{Node, NodeConfig};
use std::{path::PathBuf, time::Instant};

/// The dev chain's test token: symbol, name and what each dev account gets.
const TOKEN_SYMBOL: &str = "USDX";
const TOKEN_NAME: &str = "Scal3ML Dev Dollar";
const TOKEN_PER_ACCOUNT: u64 = 1_000_000;

/// Flags of `scal3ml dev`.
#[derive(Debug, Args)]
pub(crate) struct DevArgs {
    /// Where the chain, the blocks, the catalog and the keys live [default: <user data dir>/scal3ml/dev].
    #[arg(long, env = "SCAL3ML_DATA_DIR", value_name = "DIR")]
    data_dir: Option<PathBuf>,
    /// Delete the data directory's dev state first and start a new chain.
    #[arg(long)]
    fresh: bool,
    #[command(flatten)]
    serve: ServeArgs,
    /// Port of the chain's JSON-RPC (0 picks a free one).
    #[arg(long, default_value_t = 8545, env = "SCAL3ML_RPC_PORT")]
    rpc_port: u16,
}

/// The data directory of `scal3ml dev` when none is given.
pub(crate) fn default_dev_dir() -> anyhow::Result<PathBuf> {
    Ok(scal3ml_accounts::default_data_dir()?.join("dev"))
}

pub(crate) async fn run(args: DevArgs) -> anyhow::Result<()> {
    let started = Instant::now();
    let dir = match args.data_dir {
        Some(dir) => dir,
        None => default_dev_dir()?,
    };
    if args.fresh && dir.exists() {
        for part in ["chain", "blocks", "index", "access", "deployment.json"] {
            let path = dir.join(part);
            if path.is_dir() {
                std::fs::remove_dir_all(&path)
            } else if path.exists() {
                std::fs::remove_file(&path)
            } else {
                Ok(())
            }
            .with_context(|| format!("removing {} for --fresh", path.display()))?;
        }
    }
    std::fs::create_dir_all(&dir)
        .with_context(|| format!("creating the data directory {}", dir.display()))?;
    let chain = scal3ml_devnet::spawn(
        DevnetConfig::default()
            .with_host(args.serve.host)
            .with_port(args.rpc_port)
            .with_data_dir(dir.join("chain")),
    )
    .await
    .with_context(|| {
        format!(
            "starting the embedded chain on {}:{} (is another `scal3ml dev` running? pass --rpc-port 0 to pick a free port)",
            args.serve.host, args.rpc_port
        )
    })?;
    let keys = chain.dev_keys();
    let admin = PrivateKeySigner::from_bytes(&keys[0].1)?;
    let provider = ProviderBuilder::new()
        .wallet(EthereumWallet::from(admin.clone()))
        .connect_http(chain.http_url().parse()?);
    let manifest_path = dir.join("deployment.json");
    let manifest = match DeploymentManifest::load(&manifest_path) {
        Ok(m) if deployed(&provider, &m).await => m,
        _ => {
            let m = deploy_dev(&provider, admin.address(), &keys).await?;
            m.save(&manifest_path)?;
            m
        }
    };
    let token = manifest.address("TestToken")?;
    let mut config = NodeConfig::new(
        &dir,
        args.serve.listen(),
        chain.http_url(),
        manifest.clone(),
    );
    config.network = "dev".into();
    config.dev_wallet = true;
    args.serve.apply(&mut config);
    let node = Node::start(config).await.with_context(|| {
        format!(
            "starting the node on {}:{} (pass --port 0 to pick a free port)",
            args.serve.host, args.serve.port
        )
    })?;
    let url = node.url().to_string();
    println!(
        "Scal3ML dev node ready in {:.1} s",
        started.elapsed().as_secs_f64()
    );
    println!();
    println!("  REST API        {url}/api  (OpenAPI at {url}/api/openapi.json)");
    println!("  Access gateway  {url}/access");
    println!("  IPFS gateway    {url}/ipfs/<cid>");
    println!("  Metrics         {url}/metrics");
    println!(
        "  Chain JSON-RPC  {}  (chain id {})",
        chain.http_url(),
        chain.chain_id()
    );
    println!("  Data directory  {}", dir.display());
    println!();
    println!("Contracts:");
    println!("  Marketplace   {}", manifest.address("Marketplace")?);
    println!("  Attestations  {}", manifest.address("Attestations")?);
    println!("  {TOKEN_SYMBOL} (test ERC-20)  {token}");
    println!();
    println!(
        "Dev accounts, 10000 ETH and {TOKEN_PER_ACCOUNT} {TOKEN_SYMBOL} each (dev only, never use these keys on a real network):"
    );
    for (i, (address, key)) in keys.iter().enumerate() {
        println!("  ({i}) {address} {key}");
    }
    println!();
    println!("Use them with --dev-account N, e.g.:");
    println!(
        "  scal3ml publish ./data.csv --kind dataset --name \"My data\" --license MIT --dev-account 0"
    );
    println!("  scal3ml search data");
    println!();
    println!("Listening on {}", node.addr());
    wait_for_signal().await;
    eprintln!("shutting down");
    node.shutdown().await;
    chain.shutdown().await;
    Ok(())
}

/// Whether the manifest's contracts have code on this chain (a kept data directory) or not (a new chain).
async fn deployed<P: Provider>(provider: &P, manifest: &DeploymentManifest) -> bool {
    for contract in manifest.contracts.values() {
        match provider.get_code_at(contract.address).await {
            Ok(code) if !code.is_empty() => {}
            _ => return false,
        }
    }
    !manifest.contracts.is_empty()
}

/// Deploys the contracts and the test token, allows the token for payment and mints it to every dev account.
async fn deploy_dev<P: Provider>(
    provider: &P,
    admin: Address,
    accounts: &[(Address, alloy::primitives::B256)],
) -> anyhow::Result<DeploymentManifest> {
    let test_token = Some((TOKEN_NAME.to_string(), TOKEN_SYMBOL.to_string()));
    let (manifest, _) = crate::commands::deploy::deploy_all(provider, admin, test_token, &[])
        .await
        .context("deploying the contracts to the dev chain")?;
    let token = TestToken::new(manifest.address("TestToken")?, provider);
    let amount = U256::from(TOKEN_PER_ACCOUNT) * U256::from(10).pow(U256::from(18));
    for (account, _) in accounts {
        token
            .mint(*account, amount)
            .send()
            .await?
            .get_receipt()
            .await?;
    }
    Ok(manifest)
}
