//! Where `evaluate`'s time goes on one model: prints the seconds of each phase (tract's model loading,
//! typing, decluttering, optimising, the plan), the optimised graph, and per node the seconds spent running
//! it over every batch, then the time of a full `evaluate`.
//!
//! `eval_phases MODEL DATA LABEL [ROWS] [BATCH] [tract]`: DATA is a CSV (LABEL a column) or an NPY (LABEL the
//! labels NPY); its rows are tiled to ROWS (default 100000) as bench/eval/run.sh does. With `tract`, the
//! per-node figures are of tract's own kernels (without `scal3ml_eval::ops::swap_in_decluttered` and `ops::swap_in_optimized`).

use scal3ml_eval::{Dataset, EvalConfig, Model, Values, evaluate, ops};
use std::collections::BTreeMap;
use std::path::Path;
use std::time::Instant;
use tract_onnx::prelude::*;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    if args.len() < 4 {
        return Err("usage: eval_phases MODEL DATA LABEL [ROWS] [BATCH] [tract]".into());
    }
    let rows: usize = args
        .get(4)
        .map(|r| r.parse())
        .transpose()?
        .unwrap_or(100_000);
    let batch: usize = args.get(5).map(|r| r.parse()).transpose()?.unwrap_or(256);
    let model_path = Path::new(&args[1]);
    let mut data = if args[2].ends_with(".npy") {
        Dataset::from_npy(Path::new(&args[2]), Path::new(&args[3]))?
    } else {
        Dataset::from_csv(Path::new(&args[2]), &args[3], None)?
    };
    let n = data.rows();
    let width = data.columns.len();
    fn tile<T: Copy>(v: &[T], width: usize, n: usize, rows: usize) -> Vec<T> {
        (0..rows)
            .flat_map(|r| v[(r % n) * width..][..width].to_vec())
            .collect()
    }
    data.values = match &data.values {
        Values::F32(v) => Values::F32(tile(v, width, n, rows)),
        Values::F64(v) => Values::F64(tile(v, width, n, rows)),
    };
    data.labels = (0..rows).map(|r| data.labels[r % n]).collect();

    let t = Instant::now();
    let mut model = ops::onnx().model_for_path(model_path)?;
    let load = t.elapsed().as_secs_f64();
    let dt = f32::datum_type();
    model.set_input_fact(
        0,
        InferenceFact::dt_shape(dt, tvec![batch.to_dim(), width.to_dim()]),
    )?;
    let t = Instant::now();
    let typed = model.into_typed()?;
    let typing = t.elapsed().as_secs_f64();
    let t = Instant::now();
    let decluttered = typed.into_decluttered()?;
    let declutter = t.elapsed().as_secs_f64();
    let mut decluttered = decluttered;
    if args.get(6).map(String::as_str) != Some("tract") {
        println!(
            "swapped {} nodes for ops::cnn and ops::matmul",
            ops::swap_in_decluttered(&mut decluttered)?
        );
    }
    let t = Instant::now();
    let mut optimized = decluttered.into_optimized()?;
    let optimize = t.elapsed().as_secs_f64();
    if args.get(6).map(String::as_str) != Some("tract") {
        println!(
            "swapped {} nodes for ops::rows",
            ops::swap_in_optimized(&mut optimized)?
        );
    }
    let t = Instant::now();
    let plan = optimized.into_runnable()?;
    let runnable = t.elapsed().as_secs_f64();
    println!(
        "load {load:.6} s, into_typed {typing:.6} s, declutter {declutter:.6} s, optimize {optimize:.6} s, \
         into_runnable {runnable:.6} s"
    );
    for node in plan.model().nodes() {
        let facts: Vec<String> = node
            .outputs
            .iter()
            .map(|o| format!("{:?}", o.fact))
            .collect();
        println!(
            "  #{} {} [{}] -> {}",
            node.id,
            node.name,
            node.op().name(),
            facts.join(", ")
        );
    }

    // Every batch's input, built once before any timing (evaluate fills them batch by batch: its time less the
    // nodes' sum below is that filling and the metrics).
    let batches = rows.div_ceil(batch);
    let inputs: Vec<Tensor> = (0..batches)
        .map(|b| {
            let values: Vec<f32> = (b * batch..(b + 1) * batch)
                .flat_map(|r| {
                    let r = r.min(rows - 1);
                    let values = &data.values;
                    (0..width).map(move |j| match values {
                        Values::F32(v) => v[r * width + j],
                        Values::F64(v) => v[r * width + j] as f32,
                    })
                })
                .collect();
            Tensor::from_shape(&[batch, width], &values)
        })
        .collect::<TractResult<_>>()?;
    let mut state = plan.spawn()?;
    let mut per_node: BTreeMap<usize, f64> = BTreeMap::new();
    let t = Instant::now();
    for input in &inputs {
        state.run_plan_with_eval(
            tvec![input.clone().into_tvalue()],
            |ctx, op_state, node, inputs| {
                let t0 = Instant::now();
                let out = tract_onnx::tract_core::plan::eval(ctx, op_state, node, inputs);
                *per_node.entry(node.id).or_default() += t0.elapsed().as_secs_f64();
                out
            },
        )?;
    }
    let run = t.elapsed().as_secs_f64();
    let mut state = plan.spawn()?;
    let t = Instant::now();
    for input in &inputs {
        state.run(tvec![input.clone().into_tvalue()])?;
    }
    let plain_run = t.elapsed().as_secs_f64();
    println!(
        "run {run:.6} s instrumented, {plain_run:.6} s plain ({:.0} rows/s, inputs ready)",
        rows as f64 / plain_run
    );
    let total: f64 = per_node.values().sum();
    for (id, s) in &per_node {
        let node = plan.model().node(*id);
        println!(
            "  #{id} {} [{}]: {s:.6} s ({:.1}%)",
            node.name,
            node.op().name(),
            100.0 * s / total
        );
    }

    let config = EvalConfig::default().with_batch_size(batch);
    let m = Model::load(model_path, config.max_model_bytes)?;
    let mut best = f64::INFINITY;
    for _ in 0..3 {
        let t = Instant::now();
        let e = evaluate(&m, &data, &config)?;
        best = best.min(e.seconds);
        println!(
            "evaluate: {:.6} s timed, {:.6} s with metrics ({:.0} rows/s timed)",
            e.seconds,
            t.elapsed().as_secs_f64(),
            rows as f64 / e.seconds
        );
    }
    println!(
        "best evaluate {best:.6} s, {:.0} rows/s",
        rows as f64 / best
    );
    Ok(())
}
