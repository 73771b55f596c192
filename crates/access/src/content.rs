//! Streaming an asset's bytes over HTTP: `Range: bytes=` parsing and a body that decrypts window by window, so
//! a slow client holds back the reading (at most one window, 1 MiB, is in memory).

use std::sync::Arc;

use axum::body::Body;
use bytes::Bytes;
use scal3ml_store::{BlockStore, Cid, crypt, crypt::FileKey, export};

use crate::error::AccessResult;

/// Plaintext bytes decrypted per step (a multiple of the encrypted segment size).
const WINDOW: u64 = 16 * crypt::SEGMENT as u64;

/// What a `Range` header asks for, against a body of `len` bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RangeAnswer {
    /// No (usable) range: the whole body, 200.
    Whole,
    /// Bytes `start..end`, 206.
    Part(u64, u64),
    /// Nothing of the body satisfies it: 416.
    Unsatisfiable,
}

/// Parses a `Range` header value (one range of bytes; several ranges or other units get the whole body, as
/// RFC 9110 allows a server to ignore them).
pub fn parse_range(header: Option<&str>, len: u64) -> RangeAnswer {
    let Some(spec) = header.and_then(|h| h.trim().strip_prefix("bytes=")) else {
        return RangeAnswer::Whole;
    };
    if spec.contains(',') {
        return RangeAnswer::Whole;
    }
    let Some((a, b)) = spec.trim().split_once('-') else {
        return RangeAnswer::Whole;
    };
    let (a, b) = (a.trim(), b.trim());
    if a.is_empty() {
        // Suffix: the last n bytes.
        return match b.parse::<u64>() {
            Ok(0) => RangeAnswer::Unsatisfiable,
            Ok(n) if len > 0 => RangeAnswer::Part(len.saturating_sub(n), len),
            Ok(_) => RangeAnswer::Unsatisfiable,
            Err(_) => RangeAnswer::Whole,
        };
    }
    let Ok(start) = a.parse::<u64>() else {
        return RangeAnswer::Whole;
    };
    let end = if b.is_empty() {
        len
    } else {
        match b.parse::<u64>() {
            Ok(last) if last >= start => last.saturating_add(1).min(len),
            _ => return RangeAnswer::Whole,
        }
    };
    if start >= len {
        RangeAnswer::Unsatisfiable
    } else {
        RangeAnswer::Part(start, end)
    }
}

/// A file's bytes, plain or decrypted.
#[derive(Clone)]
pub(crate) struct Source {
    pub(crate) store: Arc<dyn BlockStore>,
    pub(crate) cid: Cid,
    pub(crate) key: Option<FileKey>,
}

impl Source {
    /// The length of the bytes served (plaintext length for encrypted files).
    pub(crate) async fn len(&self) -> AccessResult<u64> {
        let size = export::stat(self.store.as_ref(), &self.cid).await?.size;
        Ok(match self.key {
            Some(_) => crypt::plaintext_len(size)?.1,
            None => size,
        })
    }

    async fn read(&self, start: u64, end: u64) -> AccessResult<Bytes> {
        let mut buf = Vec::with_capacity((end - start) as usize);
        let mut sink = |b: Bytes| {
            buf.extend_from_slice(&b);
            Ok(())
        };
        match &self.key {
            Some(key) => {
                crypt::read_decrypted(
                    self.store.as_ref(),
                    &self.cid,
                    key,
                    start,
                    Some(end),
                    &mut sink,
                )
                .await?;
            }
            None => {
                export::read_range(self.store.as_ref(), &self.cid, start, Some(end), &mut sink)
                    .await?;
            }
        }
        Ok(Bytes::from(buf))
    }

    /// A body of bytes `start..end`. The first window is read before returning, so a missing block or a wrong
    /// key is an error the caller can still answer with a status, not a cut-off body.
    pub(crate) async fn body(self, start: u64, end: u64) -> AccessResult<Body> {
        let first_end = ((start / WINDOW + 1) * WINDOW).min(end);
        let first = if start < end {
            self.read(start, first_end).await?
        } else {
            Bytes::new()
        };
        let stream = futures_util::stream::unfold(
            (Some(first), first_end, self),
            move |(ready, at, src)| async move {
                if let Some(b) = ready {
                    return Some((Ok::<_, std::io::Error>(b), (None, at, src)));
                }
                if at >= end {
                    return None;
                }
                let next = (at + WINDOW).min(end);
                match src.read(at, next).await {
                    Ok(b) => Some((Ok(b), (None, next, src))),
                    Err(e) => {
                        tracing::warn!(target: "access::content", cid = %src.cid, error = %e, "content stream aborted");
                        Some((Err(std::io::Error::other(e.to_string())), (None, end, src)))
                    }
                }
            },
        );
        Ok(Body::from_stream(stream))
    }
}

/// Whether `key` opens the content at `root`: the first segment of its first file (depth first, in directory
/// order) is decrypted. [`KeyCheck::NotHeld`] if the content is not in `store`, [`KeyCheck::NoFile`] if it
/// holds no file, an error if it is there and the key does not open it, or it is not encrypted content.
pub(crate) async fn key_opens(
    store: &dyn BlockStore,
    root: &Cid,
    key: &FileKey,
) -> AccessResult<KeyCheck> {
    if !store.has(root).await? {
        return Ok(KeyCheck::NotHeld);
    }
    let mut stack = vec![(*root, 0usize)];
    while let Some((cid, depth)) = stack.pop() {
        match export::stat(store, &cid).await?.kind {
            export::Kind::File => {
                let mut sink = |_: Bytes| Ok(());
                crypt::read_decrypted(store, &cid, key, 0, Some(1), &mut sink).await?;
                return Ok(KeyCheck::Opens);
            }
            export::Kind::Directory if depth < 64 => {
                let entries = export::ls(store, &cid).await?;
                stack.extend(entries.into_iter().rev().map(|e| (e.cid, depth + 1)));
            }
            _ => {}
        }
    }
    Ok(KeyCheck::NoFile)
}

/// What [`key_opens`] found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum KeyCheck {
    /// The key decrypts the content's first file.
    Opens,
    /// This node does not hold the content's root block.
    NotHeld,
    /// The content holds no file to try the key on.
    NoFile,
}

#[cfg(test)]
mod tests {
    use super::*;
    use RangeAnswer::*;

    #[test]
    fn ranges_follow_rfc_9110() {
        assert_eq!(parse_range(None, 10), Whole);
        assert_eq!(parse_range(Some("bytes=0-3"), 10), Part(0, 4));
        assert_eq!(parse_range(Some("bytes=4-"), 10), Part(4, 10));
        assert_eq!(parse_range(Some("bytes=-3"), 10), Part(7, 10));
        assert_eq!(parse_range(Some("bytes=-30"), 10), Part(0, 10));
        assert_eq!(parse_range(Some("bytes=5-100"), 10), Part(5, 10));
        assert_eq!(parse_range(Some("bytes=10-"), 10), Unsatisfiable);
        assert_eq!(parse_range(Some("bytes=-0"), 10), Unsatisfiable);
        assert_eq!(parse_range(Some("bytes=0-1,4-5"), 10), Whole);
        assert_eq!(parse_range(Some("items=0-1"), 10), Whole);
        assert_eq!(parse_range(Some("bytes=5-2"), 10), Whole);
    }
}
