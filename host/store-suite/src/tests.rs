//! The suite's bodies: each takes a new, empty store.

use crate::Backend;
use serde_json::json;
use std::sync::Arc;
use weft_core::connection::Connection;
use weft_core::kv::{KV_ENTRY_BYTES, KvQuota, KvSet};
use weft_core::model::FlowDef;
use weft_core::run::{EndClass, EndedRun, RunFilter, RunRecord, RunStatus, StepRecord, StepStatus, TestRun};
use weft_core::trigger::{PollState, TriggerRecord};

/// A run of flow `f`, created at 0.
pub fn run(id: &str, status: RunStatus, wake_ms: Option<u64>) -> RunRecord {
    RunRecord {
        id: id.into(),
        flow: "f".into(),
        version: 1,
        status,
        trigger: json!({}).into(),
        created_ms: 0,
        updated_ms: 0,
        error: None,
        output: None,
        wake_ms,
        rerun_of: None,
        plugins: Default::default(),
        test: None,
        parent: None,
        failure_of: None,
        error_run: None,
    }
}

/// A step record at `path`, new (no place in the run's order yet).
pub fn step(path: &str, status: StepStatus) -> StepRecord {
    StepRecord {
        path: path.into(),
        step_id: path.rsplit('.').next().unwrap_or(path).into(),
        status,
        input: Some(json!({ "n": 1 })),
        output: None,
        error: None,
        attempts: 1,
        retried: Vec::new(),
        started_ms: 0,
        ended_ms: None,
        wake_ms: None,
        logs: vec![],
        dropped_logs: 0,
        seq: 0,
        pinned: false,
        node: None,
        child: None,
        throttled: false,
        io: None,
    }
}

fn ended_at(id: &str, flow: &str, status: RunStatus, ended_ms: u64) -> RunRecord {
    RunRecord { flow: flow.into(), updated_ms: ended_ms, ..run(id, status, None) }
}

fn ids(list: Vec<EndedRun>) -> Vec<String> {
    list.into_iter().map(|r| r.id).collect()
}

pub fn flows_get_a_new_version_only_when_changed(db: &dyn Backend) {
    let def = FlowDef::parse("name: f\ntrigger: manual\nsteps: [ { id: a, delay: 1s } ]").unwrap();
    assert_eq!(db.put_flow(&def, 1).unwrap().version, 1);
    assert_eq!(db.put_flow(&def, 2).unwrap().version, 1);
    assert_eq!(db.flow("f").unwrap().unwrap().version, 1, "read (and perhaps kept decoded) before the change");
    let changed = FlowDef::parse("name: f\ntrigger: manual\nsteps: [ { id: a, delay: 2s } ]").unwrap();
    assert_eq!(db.put_flow(&changed, 3).unwrap().version, 2);
    assert_eq!(db.flow_version("f", 1).unwrap().unwrap().def, def);
    assert_eq!(db.flow("f").unwrap().unwrap().def, changed, "a change is seen at once");
    assert_eq!(db.flows().unwrap().iter().map(|f| (f.name.as_str(), f.version)).collect::<Vec<_>>(), [("f", 2)]);
    assert!(db.delete_flow("f").unwrap());
    assert!(!db.delete_flow("f").unwrap(), "deleting twice is not an error, and says so");
    assert_eq!(db.flow("f").unwrap(), None, "so is a deletion");
    assert_eq!(db.flow_version("f", 2).unwrap().unwrap().def, changed, "versions stay for the runs that ran them");
    assert_eq!(db.put_flow(&def, 4).unwrap().version, 3, "a flow made again goes on from its last version");
}

pub fn runs_move_between_queue_and_timers(db: &dyn Backend) {
    db.create_run(&run("r1", RunStatus::Queued, None)).unwrap();
    db.create_run(&run("r2", RunStatus::Queued, None)).unwrap();
    assert_eq!(db.queued(10).unwrap(), ["r1", "r2"]);
    assert_eq!(db.backlog().unwrap(), 2);
    db.save_run(&run("r1", RunStatus::Running, None)).unwrap();
    assert_eq!(db.queued(10).unwrap(), ["r1", "r2"], "a running run keeps its place: a crash re-runs it");
    db.save_run(&run("r1", RunStatus::Waiting, Some(500))).unwrap();
    assert_eq!(db.queued(10).unwrap(), ["r2"]);
    assert_eq!(db.backlog().unwrap(), 1);
    assert_eq!(db.next_wake().unwrap(), Some(500));
    assert!(db.wake_due(499).unwrap().is_empty());
    assert_eq!(db.wake_due(500).unwrap(), ["r1"]);
    assert_eq!(db.run("r1").unwrap().unwrap().status, RunStatus::Queued, "woken runs are queued");
    assert_eq!(db.run("r1").unwrap().unwrap().wake_ms, None);
    assert!(db.wake_due(500).unwrap().is_empty(), "and woken once");
    assert_eq!(db.next_wake().unwrap(), None);
    assert_eq!(db.queued(10).unwrap(), ["r1", "r2"]);
    assert_eq!(db.queued(1).unwrap(), ["r1"], "oldest first, at most the limit");
    db.save_run(&run("r1", RunStatus::Succeeded, None)).unwrap();
    assert_eq!(db.queued(10).unwrap(), ["r2"]);
    assert_eq!(db.run("r1").unwrap().unwrap().status, RunStatus::Succeeded);
    db.unqueue("r2").unwrap();
    assert_eq!(db.queued(10).unwrap(), ["r2"], "a run with a record keeps its place");
    assert_eq!(db.run("nothing").unwrap(), None);
}

pub fn a_runs_event_is_kept_through_every_change(db: &dyn Backend) {
    let event = json!({ "contacts": ["a", "b"], "n": 1, "text": "naïve \u{1F600} \"quoted\"" });
    let mut r = run("r1", RunStatus::Queued, None);
    r.trigger = event.clone().into();
    r.plugins.insert("http".into(), "sha256:abc".into());
    db.create_run(&r).unwrap();
    assert_eq!(db.run("r1").unwrap().unwrap(), r);
    for status in [RunStatus::Running, RunStatus::Waiting, RunStatus::Succeeded] {
        r.status = status;
        r.wake_ms = (status == RunStatus::Waiting).then_some(100);
        if status == RunStatus::Succeeded {
            assert_eq!(db.wake_due(100).unwrap(), ["r1"]);
            assert_eq!(*db.run("r1").unwrap().unwrap().trigger, event, "waking keeps the event");
            r.output = Some(json!({ "done": true }));
        }
        db.save_run(&r).unwrap();
        assert_eq!(db.run("r1").unwrap().unwrap(), r, "read back whole");
    }
    assert_eq!(db.runs(&RunFilter::default()).unwrap(), [r.clone()], "listed whole");
    // A run saved before it was created (a re-run's record) is created with its event.
    let mut saved = run("r2", RunStatus::Failed, None);
    saved.trigger = json!({ "again": 1 }).into();
    saved.error = Some("it failed".into());
    db.save_run(&saved).unwrap();
    assert_eq!(db.run("r2").unwrap().unwrap(), saved);
}

/// Run ids begin with their creation time, so listing by time reads only that span.
pub fn runs_are_listed_newest_first_within_a_time_span(db: &dyn Backend) {
    for (ms, flow) in [(1_000u64, "a"), (2_000, "b"), (3_000, "a"), (4_000, "a")] {
        let mut r = run(&format!("{ms:012x}{:016x}", 7), RunStatus::Queued, None);
        (r.flow, r.created_ms) = (flow.to_string(), ms);
        db.create_run(&r).unwrap();
    }
    let created = |filter: RunFilter| db.runs(&filter).unwrap().iter().map(|r| r.created_ms).collect::<Vec<_>>();
    assert_eq!(created(RunFilter::default()), [4_000, 3_000, 2_000, 1_000]);
    assert_eq!(created(RunFilter { since_ms: Some(2_000), ..Default::default() }), [4_000, 3_000, 2_000]);
    assert_eq!(created(RunFilter { before_ms: Some(3_000), ..Default::default() }), [2_000, 1_000]);
    let page = RunFilter { flow: Some("a".into()), before_ms: Some(4_000), limit: 1, ..Default::default() };
    assert_eq!(created(page), [3_000], "the next page of one flow's runs");
    let failed = RunFilter { status: Some(RunStatus::Failed), ..Default::default() };
    assert_eq!(created(failed), Vec::<u64>::new());
    let queued = RunFilter { status: Some(RunStatus::Queued), limit: 2, ..Default::default() };
    assert_eq!(created(queued), [4_000, 3_000]);
}

pub fn test_runs_are_listed_and_counted_apart(db: &dyn Backend) {
    let def = FlowDef::parse("name: a\ntrigger: manual\nsteps: []\n").unwrap();
    let test = Some(Arc::new(TestRun { def, pinned: Default::default(), until: None }));
    let mut t = RunRecord { test, ..ended_at("t1", "a", RunStatus::Queued, 0) };
    db.create_run(&t).unwrap();
    t.status = RunStatus::Succeeded;
    t.updated_ms = 50;
    db.save_run(&t).unwrap();
    let mut p = ended_at("p1", "a", RunStatus::Queued, 0);
    db.create_run(&p).unwrap();
    p.status = RunStatus::Failed;
    p.updated_ms = 60;
    db.save_run(&p).unwrap();
    let listed = |test| db.runs(&RunFilter { test, ..Default::default() }).unwrap();
    assert_eq!(listed(false).iter().map(|r| r.id.as_str()).collect::<Vec<_>>(), ["p1"]);
    let tests = listed(true);
    assert_eq!(tests.len(), 1);
    assert_eq!(tests[0], db.run("t1").unwrap().unwrap(), "the test (definition and all) is kept");
    assert!(tests[0].test.as_ref().is_some_and(|t| t.def.name == "a"));
    assert_eq!(db.ended_total("a").unwrap(), 1, "test runs do not count against max_runs");
    let ended = db.ended_runs("a", EndClass::Test, u64::MAX, 10).unwrap();
    assert_eq!(ended.iter().map(|r| r.id.as_str()).collect::<Vec<_>>(), ["t1"]);
    assert_eq!(db.delete_runs(&ended).unwrap(), 1);
    assert_eq!(db.ended_total("a").unwrap(), 1);
    assert!(db.run("t1").unwrap().is_none());
}

pub fn ended_runs_are_listed_by_flow_class_and_end_and_deleted_whole(db: &dyn Backend) {
    db.prepare_retention().unwrap();
    // Through their lives: created, running, ended.
    for (id, flow, status, ended) in [
        ("r1", "a", RunStatus::Succeeded, 100),
        ("r2", "a", RunStatus::Failed, 200),
        ("r3", "a", RunStatus::Succeeded, 300),
        ("r4", "b", RunStatus::Cancelled, 150),
        ("r5", "a", RunStatus::Waiting, 0),
    ] {
        let mut r = ended_at(id, flow, RunStatus::Queued, 0);
        db.create_run(&r).unwrap();
        r.status = RunStatus::Running;
        db.save_run(&r).unwrap();
        db.put_step(id, &mut step("s", StepStatus::Succeeded)).unwrap();
        r.status = status;
        r.updated_ms = ended;
        r.wake_ms = (status == RunStatus::Waiting).then_some(10_000);
        db.save_run(&r).unwrap();
    }
    assert_eq!(db.flows_with_ended_runs().unwrap(), ["a", "b"]);
    assert_eq!(db.ended_total("a").unwrap(), 3, "the waiting run has not ended");
    assert_eq!(ids(db.ended_runs("a", EndClass::Succeeded, u64::MAX, 10).unwrap()), ["r1", "r3"]);
    assert_eq!(ids(db.ended_runs("a", EndClass::Succeeded, 300, 10).unwrap()), ["r1"], "ended before 300");
    assert_eq!(ids(db.ended_runs("a", EndClass::Failed, u64::MAX, 10).unwrap()), ["r2"]);
    assert_eq!(ids(db.ended_runs("b", EndClass::Failed, u64::MAX, 10).unwrap()), ["r4"], "cancelled is failed");
    assert_eq!(ids(db.recent_ended("a", EndClass::Succeeded, 0, u64::MAX, 10).unwrap()), ["r3", "r1"], "newest first");
    assert_eq!(ids(db.recent_ended("a", EndClass::Succeeded, 100, 300, 10).unwrap()), ["r1"], "from..to");
    assert_eq!(ids(db.recent_ended("a", EndClass::Succeeded, 0, u64::MAX, 1).unwrap()), ["r3"], "at most limit");
    assert_eq!(db.count_ended("a", EndClass::Succeeded, u64::MAX).unwrap(), 2);
    assert_eq!(db.count_ended("a", EndClass::Succeeded, 300).unwrap(), 1);
    // Saving an ended run again (a stale queue entry dropped) lists it once.
    db.save_run(&ended_at("r1", "a", RunStatus::Succeeded, 100)).unwrap();
    assert_eq!(db.ended_total("a").unwrap(), 3);

    let listed = db.ended_runs("a", EndClass::Succeeded, 300, 10).unwrap();
    assert_eq!(db.delete_runs(&listed).unwrap(), 1);
    assert_eq!(db.run("r1").unwrap(), None);
    assert!(db.steps("r1").unwrap().is_empty(), "its step records went with it");
    assert_eq!(db.ended_total("a").unwrap(), 2);
    assert_eq!(db.steps("r3").unwrap().len(), 1, "other runs keep theirs");

    // A listing of a run that has not ended (or not then) deletes nothing.
    let stale = EndedRun { id: "r5".into(), flow: "a".into(), class: EndClass::Succeeded, ended_ms: 5 };
    assert_eq!(db.delete_runs(&[stale]).unwrap(), 0);
    assert_eq!(db.run("r5").unwrap().unwrap().status, RunStatus::Waiting);
    assert_eq!(ids(db.ended_runs("a", EndClass::Succeeded, u64::MAX, 10).unwrap()), ["r3"]);
}

pub fn step_records_keep_their_order_and_are_written_with_the_run(db: &dyn Backend) {
    let mut r = run("r1", RunStatus::Queued, None);
    db.create_run(&r).unwrap();
    let mut first = step("fetch", StepStatus::Running);
    db.put_step("r1", &mut first).unwrap();
    assert_ne!(first.seq, 0, "a new record is given its place");
    let mut second = step("each[0].clean", StepStatus::Succeeded);
    let mut third = step("each[1].clean", StepStatus::Succeeded);
    db.put_together("r1", &mut [&mut second, &mut third], None).unwrap();
    assert!(first.seq < second.seq && second.seq < third.seq);
    // Written again: the same place, the new content.
    first.status = StepStatus::Succeeded;
    first.output = Some(json!({ "email": "a@example.com" }));
    let place = first.seq;
    r.status = RunStatus::Succeeded;
    r.output = first.output.clone();
    db.put_together("r1", &mut [&mut first], Some(&r)).unwrap();
    assert_eq!(first.seq, place);
    assert_eq!(db.step("r1", "fetch").unwrap().unwrap(), first);
    assert_eq!(db.step("r1", "missing").unwrap(), None);
    let paths: Vec<String> = db.steps("r1").unwrap().into_iter().map(|s| s.path).collect();
    assert_eq!(paths, ["fetch", "each[0].clean", "each[1].clean"], "in the order first written");
    assert_eq!(db.run("r1").unwrap().unwrap(), r, "and the run with them");
    assert!(db.steps("r2").unwrap().is_empty());
}

pub fn runs_spawned_with_a_write_are_queued_with_it_and_a_waiting_run_wakes_now(db: &dyn Backend) {
    let parent = run("p1", RunStatus::Queued, None);
    db.create_run(&parent).unwrap();
    let child = RunRecord {
        trigger: std::sync::Arc::new(json!({ "from": "p1" })),
        parent: Some(weft_core::run::ParentLink { run: "p1".into(), step: "sub".into(), depth: 1 }),
        ..run("p2", RunStatus::Queued, None)
    };
    let mut call = step("sub", StepStatus::Waiting);
    call.child = Some("p2".into());
    let waiting = run("p1", RunStatus::Waiting, Some(u64::MAX / 2));
    db.put_spawning("p1", &mut [&mut call], Some(&waiting), std::slice::from_ref(&child)).unwrap();
    assert_eq!(db.queued(10).unwrap(), ["p2"], "the new run is queued, the waiting one is not");
    assert_eq!(db.backlog().unwrap(), 1);
    let stored = db.run("p2").unwrap().unwrap();
    assert_eq!((stored.parent, &*stored.trigger), (child.parent.clone(), &json!({ "from": "p1" })));
    assert_eq!(db.step("p1", "sub").unwrap().unwrap().child.as_deref(), Some("p2"));

    assert!(db.wake_now("p1").unwrap(), "a waiting run wakes whatever its time");
    assert_eq!(db.run("p1").unwrap().unwrap().status, RunStatus::Queued);
    assert_eq!(db.run("p1").unwrap().unwrap().wake_ms, None);
    assert_eq!(db.next_wake().unwrap(), None, "its timer is gone");
    assert_eq!(db.queued(10).unwrap(), ["p1", "p2"]);
    assert!(!db.wake_now("p1").unwrap(), "a run that does not wait is left as it is");
    assert!(!db.wake_now("nobody").unwrap());
}

pub fn hook_tokens_follow_their_record_and_events_land_with_their_state(db: &dyn Backend) {
    let mut record = TriggerRecord { flow: "f".into(), hook_token: Some("t1".into()), ..Default::default() };
    db.put_trigger(&record).unwrap();
    assert_eq!(db.hook("t1").unwrap().as_deref(), Some("f"));
    record.hook_token = Some("t2".into());
    record.active = true;
    db.put_trigger(&record).unwrap();
    assert_eq!(db.hook("t1").unwrap(), None, "a replaced token stops working");
    assert_eq!(db.hook("t2").unwrap().as_deref(), Some("f"));
    assert_eq!(db.trigger("f").unwrap(), Some(record.clone()));
    assert_eq!(db.triggers().unwrap(), [record.clone()]);

    let state = PollState { key: "k".into(), mark: Some("7".into()), ..Default::default() };
    db.record_events("f", Some(&state), &[run("a", RunStatus::Queued, None), run("b", RunStatus::Queued, None)])
        .unwrap();
    assert_eq!(db.poll_state("f").unwrap(), Some(state.clone()));
    assert_eq!(db.queued(10).unwrap(), ["a", "b"]);
    assert_eq!(db.backlog().unwrap(), 2);
    let mut done = db.run("a").unwrap().unwrap();
    done.status = RunStatus::Succeeded;
    db.save_run(&done).unwrap();
    assert_eq!(db.backlog().unwrap(), 1);
    let next = PollState { mark: Some("9".into()), last_ms: 5, ..state };
    db.record_events("f", Some(&next), &[]).unwrap();
    assert_eq!(db.poll_state("f").unwrap(), Some(next), "a poll that found nothing moves its state on");
    db.delete_poll_state("f").unwrap();
    assert_eq!(db.poll_state("f").unwrap(), None);

    db.delete_trigger("f").unwrap();
    assert_eq!((db.trigger("f").unwrap(), db.hook("t2").unwrap(), db.poll_state("f").unwrap()), (None, None, None));
}

pub fn connections_keep_secrets_and_list_without_them(db: &dyn Backend) {
    let mut connection = Connection { id: "crm".into(), ..Default::default() };
    connection.secrets.insert("token".into(), "very-secret-token-value".into());
    connection.settings.insert("region".into(), json!("eu"));
    connection.hosts = Arc::new(vec!["api.example.com".parse().unwrap()]);
    let info = db.put_connection("crm", "http", &connection).unwrap();
    assert_eq!((info.plugin.as_str(), info.secret_names.as_slice()), ("http", &["token".to_string()][..]));
    let (plugin, opened) = db.connection("crm").unwrap().unwrap();
    assert_eq!(plugin, "http");
    assert_eq!(
        (&opened.id, &opened.settings, &opened.secrets, &opened.hosts),
        (&connection.id, &connection.settings, &connection.secrets, &connection.hosts)
    );
    connection.secrets.insert("token".into(), "very-secret-rotated".into());
    db.put_connection("crm", "http", &connection).unwrap();
    assert_eq!(db.connection("crm").unwrap().unwrap().1.secrets["token"], "very-secret-rotated", "never stale");
    let listed = db.connections().unwrap();
    assert_eq!(listed, [info]);
    assert!(!format!("{listed:?}").contains("very-secret"), "listings carry no secret");
    assert!(db.delete_connection("crm").unwrap());
    assert!(!db.delete_connection("crm").unwrap());
    assert!(db.connection("crm").unwrap().is_none());
}

pub fn oauth_grants_change_only_from_the_version_read(db: &dyn Backend) {
    use weft_core::oauth::{AuthStatus, OAuthClient, OAuthGrant, TokenSet};
    db.put_connection("crm", "app", &Connection { id: "crm".into(), ..Default::default() }).unwrap();
    assert_eq!(db.oauth_grant("crm").unwrap(), None);
    let mut grant = OAuthGrant {
        client: OAuthClient {
            client_id: "id".into(),
            client_secret: Some("client-secret".into()),
            ..Default::default()
        },
        ..Default::default()
    };
    assert_eq!(db.swap_oauth_grant("crm", 1, Some(&grant)).unwrap(), None, "there is no version 1 yet");
    assert_eq!(db.swap_oauth_grant("crm", 0, Some(&grant)).unwrap(), Some(1));
    assert_eq!(db.swap_oauth_grant("crm", 0, Some(&grant)).unwrap(), None, "created once");
    grant.tokens = Some(TokenSet {
        access_token: "access-token-value".into(),
        refresh_token: Some("refresh-token-value".into()),
        expires_ms: Some(10),
        scope: None,
        obtained_ms: 1,
    });
    grant.status = AuthStatus::Authorized { at_ms: 1 };
    assert_eq!(db.swap_oauth_grant("crm", 1, Some(&grant)).unwrap(), Some(2));
    assert_eq!(db.swap_oauth_grant("crm", 1, Some(&grant)).unwrap(), None, "a stale writer loses");
    assert_eq!(db.oauth_grant("crm").unwrap(), Some((grant.clone(), 2)));
    assert!(!format!("{:?}", db.connections().unwrap()).contains("token-value"), "listings carry no token");
    // Deleting the connection takes its grant along.
    assert!(db.delete_connection("crm").unwrap());
    assert_eq!(db.oauth_grant("crm").unwrap(), None);
    db.put_connection("crm", "app", &Connection { id: "crm".into(), ..Default::default() }).unwrap();
    assert_eq!(db.swap_oauth_grant("crm", 0, Some(&grant)).unwrap(), Some(1));
    assert_eq!(db.swap_oauth_grant("crm", 1, None).unwrap(), Some(0));
    assert_eq!(db.oauth_grant("crm").unwrap(), None);
    db.delete_connection("crm").unwrap();
}

const ROOMY: KvQuota = KvQuota { bytes: 1 << 20, max_keys: 1000 };

pub fn kv_quota_counts_each_entry_and_refuses_without_change(db: &dyn Backend) {
    let ns = b"p\x1fc";
    let room = KvQuota { bytes: 2 * KV_ENTRY_BYTES + 20, max_keys: 10 };
    assert_eq!(db.kv_set(ns, "a", &[0; 10], room).unwrap(), KvSet::Stored);
    assert_eq!(db.kv_set(ns, "b", &[0; 10], room).unwrap(), KvSet::OverQuota, "2 entries of 11 bytes: 22 > 20");
    assert_eq!(db.kv_get(ns, "b").unwrap(), None);
    // Replacing a value counts only the difference: 1 + 19 bytes fits.
    assert_eq!(db.kv_set(ns, "a", &[1; 19], room).unwrap(), KvSet::Stored);
    assert_eq!(db.kv_get(ns, "a").unwrap().unwrap(), [1; 19]);
    assert_eq!(db.kv_set(ns, "b", &[], room).unwrap(), KvSet::OverQuota, "the namespace is full");
    db.kv_delete(ns, "a").unwrap();
    db.kv_delete(ns, "a").unwrap();
    assert_eq!(db.kv_get(ns, "a").unwrap(), None);
    assert_eq!(db.kv_set(ns, "b", &[0; 10], room).unwrap(), KvSet::Stored, "a deletion gives its room back");
    assert_eq!(db.kv_set(ns, "c", &[0; 9], room).unwrap(), KvSet::OverQuota, "11 + 1 + 9 > 20");
    assert_eq!(db.kv_set(ns, "c", &[0; 8], room).unwrap(), KvSet::Stored, "11 + 1 + 8 fits exactly");
}

pub fn kv_the_number_of_keys_is_capped(db: &dyn Backend) {
    let ns = b"p\x1fc";
    let room = KvQuota { bytes: 1 << 20, max_keys: 3 };
    for key in ["a", "b", "c"] {
        assert_eq!(db.kv_set(ns, key, b"1", room).unwrap(), KvSet::Stored);
    }
    assert_eq!(db.kv_set(ns, "d", b"1", room).unwrap(), KvSet::TooManyKeys);
    assert_eq!(db.kv_set(ns, "a", b"2", room).unwrap(), KvSet::Stored, "replacing is not a new key");
    db.kv_delete(ns, "b").unwrap();
    assert_eq!(db.kv_set(ns, "d", b"1", room).unwrap(), KvSet::Stored);
    assert_eq!(db.kv_list(ns, "", 10).unwrap(), ["a", "c", "d"]);
}

pub fn kv_namespaces_do_not_see_each_other(db: &dyn Backend) {
    db.kv_set(b"one", "k", b"1", ROOMY).unwrap();
    db.kv_set(b"one-two", "k", b"2", ROOMY).unwrap();
    assert_eq!(db.kv_get(b"one", "k").unwrap().unwrap(), b"1");
    assert_eq!(db.kv_list(b"one", "", 10).unwrap(), vec!["k".to_string()]);
}

pub fn kv_keys_are_listed_in_byte_order_by_prefix(db: &dyn Backend) {
    for key in ["user:b", "user:B", "user:a", "users", "admin", "user:\u{e9}", "user:_"] {
        db.kv_set(b"ns", key, b"", ROOMY).unwrap();
    }
    assert_eq!(db.kv_list(b"ns", "user:", 10).unwrap(), ["user:B", "user:_", "user:a", "user:b", "user:\u{e9}"]);
    assert_eq!(db.kv_list(b"ns", "user:", 2).unwrap(), ["user:B", "user:_"]);
    assert_eq!(db.kv_list(b"ns", "", 3).unwrap(), ["admin", "user:B", "user:_"]);
    assert!(db.kv_list(b"ns", "zz", 10).unwrap().is_empty());
}
