//! NPY arrays read row by row: the header (versions 1 to 3), then one row of the first axis at a time.
//! Little-endian (or one-byte) numbers and booleans, C order, one or two axes.

use crate::input::{Input, Reader};
use crate::{
    error::{DiffError, DiffResult, io_err},
    stats::Cell,
};
use std::{
    io::{BufReader, Read},
    path::{Path, PathBuf},
};

/// An open NPY file positioned at its first row.
pub(crate) struct NpyReader {
    path: PathBuf,
    reader: BufReader<Reader>,
    pub(crate) dtype: String,
    pub(crate) shape: Vec<u64>,
    width: usize,
    columns: usize,
    buf: Vec<u8>,
    next_row: u64,
}

fn bad(path: &Path, message: impl Into<String>) -> DiffError {
    DiffError::Npy {
        path: path.to_owned(),
        message: message.into(),
    }
}

fn header_value<'a>(header: &'a str, key: &str) -> Option<&'a str> {
    let at = header.find(&format!("'{key}'"))? + key.len() + 2;
    let rest = header[at..].trim_start().strip_prefix(':')?.trim_start();
    if let Some(r) = rest.strip_prefix('(') {
        return r.find(')').map(|e| &r[..e]);
    }
    if let Some(r) = rest.strip_prefix('\'') {
        return r.find('\'').map(|e| &r[..e]);
    }
    let end = rest.find([',', '}']).unwrap_or(rest.len());
    Some(rest[..end].trim())
}

/// Bytes per element of the dtypes read, or `None`.
fn width(dtype: &str) -> Option<usize> {
    Some(match dtype {
        "|u1" | "|i1" | "|b1" | "<u1" | "<i1" => 1,
        "<u2" | "<i2" | "<f2" => 2,
        "<u4" | "<i4" | "<f4" => 4,
        "<u8" | "<i8" | "<f8" => 8,
        _ => return None,
    })
}

impl NpyReader {
    pub(crate) fn open(input: &Input) -> DiffResult<Self> {
        let path = input.path();
        let file = input.open()?;
        let mut reader = BufReader::with_capacity(1 << 20, file);
        let mut magic = [0u8; 8];
        reader.read_exact(&mut magic).map_err(|_| {
            bad(
                path,
                "not an NPY file (too short): write it with numpy.save",
            )
        })?;
        if &magic[..6] != b"\x93NUMPY" {
            return Err(bad(
                path,
                "not an NPY file (no \\x93NUMPY magic): write it with numpy.save",
            ));
        }
        let len = match magic[6] {
            1 => {
                let mut l = [0u8; 2];
                reader.read_exact(&mut l).map_err(io_err(path))?;
                u16::from_le_bytes(l) as usize
            }
            2 | 3 => {
                let mut l = [0u8; 4];
                reader.read_exact(&mut l).map_err(io_err(path))?;
                u32::from_le_bytes(l) as usize
            }
            v => {
                return Err(bad(
                    path,
                    format!("NPY version {v} is not supported (1, 2 and 3 are)"),
                ));
            }
        };
        if len > 1 << 20 {
            return Err(bad(
                path,
                format!("NPY header of {len} bytes is implausibly long"),
            ));
        }
        let mut header = vec![0u8; len];
        reader
            .read_exact(&mut header)
            .map_err(|_| bad(path, "truncated NPY header"))?;
        let header = String::from_utf8(header).map_err(|_| bad(path, "NPY header is not UTF-8"))?;
        let dtype = header_value(&header, "descr")
            .ok_or_else(|| bad(path, "NPY header has no descr"))?
            .to_string();
        if header_value(&header, "fortran_order") != Some("False") {
            return Err(bad(
                path,
                "the array is in Fortran order (column-major), which is not read here: save it with \
                 numpy.save(f, numpy.ascontiguousarray(a))",
            ));
        }
        let shape_text =
            header_value(&header, "shape").ok_or_else(|| bad(path, "NPY header has no shape"))?;
        let shape: Vec<u64> = shape_text
            .split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(|s| {
                s.parse::<u64>()
                    .map_err(|_| bad(path, format!("bad NPY shape ({shape_text})")))
            })
            .collect::<DiffResult<_>>()?;
        if shape.is_empty() || shape.len() > 2 {
            return Err(bad(
                path,
                format!(
                    "NPY array of shape ({shape_text}): only 1-D and 2-D arrays are compared row by row"
                ),
            ));
        }
        let width = width(&dtype).ok_or_else(|| {
            bad(
                path,
                format!(
                    "NPY dtype {dtype} is not supported: little-endian integers, floats (f2 to f8) and bools are"
                ),
            )
        })?;
        let columns = shape.get(1).copied().unwrap_or(1) as usize;
        Ok(Self {
            path: path.to_owned(),
            reader,
            dtype,
            shape,
            width,
            columns,
            buf: vec![0; width * columns],
            next_row: 0,
        })
    }

    /// Column names: `0`, `1`, ... (one column `0` for a 1-D array).
    pub(crate) fn column_names(&self) -> Vec<String> {
        (0..self.columns).map(|i| i.to_string()).collect()
    }

    /// Reads the next row into `cells`; `false` at the end.
    pub(crate) fn next_row(&mut self, cells: &mut Vec<Cell>) -> DiffResult<bool> {
        if self.next_row == self.shape[0] {
            return Ok(false);
        }
        self.reader.read_exact(&mut self.buf).map_err(|_| {
            bad(
                &self.path,
                format!(
                    "the data ends at row {} but the shape says {} rows",
                    self.next_row, self.shape[0]
                ),
            )
        })?;
        self.next_row += 1;
        cells.clear();
        for c in self.buf.chunks_exact(self.width) {
            let kind = &self.dtype[1..2];
            cells.push(match (kind, self.width) {
                ("b", _) => Cell::Bool(c[0] != 0),
                ("u", 1) => Cell::Int(c[0] as i64),
                ("i", 1) => Cell::Int(c[0] as i8 as i64),
                ("u", 2) => Cell::Int(u16::from_le_bytes([c[0], c[1]]) as i64),
                ("i", 2) => Cell::Int(i16::from_le_bytes([c[0], c[1]]) as i64),
                ("u", 4) => Cell::Int(u32::from_le_bytes(c.try_into().expect("4")) as i64),
                ("i", 4) => Cell::Int(i32::from_le_bytes(c.try_into().expect("4")) as i64),
                ("u", 8) => {
                    let v = u64::from_le_bytes(c.try_into().expect("8"));
                    i64::try_from(v)
                        .map(Cell::Int)
                        .unwrap_or(Cell::Float(v as f64))
                }
                ("i", 8) => Cell::Int(i64::from_le_bytes(c.try_into().expect("8"))),
                ("f", 2) => float(f16_to_f64(u16::from_le_bytes([c[0], c[1]]))),
                ("f", 4) => float(f32::from_le_bytes(c.try_into().expect("4")) as f64),
                _ => float(f64::from_le_bytes(c.try_into().expect("8"))),
            });
        }
        Ok(true)
    }
}

/// A NaN is a missing value, as pandas reads it.
fn float(f: f64) -> Cell {
    if f.is_nan() {
        Cell::Null
    } else {
        Cell::Float(f)
    }
}

fn f16_to_f64(bits: u16) -> f64 {
    let sign = if bits >> 15 == 1 { -1.0 } else { 1.0 };
    let exp = ((bits >> 10) & 0x1f) as i32;
    let frac = (bits & 0x3ff) as f64;
    match exp {
        0 => sign * frac * 2f64.powi(-24),
        31 if frac == 0.0 => sign * f64::INFINITY,
        31 => f64::NAN,
        e => sign * (1.0 + frac / 1024.0) * 2f64.powi(e - 15),
    }
}
