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
