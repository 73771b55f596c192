//! Direct loops for the convolutional-network operators that tract runs slowly on the small images of a
//! tabular or MNIST-sized network: 2-D `Conv` (one group, `f32`, NCHW), fused with the `Relu` and the `MaxPool`
//! that usually follow it, and a standalone 2-D `MaxPool`. [`swap_in`] replaces them in a decluttered model,
//! before tract optimises it; everything else stays tract's.
//!
//! Measured on digits_cnn (an 8x8 image, 8 channels of 3x3 convolution, a Relu, then a 2x2 max-pool, batches
//! of 256, crates/eval/examples/eval_phases.rs): tract lowers `Conv` to an im2col and a matrix product per image,
//! and its `MaxPool` walks a generic patch per image; the per-image setup of the three was 95% of the model's
//! time. Fused, one image's convolution stays in a scratch buffer in L1 while it is pooled, instead of a
//! batch-sized tensor written, rectified and read back.
//!
//! The convolution keeps `LANES` output channels in one vector, so a window's values are broadcast from
//! the image and the weights are one vector per tap: any stride, dilation and padding is the same loop, and
//! pooling is a `max` of whole vectors. On a CPU with AVX and FMA a vector is one register (`avx`); elsewhere
//! it is an array.
//!
//! All are plain loops in a fixed order, so they give the same bits on any IEEE-754 machine, for any batch
//! size, with or without AVX:
//!
//! - convolution: each output starts at `bias[o]`, then `acc = fma(w, x, acc)` (IEEE-754's fused multiply-add,
//!   one rounding) for each input channel, kernel row and kernel column in that order, padding read as zero.
//! - Relu: `x` if `x > 0`, else `+0` (so a NaN becomes 0, as tract's `max(x, 0)` gives).
//! - max-pool: the largest value of the window by `>` in row-major order, padding excluded, as ONNX defines it.

use tract_onnx::tract_hir::internal::*;
use tract_onnx::tract_hir::tract_core::ops::cnn::{Conv, KernelFormat, MaxPool, PoolSpec};
use tract_onnx::tract_hir::tract_core::ops::nn::DataFormat;

use super::fuse::{is_relu, only_successor, replace_chain};
use super::simd::{Isa, LANES, Vector, blocks_of};

/// Output columns computed side by side (independent sums the CPU overlaps).
const COLUMNS: usize = 8;

/// Replaces, in a decluttered model, each plain `f32` 2-D `Conv` (NCHW, OIHW kernel, one group, not quantised)
/// whose shapes are concrete by a `DirectConv`, taking in the `Relu` and then the `MaxPool` that follow it
/// when it is their only input, and each other 2-D `MaxPool` without index output by a `DirectMaxPool`.
/// Returns how many operators it replaced.
pub fn swap_in(model: &mut TypedModel) -> TractResult<usize> {
    let mut swapped = 0;
    // The Relu and MaxPool nodes taken into a DirectConv: left without readers, not swapped again.
    let mut fused = vec![];
    for id in 0..model.nodes().len() {
        let node = model.node(id);
        let Some(input) = node.inputs.first() else {
            continue;
        };
        let fact = model.outlet_fact(*input)?;
        let concrete = fact.shape.as_concrete().is_some();
        if fused.contains(&id)
            || fact.datum_type != f32::datum_type()
            || fact.rank() != 4
            || !concrete
        {
            continue;
        }
        if let Some(c) = node.op_as::<Conv>() {
            if c.group != 1
                || c.q_params.is_some()
                || c.kernel_fmt != KernelFormat::OIHW
                || !plain(&c.pool_spec)
                || node.inputs.len() != 3
            {
                continue;
            }
            let mut op = DirectConv {
                conv: c.clone(),
                relu: false,
                pool: None,
            };
            let mut last = id;
            if let Some(relu) = only_successor(model, last).filter(|&s| is_relu(model, s, last)) {
                op.relu = true;
                last = relu;
                fused.push(relu);
            }
            let pool = only_successor(model, last).and_then(|s| {
                let p = model.node(s).op_as::<MaxPool>()?;
                (p.with_index_outputs.is_none() && plain(&p.pool_spec)).then(|| (s, p.clone()))
            });
            if let Some((s, p)) = pool {
                op.pool = Some(p);
                last = s;
                fused.push(s);
            }
            swapped += 1 + op.relu as usize + op.pool.is_some() as usize;
            let inputs = node.inputs.clone();
            replace_chain(model, id, last, op, &inputs)?;
        } else if let Some(p) = node.op_as::<MaxPool>()
            && p.with_index_outputs.is_none()
            && plain(&p.pool_spec)
        {
            model.node_mut(id).op = Box::new(DirectMaxPool(p.clone()));
            swapped += 1;
        }
    }
    // The fused nodes are left without successors; drop them.
    model.compact()?;
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

    /// The padded plane's rows and columns: every position a window of an output reads, the image at
    /// (`pad[0]`, `pad[1]`).
    fn padded(&self) -> (usize, usize) {
        let reach = |outputs: usize, axis: usize, k: usize| {
            (outputs - 1) * self.stride[axis] + (k - 1) * self.dilation[axis] + 1
        };
        let ph = reach(self.oh, 0, self.kh).max(self.pad[0] + self.h);
        let pw = reach(self.ow, 1, self.kw).max(self.pad[1] + self.w);
        (ph, pw)
    }

    /// Whether the windows read only inside the image, so it needs no padded copy.
    fn inside(&self) -> bool {
        self.pad == [0, 0] && self.padded() == (self.h, self.w)
    }

    /// Copies the `h x w` plane `x` into `out` (`ph x pw` from [`Self::padded`]) with zeros around it.
    fn pad_plane(&self, x: &[f32], out: &mut [f32]) {
        let (_, pw) = self.padded();
        out.fill(0.0);
        for (r, line) in x.chunks_exact(self.w).enumerate() {
            let at = (self.pad[0] + r) * pw + self.pad[1];
            out[at..at + self.w].copy_from_slice(line);
        }
    }

    /// The window offsets along `axis` of output `o` that fall inside the input (padding excluded).
    fn window(&self, axis: usize, o: usize) -> std::ops::Range<usize> {
        let (k, size) = ([self.kh, self.kw][axis], [self.h, self.w][axis]);
        let (s, d, p) = (self.stride[axis], self.dilation[axis], self.pad[axis]);
        let first = (0..k).find(|&i| o * s + i * d >= p).unwrap_or(k);
        let end = (first..k).find(|&i| o * s + i * d - p >= size).unwrap_or(k);
        first..end
    }
}

/// tract's `Conv`, then optionally its `Relu` and its `MaxPool`, run by [`conv`].
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) struct DirectConv {
    conv: Conv,
    relu: bool,
    pool: Option<MaxPool>,
}

impl Op for DirectConv {
    fn name(&self) -> StaticName {
        "DirectConv".into()
    }

    fn info(&self) -> TractResult<Vec<String>> {
        Ok(vec![format!(
            "relu: {}, max-pool: {}",
            self.relu,
            self.pool.is_some()
        )])
    }

    op_as_typed_op!();
}

impl EvalOp for DirectConv {
    op_out_of_plan!();

    fn eval(&self, _ctx: &EvalContext<'_>, inputs: TVec<TValue>) -> TractResult<TVec<TValue>> {
        let (x, kernel, bias) = args_3!(inputs);
        let g = Geometry::new(&self.conv.pool_spec, x.shape())?;
        let o = self.conv.pool_spec.output_channels;
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
        let pool = self
            .pool
            .as_ref()
            .map(|p| Geometry::new(&p.pool_spec, &[g.n, o, g.oh, g.ow]))
            .transpose()?;
        let (oh, ow) = pool.as_ref().map_or((g.oh, g.ow), |p| (p.oh, p.ow));
        // Written in place (a separate buffer copied into a tensor was a tenth of the time).
        let mut out = Tensor::zero::<f32>(&[g.n, o, oh, ow])?;
        let stages = Stages {
            relu: self.relu,
            pool: pool.as_ref(),
        };
        conv(
            Isa::detect(),
            &g,
            x.try_as_plain_ram()?.as_slice::<f32>()?,
            kernel.try_as_plain_ram()?.as_slice::<f32>()?,
            &bias,
            stages,
            out.try_as_plain_ram_mut()?.as_slice_mut::<f32>()?,
        );
        Ok(tvec!(out.into_tvalue()))
    }
}

impl TypedOp for DirectConv {
    fn output_facts(&self, inputs: &[&TypedFact]) -> TractResult<TVec<TypedFact>> {
        let facts = self.conv.output_facts(inputs)?;
        match &self.pool {
            Some(p) => p.output_facts(&[&facts[0]]),
            None => Ok(facts),
        }
    }

    as_op!();
}

/// What follows the convolution in a [`DirectConv`].
#[derive(Clone, Copy)]
struct Stages<'a> {
    relu: bool,
    /// The max-pool's geometry on the convolution's output.
    pool: Option<&'a Geometry>,
}

/// `out[n, o, y, x]`: `acc = bias[o]`, then `acc = fma(kernel[o, c, i, j], x[n, c, y', x'], acc)` over
/// (c, i, j) in that order, then the [`Stages`]; image by image, from a zero-padded copy of the image where a
/// window reaches outside it (no bounds tests in the loop), on the vectors of `isa`, which the CPU must have.
fn conv(
    isa: Isa,
    g: &Geometry,
    x: &[f32],
    kernel: &[f32],
    bias: &[f32],
    stages: Stages<'_>,
    out: &mut [f32],
) {
    let o_count = bias.len();
    let taps = g.c * g.kh * g.kw;
    let blocks = o_count.div_ceil(LANES);
    // The kernel as [block][tap] vectors of LANES output channels (zeros past the last channel).
    let mut weights = vec![[0f32; LANES]; blocks * taps];
    for (o, w) in kernel.chunks_exact(taps).enumerate() {
        for (t, &v) in w.iter().enumerate() {
            weights[(o / LANES) * taps + t][o % LANES] = v;
        }
    }
    let biases = blocks_of(bias);
    let k = Prepared {
        g,
        weights: &weights,
        biases: &biases,
        o_count,
        relu: stages.relu,
        windows: stages.pool.map(windows),
    };
    match isa {
        Isa::Portable => images::<[f32; LANES]>(&k, x, out),
        #[cfg(target_arch = "x86_64")]
        Isa::AvxFma => {
            assert!(Isa::has_avx_fma(), "AVX and FMA needed");
            // SAFETY: the CPU has AVX and FMA (just checked).
            unsafe { avx::images(&k, x, out) }
        }
    }
}

/// A convolution's weights and stages, ready for [`images`].
struct Prepared<'a> {
    g: &'a Geometry,
    /// `[block][tap]`.
    weights: &'a [[f32; LANES]],
    /// `[block]`.
    biases: &'a [[f32; LANES]],
    o_count: usize,
    relu: bool,
    /// The max-pool's [`windows`], if there is one.
    windows: Option<Vec<Vec<usize>>>,
}

/// Every image of the batch `x` into `out`.
#[inline(always)]
fn images<V: Vector>(k: &Prepared<'_>, x: &[f32], out: &mut [f32]) {
    let g = k.g;
    let (ph, pw) = g.padded();
    let mut padded = vec![0f32; g.c * ph * pw];
    let mut scratch = vec![[0f32; LANES]; g.oh * g.ow];
    let size = g.c * g.h * g.w;
    for (image, outs) in x
        .chunks_exact(size)
        .zip(out.chunks_exact_mut(out.len() / g.n.max(1)))
    {
        let image = if g.inside() {
            image
        } else {
            for (plane, to) in image
                .chunks_exact(g.h * g.w)
                .zip(padded.chunks_exact_mut(ph * pw))
            {
                g.pad_plane(plane, to);
            }
            &padded
        };
        for block in 0..k.biases.len() {
            convolve::<V>(k, image, block, &mut scratch);
            match &k.windows {
                Some(windows) => pool::<V>(windows, &scratch, block, k.o_count, outs),
                None => scatter(&scratch, block, k.o_count, outs),
            }
        }
    }
}

/// One block of output channels of one (padded) image into `scratch` (`[oh * ow]` vectors), rectified if
/// the stages say so.
#[inline(always)]
fn convolve<V: Vector>(
    k: &Prepared<'_>,
    image: &[f32],
    block: usize,
    scratch: &mut [[f32; LANES]],
) {
    let g = k.g;
    let taps = g.c * g.kh * g.kw;
    let weights = &k.weights[block * taps..][..taps];
    let bias = V::load(&k.biases[block]);
    for (oy, row) in scratch.chunks_exact_mut(g.ow).enumerate() {
        let mut groups = row.chunks_exact_mut(COLUMNS);
        let mut ox = 0;
        for group in &mut groups {
            columns::<V, COLUMNS>(k, image, weights, bias, oy, ox, group);
            ox += COLUMNS;
        }
        for (i, one) in groups.into_remainder().chunks_exact_mut(1).enumerate() {
            columns::<V, 1>(k, image, weights, bias, oy, ox + i, one);
        }
    }
}

/// Outputs `(oy, ox0..ox0 + P)` of one block into `to`.
#[inline(always)]
fn columns<V: Vector, const P: usize>(
    k: &Prepared<'_>,
    image: &[f32],
    weights: &[[f32; LANES]],
    bias: V,
    oy: usize,
    ox0: usize,
    to: &mut [[f32; LANES]],
) {
    let g = k.g;
    let (ph, pw) = g.padded();
    let [sy, sx] = g.stride;
    let [dy, dx] = g.dilation;
    let mut acc = [bias; P];
    let mut tap = 0;
    for c in 0..g.c {
        for i in 0..g.kh {
            let line = &image[(c * ph + oy * sy + i * dy) * pw..][..pw];
            for j in 0..g.kw {
                let w = V::load(&weights[tap]);
                for (p, a) in acc.iter_mut().enumerate() {
                    *a = a.mul_add(V::splat(line[(ox0 + p) * sx + j * dx]), w);
                }
                tap += 1;
            }
        }
    }
    let zero = V::splat(0.0);
    for (a, to) in acc.into_iter().zip(to) {
        let a = if k.relu { zero.max(a) } else { a };
        a.store(to);
    }
}

/// One block's max-pool (its [`windows`]) of `scratch` (`[oh * ow]` vectors) into the image's output planes.
#[inline(always)]
fn pool<V: Vector>(
    windows: &[Vec<usize>],
    scratch: &[[f32; LANES]],
    block: usize,
    o_count: usize,
    outs: &mut [f32],
) {
    for (at, window) in windows.iter().enumerate() {
        let mut m = V::load(&scratch[window[0]]);
        for &i in &window[1..] {
            m = m.max(V::load(&scratch[i]));
        }
        let mut lanes = [0f32; LANES];
        m.store(&mut lanes);
        put(&lanes, at, windows.len(), block, o_count, outs);
    }
}

/// For each output of the max-pool `p`, the positions of its window inside the input plane, in row-major
/// order (padding excluded).
fn windows(p: &Geometry) -> Vec<Vec<usize>> {
    let [sy, sx] = p.stride;
    let [dy, dx] = p.dilation;
    let [py, px] = p.pad;
    let mut all = Vec::with_capacity(p.oh * p.ow);
    for oy in 0..p.oh {
        for ox in 0..p.ow {
            let mut window = vec![];
            for i in p.window(0, oy) {
                for j in p.window(1, ox) {
                    window.push((oy * sy + i * dy - py) * p.w + ox * sx + j * dx - px);
                }
            }
            all.push(window);
        }
    }
    all
}

/// One block's convolution from `scratch` into the image's output planes.
fn scatter(scratch: &[[f32; LANES]], block: usize, o_count: usize, outs: &mut [f32]) {
    for (at, lanes) in scratch.iter().enumerate() {
        put(lanes, at, scratch.len(), block, o_count, outs);
    }
}

/// Position `at` of the planes (each `plane` long) of one block's channels.
#[inline(always)]
fn put(
    lanes: &[f32; LANES],
    at: usize,
    plane: usize,
    block: usize,
    o_count: usize,
    outs: &mut [f32],
) {
    let o0 = block * LANES;
    for (b, &v) in lanes.iter().enumerate().take(o_count - o0) {
        outs[(o0 + b) * plane + at] = v;
    }
}

#[cfg(target_arch = "x86_64")]
mod avx {
    use super::Prepared;
    use std::arch::x86_64::__m256;

    /// [`super::images`] with each vector in an AVX register.
    #[target_feature(enable = "avx,fma")]
    pub(super) fn images(k: &Prepared<'_>, x: &[f32], out: &mut [f32]) {
        super::images::<__m256>(k, x, out)
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

/// Each output is the largest input of its window ([`windows`], padding excluded) by `>`, plane by plane.
fn max_pool(g: &Geometry, x: &[f32], out: &mut [f32]) {
    let windows = windows(g);
    for (outs, plane) in out
        .chunks_exact_mut(g.oh * g.ow)
        .zip(x.chunks_exact(g.h * g.w))
    {
        for (y, window) in outs.iter_mut().zip(&windows) {
            let mut m = plane[window[0]];
            for &i in &window[1..] {
                if plane[i] > m {
                    m = plane[i];
                }
            }
            *y = m;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ops::simd::testing::{bits, noise};

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
        let none = Stages {
            relu: false,
            pool: None,
        };
        conv(Isa::detect(), &g, &x, &[1.0; 9], &[0.5], none, &mut out);
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

    /// The definition, one output at a time with bounds tests: bias, then `fma(w, x, acc)` over (c, i, j).
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
                                    acc = w.mul_add(v, acc);
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

    /// The definition of max-pool, one output at a time with bounds tests: the window's first value inside
    /// the input, then each later one that is `>` the largest so far.
    fn reference_pool(g: &Geometry, x: &[f32]) -> Vec<f32> {
        let mut out = vec![];
        let inside = |o: usize, k: usize, axis: usize| {
            let i = (o * g.stride[axis] + k * g.dilation[axis]).checked_sub(g.pad[axis])?;
            (i < [g.h, g.w][axis]).then_some(i)
        };
        for plane in x.chunks_exact(g.h * g.w) {
            for oy in 0..g.oh {
                for ox in 0..g.ow {
                    let mut m: Option<f32> = None;
                    for i in 0..g.kh {
                        for j in 0..g.kw {
                            if let (Some(y), Some(xx)) = (inside(oy, i, 0), inside(ox, j, 1)) {
                                let v = plane[y * g.w + xx];
                                m = Some(match m {
                                    Some(m) if v > m => v,
                                    Some(m) => m,
                                    None => v,
                                });
                            }
                        }
                    }
                    out.push(m.expect("a window inside the input"));
                }
            }
        }
        out
    }

    #[test]
    fn conv_relu_and_pool_give_the_definitions_bits_for_any_geometry() {
        // Three channels in; LANES and two more out (a full block and a partial one); 11 output columns (a
        // group of COLUMNS and three alone); values with many significant bits, half negative. Every
        // geometry runs on the portable vectors and, on a CPU with AVX and FMA, on AVX registers.
        let mut next = noise(1);
        let pools = [
            None,
            Some((2, 2, 1, 0)),
            Some((3, 1, 1, 1)),
            Some((2, 1, 2, 0)),
        ];
        for (stride, dilation, pad) in [(1, 1, 1), (2, 1, 0), (1, 2, 2), (2, 2, 1)] {
            let (n, c, h, w, k, o) = (2, 3, 9, 11, 3, LANES + 2);
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
            let convolved = reference_conv(&g, &x, &kernel, &bias);
            for relu in [false, true] {
                let rectified: Vec<f32> = convolved
                    .iter()
                    .map(|&v| if !relu || v > 0.0 { v } else { 0.0 })
                    .collect();
                for spec in pools {
                    let p = spec.map(|(pk, ps, pd, pp)| {
                        let out = |d: usize| (d + 2 * pp - pd * (pk - 1) - 1) / ps + 1;
                        Geometry {
                            n,
                            c: o,
                            h: g.oh,
                            w: g.ow,
                            oh: out(g.oh),
                            ow: out(g.ow),
                            kh: pk,
                            kw: pk,
                            stride: [ps; 2],
                            dilation: [pd; 2],
                            pad: [pp; 2],
                        }
                    });
                    let expected = match &p {
                        Some(p) => reference_pool(p, &rectified),
                        None => rectified.clone(),
                    };
                    for isa in Isa::available() {
                        let mut ours = vec![f32::NAN; expected.len()];
                        let stages = Stages {
                            relu,
                            pool: p.as_ref(),
                        };
                        conv(isa, &g, &x, &kernel, &bias, stages, &mut ours);
                        assert_eq!(
                            bits(&ours),
                            bits(&expected),
                            "{isa:?}: stride {stride} dilation {dilation} pad {pad}, relu {relu}, pool {spec:?}"
                        );
                    }
                }
            }
        }
    }

    #[test]
    fn max_pool_gives_the_definitions_bits() {
        let mut next = noise(7);
        for (k, s, pad) in [(2, 2, 0), (3, 1, 1), (3, 2, 1)] {
            let mut g = geometry(7, 9, k, s, pad);
            g.c = 3;
            let x: Vec<f32> = (0..3 * 7 * 9).map(|_| next()).collect();
            let mut ours = vec![0.0; 3 * g.oh * g.ow];
            max_pool(&g, &x, &mut ours);
            assert_eq!(
                bits(&ours),
                bits(&reference_pool(&g, &x)),
                "k {k} s {s} pad {pad}"
            );
        }
    }

    #[test]
    fn the_pytorch_cnn_runs_as_one_fused_convolution() {
        // digits_cnn (crates/eval/fixtures/make_torch.py): Conv, Relu, MaxPool become one DirectConv.
        let path =
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/digits_cnn.onnx");
        let mut model = crate::ops::onnx()
            .model_for_path(path)
            .and_then(|m| m.with_input_fact(0, f32::fact([4, 64]).into()))
            .and_then(|m| m.into_typed())
            .and_then(|m| m.into_decluttered())
            .expect("the fixture loads");
        assert_eq!(swap_in(&mut model).expect("swapped"), 3);
        let ops: Vec<String> = model
            .nodes()
            .iter()
            .map(|n| n.op().name().to_string())
            .collect();
        let fused: Vec<&DirectConv> = model
            .nodes()
            .iter()
            .filter_map(|n| n.op_as::<DirectConv>())
            .collect();
        assert_eq!(fused.len(), 1, "{ops:?}");
        assert!(fused[0].relu && fused[0].pool.is_some(), "{ops:?}");
        assert!(
            !ops.iter().any(|o| o.contains("MaxPool") || o == "Max"),
            "{ops:?}"
        );
    }
}
