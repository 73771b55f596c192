//! World state with history: every account and storage slot keeps the list of values it took, each tagged with
//! the state version that wrote it. Reading "the state after block N" is a binary search per key, so `eth_call`
//! and `eth_getBalance` answer for any past block without copying the world, and reverting to a snapshot drops
//! the tail of each list.

use std::collections::{BTreeMap, HashMap};

use alloy_primitives::{Address, B256, Bytes, KECCAK256_EMPTY, U256, keccak256};
use alloy_trie::{EMPTY_ROOT_HASH, TrieAccount};
use revm::{
    DatabaseRef,
    bytecode::Bytecode,
    state::{AccountInfo, EvmState},
};
use serde::{Deserialize, Serialize};

/// An account's fields as stored (the storage lives beside it).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct AccountValue {
    /// Balance in wei.
    pub(crate) balance: U256,
    /// Nonce.
    pub(crate) nonce: u64,
    /// Keccak of the code (KECCAK256_EMPTY for none).
    pub(crate) code_hash: B256,
}

/// The changes one block (or one dev-control edit) made: the unit of history and of the on-disk log.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct StateChanges {
    /// Accounts written; `None` deletes the account.
    pub(crate) accounts: BTreeMap<Address, Option<AccountValue>>,
    /// Storage slots written (zero clears the slot).
    pub(crate) storage: BTreeMap<Address, BTreeMap<U256, U256>>,
    /// New code by hash.
    pub(crate) codes: BTreeMap<B256, Bytes>,
}

impl StateChanges {
    /// Folds the state revm reports after one transaction into this set of changes.
    pub(crate) fn absorb(&mut self, state: &EvmState, known_slots: impl Fn(&Address) -> Vec<U256>) {
        for (address, account) in state {
            if !account.is_touched() {
                continue;
            }
            if account.is_selfdestructed() {
                self.accounts.insert(*address, None);
                let slots = self.storage.entry(*address).or_default();
                for slot in known_slots(address) {
                    slots.insert(slot, U256::ZERO);
                }
                continue;
            }
            let info = &account.info;
            if let Some(code) = &info.code
                && info.code_hash != KECCAK256_EMPTY
            {
                self.codes.insert(info.code_hash, code.original_bytes());
            }
            if account.is_empty() && !account.is_created() {
                // EIP-161: touched empty accounts are removed.
                self.accounts.insert(*address, None);
            } else {
                self.accounts.insert(
                    *address,
                    Some(AccountValue {
                        balance: info.balance,
                        nonce: info.nonce,
                        code_hash: info.code_hash,
                    }),
                );
            }
            for (slot, value) in &account.storage {
                if value.is_changed() {
                    self.storage
                        .entry(*address)
                        .or_default()
                        .insert(*slot, value.present_value);
                }
            }
        }
    }
}

/// The state of the chain at every version.
#[derive(Debug, Default)]
pub(crate) struct History {
    accounts: HashMap<Address, Vec<(u64, Option<AccountValue>)>>,
    storage: HashMap<Address, HashMap<U256, Vec<(u64, U256)>>>,
    codes: HashMap<B256, Bytecode>,
    /// Cached storage roots: the version each was computed at, and the root.
    storage_roots: HashMap<Address, (u64, B256)>,
    /// The newest version that wrote each account's storage.
    storage_written: HashMap<Address, u64>,
    /// The newest version applied.
    latest: u64,
    /// Trie leaves of the latest state (keccak(address) -> RLP of the account), kept up to date incrementally
    /// so a block's state root costs work for the accounts it touched plus one pass of hashing; `None` after a
    /// truncation until the next root rebuilds it.
    leaves: Option<BTreeMap<B256, Vec<u8>>>,
    /// Accounts whose leaf is stale.
    dirty: std::collections::HashSet<Address>,
    /// Hash of each of the 16 subtries under the root branch (by first nibble of the hashed key), `None` when
    /// stale.
    buckets: [Option<B256>; 16],
}

fn at<T: Copy>(list: &[(u64, T)], version: u64) -> Option<T> {
    let idx = list.partition_point(|(v, _)| *v <= version);
    if idx == 0 {
        None
    } else {
        Some(list[idx - 1].1)
    }
}

fn put<T>(list: &mut Vec<(u64, T)>, version: u64, value: T) {
    match list.last_mut() {
        Some((v, old)) if *v == version => *old = value,
        _ => list.push((version, value)),
    }
}

impl History {
    /// Applies a set of changes as state version `version` (which must not be older than any stored).
    pub(crate) fn apply(&mut self, version: u64, changes: &StateChanges) {
        for (hash, code) in &changes.codes {
            self.codes
                .entry(*hash)
                .or_insert_with(|| Bytecode::new_raw(code.clone()));
        }
        self.latest = self.latest.max(version);
        for (address, value) in &changes.accounts {
            put(self.accounts.entry(*address).or_default(), version, *value);
            self.dirty.insert(*address);
        }
        for (address, slots) in &changes.storage {
            let map = self.storage.entry(*address).or_default();
            for (slot, value) in slots {
                put(map.entry(*slot).or_default(), version, *value);
            }
            self.storage_written.insert(*address, version);
            self.dirty.insert(*address);
        }
    }

    /// Forgets every value written after `version`.
    pub(crate) fn truncate(&mut self, version: u64) {
        for list in self.accounts.values_mut() {
            list.retain(|(v, _)| *v <= version);
        }
        self.accounts.retain(|_, l| !l.is_empty());
        for slots in self.storage.values_mut() {
            for list in slots.values_mut() {
                list.retain(|(v, _)| *v <= version);
            }
            slots.retain(|_, l| !l.is_empty());
        }
        self.storage_roots.clear();
        self.leaves = None;
        self.dirty.clear();
        self.buckets = [None; 16];
        self.latest = self.latest.min(version);
        for written in self.storage_written.values_mut() {
            *written = (*written).min(version);
        }
    }

    /// The account at `version`.
    pub(crate) fn account(&self, address: &Address, version: u64) -> Option<AccountValue> {
        self.accounts
            .get(address)
            .and_then(|l| at(l, version))
            .flatten()
    }

    /// A storage slot at `version`.
    pub(crate) fn slot(&self, address: &Address, slot: U256, version: u64) -> U256 {
        self.storage
            .get(address)
            .and_then(|m| m.get(&slot))
            .and_then(|l| at(l, version))
            .unwrap_or_default()
    }

    /// Code by hash.
    pub(crate) fn code(&self, hash: &B256) -> Option<&Bytecode> {
        self.codes.get(hash)
    }

    /// The latest state as one set of changes: every live account, every non-zero slot, every code. Applied
    /// to an empty history it rebuilds the latest state (without its past), which is what a snapshot stores.
    pub(crate) fn latest_changes(&self) -> StateChanges {
        let mut changes = StateChanges::default();
        for (address, list) in &self.accounts {
            if let Some((_, Some(value))) = list.last() {
                changes.accounts.insert(*address, Some(*value));
            }
        }
        for (address, slots) in &self.storage {
            for (slot, list) in slots {
                if let Some((_, value)) = list.last()
                    && !value.is_zero()
                {
                    changes
                        .storage
                        .entry(*address)
                        .or_default()
                        .insert(*slot, *value);
                }
            }
        }
        for (hash, code) in &self.codes {
            changes.codes.insert(*hash, code.original_bytes());
        }
        changes
    }

    /// Slots ever written for an account (used to clear them on self-destruct).
    pub(crate) fn known_slots(&self, address: &Address) -> Vec<U256> {
        self.storage
            .get(address)
            .map(|m| m.keys().copied().collect())
            .unwrap_or_default()
    }

    /// The Merkle-Patricia state root at `version`, as Ethereum computes it. At the latest version only the
    /// accounts changed since the previous root are re-encoded.
    pub(crate) fn state_root(&mut self, version: u64) -> B256 {
        if version < self.latest {
            let addresses: Vec<Address> = self.accounts.keys().copied().collect();
            let mut leaves = BTreeMap::new();
            for address in addresses {
                if let Some(leaf) = self.leaf(&address, version) {
                    leaves.insert(keccak256(address), leaf);
                }
            }
            return root_of(&leaves);
        }
        let stale: Vec<Address> = match self.leaves {
            Some(_) => self.dirty.drain().collect(),
            None => {
                self.dirty.clear();
                self.leaves = Some(BTreeMap::new());
                self.accounts.keys().copied().collect()
            }
        };
        if stale.len() > 16 {
            self.buckets = [None; 16];
        }
        for address in stale {
            let leaf = self.leaf(&address, version);
            let key = keccak256(address);
            self.buckets[(key[0] >> 4) as usize] = None;
            let leaves = self.leaves.as_mut().expect("set above");
            match leaf {
                Some(leaf) => leaves.insert(key, leaf),
                None => leaves.remove(&key),
            };
        }
        let leaves = self.leaves.as_ref().expect("set above");
        let occupied = (0..16u8)
            .filter(|n| bucket(leaves, *n).next().is_some())
            .count();
        if occupied < 2 {
            // The root is a leaf or an extension, not a branch: hash it whole.
            return root_of(leaves);
        }
        // The root is a branch whose children are the subtries of each first nibble; only stale ones are
        // rehashed. Account leaves are always at least 32 bytes, so every child is referenced by its hash.
        let mut payload = Vec::with_capacity(16 * 33 + 1);
        for nibble in 0..16u8 {
            let hash = match self.buckets[nibble as usize] {
                Some(hash) => Some(hash),
                None => {
                    let mut entries = bucket(leaves, nibble).peekable();
                    if entries.peek().is_none() {
                        None
                    } else {
                        let mut builder = alloy_trie::HashBuilder::default();
                        for (key, value) in entries {
                            let path = alloy_trie::Nibbles::unpack(key);
                            builder.add_leaf(path.slice(1..), value);
                        }
                        let hash = builder.root();
                        self.buckets[nibble as usize] = Some(hash);
                        Some(hash)
                    }
                }
            };
            match hash {
                Some(hash) => alloy_rlp::Encodable::encode(&hash, &mut payload),
                None => payload.push(alloy_rlp::EMPTY_STRING_CODE),
            }
        }
        payload.push(alloy_rlp::EMPTY_STRING_CODE);
        let mut node = Vec::with_capacity(payload.len() + 3);
        alloy_rlp::Header {
            list: true,
            payload_length: payload.len(),
        }
        .encode(&mut node);
        node.extend_from_slice(&payload);
        keccak256(node)
    }

    /// The RLP-encoded trie account at `version`, or `None` if the account does not exist.
    fn leaf(&mut self, address: &Address, version: u64) -> Option<Vec<u8>> {
        let value = self.account(address, version)?;
        let written = self.storage_written.get(address).copied().unwrap_or(0);
        let storage_root = match self.storage_roots.get(address) {
            Some((computed, root)) if *computed >= written && version >= written => *root,
            _ => {
                let root = self.storage_root(address, version);
                if version >= written {
                    self.storage_roots.insert(*address, (version, root));
                }
                root
            }
        };
        let account = TrieAccount {
            nonce: value.nonce,
            balance: value.balance,
            storage_root,
            code_hash: value.code_hash,
        };
        Some(alloy_rlp::encode(account))
    }

    fn storage_root(&self, address: &Address, version: u64) -> B256 {
        let Some(slots) = self.storage.get(address) else {
            return EMPTY_ROOT_HASH;
        };
        let live: Vec<(B256, U256)> = slots
            .iter()
            .filter_map(|(slot, list)| {
                at(list, version)
                    .filter(|v| !v.is_zero())
                    .map(|v| (B256::from(*slot), v))
            })
            .collect();
        if live.is_empty() {
            EMPTY_ROOT_HASH
        } else {
            alloy_trie::root::storage_root_unhashed(live)
        }
    }
}

/// The leaves whose hashed key starts with `nibble`.
fn bucket(leaves: &BTreeMap<B256, Vec<u8>>, nibble: u8) -> impl Iterator<Item = (&B256, &Vec<u8>)> {
    let mut start = B256::ZERO;
    start[0] = nibble << 4;
    leaves
        .range(start..)
        .take_while(move |(k, _)| k[0] >> 4 == nibble)
}

fn root_of(leaves: &BTreeMap<B256, Vec<u8>>) -> B256 {
    let mut builder = alloy_trie::HashBuilder::default();
    for (key, value) in leaves {
        builder.add_leaf(alloy_trie::Nibbles::unpack(key), value);
    }
    builder.root()
}

/// A read-only view of the state at one version, for revm.
pub(crate) struct StateAt<'a> {
    /// The history to read.
    pub(crate) history: &'a History,
    /// The version to read at.
    pub(crate) version: u64,
    /// Block hashes by number, for BLOCKHASH.
    pub(crate) hashes: &'a [B256],
}

/// The view never fails: missing keys read as empty.
#[derive(Debug, thiserror::Error)]
#[error("state read failed")]
pub(crate) struct StateReadError;

impl revm::database_interface::DBErrorMarker for StateReadError {}

impl DatabaseRef for StateAt<'_> {
    type Error = StateReadError;

    fn basic_ref(&self, address: Address) -> Result<Option<AccountInfo>, Self::Error> {
        Ok(self.history.account(&address, self.version).map(|a| {
            let code = if a.code_hash == KECCAK256_EMPTY {
                None
            } else {
                self.history.code(&a.code_hash).cloned()
            };
            AccountInfo {
                balance: a.balance,
                nonce: a.nonce,
                code_hash: a.code_hash,
                code,
                ..Default::default()
            }
        }))
    }

    fn code_by_hash_ref(&self, code_hash: B256) -> Result<Bytecode, Self::Error> {
        Ok(self.history.code(&code_hash).cloned().unwrap_or_default())
    }

    fn storage_ref(&self, address: Address, index: U256) -> Result<U256, Self::Error> {
        Ok(self.history.slot(&address, index, self.version))
    }

    fn block_hash_ref(&self, number: u64) -> Result<B256, Self::Error> {
        Ok(self
            .hashes
            .get(number as usize)
            .copied()
            .unwrap_or_default())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_at_past_versions_and_truncates() {
        let mut h = History::default();
        let a = Address::repeat_byte(1);
        let mut c = StateChanges::default();
        c.accounts.insert(
            a,
            Some(AccountValue {
                balance: U256::from(5),
                nonce: 0,
                code_hash: KECCAK256_EMPTY,
            }),
        );
        c.storage
            .entry(a)
            .or_default()
            .insert(U256::from(1), U256::from(7));
        h.apply(0, &c);
        c.accounts.insert(
            a,
            Some(AccountValue {
                balance: U256::from(9),
                nonce: 1,
                code_hash: KECCAK256_EMPTY,
            }),
        );
        c.storage
            .entry(a)
            .or_default()
            .insert(U256::from(1), U256::from(8));
        h.apply(3, &c);
        assert_eq!(h.account(&a, 2).unwrap().balance, U256::from(5));
        assert_eq!(h.account(&a, 3).unwrap().balance, U256::from(9));
        assert_eq!(h.slot(&a, U256::from(1), 1), U256::from(7));
        assert_eq!(h.slot(&a, U256::from(1), 4), U256::from(8));
        let before = h.state_root(0);
        assert_ne!(before, h.state_root(3));
        h.truncate(1);
        assert_eq!(h.account(&a, 5).unwrap().balance, U256::from(5));
        assert_eq!(h.state_root(5), before);
    }

    /// The reference: alloy-trie's one-shot root over every live account.
    fn reference_root(h: &History, version: u64) -> B256 {
        let accounts = h.accounts.keys().filter_map(|a| {
            let v = h.account(a, version)?;
            let account = TrieAccount {
                nonce: v.nonce,
                balance: v.balance,
                storage_root: h.storage_root(a, version),
                code_hash: v.code_hash,
            };
            Some((*a, account))
        });
        alloy_trie::root::state_root_unhashed(accounts)
    }

    #[test]
    fn incremental_root_matches_a_full_recomputation() {
        let mut h = History::default();
        let account = |b: u64| {
            Some(AccountValue {
                balance: U256::from(b),
                nonce: b,
                code_hash: KECCAK256_EMPTY,
            })
        };
        for version in 0..40u64 {
            let mut c = StateChanges::default();
            for i in 0..5u64 {
                let who = Address::left_padding_from(&((version * 7 + i * 13) % 50).to_be_bytes());
                c.accounts.insert(
                    who,
                    if (version + i) % 11 == 0 {
                        None
                    } else {
                        account(version + i)
                    },
                );
                if i == 0 {
                    c.storage
                        .entry(who)
                        .or_default()
                        .insert(U256::from(version % 3), U256::from(version % 4));
                }
            }
            h.apply(version, &c);
            assert_eq!(
                h.state_root(version),
                reference_root(&h, version),
                "version {version}"
            );
        }
        h.truncate(20);
        assert_eq!(h.state_root(20), reference_root(&h, 20));
        assert_eq!(h.state_root(10), reference_root(&h, 10));
    }

    #[test]
    fn empty_state_has_the_empty_root() {
        assert_eq!(History::default().state_root(0), EMPTY_ROOT_HASH);
    }
}
