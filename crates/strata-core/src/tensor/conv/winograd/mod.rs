//! Winograd convolution F(m x m, 3x3) (Lavin & Gray 2015) for 3x3 stride-1 convolutions:
//! x [N, C, H, W], w [O, C, 3, 3], bias `[O]` -> out [N, O, OH, OW].
//!
//! With `d` an (m + 2) x (m + 2) input tile, `g` a 3x3 kernel and `y` the m x m output
//! tile: `y = A^T [(G g G^T) . (B^T d B)] A`. Summed over input channels, the elementwise
//! product becomes, for each of the (m + 2)^2 tile positions `xi`, a matrix product
//! `M[xi] [O, tiles] = U[xi] [O, C] x V[xi] [C, tiles]` with `U = G g G^T` (weights) and
//! `V = B^T d B` (input tiles). The backward pass runs the transposes:
//! `dM = A dY A^T`, `dU[xi] += dM[xi] V[xi]^T` (then `dg = G^T dU G`), and
//! `dV[xi] = U[xi]^T dM[xi]` (then `dd = B dV B^T`, added back where tiles overlap).
//!
//! - `driver`: what both variants share (tile grid, groups of samples, the products,
//!   threads), and the `Variant` trait their transforms implement.
//! - `f2x2`: F(2x2, 3x3), 16 positions: 2.25x fewer multiplications than direct.
//! - `f4x4`: F(4x4, 3x3), 36 positions: 4x fewer, for outputs of at least 16x16.
//!
//! The variants import the driver; the driver knows neither.

mod driver;
pub(super) mod f2x2;
pub(super) mod f4x4;
