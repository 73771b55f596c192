//! `scal3ml account new|import|list`: accounts in encrypted Ethereum V3 keystores under
//! `<data dir>/keystore/` (see scal3ml-accounts). Commands that send transactions pick one with
//! `--keystore NAME`.

use std::{
    io::Write,
    path::{Path, PathBuf},
};

use alloy_signer_local::PrivateKeySigner;
use anyhow::{Context as _, bail};
use clap::{Args, Subcommand};

use scal3ml_accounts::{self as accounts, DATA_DIR_ENV, Keystore, KeystoreEntry};

/// Flags of `scal3ml account`.
#[derive(Debug, Args)]
pub(crate) struct AccountArgs {
    /// The data directory; keystores live in its `keystore/` folder [default: ~/.local/share/scal3ml].
    #[arg(long, global = true, env = DATA_DIR_ENV, value_name = "DIR")]
    data_dir: Option<PathBuf>,
    /// Machine-readable JSON on stdout.
    #[arg(long, global = true)]
    json: bool,
    #[command(subcommand)]
    command: AccountCommand,
}

#[derive(Debug, Subcommand)]
enum AccountCommand {
    /// Create an account with a new random key, encrypted under a passphrase.
    New {
        /// Name to use it by (`--keystore NAME`) [default: its address].
        #[arg(long)]
        name: Option<String>,
        /// Read the passphrase from this file (its first line) instead of asking twice.
        #[arg(long, value_name = "FILE")]
        passphrase_file: Option<PathBuf>,
    },
    /// Encrypt an existing private key into a keystore (the key is read from an environment variable or asked
    /// for without echo, never taken as a flag).
    Import {
        /// Read the private key from this environment variable [default: ask for it].
        #[arg(long, value_name = "VAR")]
        private_key_env: Option<String>,
        /// Name to use it by (`--keystore NAME`) [default: its address].
        #[arg(long)]
        name: Option<String>,
        /// Read the passphrase from this file (its first line) instead of asking twice.
        #[arg(long, value_name = "FILE")]
        passphrase_file: Option<PathBuf>,
    },
    /// List the accounts in the keystore folder (no passphrase needed).
    List,
}

/// Runs `scal3ml account ...`.
pub(crate) async fn run(args: AccountArgs) -> anyhow::Result<()> {
    let mut stdout = std::io::stdout().lock();
    run_to(args, &mut stdout, &|var| std::env::var(var).ok())
}

fn run_to(
    args: AccountArgs,
    out: &mut dyn Write,
    env: &dyn Fn(&str) -> Option<String>,
) -> anyhow::Result<()> {
    let data_dir = match args.data_dir {
        Some(dir) => dir,
        None => accounts::default_data_dir()?,
    };
    let store = Keystore::new(&data_dir);
    match args.command {
        AccountCommand::New {
            name,
            passphrase_file,
        } => {
            let passphrase = new_passphrase(passphrase_file.as_deref())?;
            let entry = store.create(name.as_deref(), &PrivateKeySigner::random(), &passphrase)?;
            print_created(out, &entry, args.json, "Created")
        }
        AccountCommand::Import {
            private_key_env,
            name,
            passphrase_file,
        } => {
            let signer = match private_key_env {
                Some(var) => {
                    let text = env(&var).filter(|v| !v.trim().is_empty()).with_context(|| {
                        format!("the environment variable {var} is not set or empty; export the private key in it")
                    })?;
                    accounts::parse_private_key(&text).with_context(|| {
                        format!("the environment variable {var} does not hold a private key")
                    })?
                }
                None => {
                    let text = rpassword::prompt_password("Private key (64 hex digits, not shown): ").map_err(|e| {
                        anyhow::anyhow!(
                            "cannot ask for the private key ({e}: no terminal?); pass --private-key-env VAR with the key in VAR"
                        )
                    })?;
                    accounts::parse_private_key(&text)?
                }
            };
            if let Some(existing) = store
                .list()?
                .into_iter()
                .find(|e| e.address == Some(signer.address()))
            {
                eprintln!(
                    "note: this key is already in the keystore as {}; adding it again under another name",
                    existing.name
                );
            }
            let passphrase = new_passphrase(passphrase_file.as_deref())?;
            let entry = store.create(name.as_deref(), &signer, &passphrase)?;
            print_created(out, &entry, args.json, "Imported")
        }
        AccountCommand::List => {
            let entries = store.list()?;
            if args.json {
                writeln!(out, "{}", serde_json::to_string_pretty(&entries)?)?;
            } else if entries.is_empty() {
                eprintln!(
                    "no accounts in {}; create one with `scal3ml account new`",
                    store.dir().display()
                );
            } else {
                let width = entries.iter().map(|e| e.name.len()).max().unwrap_or(0);
                for e in &entries {
                    let address = e
                        .address
                        .map(|a| a.to_checksum(None))
                        .unwrap_or_else(|| "(address not recorded)".into());
                    writeln!(out, "{:width$}  {address}", e.name)?;
                }
            }
            Ok(())
        }
    }
}

fn new_passphrase(file: Option<&Path>) -> anyhow::Result<String> {
    let passphrase = match file {
        Some(file) => accounts::read_passphrase_file(file)?,
        None => accounts::prompt_passphrase("New passphrase: ", true)?,
    };
    if passphrase.is_empty() {
        bail!("the passphrase is empty, which would leave the key unprotected; choose one");
    }
    Ok(passphrase)
}

fn print_created(
    out: &mut dyn Write,
    entry: &KeystoreEntry,
    json: bool,
    verb: &str,
) -> anyhow::Result<()> {
    if json {
        writeln!(out, "{}", serde_json::to_string_pretty(entry)?)?;
    } else {
        let address = entry
            .address
            .map(|a| a.to_checksum(None))
            .unwrap_or_default();
        writeln!(out, "{verb} account {}: {address}", entry.name)?;
        writeln!(out, "Keystore: {}", entry.path.display())?;
        writeln!(
            out,
            "Use it with --keystore {}. Keep the passphrase: without it the key cannot be recovered.",
            entry.name
        )?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloy_signer::SignerSync as _;
    use clap::Parser;

    #[derive(Debug, Parser)]
    struct Cmd {
        #[command(flatten)]
        account: AccountArgs,
    }

    fn account(
        data: &Path,
        list: &[&str],
        env: &dyn Fn(&str) -> Option<String>,
    ) -> anyhow::Result<String> {
        let mut argv = vec!["account", "--data-dir", data.to_str().unwrap()];
        argv.extend_from_slice(list);
        let cmd = Cmd::try_parse_from(argv)?;
        let mut out = Vec::new();
        run_to(cmd.account, &mut out, env)?;
        Ok(String::from_utf8(out).unwrap())
    }

    fn no_env(_: &str) -> Option<String> {
        None
    }

    #[test]
    fn new_then_list_then_sign_with_it() {
        let data = tempfile::tempdir().unwrap();
        let pass = data.path().join("pass");
        std::fs::write(&pass, "s3cret passphrase\n").unwrap();
        let pass = pass.to_str().unwrap();
        let created = account(
            data.path(),
            &[
                "new",
                "--name",
                "alice",
                "--passphrase-file",
                pass,
                "--json",
            ],
            &no_env,
        )
        .unwrap();
        let created: serde_json::Value = serde_json::from_str(&created).unwrap();
        assert_eq!(created["name"], "alice");
        let address = created["address"].as_str().unwrap().to_string();
        assert_eq!(
            address
                .parse::<alloy_primitives::Address>()
                .unwrap()
                .to_checksum(None),
            address,
            "EIP-55 in JSON"
        );

        let listed: serde_json::Value =
            serde_json::from_str(&account(data.path(), &["list", "--json"], &no_env).unwrap())
                .unwrap();
        assert_eq!(listed.as_array().unwrap().len(), 1);
        assert_eq!(listed[0]["name"], "alice");
        assert_eq!(
            listed[0]["address"], address,
            "checksummed like the output of new"
        );
        let text = account(data.path(), &["list"], &no_env).unwrap();
        assert!(text.starts_with("alice  0x"), "{text}");

        // The signer a command would use (--keystore alice --passphrase-file ...) signs as that address.
        let signer_args = crate::wallet::SignerArgs {
            keystore: Some("alice".into()),
            passphrase_file: Some(pass.into()),
            ..Default::default()
        };
        let signer = signer_args.signer_in(31_337, data.path()).unwrap();
        let signature = signer.sign_message_sync(b"hello").unwrap();
        let signed_by = signature.recover_address_from_msg(b"hello").unwrap();
        assert_eq!(signed_by.to_checksum(None), address);
    }

    #[test]
    fn import_of_a_known_key_gives_its_known_address() {
        let data = tempfile::tempdir().unwrap();
        let pass = data.path().join("pass");
        std::fs::write(&pass, "pw").unwrap();
        // Dev account 1 of the `test ... junk` mnemonic.
        let env = |var: &str| {
            (var == "IMPORT_KEY").then(|| {
                "0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d".to_string()
            })
        };
        let text = account(
            data.path(),
            &[
                "import",
                "--private-key-env",
                "IMPORT_KEY",
                "--passphrase-file",
                pass.to_str().unwrap(),
            ],
            &env,
        )
        .unwrap();
        assert!(
            text.starts_with(
                "Imported account 0x70997970C51812dc3A010C7d01b50e0d17dc79C8: 0x70997970C51812dc3A010C7d01b50e0d17dc79C8\n"
            ),
            "{text}"
        );
        let listed = account(data.path(), &["list"], &no_env).unwrap();
        assert_eq!(
            listed,
            "0x70997970C51812dc3A010C7d01b50e0d17dc79C8  0x70997970C51812dc3A010C7d01b50e0d17dc79C8\n"
        );
        let err = account(
            data.path(),
            &[
                "import",
                "--private-key-env",
                "UNSET_VAR",
                "--passphrase-file",
                pass.to_str().unwrap(),
            ],
            &env,
        )
        .unwrap_err();
        assert!(err.to_string().contains("UNSET_VAR is not set"), "{err}");
    }

    #[test]
    fn an_empty_passphrase_file_is_refused_and_nothing_is_written() {
        let data = tempfile::tempdir().unwrap();
        let pass = data.path().join("empty");
        std::fs::write(&pass, "\n").unwrap();
        let err = account(
            data.path(),
            &["new", "--passphrase-file", pass.to_str().unwrap()],
            &no_env,
        )
        .unwrap_err();
        assert!(err.to_string().contains("passphrase is empty"), "{err}");
        assert_eq!(
            account(data.path(), &["list", "--json"], &no_env)
                .unwrap()
                .trim(),
            "[]"
        );
    }
}
