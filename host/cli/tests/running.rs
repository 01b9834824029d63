//! Running weft for real, against a real `weft serve` with real plugins: error
//! flows that tell someone (a Slack message through the fake Slack), sub-flows
//! that survive SIGKILLs without starting a child twice, and sync webhooks
//! answered by a `respond` step.

use serde_json::{Value, json};
use std::collections::HashMap;
use std::time::Duration;
use weft_tests::http::request;
use weft_tests::plugins;
use weft_tests::saas::{SaasApp, sign};
use weft_tests::slack::{self, FakeSlack};
use weft_tests::weft::{Weft, workspace};

const EXE: &str = env!("CARGO_BIN_EXE_weft");
const SIGNING: &str = "whsec-running-signing-secret";

async fn runs_of(weft: &Weft, flow: &str) -> Vec<Value> {
    weft.ok("GET", &format!("/api/runs?flow={flow}&limit=1000"), None).await.as_array().unwrap().clone()
}

fn text(out: &std::process::Output) -> String {
    format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr))
}

#[tokio::test(flavor = "multi_thread")]
async fn a_run_that_fails_for_good_tells_slack_through_its_error_flow() {
    let slack = FakeSlack::start().await;
    let (dir, data, plugin_dir) = workspace(&[plugins::SLACK, plugins::CLEAN_CONTACT, plugins::IDENTITY]);
    let weft = Weft::start(EXE, &data, &plugin_dir, &["--error-flow", "alert", "--public-url", "http://weft.example"]);
    let team = json!({
        "plugin": "slack",
        "secrets": { "webhook_url": slack.webhook_url(slack::HOOK_PATH), "signing_secret": "s" },
        "hosts": [slack.addr.to_string()],
    });
    weft.ok("PUT", "/api/connections/team", Some(&team)).await;

    // Naming an error flow that does not exist is refused at apply, with the path.
    let write = |name: &str, body: &str| {
        let path = dir.path().join(name);
        std::fs::write(&path, body).unwrap();
        path.display().to_string()
    };
    let contacts = "name: contacts\ntrigger: manual\non_failure: alert\nsteps:\n  \
                    - { id: clean, transform: clean-contact, input: '{{ trigger }}' }\n";
    let out = weft.cli(&["flow", "apply", &write("contacts.yaml", contacts)]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(text(&out).contains("on_failure: no flow named \"alert\""), "{}", text(&out));

    let alert = "name: alert\ntrigger: manual\nsteps:\n  - id: notify\n    action: slack.post_message\n    \
                 connection: team\n    input:\n      text: \"{{ trigger.flow }} failed at {{ trigger.failed_step }} \
                 ({{ trigger.error.kind }}): {{ trigger.error.message }} {{ trigger.url }}\"\n";
    let out = weft.cli(&["flow", "apply", &write("alert.yaml", alert)]);
    assert!(out.status.success(), "{}", text(&out));
    let out = weft.cli(&["flow", "apply", &write("contacts.yaml", contacts)]);
    assert!(out.status.success(), "{}", text(&out));
    // No on_failure of its own: the server's --error-flow.
    let plain =
        "name: plain\ntrigger: manual\nsteps:\n  - { id: clean, transform: clean-contact, input: '{{ trigger }}' }\n";
    assert!(weft.cli(&["flow", "apply", &write("plain.yaml", plain)]).status.success());

    // A contact without an email fails for good (an invalid-input error is not retried).
    let started = weft.ok("POST", "/api/flows/contacts/runs", Some(&json!({ "name": "Ada" }))).await;
    let id = started["run"]["id"].as_str().unwrap().to_string();
    let failed = weft.finished(&id).await;
    assert_eq!(failed["run"]["status"], "failed");
    let report_id = failed["run"]["error_run"].as_str().expect("the failed run links to its report").to_string();
    let report = weft.finished(&report_id).await;
    assert_eq!(report["run"]["status"], "succeeded", "{report}");
    assert_eq!(report["run"]["failure_of"], json!(id));
    assert_eq!(report["run"]["trigger"]["event"], json!({ "name": "Ada" }));
    let message = format!(
        "contacts failed at clean (invalid-input): step \"clean\" failed: plugin \"clean-contact\" failed in \
         transform(): invalid input: the contact has no valid `email` http://weft.example/runs/{id}"
    );
    assert_eq!(slack.messages(), [json!({ "text": message })]);

    // The CLI shows both ends of the link.
    let shown = weft.cli(&["runs", "show", &id]);
    assert!(text(&shown).contains(&format!("its failure is reported by run {report_id}")), "{}", text(&shown));
    let shown = weft.cli(&["runs", "show", &report_id]);
    assert!(text(&shown).contains(&format!("reports the failure of run {id}")), "{}", text(&shown));

    // The default error flow catches the flow that names none; successes report nothing.
    let started = weft.ok("POST", "/api/flows/plain/runs", Some(&json!({ "name": "Bo" }))).await;
    let plain_id = started["run"]["id"].as_str().unwrap().to_string();
    let failed = weft.finished(&plain_id).await;
    weft.finished(failed["run"]["error_run"].as_str().unwrap()).await;
    let ok = weft.ok("POST", "/api/flows/plain/runs", Some(&json!({ "name": "Cy", "email": "cy@example.com" }))).await;
    weft.finished(ok["run"]["id"].as_str().unwrap()).await;
    let messages = slack.messages();
    assert_eq!(messages.len(), 2, "{messages:?}");
    assert!(messages[1]["text"].as_str().unwrap().starts_with("plain failed at clean"), "{messages:?}");
    assert_eq!(runs_of(&weft, "alert").await.len(), 2, "one report per failure, none for a success");

    // When an error flow itself fails, nothing more starts, not even the default: no loop.
    let broken = "name: broken-alert\ntrigger: manual\nsteps:\n  - { id: clean, transform: clean-contact, input: '{{ trigger }}' }\n";
    assert!(weft.cli(&["flow", "apply", &write("broken.yaml", broken)]).status.success());
    let noisy = "name: noisy\ntrigger: manual\non_failure: broken-alert\nsteps:\n  \
                 - { id: clean, transform: clean-contact, input: '{{ trigger }}' }\n";
    assert!(weft.cli(&["flow", "apply", &write("noisy.yaml", noisy)]).status.success());
    let started = weft.ok("POST", "/api/flows/noisy/runs", Some(&json!({ "name": "Di" }))).await;
    let failed = weft.finished(started["run"]["id"].as_str().unwrap()).await;
    let report = weft.finished(failed["run"]["error_run"].as_str().unwrap()).await;
    assert_eq!(report["run"]["status"], "failed", "{report}");
    assert!(report["run"].get("error_run").is_none(), "{report}");
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(runs_of(&weft, "broken-alert").await.len(), 1);
    assert_eq!(runs_of(&weft, "alert").await.len(), 2);
    assert_eq!(slack.messages().len(), 2);
}

#[tokio::test(flavor = "multi_thread")]
async fn sub_flows_link_both_ways_fail_their_caller_and_refuse_cycles() {
    let (dir, data, plugin_dir) = workspace(&[plugins::CLEAN_CONTACT, plugins::IDENTITY]);
    let weft = Weft::start(EXE, &data, &plugin_dir, &[]);
    let apply = |name: &str, body: &str| {
        let path = dir.path().join(format!("{name}.yaml"));
        std::fs::write(&path, body).unwrap();
        weft.cli(&["flow", "apply", &path.display().to_string()])
    };
    let out = apply(
        "clean",
        "name: clean\ntrigger: manual\nsteps:\n  - { id: contact, transform: clean-contact, input: '{{ trigger }}' }\n",
    );
    assert!(out.status.success(), "{}", text(&out));
    let out = apply(
        "signup",
        "name: signup\ntrigger: manual\nsteps:\n  - { id: cleaned, call: clean, input: { name: '{{ trigger.who }}', \
         email: '{{ trigger.mail }}' } }\n  - { id: greet, transform: identity, input: 'hello {{ steps.cleaned.output.name }}' }\n",
    );
    assert!(out.status.success(), "{}", text(&out));

    let started =
        weft.ok("POST", "/api/flows/signup/runs", Some(&json!({ "who": "  ada  ", "mail": "ADA@EXAMPLE.COM" }))).await;
    let id = started["run"]["id"].as_str().unwrap().to_string();
    let done = weft.finished(&id).await;
    assert_eq!(done["run"]["status"], "succeeded", "{done}");
    let call = &done["steps"][0];
    let child_id = call["child"].as_str().expect("the call step names its sub-flow's run").to_string();
    let child = weft.finished(&child_id).await;
    assert_eq!(child["run"]["parent"], json!({ "run": id, "step": "cleaned", "depth": 1 }));
    assert_eq!(call["output"], child["run"]["output"], "the child's output is the step's");
    assert!(done["run"]["output"].as_str().unwrap().starts_with("hello "), "{done}");
    let shown = weft.cli(&["runs", "show", &id]);
    assert!(text(&shown).contains(&format!("sub-flow run {child_id}")), "{}", text(&shown));
    let shown = weft.cli(&["runs", "show", &child_id]);
    assert!(text(&shown).contains(&format!("called by run {id} (step cleaned)")), "{}", text(&shown));

    // The child fails: so does the step, with the child's error.
    let started = weft.ok("POST", "/api/flows/signup/runs", Some(&json!({ "who": "bo", "mail": "" }))).await;
    let failed = weft.finished(started["run"]["id"].as_str().unwrap()).await;
    assert_eq!(failed["run"]["status"], "failed");
    let error = failed["run"]["error"].as_str().unwrap();
    assert!(error.starts_with("step \"cleaned\" failed: sub-flow \"clean\" (run "), "{error}");
    assert!(error.ends_with("failed: step \"contact\" failed: plugin \"clean-contact\" failed in transform(): invalid input: the contact has no valid `email`"), "{error}");
    assert_eq!(failed["steps"][0]["error"]["kind"], "sub-flow");

    // A cycle of calls is refused at apply with the path and the chain.
    let out = apply("clean", "name: clean\ntrigger: manual\nsteps:\n  - { id: back, call: signup }\n");
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out).contains("steps.back.call: calling \"signup\" makes a cycle of sub-flows: clean → signup → clean"),
        "{}",
        text(&out)
    );
    let out = apply("lost", "name: lost\ntrigger: manual\nsteps:\n  - { id: there, call: nowhere }\n");
    assert!(text(&out).contains("steps.there.call: no flow named \"nowhere\""), "{}", text(&out));

    // Exported flows apply to another installation whatever the order of the files,
    // though `signup` can only be saved once `clean` is.
    let export = dir.path().join("export");
    let out = weft.cli(&["flow", "export", "--dir", &export.display().to_string()]);
    assert!(out.status.success(), "{}", text(&out));
    let (signup, clean) = (export.join("signup.yaml"), export.join("clean.yaml"));
    assert!(std::fs::read_to_string(&signup).unwrap().contains("call: clean"));
    let (_other_dir, other_data, other_plugins) = workspace(&[plugins::CLEAN_CONTACT, plugins::IDENTITY]);
    let other = Weft::start(EXE, &other_data, &other_plugins, &[]);
    let out = other.cli(&["flow", "apply", &signup.display().to_string(), &clean.display().to_string()]);
    assert!(out.status.success(), "{}", text(&out));
    for name in ["signup", "clean"] {
        let there = other.ok("GET", &format!("/api/flows/{name}"), None).await;
        let here = weft.ok("GET", &format!("/api/flows/{name}"), None).await;
        assert_eq!(there["flow"]["def"], here["flow"]["def"], "{name} came across unchanged");
    }
}

/// A small xorshift generator: kill moments vary per run without a dependency.
fn next(seed: &mut u64) -> u64 {
    *seed ^= *seed << 13;
    *seed ^= *seed >> 7;
    *seed ^= *seed << 17;
    *seed
}

#[tokio::test(flavor = "multi_thread")]
async fn sub_flows_resume_after_sigkills_and_no_child_starts_twice() {
    let (_dir, data, plugin_dir) = workspace(&[plugins::IDENTITY]);
    let mut weft = Weft::start(EXE, &data, &plugin_dir, &[]);
    let child = json!({ "name": "child", "trigger": "manual", "steps": [
        { "id": "first", "transform": "identity", "input": "{{ trigger.n }}" },
        { "id": "pause", "delay": "300ms" },
        { "id": "last", "transform": "identity", "input": { "n": "{{ trigger.n }}", "twice": "{{ trigger.n * 2 }}" } },
    ] });
    let parent = json!({ "name": "parent", "trigger": "manual", "steps": [
        { "id": "sub", "call": "child", "input": { "n": "{{ trigger.n }}" } },
        { "id": "pause", "delay": "200ms" },
        { "id": "again", "call": "child", "input": { "n": "{{ steps.sub.output.twice }}" } },
        { "id": "sum", "transform": "identity", "input": "{{ steps.again.output.twice }}" },
    ] });
    weft.ok("POST", "/api/flows", Some(&child)).await;
    weft.ok("POST", "/api/flows", Some(&parent)).await;

    let clock = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos() as u64;
    let mut seed = (clock ^ std::process::id() as u64) | 1;
    println!("kill schedule seed: {seed}");
    let mut parents = Vec::new();
    let kills = 6;
    // Parents waiting (for a child or a delay) when a kill came.
    let mut cut_off = 0;
    for round in 0..kills {
        for n in 0..5 {
            let started = weft.ok("POST", "/api/flows/parent/runs", Some(&json!({ "n": round * 10 + n }))).await;
            parents.push((round * 10 + n, started["run"]["id"].as_str().unwrap().to_string()));
        }
        tokio::time::sleep(Duration::from_millis(50 + next(&mut seed) % 600)).await;
        let waiting = weft.ok("GET", "/api/runs?flow=parent&status=waiting&limit=1000", None).await;
        cut_off += waiting.as_array().unwrap().len();
        weft.kill();
        weft.restart(&[]);
    }
    for (n, id) in &parents {
        let done = weft.finished(id).await;
        assert_eq!(done["run"]["status"], "succeeded", "{done}");
        assert_eq!(done["run"]["output"], json!(n * 4), "{done}");
    }
    // Every call started exactly one child: two per parent, each named by its step.
    let children = runs_of(&weft, "child").await;
    let mut per_call: HashMap<(String, String), usize> = HashMap::new();
    for c in &children {
        assert_eq!(c["status"], "succeeded", "{c}");
        let link =
            (c["parent"]["run"].as_str().unwrap().to_string(), c["parent"]["step"].as_str().unwrap().to_string());
        *per_call.entry(link).or_default() += 1;
    }
    assert_eq!(children.len(), parents.len() * 2, "{kills} kills: children {}", children.len());
    assert!(per_call.values().all(|n| *n == 1), "a call started two children: {per_call:?}");
    assert!(cut_off > 0, "no kill came while a parent waited");
    println!(
        "{kills} SIGKILLs, {cut_off} times a parent was waiting; {} parents and {} children ran, each child once",
        parents.len(),
        children.len()
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_sync_webhook_is_answered_by_its_respond_step_and_a_failure_answers_500() {
    let app = SaasApp::start("sk-respond").await;
    let (_dir, data, plugin_dir) = workspace(&[plugins::SAAS, plugins::CLEAN_CONTACT]);
    let weft = Weft::start(EXE, &data, &plugin_dir, &[]);
    weft.ok("PUT", "/api/connections/app", Some(&app.connection(Some(SIGNING)))).await;
    let trigger =
        json!({ "webhook": { "connector": "saas", "trigger": "record_event", "connection": "app", "sync": true } });
    let flow = json!({ "name": "signup", "trigger": trigger, "steps": [
        { "id": "check", "if": "trigger.record.name", "then": [
            { "id": "accepted", "respond": { "status": 201, "headers": { "X-Signup": "{{ trigger.record.id }}" },
                                             "body": { "id": "{{ trigger.record.id }}", "run": "{{ run.id }}" } } },
            { "id": "later", "delay": "1h" },
          ], "else": [
            { "id": "refused", "respond": { "status": "{{ 400 + 22 }}", "body": "a name is required" } },
          ] },
    ] });
    weft.ok("POST", "/api/flows", Some(&flow)).await;
    let url = weft.ok("POST", "/api/flows/signup/activate", None).await["webhook_url"].as_str().unwrap().to_string();
    let post = |body: Value| {
        let url = url.clone();
        async move {
            let bytes = body.to_string().into_bytes();
            let signature = sign(SIGNING, &bytes);
            request("POST", &url, &[("x-saas-signature", &signature), ("content-type", "application/json")], bytes)
                .await
        }
    };

    // Answered at once, though the run goes on for an hour.
    let reply = post(json!({ "event": "created", "record": { "id": 7, "name": "Ada" } })).await;
    assert_eq!(reply.status, 201, "{}", reply.text());
    let run = reply.header("x-weft-runs").unwrap().to_string();
    assert_eq!(reply.json(), json!({ "id": 7, "run": run }));
    assert_eq!(reply.header("x-signup"), Some("7"));
    assert_eq!(reply.header("content-type"), Some("application/json"));
    let now = weft.ok("GET", &format!("/api/runs/{run}"), None).await;
    assert_eq!(now["run"]["status"], "waiting", "the run went on after answering: {now}");

    // The other branch answers 422 with text.
    let reply = post(json!({ "event": "created", "record": { "id": 8 } })).await;
    assert_eq!((reply.status, reply.text().as_str()), (422, "a name is required"));
    assert_eq!(reply.header("content-type"), Some("text/plain; charset=utf-8"));

    // A respond step outside a sync webhook flow is refused at apply.
    let mut bad = flow.clone();
    bad["name"] = json!("loose");
    bad["trigger"] = json!("manual");
    let refused = weft.api("POST", "/api/flows", Some(&bad)).await;
    assert_eq!(refused.status, 422);
    assert!(
        refused.text().contains("steps.accepted.respond: only a flow whose webhook trigger has `sync: true`"),
        "{}",
        refused.text()
    );

    // A sync flow that fails answers 500 with the error, not 200.
    let failing = json!({ "name": "strict", "trigger": trigger, "steps": [
        { "id": "clean", "transform": "clean-contact", "input": "{{ trigger.record }}" },
    ] });
    weft.ok("POST", "/api/flows", Some(&failing)).await;
    let url = weft.ok("POST", "/api/flows/strict/activate", None).await["webhook_url"].as_str().unwrap().to_string();
    let bytes = json!({ "event": "created", "record": { "id": 9, "name": "Bo" } }).to_string().into_bytes();
    let signature = sign(SIGNING, &bytes);
    let reply = request("POST", &url, &[("x-saas-signature", &signature)], bytes).await;
    assert_eq!(reply.status, 500, "{}", reply.text());
    assert_eq!(
        reply.json()["error"],
        "step \"clean\" failed: plugin \"clean-contact\" failed in transform(): invalid input: the contact has no valid `email`",
        "{}",
        reply.text()
    );
}

/// Start a run of `flow` for each event, all at once, and wait until every one has succeeded.
async fn run_all(weft: &Weft, flow: &str, events: impl Iterator<Item = Value>) {
    let mut ids = Vec::new();
    for event in events {
        let started = weft.ok("POST", &format!("/api/flows/{flow}/runs"), Some(&event)).await;
        ids.push(started["run"]["id"].as_str().unwrap().to_string());
    }
    for id in &ids {
        let done = weft.finished(id).await;
        assert_eq!(done["run"]["status"], "succeeded", "{done}");
    }
}

/// The most `POST /records` that arrived within any one second.
fn busiest_second(posts: &[(Duration, u16)]) -> usize {
    let times: Vec<Duration> = posts.iter().map(|(t, _)| *t).collect();
    (0..times.len())
        .map(|i| times[i..].iter().take_while(|t| **t < times[i] + Duration::from_secs(1)).count())
        .max()
        .unwrap_or(0)
}

#[tokio::test(flavor = "multi_thread")]
async fn rate_limits_pace_calls_and_a_429_slows_the_whole_connection() {
    let app = SaasApp::start("sk-rate").await;
    let (_dir, data, plugin_dir) = workspace(&[plugins::SAAS]);
    let weft = Weft::start(EXE, &data, &plugin_dir, &[]);
    weft.ok("PUT", "/api/connections/app", Some(&app.connection(None))).await;
    // The rate is set through the CLI; the rest of the connection stays as it is.
    let out = weft.cli(&["connection", "set", "app", "--plugin", "saas", "--rate-limit", "5/s", "--burst", "2"]);
    assert!(out.status.success(), "{}", text(&out));
    let shown = weft.ok("GET", "/api/connections/app", None).await;
    assert_eq!(shown["rate_limit"], json!({ "per_second": 5, "burst": 2 }));
    assert_eq!(shown["secrets"], json!(["api_key"]));
    let bad = weft
        .api("PUT", "/api/connections/app", Some(&json!({ "plugin": "saas", "rate_limit": { "per_second": 0 } })))
        .await;
    assert_eq!(bad.status, 400);
    assert!(bad.text().contains("rate_limit: a rate of 0 would stop everything"), "{}", bad.text());

    let flow = json!({ "name": "push", "trigger": "manual", "steps": [
        { "id": "create", "action": "saas.create_record", "connection": "app", "input": { "name": "n{{ trigger.n }}" } },
    ] });
    weft.ok("POST", "/api/flows", Some(&flow)).await;
    run_all(&weft, "push", (0..20).map(|n| json!({ "n": n }))).await;
    let posts = app.posts();
    assert_eq!(posts.len(), 20, "each run called once: waiting for a slot is not an attempt");
    let span = posts[19].0 - posts[0].0;
    let busiest = busiest_second(&posts);
    assert!(busiest <= 5 + 2, "{busiest} calls in one second at 5/s with a burst of 2");
    assert!(span >= Duration::from_millis(3_400), "20 calls at 5/s after a burst of 2 took only {span:?}");
    println!("connection at 5/s, burst 2: 20 calls over {span:?}, at most {busiest} in any second");

    // No rate of its own now, but the app says "slow down, 2 s": every run of the connection waits.
    let out = weft.cli(&["connection", "set", "app", "--plugin", "saas", "--no-rate-limit"]);
    assert!(out.status.success(), "{}", text(&out));
    tokio::time::sleep(Duration::from_millis(1_100)).await; // the rate as read is kept up to a second
    app.rate_limit_next(1, 2);
    let before = app.posts().len();
    run_all(&weft, "push", (0..10).map(|n| json!({ "n": 100 + n }))).await;
    let posts = app.posts()[before..].to_vec();
    let (told, _) = *posts.iter().find(|(_, status)| *status == 429).expect("the app said slow down");
    // Calls already on their way when the 429 came are not held back; none sent after it goes
    // before its retry-after.
    let early: Vec<_> = posts
        .iter()
        .filter(|(t, _)| *t > told + Duration::from_millis(100) && *t < told + Duration::from_millis(1_900))
        .collect();
    assert!(early.is_empty(), "calls went during the pause: {early:?} (told at {told:?})");
    assert_eq!(posts.iter().filter(|(_, s)| *s == 201).count(), 10, "every run got its record, the one told retried");

    // A flow's own rate paces its runs, whatever the connection allows.
    let paced = json!({ "name": "paced", "trigger": "manual", "rate_limit": { "per_second": 4 }, "steps": [
        { "id": "create", "action": "saas.create_record", "connection": "app", "input": { "name": "p{{ trigger.n }}" } },
    ] });
    weft.ok("POST", "/api/flows", Some(&paced)).await;
    let before = app.posts().len();
    run_all(&weft, "paced", (0..8).map(|n| json!({ "n": n }))).await;
    let posts = app.posts()[before..].to_vec();
    let span = posts[7].0 - posts[0].0;
    assert!(span >= Duration::from_millis(1_600), "8 runs at 4/s began within {span:?}");
    assert!(busiest_second(&posts) <= 4 + 1, "{posts:?}");
    let bad = json!({ "name": "bad", "trigger": "manual", "rate_limit": { "per_minute": 0 }, "steps": [ { "id": "a", "delay": "1s" } ] });
    let refused = weft.api("POST", "/api/flows", Some(&bad)).await;
    assert_eq!(refused.status, 422);
    assert!(refused.text().contains("rate_limit: a rate of 0 would stop everything"), "{}", refused.text());
}
