//! [`Block`]: bytes together with the CID they were checked against.

use bytes::Bytes;

use crate::cid::{Cid, CidExt, Codec};
use crate::error::{StoreError, StoreResult};

/// The largest block accepted anywhere (Kubo and the trustless gateway spec agree on 1 MiB for bitswap and
/// gateways; a 1 MiB chunk wrapped in a dag-pb leaf is a few bytes larger, so the limit leaves room for that).
pub const MAX_BLOCK_SIZE: usize = 1024 * 1024 + 1024;

/// A block whose bytes are known to hash to its CID. The only public constructors verify (or compute) the hash,
/// so a `Block` handed to a [`crate::BlockStore`] never needs checking again.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Block {
    cid: Cid,
    data: Bytes,
}

impl Block {
    /// Checks `data` against `cid` (and the size limit) and pairs them.
    pub fn new(cid: Cid, data: impl Into<Bytes>) -> StoreResult<Self> {
        let data = data.into();
        check_size(data.len())?;
        cid.verify(&data)?;
        Ok(Self { cid, data })
    }

    /// A CIDv1 block of `codec` over `data`, hashing it.
    pub fn hash(codec: Codec, data: impl Into<Bytes>) -> StoreResult<Self> {
        let data = data.into();
        check_size(data.len())?;
        Ok(Self {
            cid: Cid::hash_v1(codec, &data),
            data,
        })
    }

    /// Pairs bytes with a CID the caller has just computed from exactly these bytes.
    #[allow(dead_code)]
    pub(crate) fn trusted(cid: Cid, data: Bytes) -> Self {
        Self { cid, data }
    }

    /// The CID.
    pub fn cid(&self) -> &Cid {
        &self.cid
    }

    /// The bytes.
    pub fn data(&self) -> &Bytes {
        &self.data
    }

    /// Splits into CID and bytes.
    pub fn into_parts(self) -> (Cid, Bytes) {
        (self.cid, self.data)
    }
}

/// Rejects blocks over [`MAX_BLOCK_SIZE`].
pub fn check_size(size: usize) -> StoreResult<()> {
    if size > MAX_BLOCK_SIZE {
        return Err(StoreError::BlockTooLarge {
            size,
            limit: MAX_BLOCK_SIZE,
        });
    }
    Ok(())
}
