//! The `scal3ml` command line: one subcommand per module under `commands/`, each turning its clap arguments into
//! a library call. Results go to stdout (`--json` where a script reads them); progress, logs and warnings go
//! to stderr. Nothing here is needed to use the libraries.

use clap::{Parser, Subcommand};

mod commands;
pub mod config;
mod node_client;
mod progress;
pub mod wallet;

/// Scal3ML: an open marketplace for machine-learning datasets and models.
#[derive(Debug, Parser)]
#[command(name = "scal3ml", version, propagate_version = true)]
pub struct Cli {
    /// More logging on stderr (-v debug, -vv trace). RUST_LOG overrides it.
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,
    /// A TOML file of defaults: keys are flag names (`port = 8080`); SCAL3ML_* variables and flags override it
    /// [default: <user config dir>/scal3ml/config.toml if present].
    #[arg(long, global = true, value_name = "FILE")]
    pub config: Option<std::path::PathBuf>,
    #[command(subcommand)]
    pub(crate) command: Command,
}

#[derive(Debug, Subcommand)]
pub(crate) enum Command {
    /// Accounts in encrypted keystores: new, import, list.
    Account(commands::account::AccountArgs),
    /// Run the whole platform locally: embedded chain, contracts, store, indexer, API and gateways.
    Dev(commands::dev::DevArgs),
    /// Deploy the contracts to a chain and write the deployment manifest.
    Deploy(commands::deploy::DeployArgs),
    /// Run a node (API, gateways, indexer) against a real chain: --network NAME or --rpc-url URL.
    Node(commands::node::NodeArgs),
    /// Publish a file or folder as a dataset or model: free, or priced (then encrypted).
    Publish(Box<commands::publish::PublishArgs>),
    /// Find assets: words plus filters (kind, license, tag, price, free), sorting, paging.
    Search(commands::catalog::SearchArgs),
    /// Show an asset: card, files, versions, lineage, price, evaluations.
    Show(commands::catalog::AssetArgs),
    /// List an asset's versions.
    Versions(commands::catalog::AssetArgs),
    /// Show an asset's ancestors and descendants.
    Lineage(commands::catalog::AssetArgs),
    /// Buy a license to an asset with ETH or an ERC-20 (the approval is handled).
    Buy(commands::trade::BuyArgs),
    /// Download an asset: fetch and verify every block, decrypt, check each file's SHA-256; resumable.
    Get(commands::get::GetArgs),
    /// May this account use this asset? (exit status 1 if not)
    Access(commands::trade::AccessArgs),
    /// What an account may withdraw, per asset and token.
    Earnings(commands::trade::EarningsArgs),
    /// Withdraw everything you are owed, one transaction per token.
    Withdraw(commands::trade::EarningsArgs),
    /// Revenue shares: transfer.
    #[command(subcommand)]
    Shares(commands::trade::SharesCommand),
    /// Listings: set-price.
    #[command(subcommand)]
    Listing(commands::trade::ListingCommand),
    /// Stop selling an asset (licenses already sold stay valid).
    Deprecate(commands::trade::DeprecateArgs),
    /// Comment on an asset or one of its proposals (signed by you with EIP-712), or reply to a comment.
    Comment(commands::discuss::CommentArgs),
    /// Print the comment threads of an asset or of one of its proposals.
    Comments(commands::discuss::CommentsArgs),
    /// As the asset's owner, hide a comment (it stays stored and verifiable), or show it again (--unhide).
    CommentHide(commands::discuss::HideArgs),
    /// Propose a new version of an asset you need not own, asking for shares if the shareholders accept it.
    Propose(Box<commands::propose::ProposeArgs>),
    /// List an asset's proposals: shares asked for, yes/no of the shares at the snapshot, state, deadline.
    Proposals(commands::propose::ProposalsArgs),
    /// One proposal: its message, votes, tally, what passing would change in the shares, and its diff.
    Proposal(commands::propose::ProposalArgs),
    /// Vote yes or no on a proposal with the shares you held at its snapshot.
    Vote(commands::propose::VoteArgs),
    /// Execute a proposal that more than half of the shares voted for: the new version and its shares.
    Execute(commands::propose::ProposalTxArgs),
    /// As the asset's owner, reject an open proposal.
    Reject(commands::propose::ProposalTxArgs),
    /// What changed between two versions: rows, schema and column statistics of tables, tensors of models;
    /// local files or folders (--old/--new), two versions of an asset, or a proposal (--proposal).
    Diff(Box<commands::diff::DiffArgs>),
    /// Content-addressed storage: add, cat, get, ls, CAR, pins, gc.
    Store(commands::store::StoreArgs),
    /// Run the embedded EVM chain alone (JSON-RPC on 127.0.0.1:8545 by default).
    Devnet(commands::devnet::DevnetArgs),
    /// Evaluate an ONNX model on a dataset (local files, or published assets, then attest on-chain); `eval
    /// verify ID` re-runs an attestation and endorses or disputes it.
    Eval(Box<commands::eval::EvalArgs>),
    /// A dataset's attested evaluations per metric, best first, with endorsement and dispute counts.
    Leaderboard(commands::leaderboard::LeaderboardArgs),
}

/// Runs the parsed command to completion.
pub fn run(cli: Cli) -> anyhow::Result<()> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async move {
        match cli.command {
            Command::Account(args) => commands::account::run(args).await,
            Command::Dev(args) => commands::dev::run(args).await,
            Command::Deploy(args) => commands::deploy::run(args).await,
            Command::Node(args) => commands::node::run(args).await,
            Command::Publish(args) => commands::publish::run(*args).await,
            Command::Search(args) => commands::catalog::search(args).await,
            Command::Show(args) => commands::catalog::show(args).await,
            Command::Versions(args) => commands::catalog::versions(args).await,
            Command::Lineage(args) => commands::catalog::lineage(args).await,
            Command::Buy(args) => commands::trade::buy(args).await,
            Command::Get(args) => commands::get::run(args).await,
            Command::Access(args) => commands::trade::access(args).await,
            Command::Earnings(args) => commands::trade::earnings(args).await,
            Command::Withdraw(args) => commands::trade::withdraw(args).await,
            Command::Shares(cmd) => commands::trade::shares(cmd).await,
            Command::Listing(cmd) => commands::trade::listing(cmd).await,
            Command::Deprecate(args) => commands::trade::deprecate(args).await,
            Command::Comment(args) => commands::discuss::comment(args).await,
            Command::Comments(args) => commands::discuss::comments(args).await,
            Command::CommentHide(args) => commands::discuss::hide(args).await,
            Command::Propose(args) => commands::propose::propose(*args).await,
            Command::Proposals(args) => commands::propose::list(args).await,
            Command::Proposal(args) => commands::propose::show(args).await,
            Command::Vote(args) => commands::propose::vote(args).await,
            Command::Execute(args) => commands::propose::execute(args).await,
            Command::Reject(args) => commands::propose::reject(args).await,
            Command::Diff(args) => commands::diff::run(*args).await,
            Command::Store(args) => commands::store::run(args).await,
            Command::Devnet(args) => commands::devnet::run(args).await,
            Command::Eval(args) => commands::eval::run(*args).await,
            Command::Leaderboard(args) => commands::leaderboard::run(args).await,
        }
    })
}

/// Logs to stderr, filtered by RUST_LOG or else by the number of `-v` flags.
pub fn init_tracing(verbose: u8) {
    let default = match verbose {
        0 => "warn,scal3ml=info",
        1 => "debug",
        _ => "trace",
    };
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .init();
}

#[cfg(test)]
mod tests {
    #[test]
    fn every_command_line_definition_is_consistent() {
        use clap::CommandFactory as _;
        super::Cli::command().debug_assert();
    }
}
