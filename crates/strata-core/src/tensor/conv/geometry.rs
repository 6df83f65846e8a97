//! [`Conv2dGeom`]: the shapes of one 2-D convolution, checked once. Input x [N, C, H, W],
//! weight w [O, C/groups, KH, KW], bias `[O]`, output [N, O, OH, OW]. Every kernel of the
//! family takes one; nothing here computes a convolution.

use crate::{Error, Result};
use std::fmt;

/// Everything about one convolution's shapes. Input [N, C, H, W], weight
/// [O, C/groups, KH, KW], output [N, O, OH, OW].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Conv2dGeom {
    /// Samples N.
    pub n: usize,
    /// Input channels C.
    pub c: usize,
    /// Input height H.
    pub h: usize,
    /// Input width W.
    pub w: usize,
    /// Output channels O.
    pub o: usize,
    /// Kernel height KH.
    pub kh: usize,
    /// Kernel width KW.
    pub kw: usize,
    /// (rows, columns) stride.
    pub stride: (usize, usize),
    /// (top, bottom, left, right) zero padding.
    pub pad: (usize, usize, usize, usize),
    /// (rows, columns) dilation: 1 is a dense kernel.
    pub dilation: (usize, usize),
    /// Channel groups: each group of O/groups outputs sees C/groups inputs.
    pub groups: usize,
    /// Output height OH.
    pub oh: usize,
    /// Output width OW.
    pub ow: usize,
}

impl Conv2dGeom {
    /// Checks the shapes and computes the output size
    /// `(n + pad_before + pad_after - d (k - 1) - 1) / s + 1` per axis.
    pub fn new(
        input: &[usize],
        weight: &[usize],
        stride: (usize, usize),
        pad: (usize, usize, usize, usize),
        dilation: (usize, usize),
        groups: usize,
    ) -> Result<Conv2dGeom> {
        let mismatch = |why: &str| {
            Error::bad_shape(
                "conv2d",
                input,
                format!("{why} (weight {weight:?}, stride {stride:?}, padding {pad:?}, dilation {dilation:?}, groups {groups})"),
            )
        };
        let (&[n, c, h, w], &[o, cg, kh, kw]) = (input, weight) else {
            return Err(mismatch("input must be [N, C, H, W] and weight [O, C/groups, KH, KW]"));
        };
        if groups == 0 || c % groups != 0 || o % groups != 0 || cg * groups != c {
            return Err(mismatch("channels do not divide into the groups"));
        }
        if stride.0 == 0 || stride.1 == 0 || dilation.0 == 0 || dilation.1 == 0 || kh == 0 || kw == 0 {
            return Err(mismatch("kernel, stride and dilation must be at least 1"));
        }
        // Sizes come from files and flags: arithmetic that overflows is a refused shape.
        let span = |d: usize, k: usize| d.checked_mul(k - 1)?.checked_add(1);
        let padded = |n: usize, a: usize, b: usize| n.checked_add(a)?.checked_add(b);
        let sizes = (span(dilation.0, kh), span(dilation.1, kw), padded(h, pad.0, pad.1), padded(w, pad.2, pad.3));
        let (Some(span_h), Some(span_w), Some(ph), Some(pw)) = sizes else {
            return Err(mismatch("sizes too large (the padded input or the dilated kernel overflows)"));
        };
        if ph < span_h || pw < span_w {
            return Err(mismatch("the kernel is larger than the padded input"));
        }
        let (oh, ow) = ((ph - span_h) / stride.0 + 1, (pw - span_w) / stride.1 + 1);
        if crate::memory::element_count(&[c, kh, kw, oh, ow]).is_none() || crate::memory::element_count(&[o, oh, ow]).is_none() {
            return Err(mismatch("sizes too large (the unfolded input or the output has more than 2^40 values)"));
        }
        Ok(Conv2dGeom { n, c, h, w, o, kh, kw, stride, pad, dilation, groups, oh, ow })
    }
    /// Rows of the im2col matrix per group: C/groups * KH * KW.
    pub fn k(&self) -> usize {
        self.c / self.groups * self.kh * self.kw
    }
    /// Output pixels per channel: OH * OW.
    pub fn p(&self) -> usize {
        self.oh * self.ow
    }
    /// The output's shape [N, O, OH, OW].
    pub fn out_shape(&self) -> [usize; 4] {
        [self.n, self.o, self.oh, self.ow]
    }
    /// Multiply-accumulates of one sample's forward pass.
    pub fn macs_per_sample(&self) -> u64 {
        (self.o * self.k() * self.p()) as u64
    }
    /// A 1x1, stride-1, unpadded convolution: the input already is its im2col matrix.
    pub(super) fn is_pointwise(&self) -> bool {
        self.kh == 1 && self.kw == 1 && self.stride == (1, 1) && self.pad == (0, 0, 0, 0)
    }
}

/// One sample's shapes and the convolution's settings, e.g. `x [C=16, 28x28], w [32, 16,
/// 3x3], stride (1, 1), padding (1, 1, 1, 1), dilation (1, 1), groups 1` (the batch size
/// is left out: no kernel's applicability depends on it).
impl fmt::Display for Conv2dGeom {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "x [C={}, {}x{}], w [{}, {}, {}x{}], stride {:?}, padding {:?}, dilation {:?}, groups {}",
            self.c,
            self.h,
            self.w,
            self.o,
            self.c / self.groups,
            self.kh,
            self.kw,
            self.stride,
            self.pad,
            self.dilation,
            self.groups
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn output_size_formula() {
        // (n + 2p - d(k-1) - 1)/s + 1
        let g = Conv2dGeom::new(&[1, 1, 28, 28], &[6, 1, 5, 5], (1, 1), (2, 2, 2, 2), (1, 1), 1).unwrap();
        assert_eq!((g.oh, g.ow), (28, 28));
        let g = Conv2dGeom::new(&[1, 3, 224, 224], &[64, 3, 11, 11], (4, 4), (2, 2, 2, 2), (1, 1), 1).unwrap();
        assert_eq!((g.oh, g.ow), (55, 55));
        let g = Conv2dGeom::new(&[1, 1, 7, 9], &[1, 1, 3, 3], (2, 3), (1, 1, 0, 0), (2, 1), 1).unwrap();
        assert_eq!((g.oh, g.ow), ((7 + 2 - 4 - 1) / 2 + 1, (9 - 2 - 1) / 3 + 1));
        assert!(Conv2dGeom::new(&[1, 1, 2, 2], &[1, 1, 3, 3], (1, 1), (0, 0, 0, 0), (1, 1), 1).is_err());
        assert!(Conv2dGeom::new(&[1, 3, 8, 8], &[4, 3, 3, 3], (1, 1), (0, 0, 0, 0), (1, 1), 2).is_err());
    }
}
