//! safetensors files: an 8-byte little-endian header length, a JSON header naming each tensor's dtype, shape
//! and byte range, then the data. Each tensor's bytes are hashed as they stream past in file order.

use crate::input::Input;
use crate::{
    error::{DiffError, DiffResult, io_err},
    model::{Model, ModelSummary, TensorInfo},
};
use sha2::{Digest, Sha256};
use std::io::{BufReader, Read};

/// Headers longer than this are refused (the format's own readers stop at 100 MB).
const MAX_HEADER: u64 = 100_000_000;

pub(crate) fn read(input: &Input) -> DiffResult<Model> {
    let path = input.path();
    let bad = |message: String| DiffError::Model {
        path: path.to_owned(),
        format: "safetensors",
        message,
    };
    let file = input.open()?;
    let size = input.size();
    let mut reader = BufReader::with_capacity(1 << 20, file);
    let mut len = [0u8; 8];
    reader
        .read_exact(&mut len)
        .map_err(|_| bad("shorter than the 8-byte header length".into()))?;
    let len = u64::from_le_bytes(len);
    if len > MAX_HEADER || len > size - 8 {
        return Err(bad(format!(
            "the header length says {len} bytes, but the file is {size} bytes (and headers stop at {MAX_HEADER})"
        )));
    }
    let mut header = vec![0u8; len as usize];
    reader
        .read_exact(&mut header)
        .map_err(|_| bad("the header is truncated".into()))?;
    let header: serde_json::Map<String, serde_json::Value> = serde_json::from_slice(&header)
        .map_err(|e| bad(format!("the header is not a JSON object: {e}")))?;
    let data_len = size - 8 - len;
    let mut summary = ModelSummary::default();
    let mut entries = Vec::new();
    for (name, value) in &header {
        if name == "__metadata__" {
            if let Some(map) = value.as_object() {
                for (k, v) in map {
                    summary.metadata.insert(
                        k.clone(),
                        v.as_str().map_or_else(|| v.to_string(), str::to_string),
                    );
                }
            }
            continue;
        }
        let dtype = value["dtype"]
            .as_str()
            .ok_or_else(|| bad(format!("tensor {name:?} has no dtype")))?;
        let shape: Vec<u64> = value["shape"]
            .as_array()
            .and_then(|a| a.iter().map(|d| d.as_u64()).collect())
            .ok_or_else(|| bad(format!("tensor {name:?} has no shape of whole numbers")))?;
        let offsets: Vec<u64> = value["data_offsets"]
            .as_array()
            .and_then(|a| a.iter().map(|d| d.as_u64()).collect())
            .filter(|o: &Vec<u64>| o.len() == 2 && o[0] <= o[1] && o[1] <= data_len)
            .ok_or_else(|| {
                bad(format!(
                    "tensor {name:?} has no data_offsets [begin, end] within the {data_len} data bytes"
                ))
            })?;
        entries.push((
            offsets[0],
            offsets[1],
            name.clone(),
            dtype.to_string(),
            shape,
        ));
    }
    entries.sort();
    let mut tensors = Vec::with_capacity(entries.len());
    let mut pos = 0u64;
    let mut buf = vec![0u8; 1 << 16];
    for (begin, end, name, dtype, shape) in entries {
        if begin < pos {
            return Err(bad(format!(
                "tensor {name:?} overlaps the tensor before it"
            )));
        }
        std::io::copy(&mut (&mut reader).take(begin - pos), &mut std::io::sink())
            .map_err(io_err(path))?;
        let mut hasher = Sha256::new();
        let mut left = end - begin;
        while left > 0 {
            let n = left.min(buf.len() as u64) as usize;
            reader
                .read_exact(&mut buf[..n])
                .map_err(|_| bad(format!("the data of tensor {name:?} is truncated")))?;
            hasher.update(&buf[..n]);
            left -= n as u64;
        }
        pos = end;
        summary.tensor_bytes += end - begin;
        tensors.push(TensorInfo {
            name,
            dtype,
            parameters: shape.iter().product(),
            shape,
            values_sha256: const_hex::encode(hasher.finalize()),
        });
    }
    tensors.sort_by(|a, b| a.name.cmp(&b.name));
    summary.tensors = tensors.len() as u64;
    summary.parameters = tensors.iter().map(|t| t.parameters).sum();
    Ok(Model {
        format: "safetensors",
        summary,
        tensors,
    })
}
