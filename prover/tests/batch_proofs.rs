//! Batches proven in parallel chunks and verified against the chain.

use rand::SeedableRng;
use rand_chacha::ChaCha20Rng;
use zkpay_protocol::address::Network;
use zkpay_protocol::batch::{ChunkParams, RollupState};
use zkpay_protocol::keys::SpendingKey;
use zkpay_protocol::note::{Asset, Note, Root};
use zkpay_protocol::payment::{ExtData, PaymentPublic, PaymentWitness, PublicAccount};
use zkpay_prover::{BatchProver, KeyStore, PaymentProver, SetupMode};
use zkpay_verifier::batch::{verify_batch, ChainState};
use zkpay_verifier::{Proof, VerifierError};

const DEPTH: usize = 4;

/// A deposit of `v` (two dummy inputs): needs no prior state.
fn deposit(seed: u64, v: u64) -> PaymentWitness {
    let mut rng = ChaCha20Rng::seed_from_u64(seed);
    let alice = SpendingKey::random(&mut rng).spend_authority();
    let asset = Asset::from_text("USD").unwrap().id();
    let ext = ExtData {
        network: Network::Dev,
        fee_recipient: PublicAccount::from_bytes([0x0f; 20]),
        public_account: Some(PublicAccount::from_bytes([0xa1; 20])),
        ciphertexts: [vec![], vec![]],
    };
    let out = Note::new(asset, v, alice.owner_key(), &mut rng);
    PaymentWitness::build(
        &alice,
        asset,
        Root::default(),
        DEPTH,
        &[],
        &[out],
        v as i128,
        0,
        ext.hash(),
        &mut rng,
    )
    .unwrap()
}

#[test]
fn chunks_prove_in_parallel_and_verify_as_a_chain() {
    let dir = tempfile::tempdir().unwrap();
    let store = KeyStore::new(dir.path());
    let mode = SetupMode::InsecureDevelopment { seed: 3 };
    let payer = PaymentProver::new(&store, DEPTH, mode, None).unwrap();
    let params = ChunkParams::new(DEPTH, 2).unwrap();
    let batcher = BatchProver::new(&store, params, mode, None).unwrap();

    let mut rng = ChaCha20Rng::seed_from_u64(1);
    let payments: Vec<(PaymentPublic, Proof)> = (0..3u64)
        .map(|i| {
            let (proof, public) = payer.prove(&deposit(i, 10 + i), &mut rng).unwrap();
            (public, proof)
        })
        .collect();

    let mut state = RollupState::new(params).unwrap();
    let start = ChainState {
        note_root: Root(state.notes.root()),
        nullifier_root: Root(state.nullifiers.root()),
        note_cursor: state.notes.size(),
        nullifier_cursor: state.nullifiers.size(),
    };
    let publics: Vec<PaymentPublic> = payments.iter().map(|(p, _)| p.clone()).collect();
    let chunks = state.apply_batch(&publics).unwrap();
    assert_eq!(chunks.len(), 2);
    let proofs = batcher.prove_batch(&chunks).unwrap();
    let proven: Vec<_> = chunks
        .iter()
        .zip(&proofs)
        .map(|((p, _), pr)| (*p, pr.clone()))
        .collect();

    let cv = &batcher.keys().verifier;
    let pv = &payer.keys().verifier;
    let end = verify_batch(cv, pv, 2, start, &payments, &proven, &mut rng).unwrap();
    assert_eq!(end.note_root.0, state.notes.root());
    assert_eq!(end.nullifier_root.0, state.nullifiers.root());
    assert_eq!(end.note_cursor, state.notes.size());

    // broken chain: chunks swapped
    let swapped = vec![proven[1].clone(), proven[0].clone()];
    assert!(matches!(
        verify_batch(cv, pv, 2, start, &payments, &swapped, &mut rng),
        Err(VerifierError::BatchMismatch(_))
    ));
    // a missing chunk
    assert!(verify_batch(cv, pv, 2, start, &payments, &proven[..1], &mut rng).is_err());
    // payments reordered: the chunk hashes no longer match
    let mut reordered = payments.clone();
    reordered.swap(0, 1);
    assert!(matches!(
        verify_batch(cv, pv, 2, start, &reordered, &proven, &mut rng),
        Err(VerifierError::BatchMismatch(_))
    ));
    // a chunk's proof replaced by the other chunk's
    let mut bad_chunk = proven.clone();
    bad_chunk[1].1 = proven[0].1.clone();
    assert!(verify_batch(cv, pv, 2, start, &payments, &bad_chunk, &mut rng).is_err());
    // an invalid payment proof is named
    let mut bad_payment = payments.clone();
    bad_payment[2].1 = payments[1].1.clone();
    assert_eq!(
        verify_batch(cv, pv, 2, start, &bad_payment, &proven, &mut rng),
        Err(VerifierError::BadProofs(vec![2]))
    );
    // a chain that starts elsewhere
    let mut elsewhere = start;
    elsewhere.note_cursor += 4;
    assert!(verify_batch(cv, pv, 2, elsewhere, &payments, &proven, &mut rng).is_err());
}
