//! The encodings of digests that the service, storage and the journals use, in one place:
//! lower-case hex and base64 (`Content-MD5`, block ids), both ways.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use md5::{Digest, Md5};

/// `bytes` as lower-case hex (a SHA-256 in a journal, a preprod package's hash).
pub(crate) fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut text = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        text.push(DIGITS[usize::from(b >> 4)] as char);
        text.push(DIGITS[usize::from(b & 0xf)] as char);
    }
    text
}

/// `bytes` as standard base64 with padding (a digest as `Content-MD5` writes it, a block id).
pub(crate) fn base64(bytes: &[u8]) -> String {
    STANDARD.encode(bytes)
}

/// The bytes of standard base64 `text`; `None` when it is not base64.
pub(crate) fn from_base64(text: impl AsRef<[u8]>) -> Option<Vec<u8>> {
    STANDARD.decode(text).ok()
}

/// The MD5 of `data` as `Content-MD5` writes it.
pub(crate) fn md5_base64(data: &[u8]) -> String {
    base64(&Md5::digest(data))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn digests_are_encoded_as_storage_and_journals_write_them() {
        assert_eq!(hex(&[0x00, 0x0f, 0xa5, 0xff]), "000fa5ff");
        assert_eq!(hex(&[]), "");
        // RFC 1321's MD5 of the empty string, as Azure's Content-MD5.
        assert_eq!(md5_base64(b""), "1B2M2Y8AsgTpgAmY7PhCfg==");
        assert_eq!(base64(b"ab"), "YWI=");
        assert_eq!(from_base64("YWI=").as_deref(), Some(&b"ab"[..]));
        assert_eq!(from_base64("not base64!"), None);
    }
}
