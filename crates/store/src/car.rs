//! CAR v1 (content-addressed archives): `varint(len) + DAG-CBOR {"roots": [CID...], "version": 1}`, then
//! sections `varint(len(cid) + len(data)) + cid + data`. [`CarWriter`] and [`CarReader`] stream; the reader
//! verifies every block against its CID, bounds every length, and reports truncation with the section number.

use std::collections::HashSet;
use std::io::{ErrorKind, Read, Write};

use crate::block::{Block, MAX_BLOCK_SIZE};
use crate::cid::Cid;
use crate::dagpb::links_of;
use crate::error::{StoreError, StoreResult};
use crate::store::BlockStore;
use crate::varint;

const FORMAT: &str = "CAR";
/// The largest header accepted.
pub const MAX_HEADER: usize = 1 << 20;

/// Encodes the CAR v1 header (DAG-CBOR, keys in canonical order).
pub fn encode_header(roots: &[Cid]) -> Vec<u8> {
    let mut cbor = vec![0xa2, 0x65];
    cbor.extend_from_slice(b"roots");
    cbor_head(&mut cbor, 4, roots.len() as u64);
    for root in roots {
        cbor.extend_from_slice(&[0xd8, 0x2a]); // tag 42: CID
        let bytes = root.to_bytes();
        cbor_head(&mut cbor, 2, bytes.len() as u64 + 1);
        cbor.push(0); // multibase identity prefix
        cbor.extend_from_slice(&bytes);
    }
    cbor.push(0x67);
    cbor.extend_from_slice(b"version");
    cbor.push(0x01);
    let mut out = Vec::with_capacity(cbor.len() + 4);
    varint::write(&mut out, cbor.len() as u64);
    out.extend_from_slice(&cbor);
    out
}

fn cbor_head(out: &mut Vec<u8>, major: u8, n: u64) {
    let m = major << 5;
    match n {
        0..=23 => out.push(m | n as u8),
        24..=0xff => out.extend_from_slice(&[m | 24, n as u8]),
        0x100..=0xffff => {
            out.push(m | 25);
            out.extend_from_slice(&(n as u16).to_be_bytes());
        }
        0x1_0000..=0xffff_ffff => {
            out.push(m | 26);
            out.extend_from_slice(&(n as u32).to_be_bytes());
        }
        _ => {
            out.push(m | 27);
            out.extend_from_slice(&n.to_be_bytes());
        }
    }
}

/// Writes a CAR v1 stream.
pub struct CarWriter<W> {
    out: W,
    buf: Vec<u8>,
}

impl<W: Write> CarWriter<W> {
    /// Writes the header naming `roots`.
    pub fn new(mut out: W, roots: &[Cid]) -> StoreResult<Self> {
        out.write_all(&encode_header(roots))
            .map_err(|e| StoreError::io("writing the CAR header", e))?;
        Ok(Self {
            out,
            buf: Vec::with_capacity(64),
        })
    }

    /// Appends one block.
    pub fn write_block(&mut self, block: &Block) -> StoreResult<()> {
        self.buf.clear();
        let cid = block.cid();
        varint::write(
            &mut self.buf,
            (cid.encoded_len() + block.data().len()) as u64,
        );
        cid.write_bytes(&mut self.buf);
        self.out
            .write_all(&self.buf)
            .map_err(|e| StoreError::io("writing a CAR section", e))?;
        self.out
            .write_all(block.data())
            .map_err(|e| StoreError::io("writing a CAR section", e))
    }

    /// Flushes and returns the writer.
    pub fn finish(mut self) -> StoreResult<W> {
        self.out
            .flush()
            .map_err(|e| StoreError::io("flushing the CAR", e))?;
        Ok(self.out)
    }
}

/// Writes the DAGs under `roots` (depth-first, each block once) from `store` as a CAR; returns the block count.
pub async fn export_car<S: BlockStore + ?Sized, W: Write>(
    store: &S,
    roots: &[Cid],
    out: W,
) -> StoreResult<u64> {
    let mut writer = CarWriter::new(out, roots)?;
    let mut seen = HashSet::new();
    let mut count = 0;
    for root in roots {
        let mut stack = vec![*root];
        while let Some(cid) = stack.pop() {
            if !seen.insert(cid.to_v1()) {
                continue;
            }
            let data = store.get(&cid).await?;
            let links = links_of(&cid, &data)?;
            stack.extend(links.into_iter().rev());
            writer.write_block(&Block::new(cid, data)?)?;
            count += 1;
        }
    }
    writer.finish()?;
    Ok(count)
}

/// Reads a CAR v1 stream, verifying each block.
pub struct CarReader<R> {
    input: R,
    roots: Vec<Cid>,
    section: u64,
}

/// Reads exactly `buf.len()` bytes; Ok(false) on a clean end before the first byte.
fn read_full(input: &mut impl Read, buf: &mut [u8]) -> std::io::Result<bool> {
    let mut filled = 0;
    while filled < buf.len() {
        match input.read(&mut buf[filled..]) {
            Ok(0) if filled == 0 => return Ok(false),
            Ok(0) => return Err(std::io::Error::new(ErrorKind::UnexpectedEof, "truncated")),
            Ok(n) => filled += n,
            Err(e) if e.kind() == ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        }
    }
    Ok(true)
}

/// Reads a varint byte by byte; None on a clean end of input.
fn read_varint(input: &mut impl Read, what: &str) -> StoreResult<Option<u64>> {
    let mut bytes = [0u8; 10];
    for i in 0..10 {
        let got = read_full(input, &mut bytes[i..=i]).map_err(|e| truncated(what, e))?;
        if !got {
            if i == 0 {
                return Ok(None);
            }
            return Err(StoreError::malformed(
                FORMAT,
                format!("truncated varint in {what}"),
            ));
        }
        if bytes[i] & 0x80 == 0 {
            return varint::read(&bytes[..=i], FORMAT).map(|(v, _)| Some(v));
        }
    }
    Err(StoreError::malformed(
        FORMAT,
        format!("overlong varint in {what}"),
    ))
}

fn truncated(what: &str, e: std::io::Error) -> StoreError {
    if e.kind() == ErrorKind::UnexpectedEof && what == "the header" {
        StoreError::malformed(
            FORMAT,
            "the input ends inside what would be its header: it is not a CAR v1 file, or it was truncated",
        )
    } else if e.kind() == ErrorKind::UnexpectedEof {
        StoreError::malformed(
            FORMAT,
            format!("the file ends inside {what}: it was truncated; fetch it again"),
        )
    } else {
        StoreError::io(format!("reading {what}"), e)
    }
}

impl<R: Read> CarReader<R> {
    /// Reads and checks the header.
    pub fn new(mut input: R) -> StoreResult<Self> {
        let len = read_varint(&mut input, "the header length")?
            .ok_or_else(|| StoreError::malformed(FORMAT, "empty input: not a CAR file"))?;
        if len == 0 || len as usize > MAX_HEADER {
            return Err(StoreError::malformed(
                FORMAT,
                format!(
                    "header length {len} (expected 1..={MAX_HEADER}): this is not a CAR v1 file"
                ),
            ));
        }
        let mut header = vec![0u8; len as usize];
        if !read_full(&mut input, &mut header).map_err(|e| truncated("the header", e))? {
            return Err(StoreError::malformed(
                FORMAT,
                "the input ends inside what would be the header: it is not a CAR v1 file, or it was truncated",
            ));
        }
        let roots = parse_header(&header)?;
        Ok(Self {
            input,
            roots,
            section: 0,
        })
    }

    /// The roots the header names.
    pub fn roots(&self) -> &[Cid] {
        &self.roots
    }

    /// The next block, verified; None at the end.
    pub fn next_block(&mut self) -> StoreResult<Option<Block>> {
        self.section += 1;
        let what = format!("section {}", self.section);
        let Some(len) = read_varint(&mut self.input, &what)? else {
            return Ok(None);
        };
        let len = len as usize;
        if len > MAX_BLOCK_SIZE + 64 {
            return Err(StoreError::BlockTooLarge {
                size: len,
                limit: MAX_BLOCK_SIZE,
            });
        }
        let mut buf = vec![0u8; len];
        if !read_full(&mut self.input, &mut buf).map_err(|e| truncated(&what, e))? && len > 0 {
            return Err(StoreError::malformed(
                FORMAT,
                format!("the file ends inside {what}: it was truncated"),
            ));
        }
        let (cid, used) = crate::cid::decode_prefix(&buf)?;
        let mut data = bytes::Bytes::from(buf);
        let data = data.split_off(used);
        Block::new(cid, data).map(Some)
    }
}

impl<R: Read> Iterator for CarReader<R> {
    type Item = StoreResult<Block>;

    fn next(&mut self) -> Option<Self::Item> {
        self.next_block().transpose()
    }
}

/// Imports every block of a CAR into `store` (each verified); returns the roots and the block count.
pub async fn import_car<S: BlockStore + ?Sized, R: Read>(
    store: &S,
    input: R,
) -> StoreResult<(Vec<Cid>, u64)> {
    let mut reader = CarReader::new(input)?;
    let mut count = 0;
    while let Some(block) = reader.next_block()? {
        store.put(block).await?;
        count += 1;
    }
    Ok((reader.roots.clone(), count))
}

/// A minimal DAG-CBOR reader for the header: maps, arrays, text, bytes, unsigned ints, tag 42.
#[derive(Debug)]
enum Item {
    Uint(u64),
    Bytes(Vec<u8>),
    Text(String),
    Array(Vec<Item>),
    Map(Vec<(Item, Item)>),
    Tag(u64, Box<Item>),
}

fn parse_header(bytes: &[u8]) -> StoreResult<Vec<Cid>> {
    let mut pos = 0;
    let item = cbor_item(bytes, &mut pos, 0)?;
    if pos != bytes.len() {
        return Err(StoreError::malformed(
            FORMAT,
            "trailing bytes after the header",
        ));
    }
    let Item::Map(entries) = item else {
        return Err(StoreError::malformed(FORMAT, "the header is not a map"));
    };
    let mut version = None;
    let mut roots = None;
    for (key, value) in entries {
        match (key, value) {
            (Item::Text(k), Item::Uint(v)) if k == "version" => version = Some(v),
            (Item::Text(k), Item::Array(items)) if k == "roots" => {
                let mut cids = Vec::new();
                for item in items {
                    match item {
                        Item::Tag(42, inner) => match *inner {
                            Item::Bytes(b) if b.first() == Some(&0) => {
                                cids.push(crate::cid::decode(&b[1..])?)
                            }
                            _ => {
                                return Err(StoreError::malformed(
                                    FORMAT,
                                    "a root is not a tagged CID",
                                ));
                            }
                        },
                        _ => {
                            return Err(StoreError::malformed(
                                FORMAT,
                                "a root is not a tagged CID",
                            ));
                        }
                    }
                }
                roots = Some(cids);
            }
            _ => {}
        }
    }
    match version {
        Some(1) => {}
        Some(v) => {
            return Err(StoreError::malformed(
                FORMAT,
                format!("version {v}: only CAR v1 is supported"),
            ));
        }
        None => return Err(StoreError::malformed(FORMAT, "the header has no version")),
    }
    roots.ok_or_else(|| StoreError::malformed(FORMAT, "the header has no roots"))
}

fn cbor_item(b: &[u8], pos: &mut usize, depth: usize) -> StoreResult<Item> {
    let bad = |why: &str| StoreError::malformed(FORMAT, format!("header CBOR: {why}"));
    if depth > 16 {
        return Err(bad("nested too deeply"));
    }
    let first = *b.get(*pos).ok_or_else(|| bad("truncated"))?;
    *pos += 1;
    let (major, info) = (first >> 5, first & 31);
    let n = match info {
        0..=23 => u64::from(info),
        24..=27 => {
            let size = 1usize << (info - 24);
            let raw = b.get(*pos..*pos + size).ok_or_else(|| bad("truncated"))?;
            *pos += size;
            raw.iter().fold(0u64, |acc, x| (acc << 8) | u64::from(*x))
        }
        _ => return Err(bad("indefinite lengths are not DAG-CBOR")),
    };
    let remaining = (b.len() - *pos) as u64;
    Ok(match major {
        0 => Item::Uint(n),
        2 | 3 => {
            if n > remaining {
                return Err(bad("string runs past the end"));
            }
            let raw = b[*pos..*pos + n as usize].to_vec();
            *pos += n as usize;
            if major == 2 {
                Item::Bytes(raw)
            } else {
                Item::Text(String::from_utf8(raw).map_err(|_| bad("text is not UTF-8"))?)
            }
        }
        4 => {
            if n > remaining {
                return Err(bad("array longer than the input"));
            }
            let mut items = Vec::with_capacity(n as usize);
            for _ in 0..n {
                items.push(cbor_item(b, pos, depth + 1)?);
            }
            Item::Array(items)
        }
        5 => {
            if n > remaining {
                return Err(bad("map longer than the input"));
            }
            let mut entries = Vec::with_capacity(n as usize);
            for _ in 0..n {
                let k = cbor_item(b, pos, depth + 1)?;
                let v = cbor_item(b, pos, depth + 1)?;
                entries.push((k, v));
            }
            Item::Map(entries)
        }
        6 => Item::Tag(n, Box::new(cbor_item(b, pos, depth + 1)?)),
        _ => {
            return Err(bad(
                "unsupported item (negative int, float or simple value)",
            ));
        }
    })
}
