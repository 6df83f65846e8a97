//! Models: `Sequential` (a stack of layers) and what surrounds training it —
//! `compile`, `fit` with its `History`, `evaluate`, `predict`, `summary`; the training
//! configuration; early stopping and per-epoch checkpoints with exact resume; saved models.

mod checkpoint;
mod choice;
mod data_parallel;
mod early_stopping;
mod ensemble;
mod fit;
mod history;
mod inference;
mod observer;
mod progress;
mod replicas;
mod saliency;
mod saving;
mod sequential;
mod summary;
mod train_config;

pub use checkpoint::{Checkpoint, checkpoint_path};
pub use choice::ModelChoice;
pub use early_stopping::{EarlyStopping, Monitor};
pub use ensemble::{ClassEvaluation, Ensemble, Member, class_probabilities};
pub use fit::{Evaluation, FitOptions, StepOutcome};
pub use history::{EpochRecord, History};
pub use inference::EVAL_BATCH;
pub use observer::{SharedObserver, StepRecord, TrainingObserver};
pub use progress::Verbosity;
pub use replicas::{MAX_REPLICAS_PER_CORE, fit_replicated};
pub use saving::{BaselineSpec, ModelMeta, SavedModel, description_path, load_model, model_meta, save_model};
pub(crate) use saving::{read_meta, save_model_file, save_model_meta};
pub use sequential::Sequential;
pub use summary::{Summary, SummaryRow, thousands};
pub use train_config::{ConfigLayer, ConfigSource, FIELDS, MAX_EPOCHS, Resolved, SMALL_DATA, SMALL_DATA_STEPS, TrainConfig};
