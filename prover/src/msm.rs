//! Multi-scalar multiplication for the Groth16 prover: signed-digit Pippenger whose buckets are
//! kept in affine coordinates and filled by batches of affine additions.
//!
//! arkworks accumulates each bucket in extended Jacobian (XYZZ) coordinates, a mixed addition
//! costing 8 multiplications and 2 squarings. Here a window's buckets stay affine and the
//! additions wait in a batch of up to [`BATCH`] (bucket, point) pairs with distinct buckets;
//! the batch's denominators are inverted together (Montgomery's trick: 3 multiplications each
//! and one inversion per batch), so an addition costs about 5 multiplications and a squaring.
//! A point whose bucket already waits in the batch waits for the next batch; one that
//! conflicts again, or whose sum needs a doubling, goes to a second, XYZZ bucket of the same
//! index instead (rare once the window has many buckets).
//!
//! Scalars are written once as signed base-2^c digits ([`Digits`]), so the A, B and L queries,
//! which multiply the same assignment, share them, and one MSM can run over several parts
//! ([`Part`]) with one set of buckets (C's L and H queries). Windows run in parallel.

use ark_bn254::Fr;
use ark_ec::scalar_mul::glv::GLVConfig;
use ark_ec::short_weierstrass::{Affine, Bucket, Projective, SWCurveConfig};
use ark_ec::AffineRepr;
use ark_ff::{AdditiveGroup, Field, PrimeField, Zero};
use rayon::prelude::*;
use zeroize::Zeroize;

/// A group with an endomorphism φ(x, y) = (ζ·x, y) that multiplies by BN254's Λ (the `LAMBDA`
/// of arkworks' G1 GLV parameters), the multiplier of [`glv::split`].
pub trait Endo: SWCurveConfig {
    /// ζ.
    fn endo_x() -> Self::BaseField;
}

impl Endo for ark_bn254::g1::Config {
    fn endo_x() -> Self::BaseField {
        // arkworks' G1 endomorphism multiplies by Λ itself
        <Self as GLVConfig>::ENDO_COEFFS[0]
    }
}

impl Endo for ark_bn254::g2::Config {
    fn endo_x() -> Self::BaseField {
        // arkworks' G2 endomorphism multiplies by Λ² = −1 − Λ (its LAMBDA); applied twice it
        // multiplies by Λ⁴ = Λ
        <Self as GLVConfig>::ENDO_COEFFS[0].square()
    }
}

/// The GLV split of BN254 scalars in fixed-width integer arithmetic (arkworks'
/// `scalar_decomposition` does the same with heap big integers, about as costly as a few
/// hundred point additions per MSM).
///
/// The lattice of (k1, k2) with k1 + Λ·k2 ≡ 0 (mod r) has the short basis (−A1, B), (−B, −A2)
/// (arkworks' `SCALAR_DECOMP_COEFFS` for G1). Babai rounding with u1 = ⌊k·G1/2^256⌋,
/// u2 = ⌊k·G2/2^256⌋, where G1 = ⌊2^256·A2/r⌋ and G2 = ⌊2^256·B/r⌋, gives
/// k1 = k − u1·A1 − u2·B and k2 = u1·B − u2·A2, both below 2^128 in absolute value; they are
/// computed modulo 2^256 and read as signed numbers.
pub mod glv {
    use zeroize::Zeroize;

    const A1: [u64; 2] = [0x8211bbeb7d4f1128, 0x6f4d8248eeb859fc];
    const A2: [u64; 2] = [0x0be4e1541221250b, 0x6f4d8248eeb859fd];
    const B: [u64; 1] = [0x89d3256894d213e3];
    const G1: [u64; 3] = [0x5398fd0300ff6565, 0x4ccef014a773d2d2, 0x2];
    const G2: [u64; 2] = [0xd91d232ec7e0b3d7, 0x2];

    /// k1 and k2 as (negative, magnitude).
    #[derive(Clone, Copy, Debug)]
    pub struct Split {
        /// k1.
        pub k1: (bool, [u64; 4]),
        /// k2.
        pub k2: (bool, [u64; 4]),
    }

    impl Split {
        /// Bits of the larger magnitude.
        pub fn bits(&self) -> usize {
            let bits = |m: &[u64; 4]| {
                m.iter()
                    .rposition(|&l| l != 0)
                    .map_or(0, |i| 64 * i + 64 - m[i].leading_zeros() as usize)
            };
            bits(&self.k1.1).max(bits(&self.k2.1))
        }
    }

    /// Full product of two little-endian numbers (at most 8 limbs in all).
    fn mul(a: &[u64], b: &[u64]) -> [u64; 8] {
        let mut out = [0u64; 8];
        for (i, &x) in a.iter().enumerate() {
            let mut carry = 0u128;
            for (j, &y) in b.iter().enumerate() {
                let t = out[i + j] as u128 + (x as u128) * (y as u128) + carry;
                out[i + j] = t as u64;
                carry = t >> 64;
            }
            let mut k = i + b.len();
            while carry != 0 && k < 8 {
                let t = out[k] as u128 + carry;
                out[k] = t as u64;
                carry = t >> 64;
                k += 1;
            }
        }
        out
    }

    /// The low 256 bits.
    fn low(x: [u64; 8]) -> [u64; 4] {
        [x[0], x[1], x[2], x[3]]
    }

    /// a − b modulo 2^256 (the low four limbs of b).
    fn sub(a: [u64; 4], b: &[u64]) -> [u64; 4] {
        let mut out = [0u64; 4];
        let mut borrow = false;
        for i in 0..4 {
            let (d, b1) = a[i].overflowing_sub(b[i]);
            let (d, b2) = d.overflowing_sub(borrow as u64);
            out[i] = d;
            borrow = b1 || b2;
        }
        out
    }

    /// A number modulo 2^256 read as signed: (negative, magnitude).
    fn signed(x: [u64; 4]) -> (bool, [u64; 4]) {
        if x[3] >> 63 == 0 {
            return (false, x);
        }
        (true, sub([0; 4], &x))
    }

    /// k = k1 + Λ·k2 (mod r) for a scalar k < r given by its little-endian limbs.
    pub fn split(k: &[u64; 4]) -> Split {
        let mut p1 = mul(k, &G1);
        let mut p2 = mul(k, &G2);
        let mut u1 = [p1[4], p1[5]];
        let mut u2 = [p2[4]];
        let mut k1 = sub(sub(*k, &mul(&u1, &A1)), &mul(&u2, &B));
        let mut k2 = sub(low(mul(&u1, &B)), &mul(&u2, &A2));
        let out = Split {
            k1: signed(k1),
            k2: signed(k2),
        };
        // the scalar may be a secret (a witness, a contribution's δ⁻¹): the named temporaries
        // are wiped (those the compiler makes itself cannot be)
        p1.zeroize();
        p2.zeroize();
        u1.zeroize();
        u2.zeroize();
        k1.zeroize();
        k2.zeroize();
        out
    }
}

/// Most additions waiting in one batch (512 measured 2–4 % faster than 256 and 1,024 once
/// conflicting points wait for the next batch instead of going to the XYZZ buckets).
const BATCH: usize = 512;

/// Signed base-2^c digits of a list of scalars: every digit is in [−2^(c−1), 2^(c−1)], so a
/// window needs 2^(c−1) buckets. Window-major, so that a window's pass reads its digits in
/// order: digit `w` of scalar `i` is `data[w·n + i]`; scalars split by GLV ([`Digits::glv`])
/// have the W rows of k1 and then the W rows of k2.
///
/// A digit depends only on its own window and the bit below it: a window whose top bit is set
/// counts 2^c less and carries one into the next window, so
/// d_w = bits[wc, wc + c) + bit(wc − 1) − 2^c·bit(wc + c − 1), and every window is written
/// independently, in parallel.
pub struct Digits {
    c: usize,
    windows: usize,
    glv: bool,
    n: usize,
    data: Vec<i32>,
}

/// A proof's digits are a function of its witness: wiped when dropped.
impl Drop for Digits {
    fn drop(&mut self) {
        self.data.zeroize();
    }
}

impl Digits {
    /// The window width that suits an MSM over `n` points (measured with GLV digits on two
    /// cores; `docs/performance.md`).
    pub fn window_for(n: usize) -> usize {
        match n {
            0..=31 => 3,
            32..=255 => 6,
            256..=1023 => 8,
            1024..=4095 => 10,
            4096..=8191 => 12,
            8192..=262143 => 13,
            _ => 16,
        }
    }

    /// Digits of `scalars` in windows of `c` bits (`c` is brought into 2..=24).
    pub fn new<F: PrimeField>(scalars: &[F], c: usize) -> Self {
        let c = c.clamp(2, 24);
        let mut big: Vec<F::BigInt> = scalars.par_iter().map(|s| s.into_bigint()).collect();
        // One bit more than the modulus: the top window takes the last carry.
        let windows = (F::MODULUS_BIT_SIZE as usize + 1).div_ceil(c);
        let digits = Self::of(c, windows, false, scalars.len(), |w, out| {
            for (d, k) in out.iter_mut().zip(&big) {
                *d = digit(k.as_ref(), false, w, c);
            }
        });
        big.par_iter_mut().for_each(|k| k.as_mut().zeroize());
        digits
    }

    /// Digits of BN254 scalars split by the GLV endomorphism: k = k1 + Λ·k2 (mod r) with
    /// |k1|, |k2| < 2^128 ([`glv::split`]), so each base P is multiplied by k1 and its image
    /// φ(P) = Λ·P ([`Endo`]) by k2: half as many windows, each over twice as many points. The
    /// buckets are summed once per window, so that work halves; the additions into buckets
    /// stay the same.
    pub fn glv(scalars: &[Fr], c: usize) -> Self {
        let c = c.clamp(2, 24);
        let mut halves: Vec<glv::Split> = scalars
            .par_iter()
            .map(|s| glv::split(&s.into_bigint().0))
            .collect();
        let bits = halves.par_iter().map(|h| h.bits()).max().unwrap_or(0);
        // One bit more than the largest half: the top window takes the last carry.
        let windows = (bits + 1).div_ceil(c);
        let digits = Self::of(c, windows, true, scalars.len(), |row, out| {
            let w = row % windows.max(1);
            for (d, h) in out.iter_mut().zip(&halves) {
                let (neg, k) = if row < windows { &h.k1 } else { &h.k2 };
                *d = digit(k, *neg, w, c);
            }
        });
        // the halves rebuild the scalars (a proof's witness): wiped, as the digits are
        halves.par_iter_mut().for_each(|h| {
            h.k1.1.zeroize();
            h.k2.1.zeroize();
        });
        digits
    }

    /// Fills the rows (W, or 2W with GLV) in parallel.
    fn of(
        c: usize,
        windows: usize,
        glv: bool,
        n: usize,
        fill: impl Fn(usize, &mut [i32]) + Sync,
    ) -> Self {
        let rows = if glv { 2 * windows } else { windows };
        let mut data = vec![0i32; rows * n];
        if n > 0 {
            data.par_chunks_mut(n)
                .enumerate()
                .for_each(|(row, out)| fill(row, out));
        }
        Digits {
            c,
            windows,
            glv,
            n,
            data,
        }
    }

    /// The digits of window `w` of k1 (or of the whole scalar without GLV).
    fn row(&self, w: usize) -> &[i32] {
        &self.data[w * self.n..(w + 1) * self.n]
    }

    /// The digits of window `w` of k2 (GLV only).
    fn row2(&self, w: usize) -> &[i32] {
        self.row(self.windows + w)
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

/// Digit `w` of the scalar `limbs` (negated when `neg`): the window's `c` bits, plus the bit
/// below the window, minus 2^c when the window's top bit is set.
fn digit(limbs: &[u64], neg: bool, w: usize, c: usize) -> i32 {
    let at = w * c;
    let v = bits(limbs, at, c) as i64;
    let below = if at == 0 {
        0
    } else {
        bits(limbs, at - 1, 1) as i64
    };
    let d = v + below - ((v >> (c - 1)) << c);
    (if neg { -d } else { d }) as i32
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
    /// Their images φ(P) under the endomorphism ([`images`]), for GLV digits: made once per
    /// proving key, they save a field multiplication per point and window (computed on the
    /// fly when absent or not as long as `bases`).
    pub images: Option<&'a [Affine<P>]>,
    /// The scalars' digits.
    pub digits: &'a Digits,
    /// Index of the first scalar of this part in `digits`.
    pub start: usize,
}

impl<P: SWCurveConfig> Part<'_, P> {
    /// How many (base, scalar) pairs: the shorter of the two sides decides.
    fn len(&self) -> usize {
        self.bases
            .len()
            .min(self.digits.n.saturating_sub(self.start))
    }
}

/// φ(P) = (ζ·x, y) = Λ·P for every base ([`Endo`]), in parallel.
pub fn images<P: Endo>(bases: &[Affine<P>]) -> Vec<Affine<P>> {
    let endo = P::endo_x();
    bases
        .par_iter()
        .map(|p| {
            if p.is_zero() {
                *p
            } else {
                Affine::new_unchecked(p.x * endo, p.y)
            }
        })
        .collect()
}

/// Σ over all parts of base·scalar. Every part must use digits of the same window width; a
/// part is cut to the scalars its digits have from `start` on (none past their end).
///
/// # Panics
/// If the parts' digits differ in window width (a programming error, not an input error).
pub fn msm<P: Endo>(parts: &[Part<'_, P>]) -> Projective<P> {
    let Some(first) = parts.first() else {
        return Projective::zero();
    };
    let c = first.digits.c;
    assert!(
        parts.iter().all(|p| p.digits.c == c),
        "MSM parts with different window widths"
    );
    let windows = parts.iter().map(|p| p.digits.windows).max().unwrap_or(0);
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
fn window_sum<P: Endo>(parts: &[Part<'_, P>], w: usize, c: usize) -> Projective<P> {
    let mut acc = Accumulator::<P>::new(1 << (c - 1));
    let endo = P::endo_x();
    for part in parts {
        let (windows, glv) = (part.digits.windows, part.digits.glv);
        if w >= windows {
            continue;
        }
        let len = part.len();
        if len == 0 {
            continue;
        }
        let bases = &part.bases[..len];
        let d1 = &part.digits.row(w)[part.start..part.start + len];
        if glv {
            let d2 = &part.digits.row2(w)[part.start..part.start + len];
            if let Some(images) = part.images.filter(|i| i.len() == part.bases.len()) {
                for (((p, q), &a), &b) in bases.iter().zip(images).zip(d1).zip(d2) {
                    if p.is_zero() {
                        continue;
                    }
                    acc.add_digit(a, *p);
                    acc.add_digit(b, *q);
                }
                continue;
            }
            for ((p, &a), &b) in bases.iter().zip(d1).zip(d2) {
                if p.is_zero() {
                    continue;
                }
                acc.add_digit(a, *p);
                if b != 0 {
                    acc.add_digit(b, Affine::new_unchecked(p.x * endo, p.y));
                }
            }
        } else {
            for (p, &a) in bases.iter().zip(d1) {
                if !p.is_zero() {
                    acc.add_digit(a, *p);
                }
            }
        }
    }
    acc.finish();
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
    /// Points whose bucket already waited in the batch: they go into the next one (a second
    /// conflict sends a point to the XYZZ bucket, so equal digits cannot starve a batch).
    deferred: Vec<(u32, Affine<P>)>,
    den: Vec<P::BaseField>,
    pre: Vec<P::BaseField>,
    /// Additions that fill a batch: at most half the buckets, so that a batch does fill.
    batch: usize,
}

impl<P: SWCurveConfig> Accumulator<P> {
    fn new(buckets: usize) -> Self {
        Accumulator {
            buckets: vec![Affine::identity(); buckets],
            overflow: Vec::new(),
            stamp: vec![0; buckets],
            epoch: 1,
            pending: Vec::with_capacity(BATCH),
            deferred: Vec::new(),
            den: Vec::with_capacity(BATCH),
            pre: Vec::with_capacity(BATCH),
            batch: (buckets / 2).clamp(16, BATCH),
        }
    }

    /// bucket[|d| − 1] += sign(d)·p (p not at infinity; nothing for d = 0).
    fn add_digit(&mut self, d: i32, p: Affine<P>) {
        match d {
            0 => {}
            d if d > 0 => self.add(d as usize - 1, p),
            d => self.add(d.unsigned_abs() as usize - 1, -p),
        }
    }

    /// bucket[b] += p (p not at infinity).
    fn add(&mut self, b: usize, p: Affine<P>) {
        // at most a batch's worth waits (with few buckets a batch cannot fill)
        if self.stamp[b] == self.epoch && self.deferred.len() < self.batch {
            self.deferred.push((b as u32, p));
            return;
        }
        self.add_now(b, p);
    }

    /// bucket[b] += p, into the batch unless bucket b waits in it already (then XYZZ).
    fn add_now(&mut self, b: usize, p: Affine<P>) {
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
            if self.pending.len() == self.batch {
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
        if !self.pending.is_empty() {
            self.add_batch();
        }
        // a new batch: no bucket waits (stamps are cleared when the epoch wraps)
        self.epoch = self.epoch.wrapping_add(1);
        if self.epoch == 0 {
            self.stamp.fill(0);
            self.epoch = 1;
        }
        // the points that waited for this batch go into the next one
        let deferred = std::mem::take(&mut self.deferred);
        for &(b, p) in &deferred {
            self.add_now(b as usize, p);
        }
        if self.deferred.is_empty() {
            self.deferred = deferred;
            self.deferred.clear();
        }
    }

    /// The batched additions of `pending`.
    fn add_batch(&mut self) {
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
    }

    /// Performs every waiting addition (a flush can put deferred points into a new batch).
    fn finish(&mut self) {
        while !self.pending.is_empty() || !self.deferred.is_empty() {
            self.flush();
        }
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

    fn check<P: Endo<ScalarField = Fr>>(n: usize, c: usize, seed: u64)
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
        let want = Projective::<P>::msm(&bases, &scalars).unwrap();
        for digits in [Digits::new(&scalars, c), Digits::glv(&scalars, c)] {
            check_digits(&bases, &digits, want, c);
        }
    }

    fn check_digits<P: Endo>(bases: &[Affine<P>], digits: &Digits, want: Projective<P>, c: usize) {
        let n = bases.len();
        let got = msm(&[Part {
            bases,
            images: None,
            digits,
            start: 0,
        }]);
        assert_eq!(got, want, "n = {n}, c = {c}, glv = {}", digits.glv);
        // With the bases' images; images of another length are not used.
        let imgs = images(bases);
        assert_eq!(imgs.len(), n);
        for imgs in [&imgs[..], &imgs[..n / 2]] {
            let got = msm(&[Part {
                bases,
                images: Some(imgs),
                digits,
                start: 0,
            }]);
            assert_eq!(got, want, "images, n = {n}, c = {c}, glv = {}", digits.glv);
        }
        // Split in two parts over the same digits.
        let k = n / 3;
        let got = msm(&[
            Part {
                bases: &bases[..k],
                images: None,
                digits,
                start: 0,
            },
            Part {
                bases: &bases[k..],
                images: None,
                digits,
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
        // 3,000 points at c = 9 (256 buckets) flush their batches within windows
        for (n, c) in [(1, 3), (40, 4), (600, 8), (3000, 9)] {
            check::<ark_bn254::g2::Config>(n, c, 7 + n as u64);
        }
    }

    #[test]
    fn glv_parts_and_plain_parts_mix() {
        let mut rng = ChaCha20Rng::seed_from_u64(11);
        let bases: Vec<G1Affine> = (0..300)
            .map(|_| G1Projective::rand(&mut rng).into_affine())
            .collect();
        let scalars: Vec<Fr> = (0..300).map(|_| Fr::rand(&mut rng)).collect();
        let plain = Digits::new(&scalars[..100], 7);
        let glv = Digits::glv(&scalars[100..], 7);
        let got = msm(&[
            Part {
                bases: &bases[..100],
                images: None,
                digits: &plain,
                start: 0,
            },
            Part {
                bases: &bases[100..],
                images: None,
                digits: &glv,
                start: 0,
            },
        ]);
        assert_eq!(got, G1Projective::msm(&bases, &scalars).unwrap());
    }

    #[test]
    fn the_endomorphism_multiplies_by_lambda_in_both_groups() {
        use ark_bn254::{G2Affine, G2Projective};
        let lambda = <ark_bn254::g1::Config as GLVConfig>::LAMBDA;
        let mut rng = ChaCha20Rng::seed_from_u64(12);
        for _ in 0..4 {
            let p = G1Projective::rand(&mut rng).into_affine();
            let e = G1Affine::new_unchecked(p.x * ark_bn254::g1::Config::endo_x(), p.y);
            assert_eq!(e, (p * lambda).into_affine());
            let q = G2Projective::rand(&mut rng).into_affine();
            let e = G2Affine::new_unchecked(q.x * ark_bn254::g2::Config::endo_x(), q.y);
            assert_eq!(e, (q * lambda).into_affine());
        }
    }

    /// k1 + Λ·k2 = k with both halves below 2^128, at the edges and on random scalars.
    #[test]
    fn the_glv_split_recomposes_the_scalar() {
        let lambda = <ark_bn254::g1::Config as GLVConfig>::LAMBDA;
        let mut rng = ChaCha20Rng::seed_from_u64(13);
        let mut scalars = edge_scalars();
        scalars.extend([
            -Fr::ONE,
            lambda,
            -lambda,
            lambda + Fr::ONE,
            Fr::from(u128::MAX),
        ]);
        scalars.extend((0..20_000).map(|_| Fr::rand(&mut rng)));
        let field = |(neg, m): (bool, [u64; 4])| {
            let v = Fr::from_bigint(ark_ff::BigInt(m)).unwrap();
            if neg {
                -v
            } else {
                v
            }
        };
        for k in scalars {
            let s = glv::split(&k.into_bigint().0);
            assert!(s.bits() <= 128, "{k}: {} bits", s.bits());
            assert_eq!(field(s.k1) + lambda * field(s.k2), k);
        }
    }

    proptest::proptest! {
        #[test]
        fn the_glv_split_holds_for_any_scalar(limbs in proptest::array::uniform4(proptest::num::u64::ANY)) {
            let k = Fr::from_le_bytes_mod_order(
                &limbs.iter().flat_map(|l| l.to_le_bytes()).collect::<Vec<_>>(),
            );
            let s = glv::split(&k.into_bigint().0);
            proptest::prop_assert!(s.bits() <= 128);
            let lambda = <ark_bn254::g1::Config as GLVConfig>::LAMBDA;
            let f = |(neg, m): (bool, [u64; 4])| {
                let v = Fr::from_bigint(ark_ff::BigInt(m)).unwrap();
                if neg { -v } else { v }
            };
            proptest::prop_assert_eq!(f(s.k1) + lambda * f(s.k2), k);
        }
    }

    /// GLV digits: k1's rows and k2's rows recompose k1 + Λ·k2 = k, signs included.
    #[test]
    fn glv_digits_recompose_the_scalar() {
        let lambda = <ark_bn254::g1::Config as GLVConfig>::LAMBDA;
        let mut rng = ChaCha20Rng::seed_from_u64(14);
        let mut scalars = edge_scalars();
        scalars.extend([-Fr::ONE, lambda, -lambda]);
        scalars.extend((0..200).map(|_| Fr::rand(&mut rng)));
        for c in [3, 13, 16] {
            let d = Digits::glv(&scalars, c);
            let base = Fr::from(1u64 << c);
            let value = |rows: std::ops::Range<usize>, i: usize| {
                rows.rev().fold(Fr::zero(), |v, w| {
                    let x = d.row(w)[i];
                    v * base
                        + if x < 0 {
                            -Fr::from(x.unsigned_abs())
                        } else {
                            Fr::from(x as u32)
                        }
                })
            };
            for (i, k) in scalars.iter().enumerate() {
                let k1 = value(0..d.windows, i);
                let k2 = value(d.windows..2 * d.windows, i);
                assert_eq!(k1 + lambda * k2, *k, "c = {c}");
            }
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
                let row: Vec<i32> = (0..d.windows).map(|w| d.row(w)[i]).collect();
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

    /// Batches full of conflicts: every scalar in 1..=3 (three buckets per window), repeated
    /// points among them (doublings), and a run of one point with one scalar; deferred points
    /// that conflict again go to the XYZZ buckets.
    #[test]
    fn conflicting_batches_match_arkworks() {
        let mut rng = ChaCha20Rng::seed_from_u64(17);
        let mut bases: Vec<G1Affine> = (0..3000)
            .map(|_| G1Projective::rand(&mut rng).into_affine())
            .collect();
        let mut scalars: Vec<Fr> = (0..3000u64).map(|i| Fr::from(1 + i % 3)).collect();
        for i in 0..600 {
            bases[2000 + i] = bases[7];
            scalars[2000 + i] = Fr::from(2u64);
        }
        let want = G1Projective::msm(&bases, &scalars).unwrap();
        for c in [4, 9, 13] {
            for digits in [Digits::new(&scalars, c), Digits::glv(&scalars, c)] {
                check_digits(&bases, &digits, want, c);
            }
        }
    }

    /// The batch epoch wraps round: stamps left from an earlier epoch 1 must not make a bucket
    /// look busy (a deferred point would be lost), and few buckets bound what waits.
    #[test]
    fn the_epoch_wraps_without_losing_a_point() {
        let mut rng = ChaCha20Rng::seed_from_u64(18);
        let pts: Vec<G1Affine> = (0..300)
            .map(|_| G1Projective::rand(&mut rng).into_affine())
            .collect();
        let mut acc = Accumulator::<ark_bn254::g1::Config>::new(8);
        acc.epoch = u32::MAX - 2;
        acc.stamp.fill(1);
        let mut want = G1Projective::zero();
        for (i, p) in pts.iter().enumerate() {
            acc.add(i % 8, *p);
            want += *p * Fr::from((i % 8 + 1) as u64);
            assert!(acc.deferred.len() <= acc.batch);
        }
        acc.finish();
        assert!(acc.pending.is_empty() && acc.deferred.is_empty());
        assert_eq!(acc.reduce(), want);
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
            images: None,
            digits: &digits,
            start: 0,
        }]);
        assert_eq!(got, want);
    }
}
