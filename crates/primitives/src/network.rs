//! Presets for the chains Scal3ML runs on: name, chain id, a default public RPC endpoint, the block explorer,
//! whether EIP-1559 (type 2) transactions may be sent, and the native currency.
//!
//! The public RPC endpoints are shared and rate limited; for real work pass your own provider's URL
//! (`--rpc-url`). Nothing here opens a connection.

use alloy_primitives::{Address, B256};
use std::{fmt, str::FromStr};

/// A chain Scal3ML knows by name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Network {
    /// The name used on the command line and in config files (`sepolia`).
    pub name: &'static str,
    /// A human title (`Ethereum Sepolia`).
    pub title: &'static str,
    /// The EIP-155 chain id.
    pub chain_id: u64,
    /// A public JSON-RPC endpoint that works without an account.
    pub rpc_url: &'static str,
    /// The block explorer's base URL, without a trailing slash; none for a local chain.
    pub explorer_url: Option<&'static str>,
    /// Whether to send EIP-1559 (type 2) transactions; legacy (type 0) transactions where it is false.
    pub eip1559: bool,
    /// The native currency's symbol (18 decimals on every preset).
    pub currency: &'static str,
}

impl Network {
    /// Ethereum's Sepolia testnet.
    pub const SEPOLIA: Self = Self {
        name: "sepolia",
        title: "Ethereum Sepolia",
        chain_id: 11_155_111,
        rpc_url: "https://ethereum-sepolia-rpc.publicnode.com",
        explorer_url: Some("https://sepolia.etherscan.io"),
        eip1559: true,
        currency: "ETH",
    };

    /// Arbitrum's Sepolia testnet (an optimistic rollup settling on Sepolia). Arbitrum accepts type 2
    /// transactions; its fees have an L2 execution part and an L1 data part, both in `eth_estimateGas`.
    pub const ARBITRUM_SEPOLIA: Self = Self {
        name: "arbitrum-sepolia",
        title: "Arbitrum Sepolia",
        chain_id: 421_614,
        rpc_url: "https://sepolia-rollup.arbitrum.io/rpc",
        explorer_url: Some("https://sepolia.arbiscan.io"),
        eip1559: true,
        currency: "ETH",
    };

    /// Neon EVM's devnet (an EVM running on Solana). EIP-1559 is off: Neon's EVM compatibility documentation
    /// lists only type 0 (legacy) and type 1 (EIP-2930) transactions and says `BASEFEE` returns 0, so there is
    /// no base fee for a type 2 transaction to be priced against. Newer Neon proxy releases mention EIP-1559
    /// support, but a legacy transaction is accepted by every version, so legacy is what we send.
    pub const NEON_DEVNET: Self = Self {
        name: "neon-devnet",
        title: "Neon EVM devnet",
        chain_id: 245_022_926,
        rpc_url: "https://devnet.neonevm.org",
        explorer_url: Some("https://devnet.neonscan.org"),
        eip1559: false,
        currency: "NEON",
    };

    /// A chain on this machine: `scal3ml devnet`/`scal3ml dev`, anvil or hardhat node, all on chain id 31337 with
    /// the `test ... junk` dev accounts. They all price type 2 transactions.
    pub const LOCALHOST: Self = Self {
        name: "localhost",
        title: "Local dev chain",
        chain_id: 31_337,
        rpc_url: "http://127.0.0.1:8545",
        explorer_url: None,
        eip1559: true,
        currency: "ETH",
    };

    /// Every preset.
    pub const ALL: [Self; 4] = [
        Self::SEPOLIA,
        Self::ARBITRUM_SEPOLIA,
        Self::NEON_DEVNET,
        Self::LOCALHOST,
    ];

    /// The preset with this name (case does not matter).
    pub fn by_name(name: &str) -> Option<Self> {
        Self::ALL
            .into_iter()
            .find(|n| n.name.eq_ignore_ascii_case(name.trim()))
    }

    /// The preset with this chain id.
    pub fn by_chain_id(chain_id: u64) -> Option<Self> {
        Self::ALL.into_iter().find(|n| n.chain_id == chain_id)
    }

    /// The names of every preset, for help texts and errors.
    pub fn names() -> Vec<&'static str> {
        Self::ALL.iter().map(|n| n.name).collect()
    }

    /// Whether this is the local dev chain (chain id 31337), where the well-known dev accounts may be used.
    pub fn is_dev(&self) -> bool {
        self.chain_id == Self::LOCALHOST.chain_id
    }

    /// The explorer page of a transaction, if the chain has an explorer.
    pub fn tx_url(&self, hash: B256) -> Option<String> {
        self.explorer_url.map(|base| format!("{base}/tx/{hash}"))
    }

    /// The explorer page of an address (account or contract), if the chain has an explorer.
    pub fn address_url(&self, address: Address) -> Option<String> {
        self.explorer_url
            .map(|base| format!("{base}/address/{}", address.to_checksum(None)))
    }
}

impl fmt::Display for Network {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name)
    }
}

/// A network name that is not a preset.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "unknown network {name:?}: known networks are {}; for another chain give --rpc-url URL (and --deployment FILE)",
    Network::names().join(", ")
)]
pub struct UnknownNetwork {
    /// The name that was given.
    pub name: String,
}

impl FromStr for Network {
    type Err = UnknownNetwork;
    fn from_str(name: &str) -> Result<Self, UnknownNetwork> {
        Self::by_name(name).ok_or_else(|| UnknownNetwork {
            name: name.to_string(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloy_primitives::{address, b256};

    #[test]
    fn presets_have_the_issue_s_chain_ids() {
        let ids: Vec<(&str, u64)> = Network::ALL.iter().map(|n| (n.name, n.chain_id)).collect();
        assert_eq!(
            ids,
            [
                ("sepolia", 11_155_111),
                ("arbitrum-sepolia", 421_614),
                ("neon-devnet", 245_022_926),
                ("localhost", 31_337)
            ]
        );
    }

    #[test]
    fn lookups_by_name_and_chain_id_agree() {
        for network in Network::ALL {
            assert_eq!(Network::by_name(network.name), Some(network));
            assert_eq!(
                Network::by_name(&network.name.to_uppercase()),
                Some(network)
            );
            assert_eq!(Network::by_chain_id(network.chain_id), Some(network));
            assert_eq!(network.to_string().parse::<Network>().unwrap(), network);
        }
        assert_eq!(Network::by_chain_id(1), None);
    }

    #[test]
    fn an_unknown_name_lists_the_known_ones() {
        let err = "mainnet".parse::<Network>().unwrap_err().to_string();
        assert_eq!(
            err,
            "unknown network \"mainnet\": known networks are sepolia, arbitrum-sepolia, neon-devnet, localhost; \
             for another chain give --rpc-url URL (and --deployment FILE)"
        );
    }

    #[test]
    fn explorer_links() {
        let hash = b256!("0x5c504ed432cb51138bcf09aa5e8a410dd4a1e204ef84bfed1be16dfba1b22060");
        let who = address!("0xf39fd6e51aad88f6f4ce6ab8827279cfffb92266");
        assert_eq!(
            Network::SEPOLIA.tx_url(hash).unwrap(),
            "https://sepolia.etherscan.io/tx/0x5c504ed432cb51138bcf09aa5e8a410dd4a1e204ef84bfed1be16dfba1b22060"
        );
        assert_eq!(
            Network::ARBITRUM_SEPOLIA.address_url(who).unwrap(),
            "https://sepolia.arbiscan.io/address/0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266"
        );
        assert_eq!(Network::LOCALHOST.tx_url(hash), None);
    }

    #[test]
    fn only_neon_sends_legacy_transactions_and_only_localhost_is_dev() {
        let legacy: Vec<&str> = Network::ALL
            .iter()
            .filter(|n| !n.eip1559)
            .map(|n| n.name)
            .collect();
        assert_eq!(legacy, ["neon-devnet"]);
        let dev: Vec<&str> = Network::ALL
            .iter()
            .filter(|n| n.is_dev())
            .map(|n| n.name)
            .collect();
        assert_eq!(dev, ["localhost"]);
        assert_eq!(Network::NEON_DEVNET.currency, "NEON");
        for n in Network::ALL {
            assert!(n.rpc_url.starts_with("http"), "{}", n.name);
        }
    }
}
