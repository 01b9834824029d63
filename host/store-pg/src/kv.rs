//! Plugins' key-value namespaces (implements [`KvStore`]): `kv` holds the
//! entries, `kv_usage` what each namespace holds as its quota counts it.
//! Every write of a namespace locks its usage row first, so writers on any
//! node take turns and the quota is kept exactly.

use crate::{PgStore, wrote};
use weft_core::kv::{KvQuota, KvSet, KvStore, entry_cost};
use weft_core::run::StoreResult;

impl KvStore for PgStore {
    fn kv_get(&self, namespace: &[u8], key: &str) -> StoreResult<Option<Vec<u8>>> {
        let (namespace, key) = (namespace.to_vec(), key.to_string());
        self.call(move |cx| async move {
            let c = cx.client().await?;
            let row =
                c.q().query_opt("SELECT value FROM kv WHERE namespace = $1 AND key = $2", &[&namespace, &key]).await?;
            Ok(row.map(|r| r.get(0)))
        })
    }

    fn kv_set(&self, namespace: &[u8], key: &str, value: &[u8], quota: KvQuota) -> StoreResult<KvSet> {
        let (namespace, key, value) = (namespace.to_vec(), key.to_string(), value.to_vec());
        wrote(self.stats(), value.len());
        self.call(move |cx| async move {
            let mut c = cx.client().await?;
            let tx = c.begin().await?;
            let (used_bytes, used_keys) = lock_usage(&tx, &namespace).await?;
            let old: Option<i32> = tx
                .q()
                .query_opt("SELECT length(value) FROM kv WHERE namespace = $1 AND key = $2", &[&namespace, &key])
                .await?
                .map(|r| r.get(0));
            let old_cost = old.map(|len| entry_cost(&key, len.max(0) as u64));
            let mut bytes = used_bytes - old_cost.unwrap_or(0).min(used_bytes);
            let mut keys = used_keys;
            bytes += entry_cost(&key, value.len() as u64);
            if old.is_none() {
                keys += 1;
                if keys > quota.max_keys {
                    return Ok(KvSet::TooManyKeys);
                }
            }
            if bytes > quota.bytes {
                return Ok(KvSet::OverQuota);
            }
            tx.q()
                .execute(
                    "INSERT INTO kv (namespace, key, value) VALUES ($1, $2, $3) \
                     ON CONFLICT (namespace, key) DO UPDATE SET value = EXCLUDED.value",
                    &[&namespace, &key, &value],
                )
                .await?;
            set_usage(&tx, &namespace, bytes, keys).await?;
            tx.commit().await?;
            Ok(KvSet::Stored)
        })
    }

    fn kv_delete(&self, namespace: &[u8], key: &str) -> StoreResult<()> {
        let (namespace, key) = (namespace.to_vec(), key.to_string());
        self.call(move |cx| async move {
            let mut c = cx.client().await?;
            let tx = c.begin().await?;
            let (bytes, keys) = lock_usage(&tx, &namespace).await?;
            let removed: Option<i32> = tx
                .q()
                .query_opt(
                    "DELETE FROM kv WHERE namespace = $1 AND key = $2 RETURNING length(value)",
                    &[&namespace, &key],
                )
                .await?
                .map(|r| r.get(0));
            if let Some(len) = removed {
                let cost = entry_cost(&key, len.max(0) as u64);
                set_usage(&tx, &namespace, bytes.saturating_sub(cost), keys.saturating_sub(1)).await?;
            }
            tx.commit().await
        })
    }

    fn kv_list(&self, namespace: &[u8], prefix: &str, limit: usize) -> StoreResult<Vec<String>> {
        let (namespace, prefix) = (namespace.to_vec(), prefix.to_string());
        let limit = limit.min(i64::MAX as usize) as i64;
        self.call(move |cx| async move {
            let c = cx.client().await?;
            let rows = c
                .q()
                .query(
                    "SELECT key FROM kv WHERE namespace = $1 AND key >= $2 AND starts_with(key, $2) \
                     ORDER BY key LIMIT $3",
                    &[&namespace, &prefix, &limit],
                )
                .await?;
            Ok(rows.iter().map(|r| r.get(0)).collect())
        })
    }
}

impl PgStore {
    /// What `namespace` holds, as its quota counts it: (bytes, keys).
    pub fn kv_usage(&self, namespace: &[u8]) -> StoreResult<(u64, u64)> {
        let namespace = namespace.to_vec();
        self.call(move |cx| async move {
            let c = cx.client().await?;
            let row = c.q().query_opt("SELECT bytes, keys FROM kv_usage WHERE namespace = $1", &[&namespace]).await?;
            Ok(row.map_or((0, 0), |r| (r.get::<_, i64>(0) as u64, r.get::<_, i64>(1) as u64)))
        })
    }
}

/// Lock the namespace's usage row (making it if it is new) and read it.
async fn lock_usage(tx: &crate::Tx<'_>, namespace: &Vec<u8>) -> StoreResult<(u64, u64)> {
    tx.q()
        .execute(
            "INSERT INTO kv_usage (namespace, bytes, keys) VALUES ($1, 0, 0) ON CONFLICT (namespace) DO NOTHING",
            &[namespace],
        )
        .await?;
    let row =
        tx.q().query_one("SELECT bytes, keys FROM kv_usage WHERE namespace = $1 FOR UPDATE", &[namespace]).await?;
    Ok((row.get::<_, i64>(0).max(0) as u64, row.get::<_, i64>(1).max(0) as u64))
}

async fn set_usage(tx: &crate::Tx<'_>, namespace: &Vec<u8>, bytes: u64, keys: u64) -> StoreResult<()> {
    tx.q()
        .execute(
            "UPDATE kv_usage SET bytes = $2, keys = $3 WHERE namespace = $1",
            &[namespace, &(bytes as i64), &(keys as i64)],
        )
        .await?;
    Ok(())
}
