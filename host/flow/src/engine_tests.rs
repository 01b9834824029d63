//! The executor with fake plugins, an in-memory store and a test clock.

use super::engine::{Executor, ExecutorConfig, backoff};
use super::memory::MemoryStore;
use super::validate::RetryPolicy;
use serde_json::{Value, json};
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use weft_core::catalog::Catalog;
use weft_core::model::FlowDef;
use weft_core::plugin::{ActionSpec, Manifest};
use weft_core::run::*;

/// A clock the test moves by hand.
struct TestClock(AtomicU64);

impl Clock for TestClock {
    fn now_ms(&self) -> u64 {
        self.0.load(Ordering::SeqCst)
    }
    fn sleep_until(&self, when_ms: u64) -> BoxFuture<'_, ()> {
        Box::pin(async move {
            while self.now_ms() < when_ms {
                tokio::time::sleep(Duration::from_millis(1)).await;
            }
        })
    }
}

impl TestClock {
    fn advance(&self, d: Duration) {
        self.0.fetch_add(d.as_millis() as u64, Ordering::SeqCst);
    }
}

/// Plugins without wasm: a connector `app` and transforms `upper` and `echo`.
#[derive(Default)]
struct FakePlugins {
    /// (idempotency key, attempt) of every action call.
    calls: Mutex<Vec<(String, String, u32)>>,
    /// `flaky` fails this many times per key before it succeeds.
    flaky_failures: AtomicU64,
    /// `toggle` fails while this is set.
    broken: AtomicBool,
    in_flight: AtomicUsize,
    max_in_flight: AtomicUsize,
}

impl Catalog for FakePlugins {
    fn connector(&self, name: &str, _version: Option<&str>) -> Option<Manifest> {
        (name == "app").then(|| Manifest {
            name: "app".into(),
            version: "1.0.0".into(),
            description: String::new(),
            triggers: vec![weft_core::plugin::TriggerSpec {
                name: "hook".into(),
                description: String::new(),
                kind: weft_core::plugin::TriggerKind::Webhook,
                polling: None,
                events: vec![],
                config_schema: json!({ "type": "object" }),
                output_schema: json!({}),
            }],
            actions: ["ok", "flaky", "rate", "fatal", "toggle", "slow"]
                .iter()
                .map(|a| ActionSpec {
                    name: a.to_string(),
                    description: String::new(),
                    input_schema: json!({ "type": "object" }),
                    output_schema: json!({}),
                })
                .collect(),
            settings: vec![],
            hosts: vec![],
            oauth2: None,
        })
    }
    fn has_transform(&self, name: &str, _version: Option<&str>) -> bool {
        name == "upper" || name == "echo"
    }
    fn connection_connector(&self, id: &str) -> Option<String> {
        matches!(id, "c" | "limited" | "shared").then(|| "app".to_string())
    }
    fn connection_rate_limit(&self, id: &str) -> Option<weft_core::model::RateLimitDef> {
        (id == "limited").then_some(weft_core::model::RateLimitDef {
            per_second: Some(10),
            per_minute: None,
            burst: Some(2),
        })
    }
}

fn ok(value: Value) -> PluginCall {
    PluginCall { result: Ok(value), logs: vec![], dropped_logs: 0, io: None }
}

fn err(message: &str, retryable: bool, retry_after_ms: Option<u64>) -> PluginCall {
    PluginCall {
        result: Err(StepFailure { message: message.into(), retryable, retry_after_ms, kind: None }),
        logs: vec![],
        dropped_logs: 0,
        io: None,
    }
}

impl Plugins for FakePlugins {
    fn invoke<'a>(&'a self, call: ActionCall<'a>) -> BoxFuture<'a, PluginCall> {
        Box::pin(async move {
            let key = call.idempotency_key.to_string();
            let attempts_so_far = self.calls.lock().unwrap().iter().filter(|(k, _, _)| *k == key).count() as u64;
            self.calls.lock().unwrap().push((key, call.action.to_string(), call.attempt));
            match call.action {
                "ok" => ok(json!({ "got": call.input })),
                "flaky" if attempts_so_far < self.flaky_failures.load(Ordering::SeqCst) => {
                    err("503 from the app", true, None)
                }
                "flaky" => ok(json!({ "attempt": call.attempt })),
                "rate" if attempts_so_far == 0 => err("slow down", true, Some(30_000)),
                "rate" => ok(json!("done")),
                "fatal" => err("the record is invalid", false, None),
                "toggle" if self.broken.load(Ordering::SeqCst) => err("broken", false, None),
                "toggle" => ok(json!({ "fixed": true, "input": call.input })),
                "slow" => {
                    let now = self.in_flight.fetch_add(1, Ordering::SeqCst) + 1;
                    self.max_in_flight.fetch_max(now, Ordering::SeqCst);
                    tokio::time::sleep(Duration::from_millis(30)).await;
                    self.in_flight.fetch_sub(1, Ordering::SeqCst);
                    ok(json!(null))
                }
                other => err(&format!("no action {other}"), false, None),
            }
        })
    }

    fn transform<'a>(
        &'a self,
        plugin: &'a str,
        _version: Option<&'a str>,
        input: &'a Value,
    ) -> BoxFuture<'a, PluginCall> {
        Box::pin(async move {
            match plugin {
                "upper" => ok(json!(input["text"].as_str().unwrap_or_default().to_uppercase())),
                _ => ok(input.clone()),
            }
        })
    }
}

struct Harness {
    db: Arc<MemoryStore>,
    plugins: Arc<FakePlugins>,
    clock: Arc<TestClock>,
    executor: Executor,
}

fn harness(workers: usize) -> Harness {
    harness_with(ExecutorConfig { workers, ..ExecutorConfig::default() })
}

fn harness_with(config: ExecutorConfig) -> Harness {
    let db = Arc::new(MemoryStore::default());
    let plugins = Arc::new(FakePlugins::default());
    let clock = Arc::new(TestClock(AtomicU64::new(1_700_000_000_000)));
    let executor = Executor::new(db.clone(), plugins.clone(), clock.clone(), config);
    Harness { db, plugins, clock, executor }
}

impl Harness {
    fn apply(&self, yaml: &str) {
        let def = FlowDef::parse(yaml).unwrap();
        super::validate(def.clone(), self.plugins.as_ref()).unwrap_or_else(|e| panic!("{e}"));
        self.db.put_flow(&def, 0).unwrap();
    }

    async fn run(&self, flow: &str, trigger: Value) -> RunRecord {
        let run = self.executor.start(flow, trigger).unwrap();
        self.executor.run_until_idle().await.unwrap();
        self.db.run(&run.id).unwrap().unwrap()
    }

    async fn resume(&self, id: &str) -> RunRecord {
        self.executor.run_until_idle().await.unwrap();
        self.db.run(id).unwrap().unwrap()
    }

    fn step(&self, run: &str, path: &str) -> StepRecord {
        self.db.step(run, path).unwrap().unwrap_or_else(|| panic!("no record for {path}"))
    }
}

#[tokio::test]
async fn every_step_kind_and_mapping() {
    let h = harness(8);
    h.apply(
        r#"
name: all
trigger: manual
steps:
  - id: up
    transform: upper
    input: { text: "{{ trigger.name }}" }
  - id: call
    action: app.ok
    connection: c
    input: { name: "{{ steps.up.output }}", count: "{{ trigger.items | length }}" }
  - id: big
    if: steps.call.output.got.count > 2
    then: [ { id: said_big, transform: echo, input: "big {{ steps.up.output }}" } ]
    else: [ { id: said_small, transform: echo, input: "small" } ]
  - id: route
    switch: trigger.kind
    cases:
      a: [ { id: got_a, transform: echo, input: "A" } ]
    default: [ { id: got_other, transform: echo, input: "other" } ]
  - id: each
    for_each: trigger.items
    concurrency: 2
    steps:
      - { id: item_up, transform: upper, input: { text: "{{ item }}-{{ index }}-{{ steps.up.output }}" } }
  - id: bad
    action: app.fatal
    connection: c
    on_error: continue
  - id: worse
    action: app.fatal
    connection: c
    on_error:
      branch:
        - { id: handled, transform: echo, input: "handled: {{ steps.worse.error.message }}" }
  - id: last
    transform: echo
    input: { each: "{{ steps.each.output }}", bad: "{{ steps.bad.output.error }}", big: "{{ steps.big.output }}", route: "{{ steps.route.output }}" }
"#,
    );
    let run = h.run("all", json!({ "name": "ada", "items": ["x", "y", "z"], "kind": "b" })).await;
    assert_eq!(run.status, RunStatus::Succeeded, "{:?}", run.error);
    assert_eq!(
        run.output.unwrap(),
        json!({
            "each": ["X-0-ADA", "Y-1-ADA", "Z-2-ADA"],
            "bad": "the record is invalid",
            "big": "big ADA",
            "route": "other",
        })
    );
    assert_eq!(h.step(&run.id, "call").input.unwrap(), json!({ "name": "ADA", "count": 3 }));
    assert_eq!(h.step(&run.id, "big").input.unwrap(), json!(true), "the decision is recorded");
    assert_eq!(h.step(&run.id, "worse.on_error.handled").output.unwrap(), json!("handled: the record is invalid"));
    assert_eq!(h.step(&run.id, "each[1].item_up").output.unwrap(), json!("Y-1-ADA"));
    assert_eq!(h.step(&run.id, "bad").status, StepStatus::Failed);
    let paths: Vec<String> = h.db.steps(&run.id).unwrap().into_iter().map(|s| s.path).collect();
    assert_eq!(&paths[..4], ["up", "call", "big", "big.then.said_big"], "records keep execution order");
}

#[tokio::test]
async fn idempotency_keys_are_stable_across_attempts_and_retries_back_off_on_the_clock() {
    let h = harness(8);
    h.plugins.flaky_failures.store(2, Ordering::SeqCst);
    h.apply(
        r#"
name: retry
trigger: manual
steps:
  - id: flaky
    action: app.flaky
    connection: c
    retry: { max_attempts: 5, initial_backoff: 10s, max_backoff: 1m }
"#,
    );
    let policy =
        RetryPolicy { max_attempts: 5, initial_backoff: Duration::from_secs(10), max_backoff: Duration::from_secs(60) };
    let started = h.clock.now_ms();
    let run = h.run("retry", json!({})).await;
    let key = format!("{}/flaky", run.id);
    assert_eq!(run.status, RunStatus::Waiting);
    let first_wait = backoff(&policy, 1, &key, None).as_millis() as u64;
    assert_eq!(run.wake_ms, Some(started + first_wait));
    assert!((5_000..=10_000).contains(&first_wait), "{first_wait}");

    // Not yet due: nothing happens.
    h.clock.advance(Duration::from_millis(first_wait - 1));
    assert_eq!(h.resume(&run.id).await.status, RunStatus::Waiting);
    h.clock.advance(Duration::from_millis(1));
    let run = h.resume(&run.id).await;
    assert_eq!(run.status, RunStatus::Waiting, "the second attempt failed too");
    let second_wait = backoff(&policy, 2, &key, None).as_millis() as u64;
    assert!((10_000..=20_000).contains(&second_wait), "{second_wait}");
    h.clock.advance(Duration::from_millis(second_wait));
    let run = h.resume(&run.id).await;
    assert_eq!(run.status, RunStatus::Succeeded);
    assert_eq!(run.output, Some(json!({ "attempt": 3 })));

    let calls = h.plugins.calls.lock().unwrap().clone();
    assert_eq!(calls, [(key.clone(), "flaky".into(), 1), (key.clone(), "flaky".into(), 2), (key, "flaky".into(), 3)]);
    let step = h.step(&run.id, "flaky");
    assert_eq!(step.attempts, 3);
    // The two failed attempts, each with its error and the wait that followed.
    let retried: Vec<(u32, u64, u64)> =
        step.retried.iter().map(|a| (a.attempt, a.started_ms - started, a.wait_ms)).collect();
    assert_eq!(retried, [(1, 0, first_wait), (2, first_wait, second_wait)]);
    assert!(
        step.retried.iter().all(|a| a.error.retryable && a.error.message == "503 from the app"),
        "{:?}",
        step.retried
    );
}

#[tokio::test]
async fn rate_limits_are_honoured_and_fatal_errors_are_not_retried() {
    let h = harness(8);
    h.apply("name: rate\ntrigger: manual\nsteps:\n  - { id: r, action: app.rate, connection: c, retry: { initial_backoff: 1s } }\n");
    h.apply("name: fatal\ntrigger: manual\nsteps:\n  - { id: f, action: app.fatal, connection: c, retry: { max_attempts: 5 } }\n");
    let now = h.clock.now_ms();
    let run = h.run("rate", json!({})).await;
    assert_eq!(run.wake_ms, Some(now + 30_000), "retry-after (30 s) beats the 1 s backoff");
    h.clock.advance(Duration::from_secs(30));
    assert_eq!(h.resume(&run.id).await.status, RunStatus::Succeeded);

    let run = h.run("fatal", json!({})).await;
    assert_eq!(run.status, RunStatus::Failed);
    assert_eq!(run.error.as_deref(), Some("step \"f\" failed: the record is invalid"));
    assert_eq!(h.step(&run.id, "f").attempts, 1);
}

#[tokio::test]
async fn delays_wait_on_the_clock_without_a_task() {
    let h = harness(8);
    h.apply(
        r#"
name: wait
trigger: manual
steps:
  - { id: before, transform: echo, input: 1 }
  - { id: pause, delay: 10m }
  - { id: until, delay_until: "{{ trigger.at }}" }
  - { id: after, transform: echo, input: "{{ steps.before.output + 1 }}" }
"#,
    );
    let run = h.run("wait", json!({ "at": "2023-11-14T23:00:00Z" })).await;
    assert_eq!(run.status, RunStatus::Waiting);
    assert_eq!(run.wake_ms, Some(h.clock.now_ms() + 600_000));
    assert_eq!(h.executor.running(), 0);
    h.clock.advance(Duration::from_secs(600));
    let run = h.resume(&run.id).await;
    // The clock started at 2023-11-14T22:13:20Z; 10 minutes later is still before 23:00.
    assert_eq!(run.status, RunStatus::Waiting, "delay_until is later still");
    h.clock.advance(Duration::from_secs(3600));
    let run = h.resume(&run.id).await;
    assert_eq!(run.status, RunStatus::Succeeded, "{:?}", run.error);
    assert_eq!(run.output, Some(json!(2)));
    assert_eq!(h.db.steps(&run.id).unwrap().iter().filter(|s| s.path == "before").count(), 1);
}

/// A `delay_until` already past goes on at once, in the same execution, and
/// the run's step records keep the order the steps started in.
#[tokio::test]
async fn a_past_delay_until_goes_on_at_once() {
    let h = harness(8);
    h.apply(
        r#"
name: late
trigger: manual
steps:
  - { id: first, transform: echo, input: 1 }
  - { id: call, action: app.ok, connection: c, input: { n: 1 } }
  - { id: until, delay_until: "{{ trigger.at }}" }
  - { id: last, transform: echo, input: "{{ steps.until.output.waited_until_ms }}" }
"#,
    );
    let run = h.run("late", json!({ "at": "2020-01-01T00:00:00Z" })).await;
    assert_eq!(run.status, RunStatus::Succeeded, "{:?}", run.error);
    assert_eq!(run.output, Some(json!(1_577_836_800_000u64)));
    let steps = h.db.steps(&run.id).unwrap();
    let order: Vec<&str> = steps.iter().map(|s| s.path.as_str()).collect();
    assert_eq!(order, ["first", "call", "until", "last"]);
    assert!(steps.iter().all(|s| s.status == StepStatus::Succeeded));
}

#[tokio::test]
async fn a_failed_run_is_rerun_from_its_failed_step() {
    let h = harness(8);
    h.plugins.broken.store(true, Ordering::SeqCst);
    h.apply(
        r#"
name: fix
trigger: manual
steps:
  - { id: first, action: app.ok, connection: c, input: { n: "{{ trigger.n }}" } }
  - { id: second, action: app.toggle, connection: c, input: { v: 1 } }
  - { id: third, transform: echo, input: "{{ steps.second.output }}" }
"#,
    );
    let failed = h.run("fix", json!({ "n": 7 })).await;
    assert_eq!(failed.status, RunStatus::Failed);
    assert_eq!(failed.error.as_deref(), Some("step \"second\" failed: broken"));

    h.plugins.broken.store(false, Ordering::SeqCst);
    let rerun = h.executor.rerun(&failed.id, false).unwrap();
    let rerun = h.resume(&rerun.id).await;
    assert_eq!(rerun.status, RunStatus::Succeeded);
    assert_eq!(rerun.rerun_of.as_deref(), Some(failed.id.as_str()));
    let first_calls = h.plugins.calls.lock().unwrap().iter().filter(|(_, a, _)| a == "ok").count();
    assert_eq!(first_calls, 1, "the completed step was not run again");
    assert_eq!(rerun.output, Some(json!({ "fixed": true, "input": { "v": 1 } })));

    // With the flow's current version: a changed input mapping for the failed step.
    h.plugins.broken.store(true, Ordering::SeqCst);
    let failed = h.run("fix", json!({ "n": 8 })).await;
    h.plugins.broken.store(false, Ordering::SeqCst);
    h.apply(
        r#"
name: fix
trigger: manual
steps:
  - { id: first, action: app.ok, connection: c, input: { n: "{{ trigger.n }}" } }
  - { id: second, action: app.toggle, connection: c, input: { v: 2, from: "{{ steps.first.output.got.n }}" } }
  - { id: third, transform: echo, input: "{{ steps.second.output }}" }
"#,
    );
    let rerun = h.executor.rerun(&failed.id, true).unwrap();
    assert_eq!(rerun.version, 2);
    let rerun = h.resume(&rerun.id).await;
    assert_eq!(rerun.output, Some(json!({ "fixed": true, "input": { "v": 2, "from": 8 } })));
    assert!(h.executor.rerun(&rerun.id, false).is_err(), "only failed runs are re-run");
}

#[tokio::test]
async fn global_and_per_flow_concurrency_limits() {
    let h = harness(2);
    h.apply("name: limited\ntrigger: manual\nconcurrency: 1\nsteps:\n  - { id: s, action: app.slow, connection: c }\n");
    h.apply("name: open\ntrigger: manual\nsteps:\n  - { id: s, action: app.slow, connection: c }\n");
    for _ in 0..4 {
        h.executor.start("limited", json!({})).unwrap();
    }
    h.executor.run_until_idle().await.unwrap();
    assert_eq!(h.plugins.max_in_flight.load(Ordering::SeqCst), 1, "flow concurrency 1");
    h.plugins.max_in_flight.store(0, Ordering::SeqCst);
    for _ in 0..6 {
        h.executor.start("open", json!({})).unwrap();
    }
    h.executor.run_until_idle().await.unwrap();
    assert_eq!(h.plugins.max_in_flight.load(Ordering::SeqCst), 2, "the global budget of 2 workers");
    let succeeded = h.db.runs(&RunFilter { status: Some(RunStatus::Succeeded), ..Default::default() }).unwrap();
    assert_eq!(succeeded.len(), 10);
}

#[tokio::test(flavor = "current_thread")]
async fn ten_thousand_delayed_runs_hold_no_tasks() {
    let h = harness(64);
    h.apply("name: later\ntrigger: manual\nsteps:\n  - { id: wait, delay: 1h }\n  - { id: done, transform: echo, input: 1 }\n");
    let mut ids = Vec::new();
    for i in 0..10_000 {
        ids.push(h.executor.start("later", json!({ "i": i })).unwrap().id);
    }
    h.executor.run_until_idle().await.unwrap();
    let waiting = h.db.runs(&RunFilter { status: Some(RunStatus::Waiting), ..Default::default() }).unwrap();
    assert_eq!(waiting.len(), 10_000);
    assert_eq!(h.executor.running(), 0);
    let tasks = tokio::runtime::Handle::current().metrics().num_alive_tasks();
    assert!(tasks <= 1, "{tasks} tasks alive while 10,000 runs wait");

    h.clock.advance(Duration::from_secs(3600));
    h.executor.run_until_idle().await.unwrap();
    let done = h.db.runs(&RunFilter { status: Some(RunStatus::Succeeded), ..Default::default() }).unwrap();
    assert_eq!(done.len(), 10_000);
}

impl weft_core::trigger::TriggerPlugins for FakePlugins {
    fn poll<'a>(
        &'a self,
        _call: weft_core::trigger::TriggerCall<'a>,
        _cursor: Option<&'a str>,
    ) -> BoxFuture<'a, Result<weft_core::plugin::PollResponse, weft_core::trigger::TriggerError>> {
        Box::pin(async { Err(weft_core::trigger::TriggerError::Failed("the fake app has no polling triggers".into())) })
    }
    fn subscribe<'a>(
        &'a self,
        _call: weft_core::trigger::TriggerCall<'a>,
        _url: &'a str,
        _events: &'a [String],
    ) -> BoxFuture<'a, Result<Value, weft_core::trigger::TriggerError>> {
        Box::pin(async { Ok(Value::Null) })
    }
    fn unsubscribe<'a>(
        &'a self,
        _call: weft_core::trigger::TriggerCall<'a>,
        _subscription: &'a Value,
    ) -> BoxFuture<'a, Result<(), weft_core::trigger::TriggerError>> {
        Box::pin(async { Ok(()) })
    }
    fn webhook<'a>(
        &'a self,
        _call: weft_core::trigger::TriggerCall<'a>,
        _request: &'a weft_core::plugin::WebhookRequest,
    ) -> BoxFuture<'a, Result<weft_core::plugin::WebhookOutcome, weft_core::trigger::TriggerError>> {
        Box::pin(async { Err(weft_core::trigger::TriggerError::Failed("the fake app has no webhooks".into())) })
    }
}

#[tokio::test]
async fn cron_schedules_fire_in_their_time_zone_and_catch_up_once() {
    use super::triggers::{TriggerConfig, Triggers};
    let h = harness(4);
    // 2026-01-15T00:00:00Z.
    h.clock.0.store(1_768_435_200_000, Ordering::SeqCst);
    h.apply(
        "name: morning\ntrigger:\n  schedule: { cron: '0 9 * * *', timezone: Europe/Oslo }\nsteps:\n  - { id: say, transform: echo, input: '{{ trigger.scheduled_at }}' }\n",
    );
    let triggers = Triggers::new(
        h.executor.clone(),
        h.db.clone(),
        h.plugins.clone(),
        h.clock.clone(),
        TriggerConfig {
            public_url: "http://weft.test".into(),
            max_backlog: 100,
            max_events_per_request: 50,
            sync_timeout: Duration::from_secs(1),
        },
    );
    triggers.activate("morning").await.unwrap();
    let scheduler = tokio::spawn({
        let t = triggers.clone();
        async move { t.run().await }
    });
    let fired = || -> Vec<String> {
        let mut runs = h.db.runs(&RunFilter { flow: Some("morning".into()), ..Default::default() }).unwrap();
        runs.reverse();
        runs.into_iter().map(|r| r.trigger["scheduled_at"].as_str().unwrap().to_string()).collect()
    };
    let settle = || tokio::time::sleep(Duration::from_millis(150));

    // 08:59:59 in Oslo (UTC+1 in winter): nothing yet.
    h.clock.advance(Duration::from_secs(8 * 3600 - 1));
    settle().await;
    assert!(fired().is_empty());
    h.clock.advance(Duration::from_secs(1));
    settle().await;
    assert_eq!(fired(), ["2026-01-15T09:00:00+01:00"]);
    settle().await;
    assert_eq!(fired().len(), 1, "one fire per occurrence");

    // Three days pass at once (weft was down): one fire, for the latest occurrence.
    h.clock.advance(Duration::from_secs(3 * 86_400));
    settle().await;
    assert_eq!(fired(), ["2026-01-15T09:00:00+01:00", "2026-01-18T09:00:00+01:00"]);

    // Summer time: 09:00 in Oslo is 07:00Z. 2026-04-01T06:59:59Z, then a second later.
    h.clock.0.store(1_775_026_799_000, Ordering::SeqCst);
    settle().await;
    assert_eq!(fired().len(), 3, "the missed March occurrences fire once");
    h.clock.advance(Duration::from_secs(1));
    settle().await;
    assert_eq!(fired().last().unwrap(), "2026-04-01T09:00:00+02:00");

    // Deactivated: no more fires.
    triggers.deactivate("morning").await.unwrap();
    h.clock.advance(Duration::from_secs(86_400));
    settle().await;
    assert_eq!(fired().len(), 4);
    scheduler.abort();
}

#[tokio::test]
async fn cancel_stops_queued_waiting_and_executing_runs() {
    let h = harness(4);
    h.apply("name: waits\ntrigger: manual\nsteps:\n  - { id: nap, delay: 1h }\n  - { id: after, transform: echo, input: x }\n");
    let queued = h.executor.start("waits", json!({})).unwrap();
    let cancelled = h.executor.cancel(&queued.id).await.unwrap();
    assert_eq!(cancelled.status, RunStatus::Cancelled);
    assert!(h.db.queued(10).unwrap().is_empty());
    assert!(matches!(h.executor.cancel(&queued.id).await, Err(super::ExecError::Ended(_, RunStatus::Cancelled))));

    let waiting = h.run("waits", json!({})).await;
    assert_eq!(waiting.status, RunStatus::Waiting);
    assert_eq!(h.executor.cancel(&waiting.id).await.unwrap().status, RunStatus::Cancelled);
    h.clock.advance(Duration::from_secs(7200));
    h.executor.run_until_idle().await.unwrap();
    assert_eq!(h.db.run(&waiting.id).unwrap().unwrap().status, RunStatus::Cancelled, "its timer is gone");
    assert_eq!(h.db.backlog().unwrap(), 0);

    // An executing run stops before its next step.
    h.apply("name: slow\ntrigger: manual\nsteps:\n  - { id: a, action: app.slow, connection: c }\n  - { id: b, action: app.ok, connection: c }\n");
    let run = h.executor.start("slow", json!({})).unwrap();
    h.executor.dispatch().unwrap();
    let waiter = tokio::spawn({
        let ex = h.executor.clone();
        let id = run.id.clone();
        async move { ex.finished(&id).await.unwrap() }
    });
    h.executor.cancel(&run.id).await.unwrap();
    let ended = waiter.await.unwrap();
    assert_eq!(ended.status, RunStatus::Cancelled);
    assert!(h.db.step(&run.id, "b").unwrap().is_none(), "the next step never started");
}

#[tokio::test]
async fn held_back_records_go_out_with_the_next_write_in_order() {
    let h = harness(4);
    h.apply(
        "name: held\ntrigger: manual\nsteps:\n  - { id: up, transform: upper, input: { text: a } }\n  - { id: call, action: app.slow, connection: c }\n  - { id: last, transform: echo, input: b }\n",
    );
    let run = h.executor.start("held", json!({})).unwrap();
    h.executor.dispatch().unwrap();
    // While the action is in flight, its running record is in the store, and
    // with it the transform before it and the run's `running` status.
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    while h.db.step(&run.id, "call").unwrap().is_none() {
        assert!(std::time::Instant::now() < deadline, "the action's record never appeared");
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    assert_eq!(h.step(&run.id, "call").status, StepStatus::Running);
    assert_eq!(h.step(&run.id, "up").output.unwrap(), json!("A"));
    assert_eq!(h.db.run(&run.id).unwrap().unwrap().status, RunStatus::Running);
    assert!(h.db.step(&run.id, "last").unwrap().is_none());

    let ended = h.executor.finished(&run.id).await.unwrap();
    assert_eq!(ended.status, RunStatus::Succeeded);
    let steps = h.db.steps(&run.id).unwrap();
    let paths: Vec<(&str, StepStatus)> = steps.iter().map(|s| (s.path.as_str(), s.status)).collect();
    assert_eq!(
        paths,
        [("up", StepStatus::Succeeded), ("call", StepStatus::Succeeded), ("last", StepStatus::Succeeded)]
    );
    assert_eq!(h.db.run(&run.id).unwrap().unwrap(), ended, "the end is written with the last transform");
}

#[tokio::test]
async fn a_run_that_already_waits_is_not_executed_again_from_the_ready_list() {
    let h = harness(4);
    h.apply("name: parks\ntrigger: manual\nsteps:\n  - { id: nap, delay: 1h }\n");
    let run = h.run("parks", json!({})).await;
    assert_eq!(run.status, RunStatus::Waiting);
    // A scan of the queue can start a run before the ready list reaches it;
    // by then the run may be parked on its delay. Nothing more happens to it.
    let writes = h.db.writes();
    h.executor.submit(std::slice::from_ref(&run));
    h.executor.run_until_idle().await.unwrap();
    assert_eq!(h.db.writes(), writes, "not executed (nor saved) again");
    assert_eq!(h.db.run(&run.id).unwrap().unwrap(), run);
    h.clock.advance(Duration::from_secs(3601));
    assert_eq!(h.resume(&run.id).await.status, RunStatus::Succeeded, "its timer still wakes it");
}

/// Watchers see a run queued, running, waiting and ended, and each step
/// record as it is written, in order.
#[tokio::test]
async fn watchers_see_every_status_change_and_step_write() {
    let h = harness(8);
    h.apply(
        r#"
name: watched
trigger: manual
steps:
  - { id: first, transform: echo, input: 1 }
  - { id: pause, delay: 1m }
  - { id: call, action: app.ok, connection: c, input: {} }
"#,
    );
    let mut changes = h.executor.changes();
    let run = h.run("watched", json!({})).await;
    assert_eq!(run.status, RunStatus::Waiting);
    h.clock.advance(Duration::from_secs(60));
    let run = h.resume(&run.id).await;
    assert_eq!(run.status, RunStatus::Succeeded, "{:?}", run.error);
    let mut seen = Vec::new();
    while let Ok(change) = changes.try_recv() {
        seen.push(match change {
            super::Change::Run { id, status, .. } => {
                assert_eq!(id, run.id);
                format!("run {status}")
            }
            super::Change::Step { run: id, path, status } => {
                assert_eq!(id, run.id);
                format!("{path} {}", serde_json::to_value(status).unwrap().as_str().unwrap())
            }
        });
    }
    assert_eq!(
        seen,
        [
            "run queued",
            "run running",
            "first succeeded",
            "pause waiting",
            "run waiting",
            "run running",
            "pause succeeded",
            "call running",
            "call succeeded",
            "run succeeded",
        ],
        "{seen:#?}"
    );
}

fn test_of(yaml: &str, pinned: Value, until: Option<&str>) -> TestRun {
    TestRun {
        def: FlowDef::parse(yaml).unwrap(),
        pinned: serde_json::from_value(pinned).unwrap(),
        until: until.map(str::to_string),
    }
}

const TESTED: &str = r#"
name: tested
trigger: manual
steps:
  - id: up
    transform: upper
    input: { text: "{{ trigger.name }}" }
  - id: call
    action: app.ok
    connection: c
    input: { name: "{{ steps.up.output }}" }
  - id: later
    delay: 1d
  - id: last
    transform: echo
    input: { called: "{{ steps.call.output }}", waited: "{{ steps.later.output.not_waited }}" }
"#;

#[tokio::test]
async fn a_test_run_uses_pinned_outputs_does_not_wait_and_is_listed_apart() {
    let h = harness(4);
    // The flow need not be saved: a test run carries its definition.
    let pinned = json!({ "call": { "id": 42 } });
    let run = h.executor.start_test(test_of(TESTED, pinned, None), json!({ "name": "ada" })).unwrap();
    assert!(run.is_test());
    h.executor.run_until_idle().await.unwrap();
    let run = h.db.run(&run.id).unwrap().unwrap();
    assert_eq!(run.status, RunStatus::Succeeded, "{:?}", run.error);
    assert_eq!(run.output.unwrap(), json!({ "called": { "id": 42 }, "waited": true }));
    assert!(h.plugins.calls.lock().unwrap().is_empty(), "the pinned action was not called");
    let call = h.step(&run.id, "call");
    assert!(call.pinned);
    assert_eq!(call.input.unwrap(), json!({ "name": "ADA" }), "the input is rendered all the same");
    assert!(!h.step(&run.id, "up").pinned);

    // Production listings, statistics and retention classes leave it out.
    assert!(h.db.runs(&RunFilter::default()).unwrap().is_empty());
    let tests = h.db.runs(&RunFilter { test: true, ..Default::default() }).unwrap();
    assert_eq!(tests.len(), 1);
    assert_eq!(h.db.recent_ended("tested", EndClass::Succeeded, 0, u64::MAX, 10).unwrap().len(), 0);
    assert_eq!(h.db.recent_ended("tested", EndClass::Test, 0, u64::MAX, 10).unwrap().len(), 1);
    assert_eq!(h.db.ended_total("tested").unwrap(), 0);
}

#[tokio::test]
async fn a_test_run_stops_after_the_step_it_tests_and_unpinned_actions_run() {
    let h = harness(4);
    let run = h.executor.start_test(test_of(TESTED, json!({}), Some("call")), json!({ "name": "bo" })).unwrap();
    h.executor.run_until_idle().await.unwrap();
    let run = h.db.run(&run.id).unwrap().unwrap();
    assert_eq!(run.status, RunStatus::Succeeded, "{:?}", run.error);
    assert_eq!(run.output.unwrap(), json!({ "got": { "name": "BO" } }), "the tested step's output");
    assert_eq!(h.plugins.calls.lock().unwrap().len(), 1, "an action not pinned runs for real");
    assert!(h.db.step(&run.id, "later").unwrap().is_none(), "nothing after the tested step ran");
}

#[tokio::test]
async fn a_test_run_refuses_unknown_pins_and_invalid_flows() {
    let h = harness(1);
    let e = h.executor.start_test(test_of(TESTED, json!({ "nope": 1 }), None), json!({})).unwrap_err();
    assert_eq!(e.to_string(), r#"pinned output for "nope": "nope" is not a step of the flow"#);
    let e = h.executor.start_test(test_of(TESTED, json!({ "later": 1 }), None), json!({})).unwrap_err();
    assert_eq!(e.to_string(), r#"pinned output for "later": "later" is not an action or transform"#);
    let e = h.executor.start_test(test_of(TESTED, json!({}), Some("zzz")), json!({})).unwrap_err();
    assert_eq!(e.to_string(), r#"until: "zzz" is not a step of the flow"#);
    let bad = TESTED.replace("app.ok", "app.missing");
    let e = h.executor.start_test(test_of(&bad, json!({}), None), json!({})).unwrap_err();
    assert!(e.to_string().contains("steps.call.action"), "{e}");
    assert!(h.db.runs(&RunFilter { test: true, ..Default::default() }).unwrap().is_empty());
}

// ---- error flows, sub-flows, respond --------------------------------------------------------

fn runs_of(h: &Harness, flow: &str) -> Vec<RunRecord> {
    let filter = RunFilter { flow: Some(flow.into()), ..RunFilter::default() };
    h.db.runs(&filter).unwrap()
}

#[tokio::test]
async fn a_failure_for_good_starts_the_error_flow_once_and_an_error_flow_never_loops() {
    let h = harness_with(ExecutorConfig {
        public_url: Some("http://weft.test/".into()),
        error_flow: Some("fallback".into()),
        ..ExecutorConfig::default()
    });
    h.apply("name: notify\ntrigger: manual\nsteps:\n  - { id: say, transform: echo, input: '{{ trigger }}' }\n");
    // The error flow fails too: that starts nothing more.
    h.apply("name: fallback\ntrigger: manual\nsteps:\n  - { id: boom, action: app.fatal, connection: c }\n");
    h.apply(
        "name: orders\ntrigger: manual\non_failure: notify\nsteps:\n  - { id: create, action: app.fatal, connection: c }\n",
    );
    h.apply("name: plain\ntrigger: manual\nsteps:\n  - { id: create, action: app.fatal, connection: c }\n");
    h.apply("name: fine\ntrigger: manual\nsteps:\n  - { id: ok, action: app.ok, connection: c }\n");

    let failed = h.run("orders", json!({ "order": 7 })).await;
    assert_eq!(failed.status, RunStatus::Failed);
    let reports = runs_of(&h, "notify");
    assert_eq!(reports.len(), 1, "one error run per failure");
    let report = &reports[0];
    assert_eq!(failed.error_run.as_deref(), Some(report.id.as_str()), "the failed run links to its report");
    assert_eq!(report.failure_of.as_deref(), Some(failed.id.as_str()));
    assert_eq!(report.status, RunStatus::Succeeded, "{:?}", report.error);
    let summary = report.output.clone().unwrap();
    assert_eq!(summary["flow"], "orders");
    assert_eq!(summary["run"], json!(failed.id));
    assert_eq!(summary["failed_step"], "create");
    assert_eq!(summary["error"]["message"], json!(failed.error.clone().unwrap()));
    assert_eq!(summary["url"], json!(format!("http://weft.test/runs/{}", failed.id)));
    assert_eq!(summary["event"], json!({ "order": 7 }));

    // No on_failure: the server's default error flow, which fails and starts nothing.
    let plain = h.run("plain", json!({})).await;
    let fallback = runs_of(&h, "fallback");
    assert_eq!(fallback.len(), 1);
    assert_eq!(fallback[0].failure_of.as_deref(), Some(plain.id.as_str()));
    assert_eq!(fallback[0].status, RunStatus::Failed);
    assert!(fallback[0].error_run.is_none(), "an error flow's failure reports to no flow");
    assert_eq!(runs_of(&h, "fallback").len(), 1);
    assert_eq!(runs_of(&h, "notify").len(), 1);

    // Success and cancellation start nothing.
    h.run("fine", json!({})).await;
    assert_eq!(runs_of(&h, "fallback").len() + runs_of(&h, "notify").len(), 2);
}

#[tokio::test]
async fn a_call_waits_for_its_sub_flow_without_a_worker_and_takes_its_output() {
    let h = harness(4);
    h.apply(
        "name: child\ntrigger: manual\nsteps:\n  - { id: up, transform: upper, input: { text: '{{ trigger.name }}' } }\n  \
         - { id: wait, delay: 1m }\n  - { id: out, transform: echo, input: { upper: '{{ steps.up.output }}' } }\n",
    );
    h.apply(
        "name: parent\ntrigger: manual\nsteps:\n  - { id: sub, call: child, input: { name: '{{ trigger.who }}' } }\n  \
         - { id: after, transform: echo, input: 'got {{ steps.sub.output.upper }}' }\n",
    );
    let parent = h.run("parent", json!({ "who": "ada" })).await;
    assert_eq!(parent.status, RunStatus::Waiting, "parked like a delay");
    assert_eq!(h.executor.running(), 0, "no worker is held");
    let sub = h.step(&parent.id, "sub");
    assert_eq!(sub.status, StepStatus::Waiting);
    let child_id = sub.child.clone().expect("the step names the run it started");
    let child = h.db.run(&child_id).unwrap().unwrap();
    assert_eq!(
        child.parent.as_ref().map(|p| (p.run.as_str(), p.step.as_str(), p.depth)),
        Some((parent.id.as_str(), "sub", 1))
    );
    assert_eq!(*child.trigger, json!({ "name": "ada" }));
    assert_eq!(child.status, RunStatus::Waiting);

    // The child's delay ends: its end wakes the parent at once.
    h.clock.advance(Duration::from_secs(61));
    h.executor.run_until_idle().await.unwrap();
    let parent = h.db.run(&parent.id).unwrap().unwrap();
    assert_eq!(parent.status, RunStatus::Succeeded, "{:?}", parent.error);
    assert_eq!(parent.output, Some(json!("got ADA")));
    assert_eq!(h.step(&parent.id, "sub").output, Some(json!({ "upper": "ADA" })));
    assert_eq!(runs_of(&h, "child").len(), 1, "the child ran once");
}

#[tokio::test]
async fn a_failed_sub_flow_fails_the_call_unless_on_error_says_otherwise() {
    let h = harness(4);
    h.apply("name: broken\ntrigger: manual\nsteps:\n  - { id: create, action: app.fatal, connection: c }\n");
    h.apply("name: strict\ntrigger: manual\nsteps:\n  - { id: sub, call: broken }\n");
    h.apply(
        "name: lenient\ntrigger: manual\nsteps:\n  - { id: sub, call: broken, on_error: continue }\n  \
         - { id: after, transform: echo, input: '{{ steps.sub.output.error }}' }\n",
    );
    let strict = h.run("strict", json!({})).await;
    assert_eq!(strict.status, RunStatus::Failed);
    let error = strict.error.unwrap();
    assert!(error.starts_with("step \"sub\" failed: sub-flow \"broken\" (run "), "{error}");
    assert!(error.ends_with("failed: step \"create\" failed: the record is invalid"), "{error}");
    assert_eq!(h.step(&strict.id, "sub").error.unwrap().kind.as_deref(), Some("sub-flow"));
    let lenient = h.run("lenient", json!({})).await;
    assert_eq!(lenient.status, RunStatus::Succeeded, "{:?}", lenient.error);
    assert!(lenient.output.unwrap().as_str().unwrap().contains("the record is invalid"));
}

#[tokio::test]
async fn calls_nest_only_so_deep() {
    let h = harness(4);
    // A cycle that `flow apply` refuses, stored directly: the depth limit stops it at run time.
    h.apply("name: loop\ntrigger: manual\nsteps:\n  - { id: again, call: loop }\n");
    let run = h.run("loop", json!({})).await;
    let all = runs_of(&h, "loop");
    assert_eq!(all.len() as u32, super::engine::MAX_CALL_DEPTH + 1, "the first and 8 nested");
    let deepest =
        all.iter().find(|r| r.parent.as_ref().is_some_and(|p| p.depth == super::engine::MAX_CALL_DEPTH)).unwrap();
    assert_eq!(deepest.status, RunStatus::Failed);
    assert!(
        deepest.error.as_ref().unwrap().contains("would nest sub-flows 9 deep; the limit is 8"),
        "{:?}",
        deepest.error
    );
    assert_eq!(h.db.run(&run.id).unwrap().unwrap().status, RunStatus::Failed, "the failure climbs back up");
}

#[tokio::test]
async fn a_resumed_call_never_starts_its_sub_flow_twice_and_cancelling_cancels_it() {
    let h = harness(4);
    h.apply("name: slow\ntrigger: manual\nsteps:\n  - { id: wait, delay: 1h }\n");
    h.apply("name: caller\ntrigger: manual\nsteps:\n  - { id: sub, call: slow }\n");
    let run = h.run("caller", json!({})).await;
    // Woken early again and again (its look-again timer, a restart): still one child.
    for _ in 0..3 {
        h.clock.advance(Duration::from_secs(31));
        h.executor.run_until_idle().await.unwrap();
    }
    assert_eq!(runs_of(&h, "slow").len(), 1);
    assert_eq!(h.db.run(&run.id).unwrap().unwrap().status, RunStatus::Waiting);
    let child = h.step(&run.id, "sub").child.unwrap();
    h.executor.cancel(&run.id).await.unwrap();
    assert_eq!(h.db.run(&child).unwrap().unwrap().status, RunStatus::Cancelled, "the sub-flow is cancelled with it");
}

#[tokio::test]
async fn a_respond_step_answers_before_the_run_ends() {
    use super::engine::Answer;
    let h = harness(4);
    h.apply(
        "name: hook\ntrigger: { webhook: { connector: app, trigger: hook, connection: c, sync: true } }\nsteps:\n  \
         - id: answer\n    respond: { status: '{{ trigger.code }}', headers: { X-Id: '{{ run.id }}' }, body: { ok: true } }\n  \
         - { id: later, delay: 1m }\n",
    );
    let stored = h.db.flow("hook").unwrap().unwrap();
    let run = h.executor.prepare_runs(&stored, std::iter::once(json!({ "code": "201" }))).pop().unwrap();
    h.db.create_run(&run).unwrap();
    let answer = h.executor.answer(&run.id);
    h.executor.submit(std::slice::from_ref(&run));
    let (answer, _) = tokio::join!(answer, h.executor.run_until_idle());
    match answer.unwrap() {
        Answer::Respond(r) => {
            assert_eq!(r, json!({ "status": 201, "headers": { "x-id": run.id }, "body": { "ok": true } }))
        }
        Answer::Ended(run) => panic!("no answer, the run ended: {run:?}"),
    }
    assert_eq!(h.db.run(&run.id).unwrap().unwrap().status, RunStatus::Waiting, "the run went on");
}

#[test]
fn links_to_other_flows_are_checked_with_their_paths() {
    use super::validate::check_links;
    let flows: std::collections::HashMap<&str, FlowDef> = [
        ("a", "name: a\ntrigger: manual\nsteps:\n  - { id: to_b, call: b }\n"),
        ("b", "name: b\ntrigger: manual\nsteps:\n  - { id: c, if: 'true', then: [ { id: to_c, call: c } ] }\n"),
        ("c", "name: c\ntrigger: manual\nsteps:\n  - { id: x, transform: echo }\n"),
    ]
    .into_iter()
    .map(|(n, y)| (n, FlowDef::parse(y).unwrap()))
    .collect();
    let lookup = |name: &str| flows.get(name).cloned();
    let new = FlowDef::parse(
        "name: c\ntrigger: manual\non_failure: nobody\nsteps:\n  - { id: to_a, call: a }\n  - { id: to_z, call: z }\n",
    )
    .unwrap();
    let problems: Vec<(String, String)> = check_links(&new, &lookup).into_iter().map(|p| (p.path, p.message)).collect();
    assert_eq!(
        problems,
        [
            ("on_failure".to_string(), "no flow named \"nobody\"".to_string()),
            ("steps.to_a.call".into(), "calling \"a\" makes a cycle of sub-flows: c → a → b → c".into()),
            ("steps.to_z.call".into(), "no flow named \"z\"".into()),
        ]
    );
    assert!(check_links(&flows["a"], &lookup).is_empty());
}

#[test]
fn respond_is_only_for_flows_that_answer_their_caller() {
    let plugins = FakePlugins::default();
    let def = FlowDef::parse("name: f\ntrigger: manual\nsteps:\n  - { id: r, respond: { status: 700 } }\n").unwrap();
    let problems: Vec<String> = match super::validate(def, &plugins) {
        Err(e) => e.problems.into_iter().map(|p| format!("{}: {}", p.path, p.message)).collect(),
        Ok(_) => panic!("valid"),
    };
    assert_eq!(problems.len(), 2, "{problems:?}");
    assert!(
        problems[0].starts_with("steps.r.respond: only a flow whose webhook trigger has `sync: true`"),
        "{problems:?}"
    );
    assert_eq!(problems[1], "steps.r.respond.status: 700 is not an HTTP status (a whole number from 100 to 599)");
}

// ---- rate limits --------------------------------------------------------------------------------

impl Harness {
    /// Dispatch what may start now and let it run until nothing executes.
    async fn settle(&self) {
        loop {
            self.executor.dispatch().unwrap();
            tokio::time::sleep(Duration::from_millis(2)).await;
            if self.executor.running() == 0 {
                self.executor.dispatch().unwrap();
                tokio::time::sleep(Duration::from_millis(2)).await;
                if self.executor.running() == 0 {
                    return;
                }
            }
        }
    }

    fn count(&self, flow: &str, status: RunStatus) -> usize {
        runs_of(self, flow).iter().filter(|r| r.status == status).count()
    }
}

#[tokio::test]
async fn runs_over_their_flows_rate_wait_in_the_queue() {
    let h = harness(8);
    h.apply("name: paced\ntrigger: manual\nrate_limit: { per_second: 4, burst: 2 }\nsteps:\n  - { id: a, transform: echo }\n");
    for n in 0..6 {
        h.executor.start("paced", json!(n)).unwrap();
    }
    h.settle().await;
    assert_eq!(h.count("paced", RunStatus::Succeeded), 2, "the burst goes at once");
    assert_eq!(h.count("paced", RunStatus::Queued), 4, "the rest wait, queued, holding no worker");
    assert_eq!(h.executor.running(), 0);
    h.clock.advance(Duration::from_millis(250));
    h.settle().await;
    assert_eq!(h.count("paced", RunStatus::Succeeded), 3, "then one per 250 ms");
    // A second later: the slots missed meanwhile are not all made up, only the burst's worth.
    h.clock.advance(Duration::from_millis(750));
    h.settle().await;
    assert_eq!(h.count("paced", RunStatus::Succeeded), 5);
    h.clock.advance(Duration::from_millis(250));
    h.settle().await;
    assert_eq!(h.count("paced", RunStatus::Succeeded), 6);
}

#[tokio::test]
async fn actions_over_their_connections_rate_park_for_their_slot() {
    let h = harness(8);
    h.apply("name: calls\ntrigger: manual\nsteps:\n  - { id: send, action: app.ok, connection: limited }\n");
    let start = h.clock.now_ms();
    let ids: Vec<String> = (0..5).map(|n| h.executor.start("calls", json!(n)).unwrap().id).collect();
    h.settle().await;
    assert_eq!(h.plugins.calls.lock().unwrap().len(), 2, "a burst of 2 called at once");
    let mut wakes: Vec<u64> = ids
        .iter()
        .map(|id| h.step(id, "send"))
        .filter(|r| r.status == StepStatus::Waiting)
        .map(|r| {
            assert!(r.throttled, "{r:?}");
            assert_eq!(r.attempts, 0, "waiting for a slot is not an attempt");
            r.wake_ms.unwrap() - start
        })
        .collect();
    wakes.sort();
    assert_eq!(wakes, [100, 200, 300], "each waiting call holds its own slot, 100 ms apart");
    for _ in 0..3 {
        h.clock.advance(Duration::from_millis(100));
        h.settle().await;
    }
    assert_eq!(h.plugins.calls.lock().unwrap().len(), 5);
    assert_eq!(h.count("calls", RunStatus::Succeeded), 5);
    assert!(
        h.plugins.calls.lock().unwrap().iter().all(|(_, _, attempt)| *attempt == 1),
        "each called once, as attempt 1"
    );
}

#[tokio::test]
async fn a_rate_limited_answer_slows_every_action_of_the_connection() {
    let h = harness(8);
    h.apply("name: first\ntrigger: manual\nsteps:\n  - { id: hit, action: app.rate, connection: shared }\n");
    h.apply("name: other\ntrigger: manual\nsteps:\n  - { id: send, action: app.ok, connection: shared }\n");
    let first = h.executor.start("first", json!({})).unwrap();
    h.settle().await;
    let hit = h.step(&first.id, "hit");
    assert_eq!(hit.status, StepStatus::Waiting, "the run that was told waits its retry-after");
    let told = hit.retried[0].ended_ms;
    // Another run of another flow, on the same connection: it waits too, without calling.
    let other = h.executor.start("other", json!({})).unwrap();
    h.settle().await;
    let send = h.step(&other.id, "send");
    assert!(send.throttled && send.status == StepStatus::Waiting, "{send:?}");
    assert_eq!(send.wake_ms, Some(told + 30_000));
    assert_eq!(h.plugins.calls.lock().unwrap().len(), 1, "nothing else reached the application");
    h.clock.advance(Duration::from_secs(31));
    h.settle().await;
    assert_eq!(h.db.run(&other.id).unwrap().unwrap().status, RunStatus::Succeeded);
    assert_eq!(h.db.run(&first.id).unwrap().unwrap().status, RunStatus::Succeeded);
}

#[test]
fn a_rate_of_zero_is_refused_with_its_path() {
    let plugins = FakePlugins::default();
    for (rate, message) in [
        (
            "{ per_second: 0 }",
            "rate_limit: a rate of 0 would stop everything: give at least 1 (or leave rate_limit out)",
        ),
        ("{ per_second: 1, per_minute: 5 }", "rate_limit: give per_second or per_minute, not both"),
        ("{ burst: 3 }", "rate_limit: give per_second or per_minute"),
        ("{ per_minute: 5, burst: 0 }", "rate_limit: burst must be at least 1"),
    ] {
        let def = FlowDef::parse(&format!(
            "name: f\ntrigger: manual\nrate_limit: {rate}\nsteps:\n  - {{ id: a, transform: echo }}\n"
        ))
        .unwrap();
        let problems: Vec<String> = match super::validate(def, &plugins) {
            Err(e) => e.problems.into_iter().map(|p| format!("{}: {}", p.path, p.message)).collect(),
            Ok(_) => panic!("{rate} was accepted"),
        };
        assert_eq!(problems, [message]);
    }
}
