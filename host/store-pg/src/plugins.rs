//! Plugins installed through any node (implements [`PluginStore`]): every
//! version's bytes in `plugin_versions`, and the changes of what is
//! installed in `plugin_changes`, which every node follows.

use crate::{PgStore, wrote};
use weft_core::catalog::{PluginChange, PluginStore};
use weft_core::run::StoreResult;

impl PluginStore for PgStore {
    fn install_plugin(&self, name: &str, hash: &str, bytes: &[u8]) -> StoreResult<u64> {
        let (name, hash, bytes) = (name.to_string(), hash.to_string(), bytes.to_vec());
        wrote(self.stats(), bytes.len());
        self.call(move |cx| async move {
            let mut c = cx.client().await?;
            let tx = c.begin().await?;
            tx.q()
                .execute(
                    "INSERT INTO plugin_versions (hash, name, bytes, stored_ms) VALUES ($1, $2, $3, weft_now_ms()) \
                     ON CONFLICT (hash) DO NOTHING",
                    &[&hash, &name, &bytes],
                )
                .await?;
            let seq: i64 = tx
                .q()
                .query_one("INSERT INTO plugin_changes (name, hash) VALUES ($1, $2) RETURNING seq", &[&name, &hash])
                .await?
                .get(0);
            tx.commit().await?;
            Ok(seq as u64)
        })
    }

    fn remove_plugin(&self, name: &str) -> StoreResult<u64> {
        let name = name.to_string();
        self.call(move |cx| async move {
            let c = cx.client().await?;
            let seq: i64 = c
                .q()
                .query_one("INSERT INTO plugin_changes (name, hash) VALUES ($1, NULL) RETURNING seq", &[&name])
                .await?
                .get(0);
            Ok(seq as u64)
        })
    }

    fn plugin_changes(&self, after: u64) -> StoreResult<Vec<PluginChange>> {
        let after = after.min(i64::MAX as u64) as i64;
        self.call(move |cx| async move {
            let c = cx.client().await?;
            let rows = c
                .q()
                .query("SELECT seq, name, hash FROM plugin_changes WHERE seq > $1 ORDER BY seq", &[&after])
                .await?;
            Ok(rows
                .iter()
                .map(|r| PluginChange { seq: r.get::<_, i64>(0) as u64, name: r.get(1), hash: r.get(2) })
                .collect())
        })
    }

    fn plugin_bytes(&self, hash: &str) -> StoreResult<Option<Vec<u8>>> {
        let hash = hash.to_string();
        self.call(move |cx| async move {
            let c = cx.client().await?;
            Ok(c.q().query_opt("SELECT bytes FROM plugin_versions WHERE hash = $1", &[&hash]).await?.map(|r| r.get(0)))
        })
    }
}
