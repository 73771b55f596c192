//! ONNX models read with a small streaming protobuf decoder: the graph's nodes, inputs, outputs and
//! initializers (name, type, shape; the values are hashed as they stream past, never held), the opsets and
//! the producer. Subgraphs (If, Loop) and tensors stored as external data are not followed: external data is
//! compared by its reference (file, offset, length), not its bytes.

use crate::input::{Input, Reader};
use crate::{
    error::{DiffError, DiffResult},
    model::{IoInfo, Model, ModelSummary, TensorInfo},
};
use sha2::{Digest, Sha256};
use std::{
    io::{BufReader, Read},
    path::Path,
};

/// A protobuf stream with its position, so nested messages end where their length says.
struct Pb<'a> {
    path: &'a Path,
    reader: BufReader<Reader>,
    pos: u64,
    buf: Vec<u8>,
}

impl Pb<'_> {
    fn bad(&self, message: impl Into<String>) -> DiffError {
        DiffError::Model {
            path: self.path.to_owned(),
            format: "ONNX",
            message: message.into(),
        }
    }

    fn byte(&mut self) -> DiffResult<u8> {
        let mut b = [0u8; 1];
        self.reader.read_exact(&mut b).map_err(|_| {
            self.bad(format!(
                "the file ends inside a message at byte {}",
                self.pos
            ))
        })?;
        self.pos += 1;
        Ok(b[0])
    }

    fn varint(&mut self) -> DiffResult<u64> {
        let mut v = 0u64;
        for shift in (0..64).step_by(7) {
            let b = self.byte()?;
            v |= ((b & 0x7f) as u64) << shift;
            if b & 0x80 == 0 {
                return Ok(v);
            }
        }
        Err(self.bad(format!(
            "a varint longer than 10 bytes at byte {}",
            self.pos
        )))
    }

    /// The next field's number and wire type, or `None` at `end`.
    fn field(&mut self, end: u64) -> DiffResult<Option<(u64, u8)>> {
        if self.pos >= end {
            if self.pos > end {
                return Err(self.bad(format!("a field runs past its message's end at byte {end}")));
            }
            return Ok(None);
        }
        let tag = self.varint()?;
        Ok(Some((tag >> 3, (tag & 7) as u8)))
    }

    /// A length-delimited field's end position, checked against its parent's end.
    fn len_end(&mut self, end: u64) -> DiffResult<u64> {
        let len = self.varint()?;
        let stop = self
            .pos
            .checked_add(len)
            .filter(|s| *s <= end)
            .ok_or_else(|| {
                self.bad(format!(
                    "a field of {len} bytes at byte {} runs past its message",
                    self.pos
                ))
            })?;
        Ok(stop)
    }

    /// Streams `n` bytes to `f` in pieces.
    fn stream(&mut self, mut n: u64, mut f: impl FnMut(&[u8])) -> DiffResult<()> {
        if self.buf.is_empty() {
            self.buf = vec![0; 1 << 16];
        }
        while n > 0 {
            let take = n.min(self.buf.len() as u64) as usize;
            self.reader.read_exact(&mut self.buf[..take]).map_err(|_| {
                self.bad(format!("the file ends inside a field at byte {}", self.pos))
            })?;
            f(&self.buf[..take]);
            self.pos += take as u64;
            n -= take as u64;
        }
        Ok(())
    }

    fn bytes(&mut self, end: u64) -> DiffResult<Vec<u8>> {
        let stop = self.len_end(end)?;
        if stop - self.pos > 1 << 20 {
            return Err(self.bad(format!("a name or string of {} bytes", stop - self.pos)));
        }
        let mut out = Vec::with_capacity((stop - self.pos) as usize);
        self.stream(stop - self.pos, |b| out.extend_from_slice(b))?;
        Ok(out)
    }

    fn string(&mut self, end: u64) -> DiffResult<String> {
        Ok(String::from_utf8_lossy(&self.bytes(end)?).into_owned())
    }

    fn skip(&mut self, wire: u8, end: u64) -> DiffResult<()> {
        match wire {
            0 => {
                self.varint()?;
            }
            1 => self.stream(8, |_| {})?,
            2 => {
                let stop = self.len_end(end)?;
                self.stream(stop - self.pos, |_| {})?;
            }
            5 => self.stream(4, |_| {})?,
            w => {
                return Err(self.bad(format!(
                    "wire type {w} at byte {} (groups are not ONNX)",
                    self.pos
                )));
            }
        }
        Ok(())
    }

    /// Repeated int64: packed (wire type 2) or one varint.
    fn int64s(&mut self, wire: u8, end: u64, out: &mut Vec<i64>) -> DiffResult<()> {
        if wire == 2 {
            let stop = self.len_end(end)?;
            while self.pos < stop {
                out.push(self.varint()? as i64);
            }
        } else {
            out.push(self.varint()? as i64);
        }
        Ok(())
    }
}

/// ONNX `TensorProto.DataType` names.
fn elem_type(t: i64) -> String {
    match t {
        1 => "float",
        2 => "uint8",
        3 => "int8",
        4 => "uint16",
        5 => "int16",
        6 => "int32",
        7 => "int64",
        8 => "string",
        9 => "bool",
        10 => "float16",
        11 => "double",
        12 => "uint32",
        13 => "uint64",
        14 => "complex64",
        15 => "complex128",
        16 => "bfloat16",
        17 => "float8e4m3fn",
        18 => "float8e4m3fnuz",
        19 => "float8e5m2",
        20 => "float8e5m2fnuz",
        21 => "uint4",
        22 => "int4",
        _ => return format!("type{t}"),
    }
    .into()
}

/// Reads an ONNX model's structure, hashing tensor values as they pass.
pub(crate) fn read(input: &Input) -> DiffResult<Model> {
    let path = input.path();
    let file = input.open()?;
    let size = input.size();
    let mut pb = Pb {
        path,
        reader: BufReader::with_capacity(1 << 20, file),
        pos: 0,
        buf: Vec::new(),
    };
    let mut summary = ModelSummary::default();
    let mut tensors = Vec::new();
    let mut producer = (String::new(), String::new());
    let mut graph = false;
    while let Some((field, wire)) = pb.field(size)? {
        match (field, wire) {
            (1, 0) => summary.ir_version = Some(pb.varint()? as i64),
            (2, 2) => producer.0 = pb.string(size)?,
            (3, 2) => producer.1 = pb.string(size)?,
            (7, 2) => {
                let end = pb.len_end(size)?;
                read_graph(&mut pb, end, &mut summary, &mut tensors)?;
                graph = true;
            }
            (8, 2) => {
                let end = pb.len_end(size)?;
                let (mut domain, mut version) = (String::new(), 0);
                while let Some((f, w)) = pb.field(end)? {
                    match (f, w) {
                        (1, 2) => domain = pb.string(end)?,
                        (2, 0) => version = pb.varint()? as i64,
                        _ => pb.skip(w, end)?,
                    }
                }
                if domain.is_empty() {
                    domain = "ai.onnx".into();
                }
                summary.opsets.insert(domain, version);
            }
            _ => pb.skip(wire, size)?,
        }
    }
    if !graph {
        return Err(pb.bad(
            "it has no graph: pass an ONNX model, e.g. one exported by skl2onnx or torch.onnx",
        ));
    }
    if !producer.0.is_empty() {
        summary.producer = Some(format!("{} {}", producer.0, producer.1).trim().to_string());
    }
    // Older IR versions list initializers among the inputs: they are weights, not inputs.
    summary
        .inputs
        .retain(|i| !tensors.iter().any(|t: &TensorInfo| t.name == i.name));
    summary.tensors = tensors.len() as u64;
    summary.parameters = tensors.iter().map(|t| t.parameters).sum();
    Ok(Model {
        format: "onnx",
        summary,
        tensors,
    })
}

fn read_graph(
    pb: &mut Pb<'_>,
    end: u64,
    summary: &mut ModelSummary,
    tensors: &mut Vec<TensorInfo>,
) -> DiffResult<()> {
    while let Some((field, wire)) = pb.field(end)? {
        match (field, wire) {
            (1, 2) => {
                let stop = pb.len_end(end)?;
                let (mut op, mut domain) = (String::new(), String::new());
                while let Some((f, w)) = pb.field(stop)? {
                    match (f, w) {
                        (4, 2) => op = pb.string(stop)?,
                        (7, 2) => domain = pb.string(stop)?,
                        _ => pb.skip(w, stop)?,
                    }
                }
                let name = if domain.is_empty() || domain == "ai.onnx" {
                    op
                } else {
                    format!("{domain}:{op}")
                };
                *summary.ops.entry(name).or_default() += 1;
            }
            (5, 2) => {
                let stop = pb.len_end(end)?;
                let (t, bytes) = read_tensor(pb, stop)?;
                summary.tensor_bytes += bytes;
                tensors.push(t);
            }
            (11, 2) | (12, 2) => {
                let stop = pb.len_end(end)?;
                let io = read_value_info(pb, stop)?;
                if field == 11 {
                    summary.inputs.push(io);
                } else {
                    summary.outputs.push(io);
                }
            }
            _ => pb.skip(wire, end)?,
        }
    }
    Ok(())
}

fn read_tensor(pb: &mut Pb<'_>, end: u64) -> DiffResult<(TensorInfo, u64)> {
    let mut dims = Vec::new();
    let (mut dtype, mut name) = (0i64, String::new());
    let mut hasher = Sha256::new();
    let mut bytes = 0u64;
    while let Some((field, wire)) = pb.field(end)? {
        match (field, wire) {
            (1, _) => pb.int64s(wire, end, &mut dims)?,
            (2, 0) => dtype = pb.varint()? as i64,
            (8, 2) => name = pb.string(end)?,
            // raw_data, and the typed value fields (float, int32, string, int64, double, uint64), and the
            // external data reference: each hashed with its field number.
            (4 | 5 | 6 | 7 | 9 | 10 | 11 | 13, 2) => {
                let stop = pb.len_end(end)?;
                hasher.update(field.to_le_bytes());
                bytes += stop - pb.pos;
                pb.stream(stop - pb.pos, |b| hasher.update(b))?;
            }
            (4 | 5 | 7 | 10 | 11, w) => {
                // An unpacked repeated number.
                hasher.update(field.to_le_bytes());
                match w {
                    0 => hasher.update(pb.varint()?.to_le_bytes()),
                    1 => pb.stream(8, |b| hasher.update(b))?,
                    5 => pb.stream(4, |b| hasher.update(b))?,
                    _ => pb.skip(w, end)?,
                }
            }
            _ => pb.skip(wire, end)?,
        }
    }
    let shape: Vec<u64> = dims.iter().map(|d| (*d).max(0) as u64).collect();
    Ok((
        TensorInfo {
            name,
            dtype: elem_type(dtype),
            parameters: shape.iter().product(),
            shape,
            values_sha256: const_hex::encode(hasher.finalize()),
        },
        bytes,
    ))
}

fn read_value_info(pb: &mut Pb<'_>, end: u64) -> DiffResult<IoInfo> {
    let (mut name, mut kind) = (String::new(), "?".to_string());
    while let Some((field, wire)) = pb.field(end)? {
        match (field, wire) {
            (1, 2) => name = pb.string(end)?,
            (2, 2) => {
                let stop = pb.len_end(end)?;
                kind = read_type(pb, stop, 0)?;
            }
            _ => pb.skip(wire, end)?,
        }
    }
    Ok(IoInfo { name, kind })
}

/// A `TypeProto` as text: `float[N,4]`, `seq(map(int64,float))`, `optional(...)`.
fn read_type(pb: &mut Pb<'_>, end: u64, depth: u32) -> DiffResult<String> {
    if depth > 16 {
        return Err(pb.bad("types nested more than 16 deep"));
    }
    let mut out = "?".to_string();
    while let Some((field, wire)) = pb.field(end)? {
        match (field, wire) {
            // tensor_type, sparse_tensor_type
            (1 | 8, 2) => {
                let stop = pb.len_end(end)?;
                let (mut elem, mut shape) = (0i64, None);
                while let Some((f, w)) = pb.field(stop)? {
                    match (f, w) {
                        (1, 0) => elem = pb.varint()? as i64,
                        (2, 2) => {
                            let s = pb.len_end(stop)?;
                            shape = Some(read_shape(pb, s)?);
                        }
                        _ => pb.skip(w, stop)?,
                    }
                }
                let prefix = if field == 8 { "sparse " } else { "" };
                out = match shape {
                    Some(s) => format!("{prefix}{}[{}]", elem_type(elem), s.join(",")),
                    None => format!("{prefix}{}", elem_type(elem)),
                };
            }
            // sequence_type, optional_type: one elem_type
            (4 | 9, 2) => {
                let stop = pb.len_end(end)?;
                let mut inner = "?".to_string();
                while let Some((f, w)) = pb.field(stop)? {
                    match (f, w) {
                        (1, 2) => {
                            let s = pb.len_end(stop)?;
                            inner = read_type(pb, s, depth + 1)?;
                        }
                        _ => pb.skip(w, stop)?,
                    }
                }
                out = format!("{}({inner})", if field == 4 { "seq" } else { "optional" });
            }
            // map_type: key_type, value_type
            (5, 2) => {
                let stop = pb.len_end(end)?;
                let (mut key, mut value) = ("?".to_string(), "?".to_string());
                while let Some((f, w)) = pb.field(stop)? {
                    match (f, w) {
                        (1, 0) => key = elem_type(pb.varint()? as i64),
                        (2, 2) => {
                            let s = pb.len_end(stop)?;
                            value = read_type(pb, s, depth + 1)?;
                        }
                        _ => pb.skip(w, stop)?,
                    }
                }
                out = format!("map({key},{value})");
            }
            _ => pb.skip(wire, end)?,
        }
    }
    Ok(out)
}

fn read_shape(pb: &mut Pb<'_>, end: u64) -> DiffResult<Vec<String>> {
    let mut dims = Vec::new();
    while let Some((field, wire)) = pb.field(end)? {
        match (field, wire) {
            (1, 2) => {
                let stop = pb.len_end(end)?;
                let mut dim = "?".to_string();
                while let Some((f, w)) = pb.field(stop)? {
                    match (f, w) {
                        (1, 0) => dim = (pb.varint()? as i64).to_string(),
                        (2, 2) => dim = pb.string(stop)?,
                        _ => pb.skip(w, stop)?,
                    }
                }
                dims.push(dim);
            }
            _ => pb.skip(wire, end)?,
        }
    }
    Ok(dims)
}
