//! AES-256-CBC and PKCS#7 helpers shared by the Feishu and WeCom adapters.
//!
//! Both platforms use AES-256-CBC but pad differently (Feishu to 16-byte
//! blocks, WeCom to 32-byte blocks), so the cipher runs without padding here
//! and padding is a separate, explicit step. Nothing in this file panics on
//! untrusted input: every failure is `None`.

use aes::cipher::block_padding::NoPadding;
use aes::cipher::{BlockDecryptMut, BlockEncryptMut, KeyIvInit};
use base64::engine::general_purpose::STANDARD;
use base64::Engine;

type Encryptor = cbc::Encryptor<aes::Aes256>;
type Decryptor = cbc::Decryptor<aes::Aes256>;

/// AES block size: ciphertext lengths must be a multiple of it.
const AES_BLOCK: usize = 16;

/// AES-256-CBC encryption of already padded data (`data.len()` a multiple of 16).
pub fn aes256_cbc_encrypt(key: &[u8; 32], iv: &[u8; 16], data: &[u8]) -> Option<Vec<u8>> {
    if !data.len().is_multiple_of(AES_BLOCK) {
        return None;
    }
    Some(Encryptor::new(key.into(), iv.into()).encrypt_padded_vec_mut::<NoPadding>(data))
}

/// AES-256-CBC decryption without removing padding.
pub fn aes256_cbc_decrypt(key: &[u8; 32], iv: &[u8; 16], data: &[u8]) -> Option<Vec<u8>> {
    if data.is_empty() || !data.len().is_multiple_of(AES_BLOCK) {
        return None;
    }
    Decryptor::new(key.into(), iv.into())
        .decrypt_padded_vec_mut::<NoPadding>(data)
        .ok()
}

/// PKCS#7 padding to a multiple of `block` (1..=255) bytes; always adds at least one byte.
pub fn pkcs7_pad(data: &[u8], block: usize) -> Vec<u8> {
    let block = block.clamp(1, 255);
    let n = block - data.len() % block;
    let mut out = Vec::with_capacity(data.len() + n);
    out.extend_from_slice(data);
    // `n` is in 1..=block <= 255, so the cast cannot truncate.
    out.resize(data.len() + n, n as u8);
    out
}

/// Remove PKCS#7 padding of at most `block` bytes, checking every padding byte.
pub fn pkcs7_unpad(data: &[u8], block: usize) -> Option<&[u8]> {
    let n = usize::from(*data.last()?);
    if n == 0 || n > block || n > data.len() {
        return None;
    }
    let (body, pad) = data.split_at(data.len() - n);
    pad.iter().all(|&b| usize::from(b) == n).then_some(body)
}

/// Standard Base64 decoding that tolerates surrounding whitespace.
pub fn b64_decode(s: &str) -> Option<Vec<u8>> {
    STANDARD.decode(s.trim()).ok()
}

pub fn b64_encode(data: &[u8]) -> String {
    STANDARD.encode(data)
}

/// WeCom's AES key: Base64-decode(EncodingAESKey + "="), which must give 32 bytes.
///
/// The 43 characters encode 256 bits plus 2 spare bits that encoders set to
/// zero; decoding is lenient about those bits because WeCom's own libraries are.
pub fn wecom_aes_key(encoding_aes_key: &str) -> Option<[u8; 32]> {
    use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};
    const LENIENT: GeneralPurpose = GeneralPurpose::new(
        &base64::alphabet::STANDARD,
        GeneralPurposeConfig::new()
            .with_decode_allow_trailing_bits(true)
            .with_decode_padding_mode(DecodePaddingMode::Indifferent),
    );
    let k = encoding_aes_key.trim();
    if k.len() != 43 {
        return None;
    }
    LENIENT.decode(format!("{k}=")).ok()?.try_into().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    // Expected values in these tests were computed independently with the
    // `openssl enc -aes-256-cbc` CLI and Python's hashlib, not with this code.

    #[test]
    fn aes_known_vector_with_fixed_key_and_iv() {
        // key = SHA-256("test key"), iv = 00 01 .. 0f, PKCS#7 to 16 bytes.
        let key: [u8; 32] = <sha2::Sha256 as sha2::Digest>::digest(b"test key").into();
        let iv: [u8; 16] = std::array::from_fn(|i| i as u8);
        let plain = br#"{"challenge":"ajls384kdjx98XX","token":"vt","type":"url_verification"}"#;
        let ct = aes256_cbc_encrypt(&key, &iv, &pkcs7_pad(plain, 16)).unwrap();
        let mut framed = iv.to_vec();
        framed.extend_from_slice(&ct);
        assert_eq!(
            b64_encode(&framed),
            "AAECAwQFBgcICQoLDA0ODw9mLTIAZS9jAmGTQ1wAhHpnBHVL2wRjH9rPunQdQC1vQiLqGCCXBSNtHRCSBYbL5+LTU7kS91mMpEBXQOCo8AehiQek9N+qfCfkbhXkM223"
        );
        let back = aes256_cbc_decrypt(&key, &iv, &ct).unwrap();
        assert_eq!(pkcs7_unpad(&back, 16).unwrap(), plain);
    }

    #[test]
    fn aes_refuses_partial_blocks() {
        let key = [7u8; 32];
        let iv = [1u8; 16];
        assert!(aes256_cbc_encrypt(&key, &iv, b"short").is_none());
        assert!(aes256_cbc_decrypt(&key, &iv, &[0u8; 15]).is_none());
        assert!(aes256_cbc_decrypt(&key, &iv, &[]).is_none());
    }

    #[test]
    fn pkcs7_round_trips_and_checks_every_byte() {
        for block in [16usize, 32] {
            for len in 0..70 {
                let data = vec![0xabu8; len];
                let padded = pkcs7_pad(&data, block);
                assert_eq!(padded.len() % block, 0);
                assert!(padded.len() > len);
                assert_eq!(pkcs7_unpad(&padded, block).unwrap(), &data[..]);
            }
        }
        assert_eq!(pkcs7_pad(&[], 32), vec![32u8; 32]);
        assert!(pkcs7_unpad(&[], 16).is_none());
        assert!(pkcs7_unpad(&[1, 2, 0], 16).is_none(), "zero pad byte");
        assert!(
            pkcs7_unpad(&[5, 5, 4, 5, 5], 16).is_none(),
            "one byte differs"
        );
        assert!(pkcs7_unpad(&[17; 17], 16).is_none(), "longer than a block");
        assert!(pkcs7_unpad(&[3, 3], 16).is_none(), "longer than the data");
    }

    #[test]
    fn wecom_key_from_the_published_sample() {
        // EncodingAESKey of WeCom's published WXBizMsgCrypt sample.
        let key = wecom_aes_key("jWmYm7qr5nMoAUwZRjGtBxmz3KA1tkAj3ykkR6q2B2C").unwrap();
        assert_eq!(
            hex::encode(key),
            "8d69989bbaabe67328014c194631ad0719b3dca035b64023df292447aab60760"
        );
        assert!(wecom_aes_key("too-short").is_none());
        assert!(wecom_aes_key(&"*".repeat(43)).is_none());
    }
}
