//! Streaming encryption: round trips, ranges through the store, and tampering caught.

use std::io::{Cursor, Read};

use bytes::Bytes;
use scal3ml_store::CidExt;
use scal3ml_store::crypt::{self, EncryptReader, FileKey, HEADER, SEGMENT, TAG};
use scal3ml_store::{BlockStore, Cid, Codec, ImportOptions, MemStore, StoreError, add_reader};

const KEY: FileKey = FileKey([0x42; 16]);
const NONCE: [u8; 16] = [7; 16];

fn pattern(n: usize) -> Vec<u8> {
    (0..n).map(|i| (i * 31 % 255) as u8).collect()
}

#[test]
fn round_trips_at_segment_edges() {
    for n in [
        0,
        1,
        SEGMENT - 1,
        SEGMENT,
        SEGMENT + 1,
        3 * SEGMENT,
        200_000,
        // The reader seals 32 segments at a time in parallel: both sides of that edge, and several batches.
        32 * SEGMENT - 1,
        32 * SEGMENT,
        32 * SEGMENT + 1,
        64 * SEGMENT,
        100 * SEGMENT + 7,
    ] {
        let plain = pattern(n);
        let sealed = crypt::encrypt_vec(&plain, &KEY, NONCE);
        assert_eq!(sealed.len() as u64, crypt::ciphertext_len(n as u64), "{n}");
        assert_eq!(&sealed[..8], b"SC3MLEv1");
        assert_eq!(crypt::decrypt_vec(&sealed, &KEY).unwrap(), plain, "{n}");
    }
}

/// A reader that hands out at most 1000 bytes a call, as pipes and sockets do.
struct Trickle(Cursor<Vec<u8>>);

impl Read for Trickle {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = buf.len().min(1000);
        self.0.read(&mut buf[..n])
    }
}

#[test]
fn the_reader_reports_the_plaintext_digest() {
    for n in [100_000, 5_000_000] {
        let plain = pattern(n);
        let (mut reader, digest) =
            EncryptReader::with_nonce(Trickle(Cursor::new(plain.clone())), &KEY, NONCE).unwrap();
        assert!(digest.get().is_none());
        let mut sealed = Vec::new();
        reader.read_to_end(&mut sealed).unwrap();
        let got = digest.get().unwrap();
        assert_eq!(got.length, n as u64);
        assert_eq!(Cid::hash_v1(Codec::Raw, &plain).digest(), &got.sha256);
        assert_eq!(
            sealed,
            crypt::encrypt_vec(&plain, &KEY, NONCE),
            "short reads seal the same bytes"
        );
        assert_eq!(crypt::decrypt_vec(&sealed, &KEY).unwrap(), plain);
    }
}

#[test]
fn wrong_key_fails() {
    let sealed = crypt::encrypt_vec(b"secret weights", &KEY, NONCE);
    assert!(matches!(
        crypt::decrypt_vec(&sealed, &FileKey([0x43; 16])),
        Err(StoreError::Decrypt { .. })
    ));
}

#[test]
fn every_flipped_bit_is_detected() {
    let sealed = crypt::encrypt_vec(&pattern(2 * SEGMENT + 100), &KEY, NONCE);
    // every byte of the header and tags, and a spread of body bytes
    let mut positions: Vec<usize> = (0..HEADER).collect();
    positions.extend((HEADER..sealed.len()).step_by(997));
    positions.extend(sealed.len() - TAG..sealed.len());
    for pos in positions {
        for bit in [0, 7] {
            let mut bad = sealed.clone();
            bad[pos] ^= 1 << bit;
            assert!(
                crypt::decrypt_vec(&bad, &KEY).is_err(),
                "flip at byte {pos} bit {bit} went unnoticed"
            );
        }
    }
}

#[test]
fn truncation_and_reordering_are_detected() {
    let sealed = crypt::encrypt_vec(&pattern(3 * SEGMENT), &KEY, NONCE);
    let seg = SEGMENT + TAG;
    // cut at a segment boundary: what remains is well-formed but its last segment was not sealed as last
    let cut = &sealed[..HEADER + 2 * seg];
    assert!(matches!(
        crypt::decrypt_vec(cut, &KEY),
        Err(StoreError::Decrypt { .. })
    ));
    // cut inside a segment
    assert!(crypt::decrypt_vec(&sealed[..sealed.len() - 5], &KEY).is_err());
    // swap segments 0 and 1
    let mut swapped = sealed[..HEADER].to_vec();
    swapped.extend_from_slice(&sealed[HEADER + seg..HEADER + 2 * seg]);
    swapped.extend_from_slice(&sealed[HEADER..HEADER + seg]);
    swapped.extend_from_slice(&sealed[HEADER + 2 * seg..]);
    assert!(matches!(
        crypt::decrypt_vec(&swapped, &KEY),
        Err(StoreError::Decrypt { .. })
    ));
    // plaintext that was never encrypted
    assert!(matches!(
        crypt::decrypt_vec(&pattern(1000), &KEY),
        Err(StoreError::Malformed { .. })
    ));
}

#[test]
fn file_keys_round_trip_as_hex() {
    let key = FileKey::generate().unwrap();
    assert_eq!(FileKey::from_hex(&key.to_hex()).unwrap(), key);
    assert_ne!(FileKey::generate().unwrap(), key, "keys are random");
    assert!(FileKey::from_hex("xyz").is_err());
}

#[tokio::test]
async fn encrypted_import_decrypts_ranges_from_only_the_needed_blocks() {
    let store = MemStore::new();
    let plain = pattern(10 * SEGMENT + 123);
    let (reader, digest) = EncryptReader::new(Cursor::new(plain.clone()), &KEY).unwrap();
    // 64 KiB + 16 chunks: one segment per leaf, so a range touches only its segments' leaves
    let opts = ImportOptions::kubo_v1().with_chunk_size(SEGMENT + TAG);
    let root = add_reader(&store, reader, opts).await.unwrap();
    assert_eq!(root.size, crypt::ciphertext_len(plain.len() as u64));
    assert_eq!(digest.get().unwrap().length, plain.len() as u64);

    let read = |start: u64, end: u64| {
        let store = &store;
        async move {
            let mut out = Vec::new();
            let mut sink = |b: Bytes| {
                out.extend_from_slice(&b);
                Ok(())
            };
            crypt::read_decrypted(store, &root.cid, &KEY, start, Some(end), &mut sink)
                .await
                .map(|_| out)
        }
    };
    assert_eq!(read(0, plain.len() as u64).await.unwrap(), plain);
    assert_eq!(
        read(70_000, 200_000).await.unwrap(),
        &plain[70_000..200_000]
    );
    // The last leaf (the tail of segment 10) can go missing without hurting a range in segments 1..=3.
    let all = store.list_for_test().await;
    let tail = root.size % (SEGMENT + TAG) as u64; // the header shifts segments 24 bytes into the leaves
    let last_leaf = all.iter().find(|(_, size)| *size == tail).unwrap().0;
    store.delete(&last_leaf).await.unwrap();
    assert_eq!(
        read(SEGMENT as u64, 4 * SEGMENT as u64).await.unwrap(),
        &plain[SEGMENT..4 * SEGMENT]
    );
    assert!(matches!(
        read(0, plain.len() as u64).await,
        Err(StoreError::NotFound { .. })
    ));
}

trait ListForTest {
    async fn list_for_test(&self) -> Vec<(Cid, u64)>;
}

impl ListForTest for MemStore {
    async fn list_for_test(&self) -> Vec<(Cid, u64)> {
        scal3ml_store::PinStore::list(self).await.unwrap()
    }
}

/// Known answers computed outside this code base, with Python's `cryptography` 48 (HKDF-SHA-256 and
/// ChaCha20-Poly1305 from OpenSSL) following docs/storage.md: the same key and nonce, payload key =
/// HKDF(ikm = key, salt = nonce, info = "payload"), segment nonce = 11-byte big-endian index + last flag.
#[test]
fn known_answers_from_an_independent_implementation() {
    let small = crypt::encrypt_vec(b"hello, scal3ml", &KEY, NONCE);
    let hex = const_hex::encode(&small);
    assert_eq!(
        hex,
        "5343334d4c45763107070707070707070707070707070707\
         ffaa3e9012982972e2e069b976654825ef63c9554c70dcbe8332c1a5b37b"
    );
    // Two segments, the second one short: checked by its SHA-256.
    let sealed = crypt::encrypt_vec(&pattern(SEGMENT + 1000), &KEY, NONCE);
    assert_eq!(sealed.len(), 66_592);
    let digest = Cid::hash_v1(Codec::Raw, &sealed);
    let hex = const_hex::encode(digest.digest());
    assert_eq!(
        hex,
        "528b42fce6d8ddf329ec165ff63d340e10a2b33d444a0982416145b2ece73592"
    );
}
