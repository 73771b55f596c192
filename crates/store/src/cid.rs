//! Content identifiers: CIDv0 (base58btc sha2-256 dag-pb) and CIDv1 (raw, dag-pb, dag-cbor, dag-json) over
//! sha2-256, the only hash this store can verify. A small own codec instead of the `cid`/`multihash` crates: the
//! type is `Copy`, 34 bytes, and hashing uses `sha2` with SHA-NI directly.

use std::fmt;
use std::str::FromStr;

use sha2::{Digest, Sha256};

use crate::error::{StoreError, StoreResult};
use crate::varint;

/// Multihash code of sha2-256.
pub const SHA2_256: u64 = 0x12;

/// The codecs a CID may name here.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Codec {
    /// Raw bytes (0x55): UnixFS leaves with `--raw-leaves`.
    Raw,
    /// dag-pb (0x70): UnixFS nodes.
    DagPb,
    /// dag-cbor (0x71): stored and verified, not interpreted.
    DagCbor,
    /// dag-json (0x0129): stored and verified, not interpreted.
    DagJson,
}

impl Codec {
    /// The multicodec code.
    pub const fn code(self) -> u64 {
        match self {
            Self::Raw => 0x55,
            Self::DagPb => 0x70,
            Self::DagCbor => 0x71,
            Self::DagJson => 0x0129,
        }
    }

    /// The codec for a multicodec code.
    pub fn from_code(code: u64) -> StoreResult<Self> {
        Ok(match code {
            0x55 => Self::Raw,
            0x70 => Self::DagPb,
            0x71 => Self::DagCbor,
            0x0129 => Self::DagJson,
            _ => return Err(StoreError::UnsupportedCodec { code }),
        })
    }

    /// The multicodec table name ("raw", "dag-pb", ...).
    pub const fn name(self) -> &'static str {
        match self {
            Self::Raw => "raw",
            Self::DagPb => "dag-pb",
            Self::DagCbor => "dag-cbor",
            Self::DagJson => "dag-json",
        }
    }
}

/// A CID over a sha2-256 digest.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Cid {
    v0: bool,
    codec: Codec,
    digest: [u8; 32],
}

/// The sha2-256 digest of `data`.
pub fn sha256(data: &[u8]) -> [u8; 32] {
    Sha256::digest(data).into()
}

impl Cid {
    /// A CIDv0 (always dag-pb) for a sha2-256 digest.
    pub const fn v0(digest: [u8; 32]) -> Self {
        Self {
            v0: true,
            codec: Codec::DagPb,
            digest,
        }
    }

    /// A CIDv1 for a codec and sha2-256 digest.
    pub const fn v1(codec: Codec, digest: [u8; 32]) -> Self {
        Self {
            v0: false,
            codec,
            digest,
        }
    }

    /// The CIDv1 of `data` under `codec`.
    pub fn hash_v1(codec: Codec, data: &[u8]) -> Self {
        Self::v1(codec, sha256(data))
    }

    /// The CID of the same version and codec as `self` for other bytes.
    pub fn rehash(&self, data: &[u8]) -> Self {
        Self {
            digest: sha256(data),
            ..*self
        }
    }

    /// 0 or 1.
    pub const fn version(&self) -> u8 {
        if self.v0 { 0 } else { 1 }
    }

    /// The codec.
    pub const fn codec(&self) -> Codec {
        self.codec
    }

    /// The sha2-256 digest.
    pub const fn digest(&self) -> &[u8; 32] {
        &self.digest
    }

    /// The same content as a CIDv1 (dag-pb for a CIDv0).
    pub const fn to_v1(&self) -> Self {
        Self { v0: false, ..*self }
    }

    /// Checks that `data` hashes to this CID.
    pub fn verify(&self, data: &[u8]) -> StoreResult<()> {
        let digest = sha256(data);
        if digest == self.digest {
            Ok(())
        } else {
            Err(StoreError::HashMismatch {
                cid: *self,
                actual: Self { digest, ..*self },
            })
        }
    }

    /// The binary form's length.
    pub fn encoded_len(&self) -> usize {
        if self.v0 {
            34
        } else {
            1 + varint::len(self.codec.code()) + 34
        }
    }

    /// Appends the binary form (what dag-pb links and CAR sections hold).
    pub fn write_bytes(&self, out: &mut Vec<u8>) {
        if !self.v0 {
            out.push(1);
            varint::write(out, self.codec.code());
        }
        out.extend_from_slice(&[SHA2_256 as u8, 32]);
        out.extend_from_slice(&self.digest);
    }

    /// The binary form.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.encoded_len());
        self.write_bytes(&mut out);
        out
    }

    /// Parses exactly one binary CID.
    pub fn from_bytes(bytes: &[u8]) -> StoreResult<Self> {
        let (cid, used) = Self::read_bytes(bytes)?;
        if used != bytes.len() {
            return Err(invalid_bytes(
                bytes,
                format!("{} trailing bytes", bytes.len() - used),
            ));
        }
        Ok(cid)
    }

    /// Parses a binary CID from the front of `bytes`; returns it and the bytes used.
    pub fn read_bytes(bytes: &[u8]) -> StoreResult<(Self, usize)> {
        let err = |reason: String| invalid_bytes(bytes, reason);
        if bytes.len() >= 2 && bytes[0] == 0x12 && bytes[1] == 0x20 {
            let digest = bytes
                .get(2..34)
                .ok_or_else(|| err("truncated CIDv0".into()))?;
            return Ok((Self::v0(digest.try_into().expect("32 bytes")), 34));
        }
        let mut pos = 0;
        let mut next = |what: &str| -> StoreResult<u64> {
            let (v, n) =
                varint::read(&bytes[pos..], "CID").map_err(|e| err(format!("{what}: {e}")))?;
            pos += n;
            Ok(v)
        };
        let version = next("version")?;
        if version != 1 {
            return Err(err(format!("unknown CID version {version}")));
        }
        let codec = Codec::from_code(next("codec")?)?;
        let hash = next("multihash code")?;
        let len = next("digest length")?;
        if hash != SHA2_256 || len != 32 {
            return Err(StoreError::UnsupportedHash { code: hash, len });
        }
        let digest = bytes
            .get(pos..pos + 32)
            .ok_or_else(|| err("truncated digest".into()))?;
        Ok((
            Self::v1(codec, digest.try_into().expect("32 bytes")),
            pos + 32,
        ))
    }
}

fn invalid_bytes(bytes: &[u8], reason: String) -> StoreError {
    let hex: String = bytes.iter().take(40).map(|b| format!("{b:02x}")).collect();
    StoreError::InvalidCid { input: hex, reason }
}

const BASE32: &[u8; 32] = b"abcdefghijklmnopqrstuvwxyz234567";

fn base32_encode(data: &[u8], out: &mut String) {
    let mut buffer = 0u32;
    let mut bits = 0;
    for &b in data {
        buffer = (buffer << 8) | u32::from(b);
        bits += 8;
        while bits >= 5 {
            bits -= 5;
            out.push(BASE32[((buffer >> bits) & 31) as usize] as char);
        }
    }
    if bits > 0 {
        out.push(BASE32[((buffer << (5 - bits)) & 31) as usize] as char);
    }
}

fn base32_decode(text: &str) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(text.len() * 5 / 8);
    let mut buffer = 0u32;
    let mut bits = 0;
    for c in text.bytes() {
        let v = BASE32.iter().position(|&a| a == c.to_ascii_lowercase())? as u32;
        buffer = (buffer << 5) | v;
        bits += 5;
        if bits >= 8 {
            bits -= 8;
            out.push((buffer >> bits) as u8);
        }
    }
    // Leftover bits must be zero padding of fewer than 5 bits.
    if bits >= 5 || buffer & ((1 << bits) - 1) != 0 {
        return None;
    }
    Some(out)
}

impl fmt::Display for Cid {
    /// CIDv0 as base58btc ("Qm..."), CIDv1 as lowercase base32 ("b...").
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let bytes = self.to_bytes();
        if self.v0 {
            f.write_str(&bs58::encode(bytes).into_string())
        } else {
            let mut s = String::with_capacity(1 + bytes.len() * 8 / 5 + 1);
            s.push('b');
            base32_encode(&bytes, &mut s);
            f.write_str(&s)
        }
    }
}

impl fmt::Debug for Cid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Cid({self})")
    }
}

impl FromStr for Cid {
    type Err = StoreError;

    /// Accepts CIDv0 ("Qm..."), and CIDv1 in base32 ("b...", "B...") or base58btc ("z...").
    fn from_str(s: &str) -> StoreResult<Self> {
        let err = |reason: &str| StoreError::InvalidCid {
            input: s.to_owned(),
            reason: reason.to_owned(),
        };
        let bytes = if s.len() == 46 && s.starts_with("Qm") {
            bs58::decode(s)
                .into_vec()
                .map_err(|_| err("not valid base58btc"))?
        } else if let Some(rest) = s.strip_prefix('b').or_else(|| s.strip_prefix('B')) {
            base32_decode(rest).ok_or_else(|| err("not valid base32"))?
        } else if let Some(rest) = s.strip_prefix('z') {
            bs58::decode(rest)
                .into_vec()
                .map_err(|_| err("not valid base58btc"))?
        } else if s.is_empty() {
            return Err(err("empty string"));
        } else {
            return Err(err(
                "expected a CIDv0 (Qm...) or a CIDv1 in base32 (b...) or base58btc (z...)",
            ));
        };
        let cid = Self::from_bytes(&bytes).map_err(|e| match e {
            StoreError::InvalidCid { reason, .. } => StoreError::InvalidCid {
                input: s.to_owned(),
                reason,
            },
            other => other,
        })?;
        if cid.v0 && !s.starts_with("Qm") {
            return Err(err("a CIDv0 must be written in base58btc (Qm...)"));
        }
        Ok(cid)
    }
}

impl serde::Serialize for Cid {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> serde::Deserialize<'de> for Cid {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let s = <std::borrow::Cow<'de, str>>::deserialize(deserializer)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn v0_and_v1_text_round_trip() {
        for s in [
            "QmUNLLsPACCz1vLxQVkXqqLX5R1X345qqfHbsf67hvA3Nn",
            "bafkreifzjut3te2nhyekklss27nh3k72ysco7y32koao5eei66wof36n5e",
            "bafybeihykld7uyxzogax6vgyvag42y7464eywpf55gxi5qpoisibh3c5wa",
        ] {
            let cid: Cid = s.parse().unwrap();
            assert_eq!(cid.to_string(), s);
            assert_eq!(Cid::from_bytes(&cid.to_bytes()).unwrap(), cid);
        }
    }

    #[test]
    fn raw_cid_of_hello_world_matches_kubo() {
        let cid = Cid::hash_v1(Codec::Raw, b"hello world");
        assert_eq!(
            cid.to_string(),
            "bafkreifzjut3te2nhyekklss27nh3k72ysco7y32koao5eei66wof36n5e"
        );
    }

    #[test]
    fn rejects_unknown_codec_and_hash() {
        // CIDv1, codec 0x99, sha2-256
        let mut bytes = vec![1, 0x99, 0x01, 0x12, 0x20];
        bytes.extend([0u8; 32]);
        assert!(matches!(
            Cid::from_bytes(&bytes),
            Err(StoreError::UnsupportedCodec { code: 0x99 })
        ));
        // CIDv1 raw, blake3 (0x1e)
        let mut bytes = vec![1, 0x55, 0x1e, 0x20];
        bytes.extend([0u8; 32]);
        assert!(matches!(
            Cid::from_bytes(&bytes),
            Err(StoreError::UnsupportedHash { code: 0x1e, .. })
        ));
        assert!("hello".parse::<Cid>().is_err());
        assert!("bafy".parse::<Cid>().is_err());
        assert!("".parse::<Cid>().is_err());
    }
}
