//! `scal3ml publish`: a file or folder becomes an asset. The order makes a failure harmless and a retry safe:
//! 1. check every input (path, card, price, shares, parents) before anything is written;
//! 2. import the content (encrypted under a fresh asset key when priced) and the card into a temporary store,
//!    and upload both as one CAR to the node, which pins them;
//! 3. deposit the key with the node's access gateway (signed, keyed by the content CID);
//! 4. send the one publish transaction. Only this step creates a listing, so a failure before it leaves no
//!    orphan listing, and running the command again reuses what steps 2 and 3 stored.

use crate::{
    node_client::{NodeArgs, NodeClient, emit},
    wallet::SignerArgs,
};
use alloy::primitives::TxHash;
use anyhow::{Context as _, bail};
use clap::Args;
use scal3ml_access::client::AccessClient;
use scal3ml_market::publish::{self as inputs, CardFields, InputError};
use scal3ml_primitives::{
    AssetId, AssetKind, LicenseDuration, LicenseTerms, PaymentToken,
    card::{Card, CardFile},
};
use scal3ml_store::FsStore;
use serde::Serialize;
use std::path::PathBuf;

/// Flags of `scal3ml publish`.
#[derive(Debug, Args)]
pub(crate) struct PublishArgs {
    /// The file or folder to publish.
    path: PathBuf,
    /// What it is: dataset or model [default: the card's kind].
    #[arg(long)]
    kind: Option<AssetKind>,
    /// A card as JSON (see docs/cards.md); flags below override its fields.
    #[arg(long, value_name = "FILE", conflicts_with = "readme")]
    card: Option<PathBuf>,
    /// A Hugging Face style README.md with YAML front matter, mapped to a card.
    #[arg(long, value_name = "FILE")]
    readme: Option<PathBuf>,
    /// Name shown in search results.
    #[arg(long)]
    name: Option<String>,
    /// Description in Markdown (or @FILE to read it from a file).
    #[arg(long)]
    description: Option<String>,
    /// SPDX license id (MIT, Apache-2.0, CC-BY-4.0, ...) or a custom license URL.
    #[arg(long)]
    license: Option<String>,
    /// A tag (repeat for more).
    #[arg(long = "tag", value_name = "TAG")]
    tags: Vec<String>,
    /// The ML task, e.g. text-classification.
    #[arg(long)]
    task: Option<String>,
    /// The framework, e.g. pytorch.
    #[arg(long)]
    framework: Option<String>,
    /// Price of a license, in whole tokens (0.05); 0 or absent publishes it free for everyone.
    #[arg(long, default_value = "0")]
    price: String,
    /// What the price is paid in: ETH, a token symbol the node lists (USDX on `scal3ml dev`), or an address.
    #[arg(long, default_value = "ETH")]
    token: String,
    /// How long a license lasts: perpetual, or a number with s, m, h or d (30d).
    #[arg(long, default_value = "perpetual")]
    duration: String,
    /// A collaborator and their share of the revenue: ADDRESS=PERCENT (repeat; the rest stays with you).
    #[arg(long = "collaborator", value_name = "ADDRESS=PERCENT")]
    collaborators: Vec<String>,
    /// An asset this one derives from and its royalty on every sale: ID=PERCENT (repeat, at most 4).
    #[arg(long = "parent", value_name = "ID=PERCENT")]
    parents: Vec<String>,
    /// Encrypt the content even though it is free (paid assets are always encrypted).
    #[arg(long)]
    encrypt: bool,
    #[command(flatten)]
    signer: SignerArgs,
    #[command(flatten)]
    node: NodeArgs,
    /// Print the result as JSON.
    #[arg(long)]
    json: bool,
}

/// What `publish` prints with --json.
#[derive(Debug, Serialize)]
struct PublishOutput {
    asset: AssetId,
    tx: TxHash,
    block: u64,
    content_cid: String,
    metadata_cid: String,
    encrypted: bool,
    price: String,
    token: String,
    files: Vec<CardFile>,
    explorer: Option<String>,
}

pub(crate) async fn run(args: PublishArgs) -> anyhow::Result<()> {
    // 1. Inputs, before anything is written.
    let meta = std::fs::metadata(&args.path).with_context(|| {
        format!(
            "cannot read {}: give the path of a file or folder to publish",
            args.path.display()
        )
    })?;
    if !meta.is_file() && !meta.is_dir() {
        bail!("{} is neither a file nor a folder", args.path.display());
    }
    let node = NodeClient::connect(&args.node).await?;
    let signer = node.signer(&args.signer)?;
    let market = node.market(Some(&signer)).await?;
    let token = node.token(&market, &args.token).await?;
    let price = token
        .parse(&args.price)
        .with_context(|| format!("--price {:?}", args.price))?;
    let duration = parse_duration(&args.duration)?;
    let collaborators =
        inputs::parse_collaborators(&args.collaborators, signer.address()).map_err(flag)?;
    let parents = inputs::parse_parents(&args.parents).map_err(flag)?;
    let card = base_card(&args, &parents)?;
    let encrypt = !price.is_zero() || args.encrypt;
    // Validate what the card will hold except the files, so a bad field fails before the import.
    inputs::check_card(&card)?;
    for &(parent, _) in &parents {
        market
            .asset_record(parent)
            .await
            .with_context(|| format!("--parent {parent}: no such asset on this chain"))?;
    }

    // 2. Content and card into a temporary store, then to the node.
    let scratch = tempfile::tempdir().context("creating a temporary directory")?;
    let store = FsStore::open(scratch.path().join("blocks"))?;
    if !args.json {
        eprintln!(
            "importing {}{}",
            args.path.display(),
            if encrypt { " (encrypting)" } else { "" }
        );
    }
    let packaged = inputs::package(&store, &args.path, card, encrypt).await?;
    let car_path = scratch.path().join("upload.car");
    {
        let file = std::fs::File::create(&car_path)?;
        scal3ml_store::car::export_car(
            &store,
            &[packaged.root, packaged.card_cid],
            std::io::BufWriter::new(file),
        )
        .await?;
    }
    if !args.json {
        eprintln!("uploading to {}", node.api.base());
    }
    node.upload_car(&car_path, &signer)
        .await
        .context("uploading the content to the node")?;

    // 3. The key, before the transaction.
    let content_cid = packaged.root.to_string();
    if let Some(key) = &packaged.key {
        AccessClient::new(&node.network.node_url, &node.http)
            .deposit_key(&signer, node.network.chain_id, &content_cid, key)
            .await
            .context("depositing the content key with the node's access gateway")?;
    }

    // 4. The transaction.
    let listing = LicenseTerms {
        token: PaymentToken::from(token.address),
        price,
        duration,
    };
    let request = inputs::publish_request(
        &packaged,
        signer.address(),
        &collaborators,
        parents.clone(),
        listing,
        &node.network.node_url,
    )?;
    if !args.json {
        eprintln!("sending the publish transaction from {}", signer.address());
    }
    let published = market.publish(request).await?;
    wait_until_indexed(&node, published.asset, args.json).await;
    let out = PublishOutput {
        asset: published.asset,
        tx: published.tx.hash,
        block: published.tx.block,
        content_cid,
        metadata_cid: packaged.card_cid.to_string(),
        encrypted: encrypt,
        price: token.format(price),
        token: token.symbol.clone(),
        files: packaged.card.files.clone(),
        explorer: node.tx_link(published.tx.hash),
    };
    emit(args.json, &out, || {
        println!(
            "Published asset {} \"{}\" ({})",
            out.asset, packaged.card.name, packaged.card.kind
        );
        println!(
            "  content   {}{}",
            out.content_cid,
            if encrypt { " (encrypted)" } else { "" }
        );
        println!("  card      {}", out.metadata_cid);
        if price.is_zero() {
            println!("  price     free");
        } else {
            println!(
                "  price     {} {} ({})",
                out.price,
                out.token,
                inputs::describe_duration(duration)
            );
        }
        println!("  tx        {} (block {})", out.tx, out.block);
        if let Some(link) = &out.explorer {
            println!("  explorer  {link}");
        }
        println!("Find it with `scal3ml show {}`.", out.asset);
    });
    Ok(())
}

/// Waits (up to 10 s) until the node's catalog shows the asset, so `show` and `search` find it once this
/// command returns; the node indexes within a second of the receipt.
async fn wait_until_indexed(node: &NodeClient, asset: AssetId, quiet: bool) {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while std::time::Instant::now() < deadline {
        if node.api.asset(asset).await.is_ok() {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    if !quiet {
        eprintln!(
            "warning: the node has not indexed asset {asset} yet; it is on chain and will appear shortly"
        );
    }
}

/// The card from --card / --readme / nothing, with the flags and the parents applied on top.
fn base_card(args: &PublishArgs, parents: &[(AssetId, u16)]) -> anyhow::Result<Card> {
    let base = if let Some(path) = &args.card {
        let bytes =
            std::fs::read(path).with_context(|| format!("reading the card {}", path.display()))?;
        Some(Card::from_json(&bytes).with_context(|| format!("in the card {}", path.display()))?)
    } else if let Some(path) = &args.readme {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("reading the README {}", path.display()))?;
        let (card, warnings) = Card::from_hf_readme(&text, args.kind)
            .with_context(|| format!("in the README {}", path.display()))?;
        for w in warnings {
            eprintln!("warning: {}: {w}", path.display());
        }
        Some(card)
    } else {
        None
    };
    let description = match &args.description {
        Some(d) => Some(match d.strip_prefix('@') {
            Some(file) => std::fs::read_to_string(file)
                .with_context(|| format!("reading the description {file}"))?,
            None => d.clone(),
        }),
        None => None,
    };
    let fields = CardFields {
        kind: args.kind,
        name: args.name.clone(),
        description,
        license: args.license.clone(),
        tags: args.tags.clone(),
        task: args.task.clone(),
        framework: args.framework.clone(),
    };
    fields.card(base, parents).map_err(flag)
}

/// An input error as the flag it came from: `--duration: "3 weeks": write perpetual, or ...`.
fn flag(e: InputError) -> anyhow::Error {
    anyhow::anyhow!("--{}: {}", e.field, e.message)
}

/// `perpetual`, or a number with a unit s, m, h or d (the `--duration` flag).
pub(crate) fn parse_duration(text: &str) -> anyhow::Result<LicenseDuration> {
    inputs::parse_duration(text).map_err(flag)
}
