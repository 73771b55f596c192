//! Key custody: content keys sealed at rest under the node key.
//!
//! The node key is 32 random bytes in a file of its own (`node.key`), created with mode 0600 and refused if
//! the group or others may read it. Each deposited content key is sealed with ChaCha20-Poly1305 (ring) under
//! the node key, with a random 12-byte nonce and the associated data `"scal3ml-access key v1" || cid bytes ||
//! depositor`, so a sealed key cannot be moved to another CID or depositor without failing to open. The sealed
//! records are JSON lines in `keys.jsonl` (cid, depositor, sealed hex, time, whether a chain event names the
//! CID), appended and fsynced per deposit before it is acknowledged, and read back at start; a record torn by a
//! crash is cut off at open ([`AppendLog`]). Pending deposits (no chain event names their CID yet) can be
//! dropped ([`KeyVault::settle`]), which rewrites the file atomically; published ones never are. The key bytes
//! themselves are never written, logged or printed.

use std::collections::HashMap;
use std::fs::{File, OpenOptions};
use std::io::{Read, Write};
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use alloy_primitives::Address;
use ring::aead::{Aad, CHACHA20_POLY1305, LessSafeKey, NONCE_LEN, Nonce, UnboundKey};
use scal3ml_primitives::Cid;
use scal3ml_store::crypt::FileKey;
use serde::{Deserialize, Serialize};

use crate::append_log::AppendLog;
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
    /// Whether a chain event named `cid` when the gateway last looked: such a key is kept for good.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    published: bool,
}

/// What a deposit did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Deposited {
    /// The key was stored.
    New,
    /// The same key was already there for this CID and depositor; nothing changed.
    Already,
}

/// One held key, sealed.
#[derive(Debug, Clone)]
struct Held {
    sealed: Vec<u8>,
    deposited_at: String,
    /// `deposited_at` in Unix seconds (0 if it does not parse: such a key counts as old).
    at_secs: u64,
    published: bool,
}

/// A deposit no chain event is known to name yet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pending {
    /// The content CID.
    pub cid: Cid,
    /// Who deposited it.
    pub depositor: Address,
    /// When, in Unix seconds.
    pub deposited_at: u64,
}

/// How many deposits are pending, in all, by one depositor and for one CID.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PendingCounts {
    /// Every pending deposit.
    pub total: usize,
    /// The depositor's.
    pub of_depositor: usize,
    /// For the CID (by anyone).
    pub of_cid: usize,
}

type Keys = HashMap<(Cid, Address), Held>;

struct Vault {
    log: AppendLog,
    keys: Keys,
}

/// The content keys this gateway holds, sealed at rest, by (content CID, depositor).
pub struct KeyVault {
    path: PathBuf,
    cipher: LessSafeKey,
    inner: Mutex<Vault>,
}

impl std::fmt::Debug for KeyVault {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let n = self.inner.lock().map(|m| m.keys.len()).unwrap_or_default();
        f.debug_struct("KeyVault")
            .field("path", &self.path)
            .field("keys", &n)
            .finish_non_exhaustive()
    }
}

impl KeyVault {
    /// Opens (or creates) the vault in `dir`: the node key file and the sealed records (a record torn by a
    /// crash, never acknowledged, is cut off; see [`AppendLog`]).
    pub fn open(dir: &Path) -> AccessResult<Self> {
        let node_key = load_or_create_node_key(&dir.join(NODE_KEY_FILE))?;
        let cipher = LessSafeKey::new(
            UnboundKey::new(&CHACHA20_POLY1305, &node_key)
                .map_err(|_| AccessError::KeyStore("the node key is not a ChaCha20 key".into()))?,
        );
        let path = dir.join(KEYS_FILE);
        let log = AppendLog::open(&path, 0o600)?;
        let mut keys = HashMap::new();
        for (i, r) in log.records::<Record>()?.into_iter().enumerate() {
            let sealed = alloy_primitives::hex::decode(&r.sealed).map_err(|_| {
                AccessError::KeyStore(format!(
                    "key store {} record {}: sealed key is not hex; restore it from your backup",
                    path.display(),
                    i + 1
                ))
            })?;
            let at_secs = chrono::DateTime::parse_from_rfc3339(&r.deposited_at)
                .map_or(0, |t| t.timestamp().max(0) as u64);
            keys.insert(
                (r.cid, r.depositor),
                Held {
                    sealed,
                    deposited_at: r.deposited_at,
                    at_secs,
                    published: r.published,
                },
            );
        }
        let vault = Self {
            path,
            cipher,
            inner: Mutex::new(Vault { log, keys }),
        };
        // Every record must open under this node key: a swapped node key file is reported now, not at release.
        let records: Vec<_> = vault.lock().keys.keys().cloned().collect();
        for (cid, depositor) in records {
            vault.get(&cid, depositor)?;
        }
        Ok(vault)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Vault> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn aad(cid: &Cid, depositor: Address) -> Vec<u8> {
        let mut aad = AAD_PREFIX.to_vec();
        cid.write_bytes(&mut aad);
        aad.extend_from_slice(depositor.as_slice());
        aad
    }

    /// Stores `key` for `cid` as deposited by `depositor`. Depositing the same key again changes nothing; a
    /// different key for the same CID and depositor is refused ([`AccessError::KeyConflict`]).
    pub fn deposit(&self, cid: &Cid, depositor: Address, key: &FileKey) -> AccessResult<Deposited> {
        let mut vault = self.lock();
        if let Some(existing) = vault.keys.get(&(*cid, depositor)) {
            let old = self.open_sealed(cid, depositor, &existing.sealed)?;
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
        let now = chrono::Utc::now();
        let record = Record {
            cid: *cid,
            depositor,
            sealed: alloy_primitives::hex::encode(&sealed),
            deposited_at: now.to_rfc3339(),
            published: false,
        };
        vault.log.append(&record, true)?;
        vault.keys.insert(
            (*cid, depositor),
            Held {
                sealed,
                deposited_at: record.deposited_at,
                at_secs: now.timestamp().max(0) as u64,
                published: false,
            },
        );
        Ok(Deposited::New)
    }

    /// The key `depositor` deposited for `cid`, if any.
    pub fn get(&self, cid: &Cid, depositor: Address) -> AccessResult<Option<FileKey>> {
        let sealed = self
            .lock()
            .keys
            .get(&(*cid, depositor))
            .map(|h| h.sealed.clone());
        sealed
            .map(|s| self.open_sealed(cid, depositor, &s))
            .transpose()
    }

    /// Whether a key is held for `cid` from `depositor`.
    pub fn holds(&self, cid: &Cid, depositor: Address) -> bool {
        self.lock().keys.contains_key(&(*cid, depositor))
    }

    /// Whether the key `depositor` deposited for `cid` is held and still pending (no chain event known to name
    /// `cid`).
    pub fn is_pending(&self, cid: &Cid, depositor: Address) -> bool {
        self.lock()
            .keys
            .get(&(*cid, depositor))
            .is_some_and(|h| !h.published)
    }

    /// Who has deposited a key for `cid`.
    pub fn depositors(&self, cid: &Cid) -> Vec<Address> {
        self.lock()
            .keys
            .keys()
            .filter(|(c, _)| c == cid)
            .map(|(_, d)| *d)
            .collect()
    }

    /// The deposits no chain event is known to name yet, oldest first.
    pub fn pending(&self) -> Vec<Pending> {
        let mut out: Vec<Pending> = self
            .lock()
            .keys
            .iter()
            .filter(|(_, h)| !h.published)
            .map(|((cid, depositor), h)| Pending {
                cid: *cid,
                depositor: *depositor,
                deposited_at: h.at_secs,
            })
            .collect();
        out.sort_by_key(|p| p.deposited_at);
        out
    }

    /// Pending deposits: in all, by `depositor`, and for `cid`.
    pub fn pending_counts(&self, depositor: Address, cid: &Cid) -> PendingCounts {
        let vault = self.lock();
        let mut counts = PendingCounts::default();
        for ((c, d), h) in &vault.keys {
            if h.published {
                continue;
            }
            counts.total += 1;
            counts.of_depositor += usize::from(*d == depositor);
            counts.of_cid += usize::from(c == cid);
        }
        counts
    }

    /// Marks `published` deposits as named by a chain event (kept for good from now on) and drops the
    /// `dropped` ones (pending deposits for content nobody published within the grace period); the key store is
    /// rewritten atomically when anything changed. A published key is never dropped.
    pub fn settle(
        &self,
        published: &[(Cid, Address)],
        dropped: &[(Cid, Address)],
    ) -> AccessResult<()> {
        let mut vault = self.lock();
        let mut changed = false;
        for k in published {
            if let Some(h) = vault.keys.get_mut(k)
                && !h.published
            {
                h.published = true;
                changed = true;
            }
        }
        for k in dropped {
            if vault.keys.get(k).is_some_and(|h| !h.published) {
                vault.keys.remove(k);
                changed = true;
            }
        }
        if !changed {
            return Ok(());
        }
        let records: Vec<Record> = vault
            .keys
            .iter()
            .map(|((cid, depositor), h)| Record {
                cid: *cid,
                depositor: *depositor,
                sealed: alloy_primitives::hex::encode(&h.sealed),
                deposited_at: h.deposited_at.clone(),
                published: h.published,
            })
            .collect();
        vault.log.rewrite(records)
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

    // Regression: a deposit torn by a crash stayed in keys.jsonl, the next deposit was glued onto it and
    // acknowledged, then dropped at the next start (a buyer paid and got no_key); one more and the gateway would
    // not start. Cut the last record at every byte: every acknowledged key, and the next one, survive.
    #[test]
    fn regression_a_torn_deposit_loses_no_acknowledged_key() {
        let dir = tempfile::tempdir().unwrap();
        let a = Address::repeat_byte(1);
        {
            let vault = KeyVault::open(dir.path()).unwrap();
            vault.deposit(&cid(1), a, &FileKey([1; 16])).unwrap();
            vault.deposit(&cid(2), a, &FileKey([2; 16])).unwrap();
        }
        let path = dir.path().join(KEYS_FILE);
        let whole = std::fs::read(&path).unwrap();
        let last = whole[..whole.len() - 1]
            .iter()
            .rposition(|&b| b == b'\n')
            .unwrap()
            + 1;
        for cut in last..=whole.len() {
            std::fs::write(&path, &whole[..cut]).unwrap();
            {
                let vault = KeyVault::open(dir.path()).unwrap();
                vault.deposit(&cid(3), a, &FileKey([3; 16])).unwrap();
            }
            let vault = KeyVault::open(dir.path()).unwrap();
            assert_eq!(
                vault.get(&cid(1), a).unwrap(),
                Some(FileKey([1; 16])),
                "cut {cut}"
            );
            assert_eq!(
                vault.get(&cid(3), a).unwrap(),
                Some(FileKey([3; 16])),
                "cut {cut}"
            );
            let two = vault.get(&cid(2), a).unwrap();
            assert_eq!(two.is_some(), cut == whole.len(), "cut {cut}");
        }
    }

    #[test]
    fn settle_keeps_published_keys_and_drops_only_pending_ones() {
        let dir = tempfile::tempdir().unwrap();
        let a = Address::repeat_byte(1);
        let vault = KeyVault::open(dir.path()).unwrap();
        for n in 1..=3 {
            vault.deposit(&cid(n), a, &FileKey([n; 16])).unwrap();
        }
        assert_eq!(vault.pending().len(), 3);
        vault.settle(&[(cid(1), a)], &[(cid(2), a)]).unwrap();
        // A published key is never dropped, even when asked to.
        vault.settle(&[], &[(cid(1), a)]).unwrap();
        drop(vault);
        let vault = KeyVault::open(dir.path()).unwrap();
        assert!(vault.get(&cid(1), a).unwrap().is_some());
        assert!(vault.get(&cid(2), a).unwrap().is_none());
        assert!(vault.get(&cid(3), a).unwrap().is_some());
        let pending: Vec<_> = vault.pending().into_iter().map(|p| p.cid).collect();
        assert_eq!(pending, vec![cid(3)]);
        assert_eq!(
            vault.pending_counts(a, &cid(3)),
            PendingCounts {
                total: 1,
                of_depositor: 1,
                of_cid: 1
            }
        );
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
