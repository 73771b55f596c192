//! Configuration of a devnet: plain data with `Default` and `with_*` builders.

use std::{
    net::{IpAddr, Ipv4Addr},
    path::PathBuf,
    time::Duration,
};

use alloy_primitives::U256;

/// The mnemonic of the standard dev accounts (hardhat, anvil and ganache share it).
pub const DEFAULT_MNEMONIC: &str = "test test test test test test test test test test test junk";

/// How blocks are produced.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MiningMode {
    /// A block for every transaction, as soon as it arrives (the default).
    Instant,
    /// A block every interval, with whatever is pending (possibly none).
    Interval(Duration),
    /// Only when `evm_mine` is called.
    Manual,
}

/// Everything a devnet needs to start.
#[derive(Clone, Debug)]
pub struct DevnetConfig {
    /// Address to bind.
    pub host: IpAddr,
    /// Port to bind (0 picks a free one).
    pub port: u16,
    /// EIP-155 chain id.
    pub chain_id: u64,
    /// Number of dev accounts derived from the mnemonic.
    pub accounts: u32,
    /// Genesis balance of each dev account, in wei.
    pub balance: U256,
    /// BIP-39 mnemonic for the dev accounts (path m/44'/60'/0'/0/i).
    pub mnemonic: String,
    /// Block gas limit.
    pub gas_limit: u64,
    /// Base fee of the genesis block, in wei.
    pub base_fee: u64,
    /// How blocks are produced.
    pub mining: MiningMode,
    /// Where blocks are stored; `None` keeps the chain in memory.
    pub data_dir: Option<PathBuf>,
    /// Largest accepted HTTP or WebSocket request body, in bytes.
    pub max_body_bytes: usize,
    /// Largest accepted JSON-RPC batch, in requests.
    pub max_batch: usize,
    /// No log output.
    pub quiet: bool,
    /// With a data directory, write a state snapshot every this many blocks (and at clean shutdown), so a
    /// restart replays only the log after it; 0 writes none.
    pub snapshot_every: u64,
}

impl Default for DevnetConfig {
    fn default() -> Self {
        Self {
            host: IpAddr::V4(Ipv4Addr::LOCALHOST),
            port: 8545,
            chain_id: 31337,
            accounts: 10,
            balance: U256::from(10_000u64) * U256::from(10u64).pow(U256::from(18u64)),
            mnemonic: DEFAULT_MNEMONIC.to_owned(),
            gas_limit: 30_000_000,
            base_fee: 1_000_000_000,
            mining: MiningMode::Instant,
            data_dir: None,
            max_body_bytes: 5 * 1024 * 1024,
            max_batch: 1_000,
            quiet: false,
            snapshot_every: 1_000,
        }
    }
}

impl DevnetConfig {
    /// For tests: port 0, state in memory, no logging.
    pub fn test() -> Self {
        Self {
            port: 0,
            quiet: true,
            ..Self::default()
        }
    }

    /// Sets the bind address.
    pub fn with_host(mut self, host: IpAddr) -> Self {
        self.host = host;
        self
    }

    /// Sets the port (0 picks a free one).
    pub fn with_port(mut self, port: u16) -> Self {
        self.port = port;
        self
    }

    /// Sets the chain id.
    pub fn with_chain_id(mut self, chain_id: u64) -> Self {
        self.chain_id = chain_id;
        self
    }

    /// Sets the number of dev accounts.
    pub fn with_accounts(mut self, accounts: u32) -> Self {
        self.accounts = accounts;
        self
    }

    /// Sets each dev account's genesis balance in wei.
    pub fn with_balance(mut self, balance: U256) -> Self {
        self.balance = balance;
        self
    }

    /// Sets the mnemonic.
    pub fn with_mnemonic(mut self, mnemonic: impl Into<String>) -> Self {
        self.mnemonic = mnemonic.into();
        self
    }

    /// Sets the block gas limit.
    pub fn with_gas_limit(mut self, gas_limit: u64) -> Self {
        self.gas_limit = gas_limit;
        self
    }

    /// Sets the genesis base fee in wei.
    pub fn with_base_fee(mut self, base_fee: u64) -> Self {
        self.base_fee = base_fee;
        self
    }

    /// Sets the mining mode.
    pub fn with_mining(mut self, mining: MiningMode) -> Self {
        self.mining = mining;
        self
    }

    /// Stores the chain under `dir` (created if missing).
    pub fn with_data_dir(mut self, dir: impl Into<PathBuf>) -> Self {
        self.data_dir = Some(dir.into());
        self
    }

    /// Sets the request body limit.
    pub fn with_max_body_bytes(mut self, bytes: usize) -> Self {
        self.max_body_bytes = bytes;
        self
    }

    /// Sets the batch length limit.
    pub fn with_max_batch(mut self, len: usize) -> Self {
        self.max_batch = len;
        self
    }

    /// Writes a state snapshot every `blocks` blocks (0: none at all); see `snapshot_every`.
    pub fn with_snapshot_every(mut self, blocks: u64) -> Self {
        self.snapshot_every = blocks;
        self
    }

    /// Silences logging.
    pub fn with_quiet(mut self, quiet: bool) -> Self {
        self.quiet = quiet;
        self
    }
}
