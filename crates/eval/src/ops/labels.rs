//! Integer labels as `i64`: tract's ONNX front end types every `Cast` to int64 as `TDim` (its symbolic
//! dimension type, so shape arithmetic stays symbolic), which skl2onnx classifiers end with (`ArgMax`,
//! `ArrayFeatureExtractor`, `Cast`, `Reshape`). [`swap_in`] makes such a cast a plain `i64` one when its value
//! only reaches a model output (through reshapes), where no shape needs it: the same labels, without building
//! a `TDim` per row and casting it back for the report.

use tract_onnx::tract_hir::internal::*;
use tract_onnx::tract_hir::tract_core::ops::cast::Cast;
use tract_onnx::tract_hir::tract_core::ops::change_axes::{AxisOp, IntoShape};

/// Makes, in an optimised model, each integer-to-`TDim` `Cast` that feeds only a model output (directly or
/// through `IntoShape`/`AxisOp` nodes, each the only reader) an `i64` cast, and retypes that path. Returns how
/// many casts it changed.
pub fn swap_in(model: &mut TypedModel) -> TractResult<usize> {
    let mut changed = 0;
    for id in 0..model.nodes().len() {
        let node = model.node(id);
        let Some(cast) = node.op_as::<Cast>() else {
            continue;
        };
        let [input] = node.inputs.as_slice() else {
            continue;
        };
        let from = model.outlet_fact(*input)?.datum_type;
        if cast.to != TDim::datum_type() || !from.is_integer() {
            continue;
        }
        let Some(path) = path_to_output(model, id) else {
            continue;
        };
        model.node_mut(id).op = Box::new(Cast {
            to: i64::datum_type(),
        });
        for n in path {
            model.node_mut(n).outputs[0].fact.datum_type = i64::datum_type();
        }
        changed += 1;
    }
    Ok(changed)
}

/// The nodes from `id` to a model output through reshapes, each the only reader of the one before, if that is
/// where `id`'s value goes.
fn path_to_output(model: &TypedModel, id: usize) -> Option<Vec<usize>> {
    let mut path = vec![id];
    let mut at = id;
    loop {
        let node = model.node(at);
        if node.outputs.len() != 1 {
            return None;
        }
        let readers = &node.outputs[0].successors;
        if model.outputs.contains(&OutletId::new(at, 0)) {
            return readers.is_empty().then_some(path);
        }
        let [next] = readers.as_slice() else {
            return None;
        };
        let next = model.node(next.node);
        if next.op_is::<IntoShape>() || next.op_is::<AxisOp>() {
            at = next.id;
            path.push(at);
        } else {
            return None;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_classifiers_labels_come_out_as_i64() {
        // digits_mlp (skl2onnx): ArgMax, ArrayFeatureExtractor, Cast to int64, Reshape.
        let path =
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/digits_mlp.onnx");
        let mut model = crate::ops::onnx()
            .model_for_path(path)
            .and_then(|m| m.with_input_fact(0, f32::fact([4, 64]).into()))
            .and_then(|m| m.into_optimized())
            .expect("the fixture loads");
        let types = |m: &TypedModel| -> Vec<DatumType> {
            m.outputs
                .iter()
                .map(|o| m.outlet_fact(*o).unwrap().datum_type)
                .collect()
        };
        assert!(
            types(&model).contains(&TDim::datum_type()),
            "{:?}",
            types(&model)
        );
        assert_eq!(swap_in(&mut model).expect("retyped"), 1);
        assert!(
            types(&model).contains(&i64::datum_type()),
            "{:?}",
            types(&model)
        );
        assert!(!types(&model).contains(&TDim::datum_type()));
        let plan = model.into_runnable().expect("runnable");
        let out = plan
            .run(tvec![Tensor::zero::<f32>(&[4, 64]).unwrap().into_tvalue()])
            .expect("runs");
        assert!(
            out.iter()
                .any(|t| t.datum_type() == i64::datum_type() && t.len() == 4)
        );
    }
}
