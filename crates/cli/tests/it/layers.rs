//! The layering of the workspace (docs/layout.md, "Layers"): every crate is listed in one layer, and depends
//! only on crates of lower layers (tests: lower or the same layer). Read from `cargo metadata`, so a new
//! dependency that points upward fails here, naming both crates.

use serde_json::Value;
use std::collections::BTreeMap;
use std::path::Path;

/// The layer of each crate named in docs/layout.md's layers list.
fn layers() -> BTreeMap<String, usize> {
    let doc =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/layout.md"))
            .unwrap();
    let list = doc
        .split("<!-- layers:")
        .nth(1)
        .and_then(|rest| rest.split("<!-- /layers -->").next())
        .expect(
            "docs/layout.md has a layers list between <!-- layers: ... --> and <!-- /layers -->",
        );
    let mut out = BTreeMap::new();
    let mut layer = None;
    for line in list.lines().skip(1) {
        let trimmed = line.trim_start();
        if let Some((n, _)) = trimmed.split_once(". ")
            && let Ok(n) = n.parse::<usize>()
        {
            layer = Some(n);
        }
        let Some(layer) = layer else { continue };
        // Crate names in backticks before the first colon of a layer's line, or on its continuation lines.
        let names = line.split(':').next().unwrap_or_default();
        for (i, part) in names.split('`').enumerate() {
            if i % 2 == 1 && part.starts_with("scal3ml") {
                assert!(
                    out.insert(part.to_string(), layer).is_none(),
                    "{part} is listed twice in docs/layout.md's layers"
                );
            }
        }
    }
    out
}

#[test]
fn every_crate_depends_only_on_lower_layers() {
    let layers = layers();
    let out = std::process::Command::new(env!("CARGO"))
        .args([
            "metadata",
            "--format-version",
            "1",
            "--no-deps",
            "--offline",
        ])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "cargo metadata: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let meta: Value = serde_json::from_slice(&out.stdout).unwrap();
    let packages = meta["packages"].as_array().unwrap();
    let ours: Vec<&str> = packages
        .iter()
        .map(|p| p["name"].as_str().unwrap())
        .collect();
    let mut wrong = Vec::new();
    for p in packages {
        let name = p["name"].as_str().unwrap();
        let Some(&own) = layers.get(name) else {
            wrong.push(format!(
                "{name} is in the workspace but not in docs/layout.md's layers: add it to its layer"
            ));
            continue;
        };
        for d in p["dependencies"].as_array().unwrap() {
            let dep = d["name"].as_str().unwrap();
            if !ours.contains(&dep) || dep == name {
                continue;
            }
            let Some(&theirs) = layers.get(dep) else {
                continue; // reported as a package of its own
            };
            let test_only = d["kind"].as_str() == Some("dev");
            let allowed = if test_only {
                theirs <= own
            } else {
                theirs < own
            };
            if !allowed {
                wrong.push(format!(
                    "{name} (layer {own}) depends{} on {dep} (layer {theirs}): a crate depends only on lower \
                     layers; move what it needs down, or the crate up",
                    if test_only { " in its tests" } else { "" }
                ));
            }
        }
    }
    for listed in layers.keys() {
        if !ours.contains(&listed.as_str()) {
            wrong.push(format!(
                "docs/layout.md lists {listed}, which is not in the workspace"
            ));
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}
