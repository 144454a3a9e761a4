//! The deterministic randomness of snarkjs's phase 2, reproduced bit for bit so that zkpay and
//! snarkjs check each other's contributions: ffjavascript's ChaCha20 stream, its `fromRng` for
//! field elements and curve points, `hashToG2` (the G2 point of a contribution's proof of
//! knowledge, derived from its transcript) and the beacon's iterated SHA-256.
//!
//! - `ChaCha(seed)`: the ChaCha20 block function (10 double rounds) with the eight seed words
//!   as the key, a 128-bit block counter in words 12–15 starting at 0, no nonce; words are
//!   returned in order, one block after the other. `nextU64` is `hi·2^32 + lo`, `hi` drawn
//!   first; `nextBool` is the low bit of a word.
//! - `Fr.fromRng` / `Fq.fromRng`: four `nextU64` as little-endian limbs, masked to the bit
//!   length of the modulus, redrawn while not below it; the result is the element's *Montgomery
//!   representation* (its value is v·R^-1).
//! - `G.fromRng`: x = `F.fromRng` (an Fq2 element: c0 then c1), `greatest` = `nextBool`,
//!   redrawn (both) until x³ + b is a square; y its square root with the sign chosen so that
//!   `isNegative(y) == greatest`, where an Fq element is negative when above (q − 1)/2 and an
//!   Fq2 element by c1, or by c0 when c1 is 0; then multiplied by the cofactor (G2 only).

use ark_bn254::{Fq, Fq2, Fr, G1Affine, G2Affine, G2Projective};
use ark_ec::short_weierstrass::SWCurveConfig;
use ark_ec::{CurveConfig, CurveGroup, PrimeGroup};
use ark_ff::{BigInt, BigInteger, Field, PrimeField};
use sha2::{Digest, Sha256};

/// ffjavascript's ChaCha20 random stream.
pub struct ChaCha {
    state: [u32; 16],
    buf: [u32; 16],
    idx: usize,
}

fn quarter(s: &mut [u32; 16], a: usize, b: usize, c: usize, d: usize) {
    s[a] = s[a].wrapping_add(s[b]);
    s[d] = (s[d] ^ s[a]).rotate_left(16);
    s[c] = s[c].wrapping_add(s[d]);
    s[b] = (s[b] ^ s[c]).rotate_left(12);
    s[a] = s[a].wrapping_add(s[b]);
    s[d] = (s[d] ^ s[a]).rotate_left(8);
    s[c] = s[c].wrapping_add(s[d]);
    s[b] = (s[b] ^ s[c]).rotate_left(7);
}

impl Drop for ChaCha {
    /// The key of a contribution's stream is its secret: wipe it.
    fn drop(&mut self) {
        use zeroize::Zeroize;
        self.state.zeroize();
        self.buf.zeroize();
    }
}

impl ChaCha {
    /// A stream keyed by eight words.
    pub fn new(seed: [u32; 8]) -> Self {
        let mut state = [0u32; 16];
        state[..4].copy_from_slice(&[0x61707865, 0x3320646E, 0x79622D32, 0x6B206574]);
        state[4..12].copy_from_slice(&seed);
        Self {
            state,
            buf: [0; 16],
            idx: 16,
        }
    }

    /// A stream keyed by the first 32 bytes of `hash`, read as big-endian words.
    pub fn from_hash(hash: &[u8]) -> Self {
        use zeroize::Zeroize;
        let mut seed = [0u32; 8];
        for (i, w) in seed.iter_mut().enumerate() {
            let mut b = [0u8; 4];
            b.copy_from_slice(&hash[4 * i..4 * i + 4]);
            *w = u32::from_be_bytes(b);
            b.zeroize();
        }
        let out = Self::new(seed);
        seed.zeroize();
        out
    }

    fn update(&mut self) {
        let mut x = self.state;
        for _ in 0..10 {
            quarter(&mut x, 0, 4, 8, 12);
            quarter(&mut x, 1, 5, 9, 13);
            quarter(&mut x, 2, 6, 10, 14);
            quarter(&mut x, 3, 7, 11, 15);
            quarter(&mut x, 0, 5, 10, 15);
            quarter(&mut x, 1, 6, 11, 12);
            quarter(&mut x, 2, 7, 8, 13);
            quarter(&mut x, 3, 4, 9, 14);
        }
        for (o, s) in x.iter_mut().zip(self.state.iter()) {
            *o = o.wrapping_add(*s);
        }
        self.buf = x;
        self.idx = 0;
        for w in 12..16 {
            self.state[w] = self.state[w].wrapping_add(1);
            if self.state[w] != 0 {
                break;
            }
        }
    }

    /// Next word.
    pub fn next_u32(&mut self) -> u32 {
        if self.idx == 16 {
            self.update();
        }
        let w = self.buf[self.idx];
        self.idx += 1;
        w
    }

    /// Next 64 bits, the first word high.
    pub fn next_u64(&mut self) -> u64 {
        let hi = u64::from(self.next_u32());
        let lo = u64::from(self.next_u32());
        hi << 32 | lo
    }

    /// Next bit.
    pub fn next_bool(&mut self) -> bool {
        self.next_u32() & 1 == 1
    }

    fn montgomery_limbs<P: PrimeField<BigInt = BigInt<4>>>(&mut self) -> BigInt<4> {
        let bits = P::MODULUS_BIT_SIZE;
        loop {
            let mut limbs = [0u64; 4];
            for l in limbs.iter_mut() {
                *l = self.next_u64();
            }
            // mask to the modulus' bit length (254 bits: the top limb keeps 62)
            limbs[3] &= (1u64 << (bits - 192)) - 1;
            let v = BigInt::new(limbs);
            if v < P::MODULUS {
                return v;
            }
        }
    }

    /// `Fr.fromRng`.
    pub fn fr(&mut self) -> Fr {
        Fr::new_unchecked(self.montgomery_limbs::<Fr>())
    }

    /// `Fq.fromRng`.
    pub fn fq(&mut self) -> Fq {
        Fq::new_unchecked(self.montgomery_limbs::<Fq>())
    }

    /// `G1.fromRng`.
    pub fn g1(&mut self) -> G1Affine {
        loop {
            let x = self.fq();
            let greatest = self.next_bool();
            let rhs = x * x * x + ark_bn254::g1::Config::COEFF_B;
            if let Some(y) = rhs.sqrt() {
                let y = if greatest ^ fq_negative(&y) { -y } else { y };
                return G1Affine::new_unchecked(x, y);
            }
        }
    }

    /// `G2.fromRng`, cofactor cleared by multiplication with the cofactor itself (as ffjavascript
    /// does, not by an endomorphism: the point must be the same).
    pub fn g2(&mut self) -> G2Affine {
        loop {
            let x = Fq2::new(self.fq(), self.fq());
            let greatest = self.next_bool();
            let rhs = x * x * x + ark_bn254::g2::Config::COEFF_B;
            if let Some(y) = rhs.sqrt() {
                let y = if greatest ^ fq2_negative(&y) { -y } else { y };
                let p = G2Affine::new_unchecked(x, y);
                let cofactor: &[u64] = <ark_bn254::g2::Config as CurveConfig>::COFACTOR;
                return G2Projective::from(p).mul_bigint(cofactor).into_affine();
            }
        }
    }
}

fn fq_negative(x: &Fq) -> bool {
    // above (q − 1)/2
    let half = Fq::MODULUS_MINUS_ONE_DIV_TWO;
    x.into_bigint() > half
}

fn fq2_negative(x: &Fq2) -> bool {
    if x.c1 == Fq::from(0u64) {
        fq_negative(&x.c0)
    } else {
        fq_negative(&x.c1)
    }
}

/// snarkjs's `hashToG2`: the G2 point a contribution's proof of knowledge uses, from its
/// 64-byte transcript.
pub fn hash_to_g2(transcript: &[u8; 64]) -> G2Affine {
    ChaCha::from_hash(transcript).g2()
}

/// snarkjs's `rngFromBeaconParams`: SHA-256 iterated 2^`exp` times over the beacon value, the
/// result keying the stream.
pub fn beacon_rng(beacon: &[u8], exp: u32) -> ChaCha {
    let mut h = beacon.to_vec();
    let n: u64 = 1u64 << exp;
    for _ in 0..n {
        h = Sha256::digest(&h).to_vec();
    }
    ChaCha::from_hash(&h)
}

/// The big-endian bytes of a field element (not Montgomery), as snarkjs hashes points.
pub fn fq_be(x: &Fq) -> [u8; 32] {
    let mut out = [0u8; 32];
    out.copy_from_slice(&x.into_bigint().to_bytes_be());
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chacha_is_rfc_7539_block_function_with_zero_nonce() {
        // RFC 7539 2.3.2 uses a nonce; with an all-zero key and counter 0 the first block is the
        // well-known 76b8e0ad... stream (words little-endian).
        let mut c = ChaCha::new([0; 8]);
        assert_eq!(c.next_u32(), u32::from_le_bytes([0x76, 0xb8, 0xe0, 0xad]));
        assert_eq!(c.next_u32(), u32::from_le_bytes([0xa0, 0xf1, 0x3d, 0x90]));
    }

    #[test]
    fn random_points_are_on_the_curve_and_in_the_group() {
        let mut c = ChaCha::new([1, 2, 3, 4, 5, 6, 7, 8]);
        for _ in 0..4 {
            let p = c.g1();
            assert!(p.is_on_curve());
            let q = c.g2();
            assert!(q.is_on_curve() && q.is_in_correct_subgroup_assuming_on_curve());
        }
    }
}
