//! Content identifiers as the contracts store them (binary) and as people read them (text).

use crate::{PrimitivesError, PrimitivesResult};
use data_encoding::BASE32_NOPAD;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::{fmt, str::FromStr};

/// A CID in its binary form: CIDv0 (a sha2-256 multihash, 34 bytes) or CIDv1 (version, codec, multihash).
/// Text form: CIDv0 in base58btc (`Qm...`), CIDv1 in lowercase base32 with the `b` multibase prefix.
/// Serialized as text.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Cid(Vec<u8>);

fn varint(bytes: &[u8]) -> Option<(u64, usize)> {
    let mut value = 0u64;
    for (i, b) in bytes.iter().enumerate().take(9) {
        value |= u64::from(b & 0x7f) << (7 * i);
        if b & 0x80 == 0 {
            return Some((value, i + 1));
        }
    }
    None
}

impl Cid {
    /// Checks and wraps a binary CID.
    pub fn from_bytes(bytes: impl Into<Vec<u8>>) -> PrimitivesResult<Self> {
        let bytes = bytes.into();
        let fail = |reason| PrimitivesError::CidBytes {
            hex: hex(&bytes),
            reason,
        };
        if bytes.len() == 34 && bytes[0] == 0x12 && bytes[1] == 0x20 {
            return Ok(Self(bytes));
        }
        let (version, a) = varint(&bytes).ok_or_else(|| fail("truncated version"))?;
        if version != 1 {
            return Err(fail("not CIDv0 (0x1220 + 32 bytes) and version is not 1"));
        }
        let (_codec, b) = varint(&bytes[a..]).ok_or_else(|| fail("truncated codec"))?;
        let (_hash, c) = varint(&bytes[a + b..]).ok_or_else(|| fail("truncated multihash code"))?;
        let (len, d) =
            varint(&bytes[a + b + c..]).ok_or_else(|| fail("truncated digest length"))?;
        if bytes.len() - (a + b + c + d) != len as usize {
            return Err(fail("digest length does not match the multihash"));
        }
        Ok(Self(bytes))
    }

    /// The binary form, as stored in contract events.
    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }

    /// The CID version: 0 or 1.
    pub fn version(&self) -> u8 {
        if self.0[0] == 0x12 { 0 } else { 1 }
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

impl FromStr for Cid {
    type Err = PrimitivesError;
    fn from_str(text: &str) -> PrimitivesResult<Self> {
        let fail = |reason: String| PrimitivesError::CidText {
            text: text.to_string(),
            reason,
        };
        let bytes = if text.len() == 46 && text.starts_with("Qm") {
            bs58::decode(text)
                .into_vec()
                .map_err(|e| fail(format!("bad base58: {e}")))?
        } else if let Some(rest) = text.strip_prefix('b') {
            BASE32_NOPAD
                .decode(rest.to_ascii_uppercase().as_bytes())
                .map_err(|e| fail(format!("bad base32: {e}")))?
        } else {
            return Err(fail("unknown multibase prefix".to_string()));
        };
        Cid::from_bytes(bytes).map_err(|e| fail(e.to_string()))
    }
}

impl fmt::Display for Cid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.version() == 0 {
            f.write_str(&bs58::encode(&self.0).into_string())
        } else {
            write!(f, "b{}", BASE32_NOPAD.encode(&self.0).to_ascii_lowercase())
        }
    }
}

impl fmt::Debug for Cid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Cid({self})")
    }
}

impl Serialize for Cid {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Cid {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // From shared/vectors/unixfs.tsv ("hello world", produced by Kubo).
    const V0: &str = "Qmf412jQZiuVUtdgnB36FXFX7xg5V6KEbSJ4dpQuhkLyfD";
    const V1_RAW: &str = "bafkreifzjut3te2nhyekklss27nh3k72ysco7y32koao5eei66wof36n5e";
    const V1_PB: &str = "bafybeihykld7uyxzogax6vgyvag42y7464eywpf55gxi5qpoisibh3c5wa";

    #[test]
    fn text_round_trips_for_kubo_cids() {
        for text in [V0, V1_RAW, V1_PB] {
            let cid: Cid = text.parse().unwrap();
            assert_eq!(cid.to_string(), text);
            assert_eq!(Cid::from_bytes(cid.as_bytes().to_vec()).unwrap(), cid);
        }
    }

    #[test]
    fn binary_layout_matches_the_cid_spec() {
        let v0: Cid = V0.parse().unwrap();
        assert_eq!(v0.version(), 0);
        assert_eq!(&v0.as_bytes()[..2], &[0x12, 0x20]);
        let v1: Cid = V1_RAW.parse().unwrap();
        assert_eq!(v1.version(), 1);
        // version 1, raw codec 0x55, sha2-256 0x12, 32-byte digest
        assert_eq!(&v1.as_bytes()[..4], &[0x01, 0x55, 0x12, 0x20]);
        assert_eq!(v1.as_bytes().len(), 36);
    }

    #[test]
    fn garbage_is_refused_with_the_reason() {
        let err = "zzz".parse::<Cid>().unwrap_err().to_string();
        assert!(err.contains("unknown multibase prefix"), "{err}");
        assert!(Cid::from_bytes(vec![0x01, 0x55, 0x12, 0x20, 1, 2]).is_err());
        assert!(Cid::from_bytes(vec![]).is_err());
    }

    #[test]
    fn serde_uses_text() {
        let cid: Cid = V1_PB.parse().unwrap();
        let json = serde_json::to_string(&cid).unwrap();
        assert_eq!(json, format!("\"{V1_PB}\""));
        assert_eq!(serde_json::from_str::<Cid>(&json).unwrap(), cid);
    }
}
