//! Trigger records, hook tokens and poll states in sled (implements
//! [`TriggerStore`]).
//!
//! - `triggers`: flow name → [`TriggerRecord`];
//! - `hooks`: webhook token → flow name (the index ingress looks tokens up in);
//! - `trigger_state`: flow name → [`PollState`], written in the same
//!   transaction as the runs a poll or a schedule fire creates.

use super::Db;
use weft_core::run::{RunRecord, StoreFailure, StoreResult};
use weft_core::trigger::{PollState, TriggerRecord, TriggerStore};

fn fail(e: impl std::fmt::Display) -> StoreFailure {
    StoreFailure(e.to_string())
}

fn decode<T: serde::de::DeserializeOwned>(bytes: &[u8]) -> StoreResult<T> {
    serde_json::from_slice(bytes).map_err(|e| StoreFailure(format!("a stored trigger record is corrupt: {e}")))
}

impl TriggerStore for Db {
    fn trigger(&self, flow: &str) -> StoreResult<Option<TriggerRecord>> {
        self.triggers.get(flow).map_err(fail)?.map(|v| decode(&v)).transpose()
    }

    fn triggers(&self) -> StoreResult<Vec<TriggerRecord>> {
        self.triggers.iter().values().map(|v| decode(&v.map_err(fail)?)).collect()
    }

    fn put_trigger(&self, record: &TriggerRecord) -> StoreResult<()> {
        let bytes = serde_json::to_vec(record).map_err(fail)?;
        let flow = record.flow.as_bytes();
        self.write(|w| {
            let old_token = self.trigger(&record.flow)?.and_then(|o| o.hook_token);
            // The new token's index entry before the record, the old one's removal after.
            if let Some(token) = &record.hook_token {
                w.insert(&self.hooks, token, flow)?;
            }
            w.insert(&self.triggers, flow, &bytes)?;
            if let Some(token) = old_token.filter(|t| record.hook_token.as_ref() != Some(t)) {
                w.remove(&self.hooks, token)?;
            }
            Ok(())
        })
    }

    fn delete_trigger(&self, flow: &str) -> StoreResult<()> {
        self.write(|w| {
            if let Some(old) = w.remove(&self.triggers, flow)?
                && let Some(token) = serde_json::from_slice::<TriggerRecord>(&old).ok().and_then(|o| o.hook_token)
            {
                w.remove(&self.hooks, token)?;
            }
            w.remove(&self.trigger_state, flow)?;
            Ok(())
        })
    }

    fn hook(&self, token: &str) -> StoreResult<Option<String>> {
        Ok(self.hooks.get(token).map_err(fail)?.map(|v| String::from_utf8_lossy(&v).into_owned()))
    }

    fn poll_state(&self, flow: &str) -> StoreResult<Option<PollState>> {
        self.trigger_state.get(flow).map_err(fail)?.map(|v| decode(&v)).transpose()
    }

    fn delete_poll_state(&self, flow: &str) -> StoreResult<()> {
        self.write(|w| w.remove(&self.trigger_state, flow).map_err(fail))?;
        Ok(())
    }

    fn record_events(&self, flow: &str, state: Option<&PollState>, runs: &[RunRecord]) -> StoreResult<()> {
        let state = state.map(serde_json::to_vec).transpose().map_err(fail)?;
        self.create_runs(runs, |w| {
            if let Some(bytes) = &state {
                w.insert(&self.trigger_state, flow, bytes)?;
            }
            Ok(())
        })
    }
}
