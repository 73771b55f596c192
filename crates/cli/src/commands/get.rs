//! `scal3ml get`: download an asset. The card comes from the node's trustless gateway (verified against its
//! CID); for an encrypted asset the key comes from the access gateway the asset names, which releases it only
//! to a licensed account; every block is verified against its CID, every file decrypted and checked against
//! the card's SHA-256, and written under `<name>.part` until complete, so an interrupted download resumes.

use crate::{
    node_client::{NodeArgs, NodeClient, emit},
    wallet::SignerArgs,
};
use anyhow::Context as _;
use clap::Args;
use scal3ml_access::client::AccessClient;
use scal3ml_api::{AssetDetail, VersionInfo};
use scal3ml_market::content::{self, FileEntry};
use scal3ml_primitives::{AssetId, card::Card};
use scal3ml_store::crypt::FileKey;
use scal3ml_store::{Cid, export, gateway::GatewayClient};
use std::path::PathBuf;

/// Flags of `scal3ml get`.
#[derive(Debug, Args)]
pub(crate) struct GetArgs {
    /// The asset id.
    asset: u64,
    /// Where to write it: a file for a single-file asset, a folder otherwise [default: the card's file name,
    /// or the asset's name for a folder].
    #[arg(short, long)]
    output: Option<PathBuf>,
    /// Which version (0 is the first) [default: the latest].
    #[arg(long, value_name = "N")]
    asset_version: Option<u64>,
    /// No progress bar.
    #[arg(long)]
    no_progress: bool,
    #[command(flatten)]
    signer: SignerArgs,
    #[command(flatten)]
    node: NodeArgs,
    /// Print the result as JSON.
    #[arg(long)]
    json: bool,
}

/// One version of a published asset, as the catalog and its card describe it: what a download needs.
pub(crate) struct Resolved {
    pub(crate) asset: AssetId,
    pub(crate) detail: AssetDetail,
    pub(crate) version: VersionInfo,
    /// The version's content root.
    pub(crate) root: Cid,
    pub(crate) card: Card,
    /// The card's files, with their CIDs parsed.
    pub(crate) files: Vec<FileEntry>,
    /// The node's trustless gateway, which every block is fetched from and verified against its CID.
    pub(crate) source: GatewayClient,
}

impl Resolved {
    /// Whether the asset is one file (its content root is that file) rather than a folder.
    pub(crate) fn single(&self) -> bool {
        self.files.len() == 1 && self.files[0].cid == self.root
    }
}

/// Looks `asset` up in the node's catalog and reads the card of `version` (the latest when `None`).
pub(crate) async fn resolve(
    node: &NodeClient,
    asset: AssetId,
    version: Option<u64>,
) -> anyhow::Result<Resolved> {
    let detail = node.api.asset(asset).await?;
    let version = match version {
        Some(v) => detail
            .versions
            .iter()
            .find(|x| x.index == v)
            .with_context(|| {
                format!(
                    "asset {asset} has no version {v}: it has {} (0 to {})",
                    detail.versions.len(),
                    detail.versions.len().saturating_sub(1)
                )
            })?,
        None => detail
            .versions
            .last()
            .context("the catalog lists no version of this asset")?,
    }
    .clone();
    let Content {
        root,
        card,
        files,
        source,
    } = content_of(node, &version.content_cid, &version.metadata_cid).await?;
    Ok(Resolved {
        asset,
        detail,
        version,
        root,
        card,
        files,
        source,
    })
}

/// A version's content as its card describes it, to be fetched from the node's trustless gateway.
pub(crate) struct Content {
    /// The content root.
    pub(crate) root: Cid,
    pub(crate) card: Card,
    /// The card's files, with their CIDs parsed.
    pub(crate) files: Vec<FileEntry>,
    /// The node's trustless gateway, which every block is fetched from and verified against its CID.
    pub(crate) source: GatewayClient,
}

/// Reads the card `metadata_cid` of the content `content_cid` (a version's or a proposal's) from the node.
pub(crate) async fn content_of(
    node: &NodeClient,
    content_cid: &str,
    metadata_cid: &str,
) -> anyhow::Result<Content> {
    let root: Cid = content_cid
        .parse()
        .with_context(|| format!("the content id {content_cid} is not a CID"))?;
    let card_cid: Cid = metadata_cid
        .parse()
        .with_context(|| format!("the card id {metadata_cid} is not a CID"))?;
    let source = GatewayClient::new(node.api.base()).with_http(&node.http);
    let (card, files) = read_card(node, &source, &card_cid).await?;
    Ok(Content {
        root,
        card,
        files,
        source,
    })
}

/// Fetches the card `card_cid` from the node and lists the files it names (path, size, SHA-256, CID): what a
/// verified download of that version checks each file against.
pub(crate) async fn read_card(
    node: &NodeClient,
    source: &GatewayClient,
    card_cid: &Cid,
) -> anyhow::Result<(Card, Vec<FileEntry>)> {
    let card_bytes = export::cat_to_vec(source, card_cid, scal3ml_primitives::card::MAX_CARD_BYTES)
        .await
        .with_context(|| format!("fetching the card {card_cid} from {}", node.api.base()))?;
    let card = Card::from_json(&card_bytes).context("the asset's card is not valid")?;
    let files = card
        .files
        .iter()
        .map(|f| {
            Ok(FileEntry {
                path: f.path.clone(),
                size: f.size,
                sha256: f.sha256.clone(),
                cid: f
                    .cid
                    .parse()
                    .with_context(|| format!("the card's file {} has no valid CID", f.path))?,
            })
        })
        .collect::<anyhow::Result<_>>()?;
    Ok((card, files))
}

/// The content key of the resolved version of an encrypted asset (each version has its own), from the access
/// gateway the asset names, which releases it only to an account that may read that version; `None` for an
/// asset stored in the clear.
pub(crate) async fn content_key(
    node: &NodeClient,
    resolved: &Resolved,
    signer: &SignerArgs,
) -> anyhow::Result<Option<FileKey>> {
    let (asset, detail) = (resolved.asset, &resolved.detail);
    if !detail.summary.encrypted {
        return Ok(None);
    }
    let signer = node.signer(signer).context(
        "this asset is encrypted: say which licensed account you are (--dev-account N, --keystore NAME or SCAL3ML_PRIVATE_KEY)",
    )?;
    let gateway = node.gateway_of(detail);
    let n = resolved.version.index;
    let (release, key) = AccessClient::new(&gateway, &node.http)
        .request_key(&signer, node.network.chain_id, asset, Some(n))
        .await
        .with_context(|| {
            format!(
                "asking {gateway} for the key of version {n} of asset {asset} as {}",
                signer.address()
            )
        })?;
    if release.content_cid != resolved.version.content_cid {
        anyhow::bail!(
            "{gateway} released a key for content {} as version {n} of asset {asset}, but the node's catalog says \
             that version is {}: the two disagree about the asset, try again once they have both read the chain",
            release.content_cid,
            resolved.version.content_cid
        );
    }
    Ok(Some(key))
}

pub(crate) async fn run(args: GetArgs) -> anyhow::Result<()> {
    let node = NodeClient::connect(&args.node).await?;
    let asset = AssetId(args.asset);
    let resolved = resolve(&node, asset, args.asset_version).await?;
    let key = content_key(&node, &resolved, &args.signer).await?;
    let Resolved {
        version,
        root,
        card,
        files,
        source,
        ..
    } = resolved;
    let single = files.len() == 1 && files[0].cid == root;
    let dest = match args.output {
        // Like `cp`: a single file given an existing folder lands inside it under its own name.
        Some(p) if single && p.is_dir() => p.join(file_name(&files[0].path)),
        Some(p) if !single && p.is_file() => anyhow::bail!(
            "{} is a file, but asset {asset} is a folder of {} files: give a folder path with -o",
            p.display(),
            files.len()
        ),
        Some(p) => p,
        None if single => PathBuf::from(file_name(&files[0].path)),
        None => PathBuf::from(file_name(&card.name)),
    };
    let total: u64 = files.iter().map(|f| f.size).sum();
    let bar = crate::progress::bytes(total, args.no_progress || args.json);
    let mut progress = |p: content::Progress<'_>| {
        bar.set_message(p.path.to_string());
        bar.set_position(p.total_done);
    };
    let done =
        content::download(&source, &root, key.as_ref(), &files, &dest, &mut progress).await?;
    bar.finish_and_clear();
    #[derive(serde::Serialize)]
    struct Out<'a> {
        asset: AssetId,
        version: u64,
        path: &'a std::path::Path,
        content_cid: String,
        #[serde(flatten)]
        done: &'a content::Downloaded,
    }
    let out = Out {
        asset,
        version: version.index,
        path: &dest,
        content_cid: root.to_string(),
        done: &done,
    };
    emit(args.json, &out, || {
        println!(
            "Wrote asset {asset} v{} to {} ({} files written, {} already complete; every block verified{})",
            version.index,
            dest.display(),
            done.written.len(),
            done.skipped.len(),
            if key.is_some() { ", decrypted" } else { "" }
        );
    });
    Ok(())
}

/// A safe local name from a card path or name: its last component, with path separators removed.
fn file_name(text: &str) -> String {
    let last = text.rsplit('/').next().unwrap_or(text);
    let clean: String = last
        .chars()
        .map(|c| if c == '\\' || c == '\0' { '_' } else { c })
        .collect();
    if clean.is_empty() || clean == "." || clean == ".." {
        "asset".into()
    } else {
        clean
    }
}
