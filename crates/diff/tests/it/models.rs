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

/// A protobuf field: tag then payload.
fn field(out: &mut Vec<u8>, number: u64, wire: u64, payload: &[u8]) {
    varint(out, number << 3 | wire);
    if wire == 2 {
        varint(out, payload.len() as u64);
    }
    out.extend_from_slice(payload);
}

fn varint(out: &mut Vec<u8>, mut v: u64) {
    loop {
        let b = (v & 0x7f) as u8;
        v >>= 7;
        if v == 0 {
            out.push(b);
            return;
        }
        out.push(b | 0x80);
    }
}

fn v(n: u64) -> Vec<u8> {
    let mut out = Vec::new();
    varint(&mut out, n);
    out
}

/// A float initializer: dims packed, data_type 1 (float), name, raw_data.
fn initializer(name: &str, dims: &[u64], values: &[f32]) -> Vec<u8> {
    let mut t = Vec::new();
    let packed: Vec<u8> = dims.iter().flat_map(|d| v(*d)).collect();
    field(&mut t, 1, 2, &packed);
    field(&mut t, 2, 0, &v(1));
    field(&mut t, 8, 2, name.as_bytes());
    let raw: Vec<u8> = values.iter().flat_map(|x| x.to_le_bytes()).collect();
    field(&mut t, 9, 2, &raw);
    t
}

/// A float input `name` of shape [N, width].
fn input(name: &str, width: u64) -> Vec<u8> {
    let (mut dim_n, mut dim_w, mut shape, mut tensor, mut ty, mut info) = (
        Vec::new(),
        Vec::new(),
        Vec::new(),
        Vec::new(),
        Vec::new(),
        Vec::new(),
    );
    field(&mut dim_n, 2, 2, b"N");
    field(&mut dim_w, 1, 0, &v(width));
    field(&mut shape, 1, 2, &dim_n);
    field(&mut shape, 1, 2, &dim_w);
    field(&mut tensor, 1, 0, &v(1));
    field(&mut tensor, 2, 2, &shape);
    field(&mut ty, 1, 2, &tensor);
    field(&mut info, 1, 2, name.as_bytes());
    field(&mut info, 2, 2, &ty);
    info
}

fn onnx(ops: &[&str], inits: &[Vec<u8>], width: u64) -> Vec<u8> {
    let mut graph = Vec::new();
    for op in ops {
        let mut node = Vec::new();
        field(&mut node, 4, 2, op.as_bytes());
        field(&mut graph, 1, 2, &node);
    }
    field(&mut graph, 2, 2, b"g");
    for i in inits {
        field(&mut graph, 5, 2, i);
    }
    field(&mut graph, 11, 2, &input("x", width));
    let mut opset = Vec::new();
    field(&mut opset, 2, 0, &v(13));
    let mut model = Vec::new();
    field(&mut model, 1, 0, &v(8));
    field(&mut model, 2, 2, b"handmade");
    field(&mut model, 7, 2, &graph);
    field(&mut model, 8, 2, &opset);
    model
}

#[test]
fn onnx_tensor_values_shapes_and_inputs_compared() {
    let dir = tempfile::tempdir().unwrap();
    let (a, b) = (dir.path().join("a.onnx"), dir.path().join("b.onnx"));
    let old = onnx(
        &["MatMul", "Add"],
        &[
            initializer("W", &[2, 2], &[1., 2., 3., 4.]),
            initializer("B", &[2], &[0., 0.]),
        ],
        2,
    );
    let new = onnx(
        &["MatMul", "Add", "Relu"],
        &[
            initializer("W", &[2, 2], &[1., 2., 3., 5.]),
            initializer("B", &[3], &[0., 0., 0.]),
            initializer("S", &[1], &[2.]),
        ],
        3,
    );
    std::fs::write(&a, old).unwrap();
    std::fs::write(&b, new).unwrap();
    let m = model(&a, &b);
    assert_eq!((m.old.parameters, m.new.parameters), (6, 8));
    assert_eq!(m.old.ir_version, Some(8));
    assert_eq!(m.old.producer.as_deref(), Some("handmade"));
    assert_eq!(m.old.opsets["ai.onnx"], 13);
    let w = m.tensors_changed.iter().find(|c| c.name == "W").unwrap();
    assert!(w.values_changed && !w.shape_changed && !w.dtype_changed);
    assert_eq!(w.old.dtype, "float");
    let bias = m.tensors_changed.iter().find(|c| c.name == "B").unwrap();
    assert!(bias.shape_changed);
    assert_eq!(m.tensors_added[0].name, "S");
    assert_eq!(m.old.inputs[0].kind, "float[N,2]");
    assert_eq!(
        (
            m.inputs.changed[0].0.kind.as_str(),
            m.inputs.changed[0].1.kind.as_str()
        ),
        ("float[N,2]", "float[N,3]")
    );
    assert_eq!(
        (
            m.ops_changed[0].op.as_str(),
            m.ops_changed[0].old,
            m.ops_changed[0].new
        ),
        ("Relu", 0, 1)
    );
    // A truncated file says where it ends.
    let cut = std::fs::read(&b).unwrap();
    std::fs::write(&b, &cut[..cut.len() - 5]).unwrap();
    let e = diff_files(&a, &b, &DiffOptions::default()).unwrap_err();
    assert!(e.to_string().contains("not a valid ONNX file"), "{e}");
}
