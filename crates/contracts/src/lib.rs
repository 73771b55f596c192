//! Rust side of the Scal3ML contracts: alloy `sol!` bindings generated from the committed build output in
//! `contracts/out`, [`deploy`] over any alloy provider, and the [`DeploymentManifest`] that records what was
//! deployed where (saved and loaded as JSON). With the `test-utils` feature, [`test_utils`] runs the contracts
//! on an in-process revm chain for tests and gas benchmarks.
//!
//! This crate is not the marketplace SDK (that is `scal3ml-market`) and holds no business logic: the rules
//! live in the Solidity sources under `contracts/src`.

pub mod bindings;
mod deploy;
mod error;
mod manifest;
#[cfg(any(test, feature = "test-utils"))]
pub mod test_utils;

pub use bindings::{Attestations, FeeToken, Marketplace, ProbeAccount, TestToken};
pub use deploy::{Deployment, deploy};
pub use error::{ContractsError, ContractsResult};
pub use manifest::{BuildInfo, DeployedContract, DeploymentManifest, build_info};
