//! Unsigned LEB128 varints as multiformats use them (at most 9 bytes, minimal encoding).

use crate::error::{StoreError, StoreResult};

/// Appends `value` as an unsigned varint.
pub fn write(out: &mut Vec<u8>, mut value: u64) {
    while value >= 0x80 {
        out.push((value as u8) | 0x80);
        value >>= 7;
    }
    out.push(value as u8);
}

/// The encoded length of `value`.
pub fn len(value: u64) -> usize {
    let bits = 64 - (value | 1).leading_zeros() as usize;
    bits.div_ceil(7)
}

/// Reads an unsigned varint from the front of `input`; returns the value and the bytes used.
/// `format` names what is being decoded, for the error.
pub fn read(input: &[u8], format: &'static str) -> StoreResult<(u64, usize)> {
    let mut value = 0u64;
    for (i, &byte) in input.iter().enumerate() {
        if i >= 9 {
            return Err(StoreError::malformed(format, "varint longer than 9 bytes"));
        }
        value |= u64::from(byte & 0x7f) << (7 * i);
        if byte & 0x80 == 0 {
            if byte == 0 && i > 0 {
                return Err(StoreError::malformed(
                    format,
                    "varint is not minimally encoded",
                ));
            }
            return Ok((value, i + 1));
        }
    }
    Err(StoreError::malformed(format, "truncated varint"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_lengths() {
        for v in [
            0u64,
            1,
            127,
            128,
            300,
            16383,
            16384,
            u32::MAX as u64,
            (1 << 63) - 1,
        ] {
            let mut out = Vec::new();
            write(&mut out, v);
            assert_eq!(out.len(), len(v), "{v}");
            assert_eq!(read(&out, "t").unwrap(), (v, out.len()));
        }
        assert_eq!(read(&[0xac, 0x02], "t").unwrap(), (300, 2));
    }

    #[test]
    fn rejects_truncated_and_overlong() {
        assert!(read(&[0x80], "t").is_err());
        assert!(read(&[0x80, 0x00], "t").is_err());
        assert!(read(&[0xff; 10], "t").is_err());
    }
}
