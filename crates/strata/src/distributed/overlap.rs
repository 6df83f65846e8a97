//! The gradient all-reduce in buckets that start during the backward pass, as PyTorch's
//! DistributedDataParallel does: the last layers' gradients are final first (the backward
//! pass runs from the output), so their sum can travel while the earlier layers' backward
//! still computes, and at the end of the pass only the last bucket's transfer is left.
//!
//! Buckets are ranges of one [`GradBuffer`]: the parameters from the last backwards until a
//! bucket holds at least the bucket size in bytes; the last bucket (the first layers) also
//! carries the presence flags and the step's statistics, which lie at the buffer's end. Every rank
//! starts the buckets in the same order (bucket `k` only after bucket `k - 1`, whenever its
//! parameters arrive), as MPI requires of collectives. Summing a range of numbers in
//! pieces gives the same per-element sums as summing it whole.

use super::{Communicator, GradBuffer, PendingSum};
use crate::autograd::ParamId;
use crate::{Result, Tensor};
use std::collections::HashMap;
use std::ops::Range;

/// A bucket size to try: large enough that the per-message latency (tens of microseconds
/// over TCP) stays small against the transfer, small enough that a CIFAR ResNet's 1 MiB of
/// gradients makes several buckets. Not the default: OpenMPI's non-blocking all-reduce over
/// TCP advances only inside MPI calls, and the calls between layers were too few to move
/// the data during the backward pass (BENCHMARKS.md, "Overlap"); a progress thread is the
/// next step.
pub const SUGGESTED_BUCKET_BYTES: usize = 256 << 10;

/// The sums of one step in flight, with their bucket numbers.
pub type Pending<'c> = Vec<(usize, Box<dyn PendingSum + 'c>)>;

/// The bucket layout of one model's gradient buffer, and one step's progress.
pub struct BucketedSum {
    /// Which parameter (index into the buffer's parameters) a parameter id is.
    index_of: HashMap<ParamId, usize>,
    /// The bucket of each parameter.
    bucket_of: Vec<usize>,
    /// Each bucket's ranges of the buffer, in starting order (the last layers' first).
    ranges: Vec<Vec<Range<usize>>>,
    /// Per bucket, its parameters that have not arrived in this step.
    waiting: Vec<usize>,
    arrived: Vec<bool>,
    /// Buckets started in this step (a prefix of `ranges`).
    started: usize,
    scale: f32,
}

impl BucketedSum {
    /// Buckets of at least `bucket_bytes` over `buffer`, whose parameters have the ids
    /// `ids` in the buffer's order.
    pub fn new(buffer: &GradBuffer, ids: &[ParamId], bucket_bytes: usize) -> BucketedSum {
        let n = buffer.param_count();
        let mut bucket_of = vec![0; n];
        let mut ranges: Vec<Vec<Range<usize>>> = Vec::new();
        let mut current: Option<Range<usize>> = None;
        for i in (0..n).rev() {
            let r = buffer.param_range(i);
            let range = match current.take() {
                Some(c) => r.start..c.end,
                None => r,
            };
            bucket_of[i] = ranges.len();
            if range.len() * std::mem::size_of::<f32>() >= bucket_bytes && i > 0 {
                ranges.push(vec![range]);
            } else {
                current = Some(range);
            }
        }
        // The last bucket: the first parameters, the flags and the statistics.
        let params_end = n.checked_sub(1).map_or(0, |last| buffer.param_range(last).end);
        let mut last = vec![params_end..buffer.len()];
        if let Some(c) = current.filter(|c| !c.is_empty()) {
            last.insert(0, c);
        }
        ranges.push(last);
        let mut counts = vec![0; ranges.len()];
        bucket_of.iter().for_each(|&b| counts[b] += 1);
        BucketedSum {
            index_of: ids.iter().enumerate().map(|(i, &id)| (id, i)).collect(),
            bucket_of,
            waiting: counts,
            arrived: vec![false; n],
            started: 0,
            scale: 1.0,
            ranges,
        }
    }

    /// Number of buckets (all-reduces per step).
    pub fn buckets(&self) -> usize {
        self.ranges.len()
    }

    /// Starts a step whose gradients are scaled by `scale` as they arrive.
    pub fn begin(&mut self, scale: f32) {
        self.scale = scale;
        self.started = 0;
        self.arrived.iter_mut().for_each(|a| *a = false);
        self.waiting.iter_mut().for_each(|w| *w = 0);
        self.bucket_of.iter().for_each(|&b| self.waiting[b] += 1);
    }

    /// Parameter `id`'s final gradient: written into `buffer`, and every bucket now
    /// complete (in order, never the last) started; the sums in flight are advanced.
    pub fn arrive<'c>(
        &mut self,
        id: ParamId,
        grad: &Tensor,
        buffer: &mut GradBuffer,
        comm: &'c dyn Communicator,
        pending: &mut Pending<'c>,
    ) -> Result<()> {
        if let Some(&i) = self.index_of.get(&id)
            && !self.arrived[i]
        {
            buffer.write(i, Some(grad), self.scale)?;
            self.arrived[i] = true;
            self.waiting[self.bucket_of[i]] -= 1;
            while self.started + 1 < self.ranges.len() && self.waiting[self.started] == 0 {
                self.start(self.started, buffer, comm, pending);
            }
        }
        pending.iter_mut().for_each(|(_, p)| p.progress());
        Ok(())
    }

    /// Ends the step: zeros for the parameters that got no gradient, the statistics, the
    /// remaining buckets started, every sum waited for and written back into `buffer`.
    pub fn finish<'c>(
        &mut self,
        extras: &[f32],
        buffer: &mut GradBuffer,
        comm: &'c dyn Communicator,
        mut pending: Pending<'c>,
    ) -> Result<()> {
        for i in 0..self.arrived.len() {
            if !self.arrived[i] {
                buffer.write(i, None, self.scale)?;
            }
        }
        buffer.set_extras(extras)?;
        while self.started < self.ranges.len() {
            self.start(self.started, buffer, comm, &mut pending);
        }
        for (bucket, sum) in pending {
            let sum = sum.finish();
            let mut at = 0;
            for r in &self.ranges[bucket] {
                buffer.as_mut_slice()[r.clone()].copy_from_slice(&sum[at..at + r.len()]);
                at += r.len();
            }
        }
        Ok(())
    }

    fn start<'c>(&mut self, bucket: usize, buffer: &GradBuffer, comm: &'c dyn Communicator, pending: &mut Pending<'c>) {
        let data: Vec<f32> = self.ranges[bucket].iter().flat_map(|r| &buffer.as_slice()[r.clone()]).copied().collect();
        pending.push((bucket, comm.start_sum(data)));
        self.started = bucket + 1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::autograd::{Param, Tape};
    use crate::distributed::Local;

    fn params(sizes: &[usize]) -> Vec<Param> {
        sizes.iter().enumerate().map(|(i, &n)| Param::new(format!("p{i}"), Tensor::full(&[n], 1.0 + i as f32))).collect()
    }

    #[test]
    fn buckets_cover_the_buffer_from_the_last_parameters() {
        let ps = params(&[100, 10, 300, 50, 20]);
        let refs: Vec<&Param> = ps.iter().collect();
        let buffer = GradBuffer::new(&refs, 3);
        let ids: Vec<ParamId> = ps.iter().map(|p| p.id()).collect();
        // 400 bytes: [p4 p3 p2] (370 floats), [p1 p0 + flags + extras].
        let b = BucketedSum::new(&buffer, &ids, 400);
        assert_eq!(b.ranges, vec![vec![110..480], vec![0..110, 480..488]]);
        assert_eq!(b.bucket_of, vec![1, 1, 0, 0, 0]);
        // One bucket per parameter at a tiny size, except the first, which closes the buffer.
        let b = BucketedSum::new(&buffer, &ids, 1);
        assert_eq!(b.ranges, vec![vec![460..480], vec![410..460], vec![110..410], vec![100..110], vec![0..100, 480..488]]);
        // Larger than everything: one bucket, today's single all-reduce.
        assert_eq!(BucketedSum::new(&buffer, &ids, 1 << 30).ranges, vec![vec![0..480, 480..488]]);
        // Every number of the buffer is in exactly one bucket.
        for bytes in [1, 4, 400, 1200, 1 << 30] {
            let mut seen = vec![0; buffer.len()];
            BucketedSum::new(&buffer, &ids, bytes).ranges.iter().flatten().flat_map(|r| r.clone()).for_each(|i| seen[i] += 1);
            assert!(seen.iter().all(|&c| c == 1), "bucket size {bytes}: {seen:?}");
        }
    }

    /// Gradients arriving one by one (in any order) and summed in buckets end up exactly
    /// as `GradBuffer::fill` writes them, missing parameters included.
    #[test]
    fn bucketed_step_fills_the_buffer_as_fill_does() {
        let ps = params(&[7, 5, 9, 3]);
        let refs: Vec<&Param> = ps.iter().collect();
        let tape = Tape::new();
        // p2 takes no part.
        let loss = [0, 1, 3].iter().fold(None::<crate::autograd::Var>, |acc, &i| {
            let term = tape.param(&ps[i]).square().sum_all().unwrap();
            Some(match acc {
                Some(a) => a.add(&term).unwrap(),
                None => term,
            })
        });
        let grads = loss.unwrap().backward().unwrap();
        let mut expected = GradBuffer::new(&refs, 2);
        expected.fill(&refs, Some(&grads), 0.5, &[4.0, 2.0]).unwrap();

        let comm = Local::new();
        let mut buffer = GradBuffer::new(&refs, 2);
        buffer.as_mut_slice().fill(f32::NAN); // stale values of an earlier step
        let ids: Vec<ParamId> = ps.iter().map(|p| p.id()).collect();
        let mut b = BucketedSum::new(&buffer, &ids, 4);
        assert_eq!(b.buckets(), 4);
        b.begin(0.5);
        let mut pending = Vec::new();
        for i in [1, 3, 0] {
            b.arrive(ps[i].id(), grads.get(&ps[i]).unwrap(), &mut buffer, &comm, &mut pending).unwrap();
        }
        // p3's bucket (the first) can go; p2's blocks the rest until the end.
        assert_eq!(pending.len(), 1);
        b.finish(&[4.0, 2.0], &mut buffer, &comm, pending).unwrap();
        assert_eq!(buffer.as_slice(), expected.as_slice());
        assert_eq!(comm.stats().allreduce_calls, 4);
        assert_eq!(comm.stats().allreduce_bytes, 4 * buffer.len() as u64, "each number sent once");
    }
}
