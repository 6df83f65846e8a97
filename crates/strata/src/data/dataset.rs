//! A dataset (inputs + targets), in memory or streamed from picture files, and seeded,
//! shuffled mini-batches.

use super::stream::ImageFiles;
use crate::{Error, Result, Rng, Tensor};
use std::sync::Arc;

/// What a model is trained to predict.
#[derive(Clone, Debug, PartialEq)]
pub enum Target {
    /// One class index per sample (classification).
    Classes {
        /// The class of each sample, in `0..num_classes`.
        labels: Vec<u32>,
        /// Number of classes (also those no sample has).
        num_classes: usize,
    },
    /// Real-valued targets `[N, ...]` (regression, autoencoders, binary targets).
    Values(Tensor),
}

impl Target {
    /// Number of samples `N`.
    pub fn len(&self) -> usize {
        match self {
            Target::Classes { labels, .. } => labels.len(),
            Target::Values(t) => t.shape().first().copied().unwrap_or(0),
        }
    }
    /// True when there are no samples.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
    /// The targets of samples `indices`, in that order.
    ///
    /// Errors: an index `>= len()`.
    pub fn gather(&self, indices: &[usize]) -> Result<Target> {
        Ok(match self {
            Target::Classes { labels, num_classes } => {
                let picked = indices.iter().map(|&i| {
                    labels.get(i).copied().ok_or_else(|| {
                        Error::invalid("target index", format!("{i} is out of range for {} samples", labels.len()))
                    })
                });
                Target::Classes { labels: picked.collect::<Result<_>>()?, num_classes: *num_classes }
            }
            Target::Values(t) => Target::Values(t.gather_rows(indices)?),
        })
    }
}

/// Samples: inputs and what to predict from them, sample `i` being row `i` of both.
///
/// The inputs are held in memory, or, for a picture folder too large for the cache budget,
/// read from disk batch by batch ([`Dataset::streamed`]): then `inputs` is an empty
/// `[0, C, H, W]` placeholder and [`Dataset::batch`], [`Dataset::subset`] and
/// [`Dataset::inputs_of`] decode the files.
#[derive(Clone, Debug)]
pub struct Dataset {
    /// The inputs `[N, ...]`: images `[N, C, H, W]`, table rows `[N, features]`, etc.
    /// (`[0, C, H, W]` when the dataset is [streamed](Dataset::is_streamed)).
    pub inputs: Tensor,
    /// One target per sample.
    pub targets: Target,
    /// Human-readable class names, when known (e.g. "T-shirt/top").
    pub class_names: Option<Vec<String>>,
    /// The picture files of a streamed dataset.
    files: Option<Arc<ImageFiles>>,
}

/// The most classes a classification dataset may have. More is a mistake (a label that is
/// not a class index, an ID column taken as the target), and the output layer it asks for
/// would not fit.
pub const MAX_CLASSES: usize = 100_000;

/// One mini-batch: rows of a [`Dataset`], gathered by [`Dataset::batch`].
#[derive(Clone, Debug)]
pub struct Batch {
    /// The inputs `[B, ...]` of the batch's `B` samples.
    pub inputs: Tensor,
    /// Their targets, in the same order.
    pub targets: Target,
}

impl Dataset {
    /// A dataset without class names.
    ///
    /// Errors: `inputs` and `targets` hold different numbers of samples, or a class label
    /// is `>= num_classes`.
    pub fn new(inputs: Tensor, targets: Target) -> Result<Dataset> {
        let n = inputs.shape().first().copied().unwrap_or(0);
        if n != targets.len() {
            return Err(Error::invalid("dataset", format!("{n} inputs but {} targets", targets.len())));
        }
        if let Target::Classes { num_classes, .. } = &targets
            && *num_classes > MAX_CLASSES
        {
            return Err(Error::invalid("dataset", format!("{num_classes} classes (at most {MAX_CLASSES})")));
        }
        if let Target::Classes { labels, num_classes } = &targets
            && let Some(bad) = labels.iter().find(|&&l| l as usize >= *num_classes)
        {
            return Err(Error::invalid("dataset", format!("label {bad} >= {num_classes} classes")));
        }
        Ok(Dataset { inputs, targets, class_names: None, files: None })
    }

    /// A dataset whose inputs are the pictures `files`, decoded batch by batch when needed.
    ///
    /// Errors: as for [`Dataset::new`].
    pub fn streamed(files: ImageFiles, targets: Target) -> Result<Dataset> {
        let mut shape = vec![0];
        shape.extend_from_slice(files.sample_shape());
        if files.len() != targets.len() {
            return Err(Error::invalid("dataset", format!("{} pictures but {} targets", files.len(), targets.len())));
        }
        // The targets are checked as `new` checks them, against one empty row each.
        let checked = Dataset::new(Tensor::zeros(&[targets.len(), 0]), targets)?;
        Ok(Dataset { inputs: Tensor::zeros(&shape), targets: checked.targets, class_names: None, files: Some(Arc::new(files)) })
    }
    /// True when the inputs are read from picture files batch by batch.
    pub fn is_streamed(&self) -> bool {
        self.files.is_some()
    }
    /// The picture files of a streamed dataset.
    pub fn files(&self) -> Option<&ImageFiles> {
        self.files.as_deref()
    }
    /// The picture files of a streamed dataset, to change (e.g. set its standardizer).
    pub fn files_mut(&mut self) -> Option<&mut ImageFiles> {
        self.files.as_mut().map(Arc::make_mut)
    }
    /// The inputs in memory, for what needs them whole.
    ///
    /// Errors: the dataset is streamed; the message says that `what` needs the data in
    /// memory and how to get it there.
    pub fn in_memory(&self, what: &str) -> Result<&Tensor> {
        match &self.files {
            Some(f) => Err(Error::invalid(
                "cache-mb",
                format!(
                    "{what} needs the whole dataset in memory, but its {} pictures ({} decoded) are streamed from disk \
                     because they exceed the cache budget; raise --cache-mb or use a smaller folder",
                    f.len(),
                    crate::memory::human_bytes(f.decoded_bytes())
                ),
            )),
            None => Ok(&self.inputs),
        }
    }
    /// The inputs of samples `indices`, in that order (decoded from disk when streamed).
    ///
    /// Errors: an index `>= len()`, or a picture that does not decode.
    pub fn inputs_of(&self, indices: &[usize]) -> Result<Tensor> {
        match &self.files {
            Some(f) => f.decode(indices),
            None => self.inputs.gather_rows(indices),
        }
    }

    /// Number of samples.
    pub fn len(&self) -> usize {
        self.targets.len()
    }
    /// True when there are no samples.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
    /// Shape of one sample (without the batch dimension).
    pub fn sample_shape(&self) -> &[usize] {
        &self.inputs.shape()[1..]
    }
    /// Number of classes; `None` for [`Target::Values`].
    pub fn num_classes(&self) -> Option<usize> {
        match &self.targets {
            Target::Classes { num_classes, .. } => Some(*num_classes),
            Target::Values(_) => None,
        }
    }

    /// The samples `indices`, in that order, with the same class names.
    pub fn subset(&self, indices: &[usize]) -> Result<Dataset> {
        let files = self.files.as_ref().map(|f| f.subset(indices).map(Arc::new)).transpose()?;
        Ok(Dataset {
            inputs: if files.is_some() { self.inputs.clone() } else { self.inputs.gather_rows(indices)? },
            targets: self.targets.gather(indices)?,
            class_names: self.class_names.clone(),
            files,
        })
    }

    /// The samples `indices` as one batch, in that order (decoded from disk when streamed).
    pub fn batch(&self, indices: &[usize]) -> Result<Batch> {
        Ok(Batch { inputs: self.inputs_of(indices)?, targets: self.targets.gather(indices)? })
    }

    /// Splits off `round(fraction * N)` samples of a shuffle drawn from `rng` as a validation
    /// set: returns `(train, validation)`. Not stratified (see
    /// [`split::train_test_split`](super::split::train_test_split) for that).
    ///
    /// Errors: `fraction` outside `[0, 1)`.
    pub fn split(&self, fraction: f32, rng: &mut Rng) -> Result<(Dataset, Dataset)> {
        if !(0.0..1.0).contains(&fraction) {
            return Err(Error::invalid("validation split", format!("{fraction} is not in [0, 1)")));
        }
        let order = rng.permutation(self.len());
        let n_val = (self.len() as f32 * fraction).round() as usize;
        let (train, val) = order.split_at(self.len() - n_val);
        Ok((self.subset(train)?, self.subset(val)?))
    }

    /// The sample order of one epoch: shuffled with `rng`, or in order when `rng` is `None`,
    /// cut into batches of `batch_size` (the last one may be smaller; 0 counts as 1).
    pub fn batch_indices(&self, batch_size: usize, rng: Option<&mut Rng>) -> Vec<Vec<usize>> {
        let order = match rng {
            Some(r) => r.permutation(self.len()),
            None => (0..self.len()).collect(),
        };
        order.chunks(batch_size.max(1)).map(|c| c.to_vec()).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn toy(n: usize) -> Dataset {
        let x = Tensor::from_vec((0..n * 2).map(|v| v as f32).collect(), &[n, 2]).unwrap();
        Dataset::new(x, Target::Classes { labels: (0..n as u32).map(|i| i % 3).collect(), num_classes: 3 }).unwrap()
    }

    #[test]
    fn batches_cover_every_sample_once() {
        let d = toy(10);
        let mut rng = Rng::seeded(1);
        let batches = d.batch_indices(4, Some(&mut rng));
        assert_eq!(batches.iter().map(|b| b.len()).collect::<Vec<_>>(), vec![4, 4, 2]);
        let mut all: Vec<usize> = batches.concat();
        all.sort();
        assert_eq!(all, (0..10).collect::<Vec<_>>());
        // same seed, same order
        assert_eq!(batches, d.batch_indices(4, Some(&mut Rng::seeded(1))));
    }

    #[test]
    fn split_partitions_and_keeps_pairs() {
        let d = toy(20);
        let (tr, va) = d.split(0.25, &mut Rng::seeded(3)).unwrap();
        assert_eq!((tr.len(), va.len()), (15, 5));
        // each sample keeps its own label: label = (first feature / 2) % 3
        for ds in [&tr, &va] {
            if let Target::Classes { labels, .. } = &ds.targets {
                for (i, l) in labels.iter().enumerate() {
                    assert_eq!(*l, ((ds.inputs.data()[i * 2] / 2.0) as u32) % 3);
                }
            }
        }
        assert!(d.split(1.5, &mut Rng::seeded(3)).is_err());
    }

    #[test]
    fn mismatched_counts_are_rejected() {
        let x = Tensor::zeros(&[3, 2]);
        assert!(Dataset::new(x.clone(), Target::Classes { labels: vec![0, 1], num_classes: 2 }).is_err());
        assert!(Dataset::new(x, Target::Classes { labels: vec![0, 1, 5], num_classes: 2 }).is_err());
    }

    #[test]
    fn gathering_past_the_end_is_an_error() {
        let d = toy(3);
        assert!(d.targets.gather(&[2, 3]).is_err());
        assert_eq!(d.targets.gather(&[2, 0]).unwrap(), Target::Classes { labels: vec![2, 0], num_classes: 3 });
        assert!(Target::Values(Tensor::zeros(&[3, 1])).gather(&[3]).is_err());
    }
}
