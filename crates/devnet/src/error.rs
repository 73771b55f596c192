//! Errors of the devnet, and their mapping to JSON-RPC error objects (in exactly one place:
//! [`DevnetError::to_rpc`]).

use alloy_primitives::{Bytes, U256};
use serde::Serialize;

/// Result alias for the devnet.
pub type DevnetResult<T> = Result<T, DevnetError>;

/// Everything that can go wrong in the devnet.
#[derive(Debug, thiserror::Error)]
pub enum DevnetError {
    /// The request was not JSON.
    #[error("parse error: {0}")]
    Parse(String),
    /// The JSON was not a valid JSON-RPC request.
    #[error("invalid request: {0}")]
    InvalidRequest(String),
    /// The method does not exist or is not supported.
    #[error("the method {0} does not exist/is not available")]
    MethodNotFound(String),
    /// Parameters of the wrong shape or value.
    #[error("invalid params: {0}")]
    InvalidParams(String),
    /// A transaction was rejected before execution (nonce, funds, gas, chain id, signature...). The message
    /// is the one geth uses.
    #[error("{0}")]
    TxRejected(String),
    /// Execution reverted, with the revert data.
    #[error("execution reverted{}", reason.as_ref().map(|r| format!(": {r}")).unwrap_or_default())]
    Reverted {
        /// Decoded `Error(string)` reason, if any.
        reason: Option<String>,
        /// The raw revert data.
        data: Bytes,
    },
    /// Execution halted (out of gas, invalid opcode...).
    #[error("{0}")]
    Halted(String),
    /// A block, transaction or filter named in the request does not exist.
    #[error("{0}")]
    NotFound(String),
    /// The data directory could not be read or written.
    #[error("storage error in {path}: {source}")]
    Storage {
        /// File or directory concerned.
        path: String,
        /// Underlying error.
        source: std::io::Error,
    },
    /// The data directory holds something this version cannot read.
    #[error(
        "corrupt chain data in {path}: {reason}; move the directory away to start a fresh chain"
    )]
    Corrupt {
        /// File concerned.
        path: String,
        /// What is wrong.
        reason: String,
    },
    /// The configuration is unusable.
    #[error("invalid configuration: {0}")]
    Config(String),
    /// Anything else that should not happen.
    #[error("internal error: {0}")]
    Internal(String),
}

/// A JSON-RPC error object.
#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
pub struct RpcError {
    /// Error code.
    pub code: i64,
    /// Human-readable message.
    pub message: String,
    /// Extra data (revert data for code 3).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub data: Option<serde_json::Value>,
}

impl DevnetError {
    /// The JSON-RPC error object for this error, with the codes geth and anvil use.
    pub fn to_rpc(&self) -> RpcError {
        let (code, data) = match self {
            Self::Parse(_) => (-32700, None),
            Self::InvalidRequest(_) => (-32600, None),
            Self::MethodNotFound(_) => (-32601, None),
            Self::InvalidParams(_) => (-32602, None),
            Self::TxRejected(_) => (-32000, None),
            Self::Reverted { data, .. } => (3, Some(serde_json::Value::String(data.to_string()))),
            Self::Halted(_) | Self::NotFound(_) => (-32000, None),
            Self::Storage { .. } | Self::Corrupt { .. } | Self::Config(_) | Self::Internal(_) => {
                (-32603, None)
            }
        };
        RpcError {
            code,
            message: self.to_string(),
            data,
        }
    }

    /// A revert with its data; decodes an `Error(string)` reason when present.
    pub fn reverted(data: Bytes) -> Self {
        use alloy::sol_types::SolError;
        let reason = alloy::sol_types::Revert::abi_decode(&data)
            .ok()
            .map(|r| r.reason);
        Self::Reverted { reason, data }
    }

    /// geth's message for a sender who cannot pay.
    pub fn insufficient_funds(balance: U256, cost: U256) -> Self {
        Self::TxRejected(format!(
            "insufficient funds for gas * price + value: balance {balance}, tx cost {cost}"
        ))
    }
}
