//! Deployment manifests: what was deployed, where, by whom, from which compiler output.

use crate::{ContractsError, ContractsResult};
use alloy_primitives::{Address, B256, Bytes, TxHash};
use serde::{Deserialize, Serialize};
use std::{collections::BTreeMap, path::Path, sync::OnceLock};

/// The compiler and settings that produced `contracts/out`, and the sha256 of every source unit.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BuildInfo {
    /// Compiler name and version.
    pub compiler: CompilerInfo,
    /// The solc standard-JSON `settings` object used.
    pub settings: serde_json::Value,
    /// Names of the contracts with bytecode.
    pub contracts: Vec<String>,
    /// Source unit name to `{ "sha256": "0x..." }`.
    pub sources: BTreeMap<String, SourceHash>,
}

/// Compiler identity.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CompilerInfo {
    /// e.g. `solc (solcjs)`.
    pub name: String,
    /// Full version with commit, e.g. `0.8.30+commit.73712a01.Emscripten.clang`.
    pub version: String,
}

/// Hash of one source unit.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SourceHash {
    /// sha256 of the source text, 0x-prefixed hex.
    pub sha256: String,
}

/// The build info this crate was compiled against (`contracts/out/build-info.json`).
pub fn build_info() -> &'static BuildInfo {
    static INFO: OnceLock<BuildInfo> = OnceLock::new();
    INFO.get_or_init(|| {
        serde_json::from_str(include_str!("../../../contracts/out/build-info.json")).expect(
            "contracts/out/build-info.json is written by contracts/build.mjs and checked in CI",
        )
    })
}

/// One deployed contract.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeployedContract {
    /// Where it lives.
    pub address: Address,
    /// The creating transaction.
    pub transaction_hash: TxHash,
    /// Block that included it.
    pub block_number: u64,
    /// Hash of that block, when the node reported it.
    pub block_hash: Option<B256>,
    /// keccak256 of the creation bytecode (without constructor arguments).
    pub creation_code_hash: B256,
    /// keccak256 of the runtime code the chain holds at `address`.
    pub runtime_code_hash: B256,
    /// ABI-encoded constructor arguments.
    pub constructor_args: Bytes,
}

/// Everything worth keeping about one deployment of the contracts, saved and loaded as JSON.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeploymentManifest {
    /// Chain id the contracts live on.
    pub chain_id: u64,
    /// Account that sent the deployment transactions.
    pub deployer: Address,
    /// Contracts by name (`Marketplace`, `Attestations`).
    pub contracts: BTreeMap<String, DeployedContract>,
    /// Compiler version and settings of the deployed code.
    pub compiler: CompilerInfo,
    /// solc settings of the deployed code.
    pub settings: serde_json::Value,
    /// Source commit, if the deployer knew it.
    pub source_commit: Option<String>,
}

impl DeploymentManifest {
    /// Address of the named contract.
    pub fn address(&self, name: &str) -> ContractsResult<Address> {
        self.contracts
            .get(name)
            .map(|c| c.address)
            .ok_or_else(|| ContractsError::MissingContract(name.to_string()))
    }

    /// Writes the manifest as pretty JSON.
    pub fn save(&self, path: impl AsRef<Path>) -> ContractsResult<()> {
        let path = path.as_ref();
        let json = serde_json::to_string_pretty(self).map_err(|source| ContractsError::Json {
            path: path.to_path_buf(),
            source,
        })?;
        std::fs::write(path, json + "\n").map_err(|source| ContractsError::Io {
            path: path.to_path_buf(),
            source,
        })
    }

    /// Reads a manifest written by [`DeploymentManifest::save`].
    pub fn load(path: impl AsRef<Path>) -> ContractsResult<Self> {
        let path = path.as_ref();
        let text = std::fs::read_to_string(path).map_err(|source| ContractsError::Io {
            path: path.to_path_buf(),
            source,
        })?;
        serde_json::from_str(&text).map_err(|source| ContractsError::Json {
            path: path.to_path_buf(),
            source,
        })
    }
}
