//! The one seeded random number generator every random choice draws from
//! (initialization, shuffling, dropout, augmentation): same seed, same numbers.

use rand::{RngExt, SeedableRng};
use rand_distr::{Distribution, Normal};

/// A seeded, reproducible generator (xoshiro256++; stable across platforms). Its state
/// serializes (serde), so a checkpoint can resume the exact stream.
#[derive(Clone, Debug, serde::Serialize, serde::Deserialize)]
pub struct Rng(rand::rngs::Xoshiro256PlusPlus);

impl Rng {
    /// A generator whose whole stream is determined by `seed`.
    pub fn seeded(seed: u64) -> Self {
        Rng(rand::rngs::Xoshiro256PlusPlus::seed_from_u64(seed))
    }
    /// An independent generator derived from this one (for a sub-task such as one epoch's shuffle).
    pub fn fork(&mut self) -> Rng {
        Rng::seeded(self.next_u64())
    }
    /// The next 64 random bits (uniform over all `u64`s).
    pub fn next_u64(&mut self) -> u64 {
        self.0.random()
    }
    /// Uniform in [0, 1).
    pub fn uniform(&mut self) -> f32 {
        self.0.random::<f32>()
    }
    /// Uniform in [lo, hi).
    pub fn uniform_range(&mut self, lo: f32, hi: f32) -> f32 {
        lo + (hi - lo) * self.uniform()
    }
    /// Uniform integer in `0..n`.
    ///
    /// # Panics
    /// If `n` is 0.
    pub fn below(&mut self, n: usize) -> usize {
        self.0.random_range(0..n)
    }
    /// Normal with mean `mean` and standard deviation `std` (a negative `std` acts as
    /// `|std|`); `mean` itself when `std` is NaN or infinite.
    pub fn normal(&mut self, mean: f32, std: f32) -> f32 {
        Normal::new(mean, std).map(|d| d.sample(&mut self.0)).unwrap_or(mean)
    }
    /// Fills `out` with N(mean, std) samples (all `mean` when `std` is NaN or infinite, as
    /// [`Rng::normal`]).
    pub fn fill_normal(&mut self, out: &mut [f32], mean: f32, std: f32) {
        match Normal::new(mean, std) {
            Ok(d) => out.iter_mut().for_each(|v| *v = d.sample(&mut self.0)),
            Err(_) => out.fill(mean),
        }
    }
    /// A random permutation of `0..n` (Fisher–Yates).
    pub fn permutation(&mut self, n: usize) -> Vec<usize> {
        let mut p: Vec<usize> = (0..n).collect();
        self.shuffle(&mut p);
        p
    }
    /// Shuffles `items` in place (Fisher–Yates): every order equally likely.
    pub fn shuffle<T>(&mut self, items: &mut [T]) {
        for i in (1..items.len()).rev() {
            let j = self.below(i + 1);
            items.swap(i, j);
        }
    }
}
