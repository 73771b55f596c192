//! The one content identifier type of Scal3ML: [`Cid`], binary as the contracts and CAR files hold it, text as
//! people read it, built on the multiformats crates (`cid`, `multihash`, `multibase`).
//!
//! Any hash function parses (a contract may name one); the store refuses what it cannot verify when it reads
//! or verifies a block.

use crate::{PrimitivesError, PrimitivesResult};
use cid::multibase::Base;
use cid::multihash::Multihash;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::{fmt, str::FromStr};

/// Multihash code of sha2-256, the hash of every CID Scal3ML computes.
pub const SHA2_256: u64 = 0x12;

/// The multicodec a CID names: the four IPFS codecs by name, anything else by code.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Codec {
    /// Raw bytes (0x55): UnixFS leaves with `--raw-leaves`.
    Raw,
    /// dag-pb (0x70): UnixFS nodes.
    DagPb,
    /// dag-cbor (0x71).
    DagCbor,
    /// dag-json (0x0129).
    DagJson,
    /// Any other multicodec code.
    Other(u64),
}

impl Codec {
    /// The multicodec code.
    pub const fn code(self) -> u64 {
        match self {
            Self::Raw => 0x55,
            Self::DagPb => 0x70,
            Self::DagCbor => 0x71,
            Self::DagJson => 0x0129,
            Self::Other(code) => code,
        }
    }

    /// The codec for a multicodec code.
    pub const fn from_code(code: u64) -> Self {
        match code {
            0x55 => Self::Raw,
            0x70 => Self::DagPb,
            0x71 => Self::DagCbor,
            0x0129 => Self::DagJson,
            other => Self::Other(other),
        }
    }
}

impl fmt::Display for Codec {
    /// The multicodec table name ("raw", "dag-pb", ...), or the code in hex for any other codec.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Raw => f.write_str("raw"),
            Self::DagPb => f.write_str("dag-pb"),
            Self::DagCbor => f.write_str("dag-cbor"),
            Self::DagJson => f.write_str("dag-json"),
            Self::Other(code) => write!(f, "codec 0x{code:x}"),
        }
    }
}

/// A CIDv0 (a sha2-256 multihash, always dag-pb) or a CIDv1 (version, codec, multihash of digests up to 64 bytes).
/// Text form: CIDv0 in base58btc (`Qm...`), CIDv1 in lowercase base32 with the `b` multibase prefix, exactly as
/// Kubo writes them. Serialized as text. `Copy`: a thin wrapper over [`cid::Cid`].
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Cid(cid::Cid);

impl Cid {
    /// The CIDv0 (dag-pb) of a sha2-256 digest.
    pub fn v0(digest: [u8; 32]) -> Self {
        Self(cid::Cid::new_v0(sha2_256(&digest)).expect("a sha2-256 multihash is a valid CIDv0"))
    }

    /// The CIDv1 of a codec and a sha2-256 digest.
    pub fn v1(codec: Codec, digest: [u8; 32]) -> Self {
        Self(cid::Cid::new_v1(codec.code(), sha2_256(&digest)))
    }

    /// A CID of the same version and codec as `self` over another sha2-256 digest.
    pub fn with_sha2_256(&self, digest: [u8; 32]) -> Self {
        match self.version() {
            0 => Self::v0(digest),
            _ => Self::v1(self.codec(), digest),
        }
    }

    /// Parses exactly one binary CID.
    pub fn from_bytes(bytes: impl AsRef<[u8]>) -> PrimitivesResult<Self> {
        let bytes = bytes.as_ref();
        let (cid, used) = Self::read_bytes(bytes)?;
        if used != bytes.len() {
            let trailing = bytes.len() - used;
            return Err(bytes_error(bytes, format!("{trailing} trailing bytes")));
        }
        Ok(cid)
    }

    /// Parses a binary CID from the front of `bytes`; returns it and the number of bytes it took.
    pub fn read_bytes(bytes: &[u8]) -> PrimitivesResult<(Self, usize)> {
        let mut rest = bytes;
        let cid = cid::Cid::read_bytes(&mut rest).map_err(|e| bytes_error(bytes, reason(&e)))?;
        Ok((Self(cid), bytes.len() - rest.len()))
    }

    /// The binary form (what contract events, dag-pb links and CAR sections hold).
    pub fn to_bytes(&self) -> Vec<u8> {
        // Sized up front: the crate's own `to_bytes` grows an empty Vec, about twice as slow.
        let mut out = Vec::with_capacity(self.encoded_len());
        self.write_bytes(&mut out);
        out
    }

    /// Appends the binary form to `out`.
    pub fn write_bytes(&self, out: &mut Vec<u8>) {
        self.0
            .write_bytes(out)
            .expect("writing to a Vec cannot fail");
    }

    /// The binary form's length.
    pub fn encoded_len(&self) -> usize {
        self.0.encoded_len()
    }

    /// The CID version: 0 or 1.
    pub fn version(&self) -> u8 {
        match self.0.version() {
            cid::Version::V0 => 0,
            cid::Version::V1 => 1,
        }
    }

    /// The codec (dag-pb for a CIDv0).
    pub fn codec(&self) -> Codec {
        Codec::from_code(self.0.codec())
    }

    /// The multihash function's code (0x12 for sha2-256).
    pub fn hash_code(&self) -> u64 {
        self.0.hash().code()
    }

    /// The multihash digest.
    pub fn digest(&self) -> &[u8] {
        self.0.hash().digest()
    }

    /// The digest if the hash is sha2-256 (32 bytes), the only hash Scal3ML computes and verifies.
    pub fn sha2_256(&self) -> Option<&[u8; 32]> {
        if self.hash_code() != SHA2_256 {
            return None;
        }
        self.digest().try_into().ok()
    }

    /// The same content as a CIDv1 (dag-pb for a CIDv0).
    pub fn to_v1(&self) -> Self {
        match self.0.version() {
            cid::Version::V0 => Self(cid::Cid::new_v1(self.0.codec(), *self.0.hash())),
            cid::Version::V1 => *self,
        }
    }
}

fn sha2_256(digest: &[u8; 32]) -> Multihash<64> {
    Multihash::wrap(SHA2_256, digest).expect("32 bytes fit in 64")
}

fn bytes_error(bytes: &[u8], reason: String) -> PrimitivesError {
    PrimitivesError::CidBytes {
        hex: alloy_primitives::hex::encode(&bytes[..bytes.len().min(40)]),
        reason,
    }
}

/// The crate's error, said as what is wrong with the bytes.
fn reason(error: &cid::Error) -> String {
    match error {
        cid::Error::Io(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => "truncated".into(),
        cid::Error::Io(e) => format!("bad multihash: {e}"),
        cid::Error::VarIntDecodeError => "bad or truncated varint".into(),
        cid::Error::InvalidCidVersion => "unknown CID version (expected 0 or 1)".into(),
        cid::Error::ParsingError => "bad multihash (truncated, or a digest over 64 bytes)".into(),
        cid::Error::InvalidExplicitCidV0 => "CIDv0 cannot be written with a version byte".into(),
        other => other.to_string(),
    }
}

impl From<cid::Cid> for Cid {
    fn from(cid: cid::Cid) -> Self {
        Self(cid)
    }
}

impl From<Cid> for cid::Cid {
    fn from(cid: Cid) -> Self {
        cid.0
    }
}

impl FromStr for Cid {
    type Err = PrimitivesError;

    /// Accepts CIDv0 (`Qm...`), and CIDv1 in base32 (`b...`, `B...`) or base58btc (`z...`).
    fn from_str(text: &str) -> PrimitivesResult<Self> {
        let fail = |reason: String| PrimitivesError::CidText {
            text: text.to_string(),
            reason,
        };
        let decoded = if text.len() == 46 && text.starts_with("Qm") {
            Base::Base58Btc.decode(text)
        } else if let Some(rest) = text.strip_prefix(['b', 'B']) {
            Base::Base32Lower.decode(rest.to_ascii_lowercase())
        } else if let Some(rest) = text.strip_prefix('z') {
            Base::Base58Btc.decode(rest)
        } else if text.is_empty() {
            return Err(fail("empty string".into()));
        } else {
            return Err(fail("unknown multibase prefix".into()));
        };
        let bytes = decoded.map_err(|e| fail(format!("bad multibase text: {e}")))?;
        let cid = Cid::from_bytes(bytes).map_err(|e| match e {
            PrimitivesError::CidBytes { reason, .. } => fail(reason),
            other => fail(other.to_string()),
        })?;
        if cid.version() == 0 && !text.starts_with("Qm") {
            return Err(fail("a CIDv0 must be written in base58btc (Qm...)".into()));
        }
        Ok(cid)
    }
}

impl fmt::Display for Cid {
    /// CIDv0 as base58btc (`Qm...`), CIDv1 as lowercase base32 (`b...`).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.0, f)
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
        let text = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // From testdata/unixfs.tsv ("hello world", produced by Kubo).
    const V0: &str = "Qmf412jQZiuVUtdgnB36FXFX7xg5V6KEbSJ4dpQuhkLyfD";
    const V1_RAW: &str = "bafkreifzjut3te2nhyekklss27nh3k72ysco7y32koao5eei66wof36n5e";
    const V1_PB: &str = "bafybeihykld7uyxzogax6vgyvag42y7464eywpf55gxi5qpoisibh3c5wa";

    #[test]
    fn text_round_trips_for_kubo_cids() {
        for text in [V0, V1_RAW, V1_PB] {
            let cid: Cid = text.parse().unwrap();
            assert_eq!(cid.to_string(), text);
            assert_eq!(Cid::from_bytes(cid.to_bytes()).unwrap(), cid);
        }
        // Upper-case base32 and base58btc CIDv1 are read too, and written back as Kubo writes them.
        let upper = format!("B{}", V1_RAW[1..].to_ascii_uppercase());
        assert_eq!(upper.parse::<Cid>().unwrap().to_string(), V1_RAW);
        let z = format!("z{}", bs58(V1_RAW));
        assert_eq!(z.parse::<Cid>().unwrap().to_string(), V1_RAW);
    }

    fn bs58(text: &str) -> String {
        Base::Base58Btc.encode(text.parse::<Cid>().unwrap().to_bytes())
    }

    #[test]
    fn binary_layout_matches_the_cid_spec() {
        let v0: Cid = V0.parse().unwrap();
        assert_eq!(v0.version(), 0);
        assert_eq!(v0.codec(), Codec::DagPb);
        assert_eq!(&v0.to_bytes()[..2], &[0x12, 0x20]);
        assert_eq!(v0.encoded_len(), 34);
        let v1: Cid = V1_RAW.parse().unwrap();
        assert_eq!(v1.version(), 1);
        assert_eq!(v1.codec(), Codec::Raw);
        // version 1, raw codec 0x55, sha2-256 0x12, 32-byte digest
        assert_eq!(&v1.to_bytes()[..4], &[0x01, 0x55, 0x12, 0x20]);
        assert_eq!(v1.encoded_len(), 36);
        assert_eq!(Cid::v1(Codec::Raw, *v1.sha2_256().unwrap()), v1);
        let pb: Cid = V1_PB.parse().unwrap();
        assert_eq!(Cid::v0(*pb.sha2_256().unwrap()).to_v1(), pb);
        assert_eq!(Cid::v0([7; 32]).with_sha2_256([8; 32]), Cid::v0([8; 32]));
    }

    #[test]
    fn any_hash_and_codec_parse() {
        // CIDv1, dag-jose (0x85), blake3 (0x1e) over 32 bytes; and sha2-512 (0x13) over 64.
        let mut blake3 = vec![1, 0x85, 0x01, 0x1e, 0x20];
        blake3.extend([5u8; 32]);
        let cid = Cid::from_bytes(&blake3).unwrap();
        assert_eq!((cid.codec(), cid.hash_code()), (Codec::Other(0x85), 0x1e));
        assert_eq!(cid.sha2_256(), None);
        assert_eq!(cid.to_bytes(), blake3);
        assert_eq!(cid.to_string().parse::<Cid>().unwrap(), cid);
        let mut sha512 = vec![1, 0x55, 0x13, 0x40];
        sha512.extend([6u8; 64]);
        assert_eq!(Cid::from_bytes(&sha512).unwrap().digest(), &[6u8; 64]);
    }

    #[test]
    fn garbage_is_refused_with_the_reason() {
        let err = "yyy".parse::<Cid>().unwrap_err().to_string();
        assert!(err.contains("unknown multibase prefix"), "{err}");
        assert!("".parse::<Cid>().is_err());
        assert!("bafy".parse::<Cid>().is_err());
        // A CIDv0 spelled as base32 CIDv1 text.
        let v0: Cid = V0.parse().unwrap();
        let b = format!("b{}", Base::Base32Lower.encode(v0.to_bytes()));
        assert!(
            b.parse::<Cid>()
                .unwrap_err()
                .to_string()
                .contains("base58btc")
        );
        let err = Cid::from_bytes([0x01, 0x55, 0x12, 0x20, 1, 2])
            .unwrap_err()
            .to_string();
        assert!(err.contains("truncated"), "{err}");
        assert!(Cid::from_bytes([]).is_err());
        let mut trailing = v0.to_bytes();
        trailing.push(0);
        let err = Cid::from_bytes(&trailing).unwrap_err().to_string();
        assert!(err.contains("1 trailing bytes"), "{err}");
        // A digest longer than 64 bytes.
        let mut long = vec![1, 0x55, 0x13, 0x41];
        long.extend([0u8; 65]);
        assert!(Cid::from_bytes(&long).is_err());
    }

    #[test]
    fn serde_uses_text() {
        let cid: Cid = V1_PB.parse().unwrap();
        let json = serde_json::to_string(&cid).unwrap();
        assert_eq!(json, format!("\"{V1_PB}\""));
        assert_eq!(serde_json::from_str::<Cid>(&json).unwrap(), cid);
    }
}
