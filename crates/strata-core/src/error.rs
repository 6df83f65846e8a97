//! strata's error type: every fallible operation returns [`Result`], and every variant
//! says what went wrong and where (the op and both shapes, the file and the reason, ...).

use std::path::PathBuf;

/// Everything that can go wrong in strata. The CLI prints it as one line.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Two operands whose shapes do not fit together.
    #[error("{op}: shape mismatch {left:?} vs {right:?}")]
    ShapeMismatch {
        /// The operation, e.g. `"matmul"` or `"concat"`.
        op: &'static str,
        /// Shape of the first operand.
        left: Vec<usize>,
        /// Shape of the second operand, or the shape asked for (`reshape`, `broadcast_to`,
        /// `sum_to`) or the length of a per-channel parameter.
        right: Vec<usize>,
    },

    /// An operand whose shape is wrong on its own (rank, axis out of range, ...).
    #[error("{op}: {reason} (shape {shape:?})")]
    BadShape {
        /// The operation, e.g. `"pool2d"`.
        op: &'static str,
        /// The offending operand's shape.
        shape: Vec<usize>,
        /// What is wrong with it, e.g. `input must be [N, C, H, W]`.
        reason: String,
    },

    /// A data file that is missing, corrupt or inconsistent.
    #[error("{}: {reason}", path.display())]
    Data {
        /// The file (or directory) at fault.
        path: PathBuf,
        /// What is wrong with its contents.
        reason: String,
    },

    /// An I/O failure on a named file.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file being read or written.
        path: PathBuf,
        /// The operating system's error.
        source: std::io::Error,
    },

    /// A model description (spec file, saved model) that cannot be used.
    #[error("model: {0}")]
    Model(String),

    /// An invalid user-supplied setting (flag, option, hyper-parameter).
    #[error("invalid {name}: {reason}")]
    Invalid {
        /// The setting, as the user wrote it where possible (a flag, a spec key, an op's
        /// parameter such as `"conv2d algorithm"`).
        name: String,
        /// Why the value is refused, usually with the value itself.
        reason: String,
    },

    /// A size that does not fit in this machine's memory (see [`crate::memory`]).
    #[error("{what} needs {}, this machine has {} available", human_bytes(*needed), human_bytes(*available))]
    TooLarge {
        /// What needs the memory, e.g. `"the model's parameters"`.
        what: String,
        /// Bytes it needs.
        needed: u64,
        /// Bytes available to this process.
        available: u64,
    },

    /// Training diverged.
    #[error("loss became {value} at epoch {epoch}, step {step}: training diverged (try a smaller learning rate)")]
    NonFinite {
        /// The loss: NaN or an infinity.
        value: f32,
        /// The epoch it happened in, counted from 1.
        epoch: usize,
        /// The mini-batch within that epoch, counted from 1.
        step: usize,
    },

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

/// `bytes` for people (see `memory::human_bytes`); here so that `error` needs no module
/// above it.
pub(crate) fn human_bytes(bytes: u64) -> String {
    const UNITS: [&str; 5] = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut value = bytes as f64;
    let mut unit = 0;
    while value >= 1024.0 && unit + 1 < UNITS.len() {
        value /= 1024.0;
        unit += 1;
    }
    if unit == 0 { format!("{bytes} B") } else { format!("{value:.1} {}", UNITS[unit]) }
}
