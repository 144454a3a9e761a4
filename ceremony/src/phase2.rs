//! Phase 2 of the trusted setup, per circuit, in snarkjs's `.zkey` format: the initial key from
//! a circuit and a powers-of-tau file, contributions, the final beacon, verification of the
//! whole chain, and the export of the keys zkpay proves and verifies with.
//!
//! The computations are snarkjs's (`zkey_new.js`, `zkey_contribute.js`, `zkey_beacon.js`,
//! `zkey_verify_frominit.js`), so that a ceremony can mix both tools; see `docs/ceremony.md`.

use crate::ptau::Ptau;
use crate::scalar_mul;
use crate::snarkrng::{beacon_rng, hash_to_g2, ChaCha};
use crate::zkey::{g1_u, g2_u, Coef, Contribution, Source, Zkey};
use crate::{CeremonyError, Result};
use ark_bn254::{g1, g2, Bn254, Fr, G1Affine, G1Projective, G2Affine, G2Projective};
use ark_ec::pairing::Pairing;
use ark_ec::scalar_mul::glv::GLVConfig;
use ark_ec::short_weierstrass::{Affine, Projective, SWCurveConfig};
use ark_ec::{AffineRepr, CurveGroup, VariableBaseMSM};
use ark_ff::{Field, One, Zero};
use ark_groth16::{ProvingKey, VerifyingKey};
use ark_poly::{EvaluationDomain, Radix2EvaluationDomain};
use blake2::{Blake2b512, Digest};
use rand::RngCore;
use rayon::prelude::*;
use zeroize::Zeroize;
use zkpay_prover::r1cs::R1cs;

/// Section ids of the Lagrange bases in a prepared `.ptau`.
const LAGRANGE_TAU_G1: u32 = 12;
const LAGRANGE_TAU_G2: u32 = 13;
const LAGRANGE_ALPHA_G1: u32 = 14;
const LAGRANGE_BETA_G1: u32 = 15;
/// Section ids of the powers.
const TAU_G1: u32 = 2;
const TAU_G2: u32 = 3;
const ALPHA_TAU_G1: u32 = 4;
const BETA_TAU_G1: u32 = 5;
const BETA_G2: u32 = 6;

/// Most beacon iterations: 2^63 (snarkjs's limit); least 2^10.
pub const BEACON_EXP: std::ops::RangeInclusive<u32> = 10..=63;

fn inconsistent(why: impl Into<String>) -> CeremonyError {
    CeremonyError::Inconsistent(why.into())
}

/// Σ coefficient·base over (base index, coefficient) terms for every wire: the wires of few
/// terms in parallel, each a serial [`scalar_mul::lincomb`] (a nested parallel MSM there piles
/// G2 stack frames onto rayon's workers until they overflow), the wires of many terms (the
/// constant one, for example) one after another, each with a parallel MSM.
fn combine_all<C: GLVConfig<ScalarField = Fr>>(
    bases: &[Affine<C>],
    terms: &[Vec<(usize, Fr)>],
) -> Vec<Projective<C>> {
    // a Straus combination costs about 50 additions a term whatever their number; a
    // Pippenger MSM costs fewer only from thousands of terms on, and runs in parallel (the
    // constant wire has ~11 k terms in the test chunk circuit)
    const MANY: usize = 512;
    let mut out: Vec<Projective<C>> = terms
        .par_iter()
        .map(|t| {
            if t.len() > MANY {
                Projective::zero()
            } else {
                scalar_mul::lincomb(bases, t)
            }
        })
        .collect();
    for (o, t) in out.iter_mut().zip(terms) {
        if t.len() > MANY {
            let (b, s): (Vec<Affine<C>>, Vec<Fr>) = t.iter().map(|(i, c)| (bases[*i], *c)).unzip();
            *o = Projective::msm_unchecked(&b, &s);
        }
    }
    out
}

/// Checks that `section` holds, for every wire, Σ coefficient·base over its `terms`, without
/// computing them: with ρ drawn from the OS (128 bits a wire, unknown to whoever made the key),
/// Σ_w ρ_w·section_w must equal Σ_c (Σ ρ_w·coefficient over the terms at base c)·base_c. A
/// section that differs from the circuit's in any wire passes with probability at most 2^-128.
/// That holds for points of the prime-order subgroup, so every point is checked to be on the
/// curve and in the subgroup first (in G1 every point on the curve is).
fn check_section<C: SWCurveConfig<ScalarField = Fr>>(
    section: &[Affine<C>],
    bases: &[Affine<C>],
    terms: &[Vec<(usize, Fr)>],
    what: &str,
) -> Result<()>
where
    Projective<C>: VariableBaseMSM<MulBase = Affine<C>, ScalarField = Fr>,
{
    let differs = || {
        inconsistent(format!(
            "{what} differs from the one the circuit and the powers of tau give"
        ))
    };
    if section.len() != terms.len() {
        return Err(differs());
    }
    if !section
        .par_iter()
        .all(|p| p.is_on_curve() && p.is_in_correct_subgroup_assuming_on_curve())
    {
        return Err(inconsistent(format!(
            "{what} has a point outside the prime-order subgroup"
        )));
    }
    let rho = randoms(section.len());
    let mut per_base = vec![Fr::zero(); bases.len()];
    for (r, t) in rho.iter().zip(terms) {
        for (c, v) in t {
            *per_base.get_mut(*c).ok_or_else(differs)? += *r * v;
        }
    }
    let (got, want) = rayon::join(
        || Projective::<C>::msm_unchecked(section, &rho),
        || Projective::<C>::msm_unchecked(bases, &per_base),
    );
    if got != want {
        return Err(differs());
    }
    Ok(())
}

fn affine_all<G: CurveGroup>(v: Vec<G>) -> Vec<G::Affine> {
    G::normalize_batch(&v)
}

/// 128-bit random coefficients.
fn randoms(n: usize) -> Vec<Fr> {
    let mut rng = rand::rngs::OsRng;
    (0..n)
        .map(|_| Fr::from(u128::from(rng.next_u64()) << 64 | u128::from(rng.next_u64())))
        .collect()
}

/// e(a1, b2) = e(b1, a2): b is a times the same factor in both groups. Zero points never pass.
pub fn same_ratio(a1: G1Affine, b1: G1Affine, a2: G2Affine, b2: G2Affine) -> bool {
    if a1.is_zero() || b1.is_zero() || a2.is_zero() || b2.is_zero() {
        return false;
    }
    Bn254::multi_pairing([a1, (-b1.into_group()).into_affine()], [b2, a2]).is_zero()
}

/// Checks that the Lagrange basis of the domain of size `n` in section `kind` (points
/// `lagrange`) is the inverse FFT of the powers `powers` (τ^0 … τ^(n−1) times the same
/// factor): Σ rᵢ·Lᵢ = Σ (IFFT r)ⱼ·τ^j for random rᵢ.
fn check_lagrange<G: CurveGroup<ScalarField = Fr>>(
    lagrange: &[G::Affine],
    powers: &[G::Affine],
    what: &str,
) -> Result<()> {
    let n = lagrange.len();
    let domain = Radix2EvaluationDomain::<Fr>::new(n)
        .filter(|d| d.size() == n)
        .ok_or_else(|| inconsistent(format!("{what}: no domain of size {n}")))?;
    let r = randoms(n);
    let c = domain.ifft(&r);
    if G::msm_unchecked(lagrange, &r) != G::msm_unchecked(powers, &c) {
        return Err(inconsistent(format!(
            "the powers of tau's Lagrange basis ({what}, domain 2^{}) does not match its powers",
            n.trailing_zeros()
        )));
    }
    Ok(())
}

/// The bases the initial key is computed from, read from a prepared, verified `.ptau` and
/// checked against its powers.
struct Bases {
    tau_g1: Vec<G1Affine>,
    tau_g2: Vec<G2Affine>,
    alpha_g1: Vec<G1Affine>,
    beta_g1: Vec<G1Affine>,
    /// the domain of size 2n
    tau_g1_2n: Vec<G1Affine>,
    /// τ^i·G1, i < 2n
    powers_g1: Vec<G1Affine>,
    alpha1: G1Affine,
    beta1: G1Affine,
    beta2: G2Affine,
}

fn read_bases(ptau: &Ptau, power: u32) -> Result<Bases> {
    if !ptau.prepared {
        return Err(inconsistent(
            "the powers of tau are not prepared for phase 2 (run `snarkjs powersoftau prepare \
             phase2`): the Lagrange-basis sections are missing",
        ));
    }
    ptau.check_power(power)?;
    let n = 1usize << power;
    let lag = (n - 1) as u64;
    let tau_g1 = ptau.g1_range(LAGRANGE_TAU_G1, lag, n)?;
    let tau_g2 = ptau.g2_range(LAGRANGE_TAU_G2, lag, n)?;
    let alpha_g1 = ptau.g1_range(LAGRANGE_ALPHA_G1, lag, n)?;
    let beta_g1 = ptau.g1_range(LAGRANGE_BETA_G1, lag, n)?;
    let tau_g1_2n = ptau.g1_range(LAGRANGE_TAU_G1, (2 * n - 1) as u64, 2 * n)?;
    // τ^i·G1 for i < 2n; a file of power log2(n) stops at τ^(2n−2), and snarkjs's `prepare
    // phase2` takes the missing power as 0 for the basis of the domain 2n (harmless: the
    // quotient a·b − c has degree at most 2n − 2)
    let have = (2 * n).min((2u64 << ptau.power) as usize - 1);
    let mut powers_g1 = ptau.g1_range(TAU_G1, 0, have)?;
    powers_g1.resize(2 * n, G1Affine::zero());
    // Used only to check the Lagrange basis in G2, whose points are subgroup-checked: the
    // curve's group is the product of the prime-order subgroup and a part of order prime to r
    // (the cofactor 2p − r), so that check compares only the subgroup parts of these powers
    // (a component outside the subgroup makes it fail, or cancels out). The phase-1 check has
    // subgroup-checked the powers already; doing it again took ~0.4 s of a 2^13 `verify`.
    let powers_g2 = ptau.g2_range_on_curve(TAU_G2, 0, n)?;
    let powers_alpha = ptau.g1_range(ALPHA_TAU_G1, 0, n)?;
    let powers_beta = ptau.g1_range(BETA_TAU_G1, 0, n)?;
    let beta2 = ptau.g2_range(BETA_G2, 0, 1)?[0];
    check_lagrange::<G1Projective>(&tau_g1, &powers_g1[..n], "τ·G1")?;
    check_lagrange::<G1Projective>(&tau_g1_2n, &powers_g1, "τ·G1, 2n")?;
    check_lagrange::<G2Projective>(&tau_g2, &powers_g2, "τ·G2")?;
    check_lagrange::<G1Projective>(&alpha_g1, &powers_alpha, "α·τ·G1")?;
    check_lagrange::<G1Projective>(&beta_g1, &powers_beta, "β·τ·G1")?;
    Ok(Bases {
        alpha1: powers_alpha[0],
        beta1: powers_beta[0],
        beta2,
        tau_g1,
        tau_g2,
        alpha_g1,
        beta_g1,
        tau_g1_2n,
        powers_g1,
    })
}

fn hash_u32(h: &mut Blake2b512, n: u32) {
    h.update(n.to_be_bytes());
}

/// The initial key of `r1cs` (δ = γ = 1, no contribution) from the powers of tau, as
/// `snarkjs zkey new` computes it. The `.ptau` must have been verified ([`Ptau::verify_powers`],
/// or [`Ptau::verify_powers_for`] the circuit's domain);
/// its Lagrange bases are checked here against its powers.
pub fn new_zkey(r1cs: &R1cs, ptau: &Ptau) -> Result<Zkey> {
    initial_key(r1cs, ptau, None)
}

/// The initial key of `r1cs` over `ptau`. With a `candidate` (a key to verify), its A, B1 and
/// B2 sections, which no contribution changes, are checked against the circuit by a random
/// linear combination ([`check_section`]) instead of being computed wire by wire, and taken
/// as the initial key's: the initial key is then exactly the circuit's if the check passes.
/// That is most of [`verify`]'s time saved: the A and B queries are sums of hundreds of
/// thousands of scalar multiplications (B2's in G2), the checks two MSMs each.
fn initial_key(r1cs: &R1cs, ptau: &Ptau, candidate: Option<&Zkey>) -> Result<Zkey> {
    let power = r1cs.domain_power();
    let b = read_bases(ptau, power)?;
    let n = 1usize << power;
    let m = r1cs.constraints.len();
    let public = r1cs.num_public;
    let vars = r1cs.num_wires;
    // Terms of every wire's polynomials: A and B (for the A, B1, B2 queries) and the
    // (β·A + α·B + C) combination (for IC and L): (which bases, constraint, coefficient).
    let mut a_terms: Vec<Vec<(usize, Fr)>> = vec![Vec::new(); vars];
    let mut b_terms: Vec<Vec<(usize, Fr)>> = vec![Vec::new(); vars];
    // per wire: terms over beta_g1 (A), alpha_g1 (B) and tau_g1 (C), laid side by side: the
    // term of constraint c in matrix k has base index k·n + c
    let mut k_terms: Vec<Vec<(usize, Fr)>> = vec![Vec::new(); vars];
    let mut coefs = Vec::new();
    let wire = |s: u32| -> Result<usize> {
        let s = s as usize;
        (s < vars)
            .then_some(s)
            .ok_or_else(|| inconsistent(format!("wire {s} of {vars}")))
    };
    for (c, [la, lb, lc]) in r1cs.constraints.iter().enumerate() {
        // A and B: their own queries, the IC/L combination (β·A, α·B) and the coefficients
        for (matrix, lin, terms) in [(0u32, la, &mut a_terms), (1, lb, &mut b_terms)] {
            for (s, v) in lin {
                let s = wire(*s)?;
                terms[s].push((c, *v));
                k_terms[s].push((matrix as usize * n + c, *v));
                coefs.push(Coef {
                    matrix,
                    constraint: c as u32,
                    signal: s as u32,
                    value: *v,
                });
            }
        }
        for (s, v) in lc {
            let s = wire(*s)?;
            k_terms[s].push((2 * n + c, *v));
        }
    }
    // the public inputs' rows follow the constraints, inside the domain (its size counts them)
    debug_assert!(m + public < n);
    for s in 0..=public {
        a_terms[s].push((m + s, Fr::one()));
        k_terms[s].push((m + s, Fr::one()));
        coefs.push(Coef {
            matrix: 0,
            constraint: (m + s) as u32,
            signal: s as u32,
            value: Fr::one(),
        });
    }
    let (a, b1, b2) = match candidate {
        None => (
            affine_all(combine_all::<g1::Config>(&b.tau_g1, &a_terms)),
            affine_all(combine_all::<g1::Config>(&b.tau_g1, &b_terms)),
            affine_all(combine_all::<g2::Config>(&b.tau_g2, &b_terms)),
        ),
        Some(z) => {
            // another circuit's key says so, rather than that its A section differs
            if (
                z.n_vars as usize,
                z.n_public as usize,
                z.domain_size as usize,
            ) != (vars, public, n)
            {
                return Err(inconsistent(format!(
                    "the key is for another circuit: {} variables, {} public inputs, domain {} \
                     (the circuit has {vars}, {public}, {n})",
                    z.n_vars, z.n_public, z.domain_size
                )));
            }
            check_section(&z.a, &b.tau_g1, &a_terms, "the A section")?;
            check_section(&z.b1, &b.tau_g1, &b_terms, "the B1 section")?;
            check_section(&z.b2, &b.tau_g2, &b_terms, "the B2 section")?;
            (z.a.clone(), z.b1.clone(), z.b2.clone())
        }
    };
    drop((a_terms, b_terms));
    // β·A + α·B + C as one combination per wire over the three bases side by side, so that
    // its terms share one doubling chain
    let k_bases = [&b.beta_g1, &b.alpha_g1, &b.tau_g1]
        .map(|v| v.as_slice())
        .concat();
    let k = affine_all(combine_all::<g1::Config>(&k_bases, &k_terms));
    let ic = k[..=public].to_vec();
    let l = k[public + 1..].to_vec();
    let h: Vec<G1Affine> = b.tau_g1_2n.iter().skip(1).step_by(2).copied().collect();

    // the circuit hash, in snarkjs's order
    let g1 = G1Affine::generator();
    let g2 = G2Affine::generator();
    let mut hs = Blake2b512::new();
    hs.update(g1_u(&b.alpha1));
    hs.update(g1_u(&b.beta1));
    hs.update(g2_u(&b.beta2));
    hs.update(g2_u(&g2));
    hs.update(g1_u(&g1));
    hs.update(g2_u(&g2));
    let hash_g1 = |hs: &mut Blake2b512, ps: &[G1Affine]| {
        hash_u32(hs, ps.len() as u32);
        for p in ps {
            hs.update(g1_u(p));
        }
    };
    hash_g1(&mut hs, &ic);
    // τ^(i+n) − τ^i, for i < n − 1; snarkjs hashes them in chunks of 2^14 points, each chunk
    // (the last included) full-sized once n − 1 exceeds one chunk
    const CHUNK: usize = 1 << 14;
    hash_u32(&mut hs, (n - 1) as u32);
    let hashed = if n - 1 <= CHUNK {
        n - 1
    } else {
        (n - 1).div_ceil(CHUNK) * CHUNK
    };
    if hashed + n > (2usize << ptau.power) - 1 {
        // snarkjs would hash bytes past the end of τ^i·G1 here
        return Err(inconsistent(format!(
            "a circuit of domain 2^{power} needs powers of tau of 2^{} or more",
            power + 1
        )));
    }
    let diffs = affine_all(
        (0..hashed)
            .into_par_iter()
            .map(|i| b.powers_g1[i + n].into_group() - b.powers_g1[i])
            .collect(),
    );
    for d in &diffs {
        hs.update(g1_u(d));
    }
    hash_g1(&mut hs, &l);
    hash_g1(&mut hs, &a);
    hash_g1(&mut hs, &b1);
    hash_u32(&mut hs, b2.len() as u32);
    for p in &b2 {
        hs.update(g2_u(p));
    }
    Ok(Zkey {
        n_vars: vars as u32,
        n_public: public as u32,
        domain_size: n as u32,
        alpha1: b.alpha1,
        beta1: b.beta1,
        beta2: b.beta2,
        gamma2: g2,
        delta1: g1,
        delta2: g2,
        ic,
        coefs,
        a,
        b1,
        b2,
        l,
        h,
        cs_hash: hs.finalize().into(),
        contributions: Vec::new(),
    })
}

/// Applies the secret `x` drawn from `rng` to `zkey` as a contribution of `source`: δ ← x·δ,
/// L and H divided by x, and a proof of knowledge of x bound to the transcript. The key is
/// changed in place (the sections a contribution leaves alone are not copied).
fn apply(mut zkey: Zkey, rng: &mut ChaCha, source: Source, name: Option<String>) -> Result<Zkey> {
    let mut x = rng.fr();
    if x.is_zero() {
        return Err(inconsistent("a contribution of 0"));
    }
    let g1_s = rng.g1();
    let g1_sx = (g1_s * x).into_affine();
    let mut t = zkey.transcript_hasher();
    t.update(g1_u(&g1_s));
    t.update(g1_u(&g1_sx));
    let transcript: [u8; 64] = t.finalize().into();
    let g2_spx = (hash_to_g2(&transcript) * x).into_affine();
    zkey.delta1 = (zkey.delta1 * x).into_affine();
    zkey.delta2 = (zkey.delta2 * x).into_affine();
    let mut inv = x
        .inverse()
        .ok_or_else(|| inconsistent("a contribution of 0"))?;
    [zkey.l, zkey.h] = scalar_mul::scale_all::<g1::Config, 2>([&zkey.l, &zkey.h], &inv);
    x.zeroize();
    inv.zeroize();
    let mut out = zkey;
    out.contributions.push(Contribution {
        delta_after: out.delta1,
        g1_s,
        g1_sx,
        g2_spx,
        transcript,
        source,
        name,
    });
    Ok(out)
}

/// A contribution with secret randomness: 64 bytes from the operating system's RNG, mixed
/// (BLAKE2b-512) with the typed `entropy`, as `snarkjs zkey contribute` does. Returns the new
/// key and the contribution hash to publish.
pub fn contribute(zkey: &Zkey, entropy: &str, name: Option<String>) -> Result<(Zkey, [u8; 64])> {
    contribute_owned(zkey.clone(), entropy, name)
}

/// [`contribute`] taking the key: what a contributor's tool runs (read, contribute, write),
/// without a copy of the key's sections.
pub fn contribute_owned(
    zkey: Zkey,
    entropy: &str,
    name: Option<String>,
) -> Result<(Zkey, [u8; 64])> {
    let mut os = [0u8; 64];
    rand::rngs::OsRng.fill_bytes(&mut os);
    let mut h = Blake2b512::new();
    h.update(os);
    h.update(entropy.as_bytes());
    let mut seed: [u8; 64] = h.finalize().into();
    os.zeroize();
    let mut rng = ChaCha::from_hash(&seed);
    seed.zeroize();
    let out = apply(zkey, &mut rng, Source::Secret, name)?;
    let hash = out
        .contributions
        .last()
        .map(Contribution::hash)
        .unwrap_or([0; 64]);
    Ok((out, hash))
}

/// The final contribution from a public random beacon (for example a future block hash):
/// `value` iterated through SHA-256 2^`exp` times keys the randomness, so anyone can recompute
/// it. Returns the new key and the contribution hash.
pub fn beacon(
    zkey: &Zkey,
    value: &[u8],
    exp: u32,
    name: Option<String>,
) -> Result<(Zkey, [u8; 64])> {
    if value.is_empty() || value.len() > 255 {
        return Err(inconsistent("a beacon value is 1 to 255 bytes"));
    }
    if !BEACON_EXP.contains(&exp) {
        return Err(inconsistent(format!(
            "beacon iterations 2^{exp}: between 2^10 and 2^63"
        )));
    }
    let mut rng = beacon_rng(value, exp);
    let out = apply(
        zkey.clone(),
        &mut rng,
        Source::Beacon {
            value: value.to_vec(),
            exp: exp as u8,
        },
        name,
    )?;
    let hash = out
        .contributions
        .last()
        .map(Contribution::hash)
        .unwrap_or([0; 64]);
    Ok((out, hash))
}

/// One verified contribution.
#[derive(Clone, Debug)]
pub struct Verified {
    /// Its hash (what its contributor published).
    pub hash: [u8; 64],
    /// Its name, if any.
    pub name: Option<String>,
    /// Secret or beacon.
    pub source: Source,
}

/// What [`verify`] found.
#[derive(Clone, Debug)]
pub struct Report {
    /// The circuit hash.
    pub cs_hash: [u8; 64],
    /// Every contribution, oldest first.
    pub contributions: Vec<Verified>,
    /// BLAKE2b-512 of the circuit hash and every contribution's public key.
    pub transcript_hash: [u8; 64],
}

/// Checks `zkey` as a phase-2 verifier: `r1cs` and the powers of tau give its initial key
/// (everything but δ, L and H identical; the A, B1 and B2 sections by a random linear
/// combination, see [`check_section`]), every contribution's proof of knowledge holds and
/// moves δ, beacons are recomputed, and L and H are the initial ones divided by the final δ.
pub fn verify(r1cs: &R1cs, ptau: &Ptau, zkey: &Zkey) -> Result<Report> {
    let init = initial_key(r1cs, ptau, Some(zkey))?;
    verify_from_init(&init, zkey)
}

/// [`verify`] against an initial key already computed.
pub fn verify_from_init(init: &Zkey, zkey: &Zkey) -> Result<Report> {
    if !init.contributions.is_empty()
        || init.delta1 != G1Affine::generator()
        || init.delta2 != G2Affine::generator()
    {
        return Err(inconsistent(
            "the key to verify against is not an initial key (it has contributions)",
        ));
    }
    if (zkey.n_vars, zkey.n_public, zkey.domain_size)
        != (init.n_vars, init.n_public, init.domain_size)
    {
        return Err(inconsistent(format!(
            "the key is for another circuit: {} variables, {} public inputs, domain {} (the \
             circuit has {}, {}, {})",
            zkey.n_vars,
            zkey.n_public,
            zkey.domain_size,
            init.n_vars,
            init.n_public,
            init.domain_size
        )));
    }
    if zkey.cs_hash != init.cs_hash {
        return Err(inconsistent(
            "circuit hash differs from the circuit's and the powers of tau's",
        ));
    }
    for (same, what) in [
        (zkey.alpha1 == init.alpha1, "α·G1"),
        (zkey.beta1 == init.beta1, "β·G1"),
        (zkey.beta2 == init.beta2, "β·G2"),
        (zkey.gamma2 == init.gamma2, "γ·G2"),
        (zkey.ic == init.ic, "the IC section"),
        (zkey.coefs == init.coefs, "the coefficients section"),
        (zkey.a == init.a, "the A section"),
        (zkey.b1 == init.b1, "the B1 section"),
        (zkey.b2 == init.b2, "the B2 section"),
    ] {
        if !same {
            return Err(inconsistent(format!(
                "{what} differs from the one the circuit and the powers of tau give"
            )));
        }
    }
    // the chain of contributions
    let mut acc = Blake2b512::new();
    acc.update(zkey.cs_hash);
    let mut cur = G1Affine::generator();
    let mut verified = Vec::new();
    let mut beacons = Vec::new();
    for (i, c) in zkey.contributions.iter().enumerate() {
        let n = i + 1;
        let mut ours = acc.clone();
        ours.update(g1_u(&c.g1_s));
        ours.update(g1_u(&c.g1_sx));
        if ours.finalize().as_slice() != c.transcript.as_slice() {
            return Err(inconsistent(format!(
                "contribution #{n}: its transcript does not follow the ones before it"
            )));
        }
        let g2_sp = hash_to_g2(&c.transcript);
        if !same_ratio(c.g1_s, c.g1_sx, g2_sp, c.g2_spx) {
            return Err(inconsistent(format!(
                "contribution #{n}: its proof of knowledge does not hold (G1 and G2 public keys \
                 differ)"
            )));
        }
        if !same_ratio(cur, c.delta_after, g2_sp, c.g2_spx) {
            return Err(inconsistent(format!(
                "contribution #{n}: δ after it does not follow from δ before it and its key"
            )));
        }
        if let Source::Beacon { value, exp } = &c.source {
            // recomputed last: 2^exp hashes are the slowest check
            beacons.push((n, value.clone(), u32::from(*exp), c.g1_s, c.g1_sx));
        }
        c.hash_pub_key(&mut acc);
        verified.push(Verified {
            hash: c.hash(),
            name: c.name.clone(),
            source: c.source.clone(),
        });
        cur = c.delta_after;
    }
    if zkey.delta1 != cur {
        return Err(inconsistent("δ·G1 is not the last contribution's δ"));
    }
    if !same_ratio(
        G1Affine::generator(),
        zkey.delta1,
        G2Affine::generator(),
        zkey.delta2,
    ) {
        return Err(inconsistent("δ·G1 and δ·G2 hold different δ"));
    }
    // L and H: the initial ones divided by δ (random linear combinations)
    for (initial, last, what) in [(&init.l, &zkey.l, "L"), (&init.h, &zkey.h, "H")] {
        if initial.len() != last.len() {
            return Err(inconsistent(format!(
                "the {what} section has the wrong size"
            )));
        }
        if initial.is_empty() {
            continue;
        }
        let r = randoms(initial.len());
        let r1 = G1Projective::msm_unchecked(initial, &r).into_affine();
        let r2 = G1Projective::msm_unchecked(last, &r).into_affine();
        if !same_ratio(r1, r2, zkey.delta2, init.delta2) {
            return Err(inconsistent(format!(
                "the {what} section is not the circuit's divided by δ"
            )));
        }
    }
    for (n, value, exp, g1_s, g1_sx) in beacons {
        if value.is_empty() || !BEACON_EXP.contains(&exp) {
            return Err(inconsistent(format!(
                "contribution #{n}: beacon parameters out of range"
            )));
        }
        let mut rng = beacon_rng(&value, exp);
        let x = rng.fr();
        let s = rng.g1();
        if s != g1_s || (s * x).into_affine() != g1_sx {
            return Err(inconsistent(format!(
                "contribution #{n}: the beacon's key is not the one its value gives"
            )));
        }
    }
    Ok(Report {
        cs_hash: zkey.cs_hash,
        contributions: verified,
        transcript_hash: acc.finalize().into(),
    })
}

/// The proving key (with its verifying key) of a `.zkey`, for the circom reduction
/// (`zkpay_prover::qap::CircomReduction`). Verify the key first.
pub fn proving_key(zkey: &Zkey) -> ProvingKey<Bn254> {
    ProvingKey {
        vk: VerifyingKey {
            alpha_g1: zkey.alpha1,
            beta_g2: zkey.beta2,
            gamma_g2: zkey.gamma2,
            delta_g2: zkey.delta2,
            gamma_abc_g1: zkey.ic.clone(),
        },
        beta_g1: zkey.beta1,
        delta_g1: zkey.delta1,
        a_query: zkey.a.clone(),
        b_g1_query: zkey.b1.clone(),
        b_g2_query: zkey.b2.clone(),
        h_query: zkey.h.clone(),
        l_query: zkey.l.clone(),
    }
}
