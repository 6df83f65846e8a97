//! Define-by-run reverse-mode automatic differentiation.
//!
//! A forward pass records each op on a [`Tape`] as it runs; [`Var::backward`] then walks
//! the tape in reverse, applying each op's gradient rule. All rules live in one `match`
//! in `backward.rs`, beside the enum of recorded ops in `recorded_op.rs`; the forward side of each
//! op is a method on [`Var`] in `basic_ops.rs` (elementwise, matmul, layout) or in `nn_ops.rs`
//! (fused network ops: linear, softmax cross-entropy, ...).
//!
//! ```
//! use strata_core::autograd::{Param, Tape};
//! use strata_core::Tensor;
//! let w = Param::new("w", Tensor::from_vec(vec![2.0, -1.0], &[2]).unwrap());
//! let tape = Tape::new();
//! let x = tape.input(Tensor::from_vec(vec![3.0, 4.0], &[2]).unwrap());
//! let y = tape.param(&w).mul(&x).unwrap().sum_all().unwrap(); // y = w . x
//! let grads = y.backward().unwrap();
//! assert_eq!(grads.get(&w).unwrap().data(), &[3.0, 4.0]); // dy/dw = x
//! ```

mod backward;
mod basic_ops;
mod conv_ops;
pub mod gradcheck;
mod graph_ops;
mod nn_ops;
mod norm_ops;
mod param;
mod recorded_op;
mod recurrent;
mod tape;
mod upsample_ops;

pub use param::{Gradients, Param, ParamId};
pub use recurrent::{FinalState, RecurrentOptions, RecurrentWeights};
pub use tape::{Tape, Var};
