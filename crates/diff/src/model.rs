//! Models compared by their tensors (ONNX initializers, safetensors entries) and, for ONNX, the graph's
//! inputs, outputs, operators and opsets.

use serde::Serialize;
use std::collections::{BTreeMap, HashMap};

/// One tensor (weights) of a model.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TensorInfo {
    /// Its name.
    pub name: String,
    /// Element type (ONNX: `float`, `int64`, ...; safetensors: `F32`, `BF16`, ...).
    pub dtype: String,
    /// Its shape.
    pub shape: Vec<u64>,
    /// Elements (the product of the shape).
    pub parameters: u64,
    /// SHA-256 of its stored values, hex.
    pub values_sha256: String,
}

/// A graph input or output.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct IoInfo {
    /// Its name.
    pub name: String,
    /// Its type, e.g. `float[N,4]`, `int64[N]`, `seq(map(int64,float))`.
    #[serde(rename = "type")]
    pub kind: String,
}

/// What a model is, in one version.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct ModelSummary {
    /// Parameters: the elements of every tensor.
    pub parameters: u64,
    /// Tensors (ONNX initializers, safetensors entries).
    pub tensors: u64,
    /// Bytes of tensor data.
    pub tensor_bytes: u64,
    /// ONNX IR version.
    pub ir_version: Option<i64>,
    /// ONNX producer name and version, e.g. `skl2onnx 1.17.0`.
    pub producer: Option<String>,
    /// ONNX operator sets by domain (`ai.onnx` for the default one).
    pub opsets: BTreeMap<String, i64>,
    /// Nodes per operator in the main graph (`domain:Op` outside the default domain).
    pub ops: BTreeMap<String, u64>,
    /// Graph inputs (initializers left out).
    pub inputs: Vec<IoInfo>,
    /// Graph outputs.
    pub outputs: Vec<IoInfo>,
    /// safetensors `__metadata__`.
    pub metadata: BTreeMap<String, String>,
}

/// A model as read: its summary and tensors.
pub(crate) struct Model {
    pub(crate) format: &'static str,
    pub(crate) summary: ModelSummary,
    pub(crate) tensors: Vec<TensorInfo>,
}

/// A tensor in both versions with a different shape, dtype or values.
#[derive(Debug, Clone, Serialize)]
pub struct TensorChange {
    /// Its name.
    pub name: String,
    /// The old tensor.
    pub old: TensorInfo,
    /// The new tensor.
    pub new: TensorInfo,
    /// Whether the shape changed.
    pub shape_changed: bool,
    /// Whether the element type changed.
    pub dtype_changed: bool,
    /// Whether the stored values changed.
    pub values_changed: bool,
}

/// A tensor found under another name with the same dtype, shape and values.
#[derive(Debug, Clone, Serialize)]
pub struct TensorRename {
    /// Its old name.
    pub old: String,
    /// Its new name.
    pub new: String,
}

/// Graph inputs or outputs compared by name.
#[derive(Debug, Clone, Default, Serialize)]
pub struct IoChange {
    /// Only in the new version.
    pub added: Vec<IoInfo>,
    /// Only in the old version.
    pub removed: Vec<IoInfo>,
    /// In both with another type or shape: (old, new).
    pub changed: Vec<(IoInfo, IoInfo)>,
}

impl IoChange {
    fn is_empty(&self) -> bool {
        self.added.is_empty() && self.removed.is_empty() && self.changed.is_empty()
    }
}

/// An operator used a different number of times.
#[derive(Debug, Clone, Serialize)]
pub struct OpCountChange {
    /// The operator.
    pub op: String,
    /// Nodes in the old graph.
    pub old: u64,
    /// Nodes in the new graph.
    pub new: u64,
}

/// Two versions of a model compared.
#[derive(Debug, Clone, Serialize)]
pub struct ModelDiff {
    /// `onnx` or `safetensors`.
    pub format: String,
    /// The old model.
    pub old: ModelSummary,
    /// The new model.
    pub new: ModelSummary,
    /// Tensors only in the new version.
    pub tensors_added: Vec<TensorInfo>,
    /// Tensors only in the old version.
    pub tensors_removed: Vec<TensorInfo>,
    /// Tensors whose name alone changed.
    pub tensors_renamed: Vec<TensorRename>,
    /// Tensors in both whose shape, dtype or values changed.
    pub tensors_changed: Vec<TensorChange>,
    /// Tensors in both, identical.
    pub tensors_unchanged: u64,
    /// Graph inputs.
    pub inputs: IoChange,
    /// Graph outputs.
    pub outputs: IoChange,
    /// Operators used a different number of times.
    pub ops_changed: Vec<OpCountChange>,
}

impl ModelDiff {
    /// Whether nothing differs.
    pub fn is_empty(&self) -> bool {
        self.tensors_added.is_empty()
            && self.tensors_removed.is_empty()
            && self.tensors_renamed.is_empty()
            && self.tensors_changed.is_empty()
            && self.inputs.is_empty()
            && self.outputs.is_empty()
            && self.ops_changed.is_empty()
            && self.old.opsets == self.new.opsets
    }
}

fn io_diff(old: &[IoInfo], new: &[IoInfo]) -> IoChange {
    let mut out = IoChange::default();
    for o in old {
        match new.iter().find(|n| n.name == o.name) {
            None => out.removed.push(o.clone()),
            Some(n) if n.kind != o.kind => out.changed.push((o.clone(), n.clone())),
            Some(_) => {}
        }
    }
    out.added = new
        .iter()
        .filter(|n| !old.iter().any(|o| o.name == n.name))
        .cloned()
        .collect();
    out
}

pub(crate) fn diff(old: Model, new: Model) -> ModelDiff {
    let old_by_name: HashMap<&str, &TensorInfo> =
        old.tensors.iter().map(|t| (t.name.as_str(), t)).collect();
    let new_by_name: HashMap<&str, &TensorInfo> =
        new.tensors.iter().map(|t| (t.name.as_str(), t)).collect();
    let mut changed = Vec::new();
    let mut unchanged = 0;
    for o in &old.tensors {
        if let Some(n) = new_by_name.get(o.name.as_str()) {
            if *n == o {
                unchanged += 1;
            } else {
                changed.push(TensorChange {
                    name: o.name.clone(),
                    old: o.clone(),
                    new: (*n).clone(),
                    shape_changed: o.shape != n.shape,
                    dtype_changed: o.dtype != n.dtype,
                    values_changed: o.values_sha256 != n.values_sha256,
                });
            }
        }
    }
    let mut removed: Vec<TensorInfo> = old
        .tensors
        .iter()
        .filter(|t| !new_by_name.contains_key(t.name.as_str()))
        .cloned()
        .collect();
    let mut added: Vec<TensorInfo> = new
        .tensors
        .iter()
        .filter(|t| !old_by_name.contains_key(t.name.as_str()))
        .cloned()
        .collect();
    // A removed and an added tensor with the same dtype, shape and values: renamed.
    let mut renamed = Vec::new();
    removed.retain(|r| {
        match added.iter().position(|a| {
            a.values_sha256 == r.values_sha256 && a.shape == r.shape && a.dtype == r.dtype
        }) {
            Some(i) => {
                let a = added.remove(i);
                renamed.push(TensorRename {
                    old: r.name.clone(),
                    new: a.name,
                });
                false
            }
            None => true,
        }
    });
    let mut ops: Vec<&String> = old
        .summary
        .ops
        .keys()
        .chain(new.summary.ops.keys())
        .collect();
    ops.sort();
    ops.dedup();
    let ops_changed = ops
        .into_iter()
        .filter_map(|op| {
            let (o, n) = (
                old.summary.ops.get(op).copied().unwrap_or(0),
                new.summary.ops.get(op).copied().unwrap_or(0),
            );
            (o != n).then(|| OpCountChange {
                op: op.clone(),
                old: o,
                new: n,
            })
        })
        .collect();
    ModelDiff {
        format: new.format.into(),
        inputs: io_diff(&old.summary.inputs, &new.summary.inputs),
        outputs: io_diff(&old.summary.outputs, &new.summary.outputs),
        old: old.summary,
        new: new.summary,
        tensors_added: added,
        tensors_removed: removed,
        tensors_renamed: renamed,
        tensors_changed: changed,
        tensors_unchanged: unchanged,
        ops_changed,
    }
}
