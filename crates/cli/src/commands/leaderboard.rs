//! `scal3ml leaderboard`: a dataset's attested evaluations per metric, best first, with how many accounts
//! re-ran each and agreed (endorsements) or got another value (disputes). Read from the node's catalog.

use crate::node_client::{NodeArgs, NodeClient, emit};
use clap::Args;
use scal3ml_api::{Direction, LeaderboardQuery};
use scal3ml_primitives::AssetId;

/// Flags of `scal3ml leaderboard`.
#[derive(Debug, Args)]
#[command(after_long_help = "\
Order: higher is better for accuracy, f1, f1_macro, precision, recall, r2 and auc; lower is better for rmse,
mse, mae and log_loss; a metric the node does not know is ranked as higher is better, and says so. Equal
values share a rank, in attestation order. A disputed row is one that someone re-ran and got another value:
check its report (`scal3ml store cat CID`) or re-run it yourself with `scal3ml eval verify ID`.

Examples:
  scal3ml leaderboard 3
  scal3ml leaderboard 3 --metric accuracy --json")]
pub(crate) struct LeaderboardArgs {
    /// The dataset asset id.
    dataset: u64,
    /// Only this metric (e.g. accuracy, rmse) [default: one board per metric attested on the dataset].
    #[arg(long, value_name = "NAME")]
    metric: Option<String>,
    /// Only evaluations on this dataset version.
    #[arg(long, value_name = "N")]
    dataset_version: Option<u64>,
    #[command(flatten)]
    node: NodeArgs,
    /// Print the boards as JSON (what GET /api/assets/{id}/leaderboard answers).
    #[arg(long)]
    json: bool,
}

pub(crate) async fn run(args: LeaderboardArgs) -> anyhow::Result<()> {
    let node = NodeClient::connect(&args.node).await?;
    let query = LeaderboardQuery {
        metric: args.metric.clone(),
        dataset_version: args.dataset_version,
    };
    let boards = node.api.leaderboard(AssetId(args.dataset), &query).await?;
    emit(args.json, &boards, || {
        if boards.is_empty() {
            println!(
                "No evaluation of dataset {} is attested yet. Attest one with `scal3ml eval MODEL --on {} --label COLUMN --attest`.",
                args.dataset, args.dataset
            );
        }
        for (i, b) in boards.iter().enumerate() {
            if i > 0 {
                println!();
            }
            let direction = match b.direction {
                Direction::HigherIsBetter => "higher is better",
                Direction::LowerIsBetter => "lower is better",
                Direction::AssumedHigherIsBetter => {
                    "ranked as higher is better: the node does not know this metric"
                }
            };
            println!("{} on dataset {} ({direction})", b.metric, b.dataset);
            if b.rows.is_empty() {
                println!("  (no attestations)");
                continue;
            }
            println!(
                "{:>4}  {:<28} {:>12} {:>8} {:>8} {:>8}  {:<11} report",
                "rank", "model", "value", "dataset", "endorsed", "disputed", "attestation"
            );
            for r in &b.rows {
                let name = if r.model_name.is_empty() {
                    format!("#{} v{}", r.model_asset, r.model_version)
                } else {
                    format!("#{} v{} {}", r.model_asset, r.model_version, r.model_name)
                };
                let name: String = name.chars().take(28).collect();
                let version = format!("v{}", r.dataset_version);
                let attestation = format!("#{}", r.attestation);
                println!(
                    "{:>4}  {name:<28} {:>12} {version:>8} {:>8} {:>8}  {attestation:<11} {}{}",
                    r.rank,
                    r.value,
                    r.endorsements,
                    r.disputes,
                    r.report_cid,
                    if r.disputes > 0 { "  DISPUTED" } else { "" }
                );
            }
        }
    });
    Ok(())
}
