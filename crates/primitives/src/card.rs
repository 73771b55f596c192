//! Asset cards: what a dataset or model is, under which license, built from what, holding which files.
//!
//! A card is JSON with snake_case keys (see docs/cards.md). It is stored in the content store like any file and
//! its CID goes on chain as the asset's metadata CID, so [`Card::to_json_bytes`] is canonical: the same card
//! always gives the same bytes. Keys this version does not know are kept in [`Card::extra`] and written back,
//! never dropped. [`Card::validate`] checks every field and names the one that is wrong;
//! [`Card::from_hf_readme`] maps a Hugging Face README (YAML front matter + Markdown) to a card.

mod hf;
mod validate;

pub use validate::{
    MAX_CARD_BYTES, MAX_DESCRIPTION_BYTES, MAX_FILES, MAX_NAME_CHARS, MAX_PARENTS, MAX_TAG_CHARS,
    MAX_TAGS, check_license,
};

use crate::{AssetId, AssetKind};
use serde::{Deserialize, Serialize};
use std::{collections::BTreeMap, fmt};

/// The card format version this crate writes and reads.
pub const CARD_SCHEMA: u32 = 1;

/// The card of an asset. Field names are the JSON keys.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Card {
    /// Format version: [`CARD_SCHEMA`] (1). A card without it is read as version 1.
    #[serde(default = "schema_v1")]
    pub schema: u32,
    /// Human name, 1 to [`MAX_NAME_CHARS`] characters.
    #[serde(default)]
    pub name: String,
    /// Dataset or model.
    pub kind: AssetKind,
    /// What it is, in Markdown.
    #[serde(default)]
    pub description: String,
    /// An SPDX license id or expression (`MIT`, `Apache-2.0`, `MIT OR Apache-2.0`, `CC-BY-4.0`), or the
    /// http(s) URI of a custom license text.
    #[serde(default)]
    pub license: String,
    /// Free-form search tags.
    #[serde(default)]
    pub tags: Vec<String>,
    /// The ML task (`text-classification`, `image-segmentation`, ...).
    #[serde(default)]
    pub task: Option<String>,
    /// The framework or library (`transformers`, `pytorch`, `onnx`, ...).
    #[serde(default)]
    pub framework: Option<String>,
    /// The files of the asset's content, with their plaintext size and hash.
    #[serde(default)]
    pub files: Vec<CardFile>,
    /// The assets this one derives from, with the royalty each gets (as on chain).
    #[serde(default)]
    pub parents: Vec<CardParent>,
    /// Reported evaluation results.
    #[serde(default)]
    pub metrics: Vec<Metric>,
    /// Datasets a model was trained or evaluated on (free-form names or ids).
    #[serde(default)]
    pub datasets: Vec<String>,
    /// The model a model was fine-tuned from (free-form name or id).
    #[serde(default)]
    pub base_model: Option<String>,
    /// When the card was made, RFC 3339 (`2026-11-25T14:20:00Z`).
    #[serde(default)]
    pub created: Option<String>,
    /// Keys this version does not know, kept as they were.
    #[serde(flatten)]
    pub extra: BTreeMap<String, serde_json::Value>,
}

fn schema_v1() -> u32 {
    CARD_SCHEMA
}

/// One file of an asset's content.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CardFile {
    /// Path inside the asset, `/`-separated, relative (`data/train.parquet`); a single-file asset uses its name.
    pub path: String,
    /// Plaintext size in bytes.
    pub size: u64,
    /// SHA-256 of the plaintext, 64 lowercase hex characters.
    pub sha256: String,
    /// CID of the stored file (the ciphertext's CID when the asset is encrypted).
    pub cid: String,
}

impl CardFile {
    /// The file's CID, parsed.
    pub fn cid(&self) -> crate::PrimitivesResult<crate::Cid> {
        self.cid.parse()
    }
}

/// A parent asset and its royalty, as the contract records it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct CardParent {
    /// The parent's asset id.
    pub asset: AssetId,
    /// The parent's share of every sale of this asset, in basis points (1 to 10000).
    pub royalty_bps: u32,
}

/// One reported evaluation result.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Metric {
    /// What was measured (`accuracy`, `f1`, `wer`, ...).
    pub name: String,
    /// The value; finite.
    pub value: f64,
    /// The dataset it was measured on, if said.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dataset: Option<String>,
}

/// One problem with one card field.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldError {
    /// The field's path in the card JSON: `name`, `files[2].sha256`, `parents[0].royalty_bps`.
    pub field: String,
    /// What is wrong and what to do.
    pub problem: String,
}

impl fmt::Display for FieldError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.field, self.problem)
    }
}

/// What can be wrong with a card.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CardError {
    /// One or more fields are invalid; each names its field.
    #[error("{}", describe(.0))]
    Invalid(Vec<FieldError>),
    /// The bytes are not card JSON.
    #[error("the card is not valid card JSON: {reason}; see docs/cards.md for the format")]
    Json {
        /// serde_json's reason, with line and column.
        reason: String,
    },
    /// The README's YAML front matter could not be read.
    #[error(
        "the README's YAML front matter (between the first two `---` lines) is not valid: {reason}"
    )]
    FrontMatter {
        /// Why.
        reason: String,
    },
    /// The README does not say whether it describes a model or a dataset.
    #[error(
        "cannot tell whether this README describes a model or a dataset ({reason}); say which (--kind model or --kind dataset)"
    )]
    UnknownKind {
        /// What was found.
        reason: String,
    },
}

fn describe(errors: &[FieldError]) -> String {
    match errors {
        [one] => format!("invalid card field {one}"),
        many => {
            let mut text = format!("the card has {} invalid fields:", many.len());
            for e in many {
                text.push_str("\n  ");
                text.push_str(&e.to_string());
            }
            text
        }
    }
}

impl CardError {
    /// The paths of the invalid fields (empty unless [`CardError::Invalid`]).
    pub fn fields(&self) -> Vec<&str> {
        match self {
            Self::Invalid(errors) => errors.iter().map(|e| e.field.as_str()).collect(),
            _ => Vec::new(),
        }
    }
}

/// Result alias for cards.
pub type CardResult<T> = Result<T, CardError>;

impl Card {
    /// A card with a name, kind and license and everything else empty.
    pub fn new(name: impl Into<String>, kind: AssetKind, license: impl Into<String>) -> Self {
        Self {
            schema: CARD_SCHEMA,
            name: name.into(),
            kind,
            description: String::new(),
            license: license.into(),
            tags: Vec::new(),
            task: None,
            framework: None,
            files: Vec::new(),
            parents: Vec::new(),
            metrics: Vec::new(),
            datasets: Vec::new(),
            base_model: None,
            created: None,
            extra: BTreeMap::new(),
        }
    }

    /// Reads card JSON. Does not validate: call [`Card::validate`].
    pub fn from_json(bytes: &[u8]) -> CardResult<Self> {
        serde_json::from_slice(bytes).map_err(|e| CardError::Json {
            reason: e.to_string(),
        })
    }

    /// The canonical bytes of the card: compact JSON, object keys sorted at every level (including inside
    /// `extra`), so the same card always gives the same bytes and so the same CID.
    pub fn to_json_bytes(&self) -> Vec<u8> {
        let value = serde_json::to_value(self).expect("a card is always representable as JSON");
        let mut out = Vec::with_capacity(512);
        write_canonical(&value, &mut out);
        out
    }

    /// Indented JSON for people (not canonical: use [`Card::to_json_bytes`] for storing).
    pub fn to_json_pretty(&self) -> String {
        serde_json::to_string_pretty(self).expect("a card is always representable as JSON")
    }

    /// Checks every field; the error lists every invalid field with what to do about it.
    pub fn validate(&self) -> CardResult<()> {
        let errors = validate::check(self);
        if errors.is_empty() {
            Ok(())
        } else {
            Err(CardError::Invalid(errors))
        }
    }

    /// Maps a Hugging Face README (YAML front matter between `---` lines, then Markdown) to a card. `kind`
    /// overrides the kind inferred from the front matter. Returns the card (not yet validated: call
    /// [`Card::validate`]) and warnings about what could not be mapped exactly. Front-matter keys without a
    /// card field are kept in [`Card::extra`]. The mapping is in docs/cards.md.
    pub fn from_hf_readme(text: &str, kind: Option<AssetKind>) -> CardResult<(Self, Vec<String>)> {
        hf::from_readme(text, kind)
    }

    /// The sum of the parents' royalties in basis points.
    pub fn royalty_total_bps(&self) -> u64 {
        self.parents.iter().map(|p| u64::from(p.royalty_bps)).sum()
    }
}

/// Writes JSON with object keys sorted (byte order) and no whitespace.
fn write_canonical(value: &serde_json::Value, out: &mut Vec<u8>) {
    use serde_json::Value;
    match value {
        Value::Object(map) => {
            let mut entries: Vec<_> = map.iter().collect();
            entries.sort_by(|a, b| a.0.cmp(b.0));
            out.push(b'{');
            for (i, (key, value)) in entries.into_iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                serde_json::to_writer(&mut *out, key).expect("writing to a Vec cannot fail");
                out.push(b':');
                write_canonical(value, out);
            }
            out.push(b'}');
        }
        Value::Array(items) => {
            out.push(b'[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                write_canonical(item, out);
            }
            out.push(b']');
        }
        scalar => serde_json::to_writer(&mut *out, scalar).expect("writing to a Vec cannot fail"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Card {
        let mut card = Card::new("Tiny sentiment", AssetKind::Model, "MIT OR Apache-2.0");
        card.description = "# Tiny sentiment\n\nA model.".into();
        card.tags = vec!["nlp".into(), "sentiment".into()];
        card.task = Some("text-classification".into());
        card.framework = Some("onnx".into());
        card.files = vec![CardFile {
            path: "model.onnx".into(),
            size: 1234,
            sha256: "a".repeat(64),
            cid: "bafkreifzjut3te2nhyekklss27nh3k72ysco7y32koao5eei66wof36n5e".into(),
        }];
        card.parents = vec![CardParent {
            asset: AssetId(1),
            royalty_bps: 500,
        }];
        card.metrics = vec![Metric {
            name: "accuracy".into(),
            value: 0.91,
            dataset: Some("sst2".into()),
        }];
        card.created = Some("2026-11-25T14:20:00Z".into());
        card
    }

    #[test]
    fn json_keys_are_the_documented_snake_case_ones() {
        let value: serde_json::Value = serde_json::from_slice(&sample().to_json_bytes()).unwrap();
        let keys: Vec<&str> = value
            .as_object()
            .unwrap()
            .keys()
            .map(|k| k.as_str())
            .collect();
        for key in [
            "schema",
            "name",
            "kind",
            "description",
            "license",
            "tags",
            "task",
            "framework",
            "files",
            "parents",
            "metrics",
            "datasets",
            "base_model",
            "created",
        ] {
            assert!(keys.contains(&key), "missing key {key} in {keys:?}");
        }
        assert_eq!(value["kind"], "model");
        assert_eq!(value["schema"], 1);
        assert_eq!(value["parents"][0]["royalty_bps"], 500);
        assert_eq!(value["parents"][0]["asset"], 1);
        assert_eq!(value["files"][0]["sha256"], "a".repeat(64));
    }

    #[test]
    fn canonical_bytes_do_not_depend_on_input_key_order() {
        let a = br#"{"name":"x","kind":"dataset","license":"MIT","zeta":{"b":1,"a":[{"y":2,"x":1}]},"alpha":true}"#;
        let b = br#"{"alpha":true,"zeta":{"a":[{"x":1,"y":2}],"b":1},"license":"MIT","kind":"dataset","name":"x"}"#;
        let ca = Card::from_json(a).unwrap();
        let cb = Card::from_json(b).unwrap();
        assert_eq!(ca.to_json_bytes(), cb.to_json_bytes());
        let text = String::from_utf8(ca.to_json_bytes()).unwrap();
        assert!(
            text.starts_with(r#"{"alpha":true,"base_model":null,"#),
            "{text}"
        );
        assert!(
            text.contains(r#""zeta":{"a":[{"x":1,"y":2}],"b":1}"#),
            "{text}"
        );
    }

    #[test]
    fn unknown_keys_survive_a_round_trip() {
        let input = br#"{"schema":1,"name":"x","kind":"model","license":"MIT","language":["en","de"],"widget":{"text":"hi"}}"#;
        let card = Card::from_json(input).unwrap();
        assert_eq!(card.extra["language"], serde_json::json!(["en", "de"]));
        let again = Card::from_json(&card.to_json_bytes()).unwrap();
        assert_eq!(again, card);
        assert_eq!(again.extra["widget"]["text"], "hi");
    }

    #[test]
    fn round_trip_is_byte_stable() {
        let card = sample();
        let bytes = card.to_json_bytes();
        let back = Card::from_json(&bytes).unwrap();
        assert_eq!(back, card);
        assert_eq!(back.to_json_bytes(), bytes);
        let pretty = Card::from_json(card.to_json_pretty().as_bytes()).unwrap();
        assert_eq!(pretty.to_json_bytes(), bytes);
    }

    #[test]
    fn missing_schema_reads_as_version_one_and_bad_json_says_where() {
        let card = Card::from_json(br#"{"name":"x","kind":"dataset","license":"MIT"}"#).unwrap();
        assert_eq!(card.schema, 1);
        let err = Card::from_json(br#"{"name":"x","kind":"tokenizer"}"#).unwrap_err();
        let text = err.to_string();
        assert!(
            text.contains("tokenizer") && text.contains("column"),
            "{text}"
        );
    }
}
