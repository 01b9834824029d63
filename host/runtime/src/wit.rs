//! The conversions from the generated bindings into weft-core's plain types,
//! checking what a plugin returned on the way: nothing outside this crate sees
//! a generated type.

use crate::bindings::{api, oauth, types as wit};
use serde_json::Value;
use std::collections::HashSet;
use weft_core::connection::HostRule;
use weft_core::oauth::{GrantType, OAuth2Spec, TokenPlacement};
use weft_core::plugin::{
    ActionSpec, Event, Manifest, PluginError, PollingStrategy, SettingSpec, TriggerKind, TriggerSpec, check_name,
};

/// Convert and check what `describe` returned.
pub(crate) fn manifest(m: api::Manifest) -> Result<Manifest, String> {
    let schema = |owner: &str, what: &str, text: &str| -> Result<Value, String> {
        let v: Value = serde_json::from_str(text).map_err(|e| format!("{owner}: {what} is not valid JSON: {e}"))?;
        if v.is_object() || v.is_boolean() {
            Ok(v)
        } else {
            Err(format!("{owner}: {what} must be a JSON Schema (an object or a boolean)"))
        }
    };
    check_name("the plugin name", &m.name, false)?;
    if m.version.trim().is_empty() {
        return Err("the version is empty".into());
    }
    let mut seen = HashSet::new();
    let mut actions = Vec::new();
    for a in m.actions {
        check_name("an action name", &a.name, true)?;
        if !seen.insert(a.name.clone()) {
            return Err(format!("action {:?} is declared twice", a.name));
        }
        let owner = format!("action {:?}", a.name);
        actions.push(ActionSpec {
            input_schema: schema(&owner, "input-schema", &a.input_schema)?,
            output_schema: schema(&owner, "output-schema", &a.output_schema)?,
            name: a.name,
            description: a.description,
        });
    }
    let mut seen = HashSet::new();
    let mut triggers = Vec::new();
    for t in m.triggers {
        check_name("a trigger name", &t.name, true)?;
        if !seen.insert(t.name.clone()) {
            return Err(format!("trigger {:?} is declared twice", t.name));
        }
        let owner = format!("trigger {:?}", t.name);
        let kind = match t.kind {
            api::TriggerKind::Webhook => TriggerKind::Webhook,
            api::TriggerKind::Polling => TriggerKind::Polling,
        };
        let polling = t.polling.map(|p| match p {
            api::PollingStrategy::Timestamp => PollingStrategy::Timestamp,
            api::PollingStrategy::IncreasingId => PollingStrategy::IncreasingId,
            api::PollingStrategy::Dedupe => PollingStrategy::Dedupe,
        });
        if kind == TriggerKind::Polling && polling.is_none() {
            return Err(format!("{owner} is a polling trigger without a polling strategy"));
        }
        triggers.push(TriggerSpec {
            config_schema: schema(&owner, "config-schema", &t.config_schema)?,
            output_schema: schema(&owner, "output-schema", &t.output_schema)?,
            name: t.name,
            description: t.description,
            kind,
            polling,
            events: t.events,
        });
    }
    for h in &m.hosts {
        h.parse::<HostRule>()?;
    }
    Ok(Manifest {
        name: m.name,
        version: m.version,
        description: m.description,
        triggers,
        actions,
        settings: m
            .settings
            .into_iter()
            .map(|s| SettingSpec { name: s.name, description: s.description, secret: s.secret, required: s.required })
            .collect(),
        hosts: m.hosts,
        oauth2: None,
    })
}

/// Convert and check what the optional `oauth2` export returned.
pub(crate) fn oauth2(o: oauth::Oauth2Spec) -> Result<OAuth2Spec, String> {
    let spec = OAuth2Spec {
        grant: match o.grant {
            oauth::Grant::AuthorizationCode => GrantType::AuthorizationCode,
            oauth::Grant::ClientCredentials => GrantType::ClientCredentials,
        },
        authorization_url: o.authorization_url,
        token_url: o.token_url,
        scopes: o.scopes,
        pkce: o.pkce,
        placement: match o.placement {
            oauth::TokenPlacement::Bearer => TokenPlacement::Bearer,
            oauth::TokenPlacement::Header(h) => TokenPlacement::Header { name: h.name, prefix: h.prefix },
        },
        hosts: o.hosts,
        authorization_params: o.authorization_params,
        credentials_in_body: o.credentials_in_body,
    };
    spec.check()?;
    Ok(spec)
}

pub(crate) fn event(e: api::Event) -> Result<Event, String> {
    let payload =
        serde_json::from_str(&e.payload).map_err(|err| format!("event {:?} payload is not valid JSON: {err}", e.id))?;
    Ok(Event { id: e.id, timestamp: e.timestamp, payload })
}

/// A contract error as the engine acts on it.
pub(crate) fn plugin_error(e: wit::Error) -> PluginError {
    match e {
        wit::Error::InvalidInput(message) => PluginError::InvalidInput { message },
        wit::Error::Auth(message) => PluginError::Auth { message },
        wit::Error::RateLimited(r) => PluginError::RateLimited { message: r.message, retry_after_ms: r.retry_after_ms },
        wit::Error::Transient(message) => PluginError::Transient { message },
        wit::Error::Fatal(message) => PluginError::Fatal { message },
    }
}
