//! Powers of tau from known secrets, for tests and benchmarks only.
//!
//! **Insecure:** whoever knows τ, α and β can forge proofs under every key made from the file.
//! It exists because snarkjs's `powersoftau prepare phase2` takes minutes for 2^13 and hours
//! for the 2^19 file the full profile's chunk circuit needs, while a file computed from known
//! secrets takes seconds; phase 2 is the same either way. The file is a prepared `.ptau` as
//! snarkjs writes it (sections 1–7 and 12–15), with one contribution counted in section 7 but
//! no contribution record, so `snarkjs powersoftau verify` refuses it while `snarkjs zkey new`
//! and `zkey verify` read it.

use crate::ptau::bn254_q_le;
use crate::zkey::{g1_lem, g2_lem};
use crate::Result;
use ark_bn254::{Fr, G1Projective, G2Projective};
use ark_ec::scalar_mul::BatchMulPreprocessing;
use ark_ec::PrimeGroup;
use ark_ff::{One, Zero};
use ark_poly::{EvaluationDomain, Radix2EvaluationDomain};
use std::io::Write;
use std::path::Path;

fn powers(x: Fr, n: usize, times: Fr) -> Vec<Fr> {
    let mut out = Vec::with_capacity(n);
    let mut p = times;
    for _ in 0..n {
        out.push(p);
        p *= x;
    }
    out
}

/// The Lagrange basis at τ of the domain of size m as snarkjs's `prepare phase2` computes it:
/// the inverse FFT of τ^0 … τ^(m−1) (with τ^(m−1) taken as 0 when the file stops before it),
/// each times `times`.
fn lagrange(tau: Fr, m: usize, available: usize, times: Fr) -> Vec<Fr> {
    let mut v = powers(tau, m, times);
    for x in v.iter_mut().skip(available) {
        *x = Fr::zero();
    }
    if let Some(d) = Radix2EvaluationDomain::<Fr>::new(m) {
        d.ifft_in_place(&mut v);
    }
    v
}

fn section(f: &mut impl Write, kind: u32, body: &[u8]) -> Result<()> {
    f.write_all(&kind.to_le_bytes())?;
    f.write_all(&(body.len() as u64).to_le_bytes())?;
    f.write_all(body)?;
    Ok(())
}

/// Writes a prepared `.ptau` of 2^`power` with the secrets τ, α, β (see the module's warning).
pub fn write_known_ptau(path: &Path, power: u32, tau: Fr, alpha: Fr, beta: Fr) -> Result<()> {
    let n = 1usize << power;
    let g1 = BatchMulPreprocessing::new(G1Projective::generator(), 4 * n);
    let g2 = BatchMulPreprocessing::new(G2Projective::generator(), 2 * n);
    let enc1 = |scalars: &[Fr]| -> Vec<u8> {
        let pts = g1.batch_mul(scalars);
        pts.iter().flat_map(g1_lem).collect()
    };
    let enc2 = |scalars: &[Fr]| -> Vec<u8> {
        let pts = g2.batch_mul(scalars);
        pts.iter().flat_map(g2_lem).collect()
    };
    let mut f = std::io::BufWriter::new(std::fs::File::create(path)?);
    f.write_all(b"ptau")?;
    f.write_all(&1u32.to_le_bytes())?;
    f.write_all(&11u32.to_le_bytes())?;
    let mut header = Vec::new();
    header.extend_from_slice(&32u32.to_le_bytes());
    header.extend_from_slice(&bn254_q_le());
    header.extend_from_slice(&power.to_le_bytes());
    header.extend_from_slice(&power.to_le_bytes());
    section(&mut f, 1, &header)?;
    section(&mut f, 2, &enc1(&powers(tau, 2 * n - 1, Fr::one())))?;
    section(&mut f, 3, &enc2(&powers(tau, n, Fr::one())))?;
    section(&mut f, 4, &enc1(&powers(tau, n, alpha)))?;
    section(&mut f, 5, &enc1(&powers(tau, n, beta)))?;
    section(&mut f, 6, &enc2(&[beta]))?;
    section(&mut f, 7, &1u32.to_le_bytes())?;
    // the bases of every domain 2^0 … 2^power (and 2^(power+1) for τ·G1), one after another
    let bases = |times: Fr, top: usize| -> Vec<Fr> {
        let mut all = Vec::new();
        for k in 0..=top {
            let m = 1usize << k;
            all.extend(lagrange(tau, m, (2 * n - 1).min(m), times));
        }
        all
    };
    section(&mut f, 12, &enc1(&bases(Fr::one(), power as usize + 1)))?;
    section(&mut f, 13, &enc2(&bases(Fr::one(), power as usize)))?;
    section(&mut f, 14, &enc1(&bases(alpha, power as usize)))?;
    section(&mut f, 15, &enc1(&bases(beta, power as usize)))?;
    f.flush()?;
    Ok(())
}

/// τ, α, β drawn from the OS: a file nobody else can forge under, though its writer could.
pub fn write_random_ptau(path: &Path, power: u32) -> Result<()> {
    use ark_ff::UniformRand;
    let mut rng = rand::rngs::OsRng;
    let mut s = || loop {
        let x = Fr::rand(&mut rng);
        if !x.is_zero() && !x.is_one() {
            return x;
        }
    };
    let (tau, alpha, beta) = (s(), s(), s());
    write_known_ptau(path, power, tau, alpha, beta)
}

/// The hex digits snarkjs prints a contribution hash in (groups of eight separated by spaces,
/// four groups a line), every such group of `output` joined: a contribution hash in lowercase
/// hex is a substring of it exactly when snarkjs listed it.
pub fn snarkjs_hex(output: &str) -> String {
    output
        .split_whitespace()
        .filter(|w| w.len() == 8 && w.chars().all(|c| c.is_ascii_hexdigit()))
        .collect()
}
