//! The ten dev accounts of the `test test ... junk` mnemonic, and the one chain they are allowed on.

use alloy_signer_local::PrivateKeySigner;
use scal3ml_primitives::Network;

use crate::{AccountsError, AccountsResult};

/// The chain id on which dev accounts are accepted.
pub const DEV_CHAIN_ID: u64 = 31_337;
/// Number of dev accounts (`--dev-account 0` to `9`).
pub const DEV_ACCOUNTS: u32 = 10;

/// Refuses the dev accounts anywhere but the local dev chain: their keys are public, so anything they hold on a
/// real chain can be taken by anyone.
pub fn check_dev_account_allowed(chain_id: u64) -> AccountsResult<()> {
    if chain_id == DEV_CHAIN_ID {
        return Ok(());
    }
    let which = match Network::by_chain_id(chain_id) {
        Some(network) => format!("{} (chain id {chain_id})", network.title),
        None => format!("chain id {chain_id}"),
    };
    Err(AccountsError::DevAccountRefused { which })
}

/// Dev account `index` (0-9) of the `test test ... junk` mnemonic, as `scal3ml dev` and `scal3ml devnet` fund
/// them. Does not check the chain: see [`check_dev_account_allowed`].
pub fn dev_signer(index: u32) -> AccountsResult<PrivateKeySigner> {
    if index >= DEV_ACCOUNTS {
        return Err(AccountsError::NoDevAccount { index });
    }
    let accounts =
        scal3ml_devnet::DevAccounts::from_mnemonic(scal3ml_devnet::DEFAULT_MNEMONIC, index + 1)
            .map_err(|e| AccountsError::DevDerivation(e.to_string()))?;
    let (_, key) = accounts.keys()[index as usize];
    PrivateKeySigner::from_bytes(&key).map_err(|e| AccountsError::DevDerivation(e.to_string()))
}
