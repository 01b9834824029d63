//! The web UI's sign-in sessions (implements [`SessionStore`]): one row per
//! session, so every node knows every signed-in browser.

use crate::{PgStore, ms};
use weft_core::SessionStore;
use weft_core::run::StoreResult;

/// A session's last use is written again at most this often (reads are many).
const TOUCH_MS: u64 = 60_000;

impl SessionStore for PgStore {
    fn open_session(&self, id_hash: [u8; 32], csrf: &str, now_ms: u64, idle_ms: u64) -> StoreResult<()> {
        let (id, csrf) = (id_hash.to_vec(), csrf.to_string());
        self.call(move |cx| async move {
            let mut c = cx.client().await?;
            let tx = c.begin().await?;
            tx.q()
                .execute("DELETE FROM sessions WHERE last_used_ms < $1", &[&ms(now_ms.saturating_sub(idle_ms))])
                .await?;
            tx.q()
                .execute(
                    "INSERT INTO sessions (id_hash, csrf, last_used_ms) VALUES ($1, $2, $3)",
                    &[&id, &csrf, &ms(now_ms)],
                )
                .await?;
            tx.commit().await
        })
    }

    fn session(&self, id_hash: [u8; 32], now_ms: u64, idle_ms: u64) -> StoreResult<Option<String>> {
        let id = id_hash.to_vec();
        self.call(move |cx| async move {
            let c = cx.client().await?;
            let Some(row) =
                c.q().query_opt("SELECT csrf, last_used_ms FROM sessions WHERE id_hash = $1", &[&id]).await?
            else {
                return Ok(None);
            };
            let last_used = row.get::<_, i64>(1).max(0) as u64;
            if now_ms.saturating_sub(last_used) >= idle_ms {
                c.q().write("DELETE FROM sessions WHERE id_hash = $1", &[&id]).await?;
                return Ok(None);
            }
            if now_ms.saturating_sub(last_used) >= TOUCH_MS {
                c.q().write("UPDATE sessions SET last_used_ms = $2 WHERE id_hash = $1", &[&id, &ms(now_ms)]).await?;
            }
            Ok(Some(row.get(0)))
        })
    }

    fn close_session(&self, id_hash: [u8; 32]) -> StoreResult<()> {
        let id = id_hash.to_vec();
        self.call(move |cx| async move {
            let c = cx.client().await?;
            c.q().write("DELETE FROM sessions WHERE id_hash = $1", &[&id]).await?;
            Ok(())
        })
    }
}
