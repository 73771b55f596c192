//! What the store adds to the one CID type ([`scal3ml_primitives::Cid`]): CIDs computed from bytes with
//! sha2-256, the check that a CID is one the store can verify (sha2-256; raw, dag-pb, dag-cbor or dag-json), and
//! parsing of untrusted CIDs with the store's errors. Hashing uses `sha2` (with SHA-NI where the CPU has it).

use sha2::{Digest, Sha256};

use scal3ml_primitives::PrimitivesError;
pub use scal3ml_primitives::{Cid, Codec, SHA2_256};

use crate::error::{StoreError, StoreResult};

/// The sha2-256 digest of `data`.
pub fn sha256(data: &[u8]) -> [u8; 32] {
    Sha256::digest(data).into()
}

/// What the store does with a [`Cid`]: compute one from bytes, and check bytes against one.
pub trait CidExt: Sized {
    /// The CIDv1 of `data` under `codec`.
    fn hash_v1(codec: Codec, data: &[u8]) -> Self;
    /// The sha2-256 digest, if this store can verify the CID: [`StoreError::UnsupportedHash`] for another hash
    /// function, [`StoreError::UnsupportedCodec`] for a codec other than raw, dag-pb, dag-cbor and dag-json.
    fn supported(&self) -> StoreResult<&[u8; 32]>;
    /// Checks that `data` hashes to this CID (and that the CID is one the store can verify).
    fn verify(&self, data: &[u8]) -> StoreResult<()>;
}

impl CidExt for Cid {
    fn hash_v1(codec: Codec, data: &[u8]) -> Self {
        Self::v1(codec, sha256(data))
    }

    fn supported(&self) -> StoreResult<&[u8; 32]> {
        if let Codec::Other(code) = self.codec() {
            return Err(StoreError::UnsupportedCodec { code });
        }
        self.sha2_256().ok_or_else(|| StoreError::UnsupportedHash {
            code: self.hash_code(),
            len: self.digest().len() as u64,
        })
    }

    fn verify(&self, data: &[u8]) -> StoreResult<()> {
        let expected = self.supported()?;
        let digest = sha256(data);
        if &digest == expected {
            Ok(())
        } else {
            Err(StoreError::HashMismatch {
                cid: *self,
                actual: self.with_sha2_256(digest),
            })
        }
    }
}

/// Parses a CID from text the store is handed, refusing one it cannot verify.
pub fn parse(text: &str) -> StoreResult<Cid> {
    let cid: Cid = text.parse()?;
    cid.supported()?;
    Ok(cid)
}

/// Parses exactly one binary CID the store is handed, refusing one it cannot verify.
pub fn decode(bytes: &[u8]) -> StoreResult<Cid> {
    let (cid, used) = decode_prefix(bytes)?;
    if used != bytes.len() {
        // The one type words the error for trailing bytes.
        return Ok(Cid::from_bytes(bytes)?);
    }
    Ok(cid)
}

/// Parses a binary CID from the front of `bytes`, refusing one the store cannot verify; returns it and the
/// number of bytes it took.
pub fn decode_prefix(bytes: &[u8]) -> StoreResult<(Cid, usize)> {
    let (cid, used) = Cid::read_bytes(bytes)?;
    cid.supported()?;
    Ok((cid, used))
}

impl From<PrimitivesError> for StoreError {
    fn from(error: PrimitivesError) -> Self {
        match error {
            PrimitivesError::CidText { text, reason } => Self::InvalidCid {
                input: text,
                reason,
            },
            PrimitivesError::CidBytes { hex, reason } => Self::InvalidCid { input: hex, reason },
            other => Self::invalid(other.to_string()),
        }
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
            let cid = parse(s).unwrap();
            assert_eq!(cid.to_string(), s);
            assert_eq!(decode(&cid.to_bytes()).unwrap(), cid);
        }
    }

    #[test]
    fn raw_cid_of_hello_world_matches_kubo() {
        let cid = Cid::hash_v1(Codec::Raw, b"hello world");
        assert_eq!(
            cid.to_string(),
            "bafkreifzjut3te2nhyekklss27nh3k72ysco7y32koao5eei66wof36n5e"
        );
        cid.verify(b"hello world").unwrap();
        assert!(matches!(
            cid.verify(b"hello"),
            Err(StoreError::HashMismatch { actual, .. }) if actual == Cid::hash_v1(Codec::Raw, b"hello")
        ));
    }

    #[test]
    fn rejects_unknown_codec_and_hash() {
        // CIDv1, codec 0x99, sha2-256
        let mut bytes = vec![1, 0x99, 0x01, 0x12, 0x20];
        bytes.extend([0u8; 32]);
        assert!(matches!(
            decode(&bytes),
            Err(StoreError::UnsupportedCodec { code: 0x99 })
        ));
        // CIDv1 raw, blake3 (0x1e): it parses as a CID, and the store refuses to read or verify it.
        let mut bytes = vec![1, 0x55, 0x1e, 0x20];
        bytes.extend([0u8; 32]);
        assert!(matches!(
            decode(&bytes),
            Err(StoreError::UnsupportedHash {
                code: 0x1e,
                len: 32
            })
        ));
        let cid = Cid::from_bytes(&bytes).unwrap();
        assert!(matches!(
            cid.verify(b""),
            Err(StoreError::UnsupportedHash { code: 0x1e, .. })
        ));
        assert!(parse("hello").is_err());
        assert!(parse("bafy").is_err());
        assert!(parse("").is_err());
        let mut trailing = Cid::hash_v1(Codec::Raw, b"").to_bytes();
        trailing.push(0);
        assert!(matches!(
            decode(&trailing),
            Err(StoreError::InvalidCid { .. })
        ));
    }
}
