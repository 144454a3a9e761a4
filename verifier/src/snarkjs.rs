//! Export of verifying keys, proofs and public inputs in snarkjs's JSON formats
//! (`verification_key.json`, `proof.json`, `public.json`), so an independent implementation can
//! check zkpay's proofs: `snarkjs groth16 verify verification_key.json public.json proof.json`.
//!
//! G1 points are `[x, y, "1"]`, G2 points `[[x_c0, x_c1], [y_c0, y_c1], ["1", "0"]]`, all decimal.
//! (EVM precompiles want G2 as `(c1, c0)`; snarkjs JSON keeps `(c0, c1)`.)

use crate::{Proof, VerifyingKey, F};
use ark_bn254::{Fq, G1Affine, G2Affine};
use ark_ff::PrimeField;
use serde_json::{json, Value};

fn fq(x: &Fq) -> String {
    x.into_bigint().to_string()
}

fn g1(p: &G1Affine) -> Value {
    json!([fq(&p.x), fq(&p.y), "1"])
}

fn g2(p: &G2Affine) -> Value {
    json!([
        [fq(&p.x.c0), fq(&p.x.c1)],
        [fq(&p.y.c0), fq(&p.y.c1)],
        ["1", "0"]
    ])
}

/// `verification_key.json`.
pub fn verification_key(vk: &VerifyingKey) -> Value {
    json!({
        "protocol": "groth16",
        "curve": "bn128",
        "nPublic": vk.gamma_abc_g1.len() - 1,
        "vk_alpha_1": g1(&vk.alpha_g1),
        "vk_beta_2": g2(&vk.beta_g2),
        "vk_gamma_2": g2(&vk.gamma_g2),
        "vk_delta_2": g2(&vk.delta_g2),
        "IC": vk.gamma_abc_g1.iter().map(g1).collect::<Vec<_>>(),
    })
}

/// `proof.json`.
pub fn proof(p: &Proof) -> Value {
    json!({
        "pi_a": g1(&p.a),
        "pi_b": g2(&p.b),
        "pi_c": g1(&p.c),
        "protocol": "groth16",
        "curve": "bn128",
    })
}

/// `public.json`: decimal strings.
pub fn public(inputs: &[F]) -> Value {
    Value::Array(
        inputs
            .iter()
            .map(|x| Value::String(x.into_bigint().to_string()))
            .collect(),
    )
}
