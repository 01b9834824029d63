//! Trigger records, hook tokens and poll states (implements
//! [`TriggerStore`]); connections, their secrets sealed (implements
//! [`ConnectionStore`]).

use crate::{PgStore, corrupt, json};
use std::collections::BTreeMap;
use std::sync::Arc;
use tokio_postgres::types::Json;
use weft_core::connection::{Connection, ConnectionInfo, ConnectionStore, HostRules};
use weft_core::oauth::OAuthGrant;
use weft_core::run::{RunRecord, StoreFailure, StoreResult};
use weft_core::trigger::{PollState, TriggerRecord, TriggerStore};

impl TriggerStore for PgStore {
    fn trigger(&self, flow: &str) -> StoreResult<Option<TriggerRecord>> {
        let flow = flow.to_string();
        self.call(move |cx| async move {
            let c = cx.client().await?;
            let row = c.q().query_opt("SELECT record FROM triggers WHERE flow = $1", &[&flow]).await?;
            row.map(|r| r.try_get::<_, Json<TriggerRecord>>(0).map(|j| j.0).map_err(|e| corrupt("trigger record", e)))
                .transpose()
        })
    }

    fn triggers(&self) -> StoreResult<Vec<TriggerRecord>> {
        self.call(move |cx| async move {
            let c = cx.client().await?;
            let rows = c.q().query("SELECT record FROM triggers ORDER BY flow", &[]).await?;
            rows.iter()
                .map(|r| r.try_get::<_, Json<TriggerRecord>>(0).map(|j| j.0).map_err(|e| corrupt("trigger record", e)))
                .collect()
        })
    }

    fn put_trigger(&self, record: &TriggerRecord) -> StoreResult<()> {
        let (flow, token) = (record.flow.clone(), record.hook_token.clone());
        let encoded = json(self.stats(), record)?;
        self.call(move |cx| async move {
            let c = cx.client().await?;
            c.q()
                .write(
                    "INSERT INTO triggers (flow, hook_token, record) VALUES ($1, $2, $3) \
                     ON CONFLICT (flow) DO UPDATE SET hook_token = EXCLUDED.hook_token, record = EXCLUDED.record",
                    &[&flow, &token, &encoded],
                )
                .await?;
            Ok(())
        })
    }

    fn delete_trigger(&self, flow: &str) -> StoreResult<()> {
        let flow = flow.to_string();
        self.call(move |cx| async move {
            let mut c = cx.client().await?;
            let tx = c.begin().await?;
            tx.q().execute("DELETE FROM triggers WHERE flow = $1", &[&flow]).await?;
            tx.q().execute("DELETE FROM poll_states WHERE flow = $1", &[&flow]).await?;
            tx.commit().await
        })
    }

    fn hook(&self, token: &str) -> StoreResult<Option<String>> {
        let token = token.to_string();
        self.call(move |cx| async move {
            let c = cx.client().await?;
            Ok(c.q().query_opt("SELECT flow FROM triggers WHERE hook_token = $1", &[&token]).await?.map(|r| r.get(0)))
        })
    }

    fn poll_state(&self, flow: &str) -> StoreResult<Option<PollState>> {
        let flow = flow.to_string();
        self.call(move |cx| async move {
            let c = cx.client().await?;
            let row = c.q().query_opt("SELECT state FROM poll_states WHERE flow = $1", &[&flow]).await?;
            row.map(|r| r.try_get::<_, Json<PollState>>(0).map(|j| j.0).map_err(|e| corrupt("poll state", e)))
                .transpose()
        })
    }

    fn delete_poll_state(&self, flow: &str) -> StoreResult<()> {
        let flow = flow.to_string();
        self.call(move |cx| async move {
            let c = cx.client().await?;
            c.q().write("DELETE FROM poll_states WHERE flow = $1", &[&flow]).await?;
            Ok(())
        })
    }

    fn record_events(&self, flow: &str, state: Option<&PollState>, runs: &[RunRecord]) -> StoreResult<()> {
        self.create_runs(flow, true, runs, state)
    }

    fn claim_tick(&self, flow: &str) -> StoreResult<bool> {
        let (flow, node, lease_ms) = (flow.to_string(), self.node().to_string(), self.lease_ms());
        let key = flow.clone();
        let token = self.call(move |cx| async move {
            let c = cx.client().await?;
            let row = c
                .q()
                .query_opt(
                    "INSERT INTO trigger_ticks (flow, node, lease, lease_until) \
                     VALUES ($1, $2, nextval('lease_seq'), weft_now_ms() + $3) \
                     ON CONFLICT (flow) DO UPDATE SET node = EXCLUDED.node, lease = EXCLUDED.lease, \
                     lease_until = EXCLUDED.lease_until WHERE trigger_ticks.lease_until < weft_now_ms() \
                     RETURNING lease",
                    &[&flow, &node, &lease_ms],
                )
                .await?;
            Ok(row.map(|r| r.get::<_, i64>(0)))
        })?;
        Ok(crate::hold(self.ticks(), key, token))
    }

    fn release_tick(&self, flow: &str) -> StoreResult<()> {
        let Some(token) = self.ticks().lock().unwrap_or_else(|p| p.into_inner()).remove(flow) else { return Ok(()) };
        let flow = flow.to_string();
        self.call(move |cx| async move {
            let c = cx.client().await?;
            c.q().execute("DELETE FROM trigger_ticks WHERE flow = $1 AND lease = $2", &[&flow, &token]).await?;
            Ok(())
        })
    }
}

/// A connection's record as its row keeps it, beside the sealed secrets.
#[derive(serde::Serialize, serde::Deserialize)]
struct ConnectionRecord {
    #[serde(default)]
    settings: serde_json::Map<String, serde_json::Value>,
    #[serde(default)]
    hosts: HostRules,
    /// Secret names (values are sealed).
    #[serde(default)]
    secret_names: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    rate_limit: Option<weft_core::model::RateLimitDef>,
}

fn info(id: String, plugin: String, record: ConnectionRecord) -> ConnectionInfo {
    ConnectionInfo {
        id,
        plugin,
        settings: record.settings,
        hosts: record.hosts,
        secret_names: record.secret_names,
        rate_limit: record.rate_limit,
    }
}

impl ConnectionStore for PgStore {
    fn put_connection(&self, id: &str, plugin: &str, connection: &Connection) -> StoreResult<ConnectionInfo> {
        let secrets = serde_json::to_vec(&connection.secrets).map_err(|e| StoreFailure(e.to_string()))?;
        let sealed = self.sealer().seal(&secrets).map_err(StoreFailure)?;
        let record = ConnectionRecord {
            settings: connection.settings.clone(),
            hosts: connection.hosts.clone(),
            secret_names: connection.secrets.keys().cloned().collect(),
            rate_limit: connection.rate_limit,
        };
        let encoded = json(self.stats(), &record)?;
        let (id, plugin) = (id.to_string(), plugin.to_string());
        let (id2, plugin2) = (id.clone(), plugin.clone());
        self.call(move |cx| async move {
            let c = cx.client().await?;
            c.q()
                .write(
                    "INSERT INTO connections (id, plugin, record, sealed) VALUES ($1, $2, $3, $4) \
                     ON CONFLICT (id) DO UPDATE SET plugin = EXCLUDED.plugin, record = EXCLUDED.record, \
                     sealed = EXCLUDED.sealed",
                    &[&id2, &plugin2, &encoded, &sealed],
                )
                .await?;
            Ok(())
        })?;
        Ok(info(id, plugin, record))
    }

    fn connection(&self, id: &str) -> StoreResult<Option<(String, Arc<Connection>)>> {
        let id = id.to_string();
        let row = self.call(move |cx| async move {
            let c = cx.client().await?;
            let row =
                c.q().query_opt("SELECT id, plugin, record, sealed FROM connections WHERE id = $1", &[&id]).await?;
            row.map(|r| {
                let record: Json<ConnectionRecord> = r.try_get(2).map_err(|e| corrupt("connection", e))?;
                Ok::<_, StoreFailure>((r.get::<_, String>(0), r.get::<_, String>(1), record.0, r.get::<_, Vec<u8>>(3)))
            })
            .transpose()
        })?;
        let Some((id, plugin, record, sealed)) = row else { return Ok(None) };
        let secrets: BTreeMap<String, String> =
            serde_json::from_slice(&self.sealer().open(&sealed).map_err(StoreFailure)?)
                .map_err(|e| corrupt("connection's secrets", e))?;
        let connection =
            Connection { id, settings: record.settings, secrets, hosts: record.hosts, rate_limit: record.rate_limit };
        Ok(Some((plugin, Arc::new(connection))))
    }

    fn connections(&self) -> StoreResult<Vec<ConnectionInfo>> {
        self.call(move |cx| async move {
            let c = cx.client().await?;
            let rows = c.q().query("SELECT id, plugin, record FROM connections ORDER BY id", &[]).await?;
            rows.iter()
                .map(|r| {
                    let record: Json<ConnectionRecord> = r.try_get(2).map_err(|e| corrupt("connection", e))?;
                    Ok(info(r.get(0), r.get(1), record.0))
                })
                .collect()
        })
    }

    fn oauth_grant(&self, id: &str) -> StoreResult<Option<(OAuthGrant, u64)>> {
        let id = id.to_string();
        let row = self.call(move |cx| async move {
            let c = cx.client().await?;
            let row = c.q().query_opt("SELECT version, sealed FROM oauth_grants WHERE id = $1", &[&id]).await?;
            Ok(row.map(|r| (r.get::<_, i64>(0), r.get::<_, Vec<u8>>(1))))
        })?;
        let Some((version, sealed)) = row else { return Ok(None) };
        let plain = self.sealer().open(&sealed).map_err(|e| corrupt("an OAuth grant", e))?;
        let grant = serde_json::from_slice(&plain).map_err(|e| corrupt("an OAuth grant", e))?;
        Ok(Some((grant, version as u64)))
    }

    fn swap_oauth_grant(&self, id: &str, expected: u64, grant: Option<&OAuthGrant>) -> StoreResult<Option<u64>> {
        let sealed = grant
            .map(|g| serde_json::to_vec(g).map_err(|e| StoreFailure(e.to_string())))
            .transpose()?
            .map(|plain| self.sealer().seal(&plain).map_err(StoreFailure))
            .transpose()?;
        let (id, expected) = (id.to_string(), expected as i64);
        self.call(move |cx| async move {
            let c = cx.client().await?;
            let changed = match (&sealed, expected) {
                (None, _) => {
                    c.q().write("DELETE FROM oauth_grants WHERE id = $1 AND version = $2", &[&id, &expected]).await?
                }
                (Some(sealed), 0) => c
                    .q()
                    .write(
                        "INSERT INTO oauth_grants (id, version, sealed) VALUES ($1, 1, $2) ON CONFLICT (id) DO NOTHING",
                        &[&id, sealed],
                    )
                    .await?,
                (Some(sealed), _) => {
                    c.q()
                        .write(
                            "UPDATE oauth_grants SET version = version + 1, sealed = $3 WHERE id = $1 AND version = $2",
                            &[&id, &expected, sealed],
                        )
                        .await?
                }
            };
            Ok((changed > 0).then(|| if sealed.is_some() { expected as u64 + 1 } else { 0 }))
        })
    }

    fn delete_connection(&self, id: &str) -> StoreResult<bool> {
        let id = id.to_string();
        self.call(move |cx| async move {
            let c = cx.client().await?;
            Ok(c.q().write("DELETE FROM connections WHERE id = $1", &[&id]).await? > 0)
        })
    }
}
