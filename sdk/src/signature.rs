//! Webhook signatures: HMAC-SHA256 in hex, the scheme most applications use
//! (GitHub's `X-Hub-Signature-256`, Slack's `X-Slack-Signature`, Stripe…).
//!
//! The signed message is given as `parts` that are concatenated, so a scheme
//! that signs `v0:<timestamp>:<body>` needs no copy of the body. These are
//! plain functions: they run anywhere, tests on the host included.
//!
//! # Examples
//!
//! ```
//! use weft_sdk::signature;
//!
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
///
/// Use it to sign what a connector sends; to check what it receives, use
/// [`verify_hmac_sha256_hex`], which compares in constant time.
///
/// # Examples
///
/// ```
/// use weft_sdk::signature::hmac_sha256_hex;
///
/// assert_eq!(
///     hmac_sha256_hex(b"key", &[b"The quick brown fox jumps over the lazy dog"]),
///     "f7bc83f430538424b13298e6aa6fb143ef4d59a14946175997479dbc2d1a3cd8",
/// );
/// // Parts are concatenated.
/// assert_eq!(
///     hmac_sha256_hex(b"key", &[b"The quick brown fox ", b"jumps over the lazy dog"]),
///     hmac_sha256_hex(b"key", &[b"The quick brown fox jumps over the lazy dog"]),
/// );
/// ```
pub fn hmac_sha256_hex(secret: &[u8], parts: &[&[u8]]) -> String {
    mac(secret, parts).finalize().into_bytes().iter().map(|b| format!("{b:02x}")).collect()
}

/// Whether `given_hex` (either case) is the HMAC-SHA256 of the concatenated
/// `parts` under `secret`. The comparison takes the same time wherever the
/// first difference is, so it leaks nothing to a forger.
///
/// Anything but 64 hex digits is `false`.
///
/// # Examples
///
/// Checking a GitHub delivery's `X-Hub-Signature-256: sha256=<hex>` header:
///
/// ```
/// use weft_sdk::signature::verify_hmac_sha256_hex;
///
/// let secret = b"It's a Secret to Everybody";
/// let body = b"Hello, World!";
/// let header = "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17";
///
/// let given = header.strip_prefix("sha256=").unwrap();
/// assert!(verify_hmac_sha256_hex(secret, &[body], given));
/// assert!(verify_hmac_sha256_hex(secret, &[body], &given.to_uppercase()));
/// assert!(!verify_hmac_sha256_hex(secret, &[b"Hello, World?"], given));
/// assert!(!verify_hmac_sha256_hex(secret, &[body], "not hex"));
/// ```
///
/// Slack signs `v0:<timestamp>:<body>` and sends `X-Slack-Signature: v0=<hex>`:
///
/// ```
/// use weft_sdk::signature::{hmac_sha256_hex, verify_hmac_sha256_hex};
///
/// let (secret, timestamp, body) = (b"8f742231b10e8888abcd99yyyzzz85a5", "1531420618", br#"{"type":"event_callback"}"#);
/// let header = format!("v0={}", hmac_sha256_hex(secret, &[b"v0:", timestamp.as_bytes(), b":", body]));
///
/// let given = header.strip_prefix("v0=").unwrap();
/// assert!(verify_hmac_sha256_hex(secret, &[b"v0:", timestamp.as_bytes(), b":", body], given));
/// ```
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
