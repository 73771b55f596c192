//! The errors of this crate: each says what was wrong and what to do, and none repeats a secret.

use std::path::PathBuf;

use alloy_primitives::Address;

use crate::{DATA_DIR_ENV, DEFAULT_KEY_ENV, DEV_ACCOUNTS, DEV_CHAIN_ID, keystore::MAX_NAME};

/// Result alias of this crate.
pub type AccountsResult<T> = Result<T, AccountsError>;

/// Why an account could not be found, read, written or used.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum AccountsError {
    /// Neither `$SCAL3ML_DATA_DIR` nor a platform data directory.
    #[error(
        "there is no per-user data directory (is $HOME set?); pass --data-dir DIR or set {DATA_DIR_ENV}"
    )]
    NoDataDir,
    /// A dev account was asked for on another chain than the local dev chain.
    #[error(
        "--dev-account only works on the local dev chain (chain id {DEV_CHAIN_ID}), and this is {which}: the dev \
         accounts' keys are public, so anything they hold on a real chain can be taken by anyone. Use --keystore \
         NAME (`scal3ml account new` creates one) or a private key in {DEFAULT_KEY_ENV}"
    )]
    DevAccountRefused {
        /// The chain, as people know it.
        which: String,
    },
    /// A dev account index of 10 or more.
    #[error("there are {DEV_ACCOUNTS} dev accounts, 0 to {last}; got {index}", last = DEV_ACCOUNTS - 1)]
    NoDevAccount {
        /// The index asked for.
        index: u32,
    },
    /// The dev mnemonic could not be derived (a bug, not an input error).
    #[error("{0}")]
    DevDerivation(String),
    /// Text that is not 64 hex digits; the text itself is not kept.
    #[error(
        "a private key is 64 hex digits, optionally after 0x (got {chars} characters{not_hex})"
    )]
    KeyFormat {
        /// Characters given.
        chars: usize,
        /// `", not all hex"` or empty.
        not_hex: &'static str,
    },
    /// 32 bytes that are zero or not below the curve order.
    #[error("the value is 32 bytes but not a valid secp256k1 private key (zero or too large)")]
    KeyOutOfRange,
    /// The named environment variable holds something that is not a private key.
    #[error("the environment variable {var} does not hold a usable private key")]
    KeyEnvInvalid {
        /// The variable.
        var: String,
        /// What is wrong with its value.
        #[source]
        source: Box<AccountsError>,
    },
    /// The environment variable named explicitly is not set.
    #[error(
        "the environment variable {var} is not set or empty; export it with the account's private key (64 hex \
         digits), or use --keystore NAME"
    )]
    KeyEnvUnset {
        /// The variable.
        var: String,
    },
    /// No account was chosen at all.
    #[error(
        "no account to sign with: pass --keystore NAME (create one with `scal3ml account new` or `scal3ml account \
         import`), set {DEFAULT_KEY_ENV} to a private key, or, on the local dev chain, pass --dev-account N (0-9)"
    )]
    NoSigner,
    /// The passphrase file could not be read.
    #[error("cannot read the passphrase file {}; check the path and its permissions", path.display())]
    PassphraseFile {
        /// The file.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// No terminal to ask on.
    #[error(
        "cannot ask for the passphrase ({error}: no terminal?); pass --passphrase-file FILE instead"
    )]
    NoTerminal {
        /// The terminal error.
        error: std::io::Error,
    },
    /// The passphrase and its confirmation differ.
    #[error("the two passphrases differ; run the command again")]
    PassphrasesDiffer,
    /// An empty passphrase for a new keystore.
    #[error("the passphrase is empty, which would leave the key unprotected; choose one")]
    EmptyPassphrase,
    /// A keystore with that name exists.
    #[error("a keystore named {name} already exists ({}); choose another --name", path.display())]
    KeystoreExists {
        /// The name.
        name: String,
        /// Its file.
        path: PathBuf,
    },
    /// Writing a new keystore failed.
    #[error("cannot write the keystore {}", path.display())]
    KeystoreWrite {
        /// The file.
        path: PathBuf,
        /// Why.
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    /// The keystore folder could not be created.
    #[error("cannot create the keystore folder {}", dir.display())]
    KeystoreDirCreate {
        /// The folder.
        dir: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// The keystore folder's mode could not be set.
    #[error("cannot make {} private (mode 0700)", dir.display())]
    KeystoreDirMode {
        /// The folder.
        dir: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// The keystore folder could not be listed.
    #[error("cannot read the keystore folder {}", dir.display())]
    KeystoreDirRead {
        /// The folder.
        dir: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// A file operation failed.
    #[error(transparent)]
    Io(#[from] std::io::Error),
    /// `--keystore PATH` names no file.
    #[error(
        "no keystore file at {given}; check the path, or give a name from `scal3ml account list`"
    )]
    NoKeystoreFile {
        /// The path as given.
        given: String,
    },
    /// `--keystore NAME` names no keystore in the folder.
    #[error(
        "no keystore named {name} in {}; `scal3ml account list` shows the accounts there, `scal3ml account new` \
         or `scal3ml account import` adds one (or pass --data-dir)",
        dir.display()
    )]
    NoKeystoreNamed {
        /// The name.
        name: String,
        /// The keystore folder.
        dir: PathBuf,
    },
    /// The passphrase does not open the keystore.
    #[error(
        "wrong passphrase for the keystore {} (its MAC does not match); try again, or check the --passphrase-file",
        path.display()
    )]
    WrongPassphrase {
        /// The file.
        path: PathBuf,
    },
    /// The keystore file could not be read.
    #[error("cannot read the keystore {}: {error}", path.display())]
    KeystoreRead {
        /// The file.
        path: PathBuf,
        /// Why.
        error: String,
    },
    /// The file is not a V3 keystore the decoder understands.
    #[error(
        "{} is not an Ethereum V3 keystore ({error}); give a keystore JSON file or a name from `scal3ml account list`",
        path.display()
    )]
    NotV3Json {
        /// The file.
        path: PathBuf,
        /// What the decoder said.
        error: String,
    },
    /// scrypt parameters RustCrypto's scrypt refuses.
    #[error(
        "the keystore {} uses scrypt parameters outside RFC 7914 (N must be below 2^(16 r)), which this decoder \
         refuses; export the key from the tool that wrote it and `scal3ml account import` it",
        path.display()
    )]
    ScryptParams {
        /// The file.
        path: PathBuf,
    },
    /// Any other decryption failure.
    #[error("cannot unlock the keystore {}: {error}", path.display())]
    Unlock {
        /// The file.
        path: PathBuf,
        /// What the decoder said.
        error: String,
    },
    /// The recorded address is not the key's.
    #[error(
        "the keystore {} records address {recorded} but holds the key of {actual}; the file was altered: do not use it",
        path.display()
    )]
    KeystoreAltered {
        /// The file.
        path: PathBuf,
        /// The address the file records.
        recorded: Address,
        /// The address of the key inside.
        actual: Address,
    },
    /// The file is not JSON.
    #[error("{} is not JSON", path.display())]
    NotJson {
        /// The file.
        path: PathBuf,
        /// The parser's error.
        #[source]
        source: serde_json::Error,
    },
    /// JSON, but not a version 3 keystore.
    #[error("{} is not a version 3 keystore", path.display())]
    NotV3 {
        /// The file.
        path: PathBuf,
    },
    /// The recorded `address` is not an address.
    #[error("{} records an address that is not one ({text})", path.display())]
    BadAddress {
        /// The file.
        path: PathBuf,
        /// The recorded text.
        text: String,
        /// The parser's error.
        #[source]
        source: alloy_primitives::hex::FromHexError,
    },
    /// A keystore name with characters outside the allowed set.
    #[error(
        "{name:?} is not a keystore name: use 1 to {MAX_NAME} letters, digits, '.', '_' or '-', not starting with \
         '.' (or give a path to a keystore file)"
    )]
    BadName {
        /// The name as given.
        name: String,
    },
}
