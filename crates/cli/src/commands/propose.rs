//! Proposals, the way anyone changes an asset they do not own: `scal3ml propose` (a new version, and shares
//! asked for in return), `proposals` (an asset's list), `proposal` (one: message, votes, tally, the share
//! change, its content), `vote`, `execute` and `reject`. `propose` keeps publish's order, so a failure before
//! the transaction leaves nothing on chain and running it again reuses what it stored:
//! 1. check every input (the asset exists and is not deprecated, the files are readable, the shares);
//! 2. import the content (encrypted under the asset's key when the asset is encrypted: one key for every
//!    version), the card and the message into a temporary store, and upload them as one CAR;
//! 3. deposit the key with the asset's access gateway for the new content CID, signed by the proposer;
//! 4. send the one propose transaction.

use crate::{
    node_client::{NodeArgs, NodeClient, emit},
    wallet::SignerArgs,
};
use alloy::primitives::{Address, TxHash, U256};
use anyhow::{Context as _, bail};
use clap::{Args, ValueEnum};
use scal3ml_access::client::AccessClient;
use scal3ml_api::{AssetDetail, ProposalDetail, ProposalStatus};
use scal3ml_market::publish::{self as inputs, CardFields};
use scal3ml_primitives::{AssetId, ProposalId, card::Card};
use scal3ml_store::{Cid, FsStore, export, gateway::GatewayClient};
use serde::Serialize;
use std::path::{Path, PathBuf};

/// Flags of `scal3ml propose`.
#[derive(Debug, Args)]
#[command(after_help = "\
Shares: an asset's shares all earn alike, and executing a proposal mints the requested shares to the \
proposer. `--shares 1000` asks for 1000 new shares; `--shares 10%` asks for 10% of the shares AFTER it \
passes: with T shares outstanding that is T*10/(100-10) new shares (1111 of 11111 when T is 10000), so \
everyone else is diluted by the same factor.

Example: scal3ml propose 3 --file cleaned.csv --shares 10% --message 'Drop 12 duplicated rows' --dev-account 2")]
pub(crate) struct ProposeArgs {
    /// The asset to propose a new version of.
    asset: u64,
    /// A file of the new version (repeat for several; they sit side by side at the top of the folder).
    #[arg(
        long = "file",
        value_name = "FILE",
        required_unless_present = "dir",
        conflicts_with = "dir"
    )]
    files: Vec<PathBuf>,
    /// A folder holding the whole new version.
    #[arg(long, value_name = "DIR")]
    dir: Option<PathBuf>,
    /// Shares asked for: a number of new shares, or a percentage like 10% of the shares after it passes.
    #[arg(long, value_name = "N|P%")]
    shares: String,
    /// Why: what changed and why it is better (Markdown, or @FILE to read it from a file). Voters read it.
    #[arg(long, value_name = "TEXT")]
    message: String,
    /// Keep the current version's card, with only its file list replaced by the new files (the default when
    /// no card flag is given).
    #[arg(long, conflicts_with_all = ["card", "name", "description", "license", "tags", "task", "framework"])]
    card_from_current: bool,
    /// A card as JSON for the new version (see docs/cards.md); the flags below override its fields.
    #[arg(long, value_name = "FILE")]
    card: Option<PathBuf>,
    /// New name (on top of the current card, or of --card).
    #[arg(long)]
    name: Option<String>,
    /// New card description in Markdown (or @FILE).
    #[arg(long)]
    description: Option<String>,
    /// New license: SPDX id or license URL.
    #[arg(long)]
    license: Option<String>,
    /// A tag to add (repeat for more).
    #[arg(long = "tag", value_name = "TAG")]
    tags: Vec<String>,
    /// New ML task.
    #[arg(long)]
    task: Option<String>,
    /// New framework.
    #[arg(long)]
    framework: Option<String>,
    #[command(flatten)]
    signer: SignerArgs,
    #[command(flatten)]
    node: NodeArgs,
    /// Print the result as JSON.
    #[arg(long)]
    json: bool,
}

/// Flags of `scal3ml proposals`.
#[derive(Debug, Args)]
pub(crate) struct ProposalsArgs {
    /// The asset id.
    asset: u64,
    #[command(flatten)]
    node: NodeArgs,
    /// Print the result as JSON.
    #[arg(long)]
    json: bool,
}

/// Flags of `scal3ml proposal`.
#[derive(Debug, Args)]
pub(crate) struct ProposalArgs {
    /// The proposal id (`scal3ml proposals <asset>` lists them).
    id: ProposalId,
    /// The column that identifies a row, for the diff of CSV files [default: whole rows are compared].
    #[arg(long, value_name = "COL")]
    key: Option<String>,
    /// Download the proposed content here (decrypted: the proposer and accounts with access to the asset may;
    /// sign with --dev-account, --keystore or SCAL3ML_PRIVATE_KEY). A file for a single file, else a folder.
    #[arg(short, long, value_name = "PATH")]
    output: Option<PathBuf>,
    #[command(flatten)]
    signer: SignerArgs,
    #[command(flatten)]
    node: NodeArgs,
    /// Print the result as JSON.
    #[arg(long)]
    json: bool,
}

/// Yes or no.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum Choice {
    /// For the proposal.
    Yes,
    /// Against it.
    No,
}

/// Flags of `scal3ml vote`.
#[derive(Debug, Args)]
pub(crate) struct VoteArgs {
    /// The proposal id.
    id: ProposalId,
    /// yes or no. Your vote weighs the shares you held at the proposal's snapshot; it cannot be changed.
    choice: Choice,
    #[command(flatten)]
    signer: SignerArgs,
    #[command(flatten)]
    node: NodeArgs,
    /// Print the result as JSON.
    #[arg(long)]
    json: bool,
}

/// Flags of `scal3ml execute` and `reject`.
#[derive(Debug, Args)]
pub(crate) struct ProposalTxArgs {
    /// The proposal id.
    id: ProposalId,
    #[command(flatten)]
    signer: SignerArgs,
    #[command(flatten)]
    node: NodeArgs,
    /// Print the result as JSON.
    #[arg(long)]
    json: bool,
}

/// What `propose` prints with --json.
#[derive(Debug, Serialize)]
struct ProposeOutput {
    proposal: ProposalId,
    asset: AssetId,
    proposer: Address,
    requested_shares: u64,
    total_shares_now: u128,
    /// Basis points of all shares the proposer would hold after execution.
    bps_after: u64,
    content_cid: String,
    metadata_cid: String,
    description_cid: String,
    encrypted: bool,
    deadline: u64,
    tx: TxHash,
    block: u64,
}

/// `--shares`: a count, or `P%` of the total after the mint (`scal3ml_market::publish`).
pub(crate) fn requested_shares(text: &str, total: u128) -> anyhow::Result<u64> {
    inputs::parse_requested_shares(text, total)
        .map_err(|e| anyhow::anyhow!("--shares {}", e.message))
}

pub(crate) async fn propose(args: ProposeArgs) -> anyhow::Result<()> {
    // 1. Inputs.
    let paths: Vec<PathBuf> = match &args.dir {
        Some(d) => vec![d.clone()],
        None => args.files.clone(),
    };
    for p in &paths {
        let meta = std::fs::metadata(p).with_context(|| {
            format!(
                "cannot read {}: give files (--file) or a folder (--dir) that exist",
                p.display()
            )
        })?;
        if args.dir.is_some() && !meta.is_dir() {
            bail!(
                "--dir {}: not a folder (use --file for a file)",
                p.display()
            );
        }
        if args.dir.is_none() && !meta.is_file() {
            bail!(
                "--file {}: not a file (use --dir for a folder)",
                p.display()
            );
        }
        if meta.is_file() {
            std::fs::File::open(p).with_context(|| format!("cannot read {}", p.display()))?;
        }
    }
    let message = match args.message.strip_prefix('@') {
        Some(file) => {
            std::fs::read_to_string(file).with_context(|| format!("reading the message {file}"))?
        }
        None => args.message.clone(),
    };
    if message.trim().is_empty() {
        bail!("--message is empty: say what the new version changes, so shareholders can decide");
    }
    let node = NodeClient::connect(&args.node).await?;
    let signer = node.signer(&args.signer)?;
    let market = node.market(Some(&signer)).await?;
    let asset = AssetId(args.asset);
    let record = market.asset_record(asset).await?;
    if record.deprecated {
        bail!(
            "asset {asset} is deprecated: it takes no more proposals (see `scal3ml show {asset}`)"
        );
    }
    let requested = requested_shares(&args.shares, record.total_shares)?;
    let detail = node
        .api
        .asset(asset)
        .await
        .with_context(|| format!("reading asset {asset} from the node's catalog"))?;
    let card = new_card(&args, &detail)?;
    inputs::check_card(&card)?;

    // An encrypted asset's new version gets a key of its own (drawn by `import_version`), deposited with the
    // asset's gateway before the transaction: reviewers with access read it there, and once it is added,
    // whoever may read the asset then.
    let gateway = node.gateway_of(&detail);
    let access = AccessClient::new(&gateway, &node.http);

    // 2. Content, card and message into a temporary store, then to the node.
    let scratch = tempfile::tempdir().context("creating a temporary directory")?;
    let store = FsStore::open(scratch.path().join("blocks"))?;
    let source = if paths.len() == 1 {
        paths[0].clone()
    } else {
        let folder = scratch.path().join("files");
        std::fs::create_dir(&folder)?;
        for p in &paths {
            let name = p
                .file_name()
                .with_context(|| format!("{} has no file name", p.display()))?;
            let to = folder.join(name);
            if to.exists() {
                bail!(
                    "two --file arguments are named {}: rename one",
                    name.to_string_lossy()
                );
            }
            if std::fs::hard_link(p, &to).is_err() {
                std::fs::copy(p, &to).with_context(|| format!("copying {}", p.display()))?;
            }
        }
        folder
    };
    if !args.json {
        eprintln!(
            "importing {}{}",
            if paths.len() == 1 {
                paths[0].display().to_string()
            } else {
                format!("{} files", paths.len())
            },
            if record.encrypted {
                " (encrypting with a fresh key for the new version)"
            } else {
                ""
            }
        );
    }
    let imported =
        inputs::import_version(&store, &source, card, &message, record.encrypted).await?;
    let (card_cid, description_cid, key) = (
        imported.card_cid,
        imported.description_cid,
        imported.key.clone(),
    );
    let prepared = &imported.content;
    let car_path = scratch.path().join("upload.car");
    {
        let file = std::fs::File::create(&car_path)?;
        scal3ml_store::car::export_car(&store, &imported.roots(), std::io::BufWriter::new(file))
            .await?;
    }
    if !args.json {
        eprintln!("uploading to {}", node.api.base());
    }
    node.upload_car(&car_path, &signer)
        .await
        .context("uploading the proposed content to the node")?;

    // 3. The key, for the new content CID, before the transaction.
    let content_cid = prepared.root.to_string();
    if let Some(key) = &key {
        access
            .deposit_key(&signer, node.network.chain_id, &content_cid, key)
            .await
            .with_context(|| {
                format!("depositing the key of the proposed content with {gateway}")
            })?;
    }

    // 4. The transaction.
    if !args.json {
        eprintln!("sending the propose transaction from {}", signer.address());
    }
    let (proposal, tx) = market
        .propose(
            asset,
            &content_cid.parse()?,
            &card_cid,
            requested,
            &description_cid,
        )
        .await?;
    let info = market.proposal(proposal).await?;
    wait_for_proposal(&node, proposal, args.json).await;
    let total_after = record.total_shares + u128::from(requested);
    let held = market.shares_of(asset, signer.address()).await?;
    let out = ProposeOutput {
        proposal,
        asset,
        proposer: signer.address(),
        requested_shares: requested,
        total_shares_now: record.total_shares,
        bps_after: bps(
            U256::from(held + u128::from(requested)),
            U256::from(total_after),
        ),
        content_cid,
        metadata_cid: card_cid.to_string(),
        description_cid: description_cid.to_string(),
        encrypted: key.is_some(),
        deadline: info.deadline,
        tx: tx.hash,
        block: tx.block,
    };
    emit(args.json, &out, || {
        println!("Proposed a new version of asset {asset} as proposal {proposal}");
        println!(
            "  asks for  {requested} shares ({} of all shares after it passes)",
            percent_text(out.bps_after)
        );
        println!(
            "  content   {}{}",
            out.content_cid,
            if out.encrypted {
                " (encrypted under its own key)"
            } else {
                ""
            }
        );
        println!("  card      {}", out.metadata_cid);
        println!("  message   {}", out.description_cid);
        println!("  voting    until {}", time_text(out.deadline));
        println!("  tx        {} (block {})", out.tx, out.block);
        println!(
            "Shareholders vote with `scal3ml vote {proposal} yes|no`; follow it with `scal3ml proposal {proposal}`."
        );
    });
    Ok(())
}

/// The new version's card: the current one with the new files, or `--card` / the card flags on top of it.
fn new_card(args: &ProposeArgs, detail: &AssetDetail) -> anyhow::Result<Card> {
    let current = match &detail.card {
        Some(v) => Some(
            Card::from_json(&serde_json::to_vec(v)?)
                .context("the asset's current card is not valid")?,
        ),
        None => None,
    };
    let base = match &args.card {
        Some(path) => {
            let bytes = std::fs::read(path)
                .with_context(|| format!("reading the card {}", path.display()))?;
            Some(
                Card::from_json(&bytes)
                    .with_context(|| format!("in the card {}", path.display()))?,
            )
        }
        None => current,
    };
    let Some(base) = base else {
        bail!(
            "the node has no card for asset {}'s current version yet: give one with --card FILE",
            detail.summary.id
        );
    };
    let description = match &args.description {
        Some(d) => Some(match d.strip_prefix('@') {
            Some(file) => std::fs::read_to_string(file)
                .with_context(|| format!("reading the description {file}"))?,
            None => d.clone(),
        }),
        None => None,
    };
    let parents: Vec<(AssetId, u16)> = base
        .parents
        .iter()
        .map(|p| (p.asset, u16::try_from(p.royalty_bps).unwrap_or(u16::MAX)))
        .collect();
    let fields = CardFields {
        kind: None,
        name: args.name.clone(),
        description,
        license: args.license.clone(),
        tags: args.tags.clone(),
        task: args.task.clone(),
        framework: args.framework.clone(),
    };
    fields
        .card(Some(base), &parents)
        .map_err(|e| anyhow::anyhow!("--{}: {}", e.field, e.message))
}

/// Waits (up to 10 s) until the node's catalog has the proposal, so `proposals` lists it once this returns.
async fn wait_for_proposal(node: &NodeClient, id: ProposalId, quiet: bool) {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while std::time::Instant::now() < deadline {
        if node.api.proposal(id).await.is_ok() {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    if !quiet {
        eprintln!(
            "warning: the node has not indexed proposal {id} yet; it is on chain and will appear shortly"
        );
    }
}

/// One line of `proposals`.
#[derive(Debug, Serialize)]
struct ProposalLine {
    id: u64,
    proposer: Address,
    requested_shares: U256,
    /// Basis points of all shares the requested ones would be after execution.
    requested_bps_after: u64,
    yes_bps: u64,
    no_bps: u64,
    status: String,
    deadline: u64,
}

pub(crate) async fn list(args: ProposalsArgs) -> anyhow::Result<()> {
    let node = NodeClient::connect(&args.node).await?;
    let asset = AssetId(args.asset);
    node.api.asset(asset).await?;
    let proposals = node.api.proposals(asset).await?;
    let mut lines = Vec::new();
    for p in &proposals {
        let d = node.api.proposal(ProposalId(p.id)).await?;
        let yes = d.proposal.yes_votes;
        let no = d.proposal.no_votes;
        let after = if d.status == ProposalStatus::Executed {
            d.total_now
        } else {
            d.total_after
        };
        lines.push(ProposalLine {
            id: p.id,
            proposer: p.proposer,
            requested_shares: p.requested_shares,
            requested_bps_after: bps(p.requested_shares, after),
            yes_bps: bps(yes, d.total_at_snapshot),
            no_bps: bps(no, d.total_at_snapshot),
            status: status_words(d.status).into(),
            deadline: p.deadline,
        });
    }
    emit(args.json, &lines, || {
        if lines.is_empty() {
            println!(
                "No proposals for asset {asset}. Propose a new version with `scal3ml propose {asset} --file F --shares N --message TEXT`."
            );
            return;
        }
        println!(
            "{:>4}  {:<42}  {:>16}  {:>7}  {:>7}  {:<26}  deadline",
            "id", "proposer", "asks (after)", "yes", "no", "state"
        );
        for l in &lines {
            println!(
                "{:>4}  {:<42}  {:>16}  {:>7}  {:>7}  {:<26}  {}",
                l.id,
                l.proposer.to_checksum(None),
                format!(
                    "{} ({})",
                    l.requested_shares,
                    percent_text(l.requested_bps_after)
                ),
                percent_text(l.yes_bps),
                percent_text(l.no_bps),
                l.status,
                time_text(l.deadline)
            );
        }
        println!(
            "yes and no are shares of all shares at each proposal's snapshot; more than 50% yes passes it."
        );
        println!("See one with `scal3ml proposal ID`.");
    });
    Ok(())
}

/// The status as the table says it.
fn status_words(status: ProposalStatus) -> &'static str {
    match status {
        ProposalStatus::Passed => "passed-awaiting-execute",
        other => other.as_str(),
    }
}

/// What `proposal` prints with --json.
#[derive(Debug, Serialize)]
struct ProposalOutput {
    #[serde(flatten)]
    detail: ProposalDetail,
    /// Yes shares still missing for a majority.
    missing_yes: U256,
    /// Where the content was written with --output.
    downloaded: Option<PathBuf>,
    /// The diff against the asset's latest version (`null` once executed, or when the content could not be read).
    diff: Option<scal3ml_diff::TreeDiff>,
}

pub(crate) async fn show(args: ProposalArgs) -> anyhow::Result<()> {
    let node = NodeClient::connect(&args.node).await?;
    let detail = node.api.proposal(args.id).await?;
    let p = &detail.proposal;
    let asset = AssetId(p.asset);
    let downloaded = match &args.output {
        Some(out) => {
            download(&node, &args.signer, &detail, out).await?;
            Some(out.clone())
        }
        None => None,
    };
    // The diff against the asset's latest version (scal3ml-diff, as `scal3ml diff <asset> --proposal P`). It
    // needs the content: without a signer that may read an encrypted asset, the rest is still shown.
    let mut opts = scal3ml_diff::DiffOptions::default();
    if let Some(k) = &args.key {
        opts = opts.with_key(k.clone());
    }
    let diff = if detail.status == ProposalStatus::Executed {
        None
    } else {
        match crate::commands::diff::diff_proposal(&node, asset, p.id, &args.signer, &opts).await {
            Ok((_, diff)) => Some(diff),
            Err(e) => {
                eprintln!("note: no diff shown: {e:#}");
                None
            }
        }
    };
    let missing_yes = detail.needed.saturating_sub(p.yes_votes);
    let out = ProposalOutput {
        detail: detail.clone(),
        missing_yes,
        downloaded,
        diff,
    };
    emit(args.json, &out, || {
        let d = &out.detail;
        println!(
            "Proposal {} for asset {asset}: {}",
            p.id,
            status_words(d.status)
        );
        println!("  proposer  {}", p.proposer.to_checksum(None));
        println!("  content   {}", p.content_cid);
        println!("  card      {}", p.metadata_cid);
        println!(
            "  voting    until {} (snapshot block {})",
            time_text(p.deadline),
            p.snapshot_block
        );
        if let Some(v) = p.version_index {
            println!("  became    version {v}");
        }
        println!();
        match &d.description {
            Some(text) => {
                for line in text.lines() {
                    println!("  > {line}");
                }
            }
            None => println!(
                "  (the node does not hold the message {})",
                p.description_cid
            ),
        }
        println!();
        println!(
            "Tally: yes {} ({}), no {} ({}), not voted {} of {} shares at the snapshot; needs {} yes (more than 50%)",
            p.yes_votes,
            percent_text(bps(p.yes_votes, d.total_at_snapshot)),
            p.no_votes,
            percent_text(bps(p.no_votes, d.total_at_snapshot)),
            d.not_voted,
            d.total_at_snapshot,
            d.needed
        );
        match d.status.as_str() {
            "open" => println!(
                "  it needs {missing_yes} more yes shares; vote with `scal3ml vote {} yes|no`",
                p.id
            ),
            "passed" => println!(
                "  it has a majority: anyone may execute it with `scal3ml execute {}`",
                p.id
            ),
            _ => {}
        }
        if !d.votes.is_empty() {
            println!("Votes:");
            for v in &d.votes {
                println!(
                    "  {}  {:<3}  {} shares",
                    v.voter.to_checksum(None),
                    if v.support { "yes" } else { "no" },
                    v.weight
                );
            }
        }
        if !d.share_change.is_empty() {
            println!(
                "If it passes: {} new shares to the proposer ({} -> {} in all)",
                p.requested_shares, d.total_now, d.total_after
            );
            for c in &d.share_change {
                println!(
                    "  {}  {:>8} -> {:<8}{}",
                    c.holder.to_checksum(None),
                    percent_text(c.bps_now),
                    percent_text(c.bps_after),
                    if c.proposer { "  (proposer)" } else { "" }
                );
            }
        }
        if let Some(diff) = &out.diff {
            println!("Changes against the latest version:");
            print!("{}", diff.render_text());
        }
        if let Some(path) = &out.downloaded {
            println!("Wrote the proposed content to {}", path.display());
        } else {
            println!(
                "Download the proposed content with `scal3ml proposal {} -o PATH`.",
                p.id
            );
        }
    });
    Ok(())
}

/// Writes the proposal's content (decrypted by the access gateway) under `out`, checking every file's
/// SHA-256 against the proposed card.
async fn download(
    node: &NodeClient,
    signer_args: &SignerArgs,
    detail: &ProposalDetail,
    out: &Path,
) -> anyhow::Result<()> {
    let p = &detail.proposal;
    let asset = AssetId(p.asset);
    let asset_detail = node.api.asset(asset).await?;
    let card_cid: Cid = p
        .metadata_cid
        .parse()
        .context("the proposal's card id is not a CID")?;
    let source = GatewayClient::new(node.api.base()).with_http(&node.http);
    let card_bytes =
        export::cat_to_vec(&source, &card_cid, scal3ml_primitives::card::MAX_CARD_BYTES)
            .await
            .with_context(|| {
                format!(
                    "fetching the proposed card {card_cid} from {}",
                    node.api.base()
                )
            })?;
    let card = Card::from_json(&card_bytes).context("the proposed card is not valid")?;
    let gateway = node.gateway_of(&asset_detail);
    let signer = if asset_detail.summary.encrypted {
        node.signer(signer_args).context(
            "this proposal is encrypted: say which account you are (--dev-account N, --keystore NAME or SCAL3ML_PRIVATE_KEY); \
             the proposer and accounts with access to the asset may read it",
        )?
    } else {
        // Unencrypted content is public; any key signs the (unchecked) request.
        alloy::signers::local::PrivateKeySigner::random()
    };
    let client = AccessClient::new(&gateway, &node.http);
    let root: Cid = p
        .content_cid
        .parse()
        .context("the proposal's content id is not a CID")?;
    let single = card.files.len() == 1 && card.files[0].cid == root.to_string();
    for f in &card.files {
        let path = if single {
            String::new()
        } else {
            f.path.clone()
        };
        let bytes = client
            .fetch_proposal_content(&signer, node.network.chain_id, asset, p.id, &path)
            .await
            .with_context(|| format!("fetching {} of proposal {} from {gateway}", f.path, p.id))?;
        let sum = alloy::hex::encode(<sha2::Sha256 as sha2::Digest>::digest(&bytes));
        if sum != f.sha256 {
            bail!(
                "{} of proposal {} does not match its card's SHA-256 ({sum} instead of {}): the content is corrupt",
                f.path,
                p.id,
                f.sha256
            );
        }
        let target = if single {
            out.to_path_buf()
        } else {
            out.join(&f.path)
        };
        if let Some(dir) = target.parent()
            && !dir.as_os_str().is_empty()
        {
            std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
        }
        std::fs::write(&target, &bytes).with_context(|| format!("writing {}", target.display()))?;
    }
    Ok(())
}

pub(crate) async fn vote(args: VoteArgs) -> anyhow::Result<()> {
    let node = NodeClient::connect(&args.node).await?;
    let signer = node.signer(&args.signer)?;
    let market = node.market(Some(&signer)).await?;
    let support = args.choice == Choice::Yes;
    let tx = market.vote(args.id, support).await?;
    let info = market.proposal(args.id).await?;
    #[derive(Serialize)]
    struct Out {
        proposal: ProposalId,
        voter: Address,
        support: bool,
        yes_votes: u128,
        no_votes: u128,
        total_at_snapshot: u128,
        tx: TxHash,
        block: u64,
    }
    let out = Out {
        proposal: args.id,
        voter: signer.address(),
        support,
        yes_votes: info.yes_votes,
        no_votes: info.no_votes,
        total_at_snapshot: info.total_at_snapshot,
        tx: tx.hash,
        block: tx.block,
    };
    emit(args.json, &out, || {
        let total = U256::from(info.total_at_snapshot);
        println!(
            "Voted {} on proposal {} as {} (tx {})",
            if support { "yes" } else { "no" },
            args.id,
            out.voter,
            tx.hash
        );
        println!(
            "  tally now: yes {}, no {} of all shares at the snapshot",
            percent_text(bps(U256::from(info.yes_votes), total)),
            percent_text(bps(U256::from(info.no_votes), total))
        );
        if info.yes_votes > info.total_at_snapshot / 2 {
            println!(
                "It has a majority: execute it with `scal3ml execute {}`.",
                args.id
            );
        }
    });
    Ok(())
}

pub(crate) async fn execute(args: ProposalTxArgs) -> anyhow::Result<()> {
    let node = NodeClient::connect(&args.node).await?;
    let signer = node.signer(&args.signer)?;
    let market = node.market(Some(&signer)).await?;
    let info = market.proposal(args.id).await?;
    // An encrypted asset's new version is readable only if its gateway holds the proposer's key for it.
    if market.asset_record(info.asset).await?.encrypted {
        let detail = node
            .api
            .asset(info.asset)
            .await
            .with_context(|| format!("reading asset {} from the node's catalog", info.asset))?;
        let gateway = node.gateway_of(&detail);
        // A gateway that has not read the proposal yet says so (`unknown_proposal`): give it a few seconds.
        let access = AccessClient::new(&gateway, &node.http);
        let mut tries = 0;
        loop {
            match access.ensure_proposal_key(args.id).await {
                Err(scal3ml_access::AccessError::Refused { code, .. })
                    if code == "unknown_proposal" && tries < 50 =>
                {
                    tries += 1;
                    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
                }
                other => break other?,
            }
        }
    }
    let (version, tx) = market.execute(args.id).await?;
    #[derive(Serialize)]
    struct Out {
        proposal: ProposalId,
        asset: AssetId,
        version: u64,
        proposer: Address,
        minted_shares: u128,
        tx: TxHash,
        block: u64,
    }
    let out = Out {
        proposal: args.id,
        asset: info.asset,
        version,
        proposer: info.proposer,
        minted_shares: info.requested_shares,
        tx: tx.hash,
        block: tx.block,
    };
    wait_for_version(&node, info.asset, version).await;
    emit(args.json, &out, || {
        println!(
            "Executed proposal {}: asset {} has version {version}, and {} received {} new shares (tx {})",
            args.id, info.asset, info.proposer, info.requested_shares, tx.hash
        );
        println!("See it with `scal3ml show {}`.", info.asset);
    });
    Ok(())
}

/// Waits (up to 10 s) until the catalog has the executed version, so `show` reflects it.
async fn wait_for_version(node: &NodeClient, asset: AssetId, version: u64) {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while std::time::Instant::now() < deadline {
        if let Ok(d) = node.api.asset(asset).await
            && d.versions.iter().any(|v| v.index == version)
        {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
}

pub(crate) async fn reject(args: ProposalTxArgs) -> anyhow::Result<()> {
    let node = NodeClient::connect(&args.node).await?;
    let signer = node.signer(&args.signer)?;
    let market = node.market(Some(&signer)).await?;
    let tx = market.reject(args.id).await?;
    emit(args.json, &tx, || {
        println!("Rejected proposal {} (tx {})", args.id, tx.hash);
    });
    Ok(())
}

/// Basis points of `part` in `whole`, rounded down.
fn bps(part: U256, whole: U256) -> u64 {
    if whole.is_zero() {
        return 0;
    }
    (part * U256::from(10_000u64) / whole).to::<u64>()
}

/// Basis points as a percentage with two decimals at most: 1111 -> "11.11%", 1000 -> "10%".
fn percent_text(bps: u64) -> String {
    let (whole, frac) = (bps / 100, bps % 100);
    if frac == 0 {
        format!("{whole}%")
    } else if frac % 10 == 0 {
        format!("{whole}.{}%", frac / 10)
    } else {
        format!("{whole}.{frac:02}%")
    }
}

fn time_text(unix: u64) -> String {
    chrono::DateTime::from_timestamp(unix as i64, 0).map_or_else(
        || unix.to_string(),
        |d| d.format("%Y-%m-%d %H:%M UTC").to_string(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_percentage_is_of_the_shares_after_the_mint() {
        assert_eq!(requested_shares("10%", 10_000).unwrap(), 1_111);
        assert_eq!(requested_shares("50%", 10_000).unwrap(), 10_000);
        assert_eq!(requested_shares("250", 10_000).unwrap(), 250);
        assert!(requested_shares("100%", 10_000).is_err());
        assert!(requested_shares("ten", 10_000).is_err());
    }

    #[test]
    fn percentages_read_naturally() {
        assert_eq!(percent_text(1_000), "10%");
        assert_eq!(percent_text(999), "9.99%");
        assert_eq!(percent_text(6_350), "63.5%");
    }
}
