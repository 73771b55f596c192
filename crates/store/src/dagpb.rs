//! dag-pb nodes (the protobuf `PBNode { repeated PBLink Links = 2; optional bytes Data = 1; }`) encoded exactly as
//! Kubo encodes them: links first, each with Hash, Name (always written, even empty) and Tsize; then Data.
//! Decoding never panics and shares the input buffer.

use bytes::Bytes;

use crate::cid::Cid;
use crate::error::{StoreError, StoreResult};
use crate::varint;

const FORMAT: &str = "dag-pb";

/// A named link to another block.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PbLink {
    /// The target.
    pub cid: Cid,
    /// The name (empty for file chunks).
    pub name: String,
    /// The cumulative size of the target: its block length plus the Tsizes of its links.
    pub tsize: u64,
}

/// A dag-pb node.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PbNode {
    /// Links, in the order they are written.
    pub links: Vec<PbLink>,
    /// The Data field (a UnixFS message for UnixFS nodes).
    pub data: Option<Bytes>,
}

fn write_len_field(out: &mut Vec<u8>, tag: u8, bytes: &[u8]) {
    out.push(tag);
    varint::write(out, bytes.len() as u64);
    out.extend_from_slice(bytes);
}

impl PbNode {
    /// The encoded length, to size buffers.
    pub fn encoded_len(&self) -> usize {
        let mut n = 0;
        for link in &self.links {
            let inner = link_len(link);
            n += 1 + varint::len(inner as u64) + inner;
        }
        if let Some(data) = &self.data {
            n += 1 + varint::len(data.len() as u64) + data.len();
        }
        n
    }

    /// Encodes the node.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.encoded_len());
        for link in &self.links {
            out.push(0x12);
            varint::write(&mut out, link_len(link) as u64);
            out.push(0x0a);
            varint::write(&mut out, link.cid.encoded_len() as u64);
            link.cid.write_bytes(&mut out);
            write_len_field(&mut out, 0x12, link.name.as_bytes());
            out.push(0x18);
            varint::write(&mut out, link.tsize);
        }
        if let Some(data) = &self.data {
            write_len_field(&mut out, 0x0a, data);
        }
        out
    }

    /// Decodes a node, sharing `bytes` for the Data field.
    pub fn decode(bytes: &Bytes) -> StoreResult<Self> {
        let mut node = PbNode::default();
        let mut reader = Reader { buf: bytes, pos: 0 };
        while !reader.done() {
            let (field, wire) = reader.key()?;
            match (field, wire) {
                (1, 2) => {
                    if node.data.is_some() {
                        return Err(StoreError::malformed(FORMAT, "Data field appears twice"));
                    }
                    let (start, end) = reader.len_delimited()?;
                    node.data = Some(bytes.slice(start..end));
                }
                (2, 2) => {
                    if node.data.is_some() {
                        return Err(StoreError::malformed(
                            FORMAT,
                            "a link follows the Data field",
                        ));
                    }
                    let (start, end) = reader.len_delimited()?;
                    node.links.push(decode_link(&bytes[start..end])?);
                }
                _ => {
                    return Err(StoreError::malformed(
                        FORMAT,
                        format!("unexpected field {field} with wire type {wire} in PBNode"),
                    ));
                }
            }
        }
        Ok(node)
    }
}

fn link_len(link: &PbLink) -> usize {
    let cid = link.cid.encoded_len();
    let name = link.name.len();
    1 + varint::len(cid as u64)
        + cid
        + 1
        + varint::len(name as u64)
        + name
        + 1
        + varint::len(link.tsize)
}

fn decode_link(bytes: &[u8]) -> StoreResult<PbLink> {
    let mut reader = Reader { buf: bytes, pos: 0 };
    let (mut cid, mut name, mut tsize) = (None, None, None);
    let mut last = 0;
    while !reader.done() {
        let (field, wire) = reader.key()?;
        if field <= last {
            return Err(StoreError::malformed(
                FORMAT,
                "PBLink fields out of order or repeated",
            ));
        }
        last = field;
        match (field, wire) {
            (1, 2) => {
                let (s, e) = reader.len_delimited()?;
                cid = Some(crate::cid::decode(&bytes[s..e])?);
            }
            (2, 2) => {
                let (s, e) = reader.len_delimited()?;
                let text = std::str::from_utf8(&bytes[s..e])
                    .map_err(|_| StoreError::malformed(FORMAT, "link name is not UTF-8"))?;
                name = Some(text.to_owned());
            }
            (3, 0) => tsize = Some(reader.varint()?),
            _ => {
                return Err(StoreError::malformed(
                    FORMAT,
                    format!("unexpected field {field} with wire type {wire} in PBLink"),
                ));
            }
        }
    }
    let cid = cid.ok_or_else(|| StoreError::malformed(FORMAT, "link without a Hash"))?;
    Ok(PbLink {
        cid,
        name: name.unwrap_or_default(),
        tsize: tsize.unwrap_or(0),
    })
}

/// A minimal protobuf reader over a slice; every read is bounds-checked.
pub(crate) struct Reader<'a> {
    pub(crate) buf: &'a [u8],
    pub(crate) pos: usize,
}

impl Reader<'_> {
    pub(crate) fn done(&self) -> bool {
        self.pos >= self.buf.len()
    }

    pub(crate) fn varint(&mut self) -> StoreResult<u64> {
        let (v, n) = varint::read(&self.buf[self.pos..], FORMAT)?;
        self.pos += n;
        Ok(v)
    }

    pub(crate) fn key(&mut self) -> StoreResult<(u64, u64)> {
        let key = self.varint()?;
        Ok((key >> 3, key & 7))
    }

    pub(crate) fn len_delimited(&mut self) -> StoreResult<(usize, usize)> {
        let len = self.varint()?;
        let start = self.pos;
        let remaining = (self.buf.len() - start) as u64;
        if len > remaining {
            return Err(StoreError::malformed(
                FORMAT,
                format!("field of {len} bytes runs past the end ({remaining} left)"),
            ));
        }
        self.pos = start + len as usize;
        Ok((start, self.pos))
    }
}

/// The CIDs a block links to: dag-pb links; raw, dag-cbor and dag-json blocks are treated as leaves.
pub fn links_of(cid: &Cid, data: &Bytes) -> StoreResult<Vec<Cid>> {
    match cid.codec() {
        crate::cid::Codec::DagPb => Ok(PbNode::decode(data)?
            .links
            .into_iter()
            .map(|l| l.cid)
            .collect()),
        _ => Ok(Vec::new()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cid::CidExt;
    use crate::cid::Codec;

    #[test]
    fn empty_directory_node_is_kubos() {
        let node = PbNode {
            links: vec![],
            data: Some(Bytes::from_static(&[8, 1])),
        };
        let bytes = node.encode();
        assert_eq!(bytes, [0x0a, 0x02, 0x08, 0x01]);
        assert_eq!(
            Cid::v0(crate::cid::sha256(&bytes)).to_string(),
            "QmUNLLsPACCz1vLxQVkXqqLX5R1X345qqfHbsf67hvA3Nn"
        );
    }

    #[test]
    fn round_trip_with_links() {
        let node = PbNode {
            links: vec![
                PbLink {
                    cid: Cid::hash_v1(Codec::Raw, b"a"),
                    name: String::new(),
                    tsize: 1,
                },
                PbLink {
                    cid: Cid::v0([7; 32]),
                    name: "x y".into(),
                    tsize: 300,
                },
            ],
            data: Some(Bytes::from_static(b"data")),
        };
        let bytes = Bytes::from(node.encode());
        assert_eq!(bytes.len(), node.encoded_len());
        assert_eq!(PbNode::decode(&bytes).unwrap(), node);
    }

    #[test]
    fn rejects_garbage_without_panicking() {
        for bad in [
            &[0x12, 0xff][..],
            &[0x0a, 0x05, 1],
            &[0x08, 0x01],
            &[0x12, 0x02, 0x18, 0x01],
        ] {
            assert!(
                PbNode::decode(&Bytes::copy_from_slice(bad)).is_err(),
                "{bad:?}"
            );
        }
    }
}
