//! zkpay's circuits as rank-1 constraint systems in the iden3 binary formats (`.r1cs`,
//! `.wtns`) that circom writes and snarkjs reads, so that the ecosystem's tools can set up keys
//! for them (`snarkjs zkey new/verify`), check witnesses and prove.
//!
//! Wire 0 is the constant one, wires 1..=n the public inputs (as circom's public inputs; no
//! outputs, no private inputs), then the witness variables, in arkworks' order after the same
//! synthesis Groth16 performs (`OptimizationGoal::Constraints`, linear combinations inlined).
//! The terms of every row are sorted by wire, because their order after inlining depends on
//! hash-map iteration and a file must be reproducible.
//!
//! `.r1cs` (version 1): section 1 header (`n8` = 32, the prime r LE, wires u32, outputs u32,
//! public inputs u32, private inputs u32, labels u64, constraints u32); section 2 the
//! constraints, each three linear combinations A, B, C (a term count u32, then wire u32 and
//! coefficient 32 bytes LE, not Montgomery); section 3 the wire → label map (u64 each).

use crate::ProverError;
use ark_ff::{BigInteger, PrimeField};
use ark_relations::gr1cs::{
    ConstraintSynthesizer, ConstraintSystem, ConstraintSystemRef, OptimizationGoal, SynthesisMode,
    R1CS_PREDICATE_LABEL,
};
use zkpay_verifier::F;

/// One linear combination: (wire, coefficient) sorted by wire.
pub type Lc = Vec<(u32, F)>;

/// A rank-1 constraint system A·w ∘ B·w = C·w over BN254's scalar field.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct R1cs {
    /// Public inputs (not counting the constant one).
    pub num_public: usize,
    /// Wires, the constant one included.
    pub num_wires: usize,
    /// Constraints: A, B, C of each.
    pub constraints: Vec<[Lc; 3]>,
}

fn bad(why: impl Into<String>) -> ProverError {
    ProverError::KeyFile {
        path: "r1cs".into(),
        why: why.into(),
    }
}

fn fe_le(x: &F) -> [u8; 32] {
    let mut out = [0u8; 32];
    out.copy_from_slice(&x.into_bigint().to_bytes_le());
    out
}

fn section(out: &mut Vec<u8>, kind: u32, body: &[u8]) {
    out.extend_from_slice(&kind.to_le_bytes());
    out.extend_from_slice(&(body.len() as u64).to_le_bytes());
    out.extend_from_slice(body);
}

impl R1cs {
    /// Synthesises `circuit` (setup mode, no witness needed) and takes its R1CS.
    pub fn of_circuit<C: ConstraintSynthesizer<F>>(circuit: C) -> Result<Self, ProverError> {
        let cs = ConstraintSystem::<F>::new_ref();
        cs.set_optimization_goal(OptimizationGoal::Constraints);
        cs.set_mode(SynthesisMode::Setup);
        circuit.generate_constraints(cs.clone())?;
        cs.finalize();
        Self::of_cs(&cs)
    }

    /// The R1CS of a finalised constraint system.
    pub fn of_cs(cs: &ConstraintSystemRef<F>) -> Result<Self, ProverError> {
        let matrices = cs.to_matrices()?;
        let abc = matrices
            .get(R1CS_PREDICATE_LABEL)
            .ok_or_else(|| bad("the circuit has no R1CS constraints"))?;
        if abc.len() != 3 || abc[0].len() != abc[1].len() || abc[0].len() != abc[2].len() {
            return Err(bad("the circuit's R1CS matrices have different heights"));
        }
        let row = |r: &Vec<(F, usize)>| -> Lc {
            let mut lc: Lc = r.iter().map(|(c, v)| (*v as u32, *c)).collect();
            lc.sort_by_key(|(v, _)| *v);
            lc
        };
        let constraints = (0..abc[0].len())
            .map(|i| [row(&abc[0][i]), row(&abc[1][i]), row(&abc[2][i])])
            .collect();
        Ok(Self {
            num_public: cs.num_instance_variables() - 1,
            num_wires: cs.num_instance_variables() + cs.num_witness_variables(),
            constraints,
        })
    }

    /// The smallest power of two holding the constraints and one row per public input and the
    /// constant (the size of the evaluation domain), as its log2.
    pub fn domain_power(&self) -> u32 {
        (self.constraints.len() + self.num_public + 1)
            .next_power_of_two()
            .trailing_zeros()
    }

    /// The `.r1cs` file.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut header = Vec::new();
        header.extend_from_slice(&32u32.to_le_bytes());
        header.extend_from_slice(&fe_le_modulus());
        header.extend_from_slice(&(self.num_wires as u32).to_le_bytes());
        header.extend_from_slice(&0u32.to_le_bytes()); // public outputs
        header.extend_from_slice(&(self.num_public as u32).to_le_bytes()); // public inputs
        header.extend_from_slice(&0u32.to_le_bytes()); // private inputs
        header.extend_from_slice(&(self.num_wires as u64).to_le_bytes()); // labels
        header.extend_from_slice(&(self.constraints.len() as u32).to_le_bytes());
        let mut cons = Vec::new();
        for c in &self.constraints {
            for lc in c {
                cons.extend_from_slice(&(lc.len() as u32).to_le_bytes());
                for (wire, coeff) in lc {
                    cons.extend_from_slice(&wire.to_le_bytes());
                    cons.extend_from_slice(&fe_le(coeff));
                }
            }
        }
        let mut map = Vec::with_capacity(8 * self.num_wires);
        for i in 0..self.num_wires as u64 {
            map.extend_from_slice(&i.to_le_bytes());
        }
        let mut out = b"r1cs".to_vec();
        out.extend_from_slice(&1u32.to_le_bytes());
        out.extend_from_slice(&3u32.to_le_bytes());
        section(&mut out, 1, &header);
        section(&mut out, 2, &cons);
        section(&mut out, 3, &map);
        out
    }
}

fn fe_le_modulus() -> [u8; 32] {
    let mut out = [0u8; 32];
    out.copy_from_slice(&F::MODULUS.to_bytes_le());
    out
}

/// A `.wtns` file (version 2) holding `assignment` (wire order: one, public inputs, witness).
pub fn wtns_bytes(assignment: &[F]) -> Vec<u8> {
    let mut header = Vec::new();
    header.extend_from_slice(&32u32.to_le_bytes());
    header.extend_from_slice(&fe_le_modulus());
    header.extend_from_slice(&(assignment.len() as u32).to_le_bytes());
    let mut values = Vec::with_capacity(32 * assignment.len());
    for x in assignment {
        values.extend_from_slice(&fe_le(x));
    }
    let mut out = b"wtns".to_vec();
    out.extend_from_slice(&2u32.to_le_bytes());
    out.extend_from_slice(&2u32.to_le_bytes());
    section(&mut out, 1, &header);
    section(&mut out, 2, &values);
    out
}
