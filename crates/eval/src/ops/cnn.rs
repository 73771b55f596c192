//! Direct loops for the two convolutional-network operators that tract runs slowly on the small images of a
//! tabular or MNIST-sized network: 2-D `Conv` (one group, `f32`, NCHW) and 2-D `MaxPool`. [`swap_in`] replaces
//! them in a decluttered model, before tract optimises it; everything else stays tract's.
//!
//! Measured on digits_cnn (an 8x8 image, 8 channels of 3x3 convolution then a 2x2 max-pool, batches of 256,
//! crates/eval/examples/eval_phases.rs): tract lowers `Conv` to an im2col and a matrix product per image, and its
//! `MaxPool` walks a generic patch per image; the per-image setup of the three was 95% of the model's time.
//!
//! Both are plain loops in a fixed order, so they give the same bits on any IEEE-754 machine, for any batch size:
//!
//! - convolution: each output is `bias[o]`, then `+ w * x` for each input channel, kernel row and kernel column
//!   in that order (a separate multiply and add; Rust never fuses them), padding read as zero. Eight neighbouring
//!   outputs of a row are computed side by side, which the compiler turns into SIMD lanes without changing any
//!   output's order of operations.
//! - max-pool: the largest value of the window by `>` in row-major order, padding excluded, as ONNX defines it.

use tract_onnx::tract_hir::internal::*;
use tract_onnx::tract_hir::tract_core::ops::cnn::{Conv, KernelFormat, MaxPool, PoolSpec};
use tract_onnx::tract_hir::tract_core::ops::nn::DataFormat;

/// Output columns computed side by side.
const LANES: usize = 8;

/// Replaces, in a decluttered model, each plain `f32` 2-D `Conv` (NCHW, OIHW kernel, one group, not quantised)
/// and each 2-D `MaxPool` without index output whose shapes are concrete by the loops of this module. Returns
/// how many.
pub fn swap_in(model: &mut TypedModel) -> TractResult<usize> {
    let mut swapped = 0;
    for id in 0..model.nodes().len() {
        let node = model.node(id);
        let Some(input) = node.inputs.first() else {
            continue;
        };
        let fact = model.outlet_fact(*input)?;
        let concrete = fact.shape.as_concrete().is_some();
        if fact.datum_type != f32::datum_type() || fact.rank() != 4 || !concrete {
            continue;
        }
        let op: Option<Box<dyn TypedOp>> = if let Some(c) = node.op_as::<Conv>() {
            (c.group == 1
                && c.q_params.is_none()
                && c.kernel_fmt == KernelFormat::OIHW
                && plain(&c.pool_spec)
                && node.inputs.len() == 3)
                .then(|| Box::new(DirectConv(c.clone())) as _)
        } else if let Some(p) = node.op_as::<MaxPool>() {
            (p.with_index_outputs.is_none() && plain(&p.pool_spec))
                .then(|| Box::new(DirectMaxPool(p.clone())) as _)
        } else {
            None
        };
        if let Some(op) = op {
            model.node_mut(id).op = op;
            swapped += 1;
        }
    }
    Ok(swapped)
}

/// NCHW with two spatial axes.
fn plain(spec: &PoolSpec) -> bool {
    spec.data_format == DataFormat::NCHW && spec.kernel_shape.len() == 2
}

/// Where a 2-D window goes, from the input's `[N, C, H, W]`.
struct Geometry {
    n: usize,
    c: usize,
    h: usize,
    w: usize,
    oh: usize,
    ow: usize,
    kh: usize,
    kw: usize,
    stride: [usize; 2],
    dilation: [usize; 2],
    pad: [usize; 2],
}

impl Geometry {
    fn new(spec: &PoolSpec, shape: &[usize]) -> TractResult<Geometry> {
        let &[n, c, h, w] = shape else {
            bail!("expected an [N, C, H, W] input, got {shape:?}");
        };
        let padded = spec.computed_padding(&[h, w]);
        let (s, d) = (spec.strides(), spec.dilations());
        Ok(Geometry {
            n,
            c,
            h,
            w,
            oh: padded[0].convoluted,
            ow: padded[1].convoluted,
            kh: spec.kernel_shape[0],
            kw: spec.kernel_shape[1],
            stride: [s[0], s[1]],
            dilation: [d[0], d[1]],
            pad: [padded[0].pad_before, padded[1].pad_before],
        })
    }

    /// The padded plane's rows and columns: every position a window of an output reads (for columns, of
    /// every output of the last group of `lanes` too), the image at (`pad[0]`, `pad[1]`).
    fn padded(&self, lanes: usize) -> (usize, usize) {
        let reach = |outputs: usize, axis: usize, k: usize| {
            (outputs - 1) * self.stride[axis] + (k - 1) * self.dilation[axis] + 1
        };
        let ph = reach(self.oh, 0, self.kh).max(self.pad[0] + self.h);
        let pw = reach(self.ow.div_ceil(lanes) * lanes, 1, self.kw).max(self.pad[1] + self.w);
        (ph, pw)
    }

    /// Whether windows of `lanes` outputs read only inside the image, so it needs no padded copy.
    fn inside(&self, lanes: usize) -> bool {
        self.pad == [0, 0] && self.padded(lanes) == (self.h, self.w)
    }

    /// Copies the `h x w` plane `x` into `out` (`ph x pw` from [`Self::padded`]) with `fill` around it.
    fn pad_plane(&self, x: &[f32], fill: f32, lanes: usize, out: &mut [f32]) {
        let (_, pw) = self.padded(lanes);
        out.fill(fill);
        for (r, line) in x.chunks_exact(self.w).enumerate() {
            let at = (self.pad[0] + r) * pw + self.pad[1];
            out[at..at + self.w].copy_from_slice(line);
        }
    }
}

/// tract's `Conv`, run by [`conv`].
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) struct DirectConv(Conv);

impl Op for DirectConv {
    fn name(&self) -> StaticName {
        "DirectConv".into()
    }

    op_as_typed_op!();
}

impl EvalOp for DirectConv {
    op_out_of_plan!();

    fn eval(&self, _ctx: &EvalContext<'_>, inputs: TVec<TValue>) -> TractResult<TVec<TValue>> {
        let (x, kernel, bias) = args_3!(inputs);
        let g = Geometry::new(&self.0.pool_spec, x.shape())?;
        let o = self.0.pool_spec.output_channels;
        ensure!(
            kernel.shape() == [o, g.c, g.kh, g.kw],
            "kernel shape {:?}",
            kernel.shape()
        );
        let bias = bias.cast_to::<f32>()?;
        let bias = bias.try_as_plain_ram()?.as_slice::<f32>()?;
        let bias: Vec<f32> = match bias.len() {
            0 => vec![0.0; o],
            1 => vec![bias[0]; o],
            len if len == o => bias.to_vec(),
            len => bail!("{len} bias values for {o} output channels"),
        };
        let kernel = kernel.cast_to::<f32>()?;
        // Written in place (a separate buffer copied into a tensor was a tenth of the time).
        let mut out = Tensor::zero::<f32>(&[g.n, o, g.oh, g.ow])?;
        conv(
            &g,
            x.try_as_plain_ram()?.as_slice::<f32>()?,
            kernel.try_as_plain_ram()?.as_slice::<f32>()?,
            &bias,
            out.try_as_plain_ram_mut()?.as_slice_mut::<f32>()?,
        );
        Ok(tvec!(out.into_tvalue()))
    }
}

impl TypedOp for DirectConv {
    fn output_facts(&self, inputs: &[&TypedFact]) -> TractResult<TVec<TypedFact>> {
        self.0.output_facts(inputs)
    }

    as_op!();
}

/// `out[n, o, y, x] = bias[o] + sum over (c, i, j) of kernel[o, c, i, j] * x[n, c, y', x']`, summed in that
/// order, from a zero-padded copy of each image where a window reaches
/// outside it (no bounds tests in the loop), for [`LANES`] output columns of
/// [`BLOCK`] output channels at a time (independent sums the CPU overlaps).
fn conv(g: &Geometry, x: &[f32], kernel: &[f32], bias: &[f32], out: &mut [f32]) {
    let o_count = bias.len();
    let taps = g.c * g.kh * g.kw;
    // The kernel as [tap][o], so a block's weights for one tap are adjacent.
    let mut weights = vec![0f32; taps * o_count];
    for (o, w) in kernel.chunks_exact(taps).enumerate() {
        for (t, &v) in w.iter().enumerate() {
            weights[t * o_count + o] = v;
        }
    }
    let (ph, pw) = g.padded(LANES);
    let mut padded = vec![0f32; g.c * ph * pw];
    let size = g.c * g.h * g.w;
    for (n, outs) in out.chunks_exact_mut(o_count * g.oh * g.ow).enumerate() {
        let image = &x[n * size..(n + 1) * size];
        let image = if g.inside(LANES) {
            image
        } else {
            for (plane, to) in image
                .chunks_exact(g.h * g.w)
                .zip(padded.chunks_exact_mut(ph * pw))
            {
                g.pad_plane(plane, 0.0, LANES, to);
            }
            &padded
        };
        let mut o = 0;
        while o + BLOCK <= o_count {
            blocks::<BLOCK>(g, image, &weights, bias, o, outs);
            o += BLOCK;
        }
        for o in o..o_count {
            blocks::<1>(g, image, &weights, bias, o, outs);
        }
    }
}

/// Output channels computed together.
const BLOCK: usize = 8;

/// [`conv_block`] compiled for AVX where the CPU has it (twice the SIMD width, the same operations in the same
/// order: no FMA, so the same bits as without), else for the baseline.
fn blocks<const B: usize>(
    g: &Geometry,
    image: &[f32],
    weights: &[f32],
    bias: &[f32],
    o0: usize,
    outs: &mut [f32],
) {
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("avx") {
        #[target_feature(enable = "avx")]
        fn avx<const B: usize>(
            g: &Geometry,
            image: &[f32],
            weights: &[f32],
            bias: &[f32],
            o0: usize,
            outs: &mut [f32],
        ) {
            conv_block::<B>(g, image, weights, bias, o0, outs)
        }
        // SAFETY: the CPU has AVX (just checked).
        return unsafe { avx::<B>(g, image, weights, bias, o0, outs) };
    }
    conv_block::<B>(g, image, weights, bias, o0, outs)
}

/// Output channels `o0..o0 + B` of one image (`outs` is `[O, oh, ow]`).
#[inline(always)]
fn conv_block<const B: usize>(
    g: &Geometry,
    image: &[f32],
    weights: &[f32],
    bias: &[f32],
    o0: usize,
    outs: &mut [f32],
) {
    let o_count = bias.len();
    let (ph, pw) = g.padded(LANES);
    let [sy, sx] = g.stride;
    let [dy, dx] = g.dilation;
    for oy in 0..g.oh {
        for ox0 in (0..g.ow).step_by(LANES) {
            let mut acc = [[0f32; LANES]; B];
            for (b, a) in acc.iter_mut().enumerate() {
                *a = [bias[o0 + b]; LANES];
            }
            let mut tap = 0;
            for c in 0..g.c {
                for i in 0..g.kh {
                    let line = &image[(c * ph + oy * sy + i * dy) * pw..][..pw];
                    for j in 0..g.kw {
                        let from = ox0 * sx + j * dx;
                        let v: [f32; LANES] = if sx == 1 {
                            line[from..from + LANES].try_into().expect("LANES values")
                        } else {
                            std::array::from_fn(|l| line[from + l * sx])
                        };
                        let w = &weights[tap * o_count + o0..][..B];
                        for b in 0..B {
                            for l in 0..LANES {
                                acc[b][l] += w[b] * v[l];
                            }
                        }
                        tap += 1;
                    }
                }
            }
            let len = LANES.min(g.ow - ox0);
            for (b, a) in acc.iter().enumerate() {
                let at = ((o0 + b) * g.oh + oy) * g.ow + ox0;
                if len == LANES {
                    // A copy of a known length, inlined (a call to memmove per group was a tenth of the time).
                    let to: &mut [f32; LANES] =
                        (&mut outs[at..at + LANES]).try_into().expect("LANES");
                    *to = *a;
                } else {
                    outs[at..at + len].copy_from_slice(&a[..len]);
                }
            }
        }
    }
}

/// tract's `MaxPool`, run by [`max_pool`].
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) struct DirectMaxPool(MaxPool);

impl Op for DirectMaxPool {
    fn name(&self) -> StaticName {
        "DirectMaxPool".into()
    }

    op_as_typed_op!();
}

impl EvalOp for DirectMaxPool {
    op_out_of_plan!();

    fn eval(&self, _ctx: &EvalContext<'_>, inputs: TVec<TValue>) -> TractResult<TVec<TValue>> {
        let x = args_1!(inputs);
        let g = Geometry::new(&self.0.pool_spec, x.shape())?;
        let mut out = Tensor::zero::<f32>(&[g.n, g.c, g.oh, g.ow])?;
        max_pool(
            &g,
            x.try_as_plain_ram()?.as_slice::<f32>()?,
            out.try_as_plain_ram_mut()?.as_slice_mut::<f32>()?,
        );
        Ok(tvec!(out.into_tvalue()))
    }
}

impl TypedOp for DirectMaxPool {
    fn output_facts(&self, inputs: &[&TypedFact]) -> TractResult<TVec<TypedFact>> {
        self.0.output_facts(inputs)
    }

    as_op!();
}

/// Each output is the largest input of its window, from a copy of each plane padded with minus infinity (so
/// padding never wins) where a window reaches outside the plane. Per output row, first the largest of the
/// window's rows at each column (a loop over whole rows the compiler vectorises), then the largest of each
/// window's columns in that, one column offset at a time.
fn max_pool(g: &Geometry, x: &[f32], out: &mut [f32]) {
    let (ph, pw) = g.padded(1);
    let mut buffer = vec![0f32; ph * pw];
    let mut columns = vec![0f32; pw];
    let [sy, sx] = g.stride;
    let [dy, dx] = g.dilation;
    let max = |a: f32, b: f32| if b > a { b } else { a };
    for (outs, plane) in out
        .chunks_exact_mut(g.oh * g.ow)
        .zip(x.chunks_exact(g.h * g.w))
    {
        let padded = if g.inside(1) {
            plane
        } else {
            g.pad_plane(plane, f32::NEG_INFINITY, 1, &mut buffer);
            &buffer
        };
        let line = |oy: usize, i: usize| &padded[(oy * sy + i * dy) * pw..][..pw];
        for (oy, row) in outs.chunks_exact_mut(g.ow).enumerate() {
            let second = if g.kh > 1 { line(oy, 1) } else { line(oy, 0) };
            for ((m, &a), &b) in columns.iter_mut().zip(line(oy, 0)).zip(second) {
                *m = max(a, b);
            }
            for i in 2..g.kh {
                for (m, &v) in columns.iter_mut().zip(line(oy, i)) {
                    *m = max(*m, v);
                }
            }
            for (ox, y) in row.iter_mut().enumerate() {
                *y = columns[ox * sx];
            }
            for j in 1..g.kw {
                for (ox, y) in row.iter_mut().enumerate() {
                    *y = max(*y, columns[ox * sx + j * dx]);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn geometry(h: usize, w: usize, k: usize, stride: usize, pad: usize) -> Geometry {
        let out = |d: usize| (d + 2 * pad - k) / stride + 1;
        Geometry {
            n: 1,
            c: 1,
            h,
            w,
            oh: out(h),
            ow: out(w),
            kh: k,
            kw: k,
            stride: [stride; 2],
            dilation: [1; 2],
            pad: [pad; 2],
        }
    }

    #[test]
    fn conv_pads_with_zeros() {
        // A 3x3 input, a 3x3 kernel of ones, padding 1: each output sums its neighbourhood, plus the bias.
        let g = geometry(3, 3, 3, 1, 1);
        let x: Vec<f32> = (1..=9).map(|v| v as f32).collect();
        let mut out = vec![0.0; 9];
        conv(&g, &x, &[1.0; 9], &[0.5], &mut out);
        let expected = [12.0, 21.0, 16.0, 27.0, 45.0, 33.0, 24.0, 39.0, 28.0].map(|v: f32| v + 0.5);
        assert_eq!(out, expected);
    }

    #[test]
    fn max_pool_takes_each_windows_largest() {
        let g = geometry(4, 4, 2, 2, 0);
        let x: Vec<f32> = [1, 5, 2, 0, 3, 4, 8, 1, -1, -2, 0, 0, -3, -4, 0, 7]
            .map(|v| v as f32)
            .to_vec();
        let mut out = vec![0.0; 4];
        max_pool(&g, &x, &mut out);
        assert_eq!(out, [5.0, 8.0, -1.0, 7.0]);
    }

    /// The definition, one output at a time with bounds tests: bias, then `+ w * x` over (c, i, j).
    fn reference_conv(g: &Geometry, x: &[f32], kernel: &[f32], bias: &[f32]) -> Vec<f32> {
        let mut out = vec![];
        let inside = |o: usize, k: usize, axis: usize| {
            let i = (o * g.stride[axis] + k * g.dilation[axis]).checked_sub(g.pad[axis])?;
            (i < [g.h, g.w][axis]).then_some(i)
        };
        for n in 0..g.n {
            for (o, &b) in bias.iter().enumerate() {
                for oy in 0..g.oh {
                    for ox in 0..g.ow {
                        let mut acc = b;
                        for c in 0..g.c {
                            for i in 0..g.kh {
                                for j in 0..g.kw {
                                    let w = kernel[((o * g.c + c) * g.kh + i) * g.kw + j];
                                    let v = match (inside(oy, i, 0), inside(ox, j, 1)) {
                                        (Some(y), Some(xx)) => {
                                            x[((n * g.c + c) * g.h + y) * g.w + xx]
                                        }
                                        _ => 0.0,
                                    };
                                    acc += w * v;
                                }
                            }
                        }
                        out.push(acc);
                    }
                }
            }
        }
        out
    }

    #[test]
    fn conv_gives_the_definitions_bits_for_any_stride_dilation_and_padding() {
        // Three channels in, a block of BLOCK and two more out (two alone), 11 output columns (a partial group
        // of LANES), values with many significant bits; on an AVX machine this also checks the AVX build.
        let mut seed = 1u32;
        let mut next = move || {
            seed = seed.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
            (seed >> 8) as f32 / (1u32 << 24) as f32 - 0.5
        };
        for (stride, dilation, pad) in [(1, 1, 1), (2, 1, 0), (1, 2, 2), (2, 2, 1)] {
            let (n, c, h, w, k, o) = (2, 3, 9, 11, 3, BLOCK + 2);
            let out = |d: usize| (d + 2 * pad - dilation * (k - 1) - 1) / stride + 1;
            let g = Geometry {
                n,
                c,
                h,
                w,
                oh: out(h),
                ow: out(w),
                kh: k,
                kw: k,
                stride: [stride; 2],
                dilation: [dilation; 2],
                pad: [pad; 2],
            };
            let x: Vec<f32> = (0..n * c * h * w).map(|_| next()).collect();
            let kernel: Vec<f32> = (0..o * c * k * k).map(|_| next()).collect();
            let bias: Vec<f32> = (0..o).map(|_| next()).collect();
            let mut ours = vec![0.0; n * o * g.oh * g.ow];
            conv(&g, &x, &kernel, &bias, &mut ours);
            let expected = reference_conv(&g, &x, &kernel, &bias);
            let bits = |v: &[f32]| v.iter().map(|f| f.to_bits()).collect::<Vec<_>>();
            assert_eq!(
                bits(&ours),
                bits(&expected),
                "stride {stride} dilation {dilation} pad {pad}"
            );
        }
    }
}
