//! Which instruction set the hand-written kernels use, chosen once at run time.
//!
//! Every hand-written SIMD kernel (packed GEMM, the Winograd transforms) exists in an
//! AVX-512 version, an AVX2 + FMA version and a portable one. All are compiled on x86_64
//! (as `#[target_feature]` functions), and [`active`] picks one when first asked: the best
//! the CPU has (`is_x86_feature_detected!`), or the one named by `STRATA_ISA=avx512|avx2|scalar`.
//! A name the CPU cannot run, or an unknown one, is refused with a one-line warning on
//! stderr and the detected best is used instead: an AVX-512 kernel is never reached on a CPU
//! without AVX-512. Other architectures always get [`Isa::Scalar`].
//!
//! Kernels take the ISA as an argument (tests run each one on every [`available`] ISA);
//! the public entry points pass [`active`].

use std::fmt;
use std::sync::OnceLock;

/// The environment variable that overrides the detected ISA.
pub const ISA_VAR: &str = "STRATA_ISA";

/// An instruction set the hand-written kernels are compiled for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Isa {
    /// Portable Rust (what the compiler makes of it for the build's target).
    Scalar,
    /// AVX2 and FMA: 8 f32 lanes, 16 vector registers.
    Avx2,
    /// AVX-512 F: 16 f32 lanes, 32 vector registers, mask registers.
    Avx512,
}

impl Isa {
    /// Every ISA, best last.
    pub const ALL: [Isa; 3] = [Isa::Scalar, Isa::Avx2, Isa::Avx512];

    /// The stable lowercase name ("scalar", "avx2", "avx512"), as `STRATA_ISA` takes it.
    pub fn name(self) -> &'static str {
        match self {
            Isa::Scalar => "scalar",
            Isa::Avx2 => "avx2",
            Isa::Avx512 => "avx512",
        }
    }

    /// Whether this CPU can run the kernels of this ISA.
    pub fn supported(self) -> bool {
        match self {
            Isa::Scalar => true,
            #[cfg(target_arch = "x86_64")]
            Isa::Avx2 => is_x86_feature_detected!("avx2") && is_x86_feature_detected!("fma"),
            #[cfg(target_arch = "x86_64")]
            Isa::Avx512 => is_x86_feature_detected!("avx512f"),
            #[cfg(not(target_arch = "x86_64"))]
            _ => false,
        }
    }

    /// The ISA named `s`, if any.
    pub fn parse(s: &str) -> Option<Isa> {
        Isa::ALL.into_iter().find(|i| i.name() == s.trim().to_ascii_lowercase())
    }
}

impl fmt::Display for Isa {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad(self.name())
    }
}

/// The ISAs this CPU runs, best first (always ends with [`Isa::Scalar`]).
pub fn available() -> Vec<Isa> {
    Isa::ALL.into_iter().rev().filter(|i| i.supported()).collect()
}

/// The best ISA this CPU runs.
pub fn detected() -> Isa {
    available()[0]
}

/// The ISA for `requested` (the value of `STRATA_ISA`, if set): that ISA if the CPU runs
/// it, else the detected best and a one-line reason why the request was not honoured.
pub fn resolve(requested: Option<&str>) -> (Isa, Option<String>) {
    let best = detected();
    let Some(req) = requested.filter(|r| !r.trim().is_empty()) else { return (best, None) };
    match Isa::parse(req) {
        Some(isa) if isa.supported() => (isa, None),
        Some(isa) => (best, Some(format!("{ISA_VAR}={req}: this CPU does not support {isa}; using {best}"))),
        None => {
            let names: Vec<&str> = Isa::ALL.iter().map(|i| i.name()).collect();
            (best, Some(format!("{ISA_VAR}={req:?} is not one of {}; using {best}", names.join(", "))))
        }
    }
}

/// The ISA the kernels use in this process: chosen on the first call (detection, then
/// `STRATA_ISA`), the same ever after.
pub fn active() -> Isa {
    static ACTIVE: OnceLock<Isa> = OnceLock::new();
    *ACTIVE.get_or_init(|| {
        let (isa, warning) = resolve(std::env::var(ISA_VAR).ok().as_deref());
        if let Some(w) = warning {
            eprintln!("warning: {w}");
        }
        isa
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_parse_and_unsupported_or_unknown_requests_fall_back() {
        for isa in Isa::ALL {
            assert_eq!(Isa::parse(isa.name()), Some(isa));
            assert_eq!(Isa::parse(&isa.name().to_uppercase()), Some(isa));
        }
        assert_eq!(available().last(), Some(&Isa::Scalar));
        assert!(available().iter().all(|i| i.supported()));
        assert_eq!(resolve(None), (detected(), None));
        assert_eq!(resolve(Some("scalar")), (Isa::Scalar, None));
        let (isa, warning) = resolve(Some("sse9"));
        assert_eq!(isa, detected());
        assert!(warning.unwrap().contains("sse9"));
        for want in Isa::ALL {
            let (got, warning) = resolve(Some(want.name()));
            if want.supported() {
                assert_eq!((got, warning), (want, None));
            } else {
                assert_eq!(got, detected());
                assert!(warning.unwrap().contains("does not support"));
            }
        }
        assert!(active().supported());
    }
}
