//! Hugging Face README (model card or dataset card) -> [`Card`].
//!
//! The README starts with YAML front matter between two `---` lines; the Markdown after it is the description.
//! Keys with a card field are mapped (docs/cards.md has the table); every other key is kept in `extra` under its
//! own name, or `hf_<key>` where the name is a card field of ours, so nothing is lost.

use super::{Card, CardError, CardResult, Metric};
use crate::AssetKind;
use serde_json::{Map, Value};

/// Front-matter keys that only model cards use.
const MODEL_KEYS: &[&str] = &[
    "model-index",
    "base_model",
    "library_name",
    "pipeline_tag",
    "model_name",
];
/// Front-matter keys that only dataset cards use.
const DATASET_KEYS: &[&str] = &[
    "task_categories",
    "size_categories",
    "pretty_name",
    "configs",
    "dataset_info",
    "source_datasets",
    "task_ids",
    "annotations_creators",
    "language_creators",
    "multilinguality",
];
/// Our card's own keys: a front-matter key with one of these names that we do not map goes to `hf_<key>`.
const CARD_KEYS: &[&str] = &[
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
];

/// Splits a README into its front matter (without the `---` lines) and its body.
fn split_front_matter(text: &str) -> Option<(&str, &str)> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let first_end = text.find('\n')?;
    if text[..first_end].trim_end() != "---" {
        return None;
    }
    let rest = &text[first_end + 1..];
    let mut offset = 0;
    for line in rest.split_inclusive('\n') {
        let trimmed = line.trim_end();
        if trimmed == "---" || trimmed == "..." {
            return Some((&rest[..offset], &rest[offset + line.len()..]));
        }
        offset += line.len();
    }
    None
}

pub(super) fn from_readme(text: &str, kind: Option<AssetKind>) -> CardResult<(Card, Vec<String>)> {
    let mut warnings = Vec::new();
    let (yaml, body) = match split_front_matter(text) {
        Some(parts) => parts,
        None => {
            let starts = text.trim_start_matches('\u{feff}').starts_with("---");
            if starts {
                return Err(CardError::FrontMatter {
                    reason: "it opens with `---` but no closing `---` line follows; end the front matter with a line `---`".into(),
                });
            }
            warnings.push("the README has no YAML front matter (a block between `---` lines at the top); only the name and description were taken from it".into());
            ("", text)
        }
    };
    let mut meta = match yaml.trim() {
        "" => Map::new(),
        yaml => match serde_yaml_ng::from_str::<Value>(yaml) {
            Ok(Value::Object(map)) => map,
            Ok(Value::Null) => Map::new(),
            Ok(other) => {
                return Err(CardError::FrontMatter {
                    reason: format!(
                        "it is a {}, not a mapping of keys to values",
                        type_name(&other)
                    ),
                });
            }
            Err(e) => {
                return Err(CardError::FrontMatter {
                    reason: e.to_string(),
                });
            }
        },
    };

    let kind = match kind {
        Some(kind) => kind,
        None => infer_kind(&meta)?,
    };
    let body = body.trim_start_matches(['\r', '\n']).trim_end();
    let mut card = Card::new(String::new(), kind, String::new());
    card.description = body.to_string();

    // License.
    let license_name = take_string(&mut meta, "license_name", &mut warnings);
    let license_link = take_string(&mut meta, "license_link", &mut warnings);
    card.license = match meta.remove("license") {
        Some(value) => map_license(value, license_link.as_deref(), &mut warnings),
        None => match &license_link {
            Some(link) if is_http(link) => link.clone(),
            _ => {
                warnings.push("the front matter has no `license`; add one (an SPDX id such as mit or apache-2.0, or `license: other` with `license_link: https://...`)".into());
                String::new()
            }
        },
    };
    if let Some(name) = license_name {
        card.extra
            .insert("license_name".into(), Value::String(name));
    }
    if let Some(link) = license_link {
        card.extra
            .insert("license_link".into(), Value::String(link));
    }

    card.tags = take_strings(&mut meta, "tags", &mut warnings);
    card.datasets = take_strings(&mut meta, "datasets", &mut warnings);
    card.framework = take_string(&mut meta, "library_name", &mut warnings);
    card.task = take_string(&mut meta, "pipeline_tag", &mut warnings);

    let base_models = take_strings(&mut meta, "base_model", &mut warnings);
    if base_models.len() > 1 {
        warnings.push(format!(
            "base_model lists {} models; the card's base_model is the first ({}), all are kept in `base_models`",
            base_models.len(),
            base_models[0]
        ));
        card.extra
            .insert("base_models".into(), Value::from(base_models.clone()));
    }
    card.base_model = base_models.into_iter().next();

    // Dataset cards: the first task category is the task; all of them are kept when there are several.
    let categories = take_strings(&mut meta, "task_categories", &mut warnings);
    if card.task.is_none() {
        card.task = categories.first().cloned();
    }
    if categories.len() > 1 || (!categories.is_empty() && card.task.as_ref() != categories.first())
    {
        card.extra
            .insert("task_categories".into(), Value::from(categories));
    }

    // Names of metrics without values (top-level `metrics:`); kept, since only model-index carries values.
    if let Some(names) = meta.remove("metrics") {
        card.extra.insert("hf_metrics".into(), names);
    }
    if let Some(index) = meta.get("model-index") {
        let (metrics, task, index_name) = map_model_index(index, &mut warnings);
        card.metrics = metrics;
        if card.task.is_none() {
            card.task = task;
        }
        if let Some(name) = index_name {
            meta.insert("model_index_name".into(), Value::String(name));
        }
    }

    // Name: model_name, pretty_name, the model-index name, then the first `# ` heading.
    let model_name = take_string(&mut meta, "model_name", &mut warnings);
    let pretty_name = take_string(&mut meta, "pretty_name", &mut warnings);
    let index_name = meta
        .remove("model_index_name")
        .and_then(|v| v.as_str().map(String::from));
    card.name = match model_name
        .or(pretty_name)
        .or(index_name)
        .or_else(|| first_heading(body))
    {
        Some(name) => name,
        None => {
            warnings.push("no name found (model_name, pretty_name, model-index name or a `# ` heading); give the card a name".into());
            String::new()
        }
    };

    for (key, value) in meta {
        let key = if CARD_KEYS.contains(&key.as_str()) {
            format!("hf_{key}")
        } else {
            key
        };
        card.extra.insert(key, value);
    }
    Ok((card, warnings))
}

fn infer_kind(meta: &Map<String, Value>) -> CardResult<AssetKind> {
    let found = |keys: &[&str]| -> Vec<String> {
        keys.iter()
            .filter(|k| meta.contains_key(**k))
            .map(|k| (*k).to_string())
            .collect()
    };
    let model = found(MODEL_KEYS);
    let dataset = found(DATASET_KEYS);
    match (model.is_empty(), dataset.is_empty()) {
        (false, true) => Ok(AssetKind::Model),
        (true, false) => Ok(AssetKind::Dataset),
        (true, true) => Err(CardError::UnknownKind {
            reason: format!(
                "none of the model keys ({}) nor the dataset keys ({}) is in the front matter",
                MODEL_KEYS.join(", "),
                DATASET_KEYS.join(", ")
            ),
        }),
        (false, false) => Err(CardError::UnknownKind {
            reason: format!(
                "it has model keys ({}) and dataset keys ({})",
                model.join(", "),
                dataset.join(", ")
            ),
        }),
    }
}

fn is_http(text: &str) -> bool {
    text.starts_with("https://") || text.starts_with("http://")
}

/// Maps Hugging Face license ids (lower case, e.g. `apache-2.0`, `cc-by-sa-4.0`) to SPDX ids; `other` and
/// licenses outside SPDX (`openrail`, `llama2`, ...) become `license_link` when it is a URI.
fn map_license(value: Value, link: Option<&str>, warnings: &mut Vec<String>) -> String {
    let ids: Vec<String> = match value {
        Value::String(id) => vec![id],
        Value::Array(items) => items
            .into_iter()
            .filter_map(|v| match v {
                Value::String(s) => Some(s),
                other => {
                    warnings.push(format!("license entry {other} is not text; skipped"));
                    None
                }
            })
            .collect(),
        other => {
            warnings.push(format!(
                "license {other} is not text; write an SPDX id or `other` with a license_link"
            ));
            return other.to_string();
        }
    };
    let mut spdx_ids = Vec::new();
    let mut custom = Vec::new();
    for id in &ids {
        match spdx_id(id) {
            Some(spdx) => spdx_ids.push(spdx),
            None => custom.push(id.clone()),
        }
    }
    if !custom.is_empty() {
        return match link {
            Some(link) if is_http(link) => {
                if !spdx_ids.is_empty() {
                    warnings.push(format!(
                        "the license mixes SPDX ids ({}) and other licenses ({}); the card names the custom license at {link}",
                        spdx_ids.join(", "),
                        custom.join(", ")
                    ));
                }
                link.to_string()
            }
            Some(link) => {
                warnings.push(format!(
                    "license {:?} is not an SPDX id and license_link {link:?} is a path in the repository, not a URI; give the license's https:// URI",
                    custom.join(", ")
                ));
                custom.join(" AND ")
            }
            None => {
                warnings.push(format!(
                    "license {:?} is not an SPDX id; add `license_link: https://...` with the license text, or use an SPDX id",
                    custom.join(", ")
                ));
                custom.join(" AND ")
            }
        };
    }
    if spdx_ids.len() > 1 {
        warnings.push(format!(
            "the front matter lists {} licenses; the card requires all of them ({})",
            spdx_ids.len(),
            spdx_ids.join(" AND ")
        ));
    }
    spdx_ids.join(" AND ")
}

/// The SPDX id (or expression) for a Hugging Face license id, matched without regard to case.
fn spdx_id(id: &str) -> Option<String> {
    let id = id.trim();
    if id.eq_ignore_ascii_case("other") || id.eq_ignore_ascii_case("unknown") {
        return None;
    }
    if spdx::Expression::parse(id).is_ok() {
        return Some(id.to_string());
    }
    // Ids on the Hugging Face license list whose SPDX id differs by more than case.
    let alias = match id.to_ascii_lowercase().as_str() {
        "odc-by" => Some("ODC-By-1.0"),
        "odbl" => Some("ODbL-1.0"),
        "pddl" => Some("PDDL-1.0"),
        "c-uda" => Some("C-UDA-1.0"),
        "cc0" => Some("CC0-1.0"),
        _ => None,
    };
    if let Some(alias) = alias {
        return Some(alias.to_string());
    }
    spdx::identifiers::LICENSES
        .iter()
        .find(|l| l.name.eq_ignore_ascii_case(id))
        .map(|l| l.name.to_string())
}

fn type_name(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "list",
        Value::Object(_) => "mapping",
    }
}

fn take_string(
    meta: &mut Map<String, Value>,
    key: &str,
    warnings: &mut Vec<String>,
) -> Option<String> {
    match meta.remove(key)? {
        Value::String(s) if !s.trim().is_empty() => Some(s.trim().to_string()),
        Value::String(_) | Value::Null => None,
        Value::Number(n) => Some(n.to_string()),
        other => {
            warnings.push(format!(
                "{key} is a {}, expected text; kept in `hf_{key}`",
                type_name(&other)
            ));
            meta.insert(format!("hf_{key}"), other);
            None
        }
    }
}

fn take_strings(
    meta: &mut Map<String, Value>,
    key: &str,
    warnings: &mut Vec<String>,
) -> Vec<String> {
    match meta.remove(key) {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::String(s)) => vec![s],
        Some(Value::Array(items)) => {
            let mut out = Vec::new();
            for item in items {
                match item {
                    Value::String(s) => out.push(s),
                    Value::Number(n) => out.push(n.to_string()),
                    Value::Bool(b) => out.push(b.to_string()),
                    other => warnings.push(format!("{key} entry {other} is not text; skipped")),
                }
            }
            out
        }
        Some(other) => {
            warnings.push(format!(
                "{key} is a {}, expected a list of text; kept in `hf_{key}`",
                type_name(&other)
            ));
            meta.insert(format!("hf_{key}"), other);
            Vec::new()
        }
    }
}

fn text_of(value: Option<&Value>) -> Option<String> {
    match value? {
        Value::String(s) if !s.trim().is_empty() => Some(s.trim().to_string()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// `model-index: [{name, results: [{task: {type}, dataset: {type, name, config, split}, metrics: [{type, value}]}]}]`
/// -> metrics (name = metric type, dataset = dataset type or name, with its config when given), the first
/// task type, and the first model name.
fn map_model_index(
    index: &Value,
    warnings: &mut Vec<String>,
) -> (Vec<Metric>, Option<String>, Option<String>) {
    let mut metrics = Vec::new();
    let mut task = None;
    let mut name = None;
    let Some(models) = index.as_array() else {
        warnings.push("model-index is not a list; no metrics were taken from it (it is kept in `model-index`)".into());
        return (metrics, task, name);
    };
    for model in models {
        if name.is_none() {
            name = text_of(model.get("name"));
        }
        for result in model
            .get("results")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            if task.is_none() {
                task = text_of(result.get("task").and_then(|t| t.get("type")));
            }
            let dataset = result.get("dataset").and_then(|d| {
                let id = text_of(d.get("type")).or_else(|| text_of(d.get("name")))?;
                Some(match text_of(d.get("config")) {
                    Some(config) if config != id => format!("{id}/{config}"),
                    _ => id,
                })
            });
            for metric in result
                .get("metrics")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
            {
                let Some(metric_name) =
                    text_of(metric.get("type")).or_else(|| text_of(metric.get("name")))
                else {
                    warnings.push(format!(
                        "a model-index metric has no type or name ({metric}); skipped"
                    ));
                    continue;
                };
                let value = match metric.get("value") {
                    Some(Value::Number(n)) => n.as_f64(),
                    Some(Value::String(s)) => {
                        s.trim().trim_end_matches('%').trim().parse::<f64>().ok()
                    }
                    _ => None,
                };
                match value.filter(|v| v.is_finite()) {
                    Some(value) => metrics.push(Metric {
                        name: metric_name,
                        value,
                        dataset: dataset.clone(),
                    }),
                    None => warnings.push(format!(
                        "model-index metric {metric_name} has no numeric value ({}); skipped",
                        metric
                            .get("value")
                            .map(Value::to_string)
                            .unwrap_or_else(|| "none".into())
                    )),
                }
            }
        }
    }
    (metrics, task, name)
}

/// The text of the first `# ` heading outside fenced code blocks.
fn first_heading(body: &str) -> Option<String> {
    let mut in_fence = false;
    for line in body.lines() {
        let trimmed = line.trim_start();
        if trimmed.starts_with("```") || trimmed.starts_with("~~~") {
            in_fence = !in_fence;
            continue;
        }
        if !in_fence && let Some(title) = trimmed.strip_prefix("# ") {
            let title = title.trim().trim_end_matches('#').trim();
            if !title.is_empty() {
                return Some(title.to_string());
            }
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn front_matter_is_split_from_the_body() {
        let (yaml, body) = split_front_matter("---\nlicense: mit\n---\n# Title\ntext\n").unwrap();
        assert_eq!(yaml, "license: mit\n");
        assert_eq!(body, "# Title\ntext\n");
        let (yaml, body) = split_front_matter("\u{feff}---\r\na: 1\r\n---\r\nbody").unwrap();
        assert_eq!(yaml, "a: 1\r\n");
        assert_eq!(body, "body");
        assert!(split_front_matter("# no front matter\n---\n").is_none());
    }

    #[test]
    fn hf_license_ids_map_to_spdx_case_insensitively() {
        assert_eq!(spdx_id("mit").as_deref(), Some("MIT"));
        assert_eq!(spdx_id("apache-2.0").as_deref(), Some("Apache-2.0"));
        assert_eq!(
            spdx_id("cc-by-nc-sa-4.0").as_deref(),
            Some("CC-BY-NC-SA-4.0")
        );
        assert_eq!(spdx_id("bsd-3-clause").as_deref(), Some("BSD-3-Clause"));
        assert_eq!(spdx_id("odc-by").as_deref(), Some("ODC-By-1.0"));
        assert_eq!(spdx_id("odbl").as_deref(), Some("ODbL-1.0"));
        assert_eq!(spdx_id("openrail"), None);
        assert_eq!(spdx_id("other"), None);
    }

    #[test]
    fn headings_inside_code_fences_are_not_names() {
        assert_eq!(
            first_heading("```sh\n# install\n```\n# Real name ##\n").as_deref(),
            Some("Real name")
        );
        assert_eq!(first_heading("## Sub only\n"), None);
    }

    #[test]
    fn kind_comes_from_the_keys_or_is_asked_for() {
        let err = from_readme("---\nlicense: mit\n---\n# X\n", None).unwrap_err();
        assert!(err.to_string().contains("--kind model"), "{err}");
        let err = from_readme("---\nlibrary_name: x\npretty_name: y\n---\n", None).unwrap_err();
        assert!(
            err.to_string()
                .contains("model keys (library_name) and dataset keys (pretty_name)"),
            "{err}"
        );
        let (card, _) =
            from_readme("---\nlicense: mit\n---\n# X\n", Some(AssetKind::Dataset)).unwrap();
        assert_eq!(card.kind, AssetKind::Dataset);
    }

    #[test]
    fn broken_front_matter_is_an_error_that_says_so() {
        let err = from_readme("---\nlicense: [mit\n---\n", Some(AssetKind::Model)).unwrap_err();
        assert!(matches!(err, CardError::FrontMatter { .. }), "{err}");
        let err = from_readme("---\nlicense: mit\n", Some(AssetKind::Model)).unwrap_err();
        assert!(err.to_string().contains("no closing `---`"), "{err}");
        let err = from_readme("---\n- a\n- b\n---\n", Some(AssetKind::Model)).unwrap_err();
        assert!(err.to_string().contains("list, not a mapping"), "{err}");
    }
}
