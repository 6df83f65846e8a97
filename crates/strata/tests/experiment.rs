//! The experiment scheme end to end: tabular files, splits, metrics against hand-computed
//! values, exact resume, and cross-validation figures of the CLI on real datasets.

use std::path::{Path, PathBuf};
use strata::data::arff::read_arff;
use strata::data::csv::read_csv;
use strata::data::split::stratified_kfold;
use strata::data::tabular::{ColumnData, Scaling, read_table};
use strata::metrics::{ConfusionMatrix, roc_auc};
use strata::prelude::*;

fn data(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data").join(name)
}

fn temp_dir(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("strata-exp-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

#[test]
fn auc_of_a_known_ranking() {
    // 3 positives, 3 negatives; of the 9 (positive, negative) pairs the positive scores
    // higher in 6, ties in 1 (0.6 vs 0.6, counting half) and is lower in 2 (0.3 vs 0.6 and
    // 0.5): AUC = 6.5 / 9.
    let scores = [0.9, 0.6, 0.3, 0.6, 0.5, 0.1];
    let positive = [true, true, true, false, false, false];
    let auc = roc_auc(&scores, &positive).unwrap();
    assert!((auc - 6.5 / 9.0).abs() < 1e-12, "{auc}");
}

#[test]
fn confusion_matrix_by_hand() {
    let truth = [0, 1, 2, 2, 1, 0, 2];
    let predicted = [0, 2, 2, 1, 1, 0, 2];
    let m = ConfusionMatrix::new(&truth, &predicted, 3).unwrap();
    assert_eq!(m.counts, vec![vec![2, 0, 0], vec![0, 1, 1], vec![0, 1, 2]]);
    assert!((m.precision(2) - 2.0 / 3.0).abs() < 1e-12);
    assert!((m.recall(1) - 0.5).abs() < 1e-12);
    assert!((m.f1(1) - 0.5).abs() < 1e-12);
    assert!((m.accuracy() - 5.0 / 7.0).abs() < 1e-12);
}

#[test]
fn stratified_folds_keep_iris_class_ratios() {
    let (d, _) = read_table(&data("iris.csv")).unwrap().to_dataset(Some("species")).unwrap();
    let Target::Classes { labels, .. } = &d.targets else { panic!("classes expected") };
    let folds = stratified_kfold(labels, 10, &mut Rng::seeded(7)).unwrap();
    for f in &folds {
        let per_class: Vec<usize> = (0..3).map(|c| f.test.iter().filter(|&&i| labels[i] == c).count()).collect();
        assert_eq!(per_class, vec![5, 5, 5]);
        assert_eq!(f.train.len(), 135);
    }
}

#[test]
fn classic_iris_arff_layout() {
    let t = read_arff(&data("iris.arff")).unwrap();
    assert_eq!(t.rows(), 150);
    let names: Vec<&str> = t.columns.iter().map(|c| c.name.as_str()).collect();
    assert_eq!(names, ["sepallength", "sepalwidth", "petallength", "petalwidth", "class"]);
    match &t.columns[4].data {
        ColumnData::Nominal { categories, values } => {
            assert_eq!(categories, &["Iris-setosa", "Iris-versicolor", "Iris-virginica"]);
            assert_eq!((values[0], values[149]), (Some(0), Some(2)));
        }
        other => panic!("class should be nominal: {other:?}"),
    }
    let ColumnData::Numeric(first) = &t.columns[0].data else { panic!("sepallength should be numeric") };
    assert_eq!((first[0], first[149]), (Some(5.1), Some(5.9)));
    // the first data row follows 19 header and comment lines
    assert_eq!(t.lines[0], 20);
    let (d, schema) = t.to_dataset(None).unwrap();
    assert_eq!(schema.target.name, "class");
    assert_eq!(&d.inputs.data()[..4], &[5.1, 3.5, 1.4, 0.2]);
}

/// Missing values: a missing input is imputed with the training mean; a row with a missing
/// class is left out.
#[test]
fn arff_missing_values() {
    let t = read_arff(&data("iris_missing.arff")).unwrap();
    let (mut d, _) = t.to_dataset(None).unwrap();
    assert_eq!(d.len(), 149);
    assert!(d.inputs.data()[2 * 4 + 1].is_nan());
    Scaling::fit("standard", &d.inputs).unwrap().apply(&mut d.inputs).unwrap();
    assert_eq!(d.inputs.data()[2 * 4 + 1], 0.0);
    assert!(d.inputs.all_finite());
}

#[test]
fn csv_with_quoted_fields() {
    let t = read_csv(&data("quoted.csv")).unwrap();
    assert_eq!(t.rows(), 4);
    assert_eq!(t.columns[1].name, "size, in cm");
    assert_eq!(t.lines, vec![2, 3, 4, 5]);
    match &t.columns[0].data {
        ColumnData::Nominal { categories, .. } => {
            assert_eq!(categories, &["alpha, the first", "beta \"quoted\"", "gamma", "delta\ntwo lines"]);
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(t.columns[1].data, ColumnData::Numeric(vec![Some(1.5), Some(2.5), None, Some(4.0)]));
    let (d, schema) = t.to_dataset(Some("label")).unwrap();
    // name one-hot (4) + size (1) + colour one-hot (3)
    assert_eq!(schema.width(), 8);
    assert_eq!(d.class_names, Some(vec!["yes".to_string(), "no".to_string()]));
}

/// A momentum optimizer whose state round-trips, so the test covers the optimizer-state part
/// of checkpoints whatever optimizers `optim` provides.
struct Momentum {
    lr: f32,
    velocity: Vec<Vec<f32>>,
}

impl Optimizer for Momentum {
    fn step(&mut self, params: &mut [&mut strata::autograd::Param], grads: &strata::autograd::Gradients) -> strata::Result<()> {
        if self.velocity.is_empty() {
            self.velocity = params.iter().map(|p| vec![0.0; p.value.numel()]).collect();
        }
        for (p, v) in params.iter_mut().zip(&mut self.velocity) {
            let Some(g) = grads.get(p) else { continue };
            for ((w, v), g) in p.value.data_mut().iter_mut().zip(v.iter_mut()).zip(g.data()) {
                *v = 0.9 * *v + g;
                *w -= self.lr * *v;
            }
        }
        Ok(())
    }
    fn learning_rate(&self) -> f32 {
        self.lr
    }
    fn set_learning_rate(&mut self, lr: f32) {
        self.lr = lr;
    }
    fn name(&self) -> &'static str {
        "test-momentum"
    }
    fn state(&self, _: &[&strata::autograd::Param]) -> Vec<(String, Tensor)> {
        self.velocity
            .iter()
            .enumerate()
            .map(|(i, v)| (format!("{i}.v"), Tensor::from_vec(v.clone(), &[v.len()]).unwrap()))
            .collect()
    }
    fn load_state(&mut self, _: &[&strata::autograd::Param], state: &[(String, Tensor)]) -> strata::Result<()> {
        self.velocity = state.iter().map(|(_, t)| t.data().to_vec()).collect();
        Ok(())
    }
}

fn resume_model(seed: u64) -> Sequential {
    let mut m = Sequential::new().seed(seed).add(Dense::new(16).activation(Relu)).add(Dropout::new(0.2)).add(Dense::new(3));
    m.compile(Momentum { lr: 0.05, velocity: Vec::new() }, Loss::SoftmaxCrossEntropy, &[Metric::Accuracy]);
    m
}

#[test]
fn a_resumed_run_ends_with_the_same_weights() {
    let (mut iris, _) = read_table(&data("iris.csv")).unwrap().to_dataset(None).unwrap();
    Scaling::fit("standard", &iris.inputs).unwrap().apply(&mut iris.inputs).unwrap();
    let opts = |dir: &Path, epochs: usize| {
        FitOptions::epochs(epochs).batch_size(16).validation_split(0.2).silent().checkpoint_dir(dir).resume(true)
    };
    let full_dir = temp_dir("resume-full");
    let mut full = resume_model(3);
    let h_full = full.fit(&iris, opts(&full_dir, 8)).unwrap();

    // The interrupted run stops after 3 epochs (as if killed), then a new process with the
    // same seed resumes from its checkpoint.
    let dir = temp_dir("resume-cut");
    let mut first = resume_model(3);
    first.fit(&iris, opts(&dir, 3)).unwrap();
    let mut resumed = resume_model(3);
    let h = resumed.fit(&iris, opts(&dir, 8)).unwrap();
    assert_eq!(h.epochs.len(), 8);
    assert_eq!(h.epochs.iter().map(|r| r.loss).collect::<Vec<_>>(), h_full.epochs.iter().map(|r| r.loss).collect::<Vec<_>>());
    assert_eq!(resumed.weights(), full.weights(), "weights must match exactly");

    // Without the checkpoint's optimizer and RNG state the run would differ: a fresh model
    // given only the epoch-3 weights ends elsewhere.
    let mut naive = resume_model(3);
    naive.build(&[4]).unwrap();
    naive.set_weights(first.weights()).unwrap();
    naive.fit(&iris, FitOptions::epochs(5).batch_size(16).validation_split(0.2).silent()).unwrap();
    assert_ne!(naive.weights(), full.weights());
}

#[test]
fn early_stopping_restores_the_best_epoch() {
    let (mut iris, _) = read_table(&data("iris.csv")).unwrap().to_dataset(None).unwrap();
    Scaling::fit("standard", &iris.inputs).unwrap().apply(&mut iris.inputs).unwrap();
    let mut m = resume_model(5);
    let es = strata::model::EarlyStopping::new(3);
    let h = m.fit(&iris, FitOptions::epochs(300).batch_size(8).validation_split(0.3).silent().early_stopping(es)).unwrap();
    assert!(h.stopped_early && h.epochs.len() < 300, "{} epochs", h.epochs.len());
    let best = h.epochs.iter().map(|r| r.val_loss.unwrap()).fold(f32::INFINITY, f32::min);
    let best_epoch = h.epochs.iter().position(|r| r.val_loss == Some(best)).unwrap() + 1;
    assert_eq!(h.epochs.len(), best_epoch + 3);
}

/// Cross-validation of iris on 1 rank and on 3 thread ranks (folds shared out, results
/// gathered): every rank holds the same report, fold for fold equal to the one-rank run.
#[test]
fn folds_shared_out_over_ranks_give_the_one_rank_figures() {
    use strata::distributed::ThreadWorld;
    use strata::experiment::{Learner, cross_validate, cross_validate_with};
    let table = read_table(&data("iris.csv")).unwrap();
    let set = table.schema_for(None, None).unwrap().dataset(&table).unwrap();
    let make = |fold: usize, train: &Dataset| Learner::new("mlp", &[4], 3, 7 + fold as u64, &[], Some(train.len()));
    let one = rayon::ThreadPoolBuilder::new()
        .num_threads(1)
        .build()
        .unwrap()
        .install(|| cross_validate(&set, 5, 3, "standard", make).unwrap());
    let world = ThreadWorld::new(3);
    let reports: Vec<_> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..3)
            .map(|r| {
                let (world, set) = (&world, &set);
                s.spawn(move || {
                    let pool = rayon::ThreadPoolBuilder::new().num_threads(1).build().unwrap();
                    pool.install(|| cross_validate_with(set, 5, 3, "standard", &world.comm(r), make).unwrap())
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    for r in &reports {
        assert_eq!(r.folds.len(), 5);
        for (a, b) in one.folds.iter().zip(&r.folds) {
            assert_eq!((a.fold, a.train_samples, a.test_samples), (b.fold, b.train_samples, b.test_samples));
            assert_eq!((a.accuracy, a.log_loss, a.auc), (b.accuracy, b.log_loss, b.auc), "fold {}", a.fold);
        }
        assert_eq!(r.confusion, one.confusion);
        assert_eq!(r.mean_accuracy, one.mean_accuracy);
    }
    assert!(one.mean_accuracy > 0.8, "{}", one.mean_accuracy);
}
