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
use alloy::primitives::{Address, TxHash};
use anyhow::{Context as _, bail};
use clap::Args;
use scal3ml_access::client::AccessClient;
use scal3ml_market::{PublishRequest, content};
use scal3ml_primitives::{
    AssetId, AssetKind, LicenseDuration, LicenseTerms, PaymentToken,
    card::{Card, CardFile, CardParent},
};
use scal3ml_store::{FsStore, crypt::FileKey};
use serde::Serialize;
use std::path::PathBuf;

/// Shares an asset is divided into: one share is 0.01 %.
pub(crate) const TOTAL_SHARES: u64 = 10_000;

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
    let mut card = base_card(&args)?;
    let node = NodeClient::connect(&args.node).await?;
    let signer = node.signer(&args.signer)?;
    let market = node.market(Some(&signer)).await?;
    let token = node.token(&market, &args.token).await?;
    let price = token
        .parse(&args.price)
        .with_context(|| format!("--price {:?}", args.price))?;
    let duration = parse_duration(&args.duration)?;
    let collaborators = parse_collaborators(&args.collaborators, signer.address())?;
    let parents = parse_parents(&args.parents)?;
    card.parents = parents
        .iter()
        .map(|&(asset, bps)| CardParent {
            asset,
            royalty_bps: u32::from(bps),
        })
        .collect();
    card.created = Some(chrono_now());
    let encrypt = !price.is_zero() || args.encrypt;
    // Validate what the card will hold except the files, so a bad field fails before the import.
    let mut probe = card.clone();
    probe.files = vec![CardFile {
        path: "probe".into(),
        size: 0,
        sha256: "0".repeat(64),
        cid: "bafkreihdwdcefgh4dqkjv67uzcmw7ojee6xedzdetojuzjevtenxquvyku".into(),
    }];
    probe.validate()?;
    for &(parent, _) in &parents {
        market
            .asset_record(parent)
            .await
            .with_context(|| format!("--parent {parent}: no such asset on this chain"))?;
    }

    // 2. Content and card into a temporary store, then to the node.
    let scratch = tempfile::tempdir().context("creating a temporary directory")?;
    let store = FsStore::open(scratch.path().join("blocks"))?;
    let key = if encrypt {
        Some(FileKey::generate()?)
    } else {
        None
    };
    if !args.json {
        eprintln!(
            "importing {}{}",
            args.path.display(),
            if encrypt { " (encrypting)" } else { "" }
        );
    }
    let prepared = content::prepare(&store, &args.path, key.as_ref()).await?;
    card.files = prepared
        .files
        .iter()
        .map(|f| CardFile {
            path: f.path.clone(),
            size: f.size,
            sha256: f.sha256.clone(),
            cid: f.cid.to_string(),
        })
        .collect();
    card.validate()?;
    let card_bytes = card.to_json_bytes();
    let card_cid = scal3ml_store::add_reader(
        &store,
        std::io::Cursor::new(card_bytes),
        content::import_options(),
    )
    .await?
    .cid;
    let car_path = scratch.path().join("upload.car");
    {
        let file = std::fs::File::create(&car_path)?;
        scal3ml_store::car::export_car(
            &store,
            &[prepared.root, card_cid],
            std::io::BufWriter::new(file),
        )
        .await?;
    }
    if !args.json {
        eprintln!("uploading to {}", node.base);
    }
    node.upload_car(&car_path)
        .await
        .context("uploading the content to the node")?;

    // 3. The key, before the transaction.
    let content_cid = prepared.root.to_string();
    if let Some(key) = &key {
        AccessClient::new(&node.network.node_url, &node.http)
            .deposit_key(&signer, node.network.chain_id, &content_cid, key)
            .await
            .context("depositing the content key with the node's access gateway")?;
    }

    // 4. The transaction.
    let mut shareholders = collaborators;
    let given: u64 = shareholders.iter().map(|(_, s)| s).sum();
    shareholders.insert(0, (signer.address(), TOTAL_SHARES - given));
    let request = PublishRequest {
        kind: card.kind,
        content_cid: content_cid.parse()?,
        metadata_cid: card_cid.to_string().parse()?,
        encrypted: encrypt,
        gateway_url: if encrypt {
            node.network.node_url.clone()
        } else {
            String::new()
        },
        parents: parents.clone(),
        shareholders,
        listing: LicenseTerms {
            token: PaymentToken::from(token.address),
            price,
            duration,
        },
    };
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
        metadata_cid: card_cid.to_string(),
        encrypted: encrypt,
        price: token.format(price),
        token: token.symbol.clone(),
        files: card.files.clone(),
        explorer: node.tx_link(published.tx.hash),
    };
    emit(args.json, &out, || {
        println!(
            "Published asset {} \"{}\" ({})",
            out.asset, card.name, card.kind
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
                describe_duration(duration)
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
        if node
            .get::<serde_json::Value>(&format!("/api/assets/{asset}"))
            .await
            .is_ok()
        {
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

/// The card from --card / --readme / nothing, with the flags applied on top.
fn base_card(args: &PublishArgs) -> anyhow::Result<Card> {
    let mut card = if let Some(path) = &args.card {
        let bytes =
            std::fs::read(path).with_context(|| format!("reading the card {}", path.display()))?;
        Card::from_json(&bytes).with_context(|| format!("in the card {}", path.display()))?
    } else if let Some(path) = &args.readme {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("reading the README {}", path.display()))?;
        let (card, warnings) = Card::from_hf_readme(&text, args.kind)
            .with_context(|| format!("in the README {}", path.display()))?;
        for w in warnings {
            eprintln!("warning: {}: {w}", path.display());
        }
        card
    } else {
        let kind = args
            .kind
            .context("say what you publish: --kind dataset or --kind model")?;
        let name = args
            .name
            .clone()
            .context("give the asset a name: --name \"...\"")?;
        let license = args.license.clone().context(
            "give a license: --license with an SPDX id (MIT, Apache-2.0, CC-BY-4.0, ...) or a license URL",
        )?;
        Card::new(name, kind, license)
    };
    if let Some(kind) = args.kind {
        card.kind = kind;
    }
    if let Some(name) = &args.name {
        card.name = name.clone();
    }
    if let Some(license) = &args.license {
        card.license = license.clone();
    }
    if let Some(d) = &args.description {
        card.description = match d.strip_prefix('@') {
            Some(file) => std::fs::read_to_string(file)
                .with_context(|| format!("reading the description {file}"))?,
            None => d.clone(),
        };
    }
    card.tags.extend(args.tags.iter().cloned());
    if args.task.is_some() {
        card.task = args.task.clone();
    }
    if args.framework.is_some() {
        card.framework = args.framework.clone();
    }
    Ok(card)
}

/// `perpetual`, or a number with a unit s, m, h or d.
pub(crate) fn parse_duration(text: &str) -> anyhow::Result<LicenseDuration> {
    let t = text.trim();
    if t.eq_ignore_ascii_case("perpetual") || t == "0" {
        return Ok(LicenseDuration::Perpetual);
    }
    let (digits, unit) = t.split_at(t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len()));
    let n: u64 = digits.parse().ok().filter(|&n| n > 0).with_context(|| {
        format!(
            "--duration {text:?}: write perpetual, or a positive number with s, m, h or d (30d)"
        )
    })?;
    let secs = match unit {
        "" | "s" => n,
        "m" => n * 60,
        "h" => n * 3600,
        "d" => n * 86_400,
        other => bail!(
            "--duration {text:?}: unknown unit {other:?}; use s, m, h or d (30d), or perpetual"
        ),
    };
    Ok(LicenseDuration::Seconds(secs))
}

fn describe_duration(d: LicenseDuration) -> String {
    match d {
        LicenseDuration::Perpetual => "perpetual license".into(),
        LicenseDuration::Seconds(s) if s % 86_400 == 0 => format!("{}-day license", s / 86_400),
        LicenseDuration::Seconds(s) => format!("{s}-second license"),
    }
}

/// A percentage with at most two decimals, as basis points (30 -> 3000, 12.5 -> 1250).
pub(crate) fn parse_percent(text: &str, what: &str) -> anyhow::Result<u64> {
    let t = text.trim().trim_end_matches('%');
    let bps = scal3ml_market::parse_amount(t, 2)
        .ok()
        .and_then(|v| u64::try_from(v).ok())
        .filter(|&v| v > 0 && v <= 10_000)
        .with_context(|| {
            format!(
                "{what}: {text:?} is not a percentage between 0.01 and 100 (at most two decimals)"
            )
        })?;
    Ok(bps)
}

fn parse_collaborators(
    items: &[String],
    publisher: Address,
) -> anyhow::Result<Vec<(Address, u64)>> {
    let mut out: Vec<(Address, u64)> = Vec::new();
    for item in items {
        let (addr, pct) = item.split_once('=').with_context(|| {
            format!("--collaborator {item:?}: write ADDRESS=PERCENT, e.g. 0xabc...=30")
        })?;
        let address: Address = addr.trim().parse().with_context(|| {
            format!("--collaborator {item:?}: {addr:?} is not an address (0x and 40 hex digits)")
        })?;
        if address == publisher || out.iter().any(|(a, _)| *a == address) {
            bail!(
                "--collaborator {address} is named twice (you keep what the collaborators do not get)"
            );
        }
        out.push((address, parse_percent(pct, "--collaborator")?));
    }
    let total: u64 = out.iter().map(|(_, s)| s).sum();
    if total >= TOTAL_SHARES {
        bail!(
            "the collaborators' shares add up to {}%, leaving nothing for you; keep them under 100%",
            total as f64 / 100.0
        );
    }
    Ok(out)
}

fn parse_parents(items: &[String]) -> anyhow::Result<Vec<(AssetId, u16)>> {
    let mut out = Vec::new();
    for item in items {
        let (id, pct) = item
            .split_once('=')
            .with_context(|| format!("--parent {item:?}: write ID=PERCENT, e.g. 3=10"))?;
        let id: u64 = id
            .trim()
            .parse()
            .with_context(|| format!("--parent {item:?}: {id:?} is not an asset id"))?;
        let bps = u16::try_from(parse_percent(pct, "--parent")?).expect("at most 10000");
        out.push((AssetId(id), bps));
    }
    Ok(out)
}

/// Now as RFC 3339 (UTC, seconds).
fn chrono_now() -> String {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    chrono::DateTime::from_timestamp(secs as i64, 0)
        .map(|t| t.format("%Y-%m-%dT%H:%M:%SZ").to_string())
        .unwrap_or_default()
}
