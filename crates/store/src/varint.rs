//! Glue between the multiformats varint (the `unsigned-varint` crate, which `cid` uses too) and the store's
//! encoders and decoders (CAR, dag-pb, UnixFS): append to a `Vec`, and errors as [`StoreError`]. No codec of
//! its own.

use unsigned_varint::{decode, encode};

use crate::error::{StoreError, StoreResult};

/// Appends `value` as an unsigned varint.
pub fn write(out: &mut Vec<u8>, value: u64) {
    out.extend_from_slice(encode::u64(value, &mut encode::u64_buffer()));
}

/// The encoded length of `value`.
pub fn len(value: u64) -> usize {
    encode::u64(value, &mut encode::u64_buffer()).len()
}

/// Reads an unsigned varint from the front of `input` (minimal encoding only); returns the value and the bytes
/// used. `format` names what is being decoded, for the error.
pub fn read(input: &[u8], format: &'static str) -> StoreResult<(u64, usize)> {
    match decode::u64(input) {
        Ok((value, rest)) => Ok((value, input.len() - rest.len())),
        Err(decode::Error::Insufficient) => Err(StoreError::malformed(format, "truncated varint")),
        Err(decode::Error::Overflow) => Err(StoreError::malformed(
            format,
            "varint does not fit in 64 bits",
        )),
        Err(decode::Error::NotMinimal) => Err(StoreError::malformed(
            format,
            "varint is not minimally encoded",
        )),
        Err(e) => Err(StoreError::malformed(format, e.to_string())),
    }
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
        assert!(read(&[0xff; 11], "t").is_err());
    }
}
