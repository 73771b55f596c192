//! `scal3ml deploy`: deploys the contracts to any chain and writes the deployment manifest that `scal3ml node`
//! reads. The signer becomes the marketplace admin (fee settings, payment tokens).

use crate::wallet::SignerArgs;
use alloy::primitives::{Address, keccak256};
use alloy::{
    network::EthereumWallet,
    providers::{Provider, ProviderBuilder},
};
use anyhow::Context as _;
use clap::Args;
use scal3ml_contracts::{DeployedContract, DeploymentManifest, Marketplace, TestToken};
use scal3ml_primitives::network::Network;
use std::path::PathBuf;

/// Flags of `scal3ml deploy`.
#[derive(Debug, Args)]
pub(crate) struct DeployArgs {
    /// A known network (sets a public RPC URL unless --rpc-url is given).
    #[arg(long, env = "SCAL3ML_NETWORK")]
    network: Option<Network>,
    /// The chain's JSON-RPC URL.
    #[arg(long, env = "SCAL3ML_RPC_URL")]
    rpc_url: Option<String>,
    /// Where to write the deployment manifest.
    #[arg(long, short, default_value = "deployment.json")]
    out: PathBuf,
    /// Also deploy a test ERC-20 (anyone can mint it) and allow it for payment: for test chains only.
    #[arg(long, value_name = "SYMBOL")]
    test_token: Option<String>,
    /// Allow this ERC-20 for payment right after deploying (repeat for more; at most 8 ever).
    #[arg(long = "allow-token", value_name = "ADDRESS")]
    allow_tokens: Vec<alloy::primitives::Address>,
    #[command(flatten)]
    signer: SignerArgs,
    /// Print the manifest as JSON on stdout too.
    #[arg(long)]
    json: bool,
}

/// Deploys the contracts with `admin` as their admin, then (optionally) a test ERC-20 `(name, symbol)`
/// recorded in the manifest as `TestToken`, and allows it and `allow` for payment. Returns the manifest and the
/// tokens allowed. `scal3ml dev` deploys through here too.
pub(crate) async fn deploy_all<P: Provider>(
    provider: &P,
    admin: Address,
    test_token: Option<(String, String)>,
    allow: &[Address],
) -> anyhow::Result<(DeploymentManifest, Vec<Address>)> {
    let deployment = scal3ml_contracts::deploy(provider, admin).await?;
    let mut manifest = deployment.manifest;
    let mut tokens = allow.to_vec();
    if let Some((name, symbol)) = test_token {
        let token = TestToken::deploy(provider, name, symbol)
            .await
            .context("deploying the test token")?;
        tokens.push(*token.address());
        manifest.contracts.insert(
            "TestToken".into(),
            DeployedContract {
                address: *token.address(),
                transaction_hash: Default::default(),
                block_number: 0,
                block_hash: None,
                creation_code_hash: keccak256(&TestToken::BYTECODE),
                runtime_code_hash: keccak256(provider.get_code_at(*token.address()).await?),
                constructor_args: Default::default(),
            },
        );
    }
    let market = Marketplace::new(deployment.marketplace, provider);
    for token in &tokens {
        market
            .allowPaymentToken(*token)
            .send()
            .await
            .with_context(|| format!("allowing {token} for payment"))?
            .get_receipt()
            .await?;
    }
    Ok((manifest, tokens))
}

pub(crate) async fn run(args: DeployArgs) -> anyhow::Result<()> {
    let url = match (&args.rpc_url, &args.network) {
        (Some(u), _) => u.clone(),
        (None, Some(n)) => n.rpc_url.to_string(),
        (None, None) => anyhow::bail!(
            "say which chain: --network {} or --rpc-url URL",
            Network::names().join("|")
        ),
    };
    if args.out.exists() {
        anyhow::bail!(
            "{} exists; move it away or pass --out FILE (a manifest is the only record of a deployment)",
            args.out.display()
        );
    }
    let rpc = url
        .parse()
        .with_context(|| format!("--rpc-url {url:?} is not a URL"))?;
    let probe = ProviderBuilder::new().connect_http(rpc);
    let chain_id = probe
        .get_chain_id()
        .await
        .with_context(|| format!("cannot reach the chain at {url}; is it running?"))?;
    if let Some(n) = &args.network
        && n.chain_id != chain_id
    {
        anyhow::bail!(
            "--network {} is chain id {}, but {url} is chain id {chain_id}",
            n.name,
            n.chain_id
        );
    }
    let signer = args.signer.signer(chain_id)?;
    let admin = signer.address();
    let provider = ProviderBuilder::new()
        .wallet(EthereumWallet::from(signer))
        .connect_http(url.parse()?);
    eprintln!("deploying to chain {chain_id} at {url} as {admin}");
    let test_token = args
        .test_token
        .as_ref()
        .map(|symbol| (format!("Scal3ML test {symbol}"), symbol.clone()));
    let (manifest, tokens) = deploy_all(&provider, admin, test_token, &args.allow_tokens).await?;
    manifest.save(&args.out)?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&manifest)?);
    } else {
        println!("Deployed to chain {chain_id}:");
        for (name, c) in &manifest.contracts {
            println!("  {name:<13} {}", c.address);
        }
        for t in &tokens {
            println!("  allowed for payment: {t}");
        }
        println!(
            "Manifest written to {}. Run a node with:",
            args.out.display()
        );
        println!(
            "  scal3ml node --rpc-url {url} --deployment {}",
            args.out.display()
        );
    }
    Ok(())
}
