//! The signer flags of every command that sends transactions. The accounts themselves (keystores, dev
//! accounts, the data directory, the choice among them) are in scal3ml-accounts, which other clients use too;
//! docs/accounts.md is the user's guide.

use std::path::{Path, PathBuf};

use alloy_signer_local::PrivateKeySigner;
use clap::Args;
use scal3ml_accounts::{DEV_ACCOUNTS, SignerChoice};

/// Which account signs: flattened into every command that sends transactions; the flags of a
/// [`SignerChoice`].
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
    /// The library's choice these flags make.
    pub fn choice(&self) -> SignerChoice {
        SignerChoice {
            dev_account: self.dev_account,
            keystore: self.keystore.clone(),
            passphrase_file: self.passphrase_file.clone(),
            private_key_env: self.private_key_env.clone(),
        }
    }

    /// The signer these flags select, for a chain with this id; keystore names are looked up in
    /// [`scal3ml_accounts::default_data_dir`]. Errors say what to do.
    pub fn signer(&self, chain_id: u64) -> anyhow::Result<PrivateKeySigner> {
        Ok(self.choice().signer(chain_id)?)
    }

    /// As [`SignerArgs::signer`], with keystore names looked up in `data_dir`'s `keystore/` folder.
    pub fn signer_in(&self, chain_id: u64, data_dir: &Path) -> anyhow::Result<PrivateKeySigner> {
        Ok(self.choice().signer_in(chain_id, data_dir)?)
    }

    /// Whether any account was chosen explicitly or through the default environment variable.
    pub fn is_configured(&self) -> bool {
        self.choice().is_configured()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Debug, Parser)]
    struct Cmd {
        #[command(flatten)]
        signer: SignerArgs,
    }

    fn args(list: &[&str]) -> Result<SignerArgs, clap::Error> {
        Cmd::try_parse_from(std::iter::once("x").chain(list.iter().copied())).map(|c| c.signer)
    }

    #[test]
    fn signer_flags_are_one_choice() {
        assert!(args(&["--dev-account", "10"]).is_err(), "0-9 only");
        assert!(
            args(&["--dev-account", "1", "--keystore", "k"]).is_err(),
            "one source only"
        );
        assert!(
            args(&["--private-key-env", "K", "--keystore", "k"]).is_err(),
            "one source only"
        );
        assert!(
            args(&["--passphrase-file", "p"]).is_err(),
            "a passphrase file needs a keystore"
        );
        assert_eq!(
            args(&["--keystore", "alice", "--passphrase-file", "p"])
                .unwrap()
                .choice(),
            SignerChoice::default()
                .with_keystore("alice")
                .with_passphrase_file("p")
        );
        assert_eq!(
            args(&["--private-key-env", "K"]).unwrap().choice(),
            SignerChoice::default().with_private_key_env("K")
        );
        let err = args(&["--dev-account", "0"])
            .unwrap()
            .signer(11_155_111)
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("Ethereum Sepolia (chain id 11155111)") && err.contains("--keystore NAME"),
            "{err}"
        );
    }
}
