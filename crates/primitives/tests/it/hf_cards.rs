//! Hugging Face README fixtures mapped to cards, field by field.

use scal3ml_primitives::{AssetKind, Card, card::Metric};
use serde_json::json;

fn readme(name: &str) -> String {
    std::fs::read_to_string(format!(
        "{}/tests/fixtures/{name}",
        env!("CARGO_MANIFEST_DIR")
    ))
    .unwrap()
}

fn metric(name: &str, value: f64, dataset: &str) -> Metric {
    Metric {
        name: name.into(),
        value,
        dataset: Some(dataset.into()),
    }
}

#[test]
fn bert_model_card_maps_field_by_field() {
    let (card, warnings) = Card::from_hf_readme(&readme("hf-model-bert-sst2.md"), None).unwrap();
    card.validate().unwrap();
    assert_eq!(
        card.kind,
        AssetKind::Model,
        "inferred from model-index / base_model / library_name"
    );
    assert_eq!(
        card.name, "bert-base-uncased-finetuned-sst2",
        "model-index name before the heading"
    );
    assert_eq!(card.license, "Apache-2.0");
    assert_eq!(
        card.tags,
        ["generated_from_trainer", "text-classification", "sentiment"]
    );
    assert_eq!(card.datasets, ["glue"]);
    assert_eq!(
        card.base_model.as_deref(),
        Some("google-bert/bert-base-uncased")
    );
    assert_eq!(card.framework.as_deref(), Some("transformers"));
    assert_eq!(card.task.as_deref(), Some("text-classification"));
    assert_eq!(
        card.metrics,
        [
            metric("accuracy", 0.9266, "glue/sst2"),
            metric("f1", 0.9281, "glue/sst2"),
            metric("loss", 0.2413, "glue/sst2"),
        ],
        "numbers and numeric strings are taken; `fast` is not a number"
    );
    assert!(
        warnings
            .iter()
            .any(|w| w.contains("speed") && w.contains("\"fast\"")),
        "{warnings:?}"
    );
    assert_eq!(warnings.len(), 1, "{warnings:?}");
    // The body is the description, from the first line after the front matter.
    assert!(
        card.description
            .starts_with("<!-- This card was written by hand"),
        "{}",
        card.description
    );
    assert!(card.description.ends_with("- PyTorch 2.4.0"));
    assert!(card.description.contains("# hyper-parameters"));
    // Nothing lost: unmapped keys are in extra; metric names (a card key of ours) under hf_metrics.
    assert_eq!(card.extra["language"], json!(["en"]));
    assert_eq!(card.extra["hf_metrics"], json!(["accuracy", "f1"]));
    assert_eq!(card.extra["widget"][1]["example_title"], "Negative");
    assert_eq!(
        card.extra["model-index"][0]["results"][0]["dataset"]["split"],
        "validation"
    );
    let keys: Vec<&str> = card.extra.keys().map(String::as_str).collect();
    assert_eq!(keys, ["hf_metrics", "language", "model-index", "widget"]);
}

#[test]
fn dataset_card_with_configs_maps_field_by_field() {
    let (card, warnings) = Card::from_hf_readme(&readme("hf-dataset-reviews.md"), None).unwrap();
    card.validate().unwrap();
    assert_eq!(
        card.kind,
        AssetKind::Dataset,
        "inferred from task_categories / size_categories"
    );
    assert_eq!(
        card.name, "Bilingual Product Reviews",
        "pretty_name before the heading"
    );
    assert_eq!(
        card.license, "CC-BY-4.0 AND ODC-By-1.0",
        "HF ids in SPDX case, all required"
    );
    assert_eq!(warnings.len(), 1, "{warnings:?}");
    assert!(warnings[0].contains("lists 2 licenses"), "{warnings:?}");
    assert_eq!(card.tags, ["reviews", "e-commerce"]);
    assert_eq!(
        card.task.as_deref(),
        Some("text-classification"),
        "the first task category"
    );
    assert_eq!(
        card.extra["task_categories"],
        json!(["text-classification", "text-generation"])
    );
    assert_eq!(card.extra["size_categories"], json!(["10K<n<100K"]));
    assert_eq!(card.extra["source_datasets"], json!(["original"]));
    assert_eq!(
        card.extra["configs"][0]["data_files"][1]["path"],
        "en/test-*.parquet"
    );
    assert_eq!(
        card.extra["dataset_info"]["splits"][0]["num_examples"],
        52000
    );
    assert_eq!(card.extra["task_ids"], json!(["sentiment-classification"]));
    assert!(card.framework.is_none() && card.base_model.is_none() && card.metrics.is_empty());
    assert!(
        card.description
            .starts_with("# Dataset Card for Bilingual Product Reviews")
    );
    assert!(card.description.contains("| stars | int8 | 1 to 5 |"));
}

#[test]
fn custom_license_becomes_its_link_and_several_base_models_are_kept() {
    let (card, warnings) =
        Card::from_hf_readme(&readme("hf-model-custom-license.md"), None).unwrap();
    card.validate().unwrap();
    assert_eq!(card.name, "Acme Speech Small");
    assert_eq!(
        card.license,
        "https://example.org/acme/research-license-v2.txt"
    );
    assert_eq!(card.extra["license_name"], "acme-research-license");
    assert_eq!(card.base_model.as_deref(), Some("acme/speech-base"));
    assert_eq!(
        card.extra["base_models"],
        json!(["acme/speech-base", "acme/speech-phonemes"])
    );
    assert_eq!(card.framework.as_deref(), Some("onnx"));
    assert_eq!(card.extra["inference"], json!(false));
    assert_eq!(warnings.len(), 1, "{warnings:?}");
}

#[test]
fn a_license_outside_spdx_without_a_link_fails_validation_on_license() {
    let text = "---\nlicense: openrail\nlibrary_name: diffusers\n---\n# Pixel painter\n";
    let (card, warnings) = Card::from_hf_readme(text, None).unwrap();
    assert_eq!(card.name, "Pixel painter", "the first heading");
    assert!(
        warnings.iter().any(|w| w.contains("license_link")),
        "{warnings:?}"
    );
    let err = card.validate().unwrap_err();
    assert_eq!(err.fields(), ["license"]);

    let relative = "---\nlicense: other\nlicense_link: LICENSE.md\nlibrary_name: x\n---\n# M\n";
    let (card, warnings) = Card::from_hf_readme(relative, None).unwrap();
    assert!(
        warnings
            .iter()
            .any(|w| w.contains("is a path in the repository")),
        "{warnings:?}"
    );
    assert_eq!(card.validate().unwrap_err().fields(), ["license"]);
}

#[test]
fn the_kind_given_wins_and_a_readme_without_front_matter_still_gives_name_and_text() {
    let (card, warnings) =
        Card::from_hf_readme("# Plain notes\n\nJust text.\n", Some(AssetKind::Dataset)).unwrap();
    assert_eq!(card.kind, AssetKind::Dataset);
    assert_eq!(card.name, "Plain notes");
    assert_eq!(card.description, "# Plain notes\n\nJust text.");
    assert!(warnings[0].contains("no YAML front matter"), "{warnings:?}");
    assert_eq!(card.validate().unwrap_err().fields(), ["license"]);

    let (card, _) =
        Card::from_hf_readme(&readme("hf-model-bert-sst2.md"), Some(AssetKind::Dataset)).unwrap();
    assert_eq!(card.kind, AssetKind::Dataset);
}

#[test]
fn a_mapped_card_survives_canonical_json() {
    for name in [
        "hf-model-bert-sst2.md",
        "hf-dataset-reviews.md",
        "hf-model-custom-license.md",
    ] {
        let (card, _) = Card::from_hf_readme(&readme(name), None).unwrap();
        let bytes = card.to_json_bytes();
        let back = Card::from_json(&bytes).unwrap();
        assert_eq!(back, card, "{name}");
        assert_eq!(back.to_json_bytes(), bytes, "{name}");
    }
}
