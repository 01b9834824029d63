//! Connections, with their secrets sealed (XChaCha20-Poly1305) under a key
//! kept in the data directory (`weft.key`, mode 0600), so the sled files never
//! hold a secret in plain text.

use super::{Db, StoreError};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::sync::Arc;
use weft_core::connection::{Connection, ConnectionInfo, ConnectionStore, HostRules};
use weft_core::oauth::OAuthGrant;
use weft_core::run::StoreResult;

/// A connection as stored: which plugin it is for, and its sealed secrets.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct ConnectionRecord {
    id: String,
    /// The connector this connection is an account of.
    plugin: String,
    #[serde(default)]
    settings: serde_json::Map<String, serde_json::Value>,
    #[serde(default)]
    hosts: HostRules,
    /// Secret names (values are sealed).
    #[serde(default)]
    secret_names: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    rate_limit: Option<weft_core::model::RateLimitDef>,
    #[serde(default)]
    sealed: Vec<u8>,
}

impl ConnectionRecord {
    fn info(self) -> ConnectionInfo {
        ConnectionInfo {
            id: self.id,
            plugin: self.plugin,
            settings: self.settings,
            hosts: self.hosts,
            secret_names: self.secret_names,
            rate_limit: self.rate_limit,
        }
    }
}

fn decode(bytes: &[u8]) -> Result<ConnectionRecord, StoreError> {
    serde_json::from_slice(bytes).map_err(|e| StoreError(e.to_string()))
}

// An action or a webhook needs its connection on every call, and opening it
// (a read, JSON, a decryption) cost ~2% of a webhook run's CPU: opened
// connections are kept in `Db::opened`.
impl ConnectionStore for Db {
    fn put_connection(&self, id: &str, plugin: &str, connection: &Connection) -> StoreResult<ConnectionInfo> {
        let secrets = serde_json::to_vec(&connection.secrets).map_err(|e| StoreError(e.to_string()))?;
        let record = ConnectionRecord {
            id: id.to_string(),
            plugin: plugin.to_string(),
            settings: connection.settings.clone(),
            hosts: connection.hosts.clone(),
            secret_names: connection.secrets.keys().cloned().collect(),
            rate_limit: connection.rate_limit,
            sealed: self.sealer.seal(&secrets).map_err(StoreError)?,
        };
        let bytes = serde_json::to_vec(&record).map_err(|e| StoreError(e.to_string()))?;
        let written = self.write(|w| w.insert(&self.connections, id, bytes));
        self.opened.forget(id);
        written?;
        Ok(record.info())
    }

    fn connection(&self, id: &str) -> StoreResult<Option<(String, Arc<Connection>)>> {
        let opened = self.opened.get_or_load(id, || {
            let Some(bytes) = self.connections.get(id)? else { return Ok(None) };
            let record = decode(&bytes)?;
            let secrets: BTreeMap<String, String> =
                if record.sealed.is_empty() {
                    BTreeMap::new()
                } else {
                    serde_json::from_slice(&self.sealer.open(&record.sealed).map_err(|e| {
                        StoreError(format!("{e} (is weft.key the one this data directory was made with?)"))
                    })?)
                    .map_err(|e| StoreError(e.to_string()))?
                };
            let connection = Connection {
                id: record.id,
                settings: record.settings,
                secrets,
                hosts: record.hosts,
                rate_limit: record.rate_limit,
            };
            Ok::<_, StoreError>(Some((record.plugin, Arc::new(connection))))
        })?;
        Ok(opened)
    }

    fn delete_connection(&self, id: &str) -> StoreResult<bool> {
        let removed = self.write(|w| {
            w.remove(&self.oauth, id)?;
            w.remove(&self.connections, id)
        });
        self.opened.forget(id);
        Ok(removed?.is_some())
    }

    fn oauth_grant(&self, id: &str) -> StoreResult<Option<(OAuthGrant, u64)>> {
        self.oauth
            .get(id)
            .map_err(StoreError::from)?
            .map(|bytes| self.open_grant(&bytes))
            .transpose()
            .map_err(Into::into)
    }

    fn swap_oauth_grant(&self, id: &str, expected: u64, grant: Option<&OAuthGrant>) -> StoreResult<Option<u64>> {
        let sealed = grant
            .map(|g| serde_json::to_vec(g).map_err(|e| StoreError(e.to_string())))
            .transpose()?
            .map(|plain| self.sealer.seal(&plain).map_err(StoreError))
            .transpose()?;
        let swapped = self.write(|w| {
            let current = self.oauth.get(id)?.map_or(0, |b| grant_version(&b));
            if current != expected {
                return Ok::<_, StoreError>(None);
            }
            match &sealed {
                Some(sealed) => {
                    let mut bytes = (current + 1).to_be_bytes().to_vec();
                    bytes.extend_from_slice(sealed);
                    w.insert(&self.oauth, id, bytes)?;
                    Ok(Some(current + 1))
                }
                None => {
                    w.remove(&self.oauth, id)?;
                    Ok(Some(0))
                }
            }
        })?;
        Ok(swapped)
    }

    fn connections(&self) -> StoreResult<Vec<ConnectionInfo>> {
        let mut out = Vec::new();
        for value in self.connections.iter().values() {
            out.push(decode(&value.map_err(StoreError::from)?)?.info());
        }
        Ok(out)
    }
}

fn grant_version(bytes: &[u8]) -> u64 {
    bytes.get(..8).map_or(0, |v| u64::from_be_bytes(v.try_into().expect("8 bytes")))
}

impl Db {
    fn open_grant(&self, bytes: &[u8]) -> Result<(OAuthGrant, u64), StoreError> {
        let plain = self.sealer.open(bytes.get(8..).unwrap_or_default()).map_err(|e| {
            StoreError(format!("an OAuth grant: {e} (is weft.key the one this data directory was made with?)"))
        })?;
        let grant = serde_json::from_slice(&plain).map_err(|e| StoreError(format!("an OAuth grant: {e}")))?;
        Ok((grant, grant_version(bytes)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    use std::path::Path;

    fn files_under(dir: &Path) -> Vec<std::path::PathBuf> {
        let mut out = Vec::new();
        for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
            let path = entry.path();
            if path.is_dir() { out.extend(files_under(&path)) } else { out.push(path) }
        }
        out
    }

    #[test]
    fn secrets_are_sealed_on_disk_and_open_with_the_key() {
        let dir = tempfile::tempdir().unwrap();
        let mut connection = Connection { id: "crm".into(), ..Default::default() };
        connection.secrets.insert("token".into(), "very-secret-token-value".into());
        {
            let db = Db::open(dir.path()).unwrap();
            db.put_connection("crm", "http", &connection).unwrap();
            db.flush().unwrap();
        }
        let db = Db::open(dir.path()).unwrap();
        let (plugin, opened) = db.connection("crm").unwrap().unwrap();
        assert_eq!(plugin, "http");
        assert_eq!(opened.secrets["token"], "very-secret-token-value");

        // Kept opened in memory, but never past a change.
        connection.secrets.insert("token".into(), "very-secret-rotated".into());
        db.put_connection("crm", "http", &connection).unwrap();
        assert_eq!(db.connection("crm").unwrap().unwrap().1.secrets["token"], "very-secret-rotated");
        assert!(db.delete_connection("crm").unwrap());
        assert!(db.connection("crm").unwrap().is_none());
        db.put_connection("crm", "http", &connection).unwrap();
        let grant = OAuthGrant {
            tokens: Some(weft_core::oauth::TokenSet {
                access_token: "very-secret-access-token".into(),
                refresh_token: Some("very-secret-refresh-token".into()),
                expires_ms: None,
                scope: None,
                obtained_ms: 1,
            }),
            ..Default::default()
        };
        db.swap_oauth_grant("crm", 0, Some(&grant)).unwrap().unwrap();
        drop(db);
        for entry in files_under(dir.path()) {
            let bytes = std::fs::read(&entry).unwrap();
            assert!(
                !bytes.windows(b"very-secret".len()).any(|w| w == b"very-secret"),
                "{} holds the secret in plain text",
                entry.display()
            );
        }
    }
}
