//! Signature helpers shared by adapters. Every comparison is constant-time.

use hmac::{Hmac, Mac};
use sha2::Sha256;
use subtle::ConstantTimeEq;

type HmacSha256 = Hmac<Sha256>;

/// HMAC-SHA256 of `body` under `key`.
pub fn hmac_sha256(key: &[u8], body: &[u8]) -> [u8; 32] {
    // HMAC accepts keys of any length; `new_from_slice` cannot fail for it.
    let mut mac = HmacSha256::new_from_slice(key).expect("HMAC takes keys of any size");
    mac.update(body);
    mac.finalize().into_bytes().into()
}

/// HMAC-SHA1 of `body` under `key`.
pub fn hmac_sha1(key: &[u8], body: &[u8]) -> [u8; 20] {
    let mut mac = Hmac::<sha1::Sha1>::new_from_slice(key).expect("HMAC takes keys of any size");
    mac.update(body);
    mac.finalize().into_bytes().into()
}

/// Constant-time equality of two byte strings (length is not secret).
pub fn equal(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && bool::from(a.ct_eq(b))
}

/// Compare a hex digest sent by a platform with the expected bytes, in constant time.
pub fn hex_matches(sent_hex: &str, expected: &[u8]) -> bool {
    match hex::decode(sent_hex.trim()) {
        Ok(sent) => equal(&sent, expected),
        Err(_) => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc4231_test_case_2() {
        // RFC 4231, test case 2.
        let mac = hmac_sha256(b"Jefe", b"what do ya want for nothing?");
        assert_eq!(
            hex::encode(mac),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }

    #[test]
    fn rfc2202_sha1_test_case_2() {
        let mac = hmac_sha1(b"Jefe", b"what do ya want for nothing?");
        assert_eq!(hex::encode(mac), "effcdf6ae5eb2fa2d27416d5f184df9c259a7c79");
    }

    #[test]
    fn hex_compare() {
        let mac = hmac_sha256(b"k", b"body");
        assert!(hex_matches(&hex::encode(mac), &mac));
        assert!(hex_matches(&hex::encode(mac).to_uppercase(), &mac));
        assert!(!hex_matches("zz", &mac));
        assert!(!hex_matches(&hex::encode(&mac[..31]), &mac));
    }
}
