//! Models: `Sequential` (a stack of layers) and what surrounds training it —
//! `compile`, `fit` with its `History`, `evaluate`, `predict`, `summary`.

mod fit;
mod history;
mod progress;
mod sequential;
mod summary;

pub use fit::{Evaluation, FitOptions, StepOutcome};
pub use history::{EpochRecord, History};
pub use progress::Verbosity;
pub use sequential::Sequential;
pub use summary::{Summary, SummaryRow};
