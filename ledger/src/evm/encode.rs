//! How the contracts read keys, proofs and field elements: big-endian 32-byte words, G2 points
//! with the imaginary part first (`x.c1, x.c0, y.c1, y.c0`, as the pairing precompile of
//! EIP-197 takes them), the identity as zeros.

use ark_bn254::{Fq, Fq2, G1Affine, G2Affine};
use ark_ec::AffineRepr;
use ark_ff::{BigInteger, PrimeField};
use zkpay_protocol::field::F;
use zkpay_verifier::{Proof, VerifyingKey};

/// A 32-byte big-endian word.
pub type Word = [u8; 32];

fn word<P: PrimeField>(x: &P) -> Word {
    let mut w = [0u8; 32];
    let b = x.into_bigint().to_bytes_be();
    w[32 - b.len()..].copy_from_slice(&b);
    w
}

/// A scalar (public input) as a word.
pub fn scalar_word(x: &F) -> Word {
    word(x)
}

fn fq(x: &Fq) -> Word {
    word(x)
}

fn fq2(x: &Fq2) -> [Word; 2] {
    [fq(&x.c1), fq(&x.c0)]
}

/// A G1 point as `x, y` (the identity as two zero words).
pub fn g1_words(p: &G1Affine) -> [Word; 2] {
    match p.xy() {
        Some((x, y)) => [fq(&x), fq(&y)],
        None => [[0; 32]; 2],
    }
}

/// A G2 point as `x.c1, x.c0, y.c1, y.c0` (the identity as four zero words).
pub fn g2_words(p: &G2Affine) -> [Word; 4] {
    match p.xy() {
        Some((x, y)) => {
            let [a, b] = fq2(&x);
            let [c, d] = fq2(&y);
            [a, b, c, d]
        }
        None => [[0; 32]; 4],
    }
}

/// A proof as the 8 words `A.x, A.y, B (4 words), C.x, C.y`.
pub fn proof_words(p: &Proof) -> [Word; 8] {
    let a = g1_words(&p.a);
    let b = g2_words(&p.b);
    let c = g1_words(&p.c);
    [a[0], a[1], b[0], b[1], b[2], b[3], c[0], c[1]]
}

fn fq_of(w: &Word) -> Option<Fq> {
    let x = Fq::from_be_bytes_mod_order(w);
    (fq(&x) == *w).then_some(x)
}

/// The proof whose words are `w` (the inverse of [`proof_words`]): every coordinate below `p`,
/// every point on its curve and in its subgroup, none the identity; `None` otherwise.
pub fn proof_of_words(w: &[Word; 8]) -> Option<Proof> {
    let a = G1Affine::new_unchecked(fq_of(&w[0])?, fq_of(&w[1])?);
    let x = Fq2::new(fq_of(&w[3])?, fq_of(&w[2])?);
    let y = Fq2::new(fq_of(&w[5])?, fq_of(&w[4])?);
    let b = G2Affine::new_unchecked(x, y);
    let c = G1Affine::new_unchecked(fq_of(&w[6])?, fq_of(&w[7])?);
    // (0, 0) is arkworks' encoding of the identity, which is "on the curve"
    let ok = !a.is_zero()
        && !b.is_zero()
        && !c.is_zero()
        && a.is_on_curve()
        && c.is_on_curve()
        && b.is_on_curve()
        && b.is_in_correct_subgroup_assuming_on_curve();
    ok.then_some(Proof { a, b, c })
}

/// A verifying key in the layout of `Groth16Batch.deployKey`: `n`, alpha, beta, gamma, delta,
/// `IC_0..IC_n`.
pub fn vk_bytes(vk: &VerifyingKey) -> Vec<u8> {
    let n = vk.gamma_abc_g1.len().saturating_sub(1) as u64;
    let mut out = Vec::with_capacity(32 * (15 + 2 * vk.gamma_abc_g1.len()));
    let mut nw = [0u8; 32];
    nw[24..].copy_from_slice(&n.to_be_bytes());
    out.extend_from_slice(&nw);
    for w in g1_words(&vk.alpha_g1) {
        out.extend_from_slice(&w);
    }
    for g in [&vk.beta_g2, &vk.gamma_g2, &vk.delta_g2] {
        for w in g2_words(g) {
            out.extend_from_slice(&w);
        }
    }
    for p in &vk.gamma_abc_g1 {
        for w in g1_words(p) {
            out.extend_from_slice(&w);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_are_big_endian_and_g2_is_imaginary_first() {
        let g = G1Affine::generator();
        assert_eq!(g1_words(&g)[0][31], 1);
        assert_eq!(g1_words(&g)[1][31], 2);
        assert_eq!(g1_words(&G1Affine::zero()), [[0; 32]; 2]);
        let h = G2Affine::generator();
        let w = g2_words(&h);
        // x.c1 of the generator, as EIP-197's test vectors write it
        assert_eq!(
            hex::encode(w[0]),
            "198e9393920d483a7260bfb731fb5d25f1aa493335a9e71297e485b7aef312c2"
        );
        assert_eq!(
            hex::encode(w[1]),
            "1800deef121f1e76426a00665e5c4479674322d4f75edadd46debd5cd992f6ed"
        );
        assert_eq!(scalar_word(&F::from(258u64))[30..], [1, 2]);
    }

    #[test]
    fn proof_words_round_trip_and_refuse_what_is_not_a_proof() {
        use ark_ec::CurveGroup;
        let g1 = G1Affine::generator();
        let p = Proof {
            a: (g1 * ark_bn254::Fr::from(5u64)).into_affine(),
            b: G2Affine::generator(),
            c: (g1 * ark_bn254::Fr::from(7u64)).into_affine(),
        };
        let w = proof_words(&p);
        assert_eq!(proof_of_words(&w), Some(p));
        for k in 0..8 {
            let mut bad = w;
            bad[k][31] ^= 1; // off the curve
            assert_eq!(proof_of_words(&bad), None, "word {k}");
        }
        let mut big = w;
        big[0] = [0xff; 32]; // not below p
        assert_eq!(proof_of_words(&big), None);
        let mut zero = w;
        zero[0] = [0; 32];
        zero[1] = [0; 32]; // the identity as A: (0, 0) is not on the curve
        assert_eq!(proof_of_words(&zero), None);
    }
}
