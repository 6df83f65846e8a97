#![deny(missing_docs)]
//! # strata-core
//!
//! The numeric heart of [strata](https://docs.rs/strata): [`Tensor`] (contiguous row-major
//! `f32`) with its kernels, and reverse-mode automatic differentiation over them
//! ([`autograd`]). No file formats, no command line: the `strata` crate builds layers,
//! models and data handling on top of this one.
//!
//! ```
//! use strata_core::autograd::{Param, Tape};
//! use strata_core::Tensor;
//! let w = Param::new("w", Tensor::from_vec(vec![2.0, -1.0], &[2]).unwrap());
//! let tape = Tape::new();
//! let x = tape.input(Tensor::from_vec(vec![3.0, 4.0], &[2]).unwrap());
//! let y = tape.param(&w).mul(&x).unwrap().sum_all().unwrap(); // y = w . x
//! assert_eq!(y.backward().unwrap().get(&w).unwrap().data(), &[3.0, 4.0]); // dy/dw = x
//! ```

pub mod autograd;
pub mod error;
pub mod memory;
pub mod rng;
pub mod tensor;

pub use error::{Error, Result};
pub use rng::Rng;
pub use tensor::Tensor;
