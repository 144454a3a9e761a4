//! Radix-2 FFTs over BN254's scalar field for the prover's quotient polynomial: the same
//! transforms as ark-poly's `Radix2EvaluationDomain` (same root of unity, same natural order
//! in and out, so the same results), at about half the cost on the chunk circuit's 2^18 domain.
//!
//! - The twiddle factors of every stage are laid out one stage after another (stage m, of
//!   butterflies m apart, reads its m factors from `[m, 2m)`, contiguous) and made once per
//!   domain size for the life of the process.
//! - Decimation in time after a bit-reversal permutation; the stages whose butterflies stay
//!   within [`BLOCK`] elements run block by block while the block sits in the core's cache,
//!   the others stream over the whole vector, both in parallel.
//! - A coset transform multiplies by the powers of the coset's offset in the same parallel
//!   pass layout, and the inverse transform's 1/n is folded into that multiplication.

use ark_bn254::Fr;
use ark_ff::{Field, One, Zero};
use ark_poly::{EvaluationDomain, Radix2EvaluationDomain};
use rayon::prelude::*;
use std::sync::{Arc, Mutex, OnceLock};

/// Elements per cache block (64 KiB).
const BLOCK: usize = 1 << 11;

/// Elements per parallel task in the streaming stages and the coset multiplications.
const TASK: usize = 1 << 12;

/// A power-of-two evaluation domain with its twiddle factors in both directions.
pub struct Domain {
    n: usize,
    /// ω, the generator of the domain (ark-poly's `group_gen`).
    omega: Fr,
    /// 1/n.
    size_inv: Fr,
    /// `fwd[m + j]` = ω^(j·n/2m) for every stage m (a power of two below n) and j < m.
    fwd: Vec<Fr>,
    /// The same for ω⁻¹.
    inv: Vec<Fr>,
}

impl Domain {
    /// The domain of the smallest power of two ≥ `size` (as ark-poly's `new`), shared by every
    /// caller; `None` when it is larger than the field's two-adicity allows.
    pub fn new(size: usize) -> Option<Arc<Domain>> {
        let ark = Radix2EvaluationDomain::<Fr>::new(size)?;
        let log = ark.log_size_of_group as usize;
        static CACHE: OnceLock<Mutex<Vec<Option<Arc<Domain>>>>> = OnceLock::new();
        let cache = CACHE.get_or_init(|| Mutex::new(vec![None; 64]));
        let cached = || {
            let cache = cache.lock().unwrap_or_else(|e| e.into_inner());
            cache.get(log).and_then(|d| d.clone())
        };
        if let Some(d) = cached() {
            return Some(d);
        }
        // Made without the lock: its parallel loops may run other rayon jobs on this thread,
        // and one of them may want a domain too. Two callers racing make it twice; the first
        // one stored is kept.
        let made = Arc::new(Domain::make(ark.size(), ark.group_gen, ark.size_inv));
        let mut cache = cache.lock().unwrap_or_else(|e| e.into_inner());
        match cache.get_mut(log) {
            Some(Some(d)) => Some(d.clone()),
            Some(slot) => {
                *slot = Some(made.clone());
                Some(made)
            }
            None => Some(made),
        }
    }

    fn make(n: usize, omega: Fr, size_inv: Fr) -> Domain {
        let table = |root: Fr| {
            // root^k for k < n/2, then stage m's factors are every (n/2m)-th of them
            let half = n / 2;
            let mut powers = vec![Fr::one(); half.max(1)];
            powers
                .par_chunks_mut(TASK)
                .enumerate()
                .for_each(|(c, out)| {
                    let mut p = root.pow([(c * TASK) as u64]);
                    for x in out {
                        *x = p;
                        p *= root;
                    }
                });
            let mut t = vec![Fr::zero(); n.max(1)];
            let mut m = 1;
            while m < n {
                let step = half / m;
                for j in 0..m {
                    t[m + j] = powers[j * step];
                }
                m *= 2;
            }
            t
        };
        let omega_inv = omega.inverse().unwrap_or_default();
        Domain {
            n,
            omega,
            size_inv,
            fwd: table(omega),
            inv: table(omega_inv),
        }
    }

    /// Number of points.
    pub fn size(&self) -> usize {
        self.n
    }

    /// ω.
    pub fn generator(&self) -> Fr {
        self.omega
    }

    /// Coefficients → evaluations at ω^i (`v` is padded or cut to n).
    pub fn fft(&self, v: &mut Vec<Fr>) {
        v.resize(self.n, Fr::zero());
        transform(v, &self.fwd);
    }

    /// Evaluations at ω^i → coefficients.
    pub fn ifft(&self, v: &mut Vec<Fr>) {
        v.resize(self.n, Fr::zero());
        transform(v, &self.inv);
        scale_powers(v, Fr::one(), self.size_inv);
    }

    /// Coefficients → evaluations at g·ω^i.
    pub fn coset_fft(&self, v: &mut Vec<Fr>, g: Fr) {
        v.resize(self.n, Fr::zero());
        scale_powers(v, g, Fr::one());
        transform(v, &self.fwd);
    }

    /// Evaluations at ω^i → evaluations at g·ω^i (an inverse transform, then a coset one).
    pub fn to_coset(&self, v: &mut Vec<Fr>, g: Fr) {
        self.ifft(v);
        self.coset_fft(v, g);
    }

    /// Evaluations at g·ω^i → coefficients.
    pub fn coset_ifft(&self, v: &mut Vec<Fr>, g: Fr) {
        v.resize(self.n, Fr::zero());
        transform(v, &self.inv);
        scale_powers(v, g.inverse().unwrap_or_default(), self.size_inv);
    }
}

/// v[i] *= c·g^i, in parallel.
pub fn scale_powers(v: &mut [Fr], g: Fr, c: Fr) {
    v.par_chunks_mut(TASK).enumerate().for_each(|(k, out)| {
        let mut p = c * g.pow([(k * TASK) as u64]);
        for x in out {
            *x *= p;
            p *= g;
        }
    });
}

/// In-place DFT of natural-order `v` (length n, a power of two) with the stage twiddles `tw`.
fn transform(v: &mut [Fr], tw: &[Fr]) {
    let n = v.len();
    if n <= 1 {
        return;
    }
    bit_reverse(v);
    let block = BLOCK.min(n);
    v.par_chunks_mut(block).for_each(|chunk| {
        let mut m = 1;
        while m < block {
            for pair in chunk.chunks_mut(2 * m) {
                let (lo, hi) = pair.split_at_mut(m);
                butterflies(lo, hi, &tw[m..2 * m]);
            }
            m *= 2;
        }
    });
    let mut m = block;
    while m < n {
        v.par_chunks_mut(2 * m).for_each(|pair| {
            let (lo, hi) = pair.split_at_mut(m);
            lo.par_chunks_mut(TASK)
                .zip(hi.par_chunks_mut(TASK))
                .zip(tw[m..2 * m].par_chunks(TASK))
                .for_each(|((l, h), w)| butterflies(l, h, w));
        });
        m *= 2;
    }
}

/// (l, h) ← (l + w·h, l − w·h), element by element.
#[inline]
fn butterflies(lo: &mut [Fr], hi: &mut [Fr], w: &[Fr]) {
    for ((l, h), w) in lo.iter_mut().zip(hi.iter_mut()).zip(w) {
        let t = *h * w;
        *h = *l - t;
        *l += t;
    }
}

/// The bit-reversal permutation of a power-of-two-long slice.
fn bit_reverse(v: &mut [Fr]) {
    let n = v.len();
    let shift = usize::BITS - n.trailing_zeros();
    for i in 0..n {
        let j = i.reverse_bits() >> shift;
        if i < j {
            v.swap(i, j);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ark_ff::{FftField, UniformRand};
    use rand::SeedableRng;
    use rand_chacha::ChaCha20Rng;

    /// The same results as ark-poly's radix-2 domain, every transform, at every size from 1 to
    /// 2^13 (blocks of one stage up to streaming stages), and on vectors shorter than n.
    #[test]
    fn the_same_transforms_as_ark_poly() {
        let mut rng = ChaCha20Rng::seed_from_u64(1);
        let g = Fr::GENERATOR;
        for log in 0..=13 {
            let n = 1usize << log;
            let ark = Radix2EvaluationDomain::<Fr>::new(n).unwrap();
            let coset = ark.get_coset(g).unwrap();
            let d = Domain::new(n).unwrap();
            assert_eq!(d.size(), n);
            assert_eq!(d.generator(), ark.group_gen);
            let v: Vec<Fr> = (0..n).map(|_| Fr::rand(&mut rng)).collect();
            let check = |ours: &dyn Fn(&mut Vec<Fr>), theirs: &dyn Fn(&mut Vec<Fr>), what| {
                for len in [n, n / 2 + 1] {
                    let (mut a, mut b) = (v[..len].to_vec(), v[..len].to_vec());
                    ours(&mut a);
                    theirs(&mut b);
                    assert_eq!(a, b, "{what}, n = {n}, len = {len}");
                }
            };
            check(&|x| d.fft(x), &|x| ark.fft_in_place(x), "fft");
            check(&|x| d.ifft(x), &|x| ark.ifft_in_place(x), "ifft");
            check(
                &|x| d.coset_fft(x, g),
                &|x| coset.fft_in_place(x),
                "coset fft",
            );
            check(
                &|x| d.coset_ifft(x, g),
                &|x| coset.ifft_in_place(x),
                "coset ifft",
            );
        }
    }

    /// The edge values 0, 1, r − 1 and 2^64 − 1 go through a round trip unchanged, and a
    /// single 1 transforms to all ones.
    #[test]
    fn edge_values_round_trip() {
        let d = Domain::new(1 << 12).unwrap();
        let edges = [Fr::zero(), Fr::one(), -Fr::one(), Fr::from(u64::MAX)];
        let v: Vec<Fr> = (0..d.size()).map(|i| edges[i % 4]).collect();
        let mut w = v.clone();
        d.fft(&mut w);
        d.ifft(&mut w);
        assert_eq!(w, v);
        d.coset_fft(&mut w, Fr::GENERATOR);
        d.coset_ifft(&mut w, Fr::GENERATOR);
        assert_eq!(w, v);
        let mut delta = vec![Fr::one()];
        d.fft(&mut delta);
        assert!(delta.iter().all(|x| x.is_one()));
    }

    /// Sizes are rounded up to a power of two, one domain per size is shared, and a size past
    /// the field's two-adicity has no domain.
    #[test]
    fn domains_are_shared_and_bounded() {
        let a = Domain::new(1000).unwrap();
        assert_eq!(a.size(), 1024);
        assert!(Arc::ptr_eq(&a, &Domain::new(1024).unwrap()));
        assert!(Domain::new((1usize << 28) + 1).is_none());
    }
}
