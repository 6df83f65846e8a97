//! Checking, before training, that every rank runs the same configuration.

use super::Communicator;
use crate::data::{Dataset, Target};
use crate::{Error, Result};

#[derive(Clone, Debug, PartialEq)]
struct Field {
    name: String,
    value: u64,
    /// Shown as a number (seed, batch size) rather than as a hash.
    number: bool,
}

/// Named numbers and hashes that must be equal on every rank (model, data, seed, batch,
/// epochs, ...). See [`agree`].
///
/// ```
/// use strata::distributed::Fingerprint;
/// let a = Fingerprint::new().number("seed", 1).text("model", "lenet5");
/// let b = Fingerprint::new().number("seed", 2).text("model", "lenet5");
/// assert_eq!(a.first_difference(&b).as_deref(), Some("seed (2 vs 1)"));
/// ```
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Fingerprint {
    fields: Vec<Field>,
}

/// FNV-1a, 64 bits: the same on every machine and build (std's hasher promises neither).
fn fnv(bytes: impl IntoIterator<Item = u8>, mut h: u64) -> u64 {
    for b in bytes {
        h ^= b as u64;
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    h
}
const FNV_START: u64 = 0xcbf2_9ce4_8422_2325;

/// At most this many input values enter a dataset's checksum (spread over the whole set).
const DATA_SAMPLE_VALUES: usize = 1 << 20;

impl Fingerprint {
    /// An empty fingerprint.
    pub fn new() -> Fingerprint {
        Fingerprint::default()
    }
    /// A setting compared and reported as a number.
    pub fn number(mut self, name: &str, value: u64) -> Self {
        self.fields.push(Field { name: name.into(), value, number: true });
        self
    }
    /// A setting compared by a hash of its text (a model spec, a path).
    pub fn text(mut self, name: &str, value: &str) -> Self {
        self.fields.push(Field { name: name.into(), value: fnv(value.bytes(), FNV_START), number: false });
        self
    }
    /// A list of numbers compared by their hash (initial weights).
    pub fn floats(mut self, name: &str, values: &[f32]) -> Self {
        let h = fnv(values.iter().flat_map(|v| v.to_bits().to_le_bytes()), FNV_START);
        self.fields.push(Field { name: name.into(), value: h, number: false });
        self
    }
    /// A dataset: its sample count, sample shape, and a checksum of its labels and of up
    /// to a million input values spread evenly over it.
    pub fn dataset(self, name: &str, data: &Dataset) -> Self {
        let x = data.inputs.data();
        let stride = x.len().div_ceil(DATA_SAMPLE_VALUES).max(1);
        let mut h = fnv(x.iter().step_by(stride).flat_map(|v| v.to_bits().to_le_bytes()), FNV_START);
        h = match &data.targets {
            Target::Classes { labels, num_classes } => {
                fnv(labels.iter().chain([&(*num_classes as u32)]).flat_map(|l| l.to_le_bytes()), h)
            }
            Target::Values(t) => fnv(t.data().iter().flat_map(|v| v.to_bits().to_le_bytes()), h),
        };
        let shape = fnv(data.sample_shape().iter().flat_map(|d| (*d as u64).to_le_bytes()), FNV_START);
        self.number(&format!("{name} sample count"), data.len() as u64)
            .push_hash(&format!("{name} sample shape"), shape)
            .push_hash(&format!("{name} contents"), h)
    }
    /// [`Fingerprint::dataset`] of an optional dataset (the same fields, zero when absent).
    pub fn maybe_dataset(self, name: &str, data: Option<&Dataset>) -> Self {
        match data {
            Some(d) => self.dataset(name, d),
            None => self
                .number(&format!("{name} sample count"), 0)
                .push_hash(&format!("{name} sample shape"), 0)
                .push_hash(&format!("{name} contents"), 0),
        }
    }
    fn push_hash(mut self, name: &str, value: u64) -> Self {
        self.fields.push(Field { name: name.into(), value, number: false });
        self
    }

    fn values(&self) -> Vec<u64> {
        self.fields.iter().map(|f| f.value).collect()
    }

    /// How `other` (another rank's) differs from `self` (rank 0's), first field first:
    /// `"seed (2 vs 1)"`, or `"model (hash 0x.. vs 0x..)"`.
    pub fn first_difference(&self, other: &Fingerprint) -> Option<String> {
        self.differs_from_values(&other.values())
    }

    fn differs_from_values(&self, other: &[u64]) -> Option<String> {
        if other.len() != self.fields.len() {
            return Some(format!("its checks ({} vs {} settings; a different strata build?)", other.len(), self.fields.len()));
        }
        self.fields.iter().zip(other).find(|(f, v)| f.value != **v).map(|(f, &v)| {
            if f.number {
                format!("{} ({} vs {})", f.name, v, f.value)
            } else {
                format!("{} (hash {:#018x} vs {:#018x})", f.name, v, f.value)
            }
        })
    }
}

/// Every rank calls this with its own fingerprint; all gather them and compare with rank
/// 0's. On any difference every rank returns the same [`Error::Distributed`], e.g.
/// "rank 1 differs from rank 0 in seed (2 vs 1)", so all of them stop together and none
/// is left waiting in a later collective.
pub fn agree(comm: &dyn Communicator, fp: &Fingerprint) -> Result<()> {
    let size = comm.size();
    let counts = comm.all_gather_u64(&[fp.fields.len() as u64]);
    // Equal counts are needed before gathering the values themselves (fixed-size gather).
    if let Some(r) = (1..size).find(|&r| counts[r] != counts[0]) {
        return Err(Error::Distributed(format!(
            "rank {r} differs from rank 0 in its checks ({} vs {} settings; a different strata build?)",
            counts[r], counts[0]
        )));
    }
    let n = fp.fields.len();
    let all = comm.all_gather_u64(&fp.values());
    let rank0 = &all[..n];
    // Rank 0's field names are this rank's: the same build, per the counts above.
    let reference = Fingerprint { fields: fp.fields.iter().zip(rank0).map(|(f, &v)| Field { value: v, ..f.clone() }).collect() };
    for r in 1..size {
        if let Some(what) = reference.differs_from_values(&all[r * n..(r + 1) * n]) {
            return Err(Error::Distributed(format!("rank {r} differs from rank 0 in {what}")));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Tensor;

    /// A fake world of ranks whose fingerprints are known in advance (the gathers return them).
    #[derive(Debug)]
    struct Fake {
        rank: usize,
        all: Vec<Vec<u64>>,
        calls: std::cell::Cell<usize>,
    }
    impl Communicator for Fake {
        fn rank(&self) -> usize {
            self.rank
        }
        fn size(&self) -> usize {
            self.all.len()
        }
        fn all_reduce_sum(&self, _: &mut [f32]) {}
        fn all_reduce_sum_f64(&self, _: &mut [f64]) {}
        fn barrier(&self) {}
        fn all_gather_u64(&self, _local: &[u64]) -> Vec<u64> {
            let call = self.calls.get();
            self.calls.set(call + 1);
            if call == 0 { self.all.iter().map(|v| v.len() as u64).collect() } else { self.all.concat() }
        }
        fn abort(&self, _: i32) -> ! {
            unreachable!()
        }
    }

    fn fp(seed: u64, model: &str) -> Fingerprint {
        Fingerprint::new().text("model", model).number("seed", seed).number("batch size", 128)
    }

    #[test]
    fn equal_fingerprints_agree() {
        let comm = Fake { rank: 0, all: vec![fp(1, "m").values(), fp(1, "m").values()], calls: Default::default() };
        agree(&comm, &fp(1, "m")).unwrap();
    }

    #[test]
    fn a_different_seed_is_named_with_both_values() {
        let comm =
            Fake { rank: 1, all: vec![fp(1, "m").values(), fp(1, "m").values(), fp(2, "m").values()], calls: Default::default() };
        let e = agree(&comm, &fp(2, "m")).unwrap_err().to_string();
        assert_eq!(e, "distributed: rank 2 differs from rank 0 in seed (2 vs 1)");
    }

    #[test]
    fn a_different_model_is_named() {
        let comm = Fake { rank: 0, all: vec![fp(1, "a").values(), fp(1, "b").values()], calls: Default::default() };
        let e = agree(&comm, &fp(1, "a")).unwrap_err().to_string();
        assert!(e.starts_with("distributed: rank 1 differs from rank 0 in model (hash 0x"), "{e}");
    }

    #[test]
    fn datasets_differing_in_one_label_differ() {
        let x = Tensor::from_vec((0..12).map(|v| v as f32).collect(), &[6, 2]).unwrap();
        let a = Dataset::new(x.clone(), Target::Classes { labels: vec![0, 1, 0, 1, 0, 1], num_classes: 2 }).unwrap();
        let b = Dataset::new(x, Target::Classes { labels: vec![0, 1, 0, 1, 0, 0], num_classes: 2 }).unwrap();
        let (fa, fb) = (Fingerprint::new().dataset("data", &a), Fingerprint::new().dataset("data", &b));
        assert_eq!(fa, Fingerprint::new().dataset("data", &a));
        assert!(fa.first_difference(&fb).unwrap().starts_with("data contents"));
    }
}
