//! `scal3ml diff`: what changed between two versions of a dataset or model: local files or folders
//! (`--old`/`--new`), two versions of a published asset, or an asset's latest version and a proposal. Published
//! content is fetched into temporary folders the way `scal3ml get` fetches it (every block verified against its
//! CID; an encrypted asset's key asked of its access gateway, which releases it only to a licensee), then
//! compared by scal3ml-diff.

use crate::{
    commands::get,
    node_client::{NodeArgs, NodeClient, emit},
    wallet::SignerArgs,
};
use anyhow::Context as _;
use clap::Args;
use scal3ml_access::client::AccessClient;
use scal3ml_api::AssetDetail;
use scal3ml_diff::{DiffOptions, TreeDiff};
use scal3ml_market::content;
use scal3ml_primitives::AssetId;
use scal3ml_store::crypt::FileKey;
use serde::Serialize;
use sha2::{Digest as _, Sha256};
use std::path::{Path, PathBuf};

/// Flags of `scal3ml diff`.
#[derive(Debug, Args)]
#[command(after_long_help = AFTER_HELP)]
pub(crate) struct DiffArgs {
    /// The published asset whose versions to compare (leave out with --old and --new).
    asset: Option<u64>,
    /// A local file or folder: the old version.
    #[arg(long, value_name = "PATH", requires = "new", conflicts_with = "asset")]
    old: Option<PathBuf>,
    /// A local file or folder: the new version.
    #[arg(long, value_name = "PATH", requires = "old")]
    new: Option<PathBuf>,
    /// The asset's old version (0 is the first) [default: the one before --to].
    #[arg(long, value_name = "N")]
    from: Option<u64>,
    /// The asset's new version [default: the latest].
    #[arg(long, value_name = "N")]
    to: Option<u64>,
    /// Compare the asset's latest version with this proposal's content instead.
    #[arg(long, value_name = "ID", conflicts_with_all = ["from", "to"])]
    proposal: Option<u64>,
    /// The column identifying a row in CSV and JSON Lines files (an index such as 0 for NPY): rows with the
    /// same key and other values are shown as changed [default: rows compared by content, added or removed].
    #[arg(long, value_name = "COLUMN")]
    key: Option<String>,
    /// Example rows shown per category (added, removed, changed).
    #[arg(long, default_value_t = 20, value_name = "N")]
    max_examples: usize,
    #[command(flatten)]
    signer: SignerArgs,
    #[command(flatten)]
    node: NodeArgs,
    /// Print the result as JSON.
    #[arg(long)]
    json: bool,
}

const AFTER_HELP: &str = "\
Examples:
  scal3ml diff --old v1/ --new v2/ --key id
  scal3ml diff 7                      # asset 7: the previous version against the latest
  scal3ml diff 7 --from 0 --to 2 --json
  scal3ml diff 7 --proposal 3 --key id --dev-account 2

Tables (.csv, .jsonl/.ndjson, .npy): rows added, removed and changed, columns added, removed or retyped, and
per-column statistics. Models (.onnx, .safetensors): tensors added, removed, renamed or changed in shape, dtype
or values; parameter counts; graph inputs, outputs and operators. Other files: size and SHA-256.

An encrypted asset is compared only by a licensee (or, for a proposal, its proposer): give a signer flag.
Files are read streaming; memory grows with 32 bytes per row key. See docs/diff.md.";

/// What `--json` prints for a published asset.
#[derive(Debug, Serialize)]
struct AssetDiff {
    asset: AssetId,
    /// The old version.
    from: u64,
    /// The new version, when comparing two versions.
    to: Option<u64>,
    /// The proposal, when comparing one.
    proposal: Option<u64>,
    diff: TreeDiff,
}

pub(crate) async fn run(args: DiffArgs) -> anyhow::Result<()> {
    let mut opts = DiffOptions::default().with_max_examples(args.max_examples);
    if let Some(k) = &args.key {
        opts = opts.with_key(k.clone());
    }
    if let (Some(old), Some(new)) = (&args.old, &args.new) {
        let diff = compare(old.clone(), new.clone(), opts).await?;
        emit(args.json, &diff, || print!("{}", diff.render_text()));
        return uncompared(&diff);
    }
    let asset = AssetId(
        args.asset
            .context("say what to compare: an asset id (`scal3ml diff 7`), or local paths (`--old PATH --new PATH`)")?,
    );
    let node = NodeClient::connect(&args.node).await?;
    let out = match args.proposal {
        Some(p) => {
            let (from, diff) = diff_proposal(&node, asset, p, &args.signer, &opts).await?;
            AssetDiff {
                asset,
                from,
                to: None,
                proposal: Some(p),
                diff,
            }
        }
        None => {
            let detail = node.api.asset(asset).await?;
            let last = detail
                .versions
                .last()
                .context("the catalog lists no version of this asset")?
                .index;
            let to = args.to.unwrap_or(last);
            let from = match args.from {
                Some(f) => f,
                None if to == 0 => anyhow::bail!(
                    "asset {asset} has only version 0, so there is nothing before it to compare: compare a proposal \
                     with --proposal ID, or choose --from and --to"
                ),
                None => to - 1,
            };
            let version = |n: u64| {
                detail
                    .versions
                    .iter()
                    .find(|v| v.index == n)
                    .with_context(|| {
                        format!("asset {asset} has no version {n}: it has versions 0 to {last}")
                    })
            };
            let (a, b) = (version(from)?, version(to)?);
            // Each version has its own key.
            let old_key = version_key(&node, &detail, from, &args.signer).await?;
            let new_key = version_key(&node, &detail, to, &args.signer).await?;
            let dir = tempfile::tempdir().context("creating a temporary folder")?;
            let old = fetch(
                &node,
                asset,
                &a.content_cid,
                &a.metadata_cid,
                &old_key.map_or(Access::Clear, Access::Key),
                &dir.path().join("old"),
            )
            .await?;
            let new = fetch(
                &node,
                asset,
                &b.content_cid,
                &b.metadata_cid,
                &new_key.map_or(Access::Clear, Access::Key),
                &dir.path().join("new"),
            )
            .await?;
            let mut diff = compare(old, new, opts).await?;
            diff.old = format!("asset {asset} v{from}");
            diff.new = format!("asset {asset} v{to}");
            AssetDiff {
                asset,
                from,
                to: Some(to),
                proposal: None,
                diff,
            }
        }
    };
    emit(args.json, &out, || {
        match out.proposal {
            Some(p) => println!("asset {asset} v{} -> proposal {p}", out.from),
            None => println!("asset {asset} v{} -> v{}", out.from, out.to.unwrap_or(0)),
        }
        print!("{}", out.diff.render_text());
    });
    uncompared(&out.diff)
}

/// After the diff is printed, fails naming the files whose content could not be compared (a key column
/// they lack, a file that does not parse), so a script notices.
fn uncompared(diff: &TreeDiff) -> anyhow::Result<()> {
    let errors: Vec<String> = diff
        .files
        .iter()
        .filter_map(|f| f.error.as_ref().map(|e| format!("{}: {e}", f.path)))
        .collect();
    if errors.is_empty() {
        return Ok(());
    }
    anyhow::bail!(
        "{} could not be compared:\n{}",
        if errors.len() == 1 {
            "1 file".to_string()
        } else {
            format!("{} files", errors.len())
        },
        errors.join("\n")
    )
}

/// Compares off the async threads (the files are read three times each).
async fn compare(old: PathBuf, new: PathBuf, opts: DiffOptions) -> anyhow::Result<TreeDiff> {
    tokio::task::spawn_blocking(move || scal3ml_diff::diff_dirs(&old, &new, &opts))
        .await
        .context("the diff task failed")?
        .map_err(Into::into)
}

/// The latest version of `asset` against proposal `proposal`'s content, fetched into a temporary folder:
/// returns the version compared and the diff. `scal3ml proposal` prints it too.
pub(crate) async fn diff_proposal(
    node: &NodeClient,
    asset: AssetId,
    proposal: u64,
    signer: &SignerArgs,
    opts: &DiffOptions,
) -> anyhow::Result<(u64, TreeDiff)> {
    let detail = node.api.asset(asset).await?;
    let proposals = node.api.proposals(asset).await?;
    let p = proposals
        .iter()
        .find(|p| p.id == proposal)
        .with_context(|| {
            let ids: Vec<String> = proposals.iter().map(|p| p.id.to_string()).collect();
            format!(
                "asset {asset} has no proposal {proposal}: its proposals are {}",
                if ids.is_empty() {
                    "none".into()
                } else {
                    ids.join(", ")
                }
            )
        })?;
    let latest = detail
        .versions
        .last()
        .context("the catalog lists no version of this asset")?;
    let dir = tempfile::tempdir().context("creating a temporary folder")?;
    let (old_access, new_access) = if detail.summary.encrypted {
        let gateway = node.gateway_of(&detail);
        let signer = node.signer(signer).context(
            "this asset is encrypted: say which account you are (a licensee, or the proposer) with --dev-account N, \
             --keystore NAME or SCAL3ML_PRIVATE_KEY",
        )?;
        let key = version_key_with(node, &gateway, &signer, asset, latest.index).await?;
        (
            Access::Key(key),
            Access::Proposal {
                gateway,
                signer: Box::new(signer),
                proposal,
            },
        )
    } else {
        (Access::Clear, Access::Clear)
    };
    let old = fetch(
        node,
        asset,
        &latest.content_cid,
        &latest.metadata_cid,
        &old_access,
        &dir.path().join("old"),
    )
    .await?;
    let new = fetch(
        node,
        asset,
        &p.content_cid,
        &p.metadata_cid,
        &new_access,
        &dir.path().join("new"),
    )
    .await?;
    let mut diff = compare(old, new, opts.clone()).await?;
    diff.old = format!("asset {asset} v{}", latest.index);
    diff.new = format!("proposal {proposal}");
    Ok((latest.index, diff))
}

/// How content is read.
enum Access {
    /// Stored in the clear.
    Clear,
    /// Encrypted under the version's key.
    Key(FileKey),
    /// A proposal of an encrypted asset, decrypted by the access gateway for the proposer or a licensee.
    Proposal {
        gateway: String,
        signer: Box<alloy::signers::local::PrivateKeySigner>,
        proposal: u64,
    },
}

/// The key of version `n` of an encrypted asset from its access gateway (to an account that may read that
/// version); `None` in the clear.
async fn version_key(
    node: &NodeClient,
    detail: &AssetDetail,
    n: u64,
    signer: &SignerArgs,
) -> anyhow::Result<Option<FileKey>> {
    if !detail.summary.encrypted {
        return Ok(None);
    }
    let signer = node.signer(signer).context(
        "this asset is encrypted: say which licensed account you are (--dev-account N, --keystore NAME or SCAL3ML_PRIVATE_KEY)",
    )?;
    let asset = AssetId(detail.summary.id);
    Ok(Some(
        version_key_with(node, &node.gateway_of(detail), &signer, asset, n).await?,
    ))
}

async fn version_key_with(
    node: &NodeClient,
    gateway: &str,
    signer: &alloy::signers::local::PrivateKeySigner,
    asset: AssetId,
    n: u64,
) -> anyhow::Result<FileKey> {
    let (_, key) = AccessClient::new(gateway, &node.http)
        .request_key(signer, node.network.chain_id, asset, Some(n))
        .await
        .with_context(|| {
            format!(
                "asking {gateway} for the key of version {n} of asset {asset} as {}",
                signer.address()
            )
        })?;
    Ok(key)
}

/// Fetches the content `content_cid` described by the card `metadata_cid` into `dest` (a folder made here):
/// a single file keeps its name (its extension says its format), a folder is written as `dest/content`.
/// Returns the path to compare.
async fn fetch(
    node: &NodeClient,
    asset: AssetId,
    content_cid: &str,
    metadata_cid: &str,
    access: &Access,
    dest: &Path,
) -> anyhow::Result<PathBuf> {
    let get::Content {
        root,
        files,
        source,
        ..
    } = get::content_of(node, content_cid, metadata_cid).await?;
    std::fs::create_dir_all(dest).with_context(|| format!("creating {}", dest.display()))?;
    let single = files.len() == 1 && files[0].cid == root;
    let target = if single {
        dest.join(safe_name(&files[0].path))
    } else {
        dest.join("content")
    };
    eprintln!("fetching {content_cid} ({} files)", files.len());
    match access {
        Access::Clear | Access::Key(_) => {
            let key = match access {
                Access::Key(k) => Some(k),
                _ => None,
            };
            content::download(&source, &root, key, &files, &target, &mut |_| {}).await?;
        }
        Access::Proposal {
            gateway,
            signer,
            proposal,
        } => {
            let client = AccessClient::new(gateway, &node.http);
            for f in &files {
                let path = if single { "" } else { f.path.as_str() };
                let bytes = client
                    .fetch_proposal_content(signer, node.network.chain_id, asset, *proposal, path)
                    .await
                    .with_context(|| {
                        format!(
                            "asking {gateway} for {} of proposal {proposal} as {}",
                            f.path,
                            signer.address()
                        )
                    })?;
                let got = alloy::hex::encode(Sha256::digest(&bytes));
                if got != f.sha256.to_ascii_lowercase() {
                    anyhow::bail!(
                        "{} of proposal {proposal} has SHA-256 {got}, but its card says {}: the gateway sent other bytes",
                        f.path,
                        f.sha256
                    );
                }
                let out = if single {
                    target.clone()
                } else {
                    let rel = f
                        .path
                        .split('/')
                        .filter(|p| !p.is_empty() && *p != "." && *p != "..")
                        .collect::<PathBuf>();
                    target.join(rel)
                };
                if let Some(parent) = out.parent() {
                    std::fs::create_dir_all(parent)?;
                }
                std::fs::write(&out, &bytes)
                    .with_context(|| format!("writing {}", out.display()))?;
            }
        }
    }
    Ok(target)
}

/// A safe local name from a card path: its last component.
fn safe_name(text: &str) -> String {
    let last = text.rsplit('/').next().unwrap_or(text);
    let clean: String = last
        .chars()
        .map(|c| if c == '\\' || c == '\0' { '_' } else { c })
        .collect();
    if clean.is_empty() || clean == "." || clean == ".." {
        "content".into()
    } else {
        clean
    }
}
