//! snarkjs's Groth16 `.zkey` format: the file a phase-2 ceremony passes from contributor to
//! contributor, read strictly and written byte for byte as snarkjs writes it.
//!
//! A binary file (`zkey` magic, version 1, ten sections; see `ptau` for the container). Points
//! are affine, coordinates 32 bytes little-endian in Montgomery form, Fq2 as c0 then c1, all
//! zeros the point at infinity.
//!
//! | section | contents |
//! |---|---|
//! | 1 | prover type (u32, 1 = Groth16) |
//! | 2 | n8q, q, n8r, r, variables, public inputs, domain size (u32s and LE integers), α·G1, β·G1, β·G2, γ·G2, δ·G1, δ·G2 |
//! | 3 | IC: (β·A_i + α·B_i + C_i)(τ)·G1 for the public wires (γ = 1) |
//! | 4 | the A and B coefficients: count u32, then (matrix, constraint, wire) u32s and the value·R² mod r, LE |
//! | 5, 6, 7 | A_i(τ)·G1, B_i(τ)·G1, B_i(τ)·G2 for every wire |
//! | 8 | L: (β·A_i + α·B_i + C_i)(τ)/δ·G1 for the private wires |
//! | 9 | H: L^{2n}_{2i+1}(τ)/δ·G1, i < n (the circom reduction, `zkpay_prover::qap`) |
//! | 10 | the circuit hash (BLAKE2b-512) and the contributions |
//!
//! A contribution: δ·G1 after it, its public key g1_s, g1_sx = x·g1_s (G1), g2_spx = x·g2_sp
//! (G2, with g2_sp = `hashToG2(transcript)`), the transcript (BLAKE2b-512 of the circuit hash,
//! every earlier contribution's public key and its own g1_s, g1_sx), a type (u32: 0 a
//! contribution, 1 a beacon) and parameters (length u32, then tagged fields in increasing tag
//! order: 1 name, 2 the beacon's iteration exponent, 3 the beacon value).

use crate::ptau::{bn254_q_le, g1_at, g2_at, g2_at_checked, G1_BYTES, G2_BYTES};
use crate::snarkrng::fq_be;
use crate::{CeremonyError, Result};
use ark_bn254::{Fq, Fr, G1Affine, G2Affine};
use ark_ec::AffineRepr;
use ark_ff::{BigInt, BigInteger, Field, PrimeField};
use blake2::{Blake2b512, Digest};
use rayon::prelude::*;

fn malformed(why: impl Into<String>) -> CeremonyError {
    CeremonyError::Malformed {
        what: "zkey file",
        why: why.into(),
    }
}

/// Largest name a contribution may carry (snarkjs truncates to 64 characters).
pub const MAX_NAME: usize = 64;

/// What kind of contribution.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Source {
    /// Secret randomness (type 0).
    Secret,
    /// A public random beacon (type 1): its value and the exponent of its SHA-256 iterations.
    Beacon {
        /// The beacon value.
        value: Vec<u8>,
        /// 2^exp SHA-256 iterations.
        exp: u8,
    },
}

/// One phase-2 contribution.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Contribution {
    /// δ·G1 after this contribution.
    pub delta_after: G1Affine,
    /// Public key: a random G1 point.
    pub g1_s: G1Affine,
    /// x·g1_s.
    pub g1_sx: G1Affine,
    /// x·hashToG2(transcript).
    pub g2_spx: G2Affine,
    /// BLAKE2b-512 transcript.
    pub transcript: [u8; 64],
    /// Secret or beacon.
    pub source: Source,
    /// Optional name.
    pub name: Option<String>,
}

/// One coefficient of the A or B matrix.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Coef {
    /// 0 = A, 1 = B.
    pub matrix: u32,
    /// Constraint (row).
    pub constraint: u32,
    /// Wire.
    pub signal: u32,
    /// Value.
    pub value: Fr,
}

/// A Groth16 `.zkey`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Zkey {
    /// Wires, the constant one included.
    pub n_vars: u32,
    /// Public inputs.
    pub n_public: u32,
    /// Domain size (a power of two).
    pub domain_size: u32,
    /// α·G1.
    pub alpha1: G1Affine,
    /// β·G1.
    pub beta1: G1Affine,
    /// β·G2.
    pub beta2: G2Affine,
    /// γ·G2 (the generator).
    pub gamma2: G2Affine,
    /// δ·G1.
    pub delta1: G1Affine,
    /// δ·G2.
    pub delta2: G2Affine,
    /// IC points (n_public + 1).
    pub ic: Vec<G1Affine>,
    /// A and B coefficients.
    pub coefs: Vec<Coef>,
    /// A query.
    pub a: Vec<G1Affine>,
    /// B query in G1.
    pub b1: Vec<G1Affine>,
    /// B query in G2.
    pub b2: Vec<G2Affine>,
    /// L query (private wires).
    pub l: Vec<G1Affine>,
    /// H query.
    pub h: Vec<G1Affine>,
    /// Circuit hash.
    pub cs_hash: [u8; 64],
    /// Contributions, oldest first.
    pub contributions: Vec<Contribution>,
}

/// A G1 point in the file's encoding.
pub fn g1_lem(p: &G1Affine) -> [u8; 64] {
    let mut out = [0u8; 64];
    if let Some((x, y)) = p.xy() {
        out[..32].copy_from_slice(&mont_le(&x));
        out[32..].copy_from_slice(&mont_le(&y));
    }
    out
}

/// A G2 point in the file's encoding.
pub fn g2_lem(p: &G2Affine) -> [u8; 128] {
    let mut out = [0u8; 128];
    if let Some((x, y)) = p.xy() {
        out[..32].copy_from_slice(&mont_le(&x.c0));
        out[32..64].copy_from_slice(&mont_le(&x.c1));
        out[64..96].copy_from_slice(&mont_le(&y.c0));
        out[96..].copy_from_slice(&mont_le(&y.c1));
    }
    out
}

fn mont_le(x: &Fq) -> [u8; 32] {
    let mut out = [0u8; 32];
    for (i, l) in x.0 .0.iter().enumerate() {
        out[8 * i..8 * i + 8].copy_from_slice(&l.to_le_bytes());
    }
    out
}

/// A G1 point as snarkjs hashes it ("uncompressed": x and y big-endian, not Montgomery).
pub fn g1_u(p: &G1Affine) -> [u8; 64] {
    let mut out = [0u8; 64];
    if let Some((x, y)) = p.xy() {
        out[..32].copy_from_slice(&fq_be(&x));
        out[32..].copy_from_slice(&fq_be(&y));
    }
    out
}

/// A G2 point as snarkjs hashes it (x.c1, x.c0, y.c1, y.c0, big-endian).
pub fn g2_u(p: &G2Affine) -> [u8; 128] {
    let mut out = [0u8; 128];
    if let Some((x, y)) = p.xy() {
        out[..32].copy_from_slice(&fq_be(&x.c1));
        out[32..64].copy_from_slice(&fq_be(&x.c0));
        out[64..96].copy_from_slice(&fq_be(&y.c1));
        out[96..].copy_from_slice(&fq_be(&y.c0));
    }
    out
}

/// R² mod r as a field element: coefficients are stored as value·R² (snarkjs's `writeFr2`).
fn r2() -> Fr {
    let r = Fr::from(2u64).pow([256]);
    r * r
}

impl Contribution {
    /// Feeds the contribution's public key and transcript to `h` (snarkjs's `hashPubKey`).
    pub fn hash_pub_key(&self, h: &mut Blake2b512) {
        h.update(g1_u(&self.delta_after));
        h.update(g1_u(&self.g1_s));
        h.update(g1_u(&self.g1_sx));
        h.update(g2_u(&self.g2_spx));
        h.update(self.transcript);
    }

    /// The contribution hash a contributor publishes: BLAKE2b-512 of its public key.
    pub fn hash(&self) -> [u8; 64] {
        let mut h = Blake2b512::new();
        self.hash_pub_key(&mut h);
        h.finalize().into()
    }

    fn encode(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&g1_lem(&self.delta_after));
        out.extend_from_slice(&g1_lem(&self.g1_s));
        out.extend_from_slice(&g1_lem(&self.g1_sx));
        out.extend_from_slice(&g2_lem(&self.g2_spx));
        out.extend_from_slice(&self.transcript);
        let kind: u32 = match self.source {
            Source::Secret => 0,
            Source::Beacon { .. } => 1,
        };
        out.extend_from_slice(&kind.to_le_bytes());
        let mut params = Vec::new();
        if let Some(name) = self.name.as_deref().map(truncate_name) {
            if !name.is_empty() {
                let bytes = name.as_bytes();
                params.push(1);
                params.push(bytes.len().min(255) as u8);
                params.extend_from_slice(&bytes[..bytes.len().min(255)]);
            }
        }
        if let Source::Beacon { value, exp } = &self.source {
            params.push(2);
            params.push(*exp);
            params.push(3);
            params.push(value.len() as u8);
            params.extend_from_slice(value);
        }
        out.extend_from_slice(&(params.len() as u32).to_le_bytes());
        out.extend_from_slice(&params);
    }
}

/// A name as snarkjs keeps it: its first 64 UTF-16 code units (JavaScript's
/// `substring(0, 64)`), a surrogate pair cut in half becoming U+FFFD.
pub fn truncate_name(name: &str) -> String {
    let units: Vec<u16> = name.encode_utf16().take(MAX_NAME).collect();
    String::from_utf16_lossy(&units)
}

struct Reader<'a> {
    b: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8]> {
        let end = self
            .pos
            .checked_add(n)
            .filter(|&e| e <= self.b.len())
            .ok_or_else(|| malformed("truncated"))?;
        let s = &self.b[self.pos..end];
        self.pos = end;
        Ok(s)
    }
    fn u32(&mut self) -> Result<u32> {
        let mut w = [0u8; 4];
        w.copy_from_slice(self.take(4)?);
        Ok(u32::from_le_bytes(w))
    }
    fn u64(&mut self) -> Result<u64> {
        let mut w = [0u8; 8];
        w.copy_from_slice(self.take(8)?);
        Ok(u64::from_le_bytes(w))
    }
    fn g1(&mut self) -> Result<G1Affine> {
        g1_at(self.take(G1_BYTES)?).map_err(as_zkey)
    }
    fn g2(&mut self) -> Result<G2Affine> {
        g2_at(self.take(G2_BYTES)?).map_err(as_zkey)
    }
    fn done(&self, what: &str) -> Result<()> {
        if self.pos != self.b.len() {
            return Err(malformed(format!(
                "{} bytes left over in {what}",
                self.b.len() - self.pos
            )));
        }
        Ok(())
    }
}

fn as_zkey(e: CeremonyError) -> CeremonyError {
    match e {
        CeremonyError::Malformed { why, .. } => malformed(why),
        e => e,
    }
}

fn points_g1(b: &[u8], n: usize, what: &str) -> Result<Vec<G1Affine>> {
    if b.len() != n * G1_BYTES {
        return Err(malformed(format!(
            "{what} has {} bytes, {n} points need {}",
            b.len(),
            n * G1_BYTES
        )));
    }
    b.par_chunks_exact(G1_BYTES)
        .map(|c| g1_at(c).map_err(as_zkey))
        .collect()
}

fn points_g2(b: &[u8], n: usize, what: &str, subgroup: bool) -> Result<Vec<G2Affine>> {
    if b.len() != n * G2_BYTES {
        return Err(malformed(format!(
            "{what} has {} bytes, {n} points need {}",
            b.len(),
            n * G2_BYTES
        )));
    }
    b.par_chunks_exact(G2_BYTES)
        .map(|c| g2_at_checked(c, subgroup).map_err(as_zkey))
        .collect()
}

fn fr_le(b: &[u8]) -> Result<Fr> {
    let mut limbs = [0u64; 4];
    for (i, l) in limbs.iter_mut().enumerate() {
        let mut w = [0u8; 8];
        w.copy_from_slice(&b[8 * i..8 * i + 8]);
        *l = u64::from_le_bytes(w);
    }
    Fr::from_bigint(BigInt::new(limbs)).ok_or_else(|| malformed("a coefficient is not below r"))
}

fn section(out: &mut Vec<u8>, kind: u32, body: &[u8]) {
    section_with(out, kind, |o| o.extend_from_slice(body));
}

/// Appends section `kind` whose body `body` writes straight into `out` (its size is patched
/// into the section header afterwards).
fn section_with(out: &mut Vec<u8>, kind: u32, body: impl FnOnce(&mut Vec<u8>)) {
    out.extend_from_slice(&kind.to_le_bytes());
    let size_at = out.len();
    out.extend_from_slice(&0u64.to_le_bytes());
    body(out);
    let size = (out.len() - size_at - 8) as u64;
    out[size_at..size_at + 8].copy_from_slice(&size.to_le_bytes());
}

/// Bytes of a coefficient in section 4.
const COEF_BYTES: usize = 44;

/// Appends `enc` of every item, in order, encoded in parallel.
fn put_each<T: Sync, const N: usize>(
    out: &mut Vec<u8>,
    items: &[T],
    enc: impl Fn(&T) -> [u8; N] + Sync,
) {
    let start = out.len();
    out.resize(start + N * items.len(), 0);
    out[start..]
        .par_chunks_exact_mut(N)
        .zip(items.par_iter())
        .for_each(|(dst, item)| dst.copy_from_slice(&enc(item)));
}

fn fr_modulus_le() -> [u8; 32] {
    let mut out = [0u8; 32];
    out.copy_from_slice(&Fr::MODULUS.to_bytes_le());
    out
}

impl Zkey {
    /// Reads a `.zkey`: the container, a Groth16 header for BN254, every section of the size
    /// the header implies, every point canonical, on the curve and in its group.
    pub fn from_bytes(b: &[u8]) -> Result<Self> {
        Self::read(b, true)
    }

    /// [`Zkey::from_bytes`] for a contributor, who rewrites δ, L and H and copies the other
    /// sections unchanged: the B2 query's G2 points (section 7) are checked canonical and on
    /// the curve but not in the subgroup, a scalar multiplication each and most of the time
    /// a contribution takes. (BN254's G1 is the whole curve: its points need no such check.)
    /// Such a key must not be proved with; [`crate::phase2::verify`] (which checks every B2
    /// point to be in the subgroup and B2 to be the circuit's) is what accepts a ceremony.
    pub fn from_bytes_for_contribution(b: &[u8]) -> Result<Self> {
        Self::read(b, false)
    }

    fn read(b: &[u8], b2_subgroup: bool) -> Result<Self> {
        let mut r = Reader { b, pos: 0 };
        if r.take(4).map_err(|_| malformed("empty"))? != b"zkey" {
            return Err(malformed("no zkey magic (not a .zkey file)"));
        }
        let version = r.u32()?;
        if version != 1 {
            return Err(malformed(format!("version {version}, expected 1")));
        }
        let n = r.u32()?;
        if n != 10 {
            return Err(malformed(format!(
                "{n} sections; a Groth16 zkey has 10 (a PLONK or FFLONK key?)"
            )));
        }
        let mut sections: [Option<&[u8]>; 11] = [None; 11];
        for _ in 0..n {
            let kind = r.u32()?;
            let size = r.u64()?;
            let size = usize::try_from(size).map_err(|_| malformed("section too large"))?;
            let body = r
                .take(size)
                .map_err(|_| malformed(format!("section {kind} runs past the end: truncated")))?;
            let slot = sections
                .get_mut(kind as usize)
                .filter(|_| kind >= 1)
                .ok_or_else(|| malformed(format!("unknown section {kind}")))?;
            if slot.is_some() {
                return Err(malformed(format!("section {kind} appears twice")));
            }
            *slot = Some(body);
        }
        r.done("the file")?;
        let s = |k: usize| sections[k].ok_or_else(|| malformed(format!("section {k} is missing")));
        let mut h = Reader { b: s(1)?, pos: 0 };
        let protocol = h.u32()?;
        if protocol != 1 {
            return Err(malformed(format!(
                "prover type {protocol}, not Groth16 (1)"
            )));
        }
        h.done("section 1")?;
        let mut h = Reader { b: s(2)?, pos: 0 };
        if h.u32()? != 32 || h.take(32)? != bn254_q_le() {
            return Err(CeremonyError::WrongCurve("the zkey's base field".into()));
        }
        if h.u32()? != 32 || h.take(32)? != fr_modulus_le() {
            return Err(CeremonyError::WrongCurve("the zkey's scalar field".into()));
        }
        let n_vars = h.u32()?;
        let n_public = h.u32()?;
        let domain_size = h.u32()?;
        if !domain_size.is_power_of_two() || !(2..=1 << 28).contains(&domain_size) {
            return Err(malformed(format!("domain size {domain_size}")));
        }
        if n_public >= n_vars {
            return Err(malformed(format!(
                "{n_public} public inputs of {n_vars} variables"
            )));
        }
        let alpha1 = h.g1()?;
        let beta1 = h.g1()?;
        let beta2 = h.g2()?;
        let gamma2 = h.g2()?;
        let delta1 = h.g1()?;
        let delta2 = h.g2()?;
        h.done("section 2")?;
        let vars = n_vars as usize;
        let public = n_public as usize;
        let ic = points_g1(s(3)?, public + 1, "IC (section 3)")?;
        let mut c = Reader { b: s(4)?, pos: 0 };
        let count = c.u32()? as usize;
        if s(4)?.len() != 4 + count * 44 {
            return Err(malformed("section 4 (coefficients) has the wrong size"));
        }
        let mut coefs = Vec::with_capacity(count);
        let r2_inv = r2().inverse().unwrap_or_default();
        for _ in 0..count {
            let matrix = c.u32()?;
            let constraint = c.u32()?;
            let signal = c.u32()?;
            let stored = fr_le(c.take(32)?)?;
            if matrix > 1 || signal >= n_vars || constraint >= domain_size {
                return Err(malformed(format!(
                    "coefficient ({matrix}, {constraint}, {signal}) out of range"
                )));
            }
            let value = stored * r2_inv;
            coefs.push(Coef {
                matrix,
                constraint,
                signal,
                value,
            });
        }
        let a = points_g1(s(5)?, vars, "A (section 5)")?;
        let b1 = points_g1(s(6)?, vars, "B1 (section 6)")?;
        let b2 = points_g2(s(7)?, vars, "B2 (section 7)", b2_subgroup)?;
        let l = points_g1(s(8)?, vars - public - 1, "L (section 8)")?;
        let hq = points_g1(s(9)?, domain_size as usize, "H (section 9)")?;
        let mut m = Reader { b: s(10)?, pos: 0 };
        let mut cs_hash = [0u8; 64];
        cs_hash.copy_from_slice(m.take(64)?);
        let nc = m.u32()?;
        let mut contributions = Vec::new();
        for _ in 0..nc {
            contributions.push(read_contribution(&mut m)?);
        }
        m.done("section 10")?;
        Ok(Self {
            n_vars,
            n_public,
            domain_size,
            alpha1,
            beta1,
            beta2,
            gamma2,
            delta1,
            delta2,
            ic,
            coefs,
            a,
            b1,
            b2,
            l,
            h: hq,
            cs_hash,
            contributions,
        })
    }

    /// The coefficients section's bytes.
    pub fn coefs_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(4 + COEF_BYTES * self.coefs.len());
        self.put_coefs(&mut out);
        out
    }

    /// Appends the coefficients section's body (count, then each coefficient as snarkjs writes
    /// it: matrix, constraint, signal, value·R² as 32 little-endian bytes), encoded in parallel.
    fn put_coefs(&self, out: &mut Vec<u8>) {
        let r2 = r2();
        out.extend_from_slice(&(self.coefs.len() as u32).to_le_bytes());
        put_each(out, &self.coefs, |c| {
            let mut b = [0u8; COEF_BYTES];
            b[..4].copy_from_slice(&c.matrix.to_le_bytes());
            b[4..8].copy_from_slice(&c.constraint.to_le_bytes());
            b[8..12].copy_from_slice(&c.signal.to_le_bytes());
            b[12..].copy_from_slice(&(c.value * r2).into_bigint().to_bytes_le());
            b
        });
    }

    /// The file. Its size is reserved at once and the large sections are encoded in parallel
    /// (a chunk key of the full profile is 320 MB).
    pub fn to_bytes(&self) -> Vec<u8> {
        let g1s = self.ic.len() + self.a.len() + self.b1.len() + self.l.len() + self.h.len();
        // a contribution takes at most 4 G1 points, a G2 point, its transcript and ~520 bytes
        let contributions = self.contributions.len() * 1024;
        let mut out = Vec::with_capacity(
            12 + 10 * 12
                + 4
                + 3 * 32
                + 12
                + 3 * G1_BYTES
                + 3 * G2_BYTES
                + g1s * G1_BYTES
                + self.b2.len() * G2_BYTES
                + 4
                + COEF_BYTES * self.coefs.len()
                + 64
                + 4
                + contributions,
        );
        out.extend_from_slice(b"zkey");
        out.extend_from_slice(&1u32.to_le_bytes());
        out.extend_from_slice(&10u32.to_le_bytes());
        section(&mut out, 1, &1u32.to_le_bytes());
        let mut h = Vec::new();
        h.extend_from_slice(&32u32.to_le_bytes());
        h.extend_from_slice(&bn254_q_le());
        h.extend_from_slice(&32u32.to_le_bytes());
        h.extend_from_slice(&fr_modulus_le());
        h.extend_from_slice(&self.n_vars.to_le_bytes());
        h.extend_from_slice(&self.n_public.to_le_bytes());
        h.extend_from_slice(&self.domain_size.to_le_bytes());
        h.extend_from_slice(&g1_lem(&self.alpha1));
        h.extend_from_slice(&g1_lem(&self.beta1));
        h.extend_from_slice(&g2_lem(&self.beta2));
        h.extend_from_slice(&g2_lem(&self.gamma2));
        h.extend_from_slice(&g1_lem(&self.delta1));
        h.extend_from_slice(&g2_lem(&self.delta2));
        section(&mut out, 2, &h);
        section_with(&mut out, 3, |o| put_each(o, &self.ic, g1_lem));
        section_with(&mut out, 4, |o| self.put_coefs(o));
        section_with(&mut out, 5, |o| put_each(o, &self.a, g1_lem));
        section_with(&mut out, 6, |o| put_each(o, &self.b1, g1_lem));
        section_with(&mut out, 7, |o| put_each(o, &self.b2, g2_lem));
        section_with(&mut out, 8, |o| put_each(o, &self.l, g1_lem));
        section_with(&mut out, 9, |o| put_each(o, &self.h, g1_lem));
        section_with(&mut out, 10, |m| {
            m.extend_from_slice(&self.cs_hash);
            m.extend_from_slice(&(self.contributions.len() as u32).to_le_bytes());
            for c in &self.contributions {
                c.encode(m);
            }
        });
        out
    }

    /// BLAKE2b-512 over the circuit hash and every contribution's public key: what the next
    /// contributor's transcript starts from, and the hash that names this key's whole
    /// ceremony (the *transcript hash* of the exported keys).
    pub fn transcript_hasher(&self) -> Blake2b512 {
        let mut h = Blake2b512::new();
        h.update(self.cs_hash);
        for c in &self.contributions {
            c.hash_pub_key(&mut h);
        }
        h
    }
}

fn read_contribution(m: &mut Reader) -> Result<Contribution> {
    let delta_after = m.g1()?;
    let g1_s = m.g1()?;
    let g1_sx = m.g1()?;
    let g2_spx = m.g2()?;
    let mut transcript = [0u8; 64];
    transcript.copy_from_slice(m.take(64)?);
    let kind = m.u32()?;
    let len = m.u32()? as usize;
    let mut p = Reader {
        b: m.take(len)?,
        pos: 0,
    };
    let (mut name, mut exp, mut value) = (None, None, None);
    let mut last = 0u8;
    while p.pos < p.b.len() {
        let tag = p.take(1)?[0];
        if tag <= last {
            return Err(malformed("contribution parameters out of order"));
        }
        last = tag;
        match tag {
            1 => {
                let n = p.take(1)?[0] as usize;
                // as snarkjs's TextDecoder: invalid UTF-8 becomes U+FFFD
                name = Some(String::from_utf8_lossy(p.take(n)?).into_owned());
            }
            2 => exp = Some(p.take(1)?[0]),
            3 => {
                let n = p.take(1)?[0] as usize;
                value = Some(p.take(n)?.to_vec());
            }
            t => return Err(malformed(format!("unknown contribution parameter {t}"))),
        }
    }
    let source = match (kind, exp, value) {
        (0, None, None) => Source::Secret,
        (1, Some(exp), Some(value)) => Source::Beacon { value, exp },
        (k, _, _) => {
            return Err(malformed(format!(
                "contribution of type {k} with parameters that do not fit it"
            )))
        }
    };
    Ok(Contribution {
        delta_after,
        g1_s,
        g1_sx,
        g2_spx,
        transcript,
        source,
        name,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_cut_as_javascript_cuts_them() {
        assert_eq!(truncate_name("alice"), "alice");
        let long = "é".repeat(70);
        assert_eq!(truncate_name(&long).chars().count(), 64);
        // 40 emoji are 80 UTF-16 units: 32 whole ones fit
        let emoji = "😀".repeat(40);
        assert_eq!(truncate_name(&emoji), "😀".repeat(32));
        // an odd cut splits a surrogate pair: U+FFFD, as snarkjs's TextEncoder writes it
        let odd = format!("a{}", "😀".repeat(40));
        let cut = truncate_name(&odd);
        assert!(cut.ends_with('\u{FFFD}'), "{cut:?}");
        assert_eq!(cut.encode_utf16().count(), 64);
        // 64 four-byte characters would be 256 bytes: never more than the length byte holds
        let wide = "𝔸".repeat(64);
        let c = Contribution {
            delta_after: G1Affine::generator(),
            g1_s: G1Affine::generator(),
            g1_sx: G1Affine::generator(),
            g2_spx: G2Affine::generator(),
            transcript: [7; 64],
            source: Source::Secret,
            name: Some(wide),
        };
        let mut out = Vec::new();
        c.encode(&mut out);
        let mut r = Reader { b: &out, pos: 0 };
        let back = read_contribution(&mut r).unwrap();
        assert_eq!(back.name.as_deref(), Some("𝔸".repeat(32).as_str()));
        // an empty name is left out, as snarkjs leaves it out
        let mut c = c;
        c.name = Some(String::new());
        let mut out = Vec::new();
        c.encode(&mut out);
        assert_eq!(out.len(), 64 * 3 + 128 + 64 + 4 + 4);
    }
}
