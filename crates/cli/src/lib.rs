//! The `scal3ml` command line: one subcommand per module under `commands/`, each turning its clap arguments into
//! a library call. Results go to stdout (`--json` where a script reads them); progress, logs and warnings go
//! to stderr. Nothing here is needed to use the libraries.

use clap::{Parser, Subcommand};

mod commands;
pub mod config;

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
    /// Run the whole platform locally: embedded chain, contracts, store, indexer, API and gateways.
    Dev(commands::dev::DevArgs),
    /// Run a node (API, gateways, indexer) against a real chain: --network NAME or --rpc-url URL.
    Node(commands::node::NodeArgs),
    /// Content-addressed storage: add, cat, get, ls, CAR, pins, gc.
    Store(commands::store::StoreArgs),
    /// Run the embedded EVM chain alone (JSON-RPC on 127.0.0.1:8545 by default).
    Devnet(commands::devnet::DevnetArgs),
}

/// Runs the parsed command to completion.
pub fn run(cli: Cli) -> anyhow::Result<()> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async move {
        match cli.command {
            Command::Dev(args) => commands::dev::run(args).await,
            Command::Node(args) => commands::node::run(args).await,
            Command::Store(args) => commands::store::run(args).await,
            Command::Devnet(args) => commands::devnet::run(args).await,
        }
    })
}

/// The per-user data directory: `$SCAL3ML_DATA_DIR` is handled by each command's flag; this is the fallback
/// (`~/.local/share/scal3ml` on Linux).
pub(crate) fn default_data_dir() -> anyhow::Result<std::path::PathBuf> {
    dirs::data_dir().map(|d| d.join("scal3ml")).ok_or_else(|| {
        anyhow::anyhow!("no per-user data directory (is $HOME set?): pass --data-dir")
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
