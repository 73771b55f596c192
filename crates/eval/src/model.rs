//! Loading an ONNX model: the size limit, the check that the file is ONNX, its inputs, outputs and classes
//! read from the graph, and the runnable tract plan for a given batch shape.

use crate::error::{EvalError, EvalResult};
use crate::ops;
use crate::report::FileDigest;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use tract_onnx::pb::{ModelProto, tensor_proto::DataType, type_proto};
use tract_onnx::prelude::*;

/// Models larger than this (256 MiB) are refused unless the limit is raised: evaluation reads the whole
/// model into memory, and no scikit-learn model people trade here comes near it.
pub const DEFAULT_MAX_MODEL_BYTES: u64 = 256 << 20;

/// One graph input, as the file declares it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ModelInput {
    /// Its name.
    pub name: String,
    /// Its ONNX element type (`FLOAT`, `DOUBLE`, ...).
    pub elem_type: String,
    /// Its dimensions: a number, or `None` for a symbolic or unknown one.
    pub dims: Vec<Option<usize>>,
}

/// A loaded ONNX model.
#[derive(Clone)]
pub struct Model {
    /// The file.
    pub path: PathBuf,
    /// Its digest.
    pub digest: FileDigest,
    /// The graph inputs (initializers excluded).
    pub inputs: Vec<ModelInput>,
    /// The graph output names, in order.
    pub outputs: Vec<String>,
    /// The classes of the classifier operator or ZipMap in the graph, in probability-column order.
    pub classes: Option<Vec<i64>>,
    /// The ONNX operator types the graph uses, sorted, deduplicated.
    pub operators: Vec<String>,
    proto: ModelProto,
}

impl std::fmt::Debug for Model {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Model")
            .field("path", &self.path)
            .field("inputs", &self.inputs)
            .field("outputs", &self.outputs)
            .field("classes", &self.classes)
            .finish_non_exhaustive()
    }
}

/// The runnable plan tract built for the model.
pub(crate) type Plan = Arc<TypedRunnableModel>;

const CLASSIFIERS: &[&str] = &[
    "LinearClassifier",
    "SVMClassifier",
    "TreeEnsembleClassifier",
    "ZipMap",
];

fn elem_name(t: i32) -> String {
    DataType::try_from(t)
        .map(|d| d.as_str_name().to_string())
        .unwrap_or_else(|_| format!("type {t}"))
}

impl Model {
    /// Reads and checks a model file, refusing one over `max_bytes`.
    pub fn load(path: &Path, max_bytes: u64) -> EvalResult<Model> {
        let io = |source| EvalError::Io {
            path: path.to_owned(),
            source,
        };
        let size = std::fs::metadata(path).map_err(io)?.len();
        if size > max_bytes {
            return Err(EvalError::ModelTooLarge {
                path: path.to_owned(),
                bytes: size,
                limit: max_bytes,
            });
        }
        let bytes = std::fs::read(path).map_err(io)?;
        let digest = FileDigest::of(path, &bytes);
        let not_onnx = |reason: String| EvalError::NotOnnx {
            path: path.to_owned(),
            reason,
        };
        let proto = ops::onnx()
            .proto_model_for_read(&mut &bytes[..])
            .map_err(|e| {
                not_onnx(format!(
                    "it does not parse as an ONNX protobuf: {}",
                    root_cause(&e)
                ))
            })?;
        let graph = proto
            .graph
            .as_ref()
            .filter(|g| !g.node.is_empty() && !g.output.is_empty());
        let Some(graph) = graph.filter(|_| proto.ir_version > 0 && !proto.opset_import.is_empty())
        else {
            return Err(not_onnx(
                "it has no ir_version, opset or graph with nodes and outputs".into(),
            ));
        };
        let initializers: std::collections::HashSet<&str> =
            graph.initializer.iter().map(|t| t.name.as_str()).collect();
        let inputs = graph
            .input
            .iter()
            .filter(|i| !initializers.contains(i.name.as_str()))
            .map(|i| {
                let (elem_type, dims) = match i.r#type.as_ref().and_then(|t| t.value.as_ref()) {
                    Some(type_proto::Value::TensorType(t)) => (
                        elem_name(t.elem_type),
                        t.shape
                            .as_ref()
                            .map(|s| {
                                s.dim
                                    .iter()
                                    .map(|d| match d.value {
                                        Some(tract_onnx::pb::tensor_shape_proto::dimension::Value::DimValue(v))
                                            if v > 0 =>
                                        {
                                            Some(v as usize)
                                        }
                                        _ => None,
                                    })
                                    .collect()
                            })
                            .unwrap_or_default(),
                    ),
                    None => ("unknown".to_string(), vec![]),
                };
                ModelInput { name: i.name.clone(), elem_type, dims }
            })
            .collect();
        let mut classes = None;
        for node in graph
            .node
            .iter()
            .filter(|n| CLASSIFIERS.contains(&n.op_type.as_str()))
        {
            let ints = node
                .attribute
                .iter()
                .find(|a| a.name == "classlabels_int64s" || a.name == "classlabels_ints");
            let strings = node
                .attribute
                .iter()
                .any(|a| a.name == "classlabels_strings" && !a.strings.is_empty());
            if strings {
                return Err(EvalError::Unsupported(format!(
                    "{}: the classifier has string class labels; export it with integer labels (encode the \
                     classes as 0..K-1 before training)",
                    path.display()
                )));
            }
            if let Some(a) = ints {
                classes = Some(a.ints.clone());
                break;
            }
        }
        let mut operators: Vec<String> = graph.node.iter().map(|n| n.op_type.clone()).collect();
        operators.sort();
        operators.dedup();
        Ok(Model {
            path: path.to_owned(),
            digest,
            inputs,
            outputs: graph.output.iter().map(|o| o.name.clone()).collect(),
            classes,
            operators,
            proto,
        })
    }

    /// Builds the plan for inputs of `[batch, width]` each: one concrete shape, so tract picks its kernels
    /// once and every batch runs the same code.
    pub(crate) fn plan(
        &self,
        batch: usize,
        widths: &[usize],
        types: &[DatumType],
    ) -> EvalResult<Plan> {
        let fail = |e: TractError| EvalError::Model {
            path: self.path.clone(),
            message: chain(&e),
        };
        let mut model = ops::onnx()
            .model_for_proto_model(&self.proto)
            .map_err(&fail)?;
        for (i, (&w, &dt)) in widths.iter().zip(types).enumerate() {
            let fact = InferenceFact::dt_shape(dt, tvec![batch.to_dim(), w.to_dim()]);
            model.set_input_fact(i, fact).map_err(&fail)?;
        }
        // Typed and decluttered for this one shape; then a small image's Conv, Relu and MaxPool and the dense
        // matrix products swapped for our loops (ops::cnn, ops::matmul: faster on these shapes, and the same
        // bits on every machine), optimised, and tract's softmax and argmax on short rows swapped for our row
        // loops (ops::rows): each of those was most of a small network's time in tract.
        let plan = model
            .into_typed()
            .and_then(|m| m.into_decluttered())
            .and_then(|mut m| {
                ops::swap_in_decluttered(&mut m)?;
                let mut m = m.into_optimized()?;
                ops::swap_in_optimized(&mut m)?;
                m.into_runnable()
            })
            .map_err(|e| {
            let message = chain(&e);
            let missing: Vec<&String> = self
                .operators
                .iter()
                .filter(|op| message.contains(&format!("Unimplemented({op})")) || message.contains(op.as_str()))
                .collect();
            if message.contains("Unimplemented") && !missing.is_empty() {
                EvalError::Unsupported(format!(
                    "{}: tract cannot run operator {} (the operators this evaluator adds: {}): {message}",
                    self.path.display(),
                    missing.iter().map(|s| s.as_str()).collect::<Vec<_>>().join(", "),
                    ops::EXTENSIONS.join(", ")
                ))
            } else {
                EvalError::Model { path: self.path.clone(), message }
            }
        })?;
        Ok(plan)
    }
}

fn chain(e: &TractError) -> String {
    e.chain()
        .map(|c| c.to_string())
        .collect::<Vec<_>>()
        .join(": ")
}

fn root_cause(e: &TractError) -> String {
    e.root_cause().to_string()
}
