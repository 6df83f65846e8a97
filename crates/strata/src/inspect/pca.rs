//! Principal component analysis to two dimensions: the plane along which samples vary most,
//! for drawing a layer's representations.

use crate::{Error, Result, Tensor};

/// Samples projected on their first two principal components.
#[derive(Clone, Debug)]
pub struct Projection {
    /// Each sample's coordinates along the first and second component.
    pub points: Vec<(f32, f32)>,
    /// The two components (unit vectors of the features' length).
    pub components: [Vec<f32>; 2],
    /// The fraction of the total variance each component carries.
    pub explained: [f32; 2],
}

/// Projects the rows of `x` `[N, D]` (or `[N, ...]`, flattened) on their first two
/// principal components. The components come from power iteration on `XᵀX` of the
/// centred data (never forming the D×D covariance), the second deflated against the first:
/// O(N·D) per iteration, deterministic (a fixed start vector).
///
/// Errors: fewer than 2 samples or 2 features.
pub fn pca_2d(x: &Tensor) -> Result<Projection> {
    let n = x.shape().first().copied().unwrap_or(0);
    let d = if n == 0 { 0 } else { x.numel() / n };
    if n < 2 || d < 2 {
        return Err(Error::bad_shape("PCA", x.shape(), "needs at least 2 samples of at least 2 values"));
    }
    let mut centred: Vec<f64> = x.data().iter().map(|&v| v as f64).collect();
    for j in 0..d {
        let mean = (0..n).map(|i| centred[i * d + j]).sum::<f64>() / n as f64;
        (0..n).for_each(|i| centred[i * d + j] -= mean);
    }
    let total: f64 = centred.iter().map(|v| v * v).sum();
    // v -> XᵀX v
    let apply = |v: &[f64]| -> Vec<f64> {
        let mut out = vec![0.0; d];
        for row in centred.chunks_exact(d) {
            let s: f64 = row.iter().zip(v).map(|(a, b)| a * b).sum();
            out.iter_mut().zip(row).for_each(|(o, a)| *o += s * a);
        }
        out
    };
    let normalize = |v: &mut Vec<f64>| {
        let norm = v.iter().map(|a| a * a).sum::<f64>().sqrt();
        if norm > 0.0 {
            v.iter_mut().for_each(|a| *a /= norm);
        }
        norm
    };
    let mut components: Vec<Vec<f64>> = Vec::new();
    let mut variances = Vec::new();
    for k in 0..2 {
        // A start with a part along every direction (unlike a basis vector).
        let mut v: Vec<f64> = (0..d).map(|j| 1.0 + ((j * 7 + k * 3) % 11) as f64 / 11.0).collect();
        let deflate = |v: &mut Vec<f64>, found: &[Vec<f64>]| {
            for c in found {
                let dot: f64 = v.iter().zip(c).map(|(a, b)| a * b).sum();
                v.iter_mut().zip(c).for_each(|(a, b)| *a -= dot * b);
            }
        };
        deflate(&mut v, &components);
        normalize(&mut v);
        let mut eigen = 0.0;
        for _ in 0..500 {
            let mut w = apply(&v);
            deflate(&mut w, &components);
            eigen = normalize(&mut w);
            let change: f64 = w.iter().zip(&v).map(|(a, b)| (a - b).abs()).sum();
            v = w;
            if change < 1e-10 * d as f64 {
                break;
            }
        }
        // A fixed sign: the largest coordinate positive, so runs agree.
        let big = v.iter().copied().fold(0.0f64, |m, a| if a.abs() > m.abs() { a } else { m });
        if big < 0.0 {
            v.iter_mut().for_each(|a| *a = -*a);
        }
        components.push(v);
        variances.push(eigen);
    }
    let points = centred
        .chunks_exact(d)
        .map(|row| {
            let p = |c: &[f64]| row.iter().zip(c).map(|(a, b)| a * b).sum::<f64>() as f32;
            (p(&components[0]), p(&components[1]))
        })
        .collect();
    let share = |v: f64| if total > 0.0 { (v / total) as f32 } else { 0.0 };
    let f32s = |c: &[f64]| c.iter().map(|&a| a as f32).collect::<Vec<_>>();
    Ok(Projection {
        points,
        components: [f32s(&components[0]), f32s(&components[1])],
        explained: [share(variances[0]), share(variances[1])],
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Rng;

    /// Against a reference: points drawn with standard deviations 5, 2 and 0.5 along the
    /// axes of a known rotation. The components must be those axes (up to sign) and the
    /// explained variances the sample variances along them.
    #[test]
    fn finds_the_axes_of_a_rotated_gaussian() {
        let (c, s) = (0.6f64, 0.8f64);
        // rotation: axis u = (c, s, 0), v = (-s, c, 0), w = (0, 0, 1)
        let axes = [[c, s, 0.0], [-s, c, 0.0], [0.0, 0.0, 1.0]];
        let sd = [5.0, 2.0, 0.5];
        let mut rng = Rng::seeded(3);
        let n = 4000;
        let noise = Tensor::rand_normal(&[n, 3], 0.0, 1.0, &mut rng);
        let mut data = Vec::with_capacity(n * 3);
        for i in 0..n {
            let z: Vec<f64> = (0..3).map(|k| noise.data()[i * 3 + k] as f64 * sd[k]).collect();
            for j in 0..3 {
                data.push((10.0 + (0..3).map(|k| z[k] * axes[k][j]).sum::<f64>()) as f32);
            }
        }
        let x = Tensor::from_vec(data.clone(), &[n, 3]).unwrap();
        let p = pca_2d(&x).unwrap();
        for (k, comp) in p.components.iter().enumerate() {
            let cos: f64 = comp.iter().zip(&axes[k]).map(|(a, b)| *a as f64 * b).sum();
            assert!(cos.abs() > 0.995, "component {k} {comp:?} is not axis {:?}", axes[k]);
        }
        // Reference: the variance of the projections over the total, computed directly.
        let var = |v: &[f32]| {
            let m = v.iter().map(|&a| a as f64).sum::<f64>() / v.len() as f64;
            v.iter().map(|&a| (a as f64 - m).powi(2)).sum::<f64>()
        };
        let total: f64 = (0..3).map(|j| var(&data.iter().skip(j).step_by(3).copied().collect::<Vec<_>>())).sum();
        let first: Vec<f32> = p.points.iter().map(|q| q.0).collect();
        let second: Vec<f32> = p.points.iter().map(|q| q.1).collect();
        assert!((p.explained[0] as f64 - var(&first) / total).abs() < 1e-4);
        assert!((p.explained[1] as f64 - var(&second) / total).abs() < 1e-4);
        let expected0 = 25.0 / (25.0 + 4.0 + 0.25);
        assert!((p.explained[0] as f64 - expected0).abs() < 0.03, "{:?}", p.explained);
        assert!(pca_2d(&Tensor::zeros(&[1, 3])).is_err());
    }
}
