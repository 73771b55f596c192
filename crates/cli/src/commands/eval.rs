//! `scal3ml eval`: evaluate an ONNX model on a dataset and print the report (metrics, per-class figures, the
//! files' SHA-256), for local files (`--model FILE --data FILE`) or for published assets (`MODEL --on
//! DATASET`), fetched through the same verified, access-checked download as `scal3ml get`. A report of assets
//! names them (ids, versions, content CIDs, the files inside) and is stored on the node; `--attest` records
//! its figures on-chain. `scal3ml eval verify ID` re-runs an attestation and endorses or disputes it. Rows per
//! second go to stderr.

use crate::{
    commands::get::{self, Resolved},
    node_client::{NodeArgs, NodeClient, emit},
    wallet::SignerArgs,
};
use alloy::primitives::{Address, TxHash};
use anyhow::Context as _;
use clap::{Args, Subcommand};
use scal3ml_eval::{
    ATTEST_DECIMALS, AssetFile, Claim, Dataset, EvalConfig, Metrics, Model, Report, Subject, Task,
    evaluate_with_progress, fixed_text, to_fixed,
};
use scal3ml_market::{AttestRequest, content};
use scal3ml_primitives::{AssetId, AssetKind, AttestationId};
use scal3ml_store::{Cid, MemStore, export};
use serde::Serialize;
use std::path::{Path, PathBuf};

/// Flags of `scal3ml eval`.
#[derive(Debug, Args)]
#[command(
    args_conflicts_with_subcommands = true,
    subcommand_negates_reqs = true,
    override_usage = "scal3ml eval --model FILE --data FILE --label COLUMN [OPTIONS]
       scal3ml eval MODEL_ASSET --on DATASET_ASSET --label COLUMN [--attest [--metric NAME]...] [OPTIONS]
       scal3ml eval verify ATTESTATION [--tolerance DECIMAL] [OPTIONS]",
    after_long_help = AFTER_HELP
)]
pub(crate) struct EvalArgs {
    #[command(subcommand)]
    command: Option<EvalCommand>,
    /// A published model asset to evaluate (with --on DATASET). For local files use --model and --data.
    #[arg(value_name = "MODEL_ASSET", requires = "on", conflicts_with_all = ["model", "data"])]
    model_asset: Option<u64>,
    /// The published dataset asset to evaluate the model on.
    #[arg(long, value_name = "DATASET_ASSET", requires = "model_asset")]
    on: Option<u64>,
    /// A local ONNX model, e.g. exported from scikit-learn by skl2onnx (`to_onnx(model, X[:1])`) or by
    /// torch.onnx.
    #[arg(
        long,
        value_name = "FILE",
        required_unless_present = "model_asset",
        requires = "data"
    )]
    model: Option<PathBuf>,
    /// A local dataset: a CSV with a header row, or an NPY array of features `[rows, features]` (float32/64).
    #[arg(long, value_name = "FILE", requires = "model")]
    data: Option<PathBuf>,
    /// For a CSV, the label column's name; for an NPY dataset, the NPY file of labels (`[rows]`): a local
    /// path with --data, a path inside the dataset asset with --on.
    #[arg(long, value_name = "COLUMN|FILE", required = true)]
    label: Option<String>,
    /// The CSV columns to feed the model, comma-separated, in the order it was trained on
    /// [default: every column but the label, in file order].
    #[arg(long, value_name = "A,B,...", value_delimiter = ',')]
    features: Option<Vec<String>>,
    /// classification or regression [default: classification when the model outputs integer labels or has
    /// a classifier operator, else regression].
    #[arg(long, value_name = "TASK")]
    task: Option<Task>,
    /// Rows per model run. Figures do not depend on it, except for operators left to tract's kernels (kNN's
    /// Scan, long sums); it is recorded in the report.
    #[arg(long, default_value_t = 256, value_name = "ROWS")]
    batch_size: usize,
    /// Refuse models larger than this many bytes.
    #[arg(long, default_value_t = scal3ml_eval::DEFAULT_MAX_MODEL_BYTES, value_name = "BYTES")]
    max_model_bytes: u64,
    /// The model asset's version (0 is the first) [default: the latest].
    #[arg(long, value_name = "N", requires = "model_asset")]
    model_version: Option<u64>,
    /// The dataset asset's version [default: the latest].
    #[arg(long, value_name = "N", requires = "model_asset")]
    dataset_version: Option<u64>,
    /// Which file of the model asset to run, as its card lists it [default: its only .onnx file].
    #[arg(long, value_name = "PATH", requires = "model_asset")]
    model_file: Option<String>,
    /// Which file of the dataset asset to read [default: its only .csv or .npy file besides the --label file].
    #[arg(long, value_name = "PATH", requires = "model_asset")]
    data_file: Option<String>,
    /// Record the result on-chain: one attestation per metric (--metric), value rounded half away from zero
    /// to 6 decimals, naming the report stored on the node. Sent from the signer's account.
    #[arg(long, requires = "model_asset")]
    attest: bool,
    /// The figures to attest: accuracy, f1_macro, log_loss (classification); rmse, mae, r2 (regression)
    /// [default: accuracy, or rmse for regression]. Repeat for several.
    #[arg(long, value_name = "NAME", requires = "attest")]
    metric: Vec<String>,
    #[command(flatten)]
    signer: SignerArgs,
    #[command(flatten)]
    node: NodeArgs,
    /// Print the report as JSON.
    #[arg(long)]
    json: bool,
}

/// `scal3ml eval ...`.
#[derive(Debug, Subcommand)]
enum EvalCommand {
    /// Re-run an attested evaluation and endorse it (same value at its decimals) or dispute it, on-chain, with
    /// your own report.
    Verify(VerifyArgs),
}

/// Flags of `scal3ml eval verify`.
#[derive(Debug, Args)]
#[command(after_long_help = VERIFY_HELP)]
struct VerifyArgs {
    /// The attestation id (on the dataset's asset page, in `scal3ml leaderboard`, or printed by `eval --attest`).
    attestation: AttestationId,
    /// The largest difference still endorsed, in the metric's units (e.g. 0.000002) [default: 0, the same
    /// value at the attested decimals].
    #[arg(long, default_value = "0", value_name = "DECIMAL")]
    tolerance: String,
    /// Refuse models larger than this many bytes.
    #[arg(long, default_value_t = scal3ml_eval::DEFAULT_MAX_MODEL_BYTES, value_name = "BYTES")]
    max_model_bytes: u64,
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
  scal3ml eval --model iris.onnx --data iris.csv --label species
  scal3ml eval --model digits.onnx --data x_test.npy --label y_test.npy --json > report.json
  scal3ml eval --model house.onnx --data test.csv --label price --features rooms,area,age --task regression
  scal3ml eval 7 --on 3 --label species --dev-account 1              # published model 7 on dataset 3
  scal3ml eval 7 --on 3 --label species --attest --metric accuracy --metric f1_macro --dev-account 1
  scal3ml eval verify 12 --dev-account 2                               # re-run attestation 12

Published assets are fetched like `scal3ml get` does: every block verified, a paid asset's key released only to
an account with a license (buy it first with `scal3ml buy ID`). The report then names both assets (ids,
versions, content CIDs, the files run) and the settings, is stored on the node, and its CID printed; --attest
records each metric on-chain as a fixed-point value with 6 decimals (rounded half away from zero).

Classification: accuracy, macro-F1, log-loss (from the model's probabilities output), the confusion matrix and
precision/recall/F1 per class. Labels must be integers among the model's classes. Regression: RMSE, MAE, R^2.

The report names the model and data by SHA-256 and carries predictions_sha256: two runs of the same files give
bit-identical figures on one machine; across machines see docs/eval.md (Determinism).

Operators: tract's ONNX set, plus the ONNX-ML operators scikit-learn pipelines need (Scaler, SVMClassifier,
SVMRegressor, TreeEnsembleClassifier, TreeEnsembleRegressor, ZipMap). See docs/eval.md for formats and limits.";

const VERIFY_HELP: &str = "\
Reads the attestation from the node's catalog, fetches its report, takes the settings from it (label, features,
task, batch size, the files inside the assets), fetches the model and dataset versions the attestation names
on-chain (not the report's claims), runs the evaluation again and compares the metric at the attested decimals.
Equal (within --tolerance) sends an endorsement, else a dispute, each naming your own report, stored on the node.
You need a license to a paid dataset or model, and you cannot review your own attestation.

Example:
  scal3ml eval verify 12 --dev-account 2 --json";

pub(crate) async fn run(args: EvalArgs) -> anyhow::Result<()> {
    if let Some(EvalCommand::Verify(v)) = args.command {
        return verify(v).await;
    }
    if args.model_asset.is_some() {
        return run_published(args).await;
    }
    run_local(&args)
}

fn run_local(args: &EvalArgs) -> anyhow::Result<()> {
    let (Some(model_path), Some(data_path), Some(label)) = (&args.model, &args.data, &args.label)
    else {
        anyhow::bail!(
            "say what to evaluate: --model FILE --data FILE --label COLUMN, or MODEL_ASSET --on DATASET_ASSET --label COLUMN"
        );
    };
    let config = config(args.batch_size, args.max_model_bytes, args.task);
    let report = run_files(
        model_path,
        data_path,
        label,
        args.features.as_deref(),
        &config,
        args.json,
    )?;
    if args.json {
        println!(
            "{}",
            serde_json::to_string_pretty(&report).context("serialising the report")?
        );
    } else {
        print_report(&report);
    }
    Ok(())
}

fn config(batch_size: usize, max_model_bytes: u64, task: Option<Task>) -> EvalConfig {
    let mut config = EvalConfig::default()
        .with_batch_size(batch_size)
        .with_max_model_bytes(max_model_bytes);
    if let Some(task) = task {
        config = config.with_task(task);
    }
    config
}

fn is_npy(path: &Path) -> bool {
    path.extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("npy"))
}

/// Loads and evaluates local files, with a progress bar unless `quiet`; prints the rate on stderr.
fn run_files(
    model_path: &Path,
    data_path: &Path,
    label: &str,
    features: Option<&[String]>,
    config: &EvalConfig,
    quiet: bool,
) -> anyhow::Result<Report> {
    let model = Model::load(model_path, config.max_model_bytes)?;
    let data = if is_npy(data_path) {
        if features.is_some() {
            anyhow::bail!("--features chooses CSV columns; an NPY dataset feeds all its columns");
        }
        Dataset::from_npy(data_path, label.as_ref())?
    } else {
        Dataset::from_csv(data_path, label, features)?
    };
    let bar = crate::progress::rows(data.rows() as u64, quiet);
    bar.set_message("evaluating");
    let evaluation = evaluate_with_progress(&model, &data, config, &mut |done| {
        bar.set_position(done as u64)
    });
    bar.finish_and_clear();
    let evaluation = evaluation?;
    let report = evaluation.report;
    let rate = report.rows as f64 / evaluation.seconds.max(1e-9);
    eprintln!(
        "evaluated {} rows in {:.3} s ({rate:.0} rows/s)",
        report.rows, evaluation.seconds
    );
    Ok(report)
}

/// What to evaluate among published assets, and how.
struct Plan {
    model: AssetId,
    model_version: Option<u64>,
    model_file: Option<String>,
    dataset: AssetId,
    dataset_version: Option<u64>,
    data_file: Option<String>,
    label: String,
    features: Option<Vec<String>>,
    task: Option<Task>,
    batch_size: usize,
    max_model_bytes: u64,
}

/// Fetches the two assets (access-checked, verified), runs the evaluation, and stores the report on the node.
/// Returns the report (with its subject) and its CID.
async fn evaluate_published(
    node: &NodeClient,
    signer: &SignerArgs,
    plan: &Plan,
    quiet: bool,
) -> anyhow::Result<(Report, Cid)> {
    let model = get::resolve(node, plan.model, plan.model_version).await?;
    let dataset = get::resolve(node, plan.dataset, plan.dataset_version).await?;
    if model.detail.summary.kind != AssetKind::Model {
        anyhow::bail!(
            "asset {} is a {}, not a model: give the model first, `scal3ml eval MODEL --on DATASET`",
            plan.model,
            model.detail.summary.kind
        );
    }
    if dataset.detail.summary.kind != AssetKind::Dataset {
        anyhow::bail!(
            "asset {} (after --on) is a {}, not a dataset",
            plan.dataset,
            dataset.detail.summary.kind
        );
    }
    let model_file = pick(
        &model,
        plan.model_file.as_deref(),
        &["onnx"],
        "--model-file",
        &[],
    )?;
    // An NPY dataset's labels are a file of it too (named by --label): never a candidate for the features.
    let label_path = plan.label.trim_start_matches("./");
    let data_file = pick(
        &dataset,
        plan.data_file.as_deref(),
        &["csv", "npy"],
        "--data-file",
        &[label_path],
    )?;
    let npy = is_npy(Path::new(&data_file));
    let labels_file = if npy {
        let wanted = label_path;
        if !dataset.files.iter().any(|f| f.path == wanted) {
            anyhow::bail!(
                "--label {wanted:?}: an NPY dataset's labels are a file of the asset, and asset {} has no such file (it has: {})",
                plan.dataset,
                file_list(&dataset)
            );
        }
        Some(wanted.to_string())
    } else {
        None
    };
    let scratch = tempfile::tempdir().context("creating a temporary directory")?;
    if !quiet {
        eprintln!(
            "fetching model {} v{} ({model_file}) and dataset {} v{} ({data_file})",
            plan.model, model.version.index, plan.dataset, dataset.version.index
        );
    }
    // The dataset first: it is the asset a license usually guards, so a refusal comes before any download.
    let dataset_key = get::content_key(node, &dataset, signer).await?;
    let model_key = get::content_key(node, &model, signer).await?;
    let mut wanted = vec![data_file.clone()];
    wanted.extend(labels_file.clone());
    let data_paths = fetch(
        &dataset,
        dataset_key.as_ref(),
        &wanted,
        &scratch.path().join("dataset"),
        quiet,
    )
    .await?;
    let model_paths = fetch(
        &model,
        model_key.as_ref(),
        std::slice::from_ref(&model_file),
        &scratch.path().join("model"),
        quiet,
    )
    .await?;
    let config = config(plan.batch_size, plan.max_model_bytes, plan.task);
    let label = match labels_file {
        Some(_) => data_paths[1].to_string_lossy().into_owned(),
        None => plan.label.clone(),
    };
    let mut report = run_files(
        &model_paths[0],
        &data_paths[0],
        &label,
        plan.features.as_deref(),
        &config,
        quiet,
    )?;
    if npy {
        // The report names files, never local paths.
        report.label = labels_file.clone().unwrap_or_default();
    }
    report.subject = Some(Subject {
        client: format!("scal3ml {}", env!("CARGO_PKG_VERSION")),
        model: AssetFile {
            asset: plan.model.0,
            version: model.version.index,
            content_cid: model.version.content_cid.clone(),
            file: model_file,
        },
        dataset: AssetFile {
            asset: plan.dataset.0,
            version: dataset.version.index,
            content_cid: dataset.version.content_cid.clone(),
            file: data_file,
        },
        labels_file,
    });
    // The node takes uploads only signed; without an account the report's CID is computed but not stored
    // (nothing would name it: only an attestation or a review does).
    let cid = store_report(node, node.signer(signer).ok().as_ref(), &report).await?;
    Ok((report, cid))
}

/// The file of `asset` to use: `chosen` if given (it must be in the card), else the only one with one of
/// `extensions` that is not in `except`.
fn pick(
    asset: &Resolved,
    chosen: Option<&str>,
    extensions: &[&str],
    flag: &str,
    except: &[&str],
) -> anyhow::Result<String> {
    if let Some(path) = chosen {
        let path = path.trim_start_matches("./");
        if asset.files.iter().any(|f| f.path == path) {
            return Ok(path.to_string());
        }
        anyhow::bail!(
            "{flag} {path:?}: asset {} has no such file; it has: {}",
            asset.asset,
            file_list(asset)
        );
    }
    let found: Vec<&str> = asset
        .files
        .iter()
        .map(|f| f.path.as_str())
        .filter(|p| !except.contains(p))
        .filter(|p| {
            Path::new(p)
                .extension()
                .and_then(|e| e.to_str())
                .is_some_and(|e| extensions.iter().any(|x| e.eq_ignore_ascii_case(x)))
        })
        .collect();
    let kinds = extensions
        .iter()
        .map(|e| format!(".{e}"))
        .collect::<Vec<_>>()
        .join(" or ");
    match found.as_slice() {
        [one] => Ok(one.to_string()),
        [] => anyhow::bail!(
            "asset {} has no {kinds} file (it has: {}); name the file to use with {flag} PATH",
            asset.asset,
            file_list(asset)
        ),
        many => anyhow::bail!(
            "asset {} has {} {kinds} files ({}): choose one with {flag} PATH",
            asset.asset,
            many.len(),
            many.join(", ")
        ),
    }
}

fn file_list(asset: &Resolved) -> String {
    const SHOWN: usize = 20;
    let mut names: Vec<&str> = asset
        .files
        .iter()
        .take(SHOWN)
        .map(|f| f.path.as_str())
        .collect();
    if asset.files.len() > SHOWN {
        names.push("...");
    }
    names.join(", ")
}

/// Downloads the files `paths` of `asset` under `dir`; returns their local paths, in order.
async fn fetch(
    asset: &Resolved,
    key: Option<&scal3ml_store::crypt::FileKey>,
    paths: &[String],
    dir: &Path,
    quiet: bool,
) -> anyhow::Result<Vec<PathBuf>> {
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    let total = asset
        .files
        .iter()
        .filter(|f| asset.single() || paths.contains(&f.path))
        .map(|f| f.size)
        .sum();
    let bar = crate::progress::bytes(total, quiet);
    let mut progress = |p: content::Progress<'_>| {
        bar.set_message(p.path.to_string());
        bar.set_position(p.total_done);
    };
    let done = download(asset, key, paths, dir, &mut progress).await;
    bar.finish_and_clear();
    done
}

/// [`fetch`]'s downloads.
async fn download(
    asset: &Resolved,
    key: Option<&scal3ml_store::crypt::FileKey>,
    paths: &[String],
    dir: &Path,
    progress: &mut (dyn FnMut(content::Progress<'_>) + Send),
) -> anyhow::Result<Vec<PathBuf>> {
    if asset.single() {
        // The content root is the file itself: it is written as the file `dest`.
        let file = &asset.files[0];
        let name = file.path.rsplit('/').next().unwrap_or("data");
        let dest = dir.join(name);
        content::download(
            &asset.source,
            &asset.root,
            key,
            std::slice::from_ref(file),
            &dest,
            progress,
        )
        .await
        .with_context(|| format!("downloading asset {}", asset.asset))?;
        return Ok(vec![dest]);
    }
    let files: Vec<content::FileEntry> = paths
        .iter()
        .map(|p| {
            asset
                .files
                .iter()
                .find(|f| &f.path == p)
                .cloned()
                .with_context(|| format!("asset {} has no file {p}", asset.asset))
        })
        .collect::<anyhow::Result<_>>()?;
    content::download(&asset.source, &asset.root, key, &files, dir, progress)
        .await
        .with_context(|| format!("downloading asset {}", asset.asset))?;
    Ok(paths.iter().map(|p| dir.join(p)).collect())
}

/// Stores the report's canonical JSON on the node (a one-file UnixFS, as `ipfs add --cid-version 1` makes
/// it: a single raw block for a report under 256 KiB), an upload signed by `signer`, and returns its CID;
/// without a signer, only the CID.
async fn store_report(
    node: &NodeClient,
    signer: Option<&alloy::signers::local::PrivateKeySigner>,
    report: &Report,
) -> anyhow::Result<Cid> {
    let store = MemStore::new();
    let imported = scal3ml_store::add_reader(
        &store,
        std::io::Cursor::new(report.to_canonical_json()),
        content::import_options(),
    )
    .await?;
    let Some(signer) = signer else {
        return Ok(imported.cid);
    };
    let scratch = tempfile::tempdir().context("creating a temporary directory")?;
    let car = scratch.path().join("report.car");
    {
        let file = std::fs::File::create(&car)?;
        scal3ml_store::car::export_car(&store, &[imported.cid], std::io::BufWriter::new(file))
            .await?;
    }
    node.upload_car(&car, signer)
        .await
        .context("storing the report on the node")?;
    Ok(imported.cid)
}

/// One attestation sent by `eval --attest`.
#[derive(Debug, Serialize)]
struct Attested {
    id: AttestationId,
    metric: String,
    /// The value as a decimal (`0.966667`).
    value: String,
    /// The value as recorded: an integer with `decimals` decimals.
    raw_value: String,
    decimals: u8,
    tx: TxHash,
    block: u64,
}

async fn run_published(args: EvalArgs) -> anyhow::Result<()> {
    let node = NodeClient::connect(&args.node).await?;
    let (Some(model), Some(dataset), Some(label)) = (args.model_asset, args.on, args.label.clone())
    else {
        anyhow::bail!("say what to evaluate: MODEL_ASSET --on DATASET_ASSET --label COLUMN");
    };
    // An attestation is sent from the signer's account: know it before the work.
    let attester = if args.attest {
        Some(node.signer(&args.signer).context(
            "--attest sends a transaction: say which account attests (--dev-account N, --keystore NAME or SCAL3ML_PRIVATE_KEY)",
        )?)
    } else {
        None
    };
    for m in &args.metric {
        if !["accuracy", "f1_macro", "log_loss", "rmse", "mae", "r2"].contains(&m.as_str()) {
            anyhow::bail!(
                "--metric {m:?} is not a figure of the report: accuracy, f1_macro, log_loss (classification); rmse, mae, r2 (regression)"
            );
        }
    }
    let plan = Plan {
        model: AssetId(model),
        model_version: args.model_version,
        model_file: args.model_file.clone(),
        dataset: AssetId(dataset),
        dataset_version: args.dataset_version,
        data_file: args.data_file.clone(),
        label,
        features: args.features.clone(),
        task: args.task,
        batch_size: args.batch_size,
        max_model_bytes: args.max_model_bytes,
    };
    let (report, cid) = evaluate_published(&node, &args.signer, &plan, args.json).await?;
    let mut attested = Vec::new();
    if let Some(signer) = &attester {
        let subject = report.subject.as_ref().expect("set by evaluate_published");
        let metrics: Vec<String> = if args.metric.is_empty() {
            vec![report.default_metric().to_string()]
        } else {
            args.metric.clone()
        };
        let mut requests = Vec::new();
        for m in &metrics {
            let value = report.metric(m).with_context(|| {
                format!(
                    "this report has no {m}: a {} report has {}{}",
                    match report.metrics {
                        Metrics::Classification(_) => "classification",
                        Metrics::Regression(_) => "regression",
                    },
                    report.metric_names().join(", "),
                    if m == "log_loss" {
                        " (log_loss needs a model that outputs probabilities)"
                    } else {
                        ""
                    }
                )
            })?;
            let fixed = to_fixed(value, ATTEST_DECIMALS).with_context(|| {
                format!("{m} = {value} cannot be attested as a fixed-point number")
            })?;
            requests.push((m.clone(), fixed));
        }
        let market = node.market(Some(signer)).await?;
        let report_cid = cid;
        for (metric, fixed) in requests {
            let (id, tx) = market
                .attest(&AttestRequest {
                    model: (plan.model, subject.model.version),
                    dataset: (plan.dataset, subject.dataset.version),
                    metric: metric.clone(),
                    value: fixed,
                    decimals: ATTEST_DECIMALS,
                    report_cid,
                })
                .await?;
            attested.push(Attested {
                id,
                value: fixed_text(fixed, ATTEST_DECIMALS),
                raw_value: fixed.to_string(),
                metric,
                decimals: ATTEST_DECIMALS,
                tx: tx.hash,
                block: tx.block,
            });
        }
        if let Some(last) = attested.last() {
            wait_for(&node, last.id, None, args.json).await;
        }
    }
    #[derive(Serialize)]
    struct Out<'a> {
        report_cid: String,
        report: &'a Report,
        attestations: &'a [Attested],
    }
    let out = Out {
        report_cid: cid.to_string(),
        report: &report,
        attestations: &attested,
    };
    emit(args.json, &out, || {
        print_report(&report);
        println!();
        println!("report    {cid} (stored on {})", node.api.base());
        for a in &attested {
            println!(
                "attested  #{} {} = {} (tx {}, block {})",
                a.id, a.metric, a.value, a.tx, a.block
            );
        }
        if attested.is_empty() {
            println!(
                "Record it on-chain with --attest; anyone can then re-run it with `scal3ml eval verify ID`."
            );
        } else {
            println!(
                "See the leaderboard with `scal3ml leaderboard {}`.",
                plan.dataset
            );
        }
    });
    Ok(())
}

/// Waits (up to 10 s) until the node's catalog has attestation `id` (and, with `reviewer`, that account's
/// review of it), so that the leaderboard shows what was just sent.
async fn wait_for(node: &NodeClient, id: AttestationId, reviewer: Option<Address>, quiet: bool) {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while std::time::Instant::now() < deadline {
        if let Ok(a) = node.api.attestation(id).await
            && reviewer.is_none_or(|r| a.reviews.iter().any(|x| x.reviewer == r))
        {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    if !quiet {
        eprintln!(
            "warning: the node has not indexed it yet; it is on chain and will appear shortly"
        );
    }
}

async fn verify(args: VerifyArgs) -> anyhow::Result<()> {
    let node = NodeClient::connect(&args.node).await?;
    let signer = node.signer(&args.signer).context(
        "verifying sends an endorsement or a dispute: say which account reviews (--dev-account N, --keystore NAME or SCAL3ML_PRIVATE_KEY)",
    )?;
    let id = args.attestation;
    let att = node.api.attestation(id).await?;
    let me = signer.address();
    if att.attester == me {
        anyhow::bail!(
            "attestation {id} is your own ({me} attested it): the contract lets only other accounts endorse or dispute it; verify it from another account"
        );
    }
    if let Some(r) = att.reviews.iter().find(|r| r.reviewer == me) {
        anyhow::bail!(
            "{me} already {} attestation {id} (report {}): each account reviews an attestation once",
            if r.agrees { "endorsed" } else { "disputed" },
            r.report_cid
        );
    }
    let claim = Claim::parse(&att.value, att.decimals, &args.tolerance)
        .map_err(|e| anyhow::anyhow!("attestation {id}: {e}; nothing was sent"))?;
    let report_cid: Cid = att
        .report_cid
        .parse()
        .with_context(|| format!("attestation {id} names no valid report CID"))?;
    let source = scal3ml_store::gateway::GatewayClient::new(node.api.base()).with_http(&node.http);
    let bytes = export::cat_to_vec(
        &source,
        &report_cid,
        scal3ml_primitives::card::MAX_CARD_BYTES,
    )
    .await
    .with_context(|| {
        format!(
            "fetching the report {report_cid} of attestation {id} from {}",
            node.api.base()
        )
    })?;
    let theirs: Report = serde_json::from_slice(&bytes).with_context(|| {
        format!("the report {report_cid} of attestation {id} is not an evaluation report written by scal3ml eval")
    })?;
    let subject = theirs.subject.clone().with_context(|| {
        format!("the report {report_cid} names no published files (a report of local files), so it cannot be re-run")
    })?;
    if subject.model.asset != att.model_asset
        || subject.model.version != att.model_version
        || subject.dataset.asset != att.dataset_asset
        || subject.dataset.version != att.dataset_version
    {
        eprintln!(
            "note: the report names model {} v{} on dataset {} v{}, the attestation model {} v{} on dataset {} v{}: running what the attestation names",
            subject.model.asset,
            subject.model.version,
            subject.dataset.asset,
            subject.dataset.version,
            att.model_asset,
            att.model_version,
            att.dataset_asset,
            att.dataset_version
        );
    }
    let npy = subject.labels_file.is_some();
    let plan = Plan {
        model: AssetId(att.model_asset),
        model_version: Some(att.model_version),
        model_file: Some(subject.model.file.clone()),
        dataset: AssetId(att.dataset_asset),
        dataset_version: Some(att.dataset_version),
        data_file: Some(subject.dataset.file.clone()),
        label: subject.labels_file.clone().unwrap_or(theirs.label.clone()),
        features: (!npy).then(|| theirs.features.clone()),
        task: Some(theirs.task),
        batch_size: theirs.batch_size,
        max_model_bytes: args.max_model_bytes,
    };
    if !args.json {
        eprintln!(
            "re-running attestation {id}: {} = {} on model {} v{}, dataset {} v{}",
            att.metric,
            claim.text(),
            att.model_asset,
            att.model_version,
            att.dataset_asset,
            att.dataset_version
        );
    }
    let (ours, cid) = evaluate_published(&node, &args.signer, &plan, args.json).await?;
    let value = ours.metric(&att.metric).with_context(|| {
        format!(
            "attestation {id} is of {:?}, which this re-run does not compute (it has {}); nothing was sent",
            att.metric,
            ours.metric_names().join(", ")
        )
    })?;
    let verdict = claim.judge(&att.metric, value)?;
    let market = node.market(Some(&signer)).await?;
    let our_cid = cid;
    let tx = if verdict.agrees {
        market.endorse(id, &our_cid).await?
    } else {
        market.dispute(id, &our_cid).await?
    };
    wait_for(&node, id, Some(me), args.json).await;
    #[derive(Serialize)]
    struct Out {
        attestation: AttestationId,
        metric: String,
        claimed: String,
        got: String,
        decimals: u8,
        tolerance: String,
        action: &'static str,
        report_cid: String,
        predictions_match: bool,
        tx: TxHash,
        block: u64,
    }
    let out = Out {
        attestation: id,
        metric: att.metric.clone(),
        claimed: fixed_text(verdict.claimed, verdict.decimals),
        got: fixed_text(verdict.got, verdict.decimals),
        decimals: verdict.decimals,
        tolerance: fixed_text(verdict.tolerance, verdict.decimals),
        action: verdict.action(),
        report_cid: cid.to_string(),
        predictions_match: ours.predictions_sha256 == theirs.predictions_sha256,
        tx: tx.hash,
        block: tx.block,
    };
    emit(args.json, &out, || {
        println!(
            "attestation #{id}: {} on model {} v{}, dataset {} v{}",
            out.metric, att.model_asset, att.model_version, att.dataset_asset, att.dataset_version
        );
        println!("  claimed   {}", out.claimed);
        println!(
            "  got       {}{}",
            out.got,
            if out.predictions_match {
                " (the same predictions as the attester's report)"
            } else {
                " (predictions differ from the attester's report)"
            }
        );
        println!("  our report {}", out.report_cid);
        if verdict.agrees {
            println!(
                "Endorsed: the values agree at {} decimals (tx {}, block {}).",
                out.decimals, out.tx, out.block
            );
        } else {
            println!(
                "Disputed: {} differs from the claimed {} by more than {} (tx {}, block {}).",
                out.got, out.claimed, out.tolerance, out.tx, out.block
            );
        }
    });
    Ok(())
}

fn print_report(report: &Report) {
    println!(
        "model     {} (sha256 {})",
        report.model.name, report.model.sha256
    );
    println!(
        "data      {} (sha256 {})",
        report.data.name, report.data.sha256
    );
    if let Some(labels) = &report.labels {
        println!("labels    {} (sha256 {})", labels.name, labels.sha256);
    }
    println!("rows      {}", report.rows);
    match &report.metrics {
        Metrics::Classification(m) => {
            println!("task      classification, {} classes", m.classes.len());
            println!("accuracy  {}", m.accuracy);
            println!("f1_macro  {}", m.f1_macro);
            match m.log_loss {
                Some(l) => println!("log_loss  {l}"),
                None => println!("log_loss  - (the model gives no probabilities)"),
            }
            println!();
            println!(
                "{:>8} {:>10} {:>10} {:>10} {:>8}",
                "class", "precision", "recall", "f1", "support"
            );
            for c in &m.per_class {
                println!(
                    "{:>8} {:>10.4} {:>10.4} {:>10.4} {:>8}",
                    c.class, c.precision, c.recall, c.f1, c.support
                );
            }
            println!();
            println!("confusion matrix (rows: true class, columns: predicted)");
            let head: Vec<String> = m.classes.iter().map(|c| format!("{c:>6}")).collect();
            println!("{:>8} {}", "", head.join(""));
            for (c, row) in m.classes.iter().zip(&m.confusion_matrix) {
                let cells: Vec<String> = row.iter().map(|v| format!("{v:>6}")).collect();
                println!("{c:>8} {}", cells.join(""));
            }
        }
        Metrics::Regression(m) => {
            println!("task      regression");
            println!("rmse      {}", m.rmse);
            println!("mae       {}", m.mae);
            println!("r2        {}", m.r2);
        }
    }
    println!("predictions sha256 {}", report.predictions_sha256);
}
