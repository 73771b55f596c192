//! Accounts that sign transactions: one of the ten dev accounts (on the local dev chain only), a private key
//! read from an environment variable (never from a flag, which `ps` and shell history would show), or an
//! encrypted Ethereum V3 keystore (the JSON format geth, ethers and foundry's `cast wallet` use and MetaMask
//! imports) unlocked with a passphrase from a file or a hidden prompt. docs/accounts.md is the user's guide.
//!
//! Keystores live in `<data dir>/keystore/<name>.json`, the folder mode 0700 and each file 0600. Besides the
//! V3 fields each file records its `address` (as geth does), so listing accounts needs no passphrase.

use std::{
    fs,
    io::Write as _,
    os::unix::fs::{DirBuilderExt as _, OpenOptionsExt as _, PermissionsExt as _},
    path::{Path, PathBuf},
};

use alloy_primitives::{Address, B256};
use alloy_signer::Signer as _;
use alloy_signer_local::{LocalSignerError, PrivateKeySigner};
use anyhow::{Context as _, bail};
use clap::Args;
use scal3ml_primitives::Network;

/// The chain id on which `--dev-account` is accepted.
pub const DEV_CHAIN_ID: u64 = 31_337;
/// Number of dev accounts (`--dev-account 0` to `9`).
pub const DEV_ACCOUNTS: u32 = 10;
/// The environment variable a private key is read from unless `--private-key-env` names another.
pub const DEFAULT_KEY_ENV: &str = "SCAL3ML_PRIVATE_KEY";
/// The environment variable that overrides the default data directory.
pub const DATA_DIR_ENV: &str = "SCAL3ML_DATA_DIR";
/// Longest keystore name.
const MAX_NAME: usize = 64;

/// The per-user data directory: `$SCAL3ML_DATA_DIR` if set, else the platform's data directory plus
/// `scal3ml` (`~/.local/share/scal3ml` on Linux).
pub fn default_data_dir() -> anyhow::Result<PathBuf> {
    if let Some(dir) = std::env::var_os(DATA_DIR_ENV).filter(|d| !d.is_empty()) {
        return Ok(PathBuf::from(dir));
    }
    dirs::data_dir().map(|d| d.join("scal3ml")).ok_or_else(|| {
        anyhow::anyhow!("there is no per-user data directory (is $HOME set?); pass --data-dir DIR or set {DATA_DIR_ENV}")
    })
}

/// Which account signs: flattened into every command that sends transactions.
///
/// Precedence: `--dev-account`, then `--keystore`, then the private key in the environment variable.
#[derive(Debug, Clone, Default, Args)]
pub struct SignerArgs {
    /// Sign with dev account N (0-9) of the `test ... junk` mnemonic. Only on the local dev chain (chain id
    /// 31337): these keys are public.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(0..i64::from(DEV_ACCOUNTS)),
          conflicts_with_all = ["keystore", "private_key_env"])]
    pub dev_account: Option<u32>,
    /// Read the private key (hex) from this environment variable [default: SCAL3ML_PRIVATE_KEY].
    #[arg(long, value_name = "VAR", conflicts_with = "keystore")]
    pub private_key_env: Option<String>,
    /// Sign with this encrypted keystore: a name from `scal3ml account list` or the path of a V3 keystore file.
    #[arg(long, value_name = "NAME|PATH")]
    pub keystore: Option<String>,
    /// Read the keystore's passphrase from this file (its first line) instead of asking for it.
    #[arg(long, value_name = "FILE", requires = "keystore")]
    pub passphrase_file: Option<PathBuf>,
}

impl SignerArgs {
    /// The signer these flags select, for a chain with this id; keystore names are looked up in
    /// [`default_data_dir`]. Errors say what to do.
    pub fn signer(&self, chain_id: u64) -> anyhow::Result<PrivateKeySigner> {
        self.signer_from(chain_id, None, &|var| std::env::var(var).ok())
    }

    /// As [`SignerArgs::signer`], with keystore names looked up in `data_dir`'s `keystore/` folder.
    pub fn signer_in(&self, chain_id: u64, data_dir: &Path) -> anyhow::Result<PrivateKeySigner> {
        self.signer_from(chain_id, Some(data_dir), &|var| std::env::var(var).ok())
    }

    /// Whether any account was chosen explicitly or through the default environment variable.
    pub fn is_configured(&self) -> bool {
        self.dev_account.is_some()
            || self.keystore.is_some()
            || std::env::var_os(self.key_env()).is_some_and(|v| !v.is_empty())
    }

    fn key_env(&self) -> &str {
        self.private_key_env.as_deref().unwrap_or(DEFAULT_KEY_ENV)
    }

    fn signer_from(
        &self,
        chain_id: u64,
        data_dir: Option<&Path>,
        env: &dyn Fn(&str) -> Option<String>,
    ) -> anyhow::Result<PrivateKeySigner> {
        let signer = if let Some(index) = self.dev_account {
            check_dev_account_allowed(chain_id)?;
            dev_signer(index)?
        } else if let Some(keystore) = &self.keystore {
            let dir = match data_dir {
                Some(dir) => dir.to_path_buf(),
                None if looks_like_path(keystore) => PathBuf::new(),
                None => default_data_dir()?,
            };
            let store = Keystore::new(&dir);
            let path = store.resolve(keystore)?;
            let passphrase = match &self.passphrase_file {
                Some(file) => read_passphrase_file(file)?,
                None => prompt_passphrase(&format!("Passphrase for {}: ", path.display()), false)?,
            };
            Keystore::unlock(&path, &passphrase)?
        } else {
            let var = self.key_env();
            match env(var).filter(|v| !v.trim().is_empty()) {
                Some(text) => parse_private_key(&text).with_context(|| {
                    format!("the environment variable {var} does not hold a usable private key")
                })?,
                None if self.private_key_env.is_some() => bail!(
                    "the environment variable {var} is not set or empty; export it with the account's private key \
                     (64 hex digits), or use --keystore NAME"
                ),
                None => bail!(
                    "no account to sign with: pass --keystore NAME (create one with `scal3ml account new` or \
                     `scal3ml account import`), set {DEFAULT_KEY_ENV} to a private key, or, on the local dev chain, \
                     pass --dev-account N (0-9)"
                ),
            }
        };
        Ok(signer.with_chain_id(Some(chain_id)))
    }
}

fn looks_like_path(text: &str) -> bool {
    text.contains('/') || text.ends_with(".json")
}

/// Refuses the dev accounts anywhere but the local dev chain: their keys are public, so anything they hold on a
/// real chain can be taken by anyone.
pub fn check_dev_account_allowed(chain_id: u64) -> anyhow::Result<()> {
    if chain_id == DEV_CHAIN_ID {
        return Ok(());
    }
    let which = match Network::by_chain_id(chain_id) {
        Some(network) => format!("{} (chain id {chain_id})", network.title),
        None => format!("chain id {chain_id}"),
    };
    bail!(
        "--dev-account only works on the local dev chain (chain id {DEV_CHAIN_ID}), and this is {which}: the dev \
         accounts' keys are public, so anything they hold on a real chain can be taken by anyone. Use --keystore NAME \
         (`scal3ml account new` creates one) or a private key in {DEFAULT_KEY_ENV}"
    )
}

/// Dev account `index` (0-9) of the `test test ... junk` mnemonic, as `scal3ml dev` and `scal3ml devnet` fund
/// them. Does not check the chain: see [`check_dev_account_allowed`].
pub fn dev_signer(index: u32) -> anyhow::Result<PrivateKeySigner> {
    if index >= DEV_ACCOUNTS {
        bail!(
            "there are {DEV_ACCOUNTS} dev accounts, 0 to {}; got {index}",
            DEV_ACCOUNTS - 1
        );
    }
    let accounts =
        scal3ml_devnet::DevAccounts::from_mnemonic(scal3ml_devnet::DEFAULT_MNEMONIC, index + 1)
            .map_err(|e| anyhow::anyhow!("{e}"))?;
    let (_, key) = accounts.keys()[index as usize];
    Ok(PrivateKeySigner::from_bytes(&key)?)
}

/// A private key from text: 64 hex digits, with or without `0x`. The error never repeats the text.
pub fn parse_private_key(text: &str) -> anyhow::Result<PrivateKeySigner> {
    let text = text.trim();
    let digits = text.strip_prefix("0x").unwrap_or(text);
    if digits.len() != 64 || !digits.bytes().all(|b| b.is_ascii_hexdigit()) {
        bail!(
            "a private key is 64 hex digits, optionally after 0x (got {} characters{})",
            text.chars().count(),
            if digits.bytes().all(|b| b.is_ascii_hexdigit()) {
                ""
            } else {
                ", not all hex"
            }
        );
    }
    let key: B256 = digits.parse().expect("64 hex digits are 32 bytes");
    PrivateKeySigner::from_bytes(&key).map_err(|_| {
        anyhow::anyhow!(
            "the value is 32 bytes but not a valid secp256k1 private key (zero or too large)"
        )
    })
}

/// Reads a passphrase from the first line of a file (a trailing newline is not part of it).
pub fn read_passphrase_file(path: &Path) -> anyhow::Result<String> {
    let text = fs::read_to_string(path).with_context(|| {
        format!(
            "cannot read the passphrase file {}; check the path and its permissions",
            path.display()
        )
    })?;
    let line = text.split('\n').next().unwrap_or_default();
    Ok(line.strip_suffix('\r').unwrap_or(line).to_string())
}

/// Asks for a passphrase on the terminal without echo; with `confirm`, asks twice and compares.
pub fn prompt_passphrase(prompt: &str, confirm: bool) -> anyhow::Result<String> {
    let no_tty = |e: std::io::Error| {
        anyhow::anyhow!(
            "cannot ask for the passphrase ({e}: no terminal?); pass --passphrase-file FILE instead"
        )
    };
    let first = rpassword::prompt_password(prompt).map_err(no_tty)?;
    if confirm {
        let again = rpassword::prompt_password("Repeat the passphrase: ").map_err(no_tty)?;
        if again != first {
            bail!("the two passphrases differ; run the command again");
        }
    }
    Ok(first)
}

/// One account in the keystore folder.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct KeystoreEntry {
    /// The name (`--keystore NAME`): the file name without `.json`.
    pub name: String,
    /// The address the file records; `None` for a V3 file without one (its passphrase reveals it). In JSON
    /// checksummed (EIP-55), as people see it elsewhere.
    #[serde(serialize_with = "checksummed")]
    pub address: Option<Address>,
    /// The file.
    pub path: PathBuf,
}

fn checksummed<S: serde::Serializer>(address: &Option<Address>, s: S) -> Result<S::Ok, S::Error> {
    match address {
        Some(a) => s.serialize_str(&a.to_checksum(None)),
        None => s.serialize_none(),
    }
}

/// The keystore folder of a data directory.
#[derive(Debug, Clone)]
pub struct Keystore {
    dir: PathBuf,
}

impl Keystore {
    /// The keystore folder of `data_dir` (`<data_dir>/keystore`); nothing is created until an account is.
    pub fn new(data_dir: &Path) -> Self {
        Self {
            dir: data_dir.join("keystore"),
        }
    }

    /// The folder.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Encrypts `signer`'s key under `passphrase` (scrypt, AES-128-CTR) into `<name>.json`, mode 0600. The name
    /// defaults to the checksummed address. Refuses to replace an existing file.
    pub fn create(
        &self,
        name: Option<&str>,
        signer: &PrivateKeySigner,
        passphrase: &str,
    ) -> anyhow::Result<KeystoreEntry> {
        if passphrase.is_empty() {
            bail!("the passphrase is empty, which would leave the key unprotected; choose one");
        }
        let address = signer.address();
        let name = match name {
            Some(name) => {
                check_name(name)?;
                name.to_string()
            }
            None => address.to_checksum(None),
        };
        self.ensure_dir()?;
        let path = self.dir.join(format!("{name}.json"));
        if path.exists() {
            bail!(
                "a keystore named {name} already exists ({}); choose another --name",
                path.display()
            );
        }
        // eth-keystore writes the file itself, with the default mode: let it write a hidden temporary file inside
        // the 0700 folder, then write the final file with mode 0600 and the address added.
        let temp_name = format!(".{name}.json.{}.tmp", std::process::id());
        let temp = self.dir.join(&temp_name);
        let written = eth_keystore::encrypt_key(
            &self.dir,
            &mut rand::thread_rng(),
            signer.to_bytes(),
            passphrase,
            Some(&temp_name),
        );
        let result = written
            .map_err(anyhow::Error::from)
            .and_then(|_| {
                let mut json: serde_json::Value = serde_json::from_slice(&fs::read(&temp)?)?;
                json["address"] = serde_json::Value::String(alloy_primitives::hex::encode(address));
                let mut file = fs::OpenOptions::new()
                    .write(true)
                    .create_new(true)
                    .mode(0o600)
                    .open(&path)?;
                file.write_all(&serde_json::to_vec(&json)?)?;
                file.sync_all()?;
                Ok(())
            })
            .with_context(|| format!("cannot write the keystore {}", path.display()));
        let _ = fs::remove_file(&temp);
        result?;
        Ok(KeystoreEntry {
            name,
            address: Some(address),
            path,
        })
    }

    fn ensure_dir(&self) -> anyhow::Result<()> {
        fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(&self.dir)
            .with_context(|| format!("cannot create the keystore folder {}", self.dir.display()))?;
        fs::set_permissions(&self.dir, fs::Permissions::from_mode(0o700))
            .with_context(|| format!("cannot make {} private (mode 0700)", self.dir.display()))
    }

    /// The accounts in the folder, by name. Files that are not V3 keystores are skipped with a warning.
    pub fn list(&self) -> anyhow::Result<Vec<KeystoreEntry>> {
        let entries = match fs::read_dir(&self.dir) {
            Ok(entries) => entries,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => {
                return Err(e).with_context(|| {
                    format!("cannot read the keystore folder {}", self.dir.display())
                });
            }
        };
        let mut out = Vec::new();
        for entry in entries {
            let path = entry?.path();
            let Some(name) = path
                .file_name()
                .and_then(|n| n.to_str())
                .and_then(|n| n.strip_suffix(".json"))
                .filter(|n| !n.starts_with('.'))
            else {
                continue;
            };
            match read_keystore_address(&path) {
                Ok(address) => out.push(KeystoreEntry {
                    name: name.to_string(),
                    address,
                    path,
                }),
                Err(e) => {
                    tracing::warn!(target: "wallet", path = %path.display(), "skipped: {e:#}")
                }
            }
        }
        out.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(out)
    }

    /// The file for `--keystore NAME|PATH`: an existing path as given, else `<dir>/<NAME>.json`.
    pub fn resolve(&self, name_or_path: &str) -> anyhow::Result<PathBuf> {
        if looks_like_path(name_or_path) {
            let path = PathBuf::from(name_or_path);
            if path.is_file() {
                return Ok(path);
            }
            bail!(
                "no keystore file at {name_or_path}; check the path, or give a name from `scal3ml account list`"
            );
        }
        check_name(name_or_path)?;
        let path = self.dir.join(format!("{name_or_path}.json"));
        if path.is_file() {
            return Ok(path);
        }
        bail!(
            "no keystore named {name_or_path} in {}; `scal3ml account list` shows the accounts there, \
             `scal3ml account new` or `scal3ml account import` adds one (or pass --data-dir)",
            self.dir.display()
        )
    }

    /// Decrypts a V3 keystore file. A wrong passphrase is told apart from a damaged or foreign file.
    pub fn unlock(path: &Path, passphrase: &str) -> anyhow::Result<PrivateKeySigner> {
        let signer = PrivateKeySigner::decrypt_keystore(path, passphrase).map_err(|e| match e {
            LocalSignerError::EthKeystoreError(eth_keystore::KeystoreError::MacMismatch) => anyhow::anyhow!(
                "wrong passphrase for the keystore {} (its MAC does not match); try again, or check the \
                 --passphrase-file",
                path.display()
            ),
            LocalSignerError::EthKeystoreError(eth_keystore::KeystoreError::StdIo(e)) => {
                anyhow::anyhow!("cannot read the keystore {}: {e}", path.display())
            }
            LocalSignerError::EthKeystoreError(eth_keystore::KeystoreError::SerdeJson(e)) => anyhow::anyhow!(
                "{} is not an Ethereum V3 keystore ({e}); give a keystore JSON file or a name from `scal3ml account list`",
                path.display()
            ),
            LocalSignerError::EthKeystoreError(eth_keystore::KeystoreError::ScryptInvalidParams(_)) => anyhow::anyhow!(
                "the keystore {} uses scrypt parameters outside RFC 7914 (N must be below 2^(16 r)), which this \
                 decoder refuses; export the key from the tool that wrote it and `scal3ml account import` it",
                path.display()
            ),
            other => anyhow::anyhow!("cannot unlock the keystore {}: {other}", path.display()),
        })?;
        if let Some(recorded) = read_keystore_address(path)?
            && recorded != signer.address()
        {
            bail!(
                "the keystore {} records address {recorded} but holds the key of {}; the file was altered: do not use it",
                path.display(),
                signer.address()
            );
        }
        Ok(signer)
    }
}

/// The `address` a V3 keystore records, if any; an error if the file is not a V3 keystore at all.
fn read_keystore_address(path: &Path) -> anyhow::Result<Option<Address>> {
    let json: serde_json::Value = serde_json::from_slice(&fs::read(path)?)
        .with_context(|| format!("{} is not JSON", path.display()))?;
    if json.get("version").and_then(|v| v.as_u64()) != Some(3)
        || (json.get("crypto").is_none() && json.get("Crypto").is_none())
    {
        bail!("{} is not a version 3 keystore", path.display());
    }
    match json.get("address").and_then(|a| a.as_str()) {
        None => Ok(None),
        Some(text) => {
            let hex = text.strip_prefix("0x").unwrap_or(text);
            Ok(Some(format!("0x{hex}").parse().with_context(|| {
                format!(
                    "{} records an address that is not one ({text})",
                    path.display()
                )
            })?))
        }
    }
}

/// A keystore name: 1 to 64 of letters, digits, `.`, `_`, `-`, not starting with `.`.
fn check_name(name: &str) -> anyhow::Result<()> {
    let ok = !name.is_empty()
        && name.len() <= MAX_NAME
        && !name.starts_with('.')
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'));
    if !ok {
        bail!(
            "{name:?} is not a keystore name: use 1 to {MAX_NAME} letters, digits, '.', '_' or '-', not starting with \
             '.' (or give a path to a keystore file)"
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloy_signer::SignerSync as _;
    use clap::Parser;

    /// Dev account 0 of the `test ... junk` mnemonic (public knowledge, as in anvil and hardhat).
    const DEV0_KEY: &str = "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80";
    const DEV0: &str = "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266";

    #[derive(Debug, Parser)]
    struct Cmd {
        #[command(flatten)]
        signer: SignerArgs,
    }

    fn args(list: &[&str]) -> Result<SignerArgs, clap::Error> {
        Cmd::try_parse_from(std::iter::once("x").chain(list.iter().copied())).map(|c| c.signer)
    }

    fn no_env(_: &str) -> Option<String> {
        None
    }

    #[test]
    fn dev_accounts_only_on_the_dev_chain() {
        let a = args(&["--dev-account", "0"]).unwrap();
        let signer = a.signer_from(DEV_CHAIN_ID, None, &no_env).unwrap();
        assert_eq!(signer.address().to_checksum(None), DEV0);
        assert_eq!(signer.chain_id(), Some(DEV_CHAIN_ID));
        let err = a
            .signer_from(11_155_111, None, &no_env)
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("Ethereum Sepolia (chain id 11155111)") && err.contains("--keystore NAME"),
            "{err}"
        );
        assert!(args(&["--dev-account", "10"]).is_err(), "0-9 only");
        assert!(
            args(&["--dev-account", "1", "--keystore", "k"]).is_err(),
            "one source only"
        );
        assert_eq!(
            dev_signer(9).unwrap().address(),
            "0xa0Ee7A142d267C1f36714E4a8F75612F20a79720"
                .parse::<Address>()
                .unwrap()
        );
    }

    #[test]
    fn private_key_from_the_named_environment_variable() {
        let env = |var: &str| (var == "MY_KEY").then(|| format!("  {DEV0_KEY}\n"));
        let a = args(&["--private-key-env", "MY_KEY"]).unwrap();
        assert_eq!(
            a.signer_from(1, None, &env)
                .unwrap()
                .address()
                .to_checksum(None),
            DEV0
        );
        let a = args(&["--private-key-env", "OTHER"]).unwrap();
        let err = a.signer_from(1, None, &env).unwrap_err().to_string();
        assert!(err.contains("OTHER is not set"), "{err}");
        let default = |var: &str| {
            (var == DEFAULT_KEY_ENV).then(|| DEV0_KEY.trim_start_matches("0x").to_string())
        };
        assert_eq!(
            args(&[])
                .unwrap()
                .signer_from(1, None, &default)
                .unwrap()
                .address()
                .to_checksum(None),
            DEV0
        );
        let err = args(&[])
            .unwrap()
            .signer_from(1, None, &no_env)
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("no account to sign with") && err.contains("scal3ml account new"),
            "{err}"
        );
    }

    #[test]
    fn a_bad_private_key_is_refused_without_repeating_it() {
        let secret = "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff8g";
        let err = format!("{:#}", parse_private_key(secret).unwrap_err());
        assert!(!err.contains("ac0974"), "{err}");
        assert!(
            err.contains("64 hex digits") && err.contains("not all hex"),
            "{err}"
        );
        assert!(
            parse_private_key(&"0".repeat(64))
                .unwrap_err()
                .to_string()
                .contains("not a valid secp256k1")
        );
    }

    #[test]
    fn keystore_round_trip_file_modes_and_a_wrong_passphrase() {
        let data = tempfile::tempdir().unwrap();
        let store = Keystore::new(data.path());
        let signer = PrivateKeySigner::random();
        let entry = store
            .create(Some("alice"), &signer, "correct horse")
            .unwrap();
        assert_eq!(entry.path, data.path().join("keystore/alice.json"));
        assert_eq!(
            fs::metadata(&entry.path).unwrap().permissions().mode() & 0o777,
            0o600
        );
        assert_eq!(
            fs::metadata(store.dir()).unwrap().permissions().mode() & 0o777,
            0o700
        );
        assert_eq!(
            store.list().unwrap(),
            std::slice::from_ref(&entry),
            "no temporary file is left behind"
        );

        // The file is a V3 keystore the reference decoder reads, with the address geth also writes.
        let json: serde_json::Value =
            serde_json::from_slice(&fs::read(&entry.path).unwrap()).unwrap();
        assert_eq!(json["version"], 3);
        assert_eq!(json["crypto"]["kdf"], "scrypt");
        assert_eq!(json["crypto"]["cipher"], "aes-128-ctr");
        assert_eq!(
            json["address"],
            alloy_primitives::hex::encode(signer.address())
        );
        let raw = eth_keystore::decrypt_key(&entry.path, "correct horse").unwrap();
        assert_eq!(raw, signer.to_bytes().to_vec());

        let unlocked = Keystore::unlock(&entry.path, "correct horse").unwrap();
        assert_eq!(unlocked.address(), signer.address());
        let err = Keystore::unlock(&entry.path, "wrong horse")
            .unwrap_err()
            .to_string();
        assert!(
            err.starts_with("wrong passphrase for the keystore"),
            "{err}"
        );

        let err = store
            .create(Some("alice"), &signer, "x")
            .unwrap_err()
            .to_string();
        assert!(err.contains("already exists"), "{err}");
        let err = store
            .create(Some("../evil"), &signer, "x")
            .unwrap_err()
            .to_string();
        assert!(err.contains("is not a keystore name"), "{err}");
        assert!(
            store.create(Some("bob"), &signer, "").is_err(),
            "an empty passphrase is refused"
        );
    }

    #[test]
    fn signer_args_unlock_a_keystore_by_name_or_path_with_a_passphrase_file() {
        let data = tempfile::tempdir().unwrap();
        let store = Keystore::new(data.path());
        let signer = parse_private_key(DEV0_KEY).unwrap();
        let entry = store.create(None, &signer, "pass phrase").unwrap();
        assert_eq!(
            entry.name, DEV0,
            "the default name is the checksummed address"
        );
        let pass = data.path().join("pass.txt");
        fs::write(&pass, "pass phrase\n").unwrap();
        let pass = pass.to_str().unwrap();
        for keystore in [DEV0, entry.path.to_str().unwrap()] {
            let a = args(&["--keystore", keystore, "--passphrase-file", pass]).unwrap();
            let unlocked = a.signer_from(1, Some(data.path()), &no_env).unwrap();
            assert_eq!(unlocked.address().to_checksum(None), DEV0);
        }
        let a = args(&["--keystore", "nobody", "--passphrase-file", pass]).unwrap();
        let err = a
            .signer_from(1, Some(data.path()), &no_env)
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("no keystore named nobody") && err.contains("scal3ml account list"),
            "{err}"
        );
        fs::write(data.path().join("wrong.txt"), "pass phrase2\n").unwrap();
        let wrong = data.path().join("wrong.txt");
        let a = args(&[
            "--keystore",
            DEV0,
            "--passphrase-file",
            wrong.to_str().unwrap(),
        ])
        .unwrap();
        let err = a
            .signer_from(1, Some(data.path()), &no_env)
            .unwrap_err()
            .to_string();
        assert!(err.contains("wrong passphrase"), "{err}");
    }

    /// The PBKDF2 test vector of the Web3 Secret Storage Definition (password `testpassword`).
    const SPEC_PBKDF2: &str = r#"{"crypto":{"cipher":"aes-128-ctr","cipherparams":{"iv":"6087dab2f9fdbbfaddc31a909735c1e6"},
        "ciphertext":"5318b4d5bcd28de64ee5559e671353e16f075ecae9f99c7a79a38af5f869aa46","kdf":"pbkdf2",
        "kdfparams":{"c":262144,"dklen":32,"prf":"hmac-sha256","salt":"ae3cd4e7013836a3df6bd7241b12db061dbe2c6785853cce422d148a624ce0bd"},
        "mac":"517ead924a9d0dc3124507e3393d175ce3ff7c1e96529c6c555ce9e51205e9b2"},
        "id":"3198bc9c-6672-5ab3-d995-4942343ae5b6","version":3}"#;
    /// The scrypt test vector of the same definition. Its parameters (N = 2^18 with r = 1) break RFC 7914's
    /// N < 2^(16 r), so RustCrypto's scrypt, under eth-keystore, refuses them; keystores that geth, MetaMask
    /// or ethers write (N = 2^18, r = 8) are within it.
    const SPEC_SCRYPT: &str = r#"{"crypto":{"cipher":"aes-128-ctr","cipherparams":{"iv":"83dbcc02d8ccb40e466191a123791e0e"},
        "ciphertext":"d172bf743a674da9cdad04534d56926ef8358534d458fffccd4e6ad2fbde479c","kdf":"scrypt",
        "kdfparams":{"dklen":32,"n":262144,"p":8,"r":1,"salt":"ab0c7876052600dd703518d6fc3fe8984592145b591fc8fb5c6d43190334ba19"},
        "mac":"2103ac29920d71da29f15d75b4a16dbe95cfd7ff8faea1056c33131d846e3097"},
        "id":"3198bc9c-6672-5ab3-d995-4942343ae5b6","version":3}"#;

    #[test]
    fn the_web3_secret_storage_test_vector_unlocks_to_its_address() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("pbkdf2.json");
        fs::write(&path, SPEC_PBKDF2).unwrap();
        let signer = Keystore::unlock(&path, "testpassword").unwrap();
        assert_eq!(
            signer.to_bytes().to_string(),
            "0x7a28b5ba57c53603b0b07b56bba752f7784bf506fa95edc395f5cf6c7514fe9d"
        );
        assert_eq!(
            signer.address(),
            "0x008aeeda4d805471df9b2a5b0f38a0c3bcba786b"
                .parse::<Address>()
                .unwrap()
        );
        let err = Keystore::unlock(&path, "testpasswore")
            .unwrap_err()
            .to_string();
        assert!(err.contains("wrong passphrase"), "{err}");
        let path = dir.path().join("scrypt.json");
        fs::write(&path, SPEC_SCRYPT).unwrap();
        let err = Keystore::unlock(&path, "testpassword")
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("outside RFC 7914") && err.contains("account import"),
            "{err}"
        );
        // A keystore that records an address other than its key's is refused.
        let mut altered: serde_json::Value = serde_json::from_str(SPEC_PBKDF2).unwrap();
        altered["address"] = "f39fd6e51aad88f6f4ce6ab8827279cfffb92266".into();
        let path = dir.path().join("altered.json");
        fs::write(&path, altered.to_string()).unwrap();
        let err = Keystore::unlock(&path, "testpassword")
            .unwrap_err()
            .to_string();
        assert!(err.contains("the file was altered"), "{err}");
    }

    #[test]
    fn a_signer_from_a_keystore_signs_for_its_address() {
        let data = tempfile::tempdir().unwrap();
        let entry = Keystore::new(data.path())
            .create(Some("signer"), &PrivateKeySigner::random(), "pw")
            .unwrap();
        let signer = Keystore::unlock(&entry.path, "pw").unwrap();
        let signature = signer.sign_message_sync(b"scal3ml").unwrap();
        assert_eq!(
            signature.recover_address_from_msg(b"scal3ml").unwrap(),
            entry.address.unwrap()
        );
    }

    #[test]
    fn passphrase_files_lose_only_the_line_ending() {
        let dir = tempfile::tempdir().unwrap();
        for (content, expected) in [
            ("a b \n", "a b "),
            ("x\r\n", "x"),
            ("y", "y"),
            ("z\nsecond", "z"),
        ] {
            let path = dir.path().join("p");
            fs::write(&path, content).unwrap();
            assert_eq!(read_passphrase_file(&path).unwrap(), expected);
        }
        let err = format!(
            "{:#}",
            read_passphrase_file(&dir.path().join("missing")).unwrap_err()
        );
        assert!(err.contains("cannot read the passphrase file"), "{err}");
    }
}
