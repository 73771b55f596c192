//! Discussions through a node: `scal3ml comment` (sign a comment with EIP-712 and post it), `scal3ml comments`
//! (print the threads) and `scal3ml comment-hide` (the asset owner hides a comment, or shows it again). The
//! signed documents are `scal3ml_discuss`'s; the node verifies and stores them (docs/discussions.md).

use crate::{
    node_client::{NodeArgs, NodeClient, emit},
    wallet::SignerArgs,
};
use anyhow::Context as _;
use clap::Args;
use scal3ml_api::CommentNode;
use scal3ml_discuss::{CommentDoc, HideDoc, MAX_BODY_CHARS};
use scal3ml_primitives::{AssetId, ProposalId, clock::now_secs};
use std::path::PathBuf;

/// Flags of `scal3ml comment`.
#[derive(Debug, Args)]
#[command(group(clap::ArgGroup::new("text").required(true).args(["message", "file"])))]
pub(crate) struct CommentArgs {
    /// The asset to comment on.
    asset: u64,
    /// Comment on this proposal of the asset instead of on the asset itself.
    #[arg(long, value_name = "ID")]
    proposal: Option<u64>,
    /// Reply to this comment (its CID, as `scal3ml comments` prints it); it must be in the same thread.
    #[arg(long, value_name = "CID")]
    reply_to: Option<String>,
    /// The comment, in Markdown (at most 10,000 characters).
    #[arg(short, long, value_name = "TEXT")]
    message: Option<String>,
    /// Read the comment from this Markdown file (`-` for standard input).
    #[arg(short, long, value_name = "FILE")]
    file: Option<PathBuf>,
    #[command(flatten)]
    signer: SignerArgs,
    #[command(flatten)]
    node: NodeArgs,
    /// Print the result as JSON.
    #[arg(long)]
    json: bool,
}

/// Flags of `scal3ml comments`.
#[derive(Debug, Args)]
pub(crate) struct CommentsArgs {
    /// The asset.
    asset: u64,
    /// The thread of this proposal of the asset instead of the asset's own.
    #[arg(long, value_name = "ID")]
    proposal: Option<u64>,
    #[command(flatten)]
    node: NodeArgs,
    /// Print the threads as JSON (comments with their signatures and `replies`).
    #[arg(long)]
    json: bool,
}

/// Flags of `scal3ml comment-hide`.
#[derive(Debug, Args)]
pub(crate) struct HideArgs {
    /// The comment's CID.
    comment: String,
    /// Show a hidden comment again.
    #[arg(long)]
    unhide: bool,
    #[command(flatten)]
    signer: SignerArgs,
    #[command(flatten)]
    node: NodeArgs,
    /// Print the result as JSON.
    #[arg(long)]
    json: bool,
}

pub(crate) async fn comment(args: CommentArgs) -> anyhow::Result<()> {
    let body = match (&args.message, &args.file) {
        (Some(m), _) => m.clone(),
        (None, Some(f)) if f.as_os_str() == "-" => {
            std::io::read_to_string(std::io::stdin()).context("reading the comment from stdin")?
        }
        (None, Some(f)) => std::fs::read_to_string(f)
            .with_context(|| format!("reading the comment from {}", f.display()))?,
        (None, None) => unreachable!("clap requires --message or --file"),
    };
    if body.trim().is_empty() {
        anyhow::bail!("the comment is empty: give some text with --message or --file");
    }
    let chars = body.chars().count();
    if chars > MAX_BODY_CHARS {
        anyhow::bail!(
            "the comment holds {chars} characters; at most {MAX_BODY_CHARS} are accepted: shorten it or split it \
             into replies (--reply-to)"
        );
    }
    let node = NodeClient::connect(&args.node).await?;
    let signer = node.signer(&args.signer).context(
        "a comment is signed by its author: say who you are (--dev-account N, --keystore NAME or \
         SCAL3ML_PRIVATE_KEY)",
    )?;
    let doc = CommentDoc {
        chain_id: node.network.chain_id,
        marketplace: node.network.marketplace,
        asset: args.asset,
        proposal: args.proposal.unwrap_or(0),
        parent: args.reply_to.clone().unwrap_or_default().trim().to_owned(),
        body,
        created_at: now_secs(),
        author: signer.address(),
        signature: String::new(),
    }
    .sign(&signer)
    .map_err(|e| anyhow::anyhow!("signing the comment: {e}"))?;
    let posted = node.api.post_comment(&doc).await?;
    emit(args.json, &posted, || {
        let place = match args.proposal {
            Some(p) if p != 0 => format!("proposal {p} of asset {}", args.asset),
            _ => format!("asset {}", args.asset),
        };
        let what = if args.reply_to.is_some() {
            "Replied"
        } else {
            "Commented"
        };
        let again = if posted.new {
            ""
        } else {
            " (the node already had this comment)"
        };
        println!(
            "{what} on {place} as {}{again}\nid {}",
            signer.address(),
            posted.cid
        );
    });
    Ok(())
}

pub(crate) async fn comments(args: CommentsArgs) -> anyhow::Result<()> {
    let node = NodeClient::connect(&args.node).await?;
    let thread = node
        .api
        .thread(AssetId(args.asset), args.proposal.map(ProposalId))
        .await?;
    emit(args.json, &thread, || {
        let place = if thread.proposal == 0 {
            format!("asset {}", thread.asset)
        } else {
            format!("proposal {} of asset {}", thread.proposal, thread.asset)
        };
        if thread.comments.is_empty() {
            println!("No comments on {place} yet.");
            return;
        }
        println!(
            "{} on {place}:",
            if thread.count == 1 {
                "1 comment".to_string()
            } else {
                format!("{} comments", thread.count)
            }
        );
        for c in &thread.comments {
            print_node(c, 0);
        }
    });
    Ok(())
}

fn print_node(c: &CommentNode, depth: usize) {
    let pad = "  ".repeat(depth + 1);
    let when = chrono::DateTime::from_timestamp(c.created_at as i64, 0).map_or_else(
        || c.created_at.to_string(),
        |d| d.format("%Y-%m-%d %H:%M UTC").to_string(),
    );
    println!();
    println!("{pad}{} · {when} · {}", c.author, c.cid);
    if c.hidden {
        println!("{pad}[hidden by the owner]");
    }
    for line in c.body.lines() {
        println!("{pad}{line}");
    }
    for r in &c.replies {
        print_node(r, depth + 1);
    }
}

pub(crate) async fn hide(args: HideArgs) -> anyhow::Result<()> {
    let node = NodeClient::connect(&args.node).await?;
    let signer = node.signer(&args.signer).context(
        "hiding a comment is signed by the asset's owner: say who you are (--dev-account N, --keystore NAME \
         or SCAL3ML_PRIVATE_KEY)",
    )?;
    let existing = node.api.comment(&args.comment).await?;
    let doc = HideDoc {
        chain_id: node.network.chain_id,
        marketplace: node.network.marketplace,
        comment: existing.cid.clone(),
        hidden: !args.unhide,
        // Later than the decision in force, so that hiding and showing again within a second both count.
        created_at: now_secs().max(existing.hide.as_ref().map_or(0, |h| h.created_at + 1)),
        owner: signer.address(),
        signature: String::new(),
    }
    .sign(&signer)
    .map_err(|e| anyhow::anyhow!("signing the decision: {e}"))?;
    let done = node.api.hide(&existing.cid, &doc).await?;
    emit(args.json, &done, || {
        if done.hidden {
            println!(
                "Hid comment {} on asset {} (it stays stored and verifiable; `--unhide` shows it again)",
                done.comment, existing.asset
            );
        } else {
            println!(
                "Comment {} on asset {} is shown again",
                done.comment, existing.asset
            );
        }
    });
    Ok(())
}
