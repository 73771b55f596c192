//! The error type of this crate.

use std::path::PathBuf;

/// What can go wrong deploying contracts or handling a deployment manifest.
#[derive(Debug, thiserror::Error)]
pub enum ContractsError {
    /// A transaction or call to the chain failed.
    #[error(
        "deploying {contract} failed: {source}; check the RPC URL, the deployer's balance and the chain id"
    )]
    Deploy {
        /// Which contract was being deployed.
        contract: &'static str,
        /// What the provider said.
        #[source]
        source: Box<alloy::contract::Error>,
    },
    /// Waiting for a receipt failed.
    #[error("no receipt for the deployment of {contract}: {source}")]
    Receipt {
        /// Which contract was being deployed.
        contract: &'static str,
        /// What the provider said.
        #[source]
        source: Box<alloy::providers::PendingTransactionError>,
    },
    /// The deployment transaction was mined but reverted or created nothing.
    #[error("the deployment of {contract} in transaction {tx} did not create a contract")]
    NotCreated {
        /// Which contract was being deployed.
        contract: &'static str,
        /// The transaction hash.
        tx: alloy_primitives::TxHash,
    },
    /// An RPC request (chain id, code) failed.
    #[error("RPC request failed: {0}")]
    Rpc(#[from] alloy::transports::TransportError),
    /// Reading or writing a manifest file failed.
    #[error("cannot access deployment manifest {path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The OS error.
        #[source]
        source: std::io::Error,
    },
    /// A manifest file is not valid JSON of the expected shape.
    #[error("deployment manifest {path} is malformed: {source}; regenerate it by deploying again")]
    Json {
        /// The file.
        path: PathBuf,
        /// What serde said.
        #[source]
        source: serde_json::Error,
    },
    /// A manifest lacks a contract.
    #[error("deployment manifest has no contract named {0}")]
    MissingContract(String),
}

/// Result alias of this crate.
pub type ContractsResult<T> = Result<T, ContractsError>;
