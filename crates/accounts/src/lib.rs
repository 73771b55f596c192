//! Accounts that sign Scal3ML transactions, for every client (the `scal3ml` command, the Python package): the
//! per-user data directory, encrypted Ethereum V3 keystores in it, the ten public dev accounts of the local dev
//! chain, private keys from environment variables, and the choice among them ([`SignerChoice`]). Errors are
//! [`AccountsError`], worded for the person at the keyboard. docs/accounts.md is the user's guide.
//!
//! Not for: command-line parsing (the CLI's clap structs convert into [`SignerChoice`]), sending transactions
//! (scal3ml-market), or node and chain configuration.

mod data_dir;
mod dev;
mod error;
mod key;
mod keystore;
mod passphrase;
mod signer;

pub use data_dir::{DATA_DIR_ENV, default_data_dir};
pub use dev::{DEV_ACCOUNTS, DEV_CHAIN_ID, check_dev_account_allowed, dev_signer};
pub use error::{AccountsError, AccountsResult};
pub use key::{DEFAULT_KEY_ENV, parse_private_key};
pub use keystore::{Keystore, KeystoreEntry};
pub use passphrase::{prompt_passphrase, read_passphrase_file};
pub use signer::SignerChoice;

/// The signer type every function here returns (alloy's local signer).
pub use alloy_signer_local::PrivateKeySigner;
