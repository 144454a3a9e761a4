//! The plain single-proof verifier: gnark's Solidity template rendered from a verifying key
//! (the `taceo-groth16-sol` crate) and compiled with the pinned solc. Each key gets its own
//! contract, with the key in its code as constants; `verifyProof(proof, input)` reverts unless
//! the proof verifies. The reference the batch verifier is measured and tested against.

use super::EvmError;
use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};
use taceo_groth16_sol::askama::Template;
use taceo_groth16_sol::{SolidityVerifierConfig, SolidityVerifierContext};
use zkpay_verifier::VerifyingKey;

/// The Solidity source of the plain verifier of `vk` (contract `Verifier`).
pub fn render(vk: &VerifyingKey) -> Result<String, EvmError> {
    SolidityVerifierContext {
        vk: vk.clone(),
        config: SolidityVerifierConfig {
            pragma_version: "0.8.37".into(),
        },
    }
    .render()
    .map_err(|e| EvmError::Contract(format!("rendering the verifier: {e}")))
}

/// Creation bytecode of the plain verifier of `vk`, compiled by the pinned solc through
/// `tools/evm/solc-source.mjs` (Node.js).
pub fn bytecode(vk: &VerifyingKey) -> Result<Vec<u8>, EvmError> {
    let source = render(vk)?;
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../tools/evm/solc-source.mjs");
    let mut child = Command::new("node")
        .arg(&script)
        .arg("Verifier")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| EvmError::Contract(format!("running node {}: {e}", script.display())))?;
    child
        .stdin
        .take()
        .ok_or_else(|| EvmError::Contract("solc: no stdin".into()))?
        .write_all(source.as_bytes())
        .map_err(|e| EvmError::Contract(format!("solc: {e}")))?;
    let out = child
        .wait_with_output()
        .map_err(|e| EvmError::Contract(format!("solc: {e}")))?;
    if !out.status.success() {
        return Err(EvmError::Contract(format!(
            "solc failed: {}",
            String::from_utf8_lossy(&out.stderr)
        )));
    }
    let v: serde_json::Value = serde_json::from_slice(&out.stdout)
        .map_err(|e| EvmError::Contract(format!("solc output: {e}")))?;
    let hex = v["bytecode"]
        .as_str()
        .and_then(|s| s.strip_prefix("0x"))
        .ok_or_else(|| EvmError::Contract("solc output has no bytecode".into()))?;
    hex::decode(hex).map_err(|e| EvmError::Contract(format!("solc bytecode: {e}")))
}
