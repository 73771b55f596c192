//! `SVMClassifier` and `SVMRegressor` (ai.onnx.ml), as skl2onnx exports SVC, NuSVC, SVR, NuSVR and OneClassSVM:
//! the kernel against every support vector, one-vs-one decision values summed in `f64`, votes, and with
//! `prob_a`/`prob_b` libsvm's Platt scaling and pairwise coupling, all in onnxruntime's order and precision.
//! The liblinear form (no support vectors) of the classifier, and post transforms other than NONE, are refused.

use super::row_op::{Out, RowInfer, RowOp, floats, ints, no_post_transform};
use tract_onnx::model::ParsingContext;
use tract_onnx::pb::NodeProto;
use tract_onnx::tract_hir::internal::*;

#[derive(Debug, Clone, Copy, PartialEq)]
enum Kernel {
    Linear,
    Poly { gamma: f32, coef0: f32, degree: f32 },
    Rbf { gamma: f32 },
    Sigmoid { gamma: f32, coef0: f32 },
}

impl Kernel {
    fn parse(node: &NodeProto) -> TractResult<Kernel> {
        let params = floats(node, "kernel_params")?;
        let p = |i: usize| params.get(i).copied().unwrap_or(0.0);
        let (gamma, coef0, degree) = (p(0), p(1), p(2));
        let kind: Option<&str> = node.get_attr_opt("kernel_type")?;
        Ok(match kind.unwrap_or("LINEAR") {
            "LINEAR" => Kernel::Linear,
            "POLY" => Kernel::Poly {
                gamma,
                coef0,
                degree,
            },
            "RBF" => Kernel::Rbf { gamma },
            "SIGMOID" => Kernel::Sigmoid { gamma, coef0 },
            other => bail!("{}: unknown kernel_type {other}", node.op_type),
        })
    }

    /// k(x, sv), computed as onnxruntime does: the dot product or squared distance summed in `f32`.
    fn eval(&self, x: &[f32], sv: &[f32]) -> f32 {
        let dot = || x.iter().zip(sv).fold(0f32, |acc, (a, b)| acc + a * b);
        match *self {
            Kernel::Linear => dot(),
            Kernel::Poly {
                gamma,
                coef0,
                degree,
            } => (gamma * dot() + coef0).powf(degree),
            Kernel::Rbf { gamma } => {
                let d2 = x.iter().zip(sv).fold(0f32, |acc, (a, b)| {
                    let d = a - b;
                    acc + d * d
                });
                (-gamma * d2).exp()
            }
            Kernel::Sigmoid { gamma, coef0 } => (gamma * dot() + coef0).tanh(),
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) struct SvmClassifier {
    kernel: Kernel,
    classes: Vec<i64>,
    /// Support vectors, row-major `[vectors, features]`.
    support: Vec<f32>,
    features: usize,
    vectors_per_class: Vec<usize>,
    /// `[classes - 1, vectors]`.
    coefficients: Vec<f32>,
    rho: Vec<f32>,
    prob_a: Vec<f32>,
    prob_b: Vec<f32>,
}

pub(crate) fn build_classifier(
    _ctx: &ParsingContext<'_>,
    node: &NodeProto,
) -> TractResult<(Box<dyn InferenceOp>, Vec<String>)> {
    no_post_transform(node)?;
    ensure!(
        node.get_attr_opt_vec::<&str>("classlabels_strings")?
            .is_none(),
        "SVMClassifier with string class labels is not supported: export the model with integer labels"
    );
    let classes = ints(node, "classlabels_ints")?;
    ensure!(
        classes.len() >= 2,
        "SVMClassifier: needs at least two classlabels_ints"
    );
    let vectors_per_class: Vec<usize> = ints(node, "vectors_per_class")?
        .iter()
        .map(|&v| v.max(0) as usize)
        .collect();
    let vectors: usize = vectors_per_class.iter().sum();
    ensure!(
        vectors > 0,
        "SVMClassifier without support vectors (the liblinear form) is not supported"
    );
    ensure!(
        vectors_per_class.len() == classes.len(),
        "SVMClassifier: vectors_per_class has {} entries for {} classes",
        vectors_per_class.len(),
        classes.len()
    );
    let support = floats(node, "support_vectors")?;
    ensure!(
        !support.is_empty() && support.len().is_multiple_of(vectors),
        "SVMClassifier: support_vectors length does not divide into {vectors} vectors"
    );
    let coefficients = floats(node, "coefficients")?;
    let k = classes.len();
    let pairs = k * (k - 1) / 2;
    ensure!(
        coefficients.len() >= (k - 1) * vectors,
        "SVMClassifier: coefficients too short"
    );
    let rho = floats(node, "rho")?;
    ensure!(
        rho.len() >= pairs,
        "SVMClassifier: rho needs {pairs} values"
    );
    let prob_a = floats(node, "prob_a")?;
    let prob_b = floats(node, "prob_b")?;
    ensure!(
        prob_a.len() == prob_b.len() && (prob_a.is_empty() || prob_a.len() >= pairs),
        "SVMClassifier: prob_a and prob_b need {pairs} values each"
    );
    let op = SvmClassifier {
        kernel: Kernel::parse(node)?,
        features: support.len() / vectors,
        classes,
        support,
        vectors_per_class,
        coefficients,
        rho,
        prob_a,
        prob_b,
    };
    Ok((expand(RowInfer(op)), vec![]))
}

impl SvmClassifier {
    fn vectors(&self) -> usize {
        self.support.len() / self.features
    }

    fn score_columns(&self) -> usize {
        let k = self.classes.len();
        match (self.prob_a.is_empty(), k) {
            (false, _) => k,
            (true, 2) => 2,
            (true, _) => k * (k - 1) / 2,
        }
    }
}

fn logistic(v: f32) -> f32 {
    let e = 1.0 / (1.0 + (-v.abs()).exp());
    if v < 0.0 { 1.0 - e } else { e }
}

/// libsvm's pairwise coupling (Wu, Lin and Weng 2004, method 2) in `f32`, as onnxruntime's
/// `multiclass_probability`: `r` is the `k x k` matrix of pairwise probabilities.
fn couple(k: usize, r: &[f32], p: &mut [f32]) {
    let mut q = vec![0f32; k * k];
    let mut qp = vec![0f32; k];
    let eps = 0.005f32 / k as f32;
    for i in 0..k {
        p[i] = 1.0 / k as f32;
        for j in 0..i {
            q[i * k + i] += r[j * k + i] * r[j * k + i];
            q[i * k + j] = q[j * k + i];
        }
        for j in i + 1..k {
            q[i * k + i] += r[j * k + i] * r[j * k + i];
            q[i * k + j] = -r[j * k + i] * r[i * k + j];
        }
    }
    for _ in 0..100 {
        let mut pqp = 0f32;
        for i in 0..k {
            qp[i] = 0.0;
            for j in 0..k {
                qp[i] += q[i * k + j] * p[j];
            }
            pqp += p[i] * qp[i];
        }
        let max_error = qp.iter().fold(0f32, |m, v| m.max((v - pqp).abs()));
        if max_error < eps {
            break;
        }
        for i in 0..k {
            let diff = (-qp[i] + pqp) / q[i * k + i];
            p[i] += diff;
            pqp = (pqp + diff * (diff * q[i * k + i] + 2.0 * qp[i])) / (1.0 + diff) / (1.0 + diff);
            for j in 0..k {
                qp[j] = (qp[j] + diff * q[i * k + j]) / (1.0 + diff);
                p[j] /= 1.0 + diff;
            }
        }
    }
}

impl RowOp for SvmClassifier {
    fn name(&self) -> &'static str {
        "SVMClassifier"
    }

    fn outputs(&self) -> Vec<Out> {
        vec![Out::Labels, Out::Floats(self.score_columns())]
    }

    fn features(&self) -> Option<usize> {
        Some(self.features)
    }

    fn eval_rows(&self, x: &[f32], n: usize, f: usize) -> TractResult<Vec<Tensor>> {
        let k = self.classes.len();
        let vectors = self.vectors();
        let cols = self.score_columns();
        let starts: Vec<usize> = self
            .vectors_per_class
            .iter()
            .scan(0, |acc, &c| {
                let s = *acc;
                *acc += c;
                Some(s)
            })
            .collect();
        let mut labels = Vec::with_capacity(n);
        let mut out = Vec::with_capacity(n * cols);
        let mut kernels = vec![0f32; vectors];
        let mut scores = Vec::with_capacity(k * (k - 1) / 2);
        let mut votes = vec![0i64; k];
        let mut r = vec![0f32; k * k];
        let mut p = vec![0f32; k];
        for row in x.chunks_exact(f).take(n) {
            for (v, kv) in kernels.iter_mut().enumerate() {
                *kv = self.kernel.eval(row, &self.support[v * f..(v + 1) * f]);
            }
            scores.clear();
            votes.iter_mut().for_each(|v| *v = 0);
            let mut pair = 0;
            for i in 0..k.saturating_sub(1) {
                for j in i + 1..k {
                    let mut sum = 0f64;
                    let ci = &self.coefficients[(j - 1) * vectors..];
                    for m in starts[i]..starts[i] + self.vectors_per_class[i] {
                        sum += (ci[m] * kernels[m]) as f64;
                    }
                    let cj = &self.coefficients[i * vectors..];
                    for m in starts[j]..starts[j] + self.vectors_per_class[j] {
                        sum += (cj[m] * kernels[m]) as f64;
                    }
                    sum += self.rho[pair] as f64;
                    pair += 1;
                    scores.push(sum as f32);
                    votes[if sum > 0.0 { i } else { j }] += 1;
                }
            }
            // The first class with the most votes, as std::max_element picks.
            let mut best = 0;
            for (c, &v) in votes.iter().enumerate() {
                if v > votes[best] {
                    best = c;
                }
            }
            labels.push(self.classes[best]);
            if !self.prob_a.is_empty() {
                let mut index = 0;
                for i in 0..k - 1 {
                    for j in i + 1..k {
                        let v =
                            1.0 - logistic(scores[index] * self.prob_a[index] + self.prob_b[index]);
                        let v = v.clamp(1.0e-7, 1.0 - 1.0e-7);
                        r[i * k + j] = v;
                        r[j * k + i] = 1.0 - v;
                        index += 1;
                    }
                }
                couple(k, &r, &mut p);
                out.extend_from_slice(&p);
            } else if k == 2 {
                out.extend_from_slice(&[-scores[0], scores[0]]);
            } else {
                out.extend_from_slice(&scores);
            }
        }
        Ok(vec![
            Tensor::from_shape(&[n], &labels)?,
            Tensor::from_shape(&[n, cols], &out)?,
        ])
    }
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) struct SvmRegressor {
    kernel: Kernel,
    /// Row-major `[vectors, features]`; empty in the linear form, where `coefficients` are per feature.
    support: Vec<f32>,
    features: usize,
    coefficients: Vec<f32>,
    rho: f32,
    one_class: bool,
}

pub(crate) fn build_regressor(
    _ctx: &ParsingContext<'_>,
    node: &NodeProto,
) -> TractResult<(Box<dyn InferenceOp>, Vec<String>)> {
    no_post_transform(node)?;
    let n_supports = node.get_attr_opt::<i64>("n_supports")?.unwrap_or(0).max(0) as usize;
    let coefficients = floats(node, "coefficients")?;
    ensure!(
        !coefficients.is_empty(),
        "SVMRegressor: coefficients are empty"
    );
    let support = floats(node, "support_vectors")?;
    let (kernel, features) = if n_supports > 0 {
        ensure!(
            support.len().is_multiple_of(n_supports) && !support.is_empty(),
            "SVMRegressor: support_vectors length does not divide into {n_supports} vectors"
        );
        ensure!(
            coefficients.len() >= n_supports,
            "SVMRegressor: coefficients too short"
        );
        (Kernel::parse(node)?, support.len() / n_supports)
    } else {
        (Kernel::Linear, coefficients.len())
    };
    let rho = floats(node, "rho")?.first().copied().unwrap_or(0.0);
    let one_class = node.get_attr_opt::<i64>("one_class")?.unwrap_or(0) != 0;
    let support = if n_supports > 0 { support } else { vec![] };
    let op = SvmRegressor {
        kernel,
        support,
        features,
        coefficients,
        rho,
        one_class,
    };
    Ok((expand(RowInfer(op)), vec![]))
}

impl RowOp for SvmRegressor {
    fn name(&self) -> &'static str {
        "SVMRegressor"
    }

    fn outputs(&self) -> Vec<Out> {
        vec![Out::Floats(1)]
    }

    fn features(&self) -> Option<usize> {
        Some(self.features)
    }

    fn eval_rows(&self, x: &[f32], n: usize, f: usize) -> TractResult<Vec<Tensor>> {
        let mut out = Vec::with_capacity(n);
        for row in x.chunks_exact(f).take(n) {
            let mut sum = if self.support.is_empty() {
                self.kernel.eval(row, &self.coefficients) as f64
            } else {
                let mut sum = 0f64;
                for (v, sv) in self.support.chunks_exact(f).enumerate() {
                    sum += (self.coefficients[v] * self.kernel.eval(row, sv)) as f64;
                }
                sum
            };
            sum += self.rho as f64;
            let y = sum as f32;
            out.push(if self.one_class {
                if y > 0.0 { 1.0 } else { -1.0 }
            } else {
                y
            });
        }
        Ok(vec![Tensor::from_shape(&[n, 1], &out)?])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn coupling_of_two_classes_is_the_pairwise_probability() {
        let r = [0.0, 0.8, 0.2, 0.0];
        let mut p = [0.0; 2];
        couple(2, &r, &mut p);
        assert!((p[0] - 0.8).abs() < 1e-3, "{p:?}");
        assert!((p[0] + p[1] - 1.0).abs() < 1e-6);
    }
}
