//! A local `anvil` (the pinned one in `tools/evm`, or `$ANVIL`), on a free loopback port, stopped
//! when dropped.

use super::EvmError;
use alloy::node_bindings::{Anvil, AnvilInstance};
use std::path::{Path, PathBuf};

/// Where the pinned anvil is: `$ANVIL`, else `tools/evm/node_modules/@foundry-rs/anvil-<os>-<arch>/bin/anvil`
/// under the workspace.
pub fn anvil_path() -> Result<PathBuf, EvmError> {
    if let Some(p) = std::env::var_os("ANVIL") {
        return Ok(PathBuf::from(p));
    }
    let arch = match std::env::consts::ARCH {
        "x86_64" => "amd64",
        "aarch64" => "arm64",
        other => other,
    };
    let os = std::env::consts::OS;
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let p = root.join(format!(
        "tools/evm/node_modules/@foundry-rs/anvil-{os}-{arch}/bin/anvil"
    ));
    if p.is_file() {
        Ok(p)
    } else {
        Err(EvmError::Anvil(format!(
            "{} is missing: run scripts/bootstrap.sh (or: cd tools/evm && npm ci), or set ANVIL",
            p.display()
        )))
    }
}

/// Starts anvil on a free loopback port (chain id 31337, the Prague rules the contracts are
/// compiled for, ten funded development accounts).
pub fn spawn_anvil() -> Result<AnvilInstance, EvmError> {
    spawn_anvil_with(&[])
}

/// [`spawn_anvil`] with more arguments (for example `--block-time 1`: a block every second,
/// rather than one per transaction).
pub fn spawn_anvil_with(args: &[&str]) -> Result<AnvilInstance, EvmError> {
    Anvil::at(anvil_path()?)
        .args(["--hardfork", "prague", "--host", "127.0.0.1"])
        .args(args)
        .try_spawn()
        .map_err(|e| EvmError::Anvil(e.to_string()))
}
