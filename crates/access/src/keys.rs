//! Key custody: content keys sealed at rest under the node key.
//!
//! The node key is 32 random bytes in a file of its own (`node.key`), created with mode 0600 and refused if
//! the group or others may read it. Each deposited content key is sealed with ChaCha20-Poly1305 (ring) under
//! the node key, with a random 12-byte nonce and the associated data `"scal3ml-access key v1" || cid bytes ||
//! depositor`, so a sealed key cannot be moved to another CID or depositor without failing to open. The sealed
//! records are JSON lines in `keys.jsonl` (cid, depositor, sealed hex, time), appended and fsynced per deposit
//! and read back at start. The key bytes themselves are never written, logged or printed.

use std::collections::HashMap;
use std::fs::{File, OpenOptions};
use std::io::{BufRead, BufReader, Read, Write};
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use alloy_primitives::Address;
use ring::aead::{Aad, CHACHA20_POLY1305, LessSafeKey, NONCE_LEN, Nonce, UnboundKey};
use scal3ml_primitives::Cid;
use scal3ml_store::crypt::FileKey;
use serde::{Deserialize, Serialize};

use crate::error::{AccessError, AccessResult};

/// The node key file's name in the data directory.
pub const NODE_KEY_FILE: &str = "node.key";
/// The sealed key records' file name in the data directory.
pub const KEYS_FILE: &str = "keys.jsonl";

const AAD_PREFIX: &[u8] = b"scal3ml-access key v1";

/// Loads the 32-byte node key at `path`, creating it (mode 0600, random) if absent. Refuses a file the group or
/// others can read, or one that is not exactly 32 bytes.
pub fn load_or_create_node_key(path: &Path) -> AccessResult<[u8; 32]> {
    match std::fs::metadata(path) {
        Ok(meta) => {
            let mode = meta.permissions().mode() & 0o777;
            if mode & 0o077 != 0 {
                return Err(AccessError::KeyStore(format!(
                    "node key file {} has mode {mode:o}: the group or others may read it, and anyone who reads it \
                     can open every content key this gateway holds; run `chmod 600 {}` (and consider the keys \
                     exposed if others did read it)",
                    path.display(),
                    path.display()
                )));
            }
            let mut bytes = Vec::new();
            File::open(path)
                .and_then(|mut f| f.read_to_end(&mut bytes))
                .map_err(|e| AccessError::io("cannot read the node key file", path, e))?;
            bytes.try_into().map_err(|b: Vec<u8>| {
                AccessError::KeyStore(format!(
                    "node key file {} holds {} bytes, not 32: it is damaged or not a node key; restore it from \
                     your backup (without it the deposited keys cannot be opened)",
                    path.display(),
                    b.len()
                ))
            })
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            let mut key = [0u8; 32];
            getrandom::getrandom(&mut key).map_err(|e| {
                AccessError::KeyStore(format!("no randomness for the node key: {e}"))
            })?;
            if let Some(dir) = path.parent() {
                std::fs::create_dir_all(dir)
                    .map_err(|e| AccessError::io("cannot create the data directory", dir, e))?;
            }
            let mut f = OpenOptions::new()
                .write(true)
                .create_new(true)
                .mode(0o600)
                .open(path)
                .map_err(|e| AccessError::io("cannot create the node key file", path, e))?;
            f.write_all(&key)
                .and_then(|()| f.sync_all())
                .map_err(|e| AccessError::io("cannot write the node key file", path, e))?;
            Ok(key)
        }
        Err(e) => Err(AccessError::io("cannot read the node key file", path, e)),
    }
}

/// One line of `keys.jsonl`.
#[derive(Serialize, Deserialize)]
struct Record {
    cid: Cid,
    depositor: Address,
    /// nonce (12 bytes) || ciphertext || tag, hex.
    sealed: String,
    deposited_at: String,
}

/// What a deposit did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Deposited {
    /// The key was stored.
    New,
    /// The same key was already there for this CID and depositor; nothing changed.
    Already,
}

/// The content keys this gateway holds, sealed at rest, by (content CID, depositor).
pub struct KeyVault {
    path: PathBuf,
    cipher: LessSafeKey,
    sealed: Mutex<HashMap<(Cid, Address), Vec<u8>>>,
}

impl std::fmt::Debug for KeyVault {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let n = self.sealed.lock().map(|m| m.len()).unwrap_or_default();
        f.debug_struct("KeyVault")
            .field("path", &self.path)
            .field("keys", &n)
            .finish_non_exhaustive()
    }
}

impl KeyVault {
    /// Opens (or creates) the vault in `dir`: the node key file and the sealed records.
    pub fn open(dir: &Path) -> AccessResult<Self> {
        let node_key = load_or_create_node_key(&dir.join(NODE_KEY_FILE))?;
        let cipher = LessSafeKey::new(
            UnboundKey::new(&CHACHA20_POLY1305, &node_key)
                .map_err(|_| AccessError::KeyStore("the node key is not a ChaCha20 key".into()))?,
        );
        let path = dir.join(KEYS_FILE);
        let mut sealed = HashMap::new();
        match File::open(&path) {
            Ok(f) => {
                let lines: Vec<_> = BufReader::new(f)
                    .lines()
                    .collect::<Result<_, _>>()
                    .map_err(|e| AccessError::io("cannot read the key store", &path, e))?;
                let count = lines.len();
                for (i, line) in lines.into_iter().enumerate() {
                    if line.trim().is_empty() {
                        continue;
                    }
                    match serde_json::from_str::<Record>(&line) {
                        Ok(r) => {
                            let bytes = alloy_primitives::hex::decode(&r.sealed).map_err(|_| {
                                AccessError::KeyStore(format!(
                                    "key store {} line {}: sealed key is not hex",
                                    path.display(),
                                    i + 1
                                ))
                            })?;
                            sealed.insert((r.cid, r.depositor), bytes);
                        }
                        // A deposit cut short by a crash is the last line and was never acknowledged.
                        Err(_) if i + 1 == count => tracing::warn!(
                            target: "access::keys",
                            line = i + 1,
                            "ignoring a partial last line in the key store (a deposit interrupted by a crash)"
                        ),
                        Err(e) => {
                            return Err(AccessError::KeyStore(format!(
                                "key store {} line {} is damaged ({e}); restore it from your backup",
                                path.display(),
                                i + 1
                            )));
                        }
                    }
                }
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(AccessError::io("cannot read the key store", &path, e)),
        }
        let vault = Self {
            path,
            cipher,
            sealed: Mutex::new(sealed),
        };
        // Every record must open under this node key: a swapped node key file is reported now, not at release.
        let records: Vec<_> = vault.lock().keys().cloned().collect();
        for (cid, depositor) in records {
            vault.get(&cid, depositor)?;
        }
        Ok(vault)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<(Cid, Address), Vec<u8>>> {
        self.sealed.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn aad(cid: &Cid, depositor: Address) -> Vec<u8> {
        let mut aad = AAD_PREFIX.to_vec();
        aad.extend_from_slice(cid.as_bytes());
        aad.extend_from_slice(depositor.as_slice());
        aad
    }

    /// Stores `key` for `cid` as deposited by `depositor`. Depositing the same key again changes nothing; a
    /// different key for the same CID and depositor is refused ([`AccessError::KeyConflict`]).
    pub fn deposit(&self, cid: &Cid, depositor: Address, key: &FileKey) -> AccessResult<Deposited> {
        let mut map = self.lock();
        if let Some(existing) = map.get(&(cid.clone(), depositor)) {
            let old = self.open_sealed(cid, depositor, existing)?;
            return if old == *key {
                Ok(Deposited::Already)
            } else {
                Err(AccessError::KeyConflict {
                    cid: cid.to_string(),
                    depositor: depositor.to_string(),
                })
            };
        }
        let mut nonce = [0u8; NONCE_LEN];
        getrandom::getrandom(&mut nonce)
            .map_err(|e| AccessError::KeyStore(format!("no randomness: {e}")))?;
        let mut buf = key.0.to_vec();
        self.cipher
            .seal_in_place_append_tag(
                Nonce::assume_unique_for_key(nonce),
                Aad::from(Self::aad(cid, depositor)),
                &mut buf,
            )
            .map_err(|_| AccessError::KeyStore("sealing a key failed".into()))?;
        let mut sealed = nonce.to_vec();
        sealed.extend_from_slice(&buf);
        let record = Record {
            cid: cid.clone(),
            depositor,
            sealed: alloy_primitives::hex::encode(&sealed),
            deposited_at: chrono::Utc::now().to_rfc3339(),
        };
        let mut line = serde_json::to_string(&record)
            .map_err(|e| AccessError::KeyStore(format!("encoding a key record: {e}")))?;
        line.push('\n');
        let mut f = OpenOptions::new()
            .create(true)
            .append(true)
            .mode(0o600)
            .open(&self.path)
            .map_err(|e| AccessError::io("cannot open the key store", &self.path, e))?;
        f.write_all(line.as_bytes())
            .and_then(|()| f.sync_data())
            .map_err(|e| AccessError::io("cannot write the key store", &self.path, e))?;
        map.insert((cid.clone(), depositor), sealed);
        Ok(Deposited::New)
    }

    /// The key `depositor` deposited for `cid`, if any.
    pub fn get(&self, cid: &Cid, depositor: Address) -> AccessResult<Option<FileKey>> {
        let sealed = self.lock().get(&(cid.clone(), depositor)).cloned();
        sealed
            .map(|s| self.open_sealed(cid, depositor, &s))
            .transpose()
    }

    /// Who has deposited a key for `cid`.
    pub fn depositors(&self, cid: &Cid) -> Vec<Address> {
        self.lock()
            .keys()
            .filter(|(c, _)| c == cid)
            .map(|(_, d)| *d)
            .collect()
    }

    fn open_sealed(&self, cid: &Cid, depositor: Address, sealed: &[u8]) -> AccessResult<FileKey> {
        let damaged = || {
            AccessError::KeyStore(format!(
                "the key for {cid} deposited by {depositor} does not open under this node key: the key store {} \
                 or the node key file was changed or swapped; restore both from the same backup",
                self.path.display()
            ))
        };
        if sealed.len() != NONCE_LEN + 16 + 16 {
            return Err(damaged());
        }
        let nonce: [u8; NONCE_LEN] = sealed[..NONCE_LEN].try_into().expect("12 bytes");
        let mut buf = sealed[NONCE_LEN..].to_vec();
        let plain = self
            .cipher
            .open_in_place(
                Nonce::assume_unique_for_key(nonce),
                Aad::from(Self::aad(cid, depositor)),
                &mut buf,
            )
            .map_err(|_| damaged())?;
        Ok(FileKey(plain.try_into().map_err(|_| damaged())?))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cid(seed: u8) -> Cid {
        let mut b = vec![0x01, 0x55, 0x12, 0x20];
        b.extend([seed; 32]);
        Cid::from_bytes(b).unwrap()
    }

    #[test]
    fn keys_survive_reopen_and_are_bound_to_cid_and_depositor() {
        let dir = tempfile::tempdir().unwrap();
        let key = FileKey([9; 16]);
        let (a, b) = (Address::repeat_byte(1), Address::repeat_byte(2));
        {
            let vault = KeyVault::open(dir.path()).unwrap();
            assert_eq!(vault.deposit(&cid(1), a, &key).unwrap(), Deposited::New);
            assert_eq!(vault.deposit(&cid(1), a, &key).unwrap(), Deposited::Already);
            assert!(matches!(
                vault.deposit(&cid(1), a, &FileKey([1; 16])),
                Err(AccessError::KeyConflict { .. })
            ));
        }
        let vault = KeyVault::open(dir.path()).unwrap();
        assert_eq!(vault.get(&cid(1), a).unwrap(), Some(key));
        assert_eq!(vault.get(&cid(1), b).unwrap(), None);
        assert_eq!(vault.get(&cid(2), a).unwrap(), None);
        assert_eq!(vault.depositors(&cid(1)), vec![a]);
        let mode = std::fs::metadata(dir.path().join(NODE_KEY_FILE))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
    }

    #[test]
    fn a_readable_node_key_file_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        KeyVault::open(dir.path()).unwrap();
        let path = dir.path().join(NODE_KEY_FILE);
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
        let err = KeyVault::open(dir.path()).unwrap_err().to_string();
        assert!(err.contains("chmod 600"), "{err}");
    }

    #[test]
    fn a_swapped_node_key_is_detected_at_open() {
        let dir = tempfile::tempdir().unwrap();
        KeyVault::open(dir.path())
            .unwrap()
            .deposit(&cid(1), Address::repeat_byte(1), &FileKey([3; 16]))
            .unwrap();
        let path = dir.path().join(NODE_KEY_FILE);
        std::fs::write(&path, [0u8; 32]).unwrap();
        let err = KeyVault::open(dir.path()).unwrap_err().to_string();
        assert!(err.contains("does not open under this node key"), "{err}");
    }
}
