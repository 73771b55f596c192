//! Evaluations of published assets on `scal3ml dev`, through the built binary: a priced dataset (the iris test
//! split of crates/eval/fixtures) and a free model (its skl2onnx SVC). A stranger without a license is refused;
//! evaluator 1 buys the dataset, evaluates and attests; evaluator 2 buys, re-runs and endorses; evaluator 3
//! attests a wrong number (a transaction sent with alloy, as any client could) and evaluator 2's re-run
//! disputes it; the leaderboard shows both with their counts, in the CLI, the API and on the asset page.

use crate::common::{DevNode, dev_key, fails, json, run};
use alloy::{
    network::EthereumWallet,
    primitives::{Address, Bytes, I256, U256},
    providers::ProviderBuilder,
};
use scal3ml_contracts::Attestations;
use serde_json::Value;
use std::{path::PathBuf, time::Duration};

const PUBLISHER: usize = 0;
const EVALUATOR_1: usize = 1;
const EVALUATOR_2: usize = 2;
const EVALUATOR_3: usize = 3;
const STRANGER: usize = 5;

fn fixture(name: &str) -> String {
    let p = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../eval/fixtures")
        .join(name);
    p.to_str().unwrap().to_string()
}

/// Runs a CLI command as dev account `account` and returns its JSON.
fn as_account(node: &str, args: &[&str], account: usize) -> Value {
    let n = account.to_string();
    let mut all = args.to_vec();
    all.extend(["--dev-account", n.as_str()]);
    json(node, &all)
}

async fn get_json(url: &str) -> Value {
    let response = reqwest::get(url).await.unwrap();
    assert!(
        response.status().is_success(),
        "{url}: {}",
        response.status()
    );
    response.json().await.unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn evaluators_attest_endorse_and_dispute_and_the_leaderboard_counts_them() {
    let work = tempfile::tempdir().unwrap();
    let node = DevNode::start(&work.path().join("node"));
    let url = node.server.url.clone();
    let node_url = url.as_str();

    // The dataset is sold; the model is free.
    let csv = work.path().join("iris-test.csv");
    std::fs::copy(fixture("iris_svc.csv"), &csv).unwrap();
    let dataset = as_account(
        node_url,
        &[
            "publish",
            csv.to_str().unwrap(),
            "--kind",
            "dataset",
            "--name",
            "Iris test split",
            "--license",
            "CC-BY-4.0",
            "--description",
            "Thirty irises held out for testing",
            "--price",
            "0.01",
        ],
        PUBLISHER,
    );
    assert_eq!(dataset["encrypted"], true);
    let dataset = dataset["asset"].as_u64().unwrap();
    let model = as_account(
        node_url,
        &[
            "publish",
            &fixture("iris_svc.onnx"),
            "--kind",
            "model",
            "--name",
            "Iris SVC",
            "--license",
            "MIT",
            "--description",
            "An RBF support vector classifier of irises",
        ],
        PUBLISHER,
    )["asset"]
        .as_u64()
        .unwrap();
    let (d, m) = (dataset.to_string(), model.to_string());

    // The model comes first, and must be one.
    let swapped = fails(node_url, &["eval", &d, "--on", &m, "--label", "label"]);
    assert!(swapped.contains("not a model"), "{swapped}");

    // Without a license to the dataset, nothing is evaluated.
    let refused = fails(
        node_url,
        &[
            "eval",
            &m,
            "--on",
            &d,
            "--label",
            "label",
            "--dev-account",
            &STRANGER.to_string(),
        ],
    );
    assert!(
        refused.contains(&format!("scal3ml buy {dataset}")),
        "{refused}"
    );

    // Evaluator 1 buys, evaluates and attests the accuracy.
    as_account(node_url, &["buy", &d], EVALUATOR_1);
    let first = as_account(
        node_url,
        &["eval", &m, "--on", &d, "--label", "label", "--attest"],
        EVALUATOR_1,
    );
    let sklearn: Value =
        serde_json::from_str(&std::fs::read_to_string(fixture("iris_svc.json")).unwrap()).unwrap();
    let accuracy = sklearn["sklearn"]["accuracy"].as_f64().unwrap();
    assert_eq!(
        first["report"]["metrics"]["classification"]["accuracy"].as_f64(),
        Some(accuracy)
    );
    let expected = scal3ml_eval::fixed_text(scal3ml_eval::to_fixed(accuracy, 6).unwrap(), 6);
    let attestations = first["attestations"].as_array().unwrap();
    assert_eq!(attestations.len(), 1, "{first}");
    assert_eq!(attestations[0]["metric"], "accuracy");
    assert_eq!(attestations[0]["value"], expected.as_str());
    assert_eq!(attestations[0]["decimals"], 6);
    let good = attestations[0]["id"].as_u64().unwrap();
    // The report names what was run, and the node serves it.
    let subject = &first["report"]["subject"];
    let detail = get_json(&format!("{url}/api/assets/{dataset}")).await;
    assert_eq!(subject["dataset"]["asset"], dataset);
    assert_eq!(subject["dataset"]["version"], 0);
    assert_eq!(subject["dataset"]["file"], "iris-test.csv");
    assert_eq!(
        subject["dataset"]["content_cid"],
        detail["versions"][0]["content_cid"]
    );
    assert_eq!(subject["model"]["asset"], model);
    assert_eq!(subject["model"]["file"], "iris_svc.onnx");
    assert!(
        subject["client"].as_str().unwrap().starts_with("scal3ml "),
        "{subject}"
    );
    assert_eq!(first["report"]["label"], "label");
    let report_cid = first["report_cid"].as_str().unwrap().to_string();
    let stored = get_json(&format!("{url}/ipfs/{report_cid}?format=raw")).await;
    assert_eq!(
        stored, first["report"],
        "the stored report is the one printed"
    );

    // Its attester cannot review it.
    let own = fails(
        node_url,
        &[
            "eval",
            "verify",
            &good.to_string(),
            "--dev-account",
            &EVALUATOR_1.to_string(),
        ],
    );
    assert!(own.contains("your own"), "{own}");

    // Evaluator 2 buys, re-runs it and endorses.
    as_account(node_url, &["buy", &d], EVALUATOR_2);
    let endorsed = as_account(
        node_url,
        &["eval", "verify", &good.to_string()],
        EVALUATOR_2,
    );
    assert_eq!(endorsed["action"], "endorse", "{endorsed}");
    assert_eq!(endorsed["claimed"], expected.as_str());
    assert_eq!(endorsed["got"], expected.as_str());
    assert_eq!(endorsed["predictions_match"], true);
    // Same files, same settings, canonical JSON: the re-run's report is byte for byte the attester's.
    assert_eq!(endorsed["report_cid"], report_cid.as_str());

    // Evaluator 3 attests a wrong number, naming evaluator 1's report.
    let network = get_json(&format!("{url}/api/network")).await;
    let provider = ProviderBuilder::new()
        .wallet(EthereumWallet::from(dev_key(EVALUATOR_3)))
        .connect_http(network["rpc_url"].as_str().unwrap().parse().unwrap());
    let contract = Attestations::new(
        network["attestations"].as_str().unwrap().parse().unwrap(),
        &provider,
    );
    let cid_bytes = report_cid.parse::<scal3ml_store::Cid>().unwrap().to_bytes();
    contract
        .attest(
            U256::from(model),
            U256::ZERO,
            U256::from(dataset),
            U256::ZERO,
            "accuracy".into(),
            I256::try_from(500_000i64).unwrap(),
            6,
            Bytes::from(cid_bytes),
        )
        .send()
        .await
        .unwrap()
        .get_receipt()
        .await
        .unwrap();
    let mut wrong = None;
    for _ in 0..200 {
        let all = get_json(&format!("{url}/api/assets/{dataset}/attestations")).await;
        if let Some(a) = all
            .as_array()
            .unwrap()
            .iter()
            .find(|a| a["value"] == "500000")
        {
            wrong = a["id"].as_u64();
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let wrong = wrong.expect("the wrong attestation is indexed within 10 s");

    // Evaluator 2 re-runs it and disputes.
    let disputed = as_account(
        node_url,
        &["eval", "verify", &wrong.to_string()],
        EVALUATOR_2,
    );
    assert_eq!(disputed["action"], "dispute", "{disputed}");
    assert_eq!(disputed["claimed"], "0.500000");
    assert_eq!(disputed["got"], expected.as_str());

    // The leaderboard: the true value first with one endorsement, the wrong one below with one dispute.
    let boards = json(node_url, &["leaderboard", &d]);
    let boards = boards.as_array().unwrap().clone();
    assert_eq!(boards.len(), 1, "{boards:?}");
    assert_eq!(boards[0]["metric"], "accuracy");
    assert_eq!(boards[0]["direction"], "higher_is_better");
    let rows = boards[0]["rows"].as_array().unwrap();
    assert_eq!(rows.len(), 2);
    assert_eq!(rows[0]["attestation"], good);
    assert_eq!(rows[0]["value"], expected.as_str());
    assert_eq!(rows[0]["rank"], 1);
    assert_eq!(rows[0]["model_name"], "Iris SVC");
    assert_eq!(
        (
            rows[0]["endorsements"].as_u64(),
            rows[0]["disputes"].as_u64()
        ),
        (Some(1), Some(0))
    );
    assert_eq!(rows[1]["attestation"], wrong);
    assert_eq!(rows[1]["value"], "0.500000");
    assert_eq!(
        rows[1]["attester"]
            .as_str()
            .unwrap()
            .parse::<Address>()
            .unwrap(),
        dev_key(EVALUATOR_3).address()
    );
    assert_eq!(
        (
            rows[1]["endorsements"].as_u64(),
            rows[1]["disputes"].as_u64()
        ),
        (Some(0), Some(1))
    );
    let api = get_json(&format!("{url}/api/assets/{dataset}/leaderboard")).await;
    assert_eq!(
        api,
        Value::Array(boards.clone()),
        "the CLI prints what the API answers"
    );
    let one = get_json(&format!(
        "{url}/api/assets/{dataset}/leaderboard?metric=accuracy"
    ))
    .await;
    assert_eq!(one, api);
    let reviewed = get_json(&format!("{url}/api/attestations/{wrong}")).await;
    assert_eq!(reviewed["reviews"][0]["agrees"], false);
    assert_eq!(
        reviewed["reviews"][0]["reviewer"]
            .as_str()
            .unwrap()
            .parse::<Address>()
            .unwrap(),
        dev_key(EVALUATOR_2).address()
    );

    // For people: the table marks the disputed row; the dataset's page shows the board.
    let table = run(node_url, &["leaderboard", &d]);
    let table = String::from_utf8_lossy(&table.stdout);
    let lines: Vec<&str> = table.lines().collect();
    assert!(
        lines
            .iter()
            .any(|l| l.contains(&expected) && !l.contains("DISPUTED")),
        "{table}"
    );
    assert!(
        lines
            .iter()
            .any(|l| l.contains("0.500000") && l.contains("DISPUTED")),
        "{table}"
    );
    let page = reqwest::get(format!("{url}/assets/{dataset}"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        page.contains("<h2 id=\"board-h\">Leaderboard</h2>"),
        "{page}"
    );
    assert!(page.contains(&format!("<a href=\"/assets/{model}\">Iris SVC</a>")));
    assert!(page.contains(&format!("/ipfs/{report_cid}?format=raw")));
    assert!(page.contains("class=\"disputed\""));
    assert!(page.contains("badge-warn\">disputed</strong>"));

    // A model has no leaderboard.
    let not = fails(node_url, &["leaderboard", &m]);
    assert!(not.contains("leaderboards are per dataset"), "{not}");
}

/// A model asset that is a folder of two ONNX files (the PyTorch CNN and the scikit-learn MLP of
/// crates/eval/fixtures), evaluated on a sold NPY dataset (features and labels as two files of one folder): the
/// evaluator chooses the model file, the labels file is never taken for the features, the figures are
/// sklearn's, and a second evaluator's re-run endorses it.
#[tokio::test(flavor = "multi_thread")]
async fn a_model_folder_of_two_onnx_files_on_an_npy_dataset() {
    let work = tempfile::tempdir().unwrap();
    let node = DevNode::start(&work.path().join("node"));
    let url = node.server.url.clone();
    let node_url = url.as_str();
    let data_dir = work.path().join("digits");
    std::fs::create_dir(&data_dir).unwrap();
    std::fs::copy(fixture("digits_cnn.x.npy"), data_dir.join("x.npy")).unwrap();
    std::fs::copy(fixture("digits_cnn.y.npy"), data_dir.join("y.npy")).unwrap();
    let models = work.path().join("models");
    std::fs::create_dir(&models).unwrap();
    std::fs::copy(fixture("digits_cnn.onnx"), models.join("cnn.onnx")).unwrap();
    std::fs::copy(fixture("digits_mlp.onnx"), models.join("mlp.onnx")).unwrap();
    let publish = |path: &std::path::Path, kind: &str, name: &str, price: &[&str]| {
        let mut args = vec![
            "publish",
            path.to_str().unwrap(),
            "--kind",
            kind,
            "--name",
            name,
            "--license",
            "MIT",
            "--description",
            "Handwritten digits, 8x8",
        ];
        args.extend(price);
        as_account(node_url, &args, PUBLISHER)["asset"]
            .as_u64()
            .unwrap()
            .to_string()
    };
    let d = publish(
        &data_dir,
        "dataset",
        "Digits test split (NPY)",
        &["--price", "0.01"],
    );
    let m = publish(&models, "model", "Digits networks", &[]);
    as_account(node_url, &["buy", &d], EVALUATOR_1);

    let eval = ["eval", m.as_str(), "--on", d.as_str(), "--label", "y.npy"];
    let evaluator = EVALUATOR_1.to_string();
    let ambiguous = fails(
        node_url,
        &[&eval[..], &["--dev-account", &evaluator]].concat(),
    );
    assert!(
        ambiguous.contains("2 .onnx files") && ambiguous.contains("--model-file"),
        "{ambiguous}"
    );

    let first = as_account(
        node_url,
        &[&eval[..], &["--model-file", "cnn.onnx", "--attest"]].concat(),
        EVALUATOR_1,
    );
    let reference: Value =
        serde_json::from_str(&std::fs::read_to_string(fixture("digits_cnn.json")).unwrap())
            .unwrap();
    let figures = &first["report"]["metrics"]["classification"];
    assert_eq!(
        figures["accuracy"].as_f64(),
        reference["sklearn"]["accuracy"].as_f64(),
        "{first}"
    );
    assert_eq!(
        figures["confusion_matrix"], reference["sklearn"]["confusion_matrix"],
        "{first}"
    );
    let subject = &first["report"]["subject"];
    assert_eq!(subject["model"]["file"], "cnn.onnx");
    assert_eq!(
        subject["dataset"]["file"], "x.npy",
        "the labels file is not the features"
    );
    assert_eq!(subject["labels_file"], "y.npy");
    assert_eq!(first["report"]["label"], "y.npy");
    let attestation = first["attestations"][0]["id"].as_u64().unwrap().to_string();

    as_account(node_url, &["buy", &d], EVALUATOR_2);
    let endorsed = as_account(node_url, &["eval", "verify", &attestation], EVALUATOR_2);
    assert_eq!(endorsed["action"], "endorse", "{endorsed}");
    assert_eq!(endorsed["predictions_match"], true);
    assert_eq!(endorsed["report_cid"], first["report_cid"]);
}
