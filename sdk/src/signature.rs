//! Webhook signatures: HMAC-SHA256 in hex, the scheme most applications use
//! (GitHub's `X-Hub-Signature-256`, Slack's `X-Slack-Signature`, Stripe…).
//!
//! ```
//! use weft_sdk::signature;
//! let sig = signature::hmac_sha256_hex(b"secret", &[b"v0:", b"1700000000", b":", b"{}"]);
//! assert!(signature::verify_hmac_sha256_hex(b"secret", &[b"v0:1700000000:{}"], &sig));
//! assert!(!signature::verify_hmac_sha256_hex(b"other", &[b"v0:1700000000:{}"], &sig));
//! ```

use hmac::{Hmac, Mac};

type HmacSha256 = Hmac<sha2::Sha256>;

fn mac(secret: &[u8], parts: &[&[u8]]) -> HmacSha256 {
    // HMAC takes keys of any length; this cannot fail.
    let mut mac = HmacSha256::new_from_slice(secret).expect("HMAC accepts any key length");
    for part in parts {
        mac.update(part);
    }
    mac
}

/// HMAC-SHA256 of the concatenated `parts` under `secret`, as lower-case hex.
pub fn hmac_sha256_hex(secret: &[u8], parts: &[&[u8]]) -> String {
    mac(secret, parts).finalize().into_bytes().iter().map(|b| format!("{b:02x}")).collect()
}

/// Whether `given_hex` (either case) is the HMAC-SHA256 of the concatenated
/// `parts` under `secret`. The comparison takes the same time wherever the
/// first difference is, so it leaks nothing to a forger.
pub fn verify_hmac_sha256_hex(secret: &[u8], parts: &[&[u8]], given_hex: &str) -> bool {
    let given = given_hex.as_bytes();
    if given.len() != 64 {
        return false;
    }
    let mut bytes = [0u8; 32];
    for (i, pair) in given.chunks(2).enumerate() {
        let Some(byte) = std::str::from_utf8(pair).ok().and_then(|p| u8::from_str_radix(p, 16).ok()) else {
            return false;
        };
        bytes[i] = byte;
    }
    mac(secret, parts).verify_slice(&bytes).is_ok()
}
