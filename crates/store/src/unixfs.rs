//! The UnixFS `Data` message carried in a dag-pb node's Data field (proto2, fields written in number order as
//! Kubo writes them): Type (1), Data (2), filesize (3), blocksizes (4, unpacked), hashType (5), fanout (6).
//! Mode (7) and mtime (8) are read and ignored.

use bytes::Bytes;

use crate::dagpb::Reader;
use crate::error::{StoreError, StoreResult};
use crate::varint;

const FORMAT: &str = "UnixFS";

/// The UnixFS node types.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DataType {
    /// Raw bytes (legacy leaves).
    Raw,
    /// A directory whose links are its entries.
    Directory,
    /// A file: data inline and/or in linked chunks.
    File,
    /// Metadata (unused).
    Metadata,
    /// A symbolic link; Data holds the target.
    Symlink,
    /// A HAMT-sharded directory shard.
    HamtShard,
}

impl DataType {
    fn code(self) -> u64 {
        match self {
            Self::Raw => 0,
            Self::Directory => 1,
            Self::File => 2,
            Self::Metadata => 3,
            Self::Symlink => 4,
            Self::HamtShard => 5,
        }
    }

    fn from_code(code: u64) -> StoreResult<Self> {
        Ok(match code {
            0 => Self::Raw,
            1 => Self::Directory,
            2 => Self::File,
            3 => Self::Metadata,
            4 => Self::Symlink,
            5 => Self::HamtShard,
            _ => {
                return Err(StoreError::malformed(
                    FORMAT,
                    format!("unknown Type {code}"),
                ));
            }
        })
    }

    /// A human name ("file", "directory", ...).
    pub fn name(self) -> &'static str {
        match self {
            Self::Raw => "raw",
            Self::Directory => "directory",
            Self::File => "file",
            Self::Metadata => "metadata",
            Self::Symlink => "symlink",
            Self::HamtShard => "HAMT-sharded directory",
        }
    }
}

/// A UnixFS Data message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UnixFs {
    /// Type.
    pub kind: DataType,
    /// Inline data (a leaf's bytes, a symlink's target, a HAMT shard's bitfield).
    pub data: Option<Bytes>,
    /// Total file bytes under this node.
    pub filesize: Option<u64>,
    /// File bytes under each link, in link order.
    pub blocksizes: Vec<u64>,
    /// HAMT hash function (0x22 = murmur3-x64-64).
    pub hash_type: Option<u64>,
    /// HAMT fanout.
    pub fanout: Option<u64>,
}

impl UnixFs {
    /// A message of `kind` with nothing else set.
    pub fn new(kind: DataType) -> Self {
        Self {
            kind,
            data: None,
            filesize: None,
            blocksizes: Vec::new(),
            hash_type: None,
            fanout: None,
        }
    }

    /// Encodes the message.
    pub fn encode(&self) -> Vec<u8> {
        let data_len = self.data.as_ref().map_or(0, |d| d.len());
        let mut out = Vec::with_capacity(16 + data_len + self.blocksizes.len() * 5);
        out.push(0x08);
        varint::write(&mut out, self.kind.code());
        if let Some(data) = &self.data {
            out.push(0x12);
            varint::write(&mut out, data.len() as u64);
            out.extend_from_slice(data);
        }
        if let Some(size) = self.filesize {
            out.push(0x18);
            varint::write(&mut out, size);
        }
        for size in &self.blocksizes {
            out.push(0x20);
            varint::write(&mut out, *size);
        }
        if let Some(h) = self.hash_type {
            out.push(0x28);
            varint::write(&mut out, h);
        }
        if let Some(f) = self.fanout {
            out.push(0x30);
            varint::write(&mut out, f);
        }
        out
    }

    /// Decodes a message, sharing `bytes` for the Data field. Never panics.
    pub fn decode(bytes: &Bytes) -> StoreResult<Self> {
        let mut reader = Reader { buf: bytes, pos: 0 };
        let mut kind = None;
        let mut msg = Self::new(DataType::Raw);
        let wrong = |field: u64, wire: u64| {
            StoreError::malformed(
                FORMAT,
                format!("unexpected field {field} with wire type {wire}"),
            )
        };
        while !reader.done() {
            let (field, wire) = reader.key()?;
            match (field, wire) {
                (1, 0) => kind = Some(DataType::from_code(reader.varint()?)?),
                (2, 2) => {
                    let (s, e) = reader.len_delimited()?;
                    msg.data = Some(bytes.slice(s..e));
                }
                (3, 0) => msg.filesize = Some(reader.varint()?),
                (4, 0) => msg.blocksizes.push(reader.varint()?),
                (4, 2) => {
                    // packed form, accepted on read
                    let (s, e) = reader.len_delimited()?;
                    let mut inner = Reader {
                        buf: &bytes[s..e],
                        pos: 0,
                    };
                    while !inner.done() {
                        msg.blocksizes.push(inner.varint()?);
                    }
                }
                (5, 0) => msg.hash_type = Some(reader.varint()?),
                (6, 0) => msg.fanout = Some(reader.varint()?),
                (7, 0) => {
                    reader.varint()?;
                }
                (8, 2) => {
                    reader.len_delimited()?;
                }
                _ => return Err(wrong(field, wire)),
            }
        }
        msg.kind = kind.ok_or_else(|| StoreError::malformed(FORMAT, "missing Type"))?;
        Ok(msg)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn directory_is_0801() {
        assert_eq!(UnixFs::new(DataType::Directory).encode(), [0x08, 0x01]);
    }

    #[test]
    fn file_round_trip() {
        let msg = UnixFs {
            kind: DataType::File,
            data: None,
            filesize: Some(600_000),
            blocksizes: vec![262_144, 262_144, 75_712],
            hash_type: None,
            fanout: None,
        };
        let bytes = Bytes::from(msg.encode());
        assert_eq!(UnixFs::decode(&bytes).unwrap(), msg);
    }
}
