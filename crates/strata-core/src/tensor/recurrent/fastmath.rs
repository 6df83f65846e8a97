//! Branch-free `tanh` and `sigmoid` that the compiler vectorizes (AVX2 here).
//!
//! The gate nonlinearities are the only non-GEMM work of a recurrent step: five
//! transcendental functions per LSTM unit and step. The libm calls cost ~5-10 ns each and
//! run one value at a time; these run eight at a time in a handful of fused multiply-adds
//! and one division, which is what keeps the gates from dominating a training step.

/// Beyond this |x| the rational approximation is clamped; tanh is 1 to within f32 there.
const TANH_CLAMP: f32 = 7.905_311;

// Odd numerator and even denominator of a [13/6] rational minimax approximation of tanh
// on [-TANH_CLAMP, TANH_CLAMP] (the coefficients Eigen and TensorFlow use for f32).
const A1: f32 = 4.893_524_6e-3;
const A3: f32 = 6.372_619_3e-4;
const A5: f32 = 1.485_722_4e-5;
const A7: f32 = 5.122_297e-8;
const A9: f32 = -8.604_672e-11;
const A11: f32 = 2.000_188e-13;
const A13: f32 = -2.760_768_5e-16;
const B0: f32 = 4.893_525e-3;
const B2: f32 = 2.268_434_6e-3;
const B4: f32 = 1.185_347_1e-4;
const B6: f32 = 1.198_258_4e-6;

/// `tanh(x)` to within ~1e-6 absolute, without branches (NaN in, NaN out not guaranteed).
#[inline(always)]
pub fn tanh(x: f32) -> f32 {
    let x = x.clamp(-TANH_CLAMP, TANH_CLAMP);
    let x2 = x * x;
    let p = x2.mul_add(A13, A11);
    let p = x2.mul_add(p, A9);
    let p = x2.mul_add(p, A7);
    let p = x2.mul_add(p, A5);
    let p = x2.mul_add(p, A3);
    let p = x2.mul_add(p, A1) * x;
    let q = x2.mul_add(B6, B4);
    let q = x2.mul_add(q, B2);
    let q = x2.mul_add(q, B0);
    p / q
}

/// The logistic function `1 / (1 + e^-x)`, as `(1 + tanh(x / 2)) / 2`.
#[inline(always)]
pub fn sigmoid(x: f32) -> f32 {
    0.5f32.mul_add(tanh(0.5 * x), 0.5)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn close_to_libm_everywhere() {
        let mut worst_t = 0.0f64;
        let mut worst_s = 0.0f64;
        for i in -200_000..=200_000 {
            let x = i as f32 * 1e-4; // [-20, 20]
            let t = (x as f64).tanh();
            let s = 1.0 / (1.0 + (-(x as f64)).exp());
            worst_t = worst_t.max((tanh(x) as f64 - t).abs());
            worst_s = worst_s.max((sigmoid(x) as f64 - s).abs());
        }
        assert!(worst_t < 2e-6, "tanh error {worst_t}");
        assert!(worst_s < 2e-6, "sigmoid error {worst_s}");
        assert_eq!(tanh(0.0), 0.0);
        assert!(tanh(1e-30).abs() <= 1e-30 && tanh(1e30) <= 1.0 && tanh(-1e30) >= -1.0);
    }
}
