//! Phase 1 import: powers of tau in snarkjs's `.ptau` format (BN254), read as a stream and
//! checked as a phase-1 verifier checks them.
//!
//! The format (snarkjs `powersoftau_new.js`, `@iden3/binfileutils`): the magic `ptau`, a
//! version (u32 LE, 1) and a section count (u32 LE); then sections, each a type (u32 LE), a
//! byte size (u64 LE) and its data. Section 1, the header: `n8` (u32, 32 for BN254), the base
//! field modulus q (`n8` bytes LE), the power (u32) and the ceremony power (u32). Points are
//! affine, each coordinate `n8` bytes little-endian in Montgomery form (R = 2^256), an Fq2
//! coordinate as c0 then c1; all zeros is the point at infinity.
//!
//! | section | contents | points |
//! |---|---|---|
//! | 2 | τ^i·G1 | 2·2^power − 1 |
//! | 3 | τ^i·G2 | 2^power |
//! | 4 | α·τ^i·G1 | 2^power |
//! | 5 | β·τ^i·G1 | 2^power |
//! | 6 | β·G2 | 1 |
//! | 7 | contributions (count, then records) | |
//! | 12–15 | Lagrange bases of every domain up to 2^power (after `prepare phase2`); 12 also 2^(power+1) | 2^(power+2) − 1, then 2^(power+1) − 1 |
//!
//! [`Ptau::open`] checks the structure (magic, version, every section present once, each of the
//! exact size its power implies, no trailing bytes), the curve (q is BN254's) and that the file
//! had at least one contribution. [`Ptau::verify_powers`] then reads every point (canonical
//! coordinates, on the curve, in the prime-order subgroup) and checks with random linear
//! combinations and four pairing products that sections 2–6 are powers of one τ with one α and
//! one β: e(Σ rᵢ·τⁱG1, τG2) = e(Σ rᵢ·τⁱ⁺¹G1, G2), the same for α·τⁱ and β·τⁱ, e(τG1, Σ rᵢ·τⁱG2)
//! = e(G1, Σ rᵢ·τⁱ⁺¹G2), and e(βG1, G2) = e(G1, βG2). It streams: memory holds one chunk of
//! points, whatever the power.

use crate::{CeremonyError, Result};
use ark_bn254::{Bn254, Fq, Fq2, Fr, G1Affine, G1Projective, G2Affine, G2Projective};
use ark_ec::pairing::Pairing;
use ark_ec::{AffineRepr, CurveGroup};
use ark_ff::{BigInt, PrimeField, Zero};
use rand::{RngCore, SeedableRng};
use rand_chacha::ChaCha20Rng;
use rayon::prelude::*;
use std::fs::File;
use std::io::{BufReader, Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};

/// Largest power a `.ptau` file may declare (the public ceremonies stop at 2^28).
pub const MAX_POWER: u32 = 28;

/// Points decoded and combined at a time.
const CHUNK: usize = 1 << 16;

/// Bytes of a G1 point in the file.
pub(crate) const G1_BYTES: usize = 64;
/// Bytes of a G2 point in the file.
pub(crate) const G2_BYTES: usize = 128;

/// Section ids.
mod section {
    pub const HEADER: u32 = 1;
    pub const TAU_G1: u32 = 2;
    pub const TAU_G2: u32 = 3;
    pub const ALPHA_TAU_G1: u32 = 4;
    pub const BETA_TAU_G1: u32 = 5;
    pub const BETA_G2: u32 = 6;
    pub const CONTRIBUTIONS: u32 = 7;
    pub const LAGRANGE: [u32; 4] = [12, 13, 14, 15];
}

/// Where a section's data lies in the file.
#[derive(Clone, Copy, Debug)]
struct Section {
    offset: u64,
    size: u64,
}

/// An opened, structurally checked `.ptau` file.
#[derive(Debug)]
pub struct Ptau {
    path: PathBuf,
    /// 2^power is the largest circuit domain the file serves.
    pub power: u32,
    /// The power the ceremony was run at (the file may be truncated from it).
    pub ceremony_power: u32,
    /// Contributions recorded in the file.
    pub contributions: u32,
    /// Whether the Lagrange-basis sections of `snarkjs powersoftau prepare phase2` are present.
    pub prepared: bool,
    sections: [Option<Section>; 16],
}

fn malformed(why: impl Into<String>) -> CeremonyError {
    CeremonyError::Malformed {
        what: "ptau file",
        why: why.into(),
    }
}

fn u32_le(r: &mut impl Read) -> Result<u32> {
    let mut b = [0u8; 4];
    r.read_exact(&mut b)
        .map_err(|_| malformed("truncated (reading a u32)"))?;
    Ok(u32::from_le_bytes(b))
}

fn u64_le(r: &mut impl Read) -> Result<u64> {
    let mut b = [0u8; 8];
    r.read_exact(&mut b)
        .map_err(|_| malformed("truncated (reading a u64)"))?;
    Ok(u64::from_le_bytes(b))
}

/// BN254's base field modulus as 32 little-endian bytes.
pub(crate) fn bn254_q_le() -> [u8; 32] {
    let mut out = [0u8; 32];
    for (i, limb) in Fq::MODULUS.0.iter().enumerate() {
        out[8 * i..8 * i + 8].copy_from_slice(&limb.to_le_bytes());
    }
    out
}

/// A base-field element from 32 bytes little-endian Montgomery form, canonical only.
pub(crate) fn fq_mont(b: &[u8]) -> Result<Fq> {
    let mut limbs = [0u64; 4];
    for (i, l) in limbs.iter_mut().enumerate() {
        let mut w = [0u8; 8];
        w.copy_from_slice(&b[8 * i..8 * i + 8]);
        *l = u64::from_le_bytes(w);
    }
    let v = BigInt::new(limbs);
    if v >= Fq::MODULUS {
        return Err(malformed("a coordinate is not below q"));
    }
    Ok(Fq::new_unchecked(v))
}

pub(crate) fn g1_at(b: &[u8]) -> Result<G1Affine> {
    if b.iter().all(|&x| x == 0) {
        return Ok(G1Affine::zero());
    }
    let p = G1Affine::new_unchecked(fq_mont(&b[..32])?, fq_mont(&b[32..64])?);
    // G1 of BN254 has cofactor 1: on the curve is in the group
    if !p.is_on_curve() {
        return Err(malformed("a G1 point is not on the curve"));
    }
    Ok(p)
}

pub(crate) fn g2_at(b: &[u8]) -> Result<G2Affine> {
    g2_at_checked(b, true)
}

/// [`g2_at`], the subgroup check (a scalar multiplication) only when `subgroup` is set: a
/// point read without it is canonical and on the curve, and must not reach a computation
/// before it is checked.
pub(crate) fn g2_at_checked(b: &[u8], subgroup: bool) -> Result<G2Affine> {
    if b.iter().all(|&x| x == 0) {
        return Ok(G2Affine::zero());
    }
    let x = Fq2::new(fq_mont(&b[..32])?, fq_mont(&b[32..64])?);
    let y = Fq2::new(fq_mont(&b[64..96])?, fq_mont(&b[96..128])?);
    let p = G2Affine::new_unchecked(x, y);
    if !p.is_on_curve() {
        return Err(malformed("a G2 point is not on the curve"));
    }
    if subgroup && !p.is_in_correct_subgroup_assuming_on_curve() {
        return Err(malformed("a G2 point is not in the prime-order subgroup"));
    }
    Ok(p)
}

/// Σ rᵢ·Pᵢ and Σ rᵢ·Pᵢ₊₁ over consecutive points, fed chunk by chunk: the random combinations
/// that compare a sequence with itself shifted by one.
struct ShiftedSums<G: CurveGroup> {
    rng: ChaCha20Rng,
    /// pairs still to take (points − 1)
    pairs_left: u64,
    /// r of the previous point's pair, which the current point closes
    prev_r: Option<Fr>,
    left: G,
    right: G,
}

impl<G: CurveGroup<ScalarField = Fr>> ShiftedSums<G> {
    fn new(points: u64, seed: [u8; 32]) -> Self {
        Self {
            rng: ChaCha20Rng::from_seed(seed),
            pairs_left: points.saturating_sub(1),
            prev_r: None,
            left: G::zero(),
            right: G::zero(),
        }
    }

    fn feed(&mut self, chunk: &[G::Affine]) {
        let mut l = Vec::with_capacity(chunk.len());
        let mut r = Vec::with_capacity(chunk.len());
        for _ in chunk {
            r.push(self.prev_r.take().unwrap_or_else(Fr::zero));
            if self.pairs_left > 0 {
                self.pairs_left -= 1;
                // 128-bit coefficients: a forged set passes with probability about 2^-128
                let c = Fr::from(
                    u128::from(self.rng.next_u64()) << 64 | u128::from(self.rng.next_u64()),
                );
                l.push(c);
                self.prev_r = Some(c);
            } else {
                l.push(Fr::zero());
            }
        }
        self.left += G::msm_unchecked(chunk, &l);
        self.right += G::msm_unchecked(chunk, &r);
    }
}

impl Ptau {
    /// Opens `path` and checks its structure, curve and contributions.
    pub fn open(path: &Path) -> Result<Self> {
        let mut f = BufReader::new(File::open(path)?);
        let len = f.get_ref().metadata()?.len();
        let mut magic = [0u8; 4];
        f.read_exact(&mut magic)
            .map_err(|_| malformed("truncated before the magic"))?;
        if &magic != b"ptau" {
            return Err(malformed("no ptau magic (not a powers-of-tau file)"));
        }
        let version = u32_le(&mut f)?;
        if version != 1 {
            return Err(malformed(format!("version {version}, expected 1")));
        }
        let n_sections = u32_le(&mut f)?;
        if n_sections > 64 {
            return Err(malformed(format!("{n_sections} sections")));
        }
        let mut sections: [Option<Section>; 16] = [None; 16];
        let mut pos = 12u64;
        for _ in 0..n_sections {
            let kind = u32_le(&mut f)?;
            let size = u64_le(&mut f)?;
            let offset = pos + 12;
            let end = offset
                .checked_add(size)
                .filter(|&e| e <= len)
                .ok_or_else(|| malformed(format!("section {kind} runs past the end: truncated")))?;
            let known = (section::HEADER..=section::CONTRIBUTIONS).contains(&kind)
                || section::LAGRANGE.contains(&kind);
            let slot = sections
                .get_mut(kind as usize)
                .filter(|_| known)
                .ok_or_else(|| malformed(format!("unknown section {kind}")))?;
            if slot.is_some() {
                return Err(malformed(format!("section {kind} appears twice")));
            }
            *slot = Some(Section { offset, size });
            f.seek(SeekFrom::Start(end))?;
            pos = end;
        }
        if pos != len {
            return Err(malformed(format!(
                "{} bytes after the last section",
                len - pos
            )));
        }
        let need = |kind: u32| {
            sections[kind as usize].ok_or_else(|| malformed(format!("section {kind} is missing")))
        };
        // header
        let h = need(section::HEADER)?;
        f.seek(SeekFrom::Start(h.offset))?;
        let n8 = u32_le(&mut f)?;
        if n8 != 32 {
            let mut q = vec![0u8; (n8 as usize).min(128)];
            let _ = f.read_exact(&mut q);
            return Err(CeremonyError::WrongCurve(format!(
                "{n8}-byte field 0x{}",
                hex_be(&q)
            )));
        }
        let mut q = [0u8; 32];
        f.read_exact(&mut q)
            .map_err(|_| malformed("truncated header"))?;
        if q != bn254_q_le() {
            return Err(CeremonyError::WrongCurve(format!("0x{}", hex_be(&q))));
        }
        let power = u32_le(&mut f)?;
        let ceremony_power = u32_le(&mut f)?;
        if h.size != 4 + 32 + 4 + 4 {
            return Err(malformed(format!("header of {} bytes", h.size)));
        }
        if power == 0 || power > MAX_POWER || ceremony_power < power {
            return Err(malformed(format!(
                "power {power} (ceremony power {ceremony_power})"
            )));
        }
        let n = 1u64 << power;
        for (kind, points, bytes) in [
            (section::TAU_G1, 2 * n - 1, G1_BYTES),
            (section::TAU_G2, n, G2_BYTES),
            (section::ALPHA_TAU_G1, n, G1_BYTES),
            (section::BETA_TAU_G1, n, G1_BYTES),
            (section::BETA_G2, 1, G2_BYTES),
        ] {
            let s = need(kind)?;
            if s.size != points * bytes as u64 {
                return Err(malformed(format!(
                    "section {kind} has {} bytes, 2^{power} powers need {}",
                    s.size,
                    points * bytes as u64
                )));
            }
        }
        let prepared = section::LAGRANGE
            .iter()
            .all(|k| sections[*k as usize].is_some());
        if prepared {
            // the bases of every domain 2^0 ... 2^power, one after the other (2^(power+1) − 1
            // points), and for τ^i·G1 also the domain 2^(power+1)
            for (kind, bytes, points) in [
                (12, G1_BYTES, 4 * n - 1),
                (13, G2_BYTES, 2 * n - 1),
                (14, G1_BYTES, 2 * n - 1),
                (15, G1_BYTES, 2 * n - 1),
            ] {
                let s = need(kind)?;
                if s.size != points * bytes as u64 {
                    return Err(malformed(format!(
                        "Lagrange section {kind} has {} bytes",
                        s.size
                    )));
                }
            }
        } else if section::LAGRANGE
            .iter()
            .any(|k| sections[*k as usize].is_some())
        {
            return Err(malformed("only some of the Lagrange sections are present"));
        }
        let c = need(section::CONTRIBUTIONS)?;
        f.seek(SeekFrom::Start(c.offset))?;
        let contributions = u32_le(&mut f)?;
        if contributions == 0 {
            return Err(CeremonyError::Inconsistent(
                "no contribution: τ, α and β are 1, public to everyone".into(),
            ));
        }
        Ok(Self {
            path: path.to_path_buf(),
            power,
            ceremony_power,
            contributions,
            prepared,
            sections,
        })
    }

    /// Refuses a file too small for a circuit whose evaluation domain is 2^`need`.
    pub fn check_power(&self, need: u32) -> Result<()> {
        if self.power < need {
            return Err(CeremonyError::TooSmall {
                have: self.power,
                need,
            });
        }
        Ok(())
    }

    fn section(&self, kind: u32) -> Result<Section> {
        self.sections[kind as usize].ok_or_else(|| malformed(format!("section {kind} is missing")))
    }

    /// Reads a section's first `limit` points (all of them if fewer) chunk by chunk into `each`.
    fn stream<P: Send>(
        &self,
        kind: u32,
        bytes: usize,
        limit: u64,
        decode: fn(&[u8]) -> Result<P>,
        mut each: impl FnMut(&[P]) -> Result<()>,
    ) -> Result<()> {
        let s = self.section(kind)?;
        let mut f = BufReader::with_capacity(1 << 20, File::open(&self.path)?);
        f.seek(SeekFrom::Start(s.offset))?;
        let total = (s.size / bytes as u64).min(limit) as usize;
        let mut buf = vec![0u8; CHUNK * bytes];
        let mut done = 0;
        while done < total {
            let k = (total - done).min(CHUNK);
            f.read_exact(&mut buf[..k * bytes])
                .map_err(|_| malformed(format!("section {kind} is truncated")))?;
            // decoding checks every point (a G2 subgroup check is a scalar multiplication):
            // spread over the cores
            let points = buf[..k * bytes]
                .par_chunks_exact(bytes)
                .map(decode)
                .collect::<Result<Vec<P>>>()?;
            each(&points)?;
            done += k;
        }
        Ok(())
    }

    fn first<P: Copy>(
        &self,
        kind: u32,
        bytes: usize,
        decode: fn(&[u8]) -> Result<P>,
        n: usize,
    ) -> Result<Vec<P>> {
        let s = self.section(kind)?;
        let mut f = File::open(&self.path)?;
        f.seek(SeekFrom::Start(s.offset))?;
        let mut buf = vec![0u8; n * bytes];
        f.read_exact(&mut buf)
            .map_err(|_| malformed(format!("section {kind} is truncated")))?;
        buf.chunks_exact(bytes).map(decode).collect()
    }

    /// Raw bytes of `count` points of `bytes` each from point `start` of section `kind`.
    pub(crate) fn raw(&self, kind: u32, bytes: usize, start: u64, count: usize) -> Result<Vec<u8>> {
        let s = self.section(kind)?;
        let end = (start + count as u64) * bytes as u64;
        if end > s.size {
            return Err(malformed(format!(
                "section {kind} has no points {start}..{}",
                start + count as u64
            )));
        }
        let mut f = File::open(&self.path)?;
        f.seek(SeekFrom::Start(s.offset + start * bytes as u64))?;
        let mut buf = vec![0u8; count * bytes];
        f.read_exact(&mut buf)
            .map_err(|_| malformed(format!("section {kind} is truncated")))?;
        Ok(buf)
    }

    /// `count` G1 points from point `start` of section `kind`, each checked.
    pub(crate) fn g1_range(&self, kind: u32, start: u64, count: usize) -> Result<Vec<G1Affine>> {
        self.raw(kind, G1_BYTES, start, count)?
            .par_chunks_exact(G1_BYTES)
            .map(g1_at)
            .collect()
    }

    /// `count` G2 points from point `start` of section `kind`, each checked (subgroup included).
    pub(crate) fn g2_range(&self, kind: u32, start: u64, count: usize) -> Result<Vec<G2Affine>> {
        self.raw(kind, G2_BYTES, start, count)?
            .par_chunks_exact(G2_BYTES)
            .map(g2_at)
            .collect()
    }

    /// `count` G2 points from point `start` of section `kind`, canonical and on the curve but
    /// not checked to be in the prime-order subgroup: only for points whose every use compares
    /// them with subgroup-checked ones (such a comparison checks only their subgroup parts).
    pub(crate) fn g2_range_on_curve(
        &self,
        kind: u32,
        start: u64,
        count: usize,
    ) -> Result<Vec<G2Affine>> {
        self.raw(kind, G2_BYTES, start, count)?
            .par_chunks_exact(G2_BYTES)
            .map(|b| g2_at_checked(b, false))
            .collect()
    }

    /// Reads every point of sections 2–6 and checks that they are powers of one τ with one α
    /// and one β (random linear combinations, 128-bit coefficients from the OS's randomness).
    pub fn verify_powers(&self) -> Result<()> {
        self.verify_powers_with_seed(random_seed(), None)
    }

    /// [`Ptau::verify_powers`] on the powers a circuit whose domain is 2^`power` is made from,
    /// and only those: τ^i·G1 for i < 2·2^`power` (circom's H query reads the domain twice
    /// the size), τ^i·G2, α·τ^i·G1 and β·τ^i·G1 for i < 2^`power`, and β·G2. The keys
    /// `phase2` makes read no other point of the file, so the check of the others, which a
    /// circuit much smaller than the file would pay for in full, decides nothing about them.
    /// Refuses a file smaller than the circuit (as [`Ptau::check_power`]).
    pub fn verify_powers_for(&self, power: u32) -> Result<()> {
        self.check_power(power)?;
        self.verify_powers_with_seed(random_seed(), Some(power))
    }

    /// As [`Ptau::verify_powers`] with the coefficients drawn from `seed`, on every power
    /// (`None`) or on those of a circuit of domain 2^`power` ([`Ptau::verify_powers_for`]).
    pub fn verify_powers_with_seed(&self, seed: [u8; 32], power: Option<u32>) -> Result<()> {
        let g1 = G1Affine::generator();
        let g2 = G2Affine::generator();
        let tau_g1 = self.first(section::TAU_G1, G1_BYTES, g1_at, 2)?;
        let tau_g2 = self.first(section::TAU_G2, G2_BYTES, g2_at, 2)?;
        if tau_g1[0] != g1 {
            return Err(CeremonyError::Inconsistent(
                "τ^0·G1 is not the generator".into(),
            ));
        }
        if tau_g2[0] != g2 {
            return Err(CeremonyError::Inconsistent(
                "τ^0·G2 is not the generator".into(),
            ));
        }
        let (tg1, tg2) = (tau_g1[1], tau_g2[1]);
        if tg1.is_zero() || tg1 == g1 || tg2.is_zero() || tg2 == g2 {
            return Err(CeremonyError::Inconsistent("τ is 0 or 1".into()));
        }
        // points checked in each section: τ^i·G1 has 2n − 1 in a file of 2^power powers
        let n = 1u64 << power.unwrap_or(self.power).min(self.power);
        let n_tau = (2 * n).min((2u64 << self.power) - 1);
        let sub_seed = |tag: u8| {
            let mut s = seed;
            s[0] ^= tag;
            s
        };
        // τ^i·G1
        let mut tau = ShiftedSums::<G1Projective>::new(n_tau, sub_seed(1));
        self.stream(section::TAU_G1, G1_BYTES, n_tau, g1_at, |c| {
            tau.feed(c);
            Ok(())
        })?;
        // α·τ^i·G1 and β·τ^i·G1, remembering α·G1 and β·G1
        let mut alpha = ShiftedSums::<G1Projective>::new(n, sub_seed(2));
        let mut alpha_g1 = None;
        self.stream(section::ALPHA_TAU_G1, G1_BYTES, n, g1_at, |c| {
            alpha_g1.get_or_insert(c[0]);
            alpha.feed(c);
            Ok(())
        })?;
        let mut beta = ShiftedSums::<G1Projective>::new(n, sub_seed(3));
        let mut beta_g1 = None;
        self.stream(section::BETA_TAU_G1, G1_BYTES, n, g1_at, |c| {
            beta_g1.get_or_insert(c[0]);
            beta.feed(c);
            Ok(())
        })?;
        // τ^i·G2
        let mut tau2 = ShiftedSums::<G2Projective>::new(n, sub_seed(4));
        self.stream(section::TAU_G2, G2_BYTES, n, g2_at, |c| {
            tau2.feed(c);
            Ok(())
        })?;
        let beta_g2 = self.first(section::BETA_G2, G2_BYTES, g2_at, 1)?[0];
        let (alpha_g1, beta_g1) = (
            alpha_g1.unwrap_or_else(G1Affine::zero),
            beta_g1.unwrap_or_else(G1Affine::zero),
        );
        if alpha_g1.is_zero() || beta_g1.is_zero() || beta_g2.is_zero() {
            return Err(CeremonyError::Inconsistent("α or β is 0".into()));
        }
        // e(L, τG2) = e(R, G2)  ⇔  e(L, τG2)·e(−R, G2) = 1
        let same_ratio_g1 = |s: &ShiftedSums<G1Projective>, what: &str| -> Result<()> {
            let ok =
                Bn254::multi_pairing([s.left.into_affine(), (-s.right).into_affine()], [tg2, g2])
                    .is_zero();
            ok.then_some(()).ok_or_else(|| {
                CeremonyError::Inconsistent(format!("{what} are not successive powers of τ"))
            })
        };
        same_ratio_g1(&tau, "τ^i·G1")?;
        same_ratio_g1(&alpha, "α·τ^i·G1")?;
        same_ratio_g1(&beta, "β·τ^i·G1")?;
        let ok = Bn254::multi_pairing(
            [tg1, (-g1.into_group()).into_affine()],
            [tau2.left.into_affine(), tau2.right.into_affine()],
        )
        .is_zero();
        if !ok {
            return Err(CeremonyError::Inconsistent(
                "τ^i·G2 are not successive powers of τ".into(),
            ));
        }
        let ok = Bn254::multi_pairing([beta_g1, (-g1.into_group()).into_affine()], [g2, beta_g2])
            .is_zero();
        if !ok {
            return Err(CeremonyError::Inconsistent(
                "β·G1 and β·G2 hold different β".into(),
            ));
        }
        Ok(())
    }
}

/// 32 bytes from the operating system's randomness: the seed of a check's coefficients.
fn random_seed() -> [u8; 32] {
    let mut seed = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut seed);
    seed
}

fn hex_be(le: &[u8]) -> String {
    le.iter().rev().map(|b| format!("{b:02x}")).collect()
}
