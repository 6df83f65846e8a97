//! Pictures read from disk batch by batch instead of held in memory: what a [`Dataset`]
//! of an image folder keeps when its decoded pixels would not fit the cache budget
//! (`--cache-mb`).
//!
//! [`ImageFiles`] holds the paths of the pictures, the size and channels they are decoded
//! to, and per-picture statistics gathered by one decoding pass when the folder is opened
//! (which also finds unreadable files before training starts). A batch is decoded on
//! demand, in parallel, and standardized as the in-memory data would be; `Sequential::fit`
//! decodes the next batches on a background thread while the current one trains.
//!
//! [`Dataset`]: crate::Dataset

use super::image_folder::decode_into;
use super::normalize::{Standardizer, plane_moments};
use crate::{Error, Result, Tensor};
use rayon::prelude::*;
use std::path::PathBuf;

/// Pictures on disk, decoded on demand to `channels x height x width` in `[0, 1]` (then
/// standardized, once a standardizer is set).
#[derive(Clone, Debug)]
pub struct ImageFiles {
    files: Vec<PathBuf>,
    shape: [usize; 3],
    /// Per picture and channel: the plane's mean and sum of squared deviations.
    moments: Vec<(f64, f64)>,
    standardize: Option<Standardizer>,
}

/// Pictures per step of the opening pass (bounds its memory to a few MiB per thread).
const SCAN_CHUNK: usize = 256;

impl ImageFiles {
    /// Decodes every picture of `files` once (in parallel, a chunk at a time) to check it
    /// and gather its statistics, keeping none of the pixels. Returns the pictures that
    /// decoded and the positions in `files` they had.
    ///
    /// Errors: a picture that cannot be decoded, naming it, unless `skip_bad` (then it is
    /// left out and described in `skipped`).
    pub fn scan(
        files: Vec<PathBuf>,
        shape: [usize; 3],
        skip_bad: bool,
        skipped: &mut Vec<String>,
    ) -> Result<(ImageFiles, Vec<usize>)> {
        let [c, h, w] = shape;
        let per = c * h * w;
        let mut kept = Vec::with_capacity(files.len());
        let mut moments = Vec::with_capacity(files.len() * c);
        for (chunk_no, chunk) in files.chunks(SCAN_CHUNK).enumerate() {
            let found: Vec<std::result::Result<Vec<(f64, f64)>, String>> = chunk
                .par_iter()
                .map_init(
                    || vec![0f32; per],
                    |buf, p| {
                        decode_into(p, c, h, w, buf)?;
                        Ok(plane_moments(buf, c))
                    },
                )
                .collect();
            for (i, (r, p)) in found.into_iter().zip(chunk).enumerate() {
                match r {
                    Ok(m) => {
                        kept.push(chunk_no * SCAN_CHUNK + i);
                        moments.extend(m);
                    }
                    Err(e) if skip_bad => skipped.push(format!("{}: {e}", p.display())),
                    Err(e) => return Err(Error::data(p, e)),
                }
            }
        }
        let files = kept.iter().map(|&i| files[i].clone()).collect();
        Ok((ImageFiles { files, shape, moments, standardize: None }, kept))
    }

    /// Number of pictures.
    pub fn len(&self) -> usize {
        self.files.len()
    }
    /// True when there are none.
    pub fn is_empty(&self) -> bool {
        self.files.is_empty()
    }
    /// `[C, H, W]` of one decoded picture.
    pub fn sample_shape(&self) -> &[usize] {
        &self.shape
    }
    /// The files, in sample order.
    pub fn paths(&self) -> &[PathBuf] {
        &self.files
    }
    /// Bytes the decoded pictures would take in memory (f32 pixels).
    pub fn decoded_bytes(&self) -> u64 {
        (self.files.len() as u64).saturating_mul(self.shape.iter().product::<usize>() as u64).saturating_mul(4)
    }
    /// The standardizer applied after decoding, if one is set.
    pub fn standardizer(&self) -> Option<&Standardizer> {
        self.standardize.as_ref()
    }
    /// Standardizes every picture decoded from now on with `s` (fitted on the training
    /// part, see [`ImageFiles::fit_standardizer`]).
    pub fn set_standardizer(&mut self, s: Standardizer) {
        self.standardize = Some(s);
    }
    /// The standardizer the in-memory pictures would get (per channel for colour, one
    /// value for gray), from the statistics of the opening pass.
    ///
    /// Errors: there are no pictures.
    pub fn fit_standardizer(&self) -> Result<Standardizer> {
        let c = self.shape[0];
        if self.files.is_empty() || c == 0 {
            return Err(Error::invalid("standardize", "no pictures to fit on"));
        }
        let plane = self.shape[1] * self.shape[2];
        Ok(Standardizer::from_plane_moments(self.moments.chunks(c), c, plane, c > 1))
    }
    /// The pictures `rows`, in that order.
    ///
    /// Errors: an index past the end.
    pub fn subset(&self, rows: &[usize]) -> Result<ImageFiles> {
        let c = self.shape[0];
        let mut files = Vec::with_capacity(rows.len());
        let mut moments = Vec::with_capacity(rows.len() * c);
        for &r in rows {
            let f = self.files.get(r).ok_or_else(|| self.out_of_range(r))?;
            files.push(f.clone());
            moments.extend_from_slice(&self.moments[r * c..(r + 1) * c]);
        }
        Ok(ImageFiles { files, shape: self.shape, moments, standardize: self.standardize.clone() })
    }
    /// The pictures `rows` decoded (in parallel) as `[rows, C, H, W]`, standardized when a
    /// standardizer is set.
    ///
    /// Errors: an index past the end, or a picture that no longer decodes (naming it).
    pub fn decode(&self, rows: &[usize]) -> Result<Tensor> {
        let [c, h, w] = self.shape;
        let per = (c * h * w).max(1);
        if let Some(&bad) = rows.iter().find(|&&r| r >= self.files.len()) {
            return Err(self.out_of_range(bad));
        }
        let mut pixels = vec![0f32; rows.len() * c * h * w];
        pixels
            .par_chunks_mut(per)
            .zip(rows.par_iter())
            .try_for_each(|(out, &r)| decode_into(&self.files[r], c, h, w, out).map_err(|e| Error::data(&self.files[r], e)))?;
        let mut x = Tensor::from_vec(pixels, &[rows.len(), c, h, w])?;
        if let Some(s) = &self.standardize {
            s.apply(&mut x)?;
        }
        Ok(x)
    }
    fn out_of_range(&self, r: usize) -> Error {
        Error::invalid("sample index", format!("{r} is out of range for {} pictures", self.files.len()))
    }
}
