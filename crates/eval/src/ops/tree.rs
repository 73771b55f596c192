//! `TreeEnsembleRegressor` and `TreeEnsembleClassifier` (ai.onnx.ml), as skl2onnx exports decision trees,
//! random forests, extra trees and gradient boosting: every tree walked for each row, leaf weights added per
//! target or class in `f32` in tree order, then the aggregate, base values and post transform, following
//! onnxruntime's aggregators case by case (its binary cases included).
//!
//! tract has its own TreeEnsembleClassifier, but 0.23's labels are wrong for binary forests exported the way
//! skl2onnx does (one weight column: every label comes out as the first class), so we replace it.

use super::row_op::{Out, RowInfer, RowOp, floats, ints, no_post_transform};
use std::collections::HashMap;
use tract_onnx::model::ParsingContext;
use tract_onnx::pb::NodeProto;
use tract_onnx::tract_hir::internal::*;

#[derive(Debug, Clone, Copy, PartialEq)]
enum Mode {
    Leq,
    Lt,
    Gte,
    Gt,
    Eq,
    Neq,
    Leaf,
}

#[derive(Debug, Clone, PartialEq)]
struct Node {
    mode: Mode,
    feature: usize,
    value: f32,
    true_child: usize,
    false_child: usize,
    nan_is_true: bool,
    /// Indices into `TreeRegressor::weights`.
    weights: std::ops::Range<usize>,
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Aggregate {
    Sum,
    Average,
    Min,
    Max,
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) struct TreeRegressor {
    forest: Forest,
    targets: usize,
    aggregate: Aggregate,
    base: Vec<f32>,
}

/// The trees of an ensemble: nodes, one root per tree, and each leaf's (output column, weight) list.
#[derive(Debug, Clone, PartialEq)]
struct Forest {
    nodes: Vec<Node>,
    roots: Vec<usize>,
    weights: Vec<(usize, f32)>,
    max_feature: usize,
}

pub(crate) fn build(
    _ctx: &ParsingContext<'_>,
    node: &NodeProto,
) -> TractResult<(Box<dyn InferenceOp>, Vec<String>)> {
    no_post_transform(node)?;
    let targets = node.get_attr_opt::<i64>("n_targets")?.unwrap_or(1);
    ensure!(
        targets >= 1,
        "TreeEnsembleRegressor: n_targets must be >= 1"
    );
    let targets = targets as usize;
    let forest = parse_forest(node, "target", targets)?;
    let aggregate = match node
        .get_attr_opt::<&str>("aggregate_function")?
        .unwrap_or("SUM")
    {
        "SUM" => Aggregate::Sum,
        "AVERAGE" => Aggregate::Average,
        "MIN" => Aggregate::Min,
        "MAX" => Aggregate::Max,
        other => bail!("TreeEnsembleRegressor: unknown aggregate_function {other}"),
    };
    let base = floats(node, "base_values")?;
    ensure!(
        base.is_empty() || base.len() == targets,
        "TreeEnsembleRegressor: base_values has {} values for {targets} targets",
        base.len()
    );
    Ok((
        expand(RowInfer(TreeRegressor {
            forest,
            targets,
            aggregate,
            base,
        })),
        vec![],
    ))
}

/// Reads the nodes and the leaf weights (`{prefix}_treeids`, `_nodeids`, `_ids`, `_weights`).
fn parse_forest(node: &NodeProto, prefix: &str, outputs: usize) -> TractResult<Forest> {
    let op = node.op_type.clone();
    let tree_ids = ints(node, "nodes_treeids")?;
    let node_ids = ints(node, "nodes_nodeids")?;
    let feature_ids = ints(node, "nodes_featureids")?;
    let values = floats(node, "nodes_values")?;
    let true_ids = ints(node, "nodes_truenodeids")?;
    let false_ids = ints(node, "nodes_falsenodeids")?;
    let modes: Vec<String> = node
        .get_attr_opt_vec::<&str>("nodes_modes")?
        .unwrap_or_default()
        .iter()
        .map(|s| s.to_string())
        .collect();
    let missing = ints(node, "nodes_missing_value_tracks_true")?;
    let n = tree_ids.len();
    ensure!(
        n > 0,
        "{op}: no nodes (nodes_values_as_tensor is not supported)"
    );
    for (name, len) in [
        ("nodes_nodeids", node_ids.len()),
        ("nodes_featureids", feature_ids.len()),
        ("nodes_values", values.len()),
        ("nodes_truenodeids", true_ids.len()),
        ("nodes_falsenodeids", false_ids.len()),
        ("nodes_modes", modes.len()),
    ] {
        ensure!(
            len == n,
            "{op}: {name} has {len} entries, nodes_treeids {n}"
        );
    }
    let index: HashMap<(i64, i64), usize> = tree_ids
        .iter()
        .zip(&node_ids)
        .enumerate()
        .map(|(i, (&t, &id))| ((t, id), i))
        .collect();
    let child = |i: usize, id: i64| -> TractResult<usize> {
        index
            .get(&(tree_ids[i], id))
            .copied()
            .with_context(|| format!("{op}: tree {} has no node {id}", tree_ids[i]))
    };
    let mut nodes = Vec::with_capacity(n);
    for i in 0..n {
        let mode = match modes[i].as_str() {
            "BRANCH_LEQ" => Mode::Leq,
            "BRANCH_LT" => Mode::Lt,
            "BRANCH_GTE" => Mode::Gte,
            "BRANCH_GT" => Mode::Gt,
            "BRANCH_EQ" => Mode::Eq,
            "BRANCH_NEQ" => Mode::Neq,
            "LEAF" => Mode::Leaf,
            other => bail!("{op}: unknown node mode {other}"),
        };
        let (true_child, false_child) = if mode == Mode::Leaf {
            (0, 0)
        } else {
            (child(i, true_ids[i])?, child(i, false_ids[i])?)
        };
        ensure!(feature_ids[i] >= 0, "{op}: negative feature id");
        nodes.push(Node {
            mode,
            feature: feature_ids[i] as usize,
            value: values[i],
            true_child,
            false_child,
            nan_is_true: missing.get(i).is_some_and(|&m| m != 0),
            weights: 0..0,
        });
    }
    // Leaf weights, in attribute order within each leaf.
    let t_tree = ints(node, &format!("{prefix}_treeids"))?;
    let t_node = ints(node, &format!("{prefix}_nodeids"))?;
    let t_id = ints(node, &format!("{prefix}_ids"))?;
    let t_weight = floats(node, &format!("{prefix}_weights"))?;
    ensure!(
        t_node.len() == t_tree.len()
            && t_id.len() == t_tree.len()
            && t_weight.len() == t_tree.len(),
        "{op}: {prefix}_* attributes differ in length"
    );
    let mut per_leaf: Vec<Vec<(usize, f32)>> = vec![vec![]; n];
    for i in 0..t_tree.len() {
        let leaf = index
            .get(&(t_tree[i], t_node[i]))
            .copied()
            .with_context(|| {
                format!(
                    "{op}: {prefix} names tree {} node {}, not in the trees",
                    t_tree[i], t_node[i]
                )
            })?;
        ensure!(
            t_id[i] >= 0 && (t_id[i] as usize) < outputs,
            "{op}: {prefix} id {} out of 0..{outputs}",
            t_id[i]
        );
        per_leaf[leaf].push((t_id[i] as usize, t_weight[i]));
    }
    let mut weights = vec![];
    for (node, w) in nodes.iter_mut().zip(per_leaf) {
        let start = weights.len();
        weights.extend(w);
        node.weights = start..weights.len();
    }
    // Roots: the nodes no other node of their tree points to, one per tree, in order of first appearance.
    let mut is_child = vec![false; n];
    for node in nodes.iter().filter(|n| n.mode != Mode::Leaf) {
        is_child[node.true_child] = true;
        is_child[node.false_child] = true;
    }
    let mut roots = vec![];
    let mut seen = std::collections::HashSet::new();
    for i in 0..n {
        if !is_child[i] {
            ensure!(
                seen.insert(tree_ids[i]),
                "{op}: tree {} has two roots",
                tree_ids[i]
            );
            roots.push(i);
        }
    }
    let max_feature = nodes
        .iter()
        .filter(|n| n.mode != Mode::Leaf)
        .map(|n| n.feature)
        .max()
        .unwrap_or(0);
    Ok(Forest {
        nodes,
        roots,
        weights,
        max_feature,
    })
}

impl Forest {
    fn leaf(&self, root: usize, row: &[f32]) -> &Node {
        let mut node = &self.nodes[root];
        loop {
            let x = row[node.feature];
            let v = node.value;
            let go_true = match node.mode {
                Mode::Leaf => return node,
                Mode::Leq => x <= v,
                Mode::Lt => x < v,
                Mode::Gte => x >= v,
                Mode::Gt => x > v,
                Mode::Eq => x == v,
                Mode::Neq => x != v,
            } || (node.nan_is_true && x.is_nan());
            node = &self.nodes[if go_true {
                node.true_child
            } else {
                node.false_child
            }];
        }
    }

    fn check(&self, op: &str, f: usize) -> TractResult<()> {
        ensure!(
            f > self.max_feature,
            "{op}: rows have {f} features, the trees use feature #{}",
            self.max_feature
        );
        Ok(())
    }
}

impl RowOp for TreeRegressor {
    fn name(&self) -> &'static str {
        "TreeEnsembleRegressor"
    }

    fn outputs(&self) -> Vec<Out> {
        vec![Out::Floats(self.targets)]
    }

    fn features(&self) -> Option<usize> {
        None
    }

    fn eval_rows(&self, x: &[f32], n: usize, f: usize) -> TractResult<Vec<Tensor>> {
        self.forest.check(self.name(), f)?;
        let t = self.targets;
        let mut out = Vec::with_capacity(n * t);
        let mut score = vec![0f32; t];
        let mut hit = vec![false; t];
        for row in x.chunks_exact(f).take(n) {
            score.iter_mut().for_each(|s| *s = 0.0);
            hit.iter_mut().for_each(|h| *h = false);
            for &root in &self.forest.roots {
                let leaf = self.forest.leaf(root, row);
                for &(target, w) in &self.forest.weights[leaf.weights.clone()] {
                    let s = &mut score[target];
                    *s = match self.aggregate {
                        Aggregate::Sum | Aggregate::Average => *s + w,
                        Aggregate::Min if hit[target] => s.min(w),
                        Aggregate::Max if hit[target] => s.max(w),
                        Aggregate::Min | Aggregate::Max => w,
                    };
                    hit[target] = true;
                }
            }
            for (j, s) in score.iter().enumerate() {
                let v = match self.aggregate {
                    Aggregate::Average => s / self.forest.roots.len() as f32,
                    _ => *s,
                };
                out.push(v + self.base.get(j).copied().unwrap_or(0.0));
            }
        }
        Ok(vec![Tensor::from_shape(&[n, t], &out)?])
    }
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum PostTransform {
    None,
    Logistic,
    Softmax,
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) struct TreeClassifier {
    forest: Forest,
    classes: Vec<i64>,
    base: Vec<f32>,
    post: PostTransform,
    /// Two classes and leaves that all weigh the same one column (skl2onnx's binary layout).
    binary_case: bool,
    weights_all_positive: bool,
}

pub(crate) fn build_classifier(
    _ctx: &ParsingContext<'_>,
    node: &NodeProto,
) -> TractResult<(Box<dyn InferenceOp>, Vec<String>)> {
    ensure!(
        node.get_attr_opt_vec::<&str>("classlabels_strings")?
            .is_none(),
        "TreeEnsembleClassifier with string class labels is not supported: export the model with integer labels"
    );
    let classes = ints(node, "classlabels_int64s")?;
    ensure!(
        classes.len() >= 2,
        "TreeEnsembleClassifier: needs at least two classlabels_int64s"
    );
    let forest = parse_forest(node, "class", classes.len())?;
    let post = match node
        .get_attr_opt::<&str>("post_transform")?
        .unwrap_or("NONE")
    {
        "NONE" => PostTransform::None,
        "LOGISTIC" => PostTransform::Logistic,
        "SOFTMAX" => PostTransform::Softmax,
        other => bail!(
            "TreeEnsembleClassifier: post_transform {other} is not supported (NONE, LOGISTIC, SOFTMAX are)"
        ),
    };
    let base = floats(node, "base_values")?;
    let columns: std::collections::BTreeSet<usize> = forest.weights.iter().map(|w| w.0).collect();
    let op = TreeClassifier {
        binary_case: classes.len() == 2 && columns.len() == 1,
        weights_all_positive: forest.weights.iter().all(|w| w.1 >= 0.0),
        forest,
        classes,
        base,
        post,
    };
    Ok((expand(RowInfer(op)), vec![]))
}

fn logistic(v: f32) -> f32 {
    let e = 1.0 / (1.0 + (-v.abs()).exp());
    if v < 0.0 { 1.0 - e } else { e }
}

fn softmax(v: &mut [f32]) {
    let max = v.iter().fold(-f32::MAX, |m, &x| if x > m { x } else { m });
    let mut sum = 0f32;
    for x in v.iter_mut() {
        *x = (*x - max).exp();
        sum += *x;
    }
    for x in v.iter_mut() {
        *x /= sum;
    }
}

impl TreeClassifier {
    /// onnxruntime's TreeAggregatorClassifier::FinalizeScores: the label, and the scores written.
    fn finalize(&self, score: &mut [f32], has: &mut [bool], out: &mut Vec<f32>) -> i64 {
        let k = self.classes.len();
        if k > 2 {
            for (j, &b) in self.base.iter().enumerate().take(k) {
                score[j] = if has[j] { score[j] + b } else { b };
                has[j] = true;
            }
            let mut best: Option<usize> = None;
            for j in 0..k {
                if has[j] && best.is_none_or(|b| score[j] > score[b]) {
                    best = Some(j);
                }
            }
            let label = self.classes[best.unwrap_or(0)];
            let start = out.len();
            out.extend_from_slice(score);
            self.transform(&mut out[start..]);
            return label;
        }
        // Two classes.
        let mut write_second = -1;
        let mut len = 2;
        match self.base.len() {
            2 if has[1] => {
                score[1] = self.base[1] + score[0];
                score[0] = -score[1];
            }
            2 => {
                score[1] += self.base[1];
                score[0] += self.base[0];
            }
            1 => {
                score[0] += self.base[0];
                if !has[1] {
                    len = 1;
                }
            }
            _ => {
                write_second = 3;
                if !has[1] {
                    len = 1;
                }
            }
        }
        let positive = if len == 2 && has[1] {
            score[1]
        } else if has[0] {
            score[0]
        } else {
            0.0
        };
        let label = if self.binary_case {
            let (win, code) = if self.weights_all_positive {
                (positive > 0.5, 0)
            } else {
                (positive > 0.0, 2)
            };
            write_second = if win { code } else { code + 1 };
            self.classes[win as usize]
        } else {
            (positive > 0.0) as i64
        };
        if len == 2 {
            let start = out.len();
            out.extend_from_slice(&score[..2]);
            self.transform(&mut out[start..]);
        } else {
            let s = score[0];
            match (write_second, self.post) {
                (0 | 1, _) => out.extend_from_slice(&[1.0 - s, s]),
                (2 | 3, PostTransform::Logistic) => {
                    out.extend_from_slice(&[logistic(-s), logistic(s)])
                }
                (2 | 3, _) => out.extend_from_slice(&[-s, s]),
                _ => out.extend_from_slice(&[s, 0.0]),
            }
        }
        label
    }

    fn transform(&self, v: &mut [f32]) {
        match self.post {
            PostTransform::None => {}
            PostTransform::Logistic => v.iter_mut().for_each(|x| *x = logistic(*x)),
            PostTransform::Softmax => softmax(v),
        }
    }
}

impl RowOp for TreeClassifier {
    fn name(&self) -> &'static str {
        "TreeEnsembleClassifier"
    }

    fn outputs(&self) -> Vec<Out> {
        vec![Out::Labels, Out::Floats(self.classes.len())]
    }

    fn features(&self) -> Option<usize> {
        None
    }

    fn eval_rows(&self, x: &[f32], n: usize, f: usize) -> TractResult<Vec<Tensor>> {
        self.forest.check(self.name(), f)?;
        let k = self.classes.len();
        let mut labels = Vec::with_capacity(n);
        let mut out = Vec::with_capacity(n * k);
        let mut score = vec![0f32; k];
        let mut has = vec![false; k];
        for row in x.chunks_exact(f).take(n) {
            score.iter_mut().for_each(|s| *s = 0.0);
            has.iter_mut().for_each(|h| *h = false);
            for &root in &self.forest.roots {
                let leaf = self.forest.leaf(root, row);
                for &(class, w) in &self.forest.weights[leaf.weights.clone()] {
                    score[class] += w;
                    has[class] = true;
                }
            }
            labels.push(self.finalize(&mut score, &mut has, &mut out));
        }
        Ok(vec![
            Tensor::from_shape(&[n], &labels)?,
            Tensor::from_shape(&[n, k], &out)?,
        ])
    }
}
