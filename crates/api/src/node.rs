//! What a node says about itself and answers to an upload.

use alloy_primitives::Address;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// The chain and contracts a node serves: clients read it to know where to send transactions.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct NetworkInfo {
    /// Network name (`dev`, `sepolia`, ...).
    pub name: String,
    /// EIP-155 chain id.
    pub chain_id: u64,
    /// The JSON-RPC endpoint the node itself uses.
    pub rpc_url: String,
    /// A block explorer, if the network has one.
    pub explorer: Option<String>,
    /// Whether the chain takes EIP-1559 transactions (else send legacy ones).
    pub eip1559: bool,
    /// The marketplace contract.
    #[schema(value_type = String, pattern = "^(0x)?[0-9a-fA-F]{40}$")]
    pub marketplace: Address,
    /// The attestations contract.
    #[schema(value_type = String, pattern = "^(0x)?[0-9a-fA-F]{40}$")]
    pub attestations: Address,
    /// The block the marketplace was deployed in: the indexer starts there.
    pub start_block: u64,
    /// ERC-20 tokens known to be accepted for payment (ether is always accepted).
    pub tokens: Vec<TokenInfo>,
    /// The public base URL of this node (its access gateway and trustless gateway).
    pub node_url: String,
}

/// An ERC-20 payment token.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct TokenInfo {
    /// Ticker symbol.
    pub symbol: String,
    /// Contract address.
    #[schema(value_type = String, pattern = "^(0x)?[0-9a-fA-F]{40}$")]
    pub address: Address,
    /// Decimals.
    pub decimals: u8,
}

/// The answer to a CAR upload.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct UploadResult {
    /// The CAR's roots, now pinned.
    pub roots: Vec<String>,
    /// Blocks read from the CAR.
    pub blocks: u64,
    /// How long the node keeps a root no chain event names, in seconds: publish, propose or attest it within
    /// this time, or it is unpinned and collected.
    pub keep_unreferenced_secs: u64,
    /// The IPFS node (Kubo RPC API) a root is copied to and pinned on once a chain event names it, if the node
    /// has one (the pinning service likewise).
    pub replicated_to: Option<String>,
}
