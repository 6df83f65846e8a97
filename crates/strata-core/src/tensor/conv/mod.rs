//! 2-D convolution (cross-correlation, as in every deep-learning library) over NCHW
//! tensors: x [N, C, H, W], w [O, C/groups, KH, KW], bias `[O]` -> out [N, O, OH, OW], and
//! its backward pass (dx [N, C, H, W], dw, db `[O]` from dy [N, O, OH, OW]).
//!
//! [`Conv2dGeom`] checks and holds the shapes. Several algorithms compute the same
//! function, each fastest on some geometries; [`Algorithm`] names them, says which supports
//! a geometry, chooses one ([`Algorithm::choose`]: forced, measured on this machine and
//! cached, or a fixed order; see [`autotune`]) and runs it:
//!
//! - im2col + GEMM: every geometry (stride, padding, dilation, groups);
//! - direct: stride 1 with fewer than 8 input channels (AVX2 + FMA kernels);
//! - strip: stride 1 with at least 8 input channels, one GEMM per kernel tap;
//! - Winograd F(2x2, 3x3) and F(4x4, 3x3): 3x3 stride 1 with at least 8 channels.
//!
//! [`conv2d_reference`] is the definition, loop by loop, that all of them are tested against.
//!
//! Inside, imports point one way: `geometry` and `runs` (helpers several algorithms share)
//! at the bottom; the algorithms (`im2col`, `direct`, `strip`, `winograd`) on them;
//! `algorithm` (the choice and the dispatch) on top. `reference` needs only `geometry`
//! (its test helper `kernel_check`, which the algorithms' tests call, also runs im2col).
//!
//! ```
//! use strata_core::tensor::conv::{Algorithm, Conv2dGeom};
//! // one sample, one channel: 3x3 input 0..8, 2x2 kernel 0..3
//! let g = Conv2dGeom::new(&[1, 1, 3, 3], &[1, 1, 2, 2], (1, 1), (0, 0, 0, 0), (1, 1), 1).unwrap();
//! let x: Vec<f32> = (0..9).map(|v| v as f32).collect();
//! let algorithm = Algorithm::choose(&g);
//! assert_eq!(algorithm.forward(&g, &x, &[0.0, 1.0, 2.0, 3.0], None), [19.0, 25.0, 37.0, 43.0]);
//! assert_eq!("im2col".parse::<Algorithm>().unwrap(), Algorithm::Im2col);
//! ```

mod algorithm;
pub mod autotune;
mod direct;
mod geometry;
mod im2col;
mod reference;
mod runs;
mod strip;
mod winograd;

pub use algorithm::Algorithm;
pub use geometry::Conv2dGeom;
pub use reference::conv2d_reference;
