use scal3ml_diff::{ContentDiff, DiffOptions, ModelDiff, diff_files};
use std::path::{Path, PathBuf};

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../eval/fixtures")
        .join(name)
}

fn model(old: &Path, new: &Path) -> ModelDiff {
    match diff_files(old, new, &DiffOptions::default())
        .unwrap()
        .content
    {
        Some(ContentDiff::Model(m)) => *m,
        other => panic!("not a model: {other:?}"),
    }
}

#[test]
fn onnx_against_itself_is_unchanged() {
    let p = fixture("digits_mlp.onnx");
    let m = model(&p, &p);
    assert!(m.is_empty(), "{m:?}");
    assert!(
        m.old.parameters > 1000,
        "an MLP on 64 pixels has weights: {}",
        m.old.parameters
    );
    assert_eq!(m.tensors_unchanged, m.old.tensors);
    assert_eq!(m.old.inputs.len(), 1);
    assert!(
        m.old.inputs[0].kind.starts_with("float["),
        "{:?}",
        m.old.inputs
    );
    assert!(m.old.opsets.contains_key("ai.onnx"));
    assert!(
        m.old.ops.contains_key("MatMul") || m.old.ops.contains_key("Gemm"),
        "{:?}",
        m.old.ops
    );
}

#[test]
fn two_onnx_models_differ_in_operators_and_tensors() {
    let m = model(&fixture("iris_logreg.onnx"), &fixture("digits_mlp.onnx"));
    assert!(!m.is_empty());
    assert_ne!(m.old.parameters, m.new.parameters);
    assert!(!m.ops_changed.is_empty());
    assert!(
        m.old.ops.keys().any(|k| k.starts_with("ai.onnx.ml:")),
        "{:?}",
        m.old.ops
    );
    assert!(
        !m.inputs.changed.is_empty() || !m.inputs.added.is_empty(),
        "{:?}",
        m.inputs
    );
    let text = m.render_text();
    assert!(text.contains("parameters:"), "{text}");
}

fn safetensors(tensors: &[(&str, &str, &[u64], Vec<u8>)]) -> Vec<u8> {
    let mut header = serde_json::Map::new();
    header.insert("__metadata__".into(), serde_json::json!({"format": "pt"}));
    let mut data = Vec::new();
    for (name, dtype, shape, bytes) in tensors {
        let begin = data.len();
        data.extend_from_slice(bytes);
        header.insert(
            name.to_string(),
            serde_json::json!({"dtype": dtype, "shape": shape, "data_offsets": [begin, data.len()]}),
        );
    }
    let h = serde_json::to_vec(&header).unwrap();
    let mut out = (h.len() as u64).to_le_bytes().to_vec();
    out.extend_from_slice(&h);
    out.extend_from_slice(&data);
    out
}

#[test]
fn safetensors_tensors_added_removed_changed_renamed() {
    let dir = tempfile::tempdir().unwrap();
    let f32s = |v: &[f32]| v.iter().flat_map(|x| x.to_le_bytes()).collect::<Vec<u8>>();
    let old = safetensors(&[
        ("w1", "F32", &[2, 2], f32s(&[1., 2., 3., 4.])),
        ("b1", "F32", &[2], f32s(&[0., 0.])),
        ("gone", "F32", &[1], f32s(&[9.])),
        ("emb", "F32", &[3], f32s(&[1., 1., 1.])),
        ("same", "I64", &[1], 7i64.to_le_bytes().to_vec()),
    ]);
    let new = safetensors(&[
        ("w1", "F32", &[2, 3], f32s(&[1., 2., 3., 4., 5., 6.])),
        ("b1", "F32", &[2], f32s(&[0., 1.])),
        ("new", "BF16", &[4], vec![0; 8]),
        ("embedding", "F32", &[3], f32s(&[1., 1., 1.])),
        ("same", "I64", &[1], 7i64.to_le_bytes().to_vec()),
    ]);
    let (a, b) = (
        dir.path().join("a.safetensors"),
        dir.path().join("b.safetensors"),
    );
    std::fs::write(&a, old).unwrap();
    std::fs::write(&b, new).unwrap();
    let m = model(&a, &b);
    assert_eq!(m.format, "safetensors");
    assert_eq!(
        (m.old.parameters, m.new.parameters),
        (4 + 2 + 1 + 3 + 1, 6 + 2 + 4 + 3 + 1)
    );
    assert_eq!(
        m.tensors_added
            .iter()
            .map(|t| t.name.as_str())
            .collect::<Vec<_>>(),
        ["new"]
    );
    assert_eq!(
        m.tensors_removed
            .iter()
            .map(|t| t.name.as_str())
            .collect::<Vec<_>>(),
        ["gone"]
    );
    assert_eq!(
        (
            m.tensors_renamed[0].old.as_str(),
            m.tensors_renamed[0].new.as_str()
        ),
        ("emb", "embedding")
    );
    let w1 = m.tensors_changed.iter().find(|c| c.name == "w1").unwrap();
    assert!(w1.shape_changed && !w1.dtype_changed);
    let b1 = m.tensors_changed.iter().find(|c| c.name == "b1").unwrap();
    assert!(b1.values_changed && !b1.shape_changed);
    assert_eq!(m.tensors_unchanged, 1);
    assert_eq!(m.old.metadata["format"], "pt");
    let text = m.render_text();
    assert!(text.contains("~ tensor w1: shape [2,2] -> [2,3]"), "{text}");
    assert!(text.contains("> tensor emb renamed to embedding"), "{text}");
}

#[test]
fn a_file_that_is_not_a_model_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("x.safetensors");
    std::fs::write(&p, b"not a model at all").unwrap();
    let e = diff_files(&p, &p, &DiffOptions::default()).unwrap_err();
    assert!(
        e.to_string().contains("not a valid safetensors file"),
        "{e}"
    );
    let p = dir.path().join("x.onnx");
    std::fs::write(&p, b"").unwrap();
    let e = diff_files(&p, &p, &DiffOptions::default()).unwrap_err();
    assert!(e.to_string().contains("no graph"), "{e}");
}
