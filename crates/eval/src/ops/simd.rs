//! [`LANES`] `f32` values operated on together, for the loops of `ops::cnn` and `ops::matmul`: an array
//! (whatever the compiler makes of it) or, on x86-64, an AVX register. Each lane's operations are the same IEEE-754
//! operations in both, so a loop written once over [`Vector`] gives the same bits with either.

/// Values per vector (an AVX register of `f32`).
pub(crate) const LANES: usize = 8;

/// The vector instructions a loop over [`Vector`] runs on.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Isa {
    /// Arrays, and `f32::mul_add` (the CPU's FMA instruction, or libm's correctly rounded `fmaf`).
    Portable,
    /// AVX registers and FMA instructions.
    #[cfg(target_arch = "x86_64")]
    AvxFma,
}

impl Isa {
    /// The best this CPU has.
    pub(crate) fn detect() -> Isa {
        #[cfg(target_arch = "x86_64")]
        if Isa::has_avx_fma() {
            return Isa::AvxFma;
        }
        Isa::Portable
    }

    /// Whether the CPU has AVX and FMA.
    #[cfg(target_arch = "x86_64")]
    pub(crate) fn has_avx_fma() -> bool {
        std::arch::is_x86_feature_detected!("avx") && std::arch::is_x86_feature_detected!("fma")
    }

    /// Every kind this CPU can run, for tests.
    #[cfg(test)]
    pub(crate) fn available() -> Vec<Isa> {
        let mut all = vec![Isa::Portable];
        #[cfg(target_arch = "x86_64")]
        if Isa::has_avx_fma() {
            all.push(Isa::AvxFma);
        }
        all
    }
}

/// `values` by blocks of [`LANES`] (zeros past the end): a bias per output channel or column, as vectors.
pub(crate) fn blocks_of(values: &[f32]) -> Vec<[f32; LANES]> {
    let mut blocks = vec![[0f32; LANES]; values.len().div_ceil(LANES)];
    for (i, &v) in values.iter().enumerate() {
        blocks[i / LANES][i % LANES] = v;
    }
    blocks
}

/// [`LANES`] `f32` values and the operations the loops use, lane by lane.
pub(crate) trait Vector: Copy {
    fn load(v: &[f32; LANES]) -> Self;
    fn splat(v: f32) -> Self;
    fn store(self, to: &mut [f32; LANES]);
    fn add(self, other: Self) -> Self;
    /// `a * b + self` rounded once (a fused multiply-add: IEEE-754's `fusedMultiplyAdd`, the same bits
    /// whether the CPU has the instruction or not).
    fn mul_add(self, a: Self, b: Self) -> Self;
    /// `other` if `other > self`, else `self`.
    fn max(self, other: Self) -> Self;
}

impl Vector for [f32; LANES] {
    #[inline(always)]
    fn load(v: &[f32; LANES]) -> Self {
        *v
    }
    #[inline(always)]
    fn splat(v: f32) -> Self {
        [v; LANES]
    }
    #[inline(always)]
    fn store(self, to: &mut [f32; LANES]) {
        *to = self;
    }
    #[inline(always)]
    fn add(self, other: Self) -> Self {
        std::array::from_fn(|l| self[l] + other[l])
    }
    #[inline(always)]
    fn mul_add(self, a: Self, b: Self) -> Self {
        std::array::from_fn(|l| a[l].mul_add(b[l], self[l]))
    }
    #[inline(always)]
    fn max(self, other: Self) -> Self {
        std::array::from_fn(|l| {
            if other[l] > self[l] {
                other[l]
            } else {
                self[l]
            }
        })
    }
}

/// The AVX register. Its methods are only called from functions compiled with `#[target_feature(enable =
/// "avx,fma")]` that are only called for [`Isa::AvxFma`], on a CPU with those features; that is what makes
/// each `unsafe` block below sound.
#[cfg(target_arch = "x86_64")]
mod avx {
    use super::{LANES, Vector};
    use std::arch::x86_64::*;

    impl Vector for __m256 {
        #[inline(always)]
        fn load(v: &[f32; LANES]) -> Self {
            // SAFETY: `v` holds 8 floats; AVX (see the module documentation).
            unsafe { _mm256_loadu_ps(v.as_ptr()) }
        }
        #[inline(always)]
        fn splat(v: f32) -> Self {
            // SAFETY: AVX (see the module documentation).
            unsafe { _mm256_set1_ps(v) }
        }
        #[inline(always)]
        fn store(self, to: &mut [f32; LANES]) {
            // SAFETY: `to` holds 8 floats; AVX (see the module documentation).
            unsafe { _mm256_storeu_ps(to.as_mut_ptr(), self) }
        }
        #[inline(always)]
        fn add(self, other: Self) -> Self {
            // SAFETY: AVX (see the module documentation).
            unsafe { _mm256_add_ps(self, other) }
        }
        #[inline(always)]
        fn mul_add(self, a: Self, b: Self) -> Self {
            // SAFETY: FMA (see the module documentation).
            unsafe { _mm256_fmadd_ps(a, b, self) }
        }
        #[inline(always)]
        fn max(self, other: Self) -> Self {
            // `maxps a, b` is `a > b ? a : b`. SAFETY: AVX (see the module documentation).
            unsafe { _mm256_max_ps(other, self) }
        }
    }
}

/// Test inputs: a seeded stream of `f32` in [-0.5, 0.5) with many significant bits, and the bits of a result.
#[cfg(test)]
pub(crate) mod testing {
    /// The stream for `seed` (a linear congruential generator's top 24 bits).
    pub(crate) fn noise(mut seed: u32) -> impl FnMut() -> f32 {
        move || {
            seed = seed.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
            (seed >> 8) as f32 / (1u32 << 24) as f32 - 0.5
        }
    }

    /// Each value's bits, to compare results exactly (NaNs and the sign of zero included).
    pub(crate) fn bits(v: &[f32]) -> Vec<u32> {
        v.iter().map(|f| f.to_bits()).collect()
    }
}
