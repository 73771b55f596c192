//! The matrix product of a dense layer, in a fixed order: the `EinSum`s tract declutters ONNX's `MatMul`
//! and `Gemm` (and ONNX-ML's linear models) into, when the output is `[M, N]`, the first input is `[M, ...]`
//! and every other axis is summed (`mk,kn->mn`, `mk,nk->mn`, and a `Gemm` after a `Flatten` such as
//! `mbak,nbak->mn`). [`swap_in`] replaces them in a decluttered model, before tract optimises it.
//!
//! Why: tract chooses its matrix kernels per CPU (AVX-512, AVX2 with FMA, NEON, a generic fallback) and per
//! shape, and they sum in different orders, so an MLP's or CNN's predictions could differ in the last bits
//! between machines and with the batch size. Here every output is
//!
//! `acc = +0; for k in order: acc = fma(a[m, k], b[k, n], acc)`
//!
//! with `k` running over the summed axes in the first input's row-major order, and `fma` IEEE-754's fused
//! multiply-add (one rounding). That is defined to the bit, so the product gives the same bits on any machine,
//! for any batch size: with AVX2 and FMA (`avx`), eight columns per instruction; elsewhere `f32::mul_add`
//! per lane (the CPU's FMA instruction, or libm's correctly rounded `fmaf`).
//!
//! The bias `Add` and the `Relu` that usually follow come in too: `acc + bias[n]`, then `x` if `x > 0` else
//! `+0`, the same operations (and bits) as the separate nodes.
//!
//! Measured on digits_mlp (64 -> 32 -> 10, batches of 256): as fast as tract's AVX-512 kernels on this size,
//! as it needs no packing of the activations per batch (bench/RESULTS.md, `## Eval`).

use super::fuse::{bias_of, is_relu, only_successor, replace_chain};
use super::simd::{Isa, LANES, Vector, blocks_of};
use tract_onnx::tract_hir::internal::*;
use tract_onnx::tract_hir::tract_core::axes::AxesMapping;
use tract_onnx::tract_hir::tract_core::ops::einsum::EinSum;

/// Rows of the output computed together (each weight vector loaded once for all of them; with two column
/// blocks, 12 sums in AVX's 16 registers).
const ROWS: usize = 6;

/// Replaces, in a decluttered model, each `f32` [`EinSum`] of two inputs with concrete shapes that is a dense
/// layer's product (see the module documentation), with the bias `Add` and then the `Relu` that follow it
/// when it is their only input, by a `DirectMatMul`. Returns how many nodes it replaced.
pub fn swap_in(model: &mut TypedModel) -> TractResult<usize> {
    let mut swapped = 0;
    for id in 0..model.nodes().len() {
        let node = model.node(id);
        let Some(e) = node.op_as::<EinSum>() else {
            continue;
        };
        if e.q_params.is_some() || e.operating_dt != f32::datum_type() || node.inputs.len() != 2 {
            continue;
        }
        let facts = [
            model.outlet_fact(node.inputs[0])?,
            model.outlet_fact(node.inputs[1])?,
        ];
        if facts
            .iter()
            .any(|f| f.datum_type != f32::datum_type() || f.shape.as_concrete().is_none())
        {
            continue;
        }
        let Some(layout) = Layout::of(&e.axes) else {
            continue;
        };
        let mut op = DirectMatMul {
            einsum: e.clone(),
            layout,
            bias: false,
            relu: false,
        };
        let after = op.output_facts(&facts)?;
        if after.len() != 1 || after[0] != node.outputs[0].fact {
            continue;
        }
        let n = after[0].shape[1].to_usize()?;
        let mut inputs = node.inputs.to_vec();
        let mut last = id;
        if let Some((s, bias)) =
            only_successor(model, last).and_then(|s| Some((s, bias_of(model, s, last, n)?)))
        {
            inputs.push(bias);
            op.bias = true;
            last = s;
        }
        if let Some(s) = only_successor(model, last).filter(|&s| is_relu(model, s, last)) {
            op.relu = true;
            last = s;
        }
        swapped += 1 + op.bias as usize + op.relu as usize;
        replace_chain(model, id, last, op, &inputs)?;
    }
    // The fused nodes are left without successors; drop them.
    model.compact()?;
    Ok(swapped)
}

/// Where the second input keeps the axes of a dense layer's product.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct Layout {
    /// The second input's axis of the output's columns (none when it has none: one column, ONNX-ML's
    /// `LinearRegressor` is `mk,k->mn`).
    n: Option<usize>,
    /// The second input's axis of each of the first input's summed axes, in the first input's order.
    summed: Vec<usize>,
}

impl Layout {
    /// The layout if `axes` is `m<summed>,<n (or not) and the same summed, any order>->mn`, else `None`.
    fn of(axes: &AxesMapping) -> Option<Layout> {
        let (inputs, outputs) = axes.to_strs();
        let [a, b] = inputs.as_slice() else {
            return None;
        };
        let [o] = outputs.as_slice() else {
            return None;
        };
        let (a, b, o): (Vec<char>, Vec<char>, Vec<char>) = (
            a.chars().collect(),
            b.chars().collect(),
            o.chars().collect(),
        );
        let &[m, n] = o.as_slice() else {
            return None;
        };
        let summed = a.get(1..)?;
        let once = |v: &[char], c: char| v.iter().filter(|&&x| x == c).count() == 1;
        let plain = a.first() == Some(&m)
            && !summed.is_empty()
            && a.iter().all(|&c| once(&a, c))
            && summed.iter().all(|&c| c != n && once(&b, c))
            && !b.contains(&m)
            && b.len() == summed.len() + b.contains(&n) as usize;
        plain.then(|| Layout {
            n: b.iter().position(|&c| c == n),
            summed: summed
                .iter()
                .map(|c| b.iter().position(|x| x == c).expect("summed axes are in b"))
                .collect(),
        })
    }
}

/// tract's [`EinSum`] of a dense layer's product, run by [`product`].
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) struct DirectMatMul {
    einsum: EinSum,
    layout: Layout,
    /// A third input of `n` values added to each row.
    bias: bool,
    relu: bool,
}

impl Op for DirectMatMul {
    fn name(&self) -> StaticName {
        "DirectMatMul".into()
    }

    fn info(&self) -> TractResult<Vec<String>> {
        Ok(vec![format!(
            "{}, bias: {}, relu: {}",
            self.einsum.axes, self.bias, self.relu
        )])
    }

    op_as_typed_op!();
}

impl EvalOp for DirectMatMul {
    op_out_of_plan!();

    fn eval(&self, _ctx: &EvalContext<'_>, inputs: TVec<TValue>) -> TractResult<TVec<TValue>> {
        let bias = if self.bias {
            inputs.get(2).cloned()
        } else {
            None
        };
        let (a, b) = (inputs[0].clone(), inputs[1].clone());
        let (a_shape, b_shape) = (a.shape(), b.shape());
        let m = a_shape[0];
        let k: usize = a_shape[1..].iter().product();
        let n = self.layout.n.map_or(1, |axis| b_shape[axis]);
        ensure!(
            self.layout
                .summed
                .iter()
                .zip(&a_shape[1..])
                .all(|(&axis, &d)| b_shape[axis] == d),
            "summed axes of {a_shape:?} and {b_shape:?} differ"
        );
        let b = b.try_as_plain_ram()?.as_slice::<f32>()?;
        let mut weights = Weights::new(b, b_shape, a_shape, &self.layout);
        if let Some(bias) = bias {
            let bias = bias.try_as_plain_ram()?.as_slice::<f32>()?;
            ensure!(
                bias.len() == n,
                "{} bias values for {n} columns",
                bias.len()
            );
            weights.bias = Some(blocks_of(bias));
        }
        weights.relu = self.relu;
        let mut out = Tensor::zero::<f32>(&[m, n])?;
        product(
            Isa::detect(),
            a.try_as_plain_ram()?.as_slice::<f32>()?,
            k,
            &weights,
            out.try_as_plain_ram_mut()?.as_slice_mut::<f32>()?,
        );
        Ok(tvec!(out.into_tvalue()))
    }
}

impl TypedOp for DirectMatMul {
    fn output_facts(&self, inputs: &[&TypedFact]) -> TractResult<TVec<TypedFact>> {
        self.einsum.output_facts(&inputs[..2])
    }

    as_op!();
}

/// The second input as `[k][column block]` vectors of [`LANES`] columns (zeros past the last column), and what
/// follows the product.
struct Weights {
    vectors: Vec<[f32; LANES]>,
    blocks: usize,
    n: usize,
    /// Added to each row, by column block.
    bias: Option<Vec<[f32; LANES]>>,
    relu: bool,
}

impl Weights {
    /// From `b` (shape `b_shape`), `k` running over the first input's summed axes (`a_shape[1..]`) in
    /// row-major order.
    fn new(b: &[f32], b_shape: &[usize], a_shape: &[usize], layout: &Layout) -> Weights {
        let strides: Vec<usize> = (0..b_shape.len())
            .map(|i| b_shape[i + 1..].iter().product())
            .collect();
        let (n, column) = layout
            .n
            .map_or((1, 0), |axis| (b_shape[axis], strides[axis]));
        let blocks = n.div_ceil(LANES);
        let summed = &a_shape[1..];
        let k: usize = summed.iter().product();
        let mut vectors = vec![[0f32; LANES]; k * blocks];
        let mut index = vec![0; summed.len()];
        for kk in 0..k {
            let at: usize = index
                .iter()
                .zip(&layout.summed)
                .map(|(&i, &axis)| i * strides[axis])
                .sum();
            for col in 0..n {
                vectors[kk * blocks + col / LANES][col % LANES] = b[at + col * column];
            }
            // The next index of the summed axes, last axis fastest.
            for (i, &d) in index.iter_mut().zip(summed).rev() {
                *i += 1;
                if *i < d {
                    break;
                }
                *i = 0;
            }
        }
        Weights {
            vectors,
            blocks,
            n,
            bias: None,
            relu: false,
        }
    }
}

/// `out = a x weights` (`a` is `[M, k]`, `out` `[M, n]`) on the vectors of `isa`, which the CPU must have.
fn product(isa: Isa, a: &[f32], k: usize, weights: &Weights, out: &mut [f32]) {
    match isa {
        Isa::Portable => rows::<[f32; LANES]>(a, k, weights, out),
        #[cfg(target_arch = "x86_64")]
        Isa::AvxFma => {
            assert!(Isa::has_avx_fma(), "AVX and FMA needed");
            // SAFETY: the CPU has AVX and FMA (just checked).
            unsafe { avx::rows(a, k, weights, out) }
        }
    }
}

#[cfg(target_arch = "x86_64")]
mod avx {
    use super::Weights;
    use std::arch::x86_64::__m256;

    /// [`super::rows`] with each vector in an AVX register.
    #[target_feature(enable = "avx,fma")]
    pub(super) fn rows(a: &[f32], k: usize, weights: &Weights, out: &mut [f32]) {
        super::rows::<__m256>(a, k, weights, out)
    }
}

/// Every row of `out`, [`ROWS`] at a time, then one at a time.
#[inline(always)]
fn rows<V: Vector>(a: &[f32], k: usize, w: &Weights, out: &mut [f32]) {
    let mut groups = out.chunks_exact_mut(ROWS * w.n);
    let mut r = 0;
    for group in &mut groups {
        columns::<V, ROWS>(&a[r * k..(r + ROWS) * k], k, w, group);
        r += ROWS;
    }
    for one in groups.into_remainder().chunks_exact_mut(w.n) {
        columns::<V, 1>(&a[r * k..(r + 1) * k], k, w, one);
        r += 1;
    }
}

/// `R` rows of the output (`a` holds their `R` rows of input), two column blocks at a time, then one.
#[inline(always)]
fn columns<V: Vector, const R: usize>(a: &[f32], k: usize, w: &Weights, out: &mut [f32]) {
    let mut block = 0;
    while block + 2 <= w.blocks {
        tile::<V, R, 2>(a, k, w, block, out);
        block += 2;
    }
    if block < w.blocks {
        tile::<V, R, 1>(a, k, w, block, out);
    }
}

/// Output rows `0..R` of `out`, columns of blocks `block..block + C`.
#[inline(always)]
fn tile<V: Vector, const R: usize, const C: usize>(
    a: &[f32],
    k: usize,
    w: &Weights,
    block: usize,
    out: &mut [f32],
) {
    let lines: [&[f32]; R] = std::array::from_fn(|r| &a[r * k..][..k]);
    let mut acc = [[V::splat(0.0); C]; R];
    for kk in 0..k {
        let vectors = &w.vectors[kk * w.blocks + block..][..C];
        let wv: [V; C] = std::array::from_fn(|c| V::load(&vectors[c]));
        for (acc, line) in acc.iter_mut().zip(&lines) {
            let x = V::splat(line[kk]);
            for (a, &wv) in acc.iter_mut().zip(&wv) {
                *a = a.mul_add(x, wv);
            }
        }
    }
    let bias: Option<[V; C]> = w
        .bias
        .as_ref()
        .map(|b| std::array::from_fn(|c| V::load(&b[block + c])));
    let zero = V::splat(0.0);
    for (r, acc) in acc.iter().enumerate() {
        for (c, &a) in acc.iter().enumerate() {
            let col = (block + c) * LANES;
            let len = LANES.min(w.n - col);
            let a = bias.map_or(a, |b| a.add(b[c]));
            let a = if w.relu { zero.max(a) } else { a };
            let mut lanes = [0f32; LANES];
            a.store(&mut lanes);
            out[r * w.n + col..][..len].copy_from_slice(&lanes[..len]);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ops::simd::testing::{bits, noise};

    #[test]
    fn dense_products_are_recognised_and_others_are_not() {
        let layout = |s: &str| Layout::of(&s.parse().expect("an einsum"));
        assert_eq!(
            layout("mk,kn->mn"),
            Some(Layout {
                n: Some(1),
                summed: vec![0]
            })
        );
        assert_eq!(
            layout("mk,nk->mn"),
            Some(Layout {
                n: Some(0),
                summed: vec![1]
            })
        );
        assert_eq!(
            layout("mbak,nbak->mn"),
            Some(Layout {
                n: Some(0),
                summed: vec![1, 2, 3]
            })
        );
        assert_eq!(
            layout("mk,k->mn"),
            Some(Layout {
                n: None,
                summed: vec![0]
            })
        );
        for other in [
            "km,kn->mn",
            "bmk,bkn->bmn",
            "mk,kn->nm",
            "mk,kn->mkn",
            "mk,mn->mn",
            "mkk,kn->mn",
        ] {
            assert_eq!(layout(other), None, "{other}");
        }
    }

    /// The definition: `acc = +0`, then `acc = fma(a[m, k], b[k, n], acc)` in `k` order; `b` is `[K, N]`.
    fn reference(a: &[f32], b: &[f32], k: usize, n: usize) -> Vec<f32> {
        let mut out = vec![];
        for row in a.chunks_exact(k) {
            for col in 0..n {
                let mut acc = 0f32;
                for (kk, &x) in row.iter().enumerate() {
                    acc = x.mul_add(b[kk * n + col], acc);
                }
                out.push(acc);
            }
        }
        out
    }

    #[test]
    fn the_product_gives_the_definitions_bits_for_any_shape() {
        // ROWS + 3 rows (a group of ROWS and three alone), 13 summed, columns that fill no block, one, two
        // and a half; the second input given as [K, N] and as [N, K]; with and without the bias and the Relu.
        // On the portable vectors and, on a CPU with AVX and FMA, on AVX registers.
        let mut next = noise(3);
        let (m, k) = (ROWS + 3, 13);
        for n in [3, 8, 16, 21] {
            let a: Vec<f32> = (0..m * k).map(|_| next()).collect();
            let b: Vec<f32> = (0..k * n).map(|_| next()).collect();
            let expected = reference(&a, &b, k, n);
            let transposed: Vec<f32> = (0..n * k).map(|i| b[(i % k) * n + i / k]).collect();
            let bias: Vec<f32> = (0..n).map(|_| next()).collect();
            for (with_bias, relu) in [(false, false), (true, false), (false, true), (true, true)] {
                let expected: Vec<f32> = expected
                    .iter()
                    .enumerate()
                    .map(|(i, &v)| if with_bias { v + bias[i % n] } else { v })
                    .map(|v| if !relu || v > 0.0 { v } else { 0.0 })
                    .collect();
                let forms = [
                    (
                        Weights::new(
                            &b,
                            &[k, n],
                            &[m, k],
                            &Layout {
                                n: Some(1),
                                summed: vec![0],
                            },
                        ),
                        "kn",
                    ),
                    (
                        Weights::new(
                            &transposed,
                            &[n, k],
                            &[m, k],
                            &Layout {
                                n: Some(0),
                                summed: vec![1],
                            },
                        ),
                        "nk",
                    ),
                ];
                for (mut weights, form) in forms {
                    weights.bias = with_bias.then(|| blocks_of(&bias));
                    weights.relu = relu;
                    for isa in Isa::available() {
                        let mut out = vec![f32::NAN; m * n];
                        product(isa, &a, k, &weights, &mut out);
                        assert_eq!(
                            bits(&out),
                            bits(&expected),
                            "{isa:?}, n {n}, {form}, bias {with_bias}, relu {relu}"
                        );
                    }
                }
            }
        }
    }

    #[test]
    fn summed_axes_run_in_the_first_inputs_order() {
        // "mbk,nbk->mn" (a Gemm after Flatten) equals the product of the flattened [M, B*K] and [B*K, N].
        let (m, nb, nk, n) = (2, 3, 4, 5);
        let a: Vec<f32> = (0..m * nb * nk).map(|i| i as f32 * 0.25 - 2.0).collect();
        let b: Vec<f32> = (0..n * nb * nk).map(|i| (i % 7) as f32 - 3.0).collect();
        let layout =
            Layout::of(&"mbk,nbk->mn".parse().expect("an einsum")).expect("a dense product");
        let weights = Weights::new(&b, &[n, nb, nk], &[m, nb, nk], &layout);
        let mut out = vec![0.0; m * n];
        product(Isa::detect(), &a, nb * nk, &weights, &mut out);
        let k = nb * nk;
        let flat: Vec<f32> = (0..k * n).map(|i| b[(i % n) * k + i / n]).collect();
        assert_eq!(out, reference(&a, &flat, k, n));
    }
}
