//! Card JSON fixtures: a valid model card and one with the mistakes people make.

use scal3ml_primitives::{AssetKind, Card};

fn fixture(name: &str) -> Vec<u8> {
    std::fs::read(format!(
        "{}/tests/fixtures/{name}",
        env!("CARGO_MANIFEST_DIR")
    ))
    .unwrap()
}

#[test]
fn the_model_card_fixture_is_valid_and_keeps_its_extra_key() {
    let card = Card::from_json(&fixture("card-model.json")).unwrap();
    card.validate().unwrap();
    assert_eq!(card.kind, AssetKind::Model);
    assert_eq!(card.files[0].cid().unwrap().to_string(), card.files[0].cid);
    assert_eq!(card.extra["language"], serde_json::json!(["en"]));
    let canonical = card.to_json_bytes();
    assert!(!canonical.contains(&b'\n'), "canonical bytes are compact");
    assert_eq!(
        Card::from_json(&canonical).unwrap().to_json_bytes(),
        canonical
    );
}

#[test]
fn the_invalid_fixture_names_each_wrong_field() {
    let card = Card::from_json(&fixture("card-invalid.json")).unwrap();
    let err = card.validate().unwrap_err();
    assert_eq!(
        err.fields(),
        ["license", "files[2].sha256", "parents[0].royalty_bps"]
    );
    let text = err.to_string();
    assert!(text.starts_with("the card has 3 invalid fields:"), "{text}");
    assert!(text.contains("did you mean \"Apache-2.0\"?"), "{text}");
    assert!(text.contains("got 8 characters"), "{text}");
}

mod canonical {
    use proptest::prelude::*;
    use scal3ml_primitives::{
        AssetId, AssetKind, Card,
        card::{CardFile, CardParent, Metric},
    };
    use serde_json::Value;

    fn json_value() -> impl Strategy<Value = Value> {
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::Bool),
            any::<i64>().prop_map(Value::from),
            any::<f64>()
                .prop_filter("finite", |f| f.is_finite())
                .prop_map(Value::from),
            "\\PC{0,12}".prop_map(Value::String),
        ];
        leaf.prop_recursive(3, 24, 4, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
                prop::collection::btree_map("[a-z_]{1,6}", inner, 0..4)
                    .prop_map(|m| Value::Object(m.into_iter().collect())),
            ]
        })
    }

    fn card() -> impl Strategy<Value = Card> {
        (
            (
                "\\PC{1,40}",
                any::<bool>(),
                "\\PC{0,200}",
                prop::collection::vec("[a-z0-9-]{1,12}", 0..5),
            ),
            prop::collection::vec(
                ("[a-z]{1,8}(/[a-z]{1,8}){0,2}", any::<u64>(), "[0-9a-f]{64}"),
                0..4,
            ),
            prop::collection::vec((1u64..1000, 1u32..=2500), 0..4),
            prop::collection::vec(
                (
                    "[a-z0-9]{1,10}",
                    any::<f64>().prop_filter("finite", |f| f.is_finite()),
                    proptest::option::of("[a-z]{1,8}"),
                ),
                0..4,
            ),
            prop::collection::btree_map("x_[a-z]{1,6}", json_value(), 0..4),
        )
            .prop_map(
                |((name, model, description, tags), files, parents, metrics, extra)| {
                    let kind = if model {
                        AssetKind::Model
                    } else {
                        AssetKind::Dataset
                    };
                    let mut card = Card::new(name, kind, "MIT");
                    card.description = description;
                    card.tags = tags;
                    card.files = files
                        .into_iter()
                        .map(|(path, size, sha256)| CardFile {
                            path,
                            size,
                            sha256,
                            cid: "bafkreifzjut3te2nhyekklss27nh3k72ysco7y32koao5eei66wof36n5e"
                                .into(),
                        })
                        .collect();
                    card.parents = parents
                        .into_iter()
                        .map(|(asset, royalty_bps)| CardParent {
                            asset: AssetId(asset),
                            royalty_bps,
                        })
                        .collect();
                    card.metrics = metrics
                        .into_iter()
                        .map(|(name, value, dataset)| Metric {
                            name,
                            value,
                            dataset,
                        })
                        .collect();
                    card.extra = extra;
                    card
                },
            )
    }

    proptest! {
        /// The same card gives the same bytes however it was read back: from its canonical bytes or from
        /// pretty JSON. A change of a single bit in a metric on the way through would change the card's CID.
        #[test]
        fn canonical_bytes_survive_every_round_trip(card in card()) {
            let bytes = card.to_json_bytes();
            let back = Card::from_json(&bytes).unwrap();
            prop_assert_eq!(&back, &card);
            prop_assert_eq!(back.to_json_bytes(), bytes.clone());
            let pretty = Card::from_json(card.to_json_pretty().as_bytes()).unwrap();
            prop_assert_eq!(pretty.to_json_bytes(), bytes);
        }
    }
}

/// regression_metric_value_drifts_on_round_trip: serde_json's default float parser read -1.1217635591791637e-263
/// back one unit in the last place off, so a card re-read from its own bytes got other bytes and another CID.
#[test]
fn regression_metric_value_drifts_on_round_trip() {
    let text = br#"{"kind":"model","name":"m","license":"MIT","metrics":[{"name":"0","value":-1.1217635591791637e-263}]}"#;
    let card = Card::from_json(text).unwrap();
    assert_eq!(
        card.metrics[0].value.to_bits(),
        (-1.1217635591791637e-263f64).to_bits()
    );
    assert_eq!(Card::from_json(&card.to_json_bytes()).unwrap(), card);
}
