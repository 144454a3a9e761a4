//! Multi-scalar multiplication for the Groth16 prover: signed-digit Pippenger whose buckets are
//! kept in affine coordinates and filled by batches of affine additions.
//!
//! arkworks accumulates each bucket in extended Jacobian (XYZZ) coordinates, a mixed addition
//! costing 8 multiplications and 2 squarings. Here a window's buckets stay affine and the
//! additions wait in a batch of up to [`BATCH`] (bucket, point) pairs with distinct buckets;
//! the batch's denominators are inverted together (Montgomery's trick: 3 multiplications each
//! and one inversion per batch), so an addition costs about 5 multiplications and a squaring.
//! A point whose bucket already waits in the batch, or whose sum needs a doubling, goes to a
//! second, XYZZ bucket of the same index instead (rare once the window has many buckets).
//!
//! Scalars are written once as signed base-2^c digits ([`Digits`]), so the A, B and L queries,
//! which multiply the same assignment, share them, and one MSM can run over several parts
//! ([`Part`]) with one set of buckets (C's L and H queries). Windows run in parallel.

use ark_ec::short_weierstrass::{Affine, Bucket, Projective, SWCurveConfig};
use ark_ec::AffineRepr;
use ark_ff::{AdditiveGroup, BigInteger, Field, PrimeField, Zero};
use rayon::prelude::*;

/// Most additions waiting in one batch.
const BATCH: usize = 256;

/// Signed base-2^c digits of a list of scalars: every digit is in [−2^(c−1), 2^(c−1)], so a
/// window needs 2^(c−1) buckets. Point-major: scalar `i`'s digits are `data[i·W .. (i+1)·W]`.
pub struct Digits {
    c: usize,
    windows: usize,
    n: usize,
    data: Vec<i32>,
}

impl Digits {
    /// The window width that suits an MSM over `n` points.
    pub fn window_for(n: usize) -> usize {
        match n {
            0..=31 => 3,
            32..=1023 => 6,
            1024..=4095 => 9,
            4096..=16383 => 11,
            16384..=65535 => 12,
            65536..=262143 => 14,
            _ => 16,
        }
    }

    /// Digits of `scalars` in windows of `c` bits (2 ≤ c ≤ 24).
    pub fn new<F: PrimeField>(scalars: &[F], c: usize) -> Self {
        let c = c.clamp(2, 24);
        // One bit more than the modulus: the last window absorbs the final carry.
        let windows = (F::MODULUS_BIT_SIZE as usize + 1).div_ceil(c);
        let mut data = vec![0i32; scalars.len() * windows];
        data.par_chunks_mut(windows)
            .zip(scalars.par_iter())
            .for_each(|(out, s)| write_digits(&s.into_bigint(), c, out));
        Digits {
            c,
            windows,
            n: scalars.len(),
            data,
        }
    }

    /// Number of scalars.
    pub fn len(&self) -> usize {
        self.n
    }

    /// Whether there are no scalars.
    pub fn is_empty(&self) -> bool {
        self.n == 0
    }

    /// Window width in bits.
    pub fn window(&self) -> usize {
        self.c
    }
}

/// Signed digits of one scalar, least significant window first.
fn write_digits<B: BigInteger>(s: &B, c: usize, out: &mut [i32]) {
    let limbs = s.as_ref();
    let half = 1i64 << (c - 1);
    let mut carry = 0i64;
    for (w, d) in out.iter_mut().enumerate() {
        let v = bits(limbs, w * c, c) as i64 + carry;
        if v > half {
            *d = (v - (1i64 << c)) as i32;
            carry = 1;
        } else {
            *d = v as i32;
            carry = 0;
        }
    }
    debug_assert_eq!(carry, 0);
}

/// `c` bits of `limbs` from bit `at` (zero past the end).
fn bits(limbs: &[u64], at: usize, c: usize) -> u64 {
    let (limb, sh) = (at / 64, at % 64);
    if limb >= limbs.len() {
        return 0;
    }
    let mut v = limbs[limb] >> sh;
    if sh + c > 64 && limb + 1 < limbs.len() {
        v |= limbs[limb + 1] << (64 - sh);
    }
    v & ((1u64 << c) - 1)
}

/// Bases multiplied by the scalars `digits[start..start + bases.len()]`.
pub struct Part<'a, P: SWCurveConfig> {
    /// The points.
    pub bases: &'a [Affine<P>],
    /// The scalars' digits.
    pub digits: &'a Digits,
    /// Index of the first scalar of this part in `digits`.
    pub start: usize,
}

impl<P: SWCurveConfig> Part<'_, P> {
    /// The (point, digit row) pairs of this part; the shorter of the two sides decides.
    fn pairs(&self) -> impl Iterator<Item = (&Affine<P>, &[i32])> {
        let w = self.digits.windows;
        let avail = self.digits.n.saturating_sub(self.start);
        let len = self.bases.len().min(avail);
        let rows = self.digits.data[self.start * w..(self.start + len) * w].chunks_exact(w);
        self.bases[..len].iter().zip(rows)
    }
}

/// Σ over all parts of base·scalar. Every part must use digits of the same window width.
///
/// # Panics
/// If the parts' digits differ in window width (a programming error, not an input error).
pub fn msm<P: SWCurveConfig>(parts: &[Part<'_, P>]) -> Projective<P> {
    let Some(first) = parts.first() else {
        return Projective::zero();
    };
    let (c, windows) = (first.digits.c, first.digits.windows);
    assert!(
        parts
            .iter()
            .all(|p| p.digits.c == c && p.digits.windows == windows),
        "MSM parts with different window widths"
    );
    let sums: Vec<Projective<P>> = (0..windows)
        .into_par_iter()
        .map(|w| window_sum(parts, w, c))
        .collect();
    let mut total = Projective::zero();
    for s in sums.iter().rev() {
        for _ in 0..c {
            total.double_in_place();
        }
        total += s;
    }
    total
}

/// Σ digit_w(s_i)·P_i for one window.
fn window_sum<P: SWCurveConfig>(parts: &[Part<'_, P>], w: usize, c: usize) -> Projective<P> {
    let mut acc = Accumulator::<P>::new(1 << (c - 1));
    for part in parts {
        for (p, row) in part.pairs() {
            let d = row[w];
            if d == 0 || p.is_zero() {
                continue;
            }
            if d > 0 {
                acc.add(d as usize - 1, *p);
            } else {
                acc.add((-d) as usize - 1, -*p);
            }
        }
    }
    acc.flush();
    acc.reduce()
}

/// The buckets of one window: affine buckets filled by batched additions, and XYZZ buckets for
/// what cannot wait in the current batch.
struct Accumulator<P: SWCurveConfig> {
    buckets: Vec<Affine<P>>,
    overflow: Vec<Bucket<P>>,
    /// A bucket waits in the batch when its stamp equals `epoch`.
    stamp: Vec<u32>,
    epoch: u32,
    pending: Vec<(u32, Affine<P>)>,
    den: Vec<P::BaseField>,
    pre: Vec<P::BaseField>,
}

impl<P: SWCurveConfig> Accumulator<P> {
    fn new(buckets: usize) -> Self {
        Accumulator {
            buckets: vec![Affine::identity(); buckets],
            overflow: Vec::new(),
            stamp: vec![0; buckets],
            epoch: 1,
            pending: Vec::with_capacity(BATCH),
            den: Vec::with_capacity(BATCH),
            pre: Vec::with_capacity(BATCH),
        }
    }

    /// bucket[b] += p (p not at infinity).
    fn add(&mut self, b: usize, p: Affine<P>) {
        if self.stamp[b] == self.epoch {
            self.add_overflow(b, &p);
            return;
        }
        let q = &self.buckets[b];
        if q.is_zero() {
            self.buckets[b] = p;
        } else if q.x == p.x {
            if q.y == p.y {
                // A doubling: the XYZZ bucket handles it.
                self.add_overflow(b, &p);
            } else {
                self.buckets[b] = Affine::identity();
            }
        } else {
            self.stamp[b] = self.epoch;
            self.pending.push((b as u32, p));
            if self.pending.len() == BATCH {
                self.flush();
            }
        }
    }

    fn add_overflow(&mut self, b: usize, p: &Affine<P>) {
        if self.overflow.is_empty() {
            self.overflow = vec![Bucket::ZERO; self.buckets.len()];
        }
        self.overflow[b] += p;
    }

    /// Performs the waiting additions with one inversion.
    fn flush(&mut self) {
        if self.pending.is_empty() {
            return;
        }
        self.den.clear();
        self.pre.clear();
        let mut prod = P::BaseField::ONE;
        for (b, p) in &self.pending {
            let d = p.x - self.buckets[*b as usize].x;
            self.pre.push(prod);
            prod *= d;
            self.den.push(d);
        }
        // Non-zero: every denominator is a difference of distinct x coordinates.
        let mut inv = prod.inverse().unwrap_or(P::BaseField::ZERO);
        for j in (0..self.pending.len()).rev() {
            let (b, p) = self.pending[j];
            let inv_j = inv * self.pre[j];
            inv *= self.den[j];
            let q = &mut self.buckets[b as usize];
            let lambda = (p.y - q.y) * inv_j;
            let x3 = lambda.square() - q.x - p.x;
            let y3 = lambda * (q.x - x3) - q.y;
            *q = Affine::new_unchecked(x3, y3);
        }
        self.pending.clear();
        self.epoch = self.epoch.wrapping_add(1).max(1);
    }

    /// Σ (b+1)·bucket[b], by running sums from the top bucket down.
    fn reduce(self) -> Projective<P> {
        let mut running = Bucket::<P>::ZERO;
        let mut sum = Bucket::<P>::ZERO;
        for b in (0..self.buckets.len()).rev() {
            running += &self.buckets[b];
            if let Some(o) = self.overflow.get(b) {
                if !o.is_zero() {
                    running += o;
                }
            }
            sum += &running;
        }
        sum.into()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ark_bn254::{Fr, G1Affine, G1Projective};
    use ark_ec::{CurveGroup, VariableBaseMSM};
    use ark_ff::UniformRand;
    use rand::SeedableRng;
    use rand_chacha::ChaCha20Rng;

    fn edge_scalars() -> Vec<Fr> {
        vec![
            Fr::zero(),
            Fr::ONE,
            -Fr::ONE,
            Fr::from(u64::MAX),
            Fr::from(2u64),
            -Fr::from(2u64),
            Fr::from(1u64 << 40),
            Fr::ONE.double().inverse().unwrap(),
        ]
    }

    fn check<P: SWCurveConfig<ScalarField = Fr>>(n: usize, c: usize, seed: u64)
    where
        Projective<P>: VariableBaseMSM<MulBase = Affine<P>, ScalarField = Fr>,
    {
        let mut rng = ChaCha20Rng::seed_from_u64(seed);
        let mut bases: Vec<Affine<P>> = (0..n)
            .map(|_| Projective::<P>::rand(&mut rng).into_affine())
            .collect();
        let mut scalars: Vec<Fr> = (0..n).map(|_| Fr::rand(&mut rng)).collect();
        // Edge cases: repeated points (doublings), opposite points (cancellations), points at
        // infinity, the edge scalars, and many small scalars landing in the same buckets.
        if n >= 40 {
            bases[1] = bases[0];
            bases[3] = -bases[2];
            bases[4] = Affine::identity();
            for i in 5..10 {
                bases[i] = bases[0];
                scalars[i] = scalars[0];
            }
            for (i, s) in edge_scalars().into_iter().enumerate() {
                scalars[10 + i] = s;
            }
            for s in scalars.iter_mut().skip(20).take(20) {
                *s = Fr::ONE;
            }
            scalars[3] = scalars[2];
        }
        let digits = Digits::new(&scalars, c);
        let want = Projective::<P>::msm(&bases, &scalars).unwrap();
        let got = msm(&[Part {
            bases: &bases,
            digits: &digits,
            start: 0,
        }]);
        assert_eq!(got, want, "n = {n}, c = {c}");
        // Split in two parts over the same digits.
        let k = n / 3;
        let got = msm(&[
            Part {
                bases: &bases[..k],
                digits: &digits,
                start: 0,
            },
            Part {
                bases: &bases[k..],
                digits: &digits,
                start: k,
            },
        ]);
        assert_eq!(got, want, "two parts, n = {n}, c = {c}");
    }

    #[test]
    fn matches_arkworks_in_g1() {
        for (n, c) in [
            (0, 3),
            (1, 3),
            (7, 2),
            (40, 3),
            (300, 6),
            (2000, 9),
            (5000, 11),
        ] {
            check::<ark_bn254::g1::Config>(n, c, n as u64);
        }
    }

    #[test]
    fn matches_arkworks_in_g2() {
        for (n, c) in [(1, 3), (40, 4), (600, 8)] {
            check::<ark_bn254::g2::Config>(n, c, 7 + n as u64);
        }
    }

    #[test]
    fn digits_recompose_the_scalar() {
        let mut rng = ChaCha20Rng::seed_from_u64(3);
        let mut scalars = edge_scalars();
        scalars.push(-Fr::ONE);
        scalars.extend((0..50).map(|_| Fr::rand(&mut rng)));
        for c in [2, 5, 11, 16, 24] {
            let d = Digits::new(&scalars, c);
            for (i, s) in scalars.iter().enumerate() {
                let row = &d.data[i * d.windows..(i + 1) * d.windows];
                let half = 1i32 << (c - 1);
                assert!(row.iter().all(|&x| (-half..=half).contains(&x)));
                let mut v = Fr::zero();
                let base = Fr::from(1u64 << c);
                for &x in row.iter().rev() {
                    v = v * base
                        + if x < 0 {
                            -Fr::from((-x) as u64)
                        } else {
                            Fr::from(x as u64)
                        };
                }
                assert_eq!(v, *s, "c = {c}");
            }
        }
    }

    #[test]
    fn a_part_longer_than_its_digits_is_cut() {
        let mut rng = ChaCha20Rng::seed_from_u64(9);
        let bases: Vec<G1Affine> = (0..50)
            .map(|_| G1Projective::rand(&mut rng).into_affine())
            .collect();
        let scalars: Vec<Fr> = (0..30).map(|_| Fr::rand(&mut rng)).collect();
        let digits = Digits::new(&scalars, 4);
        let want = G1Projective::msm(&bases[..30], &scalars).unwrap();
        let got = msm(&[Part {
            bases: &bases,
            digits: &digits,
            start: 0,
        }]);
        assert_eq!(got, want);
    }
}
