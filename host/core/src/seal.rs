//! Sealing secrets at rest: XChaCha20-Poly1305 under a 32-byte key that is
//! kept apart from what it seals (a file beside the embedded store, or a key
//! every node of a cluster is given and the database never sees).

use chacha20poly1305::aead::{Aead, AeadCore, KeyInit, OsRng};
use chacha20poly1305::{Key, XChaCha20Poly1305, XNonce};
use std::path::Path;
use std::sync::Arc;

/// Seals and opens secrets under one key.
#[derive(Clone)]
pub struct Sealer {
    cipher: Arc<XChaCha20Poly1305>,
}

impl std::fmt::Debug for Sealer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Sealer(…)")
    }
}

impl Sealer {
    /// A sealer under `key`: 32 bytes.
    pub fn from_key(key: &[u8]) -> Result<Self, String> {
        if key.len() != 32 {
            return Err(format!("a key is 32 bytes, not {}", key.len()));
        }
        Ok(Self { cipher: Arc::new(XChaCha20Poly1305::new(Key::from_slice(key))) })
    }

    /// A sealer under a key written as 64 hex digits (as `WEFT_KEY` holds it).
    pub fn from_hex(hex: &str) -> Result<Self, String> {
        let hex = hex.trim();
        if hex.len() != 64 || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err("a key is 64 hex digits (32 bytes)".into());
        }
        let bytes: Vec<u8> =
            (0..32).map(|i| u8::from_str_radix(&hex[2 * i..2 * i + 2], 16).expect("checked hex")).collect();
        Self::from_key(&bytes)
    }

    /// [`Sealer::seal`], written as hex digits (for JSON documents).
    pub fn seal_hex(&self, plain: &[u8]) -> Result<String, String> {
        Ok(self.seal(plain)?.iter().map(|b| format!("{b:02x}")).collect())
    }

    /// [`Sealer::open`] of what [`Sealer::seal_hex`] wrote.
    pub fn open_hex(&self, sealed: &str) -> Result<Vec<u8>, String> {
        let sealed = sealed.trim();
        if !sealed.len().is_multiple_of(2) || !sealed.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err("sealed values are hex digits".into());
        }
        let bytes: Vec<u8> = (0..sealed.len() / 2)
            .map(|i| u8::from_str_radix(&sealed[2 * i..2 * i + 2], 16).expect("checked hex"))
            .collect();
        self.open(&bytes)
    }

    /// A new random key, as 64 hex digits.
    pub fn new_key_hex() -> String {
        XChaCha20Poly1305::generate_key(&mut OsRng).iter().map(|b| format!("{b:02x}")).collect()
    }

    /// The sealer under the key in the file at `path` (32 raw bytes, or 64
    /// hex digits); a missing file is made with a new key (mode 0600).
    pub fn load_or_create(path: &Path) -> Result<Self, String> {
        match std::fs::read(path) {
            Ok(bytes) if bytes.len() == 32 => Self::from_key(&bytes),
            Ok(bytes) => match std::str::from_utf8(&bytes).ok().map(Self::from_hex) {
                Some(Ok(sealer)) => Ok(sealer),
                _ => Err(format!("{} holds no key: 32 bytes, or 64 hex digits", path.display())),
            },
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                let key = XChaCha20Poly1305::generate_key(&mut OsRng).to_vec();
                write_private(path, &key).map_err(|e| format!("cannot write the key file {}: {e}", path.display()))?;
                Self::from_key(&key)
            }
            Err(e) => Err(format!("cannot read the key file {}: {e}", path.display())),
        }
    }

    /// A sealer under a new key that is kept nowhere (for a store that lives in memory).
    pub fn ephemeral() -> Self {
        Self { cipher: Arc::new(XChaCha20Poly1305::new(&XChaCha20Poly1305::generate_key(&mut OsRng))) }
    }

    /// `plain` sealed: a random nonce, then the ciphertext and its tag.
    pub fn seal(&self, plain: &[u8]) -> Result<Vec<u8>, String> {
        let nonce = XChaCha20Poly1305::generate_nonce(&mut OsRng);
        let mut out = nonce.to_vec();
        out.extend(self.cipher.encrypt(&nonce, plain).map_err(|_| "cannot seal a secret".to_string())?);
        Ok(out)
    }

    /// What [`Sealer::seal`] sealed, if this is the key it was sealed with.
    pub fn open(&self, sealed: &[u8]) -> Result<Vec<u8>, String> {
        if sealed.len() < 24 {
            return Err("a sealed secret is truncated".into());
        }
        let (nonce, body) = sealed.split_at(24);
        self.cipher
            .decrypt(XNonce::from_slice(nonce), body)
            .map_err(|_| "cannot open a sealed secret: it was sealed with another key".into())
    }
}

#[cfg(unix)]
fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let mut file = std::fs::OpenOptions::new().write(true).create_new(true).mode(0o600).open(path)?;
    file.write_all(bytes)?;
    file.sync_all()
}

#[cfg(not(unix))]
fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    std::fs::write(path, bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sealed_secrets_open_only_with_their_key() {
        let hex = Sealer::new_key_hex();
        let sealer = Sealer::from_hex(&hex).unwrap();
        let sealed = sealer.seal(b"token").unwrap();
        assert_ne!(sealed[24..], b"token"[..]);
        assert_eq!(Sealer::from_hex(&hex).unwrap().open(&sealed).unwrap(), b"token");
        assert!(Sealer::ephemeral().open(&sealed).unwrap_err().contains("another key"));
        assert!(Sealer::from_hex("abc").unwrap_err().contains("64 hex digits"));
        assert!(sealer.open(&sealed[..10]).unwrap_err().contains("truncated"));
    }

    #[test]
    fn a_key_file_is_made_once_and_read_as_bytes_or_hex() {
        let dir = std::env::temp_dir().join(format!("weft-seal-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("weft.key");
        let _ = std::fs::remove_file(&path);
        let sealed = Sealer::load_or_create(&path).unwrap().seal(b"x").unwrap();
        assert_eq!(Sealer::load_or_create(&path).unwrap().open(&sealed).unwrap(), b"x");
        let hex = Sealer::new_key_hex();
        std::fs::write(dir.join("hex.key"), format!("{hex}\n")).unwrap();
        let from_file = Sealer::load_or_create(&dir.join("hex.key")).unwrap();
        assert_eq!(Sealer::from_hex(&hex).unwrap().open(&from_file.seal(b"y").unwrap()).unwrap(), b"y");
        std::fs::write(dir.join("bad.key"), "nope").unwrap();
        assert!(Sealer::load_or_create(&dir.join("bad.key")).unwrap_err().contains("holds no key"));
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
