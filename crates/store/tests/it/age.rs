//! Our encrypted payload is an age v1 payload: put an age header (scrypt recipient, wrapping our file key) in
//! front of everything after our 8-byte magic and the `age` crate, an implementation no one here wrote,
//! decrypts it to the original plaintext.

use std::io::Read;

use base64::Engine;
use base64::engine::general_purpose::STANDARD_NO_PAD as B64;
use chacha20poly1305::aead::{Aead, KeyInit};
use chacha20poly1305::{ChaCha20Poly1305, Key, Nonce};
use hkdf::Hkdf;
use hmac::{Hmac, Mac};
use scal3ml_store::crypt::{self, FileKey};
use sha2::Sha256;

const PASSPHRASE: &str = "correct horse battery staple";
const LOG_N: u8 = 10;

/// An age v1 header with one scrypt stanza wrapping `key` (age spec, C2SP age.md).
fn age_header(key: &FileKey) -> Vec<u8> {
    let salt = [0x5au8; 16];
    let mut scrypt_salt = b"age-encryption.org/v1/scrypt".to_vec();
    scrypt_salt.extend_from_slice(&salt);
    let mut wrap_key = [0u8; 32];
    let params = scrypt::Params::new(LOG_N, 8, 1, 32).unwrap();
    scrypt::scrypt(PASSPHRASE.as_bytes(), &scrypt_salt, &params, &mut wrap_key).unwrap();
    let body = ChaCha20Poly1305::new(&Key::from(wrap_key))
        .encrypt(&Nonce::from([0u8; 12]), &key.0[..])
        .unwrap();
    let mut header = format!(
        "age-encryption.org/v1\n-> scrypt {} {LOG_N}\n{}\n---",
        B64.encode(salt),
        B64.encode(&body)
    );
    let mut mac_key = [0u8; 32];
    Hkdf::<Sha256>::new(None, &key.0)
        .expand(b"header", &mut mac_key)
        .unwrap();
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(&mac_key).unwrap();
    mac.update(header.as_bytes());
    header.push_str(&format!(" {}\n", B64.encode(mac.finalize().into_bytes())));
    header.into_bytes()
}

fn age_decrypt(file: &[u8]) -> Result<Vec<u8>, String> {
    let decryptor = age::Decryptor::new(file).map_err(|e| e.to_string())?;
    let mut identity = age::scrypt::Identity::new(PASSPHRASE.to_owned().into());
    identity.set_max_work_factor(LOG_N);
    let mut reader = decryptor
        .decrypt(std::iter::once(&identity as &dyn age::Identity))
        .map_err(|e| e.to_string())?;
    let mut out = Vec::new();
    reader.read_to_end(&mut out).map_err(|e| e.to_string())?;
    Ok(out)
}

#[test]
fn the_age_crate_decrypts_our_payload() {
    let key = FileKey([0x11; 16]);
    for n in [0usize, 1, 65_536, 65_537, 200_000, 32 * 65_536, 5_000_000] {
        let plain: Vec<u8> = (0..n).map(|i| (i % 241) as u8).collect();
        let ours = crypt::encrypt_vec(&plain, &key, [0x22; 16]);
        let mut file = age_header(&key);
        file.extend_from_slice(&ours[8..]);
        assert_eq!(age_decrypt(&file).unwrap(), plain, "{n} bytes");
    }
}

#[test]
fn age_rejects_our_payload_under_another_key() {
    let ours = crypt::encrypt_vec(b"weights", &FileKey([0x11; 16]), [0x22; 16]);
    let mut file = age_header(&FileKey([0x12; 16]));
    file.extend_from_slice(&ours[8..]);
    assert!(age_decrypt(&file).is_err());
}
