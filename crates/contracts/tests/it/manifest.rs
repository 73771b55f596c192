//! Build info and deployment manifests.

use crate::common::*;
use alloy_primitives::{B256, Bytes, keccak256};
use scal3ml_contracts::{
    ContractsError, DeployedContract, DeploymentManifest, Marketplace, build_info,
};
use std::collections::BTreeMap;

#[test]
fn build_info_describes_the_compiled_artifacts() {
    let info = build_info();
    assert!(
        info.compiler.version.starts_with("0.8.30+commit."),
        "{}",
        info.compiler.version
    );
    assert_eq!(info.settings["evmVersion"], "shanghai");
    assert_eq!(info.settings["optimizer"]["enabled"], true);
    for name in ["Attestations", "Marketplace", "ProbeAccount", "TestToken"] {
        assert!(
            info.contracts.iter().any(|c| c == name),
            "{name} missing from build-info"
        );
    }
    assert!(info.sources.contains_key("src/Marketplace.sol"));
    assert!(
        info.sources
            .keys()
            .any(|k| k.starts_with("@openzeppelin/contracts/token/ERC721/"))
    );
}

#[test]
fn deployed_runtime_code_is_the_artifact_and_the_manifest_round_trips() {
    let w = World::new();
    let runtime = w.chain.code(w.c.marketplace);
    assert_eq!(
        runtime,
        Marketplace::DEPLOYED_BYTECODE,
        "the chain runs exactly the committed runtime code"
    );
    let info = build_info();
    let entry = DeployedContract {
        address: w.c.marketplace,
        transaction_hash: B256::repeat_byte(1),
        block_number: 2,
        block_hash: None,
        creation_code_hash: keccak256(&Marketplace::BYTECODE),
        runtime_code_hash: keccak256(&runtime),
        constructor_args: Bytes::from(vec![0u8; 32]),
    };
    let manifest = DeploymentManifest {
        chain_id: 31337,
        deployer: w.c.admin,
        contracts: BTreeMap::from([("Marketplace".to_string(), entry)]),
        compiler: info.compiler.clone(),
        settings: info.settings.clone(),
        source_commit: Some("abc123".into()),
    };
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("deployment.json");
    manifest.save(&path).unwrap();
    let loaded = DeploymentManifest::load(&path).unwrap();
    assert_eq!(loaded, manifest);
    assert_eq!(loaded.address("Marketplace").unwrap(), w.c.marketplace);
    assert!(
        matches!(loaded.address("Nope"), Err(ContractsError::MissingContract(n)) if n == "Nope")
    );

    std::fs::write(&path, "{ not json").unwrap();
    let err = DeploymentManifest::load(&path).unwrap_err();
    assert!(err.to_string().contains("deployment.json"), "{err}");
    let err = DeploymentManifest::load(dir.path().join("missing.json")).unwrap_err();
    assert!(matches!(err, ContractsError::Io { .. }), "{err}");
}
