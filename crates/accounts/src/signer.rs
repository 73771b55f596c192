//! Which account signs: the choice every client makes the same way.

use std::path::{Path, PathBuf};

use alloy_signer::Signer as _;
use alloy_signer_local::PrivateKeySigner;

use crate::{
    AccountsError, AccountsResult, DEFAULT_KEY_ENV, Keystore, check_dev_account_allowed,
    default_data_dir, dev_signer, keystore::looks_like_path, parse_private_key, prompt_passphrase,
    read_passphrase_file,
};

/// Where the signing key comes from. Precedence: the dev account, then the keystore, then the private key in
/// an environment variable (`private_key_env`, else [`DEFAULT_KEY_ENV`]).
///
/// A private key is never a field: a client reads it from the environment, so it shows up in neither `ps` nor
/// shell history.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SignerChoice {
    /// Dev account N (0-9) of the `test ... junk` mnemonic; only on the local dev chain.
    pub dev_account: Option<u32>,
    /// A keystore name (in the data directory's `keystore/` folder) or the path of a V3 keystore file.
    pub keystore: Option<String>,
    /// The file whose first line is the keystore's passphrase; without it, the passphrase is asked for.
    pub passphrase_file: Option<PathBuf>,
    /// The environment variable holding the private key, if not [`DEFAULT_KEY_ENV`].
    pub private_key_env: Option<String>,
}

impl SignerChoice {
    /// Signs with dev account `index`.
    pub fn with_dev_account(mut self, index: u32) -> Self {
        self.dev_account = Some(index);
        self
    }

    /// Signs with this keystore (a name or a path).
    pub fn with_keystore(mut self, keystore: impl Into<String>) -> Self {
        self.keystore = Some(keystore.into());
        self
    }

    /// Reads the keystore's passphrase from this file.
    pub fn with_passphrase_file(mut self, file: impl Into<PathBuf>) -> Self {
        self.passphrase_file = Some(file.into());
        self
    }

    /// Reads the private key from this environment variable.
    pub fn with_private_key_env(mut self, var: impl Into<String>) -> Self {
        self.private_key_env = Some(var.into());
        self
    }

    /// The signer chosen, for a chain with this id; keystore names are looked up in [`default_data_dir`].
    pub fn signer(&self, chain_id: u64) -> AccountsResult<PrivateKeySigner> {
        self.signer_with(chain_id, None, &|var| std::env::var(var).ok())
    }

    /// As [`SignerChoice::signer`], with keystore names looked up in `data_dir`'s `keystore/` folder.
    pub fn signer_in(&self, chain_id: u64, data_dir: &Path) -> AccountsResult<PrivateKeySigner> {
        self.signer_with(chain_id, Some(data_dir), &|var| std::env::var(var).ok())
    }

    /// Whether any account was chosen explicitly or through the default environment variable.
    pub fn is_configured(&self) -> bool {
        self.dev_account.is_some()
            || self.keystore.is_some()
            || std::env::var_os(self.key_env()).is_some_and(|v| !v.is_empty())
    }

    /// The environment variable the private key is read from.
    pub fn key_env(&self) -> &str {
        self.private_key_env.as_deref().unwrap_or(DEFAULT_KEY_ENV)
    }

    /// The signer chosen, with keystore names looked up in `data_dir` (else [`default_data_dir`]) and
    /// environment variables read through `env`.
    pub fn signer_with(
        &self,
        chain_id: u64,
        data_dir: Option<&Path>,
        env: &dyn Fn(&str) -> Option<String>,
    ) -> AccountsResult<PrivateKeySigner> {
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
                Some(text) => {
                    parse_private_key(&text).map_err(|e| AccountsError::KeyEnvInvalid {
                        var: var.to_string(),
                        source: Box::new(e),
                    })?
                }
                None if self.private_key_env.is_some() => {
                    return Err(AccountsError::KeyEnvUnset {
                        var: var.to_string(),
                    });
                }
                None => return Err(AccountsError::NoSigner),
            }
        };
        Ok(signer.with_chain_id(Some(chain_id)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::DEV_CHAIN_ID;
    use alloy_primitives::Address;
    use std::fs;

    /// Dev account 0 of the `test ... junk` mnemonic (public knowledge, as in anvil and hardhat).
    const DEV0_KEY: &str = "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80";
    const DEV0: &str = "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266";

    fn no_env(_: &str) -> Option<String> {
        None
    }

    #[test]
    fn dev_accounts_only_on_the_dev_chain() {
        let a = SignerChoice::default().with_dev_account(0);
        let signer = a.signer_with(DEV_CHAIN_ID, None, &no_env).unwrap();
        assert_eq!(signer.address().to_checksum(None), DEV0);
        assert_eq!(signer.chain_id(), Some(DEV_CHAIN_ID));
        let err = a
            .signer_with(11_155_111, None, &no_env)
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("Ethereum Sepolia (chain id 11155111)") && err.contains("--keystore NAME"),
            "{err}"
        );
        assert!(
            dev_signer(10)
                .unwrap_err()
                .to_string()
                .contains("there are 10 dev accounts, 0 to 9; got 10")
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
        let a = SignerChoice::default().with_private_key_env("MY_KEY");
        assert_eq!(
            a.signer_with(1, None, &env)
                .unwrap()
                .address()
                .to_checksum(None),
            DEV0
        );
        let a = SignerChoice::default().with_private_key_env("OTHER");
        let err = a.signer_with(1, None, &env).unwrap_err().to_string();
        assert!(err.contains("OTHER is not set"), "{err}");
        let default = |var: &str| {
            (var == DEFAULT_KEY_ENV).then(|| DEV0_KEY.trim_start_matches("0x").to_string())
        };
        assert_eq!(
            SignerChoice::default()
                .signer_with(1, None, &default)
                .unwrap()
                .address()
                .to_checksum(None),
            DEV0
        );
        let err = SignerChoice::default()
            .signer_with(1, None, &no_env)
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("no account to sign with") && err.contains("scal3ml account new"),
            "{err}"
        );
    }

    #[test]
    fn a_choice_unlocks_a_keystore_by_name_or_path_with_a_passphrase_file() {
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
            let a = SignerChoice::default()
                .with_keystore(keystore)
                .with_passphrase_file(pass);
            let unlocked = a.signer_with(1, Some(data.path()), &no_env).unwrap();
            assert_eq!(unlocked.address().to_checksum(None), DEV0);
        }
        let a = SignerChoice::default()
            .with_keystore("nobody")
            .with_passphrase_file(pass);
        let err = a
            .signer_with(1, Some(data.path()), &no_env)
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("no keystore named nobody") && err.contains("scal3ml account list"),
            "{err}"
        );
        fs::write(data.path().join("wrong.txt"), "pass phrase2\n").unwrap();
        let wrong = data.path().join("wrong.txt");
        let a = SignerChoice::default()
            .with_keystore(DEV0)
            .with_passphrase_file(wrong);
        let err = a
            .signer_with(1, Some(data.path()), &no_env)
            .unwrap_err()
            .to_string();
        assert!(err.contains("wrong passphrase"), "{err}");
    }
}
