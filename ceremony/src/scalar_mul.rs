//! Scalar multiplication for the ceremony's many small linear combinations and its rescaling of
//! whole sections by one scalar.
//!
//! arkworks multiplies an affine point by plain double-and-add over all 254 bits (its GLV
//! method is wired only into BN254's projective G1 multiplication, and never into G2). Here:
//!
//! - **GLV:** both BN254 groups have an endomorphism φ(P) = λ·P, so a scalar k splits into two
//!   halves of about 128 bits, k = k₁ + λ·k₂, and k·P = k₁·P + k₂·φ(P): half the doublings.
//! - **Width-4 NAF:** each half becomes signed odd digits (|d| ≤ 7), at least three zeros
//!   between two of them: about one addition per 5 bits, from a table of P, 3P, 5P, 7P (and φ
//!   of each, one field multiplication apiece).
//! - **Straus:** the terms of one combination Σ cᵢ·Pᵢ share a single doubling chain, so a
//!   term costs its additions only.
//! - **Affine tables, normalised together:** one field inversion for all the tables of a call,
//!   so that the additions are mixed (affine + projective).
//!
//! Coefficients ±1 (most of a circuit's wiring) cost one addition. Every result equals
//! arkworks' own multiplication exactly (the tests compare them point for point).

use ark_bn254::Fr;
use ark_ec::scalar_mul::glv::GLVConfig;
use ark_ec::short_weierstrass::{Affine, Projective, SWCurveConfig};
use ark_ec::AffineRepr;
use ark_ff::{AdditiveGroup, BigInt, Field, One, PrimeField, Zero};
use rayon::prelude::*;
use zeroize::Zeroize;
use zkpay_prover::msm::glv;

/// NAF window: digits are odd and below 2^(W−1) in absolute value.
const W: u32 = 4;
/// Table entries per point: P, 3P, …, (2^(W−1) − 1)·P.
const TABLE: usize = 1 << (W - 2);
/// Points rescaled per table normalisation in [`scale_all`].
const SCALE_CHUNK: usize = 256;

/// The signed width-[`W`] non-adjacent form of the non-negative integer in `limbs` (little
/// endian), least significant digit first: Σ dᵢ·2^i, each dᵢ zero or odd with |dᵢ| < 2^(W−1).
fn wnaf(limbs: &[u64]) -> Vec<i8> {
    // room for the carry of a negative digit, allocated at once: a reallocation would free a
    // copy of the (possibly secret) number without wiping it
    let mut k: Vec<u64> = Vec::with_capacity(limbs.len() + 1);
    k.extend_from_slice(limbs);
    k.push(0);
    let mut out = Vec::with_capacity(64 * limbs.len() + 1);
    let mask = (1u64 << W) - 1;
    while k.iter().any(|&l| l != 0) {
        let mut d = 0i64;
        if k[0] & 1 == 1 {
            let m = (k[0] & mask) as i64;
            d = if m >= 1 << (W - 1) { m - (1 << W) } else { m };
            // k −= d, which clears the low W bits
            if d >= 0 {
                sub_small(&mut k, d as u64);
            } else {
                add_small(&mut k, d.unsigned_abs());
            }
        }
        out.push(d as i8);
        shr1(&mut k);
    }
    k.zeroize();
    out
}

fn sub_small(k: &mut [u64], v: u64) {
    let mut borrow = v;
    for l in k.iter_mut() {
        let (x, b) = l.overflowing_sub(borrow);
        *l = x;
        borrow = u64::from(b);
        if borrow == 0 {
            break;
        }
    }
}

fn add_small(k: &mut [u64], v: u64) {
    let mut carry = v;
    for l in k.iter_mut() {
        let (x, c) = l.overflowing_add(carry);
        *l = x;
        carry = u64::from(c);
        if carry == 0 {
            break;
        }
    }
}

fn shr1(k: &mut [u64]) {
    let mut high = 0u64;
    for l in k.iter_mut().rev() {
        let next = *l << 63;
        *l = (*l >> 1) | high;
        high = next;
    }
}

/// A scalar split by GLV, each half in wNAF: k·P = Σ over the halves of ±(digits)·(P or φ(P)).
/// The digits are a function of the scalar, so they are wiped when dropped, as are the halves
/// (a contribution's secret δ⁻¹ is split this way). The split itself is fixed-width integer
/// arithmetic on the stack ([`glv::split`]), not arkworks' `scalar_decomposition`, whose heap
/// big integers would be freed unwiped.
struct Split {
    /// (digits, negate, applies to φ(P) rather than P)
    halves: Vec<(Vec<i8>, bool, bool)>,
}

/// A half of a split as a field element: its magnitude (below 2^129) or minus it.
fn signed_fe((negative, magnitude): (bool, [u64; 4])) -> Fr {
    let mut m = BigInt::new(magnitude);
    let f = Fr::from_bigint(m).unwrap_or_default();
    m.0.zeroize();
    if negative {
        -f
    } else {
        f
    }
}

/// k = k₁ + λ·k₂ for the λ of `C`'s endomorphism, both halves below 2^129 in absolute value,
/// split on the stack ([`glv::split`]); `None` if `C` is not one of BN254's groups.
fn stack_split<C: GLVConfig<ScalarField = Fr>>(k: &Fr) -> Option<[Fr; 2]> {
    let g1 = <ark_bn254::g1::Config as GLVConfig>::LAMBDA;
    if C::LAMBDA != g1 && C::LAMBDA != -Fr::ONE - g1 {
        return None;
    }
    let mut limbs = k.into_bigint();
    let mut s = glv::split(&limbs.0);
    limbs.0.zeroize();
    // k = k1 + Λ·k2 for Λ the LAMBDA of arkworks' G1; its G2 endomorphism multiplies by
    // Λ² = −1 − Λ, and there k = (k1 − k2) + Λ²·(−k2)
    let mut halves = [signed_fe(s.k1), signed_fe(s.k2)];
    s.k1.1.zeroize();
    s.k2.1.zeroize();
    if C::LAMBDA != g1 {
        halves[0] -= halves[1];
        halves[1] = -halves[1];
    }
    Some(halves)
}

impl Split {
    fn new<C: GLVConfig<ScalarField = Fr>>(k: &Fr) -> Self {
        let [mut h1, mut h2] = stack_split::<C>(k).unwrap_or_else(|| {
            // no caller has another group; arkworks' split works on the heap
            let ((p1, h1), (p2, h2)) = C::scalar_decomposition(*k);
            [if p1 { h1 } else { -h1 }, if p2 { h2 } else { -h2 }]
        });
        let mut parts = [(h1, false), (h2, true)];
        h1.zeroize();
        h2.zeroize();
        let mut halves = Vec::with_capacity(2);
        for (half, endo) in &parts {
            if half.is_zero() {
                continue;
            }
            // a half is below 2^129 in absolute value, far from r/2: the smaller of ±half
            let mut neg = -*half;
            let negative = neg.into_bigint() < half.into_bigint();
            let mut b = if negative { neg } else { *half }.into_bigint();
            halves.push((wnaf(b.as_ref()), negative, *endo));
            b.as_mut().zeroize();
            neg.zeroize();
        }
        for (half, _) in &mut parts {
            half.zeroize();
        }
        Self { halves }
    }

    fn len(&self) -> usize {
        self.halves.iter().map(|h| h.0.len()).max().unwrap_or(0)
    }
}

impl Drop for Split {
    fn drop(&mut self) {
        for h in &mut self.halves {
            h.0.zeroize();
        }
    }
}

/// The odd multiples P, 3P, …, of every point, and φ of each, in affine form ([`TABLE`] per
/// point, in the order of `points`), normalised with one inversion.
fn tables<C: GLVConfig>(points: &[Affine<C>]) -> (Vec<Affine<C>>, Vec<Affine<C>>) {
    let mut proj = Vec::with_capacity(points.len() * TABLE);
    for p in points {
        let p = p.into_group();
        let twice = p.double();
        let mut m = p;
        proj.push(m);
        for _ in 1..TABLE {
            m += twice;
            proj.push(m);
        }
    }
    let plain = normalize(&proj);
    let endo = plain.iter().map(C::endomorphism_affine).collect();
    (plain, endo)
}

/// Affine forms with one inversion (Montgomery's trick), serially: arkworks'
/// `normalize_batch` runs parallel loops, and these calls already run inside one.
fn normalize<C: SWCurveConfig>(v: &[Projective<C>]) -> Vec<Affine<C>> {
    // a point at infinity (z = 0) takes 1 in its place: every z inverted is then nonzero
    let mut z_inv: Vec<C::BaseField> = v
        .iter()
        .map(|p| {
            if p.is_zero() {
                C::BaseField::one()
            } else {
                p.z
            }
        })
        .collect();
    let mut scratch = vec![C::BaseField::zero(); v.len()];
    invert_all(&mut z_inv, &mut scratch);
    v.iter()
        .zip(&z_inv)
        .map(|(p, z_inv)| {
            if p.is_zero() {
                return Affine::identity();
            }
            let z2 = z_inv.square();
            Affine::new_unchecked(p.x * z2, p.y * z2 * z_inv)
        })
        .collect()
}

/// Σ over `items` (table index, split scalar) on a shared doubling chain.
fn straus<C: GLVConfig>(
    items: &[(usize, &Split)],
    plain: &[Affine<C>],
    endo: &[Affine<C>],
) -> Projective<C> {
    let len = items.iter().map(|(_, s)| s.len()).max().unwrap_or(0);
    let mut acc = Projective::<C>::zero();
    for i in (0..len).rev() {
        acc.double_in_place();
        for (t, s) in items {
            for half in &s.halves {
                let Some((k, subtract)) = digit(half, i) else {
                    continue;
                };
                let table = if half.2 { endo } else { plain };
                let q = table[t * TABLE + k];
                if subtract {
                    acc -= q;
                } else {
                    acc += q;
                }
            }
        }
    }
    acc
}

/// Σ cᵢ·bases[i] over `terms` (base index, coefficient), serially: the ceremony runs many of
/// these in parallel, one per wire. Panics if an index is out of `bases` (callers build the
/// terms from the bases they pass).
pub fn lincomb<C: GLVConfig<ScalarField = Fr>>(
    bases: &[Affine<C>],
    terms: &[(usize, C::ScalarField)],
) -> Projective<C> {
    let mut unit = Projective::<C>::zero();
    let mut points = Vec::new();
    let mut splits = Vec::new();
    for (i, c) in terms {
        let p = bases[*i];
        if p.is_zero() || c.is_zero() {
            continue;
        }
        if c.is_one() {
            unit += p;
        } else if (-*c).is_one() {
            unit -= p;
        } else {
            points.push(p);
            splits.push(Split::new::<C>(c));
        }
    }
    if points.is_empty() {
        return unit;
    }
    let (plain, endo) = tables(&points);
    let items: Vec<(usize, &Split)> = splits.iter().enumerate().collect();
    unit + straus(&items, &plain, &endo)
}

/// s·P for every point of each set, in parallel, in affine form. The scalar is split once for
/// all the sets (it may be a secret: its split is wiped afterwards; the caller wipes `s`).
pub fn scale_all<C: GLVConfig<ScalarField = Fr>, const N: usize>(
    sets: [&[Affine<C>]; N],
    s: &C::ScalarField,
) -> [Vec<Affine<C>>; N] {
    let split = Split::new::<C>(s);
    let affine = affine_chain_is_safe::<C>(&split, s);
    sets.map(|points| scale_with(points, &split, affine))
}

fn scale_with<C: GLVConfig>(points: &[Affine<C>], split: &Split, affine: bool) -> Vec<Affine<C>> {
    if affine {
        // a chunk whose affine chain meets a zero denominator (only points off the curve
        // can: the chain was checked) is done again point by point
        return points
            .par_chunks(AFFINE_CHUNK)
            .flat_map_iter(|chunk| {
                scale_affine(chunk, split).unwrap_or_else(|| scale_projective(chunk, split))
            })
            .collect();
    }
    points
        .par_chunks(SCALE_CHUNK)
        .flat_map_iter(|chunk| scale_projective(chunk, split))
        .collect()
}

/// s·P for each point, one projective chain per point (tables normalised together).
fn scale_projective<C: GLVConfig>(chunk: &[Affine<C>], split: &Split) -> Vec<Affine<C>> {
    let (plain, endo) = tables(chunk);
    let out: Vec<Projective<C>> = (0..chunk.len())
        .map(|t| {
            if chunk[t].is_zero() {
                Projective::zero()
            } else {
                straus(&[(t, split)], &plain, &endo)
            }
        })
        .collect();
    normalize(&out)
}

/// Points rescaled together on the affine chain ([`scale_affine`]): each step's batched
/// inversion is shared by this many points, whose coordinates stay in the L2 cache.
const AFFINE_CHUNK: usize = 1024;

/// The digit of `half` at position `i` as (table index, subtract), or `None` for a zero digit.
fn digit(half: &(Vec<i8>, bool, bool), i: usize) -> Option<(usize, bool)> {
    let (digits, neg, _) = half;
    match digits.get(i) {
        Some(&d) if d != 0 => Some((usize::from(d.unsigned_abs() >> 1), (d < 0) != *neg)),
        _ => None,
    }
}

/// Whether [`scale_affine`] computes s·P for every point P ≠ 0 of a group of prime order r
/// without an exceptional case: every point of its chain is a multiple m·P for an m that
/// depends on the scalar's digits only, so an affine doubling of the point at infinity or
/// an addition of two points with the same x (equal or opposite) happens for every P or for
/// none. This follows m along the chain in the scalar field and refuses such a step; it also
/// requires the chain to end at s (the split is the scalar's). Curves with a cofactor are
/// refused: their points may lie outside the prime-order group, where φ(P) ≠ λ·P.
fn affine_chain_is_safe<C: GLVConfig>(split: &Split, s: &C::ScalarField) -> bool {
    // the doubling formula is for a = 0
    if C::COFACTOR.iter().skip(1).any(|l| *l != 0)
        || C::COFACTOR.first() != Some(&1)
        || !C::COEFF_A.is_zero()
    {
        return false;
    }
    let mut m: Option<C::ScalarField> = None;
    let mut safe = true;
    'chain: for i in (0..split.len()).rev() {
        if let Some(v) = m.as_mut() {
            v.double_in_place();
            if v.is_zero() {
                safe = false;
                break;
            }
        }
        for half in &split.halves {
            let Some((k, subtract)) = digit(half, i) else {
                continue;
            };
            let mut q = C::ScalarField::from(2 * k as u64 + 1);
            if half.2 {
                q *= C::LAMBDA;
            }
            if subtract {
                q = -q;
            }
            let refused = m.is_some_and(|v| v == q || v == -q);
            if !refused {
                m = Some(m.map_or(q, |v| v + q));
            }
            q.zeroize();
            if refused {
                safe = false;
                break 'chain;
            }
        }
    }
    // the chain must end at the scalar the split was made from
    safe &= m.is_some_and(|v| v == *s);
    if let Some(v) = m.as_mut() {
        v.zeroize();
    }
    safe
}

/// s·P for each point (of a prime-order group: see [`affine_chain_is_safe`], which must have
/// accepted `split`) on the split's chain, all points at once in affine coordinates: every
/// doubling and every addition of a step shares one field inversion (Montgomery's trick),
/// which makes an addition 5M + 1S instead of a mixed addition's 7M + 4S, and the results
/// need no normalisation. Points at infinity stay there. `None` if a step meets a zero
/// denominator, which a point off the curve can cause.
fn scale_affine<C: GLVConfig>(points: &[Affine<C>], split: &Split) -> Option<Vec<Affine<C>>> {
    let live: Vec<usize> = (0..points.len())
        .filter(|&i| !points[i].is_zero())
        .collect();
    let mut out = vec![Affine::<C>::identity(); points.len()];
    if live.is_empty() {
        return Some(out);
    }
    let bases: Vec<Affine<C>> = live.iter().map(|&i| points[i]).collect();
    let (plain, endo) = tables(&bases);
    let n = bases.len();
    let mut xs = vec![C::BaseField::zero(); n];
    let mut ys = vec![C::BaseField::zero(); n];
    let mut inv = vec![C::BaseField::zero(); n];
    let mut scratch = vec![C::BaseField::zero(); n];
    let mut started = false;
    for i in (0..split.len()).rev() {
        if started && !batch_double(&mut xs, &mut ys, &mut inv, &mut scratch) {
            return None;
        }
        for half in &split.halves {
            let Some((k, subtract)) = digit(half, i) else {
                continue;
            };
            let table = if half.2 { &endo } else { &plain };
            let q = |t: usize| table[t * TABLE + k];
            if started {
                if !batch_add(&mut xs, &mut ys, &mut inv, &mut scratch, q, subtract) {
                    return None;
                }
            } else {
                for t in 0..n {
                    let p = q(t);
                    xs[t] = p.x;
                    ys[t] = if subtract { -p.y } else { p.y };
                }
                started = true;
            }
        }
    }
    if started {
        for (t, &i) in live.iter().enumerate() {
            out[i] = Affine::new_unchecked(xs[t], ys[t]);
        }
    }
    Some(out)
}

/// Replaces every element of `d` by its inverse with one field inversion (Montgomery's
/// trick), serially (the callers already run in parallel); `scratch` is as long as `d`.
/// False, with `d` unchanged, if an element is zero.
fn invert_all<F: Field>(d: &mut [F], scratch: &mut [F]) -> bool {
    let mut acc = F::one();
    for (b, x) in scratch.iter_mut().zip(d.iter()) {
        *b = acc;
        acc *= x;
    }
    let Some(mut inv) = acc.inverse() else {
        return false;
    };
    for (x, b) in d.iter_mut().zip(scratch.iter()).rev() {
        let x_inv = inv * b;
        inv *= *x;
        *x = x_inv;
    }
    true
}

/// 2·(x, y) for every point, with one inversion: λ = 3x² / 2y, x' = λ² − 2x,
/// y' = λ(x − x') − y. No y is zero for points of the curve (the chain was checked: no
/// point of order 2 or ∞); false, with the points unchanged, if one is.
fn batch_double<F: Field>(xs: &mut [F], ys: &mut [F], inv: &mut [F], scratch: &mut [F]) -> bool {
    for (d, y) in inv.iter_mut().zip(ys.iter()) {
        *d = y.double();
    }
    if !invert_all(inv, scratch) {
        return false;
    }
    for ((x, y), d_inv) in xs.iter_mut().zip(ys.iter_mut()).zip(inv.iter()) {
        let x2 = x.square();
        let lambda = (x2.double() + x2) * d_inv;
        let x3 = lambda.square() - x.double();
        *y = lambda * (*x - x3) - *y;
        *x = x3;
    }
    true
}

/// (x, y) + ±q(t) for every point t, with one inversion: λ = (y_q − y) / (x_q − x),
/// x' = λ² − x − x_q, y' = λ(x − x') − y. No two x are equal for points of the curve (the
/// chain was checked); false, with the points unchanged, if two are.
fn batch_add<C: SWCurveConfig>(
    xs: &mut [C::BaseField],
    ys: &mut [C::BaseField],
    inv: &mut [C::BaseField],
    scratch: &mut [C::BaseField],
    q: impl Fn(usize) -> Affine<C>,
    subtract: bool,
) -> bool {
    for (t, (d, x)) in inv.iter_mut().zip(xs.iter()).enumerate() {
        *d = q(t).x - x;
    }
    if !invert_all(inv, scratch) {
        return false;
    }
    for (t, ((x, y), d_inv)) in xs.iter_mut().zip(ys.iter_mut()).zip(inv.iter()).enumerate() {
        let p = q(t);
        let py = if subtract { -p.y } else { p.y };
        let lambda = (py - *y) * d_inv;
        let x3 = lambda.square() - *x - p.x;
        *y = lambda * (*x - x3) - *y;
        *x = x3;
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;
    use ark_bn254::{G1Affine, G2Affine};
    use ark_ec::CurveGroup;
    use ark_ff::{BigInteger, UniformRand};
    use rand::SeedableRng;
    use rand_chacha::ChaCha20Rng;

    /// 0, 1, −1, 2, small, 2^64 − 1, 2^128 − 1, 2^128 + 1, ±λ, 1/2, r − 2 and random scalars.
    fn scalars(rng: &mut ChaCha20Rng) -> Vec<Fr> {
        let mut v = vec![
            Fr::zero(),
            Fr::one(),
            -Fr::one(),
            Fr::from(2u64),
            Fr::from(7u64),
            Fr::from(8u64),
            -Fr::from(15u64),
            Fr::from(u64::MAX),
            Fr::from(u128::MAX),
            Fr::from(u128::MAX) + Fr::from(2u64),
            <ark_bn254::g1::Config as GLVConfig>::LAMBDA,
            -<ark_bn254::g1::Config as GLVConfig>::LAMBDA,
            Fr::from(2u64).inverse().expect("2 is invertible"),
            -Fr::from(2u64),
        ];
        for _ in 0..24 {
            v.push(Fr::rand(rng));
        }
        v
    }

    fn splits_on_the_stack<C: GLVConfig<ScalarField = Fr>>(seed: u64) {
        let mut rng = ChaCha20Rng::seed_from_u64(seed);
        for k in scalars(&mut rng) {
            let [h1, h2] = stack_split::<C>(&k).expect("a BN254 group");
            assert_eq!(h1 + C::LAMBDA * h2, k);
            for h in [h1, h2] {
                let small = |x: Fr| x.into_bigint().num_bits() <= 129;
                assert!(small(h) || small(-h), "half of {k} too large");
            }
        }
    }

    #[test]
    fn both_groups_split_secrets_on_the_stack() {
        splits_on_the_stack::<ark_bn254::g1::Config>(21);
        splits_on_the_stack::<ark_bn254::g2::Config>(22);
    }

    #[test]
    fn wnaf_digits_rebuild_the_number_and_stay_sparse() {
        let mut rng = ChaCha20Rng::seed_from_u64(1);
        let mut cases: Vec<BigInt<4>> = vec![
            BigInt::new([0; 4]),
            BigInt::from(1u64),
            BigInt::from(7u64),
            BigInt::from(u64::MAX),
            BigInt::new([u64::MAX; 4]),
            Fr::MODULUS,
        ];
        for _ in 0..64 {
            cases.push(Fr::rand(&mut rng).into_bigint());
        }
        for k in cases {
            let digits = wnaf(k.as_ref());
            // Σ dᵢ·2^i, compared modulo r (k = 2^256 − 1 exceeds r)
            let mut back = Fr::zero();
            for &d in digits.iter().rev() {
                back.double_in_place();
                back += if d < 0 {
                    -Fr::from(u64::from(d.unsigned_abs()))
                } else {
                    Fr::from(d as u64)
                };
            }
            assert_eq!(back, Fr::from_le_bytes_mod_order(&k.to_bytes_le()), "{k}");
            for (i, &d) in digits.iter().enumerate() {
                assert!(
                    d == 0 || (d % 2 != 0 && d.unsigned_abs() < 1 << (W - 1)),
                    "{d}"
                );
                if d != 0 {
                    // W − 1 zeros follow every nonzero digit
                    for e in digits.iter().skip(i + 1).take(W as usize - 1) {
                        assert_eq!(*e, 0);
                    }
                }
            }
            assert!(digits.len() <= k.num_bits() as usize + 1);
        }
    }

    fn check_group<C: GLVConfig<ScalarField = Fr>>(gen: Affine<C>, seed: u64) {
        let mut rng = ChaCha20Rng::seed_from_u64(seed);
        let mut bases: Vec<Affine<C>> = (0..6)
            .map(|_| (gen * Fr::rand(&mut rng)).into_affine())
            .collect();
        bases.push(Affine::<C>::zero());
        bases.push(gen);
        let ks = scalars(&mut rng);
        // one term at a time, every base and scalar
        for (i, b) in bases.iter().enumerate() {
            for k in &ks {
                assert_eq!(lincomb(&bases, &[(i, *k)]), *b * k, "{i} {k}");
            }
        }
        // whole combinations: repeated bases, one base with k and −k, every kind of scalar
        let mut terms: Vec<(usize, Fr)> = ks
            .iter()
            .enumerate()
            .map(|(j, k)| (j % bases.len(), *k))
            .collect();
        terms.push((0, -ks[20]));
        terms.push((0, ks[20]));
        let naive: Projective<C> = terms.iter().map(|(i, k)| bases[*i] * k).sum();
        assert_eq!(lincomb(&bases, &terms), naive);
        assert_eq!(lincomb::<C>(&bases, &[]), Projective::zero());
        // terms that cancel exactly
        assert_eq!(
            lincomb(&bases, &[(1, ks[30]), (1, -ks[30])]),
            Projective::zero()
        );
        // rescaling: more points than one chunk, with the point at infinity among them
        let mut points: Vec<Affine<C>> = (0..SCALE_CHUNK + 37)
            .map(|_| (gen * Fr::rand(&mut rng)).into_affine())
            .collect();
        points[5] = Affine::zero();
        for k in [ks[0], ks[1], ks[2], ks[10], ks[25]] {
            let want: Vec<Affine<C>> = points.iter().map(|p| (*p * k).into_affine()).collect();
            let [all, few, none] = scale_all([&points, &points[..3], &[]], &k);
            assert_eq!(all, want, "{k}");
            assert_eq!(few, want[..3], "{k}");
            assert!(none.is_empty());
        }
    }

    #[test]
    fn rescaling_in_g1_takes_the_affine_chain_and_g2_does_not() {
        let mut rng = ChaCha20Rng::seed_from_u64(4);
        for k in scalars(&mut rng).iter().filter(|k| !k.is_zero()) {
            let split = Split::new::<ark_bn254::g1::Config>(k);
            assert!(
                affine_chain_is_safe::<ark_bn254::g1::Config>(&split, k),
                "{k}"
            );
            // another scalar's split is refused: the chain must end at the scalar
            let other = *k + Fr::one();
            assert!(
                !affine_chain_is_safe::<ark_bn254::g1::Config>(&split, &other),
                "{k}"
            );
            let split2 = Split::new::<ark_bn254::g2::Config>(k);
            assert!(!affine_chain_is_safe::<ark_bn254::g2::Config>(&split2, k));
        }
        assert!(!affine_chain_is_safe::<ark_bn254::g1::Config>(
            &Split::new::<ark_bn254::g1::Config>(&Fr::zero()),
            &Fr::zero()
        ));
        // and gives arkworks' points: more than one chunk, points at infinity among them
        let gen = G1Affine::generator();
        let mut points: Vec<G1Affine> = (0..AFFINE_CHUNK + 45)
            .map(|_| (gen * Fr::rand(&mut rng)).into_affine())
            .collect();
        points[0] = G1Affine::zero();
        points[AFFINE_CHUNK + 3] = G1Affine::zero();
        points[7] = gen;
        points[8] = -gen;
        let mut all_zero = vec![G1Affine::zero(); 5];
        all_zero.push(gen);
        for k in [
            Fr::rand(&mut rng),
            Fr::from(3u64),
            -Fr::one(),
            <ark_bn254::g1::Config as GLVConfig>::LAMBDA,
        ] {
            let split = Split::new::<ark_bn254::g1::Config>(&k);
            assert!(affine_chain_is_safe::<ark_bn254::g1::Config>(&split, &k));
            let want: Vec<G1Affine> = points.iter().map(|p| (*p * k).into_affine()).collect();
            assert_eq!(scale_with(&points, &split, true), want, "{k}");
            assert_eq!(
                scale_affine(&all_zero[..5], &split),
                Some(all_zero[..5].to_vec())
            );
            assert_eq!(
                scale_affine(&all_zero, &split).map(|v| v[5]),
                Some((gen * k).into_affine())
            );
            // a point off the curve with y = 0 makes a doubling's denominator zero: the chunk
            // is done again point by point, and the other points are still right
            let mut bad = points[..10].to_vec();
            bad[3] = G1Affine::new_unchecked(ark_bn254::Fq::from(5u64), ark_bn254::Fq::zero());
            if split.len() > 1 {
                // (a scalar of one digit, 3 or ±1 or λ, has no step to fail)
                assert_eq!(scale_affine(&bad, &split), None, "{k}");
            }
            let got = scale_with(&bad, &split, true);
            for (i, (g, w)) in got.iter().zip(&want[..10]).enumerate() {
                if i != 3 {
                    assert_eq!(g, w, "{k} {i}");
                }
            }
        }
    }

    #[test]
    fn combinations_equal_arkworks_in_g1() {
        check_group(G1Affine::generator(), 2);
    }

    #[test]
    fn combinations_equal_arkworks_in_g2() {
        check_group(G2Affine::generator(), 3);
    }
}
