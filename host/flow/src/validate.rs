//! Turning a [`FlowDef`] into a runnable [`Flow`], or into every problem it has,
//! each with the path of the fault (`steps.create.input.url`).
//!
//! Checked: names and ids; that each step is exactly one kind; connectors,
//! actions, transforms and connections exist (through a [`Catalog`]); a
//! connection belongs to the action's connector; action input against the
//! action's JSON Schema (literal parts now, the rest when rendered); every
//! expression parses; references name earlier steps only; durations parse.

use super::expr::{Expr, Mapping, ROOTS};
use serde_json::Value;
use std::collections::{BTreeMap, HashSet};
use std::fmt;
use std::time::Duration;
use weft_core::catalog::Catalog;
use weft_core::model::{FlowDef, OnErrorDef, RetryDef, StepDef, TriggerDef};

/// One fault in a flow.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// Where: `steps.create.input.url`, `trigger`, `name`.
    pub path: String,
    pub message: String,
}

/// A flow that cannot run, with all its problems.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InvalidFlow {
    pub flow: String,
    pub problems: Vec<Problem>,
}

impl fmt::Display for InvalidFlow {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "flow {:?} is invalid:", self.flow)?;
        for p in &self.problems {
            write!(f, "\n  {}: {}", p.path, p.message)?;
        }
        Ok(())
    }
}

impl std::error::Error for InvalidFlow {}

/// A validated flow, ready to run.
#[derive(Debug)]
pub struct Flow {
    pub def: FlowDef,
    pub steps: Vec<Step>,
    /// Whether a `respond` step answers the webhook's caller.
    pub responds: bool,
}

/// A validated step.
#[derive(Debug)]
pub struct Step {
    pub id: String,
    pub kind: StepKind,
    pub retry: RetryPolicy,
    pub on_error: OnError,
}

#[derive(Debug)]
pub enum StepKind {
    Action {
        connector: String,
        version: Option<String>,
        action: String,
        connection: String,
        input: Mapping,
    },
    Transform {
        plugin: String,
        version: Option<String>,
        input: Mapping,
    },
    If {
        condition: Expr,
        then: Vec<Step>,
        otherwise: Vec<Step>,
    },
    Switch {
        value: Expr,
        cases: Vec<(String, Vec<Step>)>,
        default: Vec<Step>,
    },
    ForEach {
        list: Expr,
        steps: Vec<Step>,
        concurrency: u32,
    },
    Delay(Duration),
    DelayUntil(Mapping),
    /// Run flow `flow` as a sub-flow with `input` as its event, and wait for it.
    Call {
        flow: String,
        input: Mapping,
    },
    /// Answer the webhook's caller: `{status, headers, body}`.
    Respond(Mapping),
}

/// Exponential backoff with jitter between attempts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    pub max_attempts: u32,
    pub initial_backoff: Duration,
    pub max_backoff: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self { max_attempts: 3, initial_backoff: Duration::from_secs(1), max_backoff: Duration::from_secs(300) }
    }
}

#[derive(Debug)]
pub enum OnError {
    Fail,
    Continue,
    Branch(Vec<Step>),
}

/// Validate `def` against `catalog`.
pub fn validate(def: FlowDef, catalog: &dyn Catalog) -> Result<Flow, InvalidFlow> {
    let answers = matches!(&def.trigger, TriggerDef::Webhook(t) if t.sync);
    let mut checker =
        Checker { catalog, problems: Vec::new(), ids: HashSet::new(), visible: Vec::new(), loop_depth: 0, answers };
    checker.name("name", &def.name, false);
    if let Some(name) = &def.on_failure {
        checker.name("on_failure", name, false);
    }
    checker.trigger(&def.trigger);
    if let Some(rate) = &def.rate_limit
        && let Err(message) = rate.check()
    {
        checker.problem("rate_limit", message);
    }
    if def.concurrency == Some(0) {
        checker.problem("concurrency", "must be at least 1 (omit it for no per-flow limit)");
    }
    if let Some(retention) = &def.retention {
        for (field, value) in [("succeeded", &retention.succeeded), ("failed", &retention.failed)] {
            if let Some(text) = value {
                let path = format!("retention.{field}");
                if checker.duration(&path, text).is_some_and(|d| d.is_zero()) {
                    checker.problem(path, "must be longer than 0s");
                }
            }
        }
        if retention.max_runs == Some(0) {
            checker.problem("retention.max_runs", "must be at least 1");
        }
    }
    if def.steps.is_empty() {
        checker.problem("steps", "a flow needs at least one step");
    }
    let steps = checker.steps(&def.steps, "steps");
    if checker.problems.is_empty() {
        let mut responds = false;
        walk_steps(&steps, &mut |s| responds |= matches!(s.kind, StepKind::Respond(_)));
        Ok(Flow { def, steps, responds })
    } else {
        Err(InvalidFlow { flow: def.name, problems: checker.problems })
    }
}

struct Checker<'a> {
    catalog: &'a dyn Catalog,
    problems: Vec<Problem>,
    /// Every id seen so far, flow-wide (ids are unique in the whole flow).
    ids: HashSet<String>,
    /// Ids later steps may read, in order; loop bodies are popped on exit.
    visible: Vec<String>,
    loop_depth: usize,
    /// The flow answers its webhook's caller (a `sync` webhook trigger): `respond` steps may.
    answers: bool,
}

const KINDS: &str = "action, transform, call, respond, if, switch, for_each, delay or delay_until";

impl Checker<'_> {
    fn problem(&mut self, path: impl Into<String>, message: impl Into<String>) {
        self.problems.push(Problem { path: path.into(), message: message.into() });
    }

    fn name(&mut self, path: &str, name: &str, underscore_only: bool) {
        let ok = !name.is_empty()
            && name.len() <= 64
            && name
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' || (!underscore_only && b == b'-'));
        if !ok {
            let allowed = if underscore_only { "[a-z0-9_]" } else { "[a-z0-9_-]" };
            self.problem(path, format!("{name:?} must be 1 to 64 characters of {allowed}"));
        }
    }

    fn trigger(&mut self, trigger: &TriggerDef) {
        match trigger {
            TriggerDef::Manual => {}
            TriggerDef::Webhook(t) | TriggerDef::Polling(t) => {
                let polling = matches!(trigger, TriggerDef::Polling(_));
                let (name, version) = split_version(&t.connector);
                let Some(manifest) = self.catalog.connector(name, version) else {
                    return self.problem("trigger.connector", format!("unknown connector {:?}", t.connector));
                };
                match manifest.triggers.iter().find(|s| s.name == t.trigger) {
                    None => {
                        let known = manifest.triggers.iter().map(|s| s.name.as_str()).collect::<Vec<_>>().join(", ");
                        self.problem(
                            "trigger.trigger",
                            format!("connector {name:?} has no trigger {:?} (it has: {known})", t.trigger),
                        );
                    }
                    Some(spec) => {
                        let is_polling = spec.polling.is_some();
                        if is_polling != polling {
                            let kind = if is_polling { "polling" } else { "webhook" };
                            self.problem("trigger", format!("trigger {:?} is a {kind} trigger", t.trigger));
                        }
                        for event in &t.events {
                            if !spec.events.contains(event) {
                                self.problem(
                                    "trigger.events",
                                    format!("trigger {:?} has no event {event:?}", t.trigger),
                                );
                            }
                        }
                        self.against_schema("trigger.config", &spec.config_schema, &Mapping::Literal(t.config.clone()));
                    }
                }
                if let Some(fallback) = &t.fallback_poll {
                    match manifest.triggers.iter().find(|s| &s.name == fallback) {
                        _ if polling => {
                            self.problem("trigger.fallback_poll", "only webhook triggers fall back to polling")
                        }
                        Some(s) if s.polling.is_some() => {}
                        Some(_) => self.problem(
                            "trigger.fallback_poll",
                            format!("trigger {fallback:?} of {name:?} is not a polling trigger"),
                        ),
                        None => self.problem(
                            "trigger.fallback_poll",
                            format!("connector {name:?} has no trigger {fallback:?}"),
                        ),
                    }
                }
                self.connection("trigger.connection", &t.connection, name);
                if t.sync && polling {
                    self.problem("trigger.sync", "only webhook triggers answer synchronously");
                }
                if let Some(interval) = &t.interval {
                    if !polling && t.fallback_poll.is_none() {
                        self.problem("trigger.interval", "only polling triggers (and fallback_poll) have an interval");
                    } else if let Some(d) = self.duration("trigger.interval", interval)
                        && d < Duration::from_secs(1)
                    {
                        self.problem("trigger.interval", "must be at least 1s");
                    }
                }
            }
            TriggerDef::Schedule(s) => {
                if let Err(message) = super::polling::Schedule::parse(&s.cron, s.timezone.as_deref()) {
                    let path = if message.contains("time zone") {
                        "trigger.schedule.timezone"
                    } else {
                        "trigger.schedule.cron"
                    };
                    self.problem(path, message);
                }
            }
        }
    }

    fn connection(&mut self, path: &str, id: &str, connector: &str) {
        match self.catalog.connection_connector(id) {
            None => self.problem(path, format!("unknown connection {id:?}")),
            Some(of) if of != connector => {
                self.problem(path, format!("connection {id:?} is for connector {of:?}, not {connector:?}"))
            }
            Some(_) => {}
        }
    }

    fn duration(&mut self, path: &str, text: &str) -> Option<Duration> {
        match humantime::parse_duration(text) {
            Ok(d) => Some(d),
            Err(_) => {
                self.problem(path, format!("{text:?} is not a duration like 30s, 10m or 2h 30m"));
                None
            }
        }
    }

    fn steps(&mut self, defs: &[StepDef], path: &str) -> Vec<Step> {
        defs.iter().enumerate().filter_map(|(i, def)| self.step(def, &format!("{path}[{i}]"))).collect()
    }

    fn step(&mut self, def: &StepDef, index_path: &str) -> Option<Step> {
        let path = if def.id.is_empty() { index_path.to_string() } else { format!("steps.{}", def.id) };
        self.name(&format!("{path}.id"), &def.id, true);
        if !def.id.is_empty() && !self.ids.insert(def.id.clone()) {
            self.problem(format!("{path}.id"), format!("duplicate step id {:?}", def.id));
        }
        let kinds = [
            def.action.is_some(),
            def.transform.is_some(),
            def.call.is_some(),
            def.respond.is_some(),
            def.if_.is_some(),
            def.switch.is_some(),
            def.for_each.is_some(),
            def.delay.is_some(),
            def.delay_until.is_some(),
        ];
        let count = kinds.iter().filter(|k| **k).count();
        if count != 1 {
            let what = if count == 0 { "has no kind" } else { "has more than one kind" };
            self.problem(&path, format!("{what}: a step has exactly one of {KINDS}"));
            return None;
        }
        self.misplaced(def, &path);
        let retry = self.retry(def.retry.as_ref(), &path);
        let kind = self.kind(def, &path);
        // The step is readable by what follows it, not by itself (and even when
        // it has problems of its own, so they are not repeated downstream).
        self.visible.push(def.id.clone());
        let kind = kind?;
        let on_error = match &def.on_error {
            None | Some(OnErrorDef::Fail) => OnError::Fail,
            Some(OnErrorDef::Continue) => OnError::Continue,
            Some(OnErrorDef::Branch(steps)) => OnError::Branch(self.steps(steps, &format!("{path}.on_error.branch"))),
        };
        Some(Step { id: def.id.clone(), kind, retry, on_error })
    }

    /// Fields that belong to another kind of step.
    fn misplaced(&mut self, def: &StepDef, path: &str) {
        let is_call = def.action.is_some() || def.transform.is_some();
        let takes_input = is_call || def.call.is_some();
        let checks: [(bool, &str, &str); 8] = [
            (def.input.is_some() && !takes_input, "input", "action, transform or call"),
            (def.connection.is_some() && def.action.is_none(), "connection", "action"),
            (def.then.is_some() && def.if_.is_none(), "then", "if"),
            (def.else_.is_some() && def.if_.is_none(), "else", "if"),
            ((def.cases.is_some() || def.default.is_some()) && def.switch.is_none(), "cases/default", "switch"),
            (
                (def.steps.is_some() || def.concurrency.is_some()) && def.for_each.is_none(),
                "steps/concurrency",
                "for_each",
            ),
            (def.retry.is_some() && !is_call, "retry", "action or transform"),
            (
                matches!(def.on_error, Some(OnErrorDef::Branch(_)) | Some(OnErrorDef::Continue)) && !takes_input,
                "on_error",
                "action, transform or call",
            ),
        ];
        for (bad, field, kind) in checks {
            if bad {
                self.problem(format!("{path}.{field}"), format!("only an {kind} step has {field}"));
            }
        }
    }

    fn retry(&mut self, def: Option<&RetryDef>, path: &str) -> RetryPolicy {
        let mut policy = RetryPolicy::default();
        let Some(def) = def else { return policy };
        if let Some(n) = def.max_attempts {
            if n == 0 {
                self.problem(format!("{path}.retry.max_attempts"), "must be at least 1 (1 means no retries)");
            }
            policy.max_attempts = n.max(1);
        }
        if let Some(d) = &def.initial_backoff {
            policy.initial_backoff = self.duration(&format!("{path}.retry.initial_backoff"), d).unwrap_or_default();
        }
        if let Some(d) = &def.max_backoff {
            policy.max_backoff = self.duration(&format!("{path}.retry.max_backoff"), d).unwrap_or_default();
        }
        if policy.max_backoff < policy.initial_backoff {
            self.problem(format!("{path}.retry"), "max_backoff is shorter than initial_backoff");
        }
        policy
    }

    fn kind(&mut self, def: &StepDef, path: &str) -> Option<StepKind> {
        if let Some(action) = &def.action {
            let input = self.mapping(&format!("{path}.input"), def.input.as_ref())?;
            let Some((target, action_name)) = action.rsplit_once('.') else {
                self.problem(format!("{path}.action"), format!("{action:?} must be `connector.action`"));
                return None;
            };
            let (connector, version) = split_version(target);
            let Some(connection) = &def.connection else {
                self.problem(format!("{path}.connection"), "an action step needs a connection");
                return None;
            };
            self.connection(&format!("{path}.connection"), connection, connector);
            match self.catalog.connector(connector, version) {
                None => self.problem(format!("{path}.action"), format!("unknown connector {target:?}")),
                Some(manifest) => match manifest.action(action_name) {
                    None => {
                        let known = manifest.actions.iter().map(|a| a.name.as_str()).collect::<Vec<_>>().join(", ");
                        self.problem(
                            format!("{path}.action"),
                            format!("connector {connector:?} has no action {action_name:?} (it has: {known})"),
                        );
                    }
                    Some(spec) => self.against_schema(&format!("{path}.input"), &spec.input_schema, &input),
                },
            }
            return Some(StepKind::Action {
                connector: connector.to_string(),
                version: version.map(str::to_string),
                action: action_name.to_string(),
                connection: connection.clone(),
                input,
            });
        }
        if let Some(transform) = &def.transform {
            let input = self.mapping(&format!("{path}.input"), def.input.as_ref())?;
            let (plugin, version) = split_version(transform);
            if !self.catalog.has_transform(plugin, version) {
                self.problem(format!("{path}.transform"), format!("unknown transform {transform:?}"));
            }
            return Some(StepKind::Transform {
                plugin: plugin.to_string(),
                version: version.map(str::to_string),
                input,
            });
        }
        if let Some(flow) = &def.call {
            let input = self.mapping(&format!("{path}.input"), def.input.as_ref())?;
            self.name(&format!("{path}.call"), flow, false);
            return Some(StepKind::Call { flow: flow.clone(), input });
        }
        if let Some(respond) = &def.respond {
            if !self.answers {
                self.problem(
                    format!("{path}.respond"),
                    "only a flow whose webhook trigger has `sync: true` can respond \
                     (any other caller has had its answer before the run starts)",
                );
            }
            let shape = serde_json::json!({
                "status": respond.status.clone().unwrap_or(Value::from(200)),
                "headers": respond.headers,
                "body": respond.body.clone().unwrap_or(Value::Null),
            });
            let mapping = self.mapping(&format!("{path}.respond"), Some(&shape))?;
            // A status written out is checked now; one from an expression when it is rendered.
            if let Some(status) = &respond.status
                && !status.as_str().is_some_and(|t| t.contains("{{"))
                && let Err(message) = response_status(status)
            {
                self.problem(format!("{path}.respond.status"), message);
            }
            return Some(StepKind::Respond(mapping));
        }
        if let Some(condition) = &def.if_ {
            let condition = self.expr(&format!("{path}.if"), condition)?;
            if def.then.is_none() {
                self.problem(format!("{path}.then"), "an if step needs `then` steps");
            }
            let then = self.branch(def.then.as_deref().unwrap_or_default(), &format!("{path}.then"));
            let otherwise = self.branch(def.else_.as_deref().unwrap_or_default(), &format!("{path}.else"));
            return Some(StepKind::If { condition, then, otherwise });
        }
        if let Some(value) = &def.switch {
            let value = self.expr(&format!("{path}.switch"), value)?;
            let cases: Vec<(String, Vec<Step>)> = def
                .cases
                .as_ref()
                .unwrap_or(&BTreeMap::new())
                .iter()
                .map(|(case, steps)| (case.clone(), self.branch(steps, &format!("{path}.cases.{case}"))))
                .collect();
            if cases.is_empty() {
                self.problem(format!("{path}.cases"), "a switch step needs at least one case");
            }
            let default = self.branch(def.default.as_deref().unwrap_or_default(), &format!("{path}.default"));
            return Some(StepKind::Switch { value, cases, default });
        }
        if let Some(list) = &def.for_each {
            let list = self.expr(&format!("{path}.for_each"), list)?;
            let concurrency = def.concurrency.unwrap_or(1);
            if concurrency == 0 {
                self.problem(format!("{path}.concurrency"), "must be at least 1");
            }
            let Some(body) = &def.steps else {
                self.problem(format!("{path}.steps"), "a for_each step needs `steps`");
                return None;
            };
            // Steps inside the loop are per item: readable inside the body only.
            let mark = self.visible.len();
            self.loop_depth += 1;
            let steps = self.steps(body, &format!("{path}.steps"));
            self.loop_depth -= 1;
            self.visible.truncate(mark);
            return Some(StepKind::ForEach { list, steps, concurrency: concurrency.max(1) });
        }
        if let Some(delay) = &def.delay {
            return self.duration(&format!("{path}.delay"), delay).map(StepKind::Delay);
        }
        if let Some(until) = &def.delay_until {
            let mapping = self.mapping(&format!("{path}.delay_until"), Some(&Value::String(until.clone())))?;
            if let Some(Value::String(literal)) = mapping.as_literal()
                && humantime::parse_rfc3339_weak(&literal).is_err()
            {
                self.problem(format!("{path}.delay_until"), format!("{literal:?} is not an RFC 3339 time"));
            }
            return Some(StepKind::DelayUntil(mapping));
        }
        None
    }

    /// Steps of an arm: they see what came before the branching step.
    fn branch(&mut self, defs: &[StepDef], path: &str) -> Vec<Step> {
        self.steps(defs, path)
    }

    fn expr(&mut self, path: &str, source: &str) -> Option<Expr> {
        match Expr::compile(source) {
            Ok(expr) => {
                for reference in expr.references() {
                    self.reference(path, &reference);
                }
                Some(expr)
            }
            Err(e) => {
                self.problem(path, e.to_string());
                None
            }
        }
    }

    fn mapping(&mut self, path: &str, value: Option<&Value>) -> Option<Mapping> {
        let empty = Value::Object(Default::default());
        match Mapping::compile(value.unwrap_or(&empty)) {
            Ok(mapping) => {
                for (at, reference) in mapping.references() {
                    let full = if at.is_empty() { path.to_string() } else { format!("{path}.{at}") };
                    self.reference(&full, &reference);
                }
                Some(mapping)
            }
            Err(e) => {
                let full = if e.path.is_empty() { path.to_string() } else { format!("{path}.{}", e.path) };
                self.problem(full, e.error.to_string());
                None
            }
        }
    }

    /// Check one variable path read by an expression.
    fn reference(&mut self, path: &str, reference: &str) {
        let mut parts = reference.split('.');
        let root = parts.next().unwrap_or_default();
        if !ROOTS.contains(&root) {
            return self.problem(
                path,
                format!(
                    "unknown variable {root:?}: expressions can read trigger, steps.<id>.output, item, index and run"
                ),
            );
        }
        if (root == "item" || root == "index") && self.loop_depth == 0 {
            return self.problem(path, format!("`{root}` exists only inside a for_each"));
        }
        if root == "steps"
            && let Some(step) = parts.next()
        {
            if !self.visible.iter().any(|v| v == step) {
                let message = if self.ids.contains(step) {
                    format!("refers to step {step:?}, which does not run before this point")
                } else {
                    format!("refers to unknown step {step:?}")
                };
                self.problem(path, message);
            } else if let Some(field) = parts.next()
                && field != "output"
                && field != "error"
            {
                self.problem(path, format!("steps.{step}.{field}: a step has `output` and `error`"));
            }
        }
    }

    /// The literal parts of `input` against `schema`: required fields present,
    /// no unknown fields when the schema forbids them, literal values valid.
    fn against_schema(&mut self, path: &str, schema: &Value, input: &Mapping) {
        if let Some(literal) = input.as_literal() {
            let Ok(validator) = jsonschema::validator_for(schema) else { return };
            for error in validator.iter_errors(&literal) {
                let at = error.instance_path().to_string().trim_start_matches('/').replace('/', ".");
                let full = if at.is_empty() { path.to_string() } else { format!("{path}.{at}") };
                self.problem(full, error.to_string());
            }
            return;
        }
        let Mapping::Object(fields) = input else { return };
        let present: HashSet<&str> = fields.iter().map(|(k, _)| k.as_str()).collect();
        if let Some(required) = schema.get("required").and_then(Value::as_array) {
            for name in required.iter().filter_map(Value::as_str) {
                if !present.contains(name) {
                    self.problem(path, format!("{name:?} is a required property"));
                }
            }
        }
        let properties = schema.get("properties").and_then(Value::as_object);
        if schema.get("additionalProperties") == Some(&Value::Bool(false)) {
            for name in &present {
                if !properties.is_some_and(|p| p.contains_key(*name)) {
                    self.problem(
                        format!("{path}.{name}"),
                        "is not a property of this input (additionalProperties is false)",
                    );
                }
            }
        }
        for (name, mapping) in fields {
            let (Some(sub), Some(value)) = (properties.and_then(|p| p.get(name)), mapping.as_literal()) else {
                continue;
            };
            let Ok(validator) = jsonschema::validator_for(sub) else { continue };
            for error in validator.iter_errors(&value) {
                self.problem(format!("{path}.{name}"), error.to_string());
            }
        }
    }
}

/// The HTTP status a `respond` step gives: an integer 100–599 (or text holding one).
pub fn response_status(value: &Value) -> Result<u16, String> {
    let n = match value {
        Value::Number(n) => n.as_u64(),
        Value::String(s) => s.trim().parse::<u64>().ok(),
        _ => None,
    };
    match n {
        Some(n @ 100..=599) => Ok(n as u16),
        _ => Err(format!("{value} is not an HTTP status (a whole number from 100 to 599)")),
    }
}

/// Every `call` step of `steps`, nested ones too, as (path, flow called).
pub fn calls_of(steps: &[StepDef]) -> Vec<(String, String)> {
    let mut out = Vec::new();
    walk_defs(steps, &mut |s| {
        if let Some(flow) = &s.call {
            out.push((format!("steps.{}.call", s.id), flow.clone()));
        }
    });
    out
}

/// Call `f` on every step definition, nested ones (branches, loop bodies,
/// error branches) right after the step that holds them.
fn walk_defs(steps: &[StepDef], f: &mut impl FnMut(&StepDef)) {
    for s in steps {
        f(s);
        let nested = [&s.then, &s.else_, &s.default, &s.steps];
        for list in nested.into_iter().flatten() {
            walk_defs(list, f);
        }
        for list in s.cases.iter().flat_map(|c| c.values()) {
            walk_defs(list, f);
        }
        if let Some(OnErrorDef::Branch(list)) = &s.on_error {
            walk_defs(list, f);
        }
    }
}

/// What `def` says of other flows, checked against the flows there are
/// (`flows`: a flow's current definition by name; `def` stands for itself):
/// `on_failure` and every `call` must name a flow, and no chain of calls may
/// lead back to `def`. Checked when a flow is saved; a flow deleted later
/// makes the step that calls it fail.
pub fn check_links(def: &FlowDef, flows: &dyn Fn(&str) -> Option<FlowDef>) -> Vec<Problem> {
    let lookup = |name: &str| if name == def.name { Some(def.clone()) } else { flows(name) };
    let mut problems = Vec::new();
    if let Some(name) = &def.on_failure
        && lookup(name).is_none()
    {
        problems.push(Problem { path: "on_failure".into(), message: format!("no flow named {name:?}") });
    }
    for (path, target) in calls_of(&def.steps) {
        if lookup(&target).is_none() {
            problems.push(Problem { path, message: format!("no flow named {target:?}") });
            continue;
        }
        // Depth first from the called flow: a way back to `def` is a cycle.
        let mut chain = vec![def.name.clone(), target.clone()];
        let mut seen = HashSet::new();
        if let Some(cycle) = cycle_back(&def.name, &target, &lookup, &mut chain, &mut seen) {
            problems.push(Problem {
                path,
                message: format!("calling {target:?} makes a cycle of sub-flows: {}", cycle.join(" → ")),
            });
        }
    }
    problems
}

/// A chain of calls from `from` back to `home`, if there is one.
fn cycle_back(
    home: &str,
    from: &str,
    lookup: &dyn Fn(&str) -> Option<FlowDef>,
    chain: &mut Vec<String>,
    seen: &mut HashSet<String>,
) -> Option<Vec<String>> {
    if from == home {
        return Some(chain.clone());
    }
    if !seen.insert(from.to_string()) {
        return None;
    }
    let def = lookup(from)?;
    for (_, next) in calls_of(&def.steps) {
        chain.push(next.clone());
        if let Some(cycle) = cycle_back(home, &next, lookup, chain, seen) {
            return Some(cycle);
        }
        chain.pop();
    }
    None
}

/// Call `f(name, version)` for every action's connector and transform in `steps`, nested ones too.
pub fn walk_plugins(steps: &[Step], f: &mut impl FnMut(&str, Option<&str>)) {
    walk_steps(steps, &mut |step| match &step.kind {
        StepKind::Action { connector, version, .. } => f(connector, version.as_deref()),
        StepKind::Transform { plugin, version, .. } => f(plugin, version.as_deref()),
        _ => {}
    });
}

/// Call `f` on every step, nested ones (branches, loop bodies, error
/// branches) right after the step that holds them.
pub fn walk_steps(steps: &[Step], f: &mut impl FnMut(&Step)) {
    for step in steps {
        f(step);
        match &step.kind {
            StepKind::If { then, otherwise, .. } => {
                walk_steps(then, f);
                walk_steps(otherwise, f);
            }
            StepKind::Switch { cases, default, .. } => {
                for (_, steps) in cases {
                    walk_steps(steps, f);
                }
                walk_steps(default, f);
            }
            StepKind::ForEach { steps, .. } => walk_steps(steps, f),
            _ => {}
        }
        if let OnError::Branch(steps) = &step.on_error {
            walk_steps(steps, f);
        }
    }
}

/// How a flow names each plugin it uses, as written (`http`, `http@0.2.0`),
/// with whether it names a connector (rather than a transform); sorted.
pub fn plugin_references(def: &FlowDef) -> Vec<(String, bool)> {
    let mut out = Vec::new();
    if let TriggerDef::Webhook(t) | TriggerDef::Polling(t) = &def.trigger {
        out.push((t.connector.clone(), true));
    }
    walk_defs(&def.steps, &mut |s| {
        if let Some(action) = &s.action {
            out.push((action.rsplit_once('.').map_or(action.as_str(), |(c, _)| c).to_string(), true));
        }
        if let Some(t) = &s.transform {
            out.push((t.clone(), false));
        }
    });
    out.sort();
    out.dedup();
    out
}

/// The plugins a flow names (connectors and transforms, without versions).
pub fn plugins_used(def: &FlowDef) -> Vec<String> {
    let mut out: Vec<String> =
        plugin_references(def).into_iter().map(|(r, _)| split_version(&r).0.to_string()).collect();
    out.dedup();
    out
}

/// The plugin references of `def` that `catalog` cannot serve now: a removed
/// plugin, or a pinned version that is not installed. Empty when the flow can run.
pub fn missing_plugins(def: &FlowDef, catalog: &dyn Catalog) -> Vec<String> {
    plugin_references(def)
        .into_iter()
        .filter(|(reference, connector)| {
            let (name, version) = split_version(reference);
            if *connector { !catalog.has_connector(name, version) } else { !catalog.has_transform(name, version) }
        })
        .map(|(reference, _)| reference)
        .collect()
}

/// `name@version` → (`name`, `Some(version)`).
pub fn split_version(s: &str) -> (&str, Option<&str>) {
    match s.split_once('@') {
        Some((name, version)) => (name, Some(version)),
        None => (s, None),
    }
}
