//! HAMT-sharded directories as Kubo (boxo) builds them: fanout 256, keys hashed with murmur3-x64-64 (the first
//! 64 bits of murmur3 x64 128, seed 0, big-endian), 8 bits of hash per level, link names "%02X" + entry name for
//! entries and "%02X" for sub-shards, and a big-endian bitfield with leading zero bytes trimmed.

use bytes::Bytes;

use super::dir::{DirEntry, emit_node};
use super::{ImportOptions, Sink};
use crate::cid::Cid;
use crate::dagpb::{PbLink, PbNode};
use crate::error::StoreResult;
use crate::unixfs::{DataType, UnixFs};

/// The multihash code of murmur3-x64-64, written in the shard's hashType.
pub const MURMUR3_X64_64: u64 = 0x22;
/// Children per shard.
pub const FANOUT: usize = 256;

fn fmix64(mut k: u64) -> u64 {
    k ^= k >> 33;
    k = k.wrapping_mul(0xff51_afd7_ed55_8ccd);
    k ^= k >> 33;
    k = k.wrapping_mul(0xc4ce_b9fe_1a85_ec53);
    k ^ (k >> 33)
}

/// murmur3 x64 128 with the given seed; returns (h1, h2).
pub fn murmur3_x64_128(data: &[u8], seed: u64) -> (u64, u64) {
    const C1: u64 = 0x87c3_7b91_1142_53d5;
    const C2: u64 = 0x4cf5_ad43_2745_937f;
    let (mut h1, mut h2) = (seed, seed);
    let blocks = data.chunks_exact(16);
    let tail = blocks.remainder();
    for block in blocks {
        let mut k1 = u64::from_le_bytes(block[..8].try_into().expect("8 bytes"));
        let mut k2 = u64::from_le_bytes(block[8..].try_into().expect("8 bytes"));
        k1 = k1.wrapping_mul(C1).rotate_left(31).wrapping_mul(C2);
        h1 ^= k1;
        h1 = h1
            .rotate_left(27)
            .wrapping_add(h2)
            .wrapping_mul(5)
            .wrapping_add(0x52dc_e729);
        k2 = k2.wrapping_mul(C2).rotate_left(33).wrapping_mul(C1);
        h2 ^= k2;
        h2 = h2
            .rotate_left(31)
            .wrapping_add(h1)
            .wrapping_mul(5)
            .wrapping_add(0x3849_5ab5);
    }
    let (mut k1, mut k2) = (0u64, 0u64);
    for (i, &b) in tail.iter().enumerate() {
        if i < 8 {
            k1 ^= u64::from(b) << (8 * i);
        } else {
            k2 ^= u64::from(b) << (8 * (i - 8));
        }
    }
    if tail.len() > 8 {
        h2 ^= k2.wrapping_mul(C2).rotate_left(33).wrapping_mul(C1);
    }
    if !tail.is_empty() {
        h1 ^= k1.wrapping_mul(C1).rotate_left(31).wrapping_mul(C2);
    }
    let len = data.len() as u64;
    h1 ^= len;
    h2 ^= len;
    h1 = h1.wrapping_add(h2);
    h2 = h2.wrapping_add(h1);
    h1 = fmix64(h1);
    h2 = fmix64(h2);
    h1 = h1.wrapping_add(h2);
    h2 = h2.wrapping_add(h1);
    (h1, h2)
}

/// The 8-byte key hash a shard uses.
pub fn key_hash(name: &str) -> [u8; 8] {
    murmur3_x64_128(name.as_bytes(), 0).0.to_be_bytes()
}

/// Builds the shard tree for `entries`; returns the root shard's CID and Tsize.
pub(crate) fn build(
    entries: &[DirEntry],
    opts: &ImportOptions,
    sink: &mut Sink<'_>,
) -> StoreResult<(Cid, u64)> {
    let keyed: Vec<([u8; 8], &DirEntry)> = entries.iter().map(|e| (key_hash(&e.name), e)).collect();
    build_level(&keyed, 0, opts, sink)
}

fn build_level(
    entries: &[([u8; 8], &DirEntry)],
    depth: usize,
    opts: &ImportOptions,
    sink: &mut Sink<'_>,
) -> StoreResult<(Cid, u64)> {
    let mut buckets: Vec<Vec<([u8; 8], &DirEntry)>> = vec![Vec::new(); FANOUT];
    for (hash, entry) in entries {
        // Past 64 bits of hash (never in practice) everything lands in bucket 0 of deeper levels.
        let index = hash.get(depth).copied().unwrap_or(0) as usize;
        buckets[index].push((*hash, entry));
    }
    let mut bitfield = [0u8; FANOUT / 8];
    let mut links = Vec::new();
    let mut child_tsize = 0;
    for (index, bucket) in buckets.iter().enumerate() {
        if bucket.is_empty() {
            continue;
        }
        bitfield[FANOUT / 8 - 1 - index / 8] |= 1 << (index % 8);
        let link = if bucket.len() == 1 {
            let entry = bucket[0].1;
            PbLink {
                cid: entry.cid,
                name: format!("{index:02X}{}", entry.name),
                tsize: entry.tsize,
            }
        } else {
            let (cid, tsize) = build_level(bucket, depth + 1, opts, sink)?;
            PbLink {
                cid,
                name: format!("{index:02X}"),
                tsize,
            }
        };
        child_tsize += link.tsize;
        links.push(link);
    }
    let first = bitfield
        .iter()
        .position(|&b| b != 0)
        .unwrap_or(bitfield.len());
    let mut msg = UnixFs::new(DataType::HamtShard);
    msg.data = Some(Bytes::copy_from_slice(&bitfield[first..]));
    msg.hash_type = Some(MURMUR3_X64_64);
    msg.fanout = Some(FANOUT as u64);
    let node = PbNode {
        links,
        data: Some(Bytes::from(msg.encode())),
    };
    let (cid, len) = emit_node(&node, opts, sink)?;
    Ok((cid, len + child_tsize))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn murmur3_matches_a_published_value() {
        // "Hello world", seed 0, published as the 16 digest bytes 09c01ad2296d65bdb32ceb54cdb5b54a (h1 then h2,
        // each little-endian, as Python's mmh3.hash_bytes prints them).
        let (h1, h2) = murmur3_x64_128(b"Hello world", 0);
        let mut bytes = h1.to_le_bytes().to_vec();
        bytes.extend(h2.to_le_bytes());
        assert_eq!(const_hex::encode(bytes), "09c01ad2296d65bdb32ceb54cdb5b54a");
    }

    #[test]
    fn murmur3_of_empty_input_with_seed_zero_is_zero() {
        assert_eq!(murmur3_x64_128(b"", 0), (0, 0));
    }
}
