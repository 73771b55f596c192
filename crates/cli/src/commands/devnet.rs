//! `scal3ml devnet`: run the embedded chain alone. Prints the dev accounts and keys, then the line
//! `Listening on HOST:PORT` (stable: scripts parse it), then serves until Ctrl-C or SIGTERM.

use std::{net::IpAddr, path::PathBuf, time::Duration};

use anyhow::Context as _;
use clap::Args;
use scal3ml_devnet::{DEFAULT_MNEMONIC, DevnetConfig, MiningMode};

/// Flags of `scal3ml devnet`.
#[derive(Debug, Args)]
pub(crate) struct DevnetArgs {
    /// Port for JSON-RPC over HTTP and WebSocket (0 picks a free one).
    #[arg(long, default_value_t = 8545, env = "SCAL3ML_DEVNET_PORT")]
    port: u16,
    /// Address to bind.
    #[arg(long, default_value = "127.0.0.1")]
    host: IpAddr,
    /// EIP-155 chain id.
    #[arg(long, default_value_t = 31337)]
    chain_id: u64,
    /// Number of dev accounts derived from the mnemonic.
    #[arg(long, default_value_t = 10)]
    accounts: u32,
    /// Genesis balance of each dev account, in ETH.
    #[arg(long, default_value_t = 10_000)]
    balance: u64,
    /// BIP-39 mnemonic of the dev accounts (derivation path m/44'/60'/0'/0/i).
    #[arg(long, default_value = DEFAULT_MNEMONIC)]
    mnemonic: String,
    /// Block gas limit.
    #[arg(long, default_value_t = 30_000_000)]
    gas_limit: u64,
    /// Base fee of the genesis block, in wei (later blocks follow EIP-1559).
    #[arg(long, default_value_t = 1_000_000_000)]
    base_fee: u64,
    /// Mine a block every N seconds instead of one per transaction.
    #[arg(long, value_name = "SECONDS", conflicts_with = "no_mining")]
    block_time: Option<f64>,
    /// Mine only when asked (evm_mine, anvil_mine).
    #[arg(long)]
    no_mining: bool,
    /// Keep the chain in this directory (created if missing) so it survives restarts; without it the chain
    /// lives in memory.
    #[arg(long, value_name = "DIR")]
    data_dir: Option<PathBuf>,
}

impl DevnetArgs {
    fn into_config(self) -> anyhow::Result<DevnetConfig> {
        let mining = match (self.block_time, self.no_mining) {
            (Some(secs), _) if secs > 0.0 && secs.is_finite() => {
                MiningMode::Interval(Duration::from_secs_f64(secs))
            }
            (Some(secs), _) => {
                anyhow::bail!("--block-time must be a positive number of seconds (got {secs})")
            }
            (None, true) => MiningMode::Manual,
            (None, false) => MiningMode::Instant,
        };
        let wei_per_eth = u256(10).pow(u256(18));
        let mut config = DevnetConfig::default()
            .with_host(self.host)
            .with_port(self.port)
            .with_chain_id(self.chain_id)
            .with_accounts(self.accounts)
            .with_balance(u256(self.balance) * wei_per_eth)
            .with_mnemonic(self.mnemonic)
            .with_gas_limit(self.gas_limit)
            .with_base_fee(self.base_fee)
            .with_mining(mining);
        if let Some(dir) = self.data_dir {
            config = config.with_data_dir(dir);
        }
        Ok(config)
    }
}

fn u256(n: u64) -> alloy_primitives::U256 {
    alloy_primitives::U256::from(n)
}

/// Runs the chain until Ctrl-C or SIGTERM.
pub(crate) async fn run(args: DevnetArgs) -> anyhow::Result<()> {
    let config = args.into_config()?;
    let data_dir = config.data_dir.clone();
    let handle = scal3ml_devnet::spawn(config)
        .await
        .context("starting the devnet")?;
    println!("Chain id: {}", handle.chain_id());
    match &data_dir {
        Some(dir) => println!(
            "Data directory: {} (head block {})",
            dir.display(),
            handle.block_number()
        ),
        None => println!("State: in memory (pass --data-dir to keep it)"),
    }
    println!();
    println!("Accounts and private keys (dev only, never use them on a real network):");
    for (i, (address, key)) in handle.dev_keys().iter().enumerate() {
        println!("({i}) {address} {key}");
    }
    println!();
    println!("Listening on {}", handle.addr());
    wait_for_signal().await;
    eprintln!("shutting down");
    handle.shutdown().await;
    Ok(())
}

pub(crate) async fn wait_for_signal() {
    #[cfg(unix)]
    {
        let mut term =
            tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()).ok();
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {}
            _ = async { match term.as_mut() { Some(t) => { t.recv().await; } None => std::future::pending().await } } => {}
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}

#[cfg(test)]
mod tests {
    use clap::Parser;

    use super::*;

    #[derive(Debug, Parser)]
    struct Wrap {
        #[command(flatten)]
        args: DevnetArgs,
    }

    fn config(args: &[&str]) -> anyhow::Result<DevnetConfig> {
        let mut argv = vec!["devnet"];
        argv.extend_from_slice(args);
        Wrap::try_parse_from(argv)?.args.into_config()
    }

    #[test]
    fn defaults_match_the_documented_ones() {
        let c = config(&[]).unwrap();
        assert_eq!(c.port, 8545);
        assert_eq!(c.host.to_string(), "127.0.0.1");
        assert_eq!(c.chain_id, 31337);
        assert_eq!(c.accounts, 10);
        assert_eq!(
            c.balance,
            alloy_primitives::U256::from(10_000u64)
                * alloy_primitives::U256::from(10u64).pow(alloy_primitives::U256::from(18u64))
        );
        assert_eq!(c.mining, MiningMode::Instant);
        assert!(c.data_dir.is_none());
    }

    #[test]
    fn flags_reach_the_config() {
        let c = config(&[
            "--port",
            "0",
            "--chain-id",
            "5",
            "--accounts",
            "3",
            "--balance",
            "2",
            "--gas-limit",
            "1000000",
            "--base-fee",
            "7",
            "--block-time",
            "0.5",
            "--data-dir",
            "/tmp/x",
        ])
        .unwrap();
        assert_eq!(
            (c.port, c.chain_id, c.accounts, c.gas_limit, c.base_fee),
            (0, 5, 3, 1_000_000, 7)
        );
        assert_eq!(
            c.balance,
            alloy_primitives::U256::from(2_000_000_000_000_000_000u128)
        );
        assert_eq!(c.mining, MiningMode::Interval(Duration::from_millis(500)));
        assert_eq!(c.data_dir.as_deref(), Some(std::path::Path::new("/tmp/x")));
        assert_eq!(config(&["--no-mining"]).unwrap().mining, MiningMode::Manual);
    }

    #[test]
    fn bad_flags_are_refused() {
        assert!(
            config(&["--block-time", "0"])
                .unwrap_err()
                .to_string()
                .contains("positive")
        );
        assert!(config(&["--block-time", "1", "--no-mining"]).is_err());
        assert!(config(&["--port", "70000"]).is_err());
    }
}
