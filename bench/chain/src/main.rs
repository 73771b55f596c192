//! `chain-bench`: the Scal3ML devnet side by side with hardhat node 2.x and ganache 7.x (both from npm, installed
//! in tests/interop/chain), one alloy HTTP client and one workload for all: (a) ETH transfers sent concurrently from
//! ten accounts until every receipt is in, (b) state-changing contract calls, (c) eth_call throughput, (d) start-up
//! time to the first eth_chainId answer, (e) resident memory after (a). Prints a Markdown table with the ratios and
//! the targets of issue 4. It is run by hand (it takes minutes and is no test); bench/RESULTS.md records figures.

mod nodes;
mod report;
mod workload;

use std::{path::PathBuf, time::Duration};

use anyhow::Context;
use clap::Parser;
use nodes::{NodeKind, Programs};
use report::Measured;

/// Benchmarks the Scal3ML devnet against hardhat node and ganache.
#[derive(Parser, Debug)]
#[command(name = "chain-bench")]
struct Args {
    /// Nodes to measure, in order (devnet-disk: the devnet with --data-dir in a temporary directory).
    #[arg(long, value_delimiter = ',', default_value = "devnet,hardhat,ganache")]
    nodes: Vec<NodeKind>,
    /// (a) ETH transfers in total, spread over the accounts.
    #[arg(long, default_value_t = 2000)]
    transfers: usize,
    /// (b) state-changing contract calls in total, spread over the accounts.
    #[arg(long, default_value_t = 1000)]
    contract_calls: usize,
    /// (c) eth_call requests in total, as many in flight as there are accounts.
    #[arg(long, default_value_t = 5000)]
    eth_calls: usize,
    /// Dev accounts sending at once.
    #[arg(long, default_value_t = 10)]
    accounts: u32,
    /// (d) start-ups per node and round; the median is reported.
    #[arg(long, default_value_t = 3)]
    startup_runs: usize,
    /// Rounds over all nodes (each round starts every node afresh); each figure is the median over rounds.
    /// More than one evens out load from other programs on a shared machine.
    #[arg(long, default_value_t = 1)]
    rounds: usize,
    /// The scal3ml binary [default: $CARGO_TARGET_DIR/release/scal3ml, else target/release/scal3ml].
    #[arg(long)]
    scal3ml: Option<PathBuf>,
    /// The npm folder holding hardhat, ganache and solc [default: tests/interop/chain].
    #[arg(long)]
    npm_dir: Option<PathBuf>,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let repo = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..");
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| repo.join("target"));
    let programs = Programs {
        scal3ml: args
            .scal3ml
            .clone()
            .unwrap_or_else(|| target.join("release/scal3ml")),
        npm_dir: args
            .npm_dir
            .clone()
            .unwrap_or_else(|| repo.join("tests/interop/chain")),
    };
    let creation_code = workload::counter_creation_code(&programs.npm_dir)?;

    let mut rounds: Vec<Vec<Measured>> = vec![Vec::new(); args.nodes.len()];
    for round in 1..=args.rounds.max(1) {
        for (i, &kind) in args.nodes.iter().enumerate() {
            eprintln!("==> {} (round {round})", kind.label());
            let measured = measure(kind, &programs, &args, &creation_code)
                .await
                .with_context(|| format!("benchmarking {}", kind.label()))?;
            eprintln!("    {measured:?}");
            rounds[i].push(measured);
        }
    }
    let results: Vec<_> = args
        .nodes
        .iter()
        .copied()
        .zip(rounds.iter().map(|r| Measured::median(r)))
        .collect();
    print!("{}", report::table(&results, &args_line(&args)));
    Ok(())
}

async fn measure(
    kind: NodeKind,
    programs: &Programs,
    args: &Args,
    code: &[u8],
) -> anyhow::Result<Measured> {
    let timeout = Duration::from_secs(120);
    let mut startups = Vec::new();
    for _ in 1..args.startup_runs.max(1) {
        let node = nodes::start(kind, programs, timeout).await?;
        startups.push(node.startup);
    }
    let node = nodes::start(kind, programs, timeout).await?;
    startups.push(node.startup);
    startups.sort();
    let chain = workload::Chain::connect(&node.url, args.accounts).await?;

    eprintln!("    (a) {} transfers", args.transfers);
    let transfers_per_s = chain.transfers(args.transfers).await?;
    let rss = node.resident_bytes()?;
    eprintln!("    (b) {} contract calls", args.contract_calls);
    let counter = chain.deploy_counter(code).await?;
    let contract_tx_per_s = chain.contract_calls(counter, args.contract_calls).await?;
    eprintln!("    (c) {} eth_call", args.eth_calls);
    let eth_calls_per_s = chain.eth_calls(counter, args.eth_calls).await?;
    Ok(Measured {
        transfers_per_s,
        contract_tx_per_s,
        eth_calls_per_s,
        startup: startups[startups.len() / 2],
        rss_after_transfers: rss,
    })
}

fn args_line(args: &Args) -> String {
    format!(
        "{} transfers and {} contract calls from {} accounts, {} eth_call, start-up median of {} per round; \
         median of {} round(s)",
        args.transfers,
        args.contract_calls,
        args.accounts,
        args.eth_calls,
        args.startup_runs,
        args.rounds
    )
}
