//! A reader for NumPy's `.npy` format (versions 1 to 3), C order, little-endian `f4`, `f8`, `i4`, `i8`, `u1`
//! and `b1`: what `numpy.save` writes for feature matrices and label vectors.

use crate::error::{EvalError, EvalResult};
use std::path::Path;

/// A 1- or 2-D array read as `f64` (exact for every supported dtype but `i8` beyond 2^53).
#[derive(Debug, Clone, PartialEq)]
pub struct NpyArray {
    /// The shape, one or two axes.
    pub shape: Vec<usize>,
    /// The values, row-major.
    pub values: Vec<f64>,
    /// The dtype as written in the header, e.g. `<f4`.
    pub dtype: String,
}

fn bad(path: &Path, message: impl Into<String>) -> EvalError {
    EvalError::Data {
        path: path.to_owned(),
        message: message.into(),
    }
}

/// Reads a `.npy` file.
pub fn read(path: &Path) -> EvalResult<NpyArray> {
    let bytes = std::fs::read(path).map_err(|source| EvalError::Io {
        path: path.to_owned(),
        source,
    })?;
    parse(path, &bytes)
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

/// Parses the bytes of a `.npy` file.
pub fn parse(path: &Path, bytes: &[u8]) -> EvalResult<NpyArray> {
    if bytes.len() < 10 || &bytes[..6] != b"\x93NUMPY" {
        return Err(bad(
            path,
            "not an NPY file (no \\x93NUMPY magic): write it with numpy.save",
        ));
    }
    let (len, start) = match bytes[6] {
        1 => (u16::from_le_bytes([bytes[8], bytes[9]]) as usize, 10),
        2 | 3 if bytes.len() >= 12 => (
            u32::from_le_bytes([bytes[8], bytes[9], bytes[10], bytes[11]]) as usize,
            12,
        ),
        v => {
            return Err(bad(
                path,
                format!("NPY version {v} is not supported (1, 2 and 3 are)"),
            ));
        }
    };
    let header = bytes
        .get(start..start + len)
        .and_then(|h| std::str::from_utf8(h).ok())
        .ok_or_else(|| bad(path, "truncated or non-UTF-8 NPY header"))?;
    let dtype = header_value(header, "descr")
        .ok_or_else(|| bad(path, "NPY header has no descr"))?
        .to_string();
    if header_value(header, "fortran_order") != Some("False") {
        return Err(bad(
            path,
            "Fortran-ordered NPY arrays are not supported: save with numpy.ascontiguousarray",
        ));
    }
    let shape_text =
        header_value(header, "shape").ok_or_else(|| bad(path, "NPY header has no shape"))?;
    let shape: Vec<usize> = shape_text
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|s| {
            s.parse::<usize>()
                .map_err(|_| bad(path, format!("bad NPY shape ({shape_text})")))
        })
        .collect::<EvalResult<_>>()?;
    if shape.is_empty() || shape.len() > 2 {
        return Err(bad(
            path,
            format!("NPY array of shape ({shape_text}): only 1-D and 2-D arrays are supported"),
        ));
    }
    let count: usize = shape.iter().product();
    let data = &bytes[start + len..];
    let width = match dtype.as_str() {
        "<f4" | "<i4" => 4,
        "<f8" | "<i8" => 8,
        "|u1" | "|b1" => 1,
        other => {
            return Err(bad(
                path,
                format!(
                    "NPY dtype {other} is not supported: save float32, float64, int32, int64, uint8 or bool"
                ),
            ));
        }
    };
    if data.len() != count * width {
        return Err(bad(
            path,
            format!(
                "NPY data is {} bytes, shape ({shape_text}) of {dtype} needs {}",
                data.len(),
                count * width
            ),
        ));
    }
    let values = data
        .chunks_exact(width)
        .map(|c| match dtype.as_str() {
            "<f4" => f32::from_le_bytes(c.try_into().expect("4 bytes")) as f64,
            "<f8" => f64::from_le_bytes(c.try_into().expect("8 bytes")),
            "<i4" => i32::from_le_bytes(c.try_into().expect("4 bytes")) as f64,
            "<i8" => i64::from_le_bytes(c.try_into().expect("8 bytes")) as f64,
            _ => c[0] as f64,
        })
        .collect();
    Ok(NpyArray {
        shape,
        values,
        dtype,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn npy(descr: &str, shape: &str, data: &[u8]) -> Vec<u8> {
        let mut h = format!("{{'descr': '{descr}', 'fortran_order': False, 'shape': {shape}, }}");
        while (10 + h.len() + 1) % 64 != 0 {
            h.push(' ');
        }
        h.push('\n');
        let mut out = b"\x93NUMPY\x01\x00".to_vec();
        out.extend_from_slice(&(h.len() as u16).to_le_bytes());
        out.extend_from_slice(h.as_bytes());
        out.extend_from_slice(data);
        out
    }

    #[test]
    fn reads_f4_matrix_and_i8_vector() {
        let data: Vec<u8> = [1.5f32, -2.0, 3.25, 4.0]
            .iter()
            .flat_map(|v| v.to_le_bytes())
            .collect();
        let a = parse(Path::new("x.npy"), &npy("<f4", "(2, 2)", &data)).unwrap();
        assert_eq!(a.shape, vec![2, 2]);
        assert_eq!(a.values, vec![1.5, -2.0, 3.25, 4.0]);
        let data: Vec<u8> = [3i64, 7].iter().flat_map(|v| v.to_le_bytes()).collect();
        let b = parse(Path::new("y.npy"), &npy("<i8", "(2,)", &data)).unwrap();
        assert_eq!((b.shape, b.values), (vec![2], vec![3.0, 7.0]));
    }

    #[test]
    fn refuses_big_endian_and_short_data() {
        let e = parse(Path::new("x.npy"), &npy(">f8", "(1,)", &[0; 8]))
            .unwrap_err()
            .to_string();
        assert!(e.contains(">f8 is not supported"), "{e}");
        let e = parse(Path::new("x.npy"), &npy("<f8", "(2,)", &[0; 8]))
            .unwrap_err()
            .to_string();
        assert!(e.contains("needs 16"), "{e}");
        assert!(parse(Path::new("x.npy"), b"hello world").is_err());
    }
}
