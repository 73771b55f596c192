//! Streaming encryption for paid assets.
//!
//! # Format (scal3ml encrypted stream, version 1)
//!
//! ```text
//! offset  size          field
//! 0       8             magic "SC3MLEv1"
//! 8       16            nonce (random per file)
//! 24      65536 + 16    segment 0: ChaCha20-Poly1305 ciphertext of 64 KiB plaintext + tag
//! ...                   segments 1..n-1; the last holds 1..=65536 plaintext bytes (0 only if the file is empty)
//! ```
//!
//! The payload key is HKDF-SHA-256(ikm = the 16-byte file key, salt = nonce, info = "payload"); segment `i` is
//! sealed under the 12-byte nonce `i` as an 11-byte big-endian counter followed by a flag byte, 0x01 on the last
//! segment and 0x00 before. That is age's STREAM construction byte for byte: everything from offset 8 on is a
//! valid age v1 payload for the same file key, so an age header wrapping the key plus these bytes is an age
//! file (the tests check this with the `age` crate). Because each segment authenticates its position and
//! whether it is last, truncation (even at a segment boundary), reordering, and any flipped bit fail
//! authentication; a range decrypts only the segments it overlaps.

use std::io::{ErrorKind, Read};
use std::sync::{Arc, OnceLock, mpsc};

use bytes::Bytes;
use hkdf::Hkdf;
use ring::aead::{Aad, CHACHA20_POLY1305, LessSafeKey, Nonce, UnboundKey};
use sha2::{Digest, Sha256};

use crate::cid::Cid;
use crate::error::{StoreError, StoreResult};
use crate::export::{self, ByteSink};
use crate::store::BlockStore;

/// The magic at the start of every encrypted stream.
pub const MAGIC: &[u8; 8] = b"SC3MLEv1";
/// Plaintext bytes per segment.
pub const SEGMENT: usize = 64 * 1024;
/// Poly1305 tag bytes per segment.
pub const TAG: usize = 16;
/// Header bytes before the first segment.
pub const HEADER: usize = MAGIC.len() + 16;

/// A per-asset file key (16 random bytes, as age uses).
#[derive(Clone, PartialEq, Eq)]
pub struct FileKey(pub [u8; 16]);

impl FileKey {
    /// A fresh random key.
    pub fn generate() -> StoreResult<Self> {
        let mut key = [0u8; 16];
        getrandom::getrandom(&mut key).map_err(|e| StoreError::Decrypt {
            reason: format!("no randomness: {e}"),
        })?;
        Ok(Self(key))
    }

    /// The key as 32 lowercase hex characters.
    pub fn to_hex(&self) -> String {
        const_hex::encode(self.0)
    }

    /// Parses 32 hex characters.
    pub fn from_hex(hex: &str) -> StoreResult<Self> {
        let bad = || StoreError::invalid("a file key is 32 hex characters (16 bytes)");
        if hex.len() != 32 || !hex.is_ascii() {
            return Err(bad());
        }
        const_hex::decode_to_array(hex).map(Self).map_err(|_| bad())
    }
}

impl std::fmt::Debug for FileKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("FileKey(..)")
    }
}

/// The ChaCha20-Poly1305 key the segments are sealed under (ring's, the fastest on hand: about 1.5x RustCrypto's
/// here). Nonces are never reused: each segment's nonce is its own index.
type Cipher = LessSafeKey;

fn payload_cipher(key: &FileKey, nonce: &[u8; 16]) -> Cipher {
    let mut payload_key = [0u8; 32];
    Hkdf::<Sha256>::new(Some(nonce), &key.0)
        .expand(b"payload", &mut payload_key)
        .expect("32 bytes is a valid HKDF length");
    LessSafeKey::new(
        UnboundKey::new(&CHACHA20_POLY1305, &payload_key).expect("a 32-byte ChaCha20 key"),
    )
}

fn segment_nonce(index: u64, last: bool) -> Nonce {
    let mut nonce = [0u8; 12];
    nonce[3..11].copy_from_slice(&index.to_be_bytes());
    nonce[11] = u8::from(last);
    Nonce::assume_unique_for_key(nonce)
}

/// Ciphertext length for a plaintext length.
pub fn ciphertext_len(plaintext: u64) -> u64 {
    let segments = plaintext.div_ceil(SEGMENT as u64).max(1);
    HEADER as u64 + plaintext + segments * TAG as u64
}

/// Segment count and plaintext length for a ciphertext length; errors if no plaintext length produces it.
pub fn plaintext_len(ciphertext: u64) -> StoreResult<(u64, u64)> {
    let body = ciphertext
        .checked_sub(HEADER as u64)
        .filter(|b| *b >= TAG as u64)
        .ok_or_else(|| {
            StoreError::malformed(
                "encrypted stream",
                format!("{ciphertext} bytes is shorter than header and one tag"),
            )
        })?;
    let full = (SEGMENT + TAG) as u64;
    let segments = body.div_ceil(full);
    let last = body - (segments - 1) * full;
    if last < TAG as u64 || (segments > 1 && last == TAG as u64) {
        return Err(StoreError::Decrypt {
            reason: format!(
                "{ciphertext} bytes cannot be a whole encrypted stream: it was truncated"
            ),
        });
    }
    Ok((segments, body - segments * TAG as u64))
}

/// Segments sealed per batch. A batch's segments are sealed in parallel while its plaintext is hashed; with one
/// batch being read, one queued and one being sealed, the encryptor holds about 6 MiB.
const BATCH: usize = 32;

/// Wraps a plaintext reader and reads as header + ciphertext, hashing the plaintext on the way.
///
/// The encryption runs ahead on a thread of its own, so whoever reads (the importer's hashing workers) works
/// while the next batch is sealed. Dropping the reader stops that thread.
pub struct EncryptReader {
    batches: mpsc::Receiver<std::io::Result<(Vec<u8>, bool)>>,
    /// Read batches go back to the encryption thread for reuse: no fresh pages to fault in and zero.
    spent: mpsc::SyncSender<Vec<u8>>,
    out: Vec<u8>,
    out_pos: usize,
    /// The last batch came in: the stream ends when `out` is drained.
    done: bool,
}

/// The plaintext's SHA-256 and length, available once the [`EncryptReader`] reached the end.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PlaintextDigest {
    /// SHA-256 of the plaintext.
    pub sha256: [u8; 32],
    /// Plaintext bytes.
    pub length: u64,
}

impl EncryptReader {
    /// Starts encrypting `inner` under `key` with a random nonce. The returned cell is filled with the
    /// plaintext digest when the reader reaches the end.
    pub fn new<R: Read + Send + 'static>(
        inner: R,
        key: &FileKey,
    ) -> StoreResult<(Self, Arc<OnceLock<PlaintextDigest>>)> {
        let mut nonce = [0u8; 16];
        getrandom::getrandom(&mut nonce).map_err(|e| StoreError::Decrypt {
            reason: format!("no randomness: {e}"),
        })?;
        Self::with_nonce(inner, key, nonce)
    }

    /// Like [`Self::new`] with a given nonce (for known-answer tests; never reuse a nonce with a key).
    pub fn with_nonce<R: Read + Send + 'static>(
        inner: R,
        key: &FileKey,
        nonce: [u8; 16],
    ) -> StoreResult<(Self, Arc<OnceLock<PlaintextDigest>>)> {
        let digest = Arc::new(OnceLock::new());
        let (batch, batches) = mpsc::sync_channel(1);
        let (spent, reusable) = mpsc::sync_channel(2);
        let mut sealer = Sealer {
            inner,
            cipher: payload_cipher(key, &nonce),
            threads: std::thread::available_parallelism().map_or(1, |n| n.get()),
            index: 0,
            plain: Vec::with_capacity(BATCH * SEGMENT + 1),
            hasher: Sha256::new(),
            length: 0,
            digest: digest.clone(),
            reusable,
        };
        std::thread::Builder::new()
            .name("scal3ml-encrypt".into())
            .spawn(move || {
                loop {
                    let sealed = sealer.next_batch();
                    let end = !matches!(sealed, Ok((_, false)));
                    if batch.send(sealed).is_err() || end {
                        return;
                    }
                }
            })
            .map_err(|e| StoreError::io("starting the encryption thread", e))?;
        let mut out = Vec::with_capacity(HEADER);
        out.extend_from_slice(MAGIC);
        out.extend_from_slice(&nonce);
        let reader = Self {
            batches,
            spent,
            out,
            out_pos: 0,
            done: false,
        };
        Ok((reader, digest))
    }
}

impl Read for EncryptReader {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        while self.out_pos == self.out.len() {
            if self.done {
                return Ok(0);
            }
            let (batch, last) = self.batches.recv().map_err(|_| {
                std::io::Error::other("the encryption thread stopped after an earlier error")
            })??;
            let read = std::mem::replace(&mut self.out, batch);
            let _ = self.spent.try_send(read);
            (self.out_pos, self.done) = (0, last);
        }
        let n = buf.len().min(self.out.len() - self.out_pos);
        buf[..n].copy_from_slice(&self.out[self.out_pos..self.out_pos + n]);
        self.out_pos += n;
        Ok(n)
    }
}

/// The encryption thread's state: the plaintext source, the segment counter and the running plaintext hash.
struct Sealer<R> {
    inner: R,
    cipher: Cipher,
    threads: usize,
    /// Index of the next segment to seal.
    index: u64,
    /// Plaintext of the next batch, plus one byte of lookahead that decides whether a batch is the last.
    plain: Vec<u8>,
    hasher: Sha256,
    length: u64,
    digest: Arc<OnceLock<PlaintextDigest>>,
    /// Buffers the reader is done with.
    reusable: mpsc::Receiver<Vec<u8>>,
}

impl<R: Read> Sealer<R> {
    /// Reads up to [`BATCH`] segments of plaintext (and one byte of lookahead) and seals them: the segments
    /// split between the cores, the plaintext hashed on a thread of its own meanwhile. Returns the ciphertext
    /// and whether it ends the stream (then the digest is set).
    fn next_batch(&mut self) -> std::io::Result<(Vec<u8>, bool)> {
        let want = BATCH * SEGMENT + 1;
        // `plain` may hold the lookahead byte from the previous batch.
        let mut filled = self.plain.len();
        self.plain.resize(want, 0);
        while filled < want {
            match self.inner.read(&mut self.plain[filled..]) {
                Ok(0) => break,
                Ok(n) => filled += n,
                Err(e) if e.kind() == ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            }
        }
        // Without the lookahead byte this batch ends the stream; its last segment holds 1..=SEGMENT bytes
        // (0 only for an empty file, which still has its one authenticated segment).
        let last = filled < want;
        let body = filled.min(want - 1);
        let segments = body.div_ceil(SEGMENT).max(1);
        // A reused buffer already has its bytes initialised; every byte is overwritten below.
        let mut out = self.reusable.try_recv().unwrap_or_default();
        out.resize(body + segments * TAG, 0);
        let (cipher, first, plain) = (&self.cipher, self.index, &self.plain[..body]);
        let seal = |j: usize, input: &[u8], output: &mut [u8]| -> std::io::Result<()> {
            let (text, tag) = output.split_at_mut(input.len());
            text.copy_from_slice(input);
            let nonce = segment_nonce(first + j as u64, last && j + 1 == segments);
            let sealed = cipher
                .seal_in_place_separate_tag(nonce, Aad::empty(), text)
                .map_err(|_| std::io::Error::other("segment encryption failed"))?;
            tag.copy_from_slice(sealed.as_ref());
            Ok(())
        };
        let jobs: Vec<(usize, &[u8], &mut [u8])> = match body {
            0 => vec![(0, &[][..], &mut out[..])],
            _ => plain
                .chunks(SEGMENT)
                .zip(out.chunks_mut(SEGMENT + TAG))
                .enumerate()
                .map(|(j, (input, output))| (j, input, output))
                .collect(),
        };
        let hasher = &mut self.hasher;
        let share = jobs.len().div_ceil(self.threads.max(1));
        std::thread::scope(|scope| -> std::io::Result<()> {
            let hashing = scope.spawn(move || hasher.update(plain));
            let mut parts = Vec::new();
            let mut jobs = jobs.into_iter();
            loop {
                let part: Vec<_> = jobs.by_ref().take(share).collect();
                if part.is_empty() {
                    break;
                }
                parts.push(part);
            }
            let mine = parts.pop().unwrap_or_default();
            let sealing: Vec<_> = parts
                .into_iter()
                .map(|part| {
                    scope.spawn(move || {
                        part.into_iter()
                            .try_for_each(|(j, input, output)| seal(j, input, output))
                    })
                })
                .collect();
            mine.into_iter()
                .try_for_each(|(j, input, output)| seal(j, input, output))?;
            for handle in sealing {
                handle.join().expect("a sealing thread panicked")?;
            }
            hashing.join().expect("the hashing thread panicked");
            Ok(())
        })?;
        self.length += body as u64;
        self.index += segments as u64;
        self.plain.drain(..body);
        self.plain.truncate(filled - body);
        if last {
            let sha256 = std::mem::take(&mut self.hasher).finalize().into();
            let _ = self.digest.set(PlaintextDigest {
                sha256,
                length: self.length,
            });
        }
        Ok((out, last))
    }
}

/// Encrypts a whole buffer (for small inputs and tests).
pub fn encrypt_vec(plaintext: &[u8], key: &FileKey, nonce: [u8; 16]) -> Vec<u8> {
    let (mut reader, _) =
        EncryptReader::with_nonce(std::io::Cursor::new(plaintext.to_vec()), key, nonce)
            .expect("starting the encryption thread");
    let mut out = Vec::with_capacity(ciphertext_len(plaintext.len() as u64) as usize);
    reader
        .read_to_end(&mut out)
        .expect("reading from memory cannot fail");
    out
}

/// Decrypts segments fed in order, emitting the plaintext inside a wanted range.
struct SegmentOpener<'s, 'o> {
    cipher: Cipher,
    segments: u64,
    index: u64,
    buf: Vec<u8>,
    start: u64,
    end: u64,
    out: &'s mut ByteSink<'o>,
}

impl SegmentOpener<'_, '_> {
    fn open(&mut self) -> StoreResult<()> {
        let last = self.index + 1 == self.segments;
        let split = self.buf.len() - TAG;
        self.cipher.open_in_place(segment_nonce(self.index, last), Aad::empty(), &mut self.buf).map_err(
            |_| StoreError::Decrypt {
                reason: format!(
                    "segment {} of {} failed authentication: wrong key, or the ciphertext was modified, truncated or reordered",
                    self.index + 1,
                    self.segments
                ),
            },
        )?;
        self.buf.truncate(split);
        let offset = self.index * SEGMENT as u64;
        let from = self.start.saturating_sub(offset).min(self.buf.len() as u64) as usize;
        let to = self.end.saturating_sub(offset).min(self.buf.len() as u64) as usize;
        if from < to {
            (self.out)(Bytes::copy_from_slice(&self.buf[from..to]))?;
        }
        self.buf.clear();
        self.index += 1;
        Ok(())
    }

    fn push(&mut self, mut data: &[u8]) -> StoreResult<()> {
        while !data.is_empty() {
            let want = SEGMENT + TAG - self.buf.len();
            let take = want.min(data.len());
            self.buf.extend_from_slice(&data[..take]);
            data = &data[take..];
            if self.buf.len() == SEGMENT + TAG {
                self.open()?;
            }
        }
        Ok(())
    }
}

fn check_header(header: &[u8]) -> StoreResult<[u8; 16]> {
    if header.len() < HEADER || &header[..8] != MAGIC {
        return Err(StoreError::malformed(
            "encrypted stream",
            "missing the SC3MLEv1 header: this content is not encrypted by scal3ml (or not encrypted at all)",
        ));
    }
    Ok(header[8..HEADER].try_into().expect("16 bytes"))
}

/// Decrypts a whole buffer (for small inputs and tests).
pub fn decrypt_vec(ciphertext: &[u8], key: &FileKey) -> StoreResult<Vec<u8>> {
    let nonce = check_header(ciphertext)?;
    let (segments, len) = plaintext_len(ciphertext.len() as u64)?;
    let mut plain = Vec::with_capacity(len as usize);
    let mut sink = |b: Bytes| {
        plain.extend_from_slice(&b);
        Ok(())
    };
    let mut opener = SegmentOpener {
        cipher: payload_cipher(key, &nonce),
        segments,
        index: 0,
        buf: Vec::with_capacity(SEGMENT + TAG),
        start: 0,
        end: len,
        out: &mut sink,
    };
    opener.push(&ciphertext[HEADER..])?;
    if !opener.buf.is_empty() {
        opener.open()?;
    }
    Ok(plain)
}

/// Streams plaintext bytes `start..end` (clamped; `None` = to the end) of the encrypted file at `cid` into
/// `out`, fetching and decrypting only the segments (and so only the blocks) the range overlaps. Returns the
/// plaintext length of the whole file.
pub async fn read_decrypted<S: BlockStore + ?Sized>(
    store: &S,
    cid: &Cid,
    key: &FileKey,
    start: u64,
    end: Option<u64>,
    out: &mut ByteSink<'_>,
) -> StoreResult<u64> {
    let size = export::stat(store, cid).await?.size;
    let (segments, len) = plaintext_len(size)?;
    let mut header = Vec::with_capacity(HEADER);
    let mut sink = |b: Bytes| {
        header.extend_from_slice(&b);
        Ok(())
    };
    export::read_range(store, cid, 0, Some(HEADER as u64), &mut sink).await?;
    let nonce = check_header(&header)?;
    let end = end.unwrap_or(len).min(len);
    if start > end {
        return Err(StoreError::RangeOutOfBounds {
            start,
            end,
            size: len,
        });
    }
    if start == end && len > 0 {
        return Ok(len);
    }
    // An empty file still has its one (empty, last) segment authenticated.
    let first = start / SEGMENT as u64;
    let last = end.saturating_sub(1) / SEGMENT as u64;
    let seg = (SEGMENT + TAG) as u64;
    let from = HEADER as u64 + first * seg;
    let to = (HEADER as u64 + (last + 1) * seg).min(size);
    let mut opener = SegmentOpener {
        cipher: payload_cipher(key, &nonce),
        segments,
        index: first,
        buf: Vec::with_capacity(SEGMENT + TAG),
        start,
        end,
        out,
    };
    let mut feed = |b: Bytes| opener.push(&b);
    export::read_range(store, cid, from, Some(to), &mut feed).await?;
    if !opener.buf.is_empty() {
        opener.open()?;
    }
    Ok(len)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lengths_agree() {
        for n in [0u64, 1, 65_535, 65_536, 65_537, 3 * 65_536, 1_000_000] {
            let c = ciphertext_len(n);
            assert_eq!(plaintext_len(c).unwrap().1, n, "{n}");
        }
    }
}
