//! strata's error type: every fallible operation returns [`Result`], and every variant
//! says what went wrong and where (the op and both shapes, the file and the reason, ...).

use std::path::PathBuf;

/// Everything that can go wrong in strata. The CLI prints it as one line.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Two operands whose shapes do not fit together.
    #[error("{op}: shape mismatch {left:?} vs {right:?}")]
    ShapeMismatch { op: &'static str, left: Vec<usize>, right: Vec<usize> },

    /// An operand whose shape is wrong on its own (rank, axis out of range, ...).
    #[error("{op}: {reason} (shape {shape:?})")]
    BadShape { op: &'static str, shape: Vec<usize>, reason: String },

    /// A data file that is missing, corrupt or inconsistent.
    #[error("{}: {reason}", path.display())]
    Data { path: PathBuf, reason: String },

    /// An I/O failure on a named file.
    #[error("{}: {source}", path.display())]
    Io { path: PathBuf, source: std::io::Error },

    /// A model description (spec file, saved model) that cannot be used.
    #[error("model: {0}")]
    Model(String),

    /// An invalid user-supplied setting (flag, option, hyper-parameter).
    #[error("invalid {name}: {reason}")]
    Invalid { name: String, reason: String },

    /// Training diverged.
    #[error("loss became {value} at epoch {epoch}, step {step}: training diverged (try a smaller learning rate)")]
    NonFinite { value: f32, epoch: usize, step: usize },

    /// The ranks of a distributed run disagree (configuration, data); every rank gets the
    /// same error at the same point, so all stop together.
    #[error("distributed: {0}")]
    Distributed(String),
}

/// `Result` with strata's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    /// Shorthand for [`Error::Invalid`].
    pub fn invalid(name: impl Into<String>, reason: impl Into<String>) -> Self {
        Error::Invalid { name: name.into(), reason: reason.into() }
    }
    /// Shorthand for [`Error::Data`].
    pub fn data(path: impl Into<PathBuf>, reason: impl Into<String>) -> Self {
        Error::Data { path: path.into(), reason: reason.into() }
    }
    /// Shorthand for [`Error::Io`].
    pub fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Error::Io { path: path.into(), source }
    }
    /// Shorthand for [`Error::BadShape`].
    pub fn bad_shape(op: &'static str, shape: &[usize], reason: impl Into<String>) -> Self {
        Error::BadShape { op, shape: shape.to_vec(), reason: reason.into() }
    }
}
