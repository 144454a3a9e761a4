//! zkpay Groth16 keys and parallel proving
