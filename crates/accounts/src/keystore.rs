//! Encrypted Ethereum V3 keystores (the JSON format geth, ethers and foundry's `cast wallet` use and MetaMask
//! imports) in `<data dir>/keystore/<name>.json`, the folder mode 0700 and each file 0600. Besides the V3
//! fields each file records its `address` (as geth does), so listing accounts needs no passphrase.

use std::{
    fs,
    io::Write as _,
    os::unix::fs::{DirBuilderExt as _, OpenOptionsExt as _, PermissionsExt as _},
    path::{Path, PathBuf},
};

use alloy_primitives::Address;
use alloy_signer_local::{LocalSignerError, PrivateKeySigner};

use crate::{AccountsError, AccountsResult};

/// Longest keystore name.
pub(crate) const MAX_NAME: usize = 64;

/// Whether `--keystore` text is a path rather than a name.
pub(crate) fn looks_like_path(text: &str) -> bool {
    text.contains('/') || text.ends_with(".json")
}

/// An error and its sources, `: `-separated (as anyhow's `{:#}` shows them).
fn with_sources(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        text.push_str(": ");
        text.push_str(&s.to_string());
        source = s.source();
    }
    text
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
    ) -> AccountsResult<KeystoreEntry> {
        if passphrase.is_empty() {
            return Err(AccountsError::EmptyPassphrase);
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
            return Err(AccountsError::KeystoreExists { name, path });
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
            .map_err(|e| -> Box<dyn std::error::Error + Send + Sync> { Box::new(e) })
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
            .map_err(|source| AccountsError::KeystoreWrite {
                path: path.clone(),
                source,
            });
        let _ = fs::remove_file(&temp);
        result?;
        Ok(KeystoreEntry {
            name,
            address: Some(address),
            path,
        })
    }

    fn ensure_dir(&self) -> AccountsResult<()> {
        fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(&self.dir)
            .map_err(|source| AccountsError::KeystoreDirCreate {
                dir: self.dir.clone(),
                source,
            })?;
        fs::set_permissions(&self.dir, fs::Permissions::from_mode(0o700)).map_err(|source| {
            AccountsError::KeystoreDirMode {
                dir: self.dir.clone(),
                source,
            }
        })
    }

    /// The accounts in the folder, by name. Files that are not V3 keystores are skipped with a warning.
    pub fn list(&self) -> AccountsResult<Vec<KeystoreEntry>> {
        let entries = match fs::read_dir(&self.dir) {
            Ok(entries) => entries,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(source) => {
                return Err(AccountsError::KeystoreDirRead {
                    dir: self.dir.clone(),
                    source,
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
                    tracing::warn!(target: "wallet", path = %path.display(), "skipped: {}", with_sources(&e))
                }
            }
        }
        out.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(out)
    }

    /// The file for `--keystore NAME|PATH`: an existing path as given, else `<dir>/<NAME>.json`.
    pub fn resolve(&self, name_or_path: &str) -> AccountsResult<PathBuf> {
        if looks_like_path(name_or_path) {
            let path = PathBuf::from(name_or_path);
            if path.is_file() {
                return Ok(path);
            }
            return Err(AccountsError::NoKeystoreFile {
                given: name_or_path.to_string(),
            });
        }
        check_name(name_or_path)?;
        let path = self.dir.join(format!("{name_or_path}.json"));
        if path.is_file() {
            return Ok(path);
        }
        Err(AccountsError::NoKeystoreNamed {
            name: name_or_path.to_string(),
            dir: self.dir.clone(),
        })
    }

    /// Decrypts a V3 keystore file. A wrong passphrase is told apart from a damaged or foreign file.
    pub fn unlock(path: &Path, passphrase: &str) -> AccountsResult<PrivateKeySigner> {
        use eth_keystore::KeystoreError as K;
        let path_buf = || path.to_path_buf();
        let signer = PrivateKeySigner::decrypt_keystore(path, passphrase).map_err(|e| match e {
            LocalSignerError::EthKeystoreError(K::MacMismatch) => {
                AccountsError::WrongPassphrase { path: path_buf() }
            }
            LocalSignerError::EthKeystoreError(K::StdIo(error)) => AccountsError::KeystoreRead {
                path: path_buf(),
                error,
            },
            LocalSignerError::EthKeystoreError(K::SerdeJson(error)) => AccountsError::NotV3Json {
                path: path_buf(),
                error,
            },
            LocalSignerError::EthKeystoreError(K::ScryptInvalidParams(_)) => {
                AccountsError::ScryptParams { path: path_buf() }
            }
            other => AccountsError::Unlock {
                path: path_buf(),
                error: other.to_string(),
            },
        })?;
        if let Some(recorded) = read_keystore_address(path)?
            && recorded != signer.address()
        {
            return Err(AccountsError::KeystoreAltered {
                path: path.to_path_buf(),
                recorded,
                actual: signer.address(),
            });
        }
        Ok(signer)
    }
}

/// The `address` a V3 keystore records, if any; an error if the file is not a V3 keystore at all.
fn read_keystore_address(path: &Path) -> AccountsResult<Option<Address>> {
    let json: serde_json::Value =
        serde_json::from_slice(&fs::read(path)?).map_err(|source| AccountsError::NotJson {
            path: path.to_path_buf(),
            source,
        })?;
    if json.get("version").and_then(|v| v.as_u64()) != Some(3)
        || (json.get("crypto").is_none() && json.get("Crypto").is_none())
    {
        return Err(AccountsError::NotV3 {
            path: path.to_path_buf(),
        });
    }
    match json.get("address").and_then(|a| a.as_str()) {
        None => Ok(None),
        Some(text) => {
            let hex = text.strip_prefix("0x").unwrap_or(text);
            let address =
                format!("0x{hex}")
                    .parse()
                    .map_err(|source| AccountsError::BadAddress {
                        path: path.to_path_buf(),
                        text: text.to_string(),
                        source,
                    })?;
            Ok(Some(address))
        }
    }
}

/// A keystore name: 1 to 64 of letters, digits, `.`, `_`, `-`, not starting with `.`.
fn check_name(name: &str) -> AccountsResult<()> {
    let ok = !name.is_empty()
        && name.len() <= MAX_NAME
        && !name.starts_with('.')
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'));
    if !ok {
        return Err(AccountsError::BadName {
            name: name.to_string(),
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloy_signer::SignerSync as _;

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
}
