//! The first-party connectors against real servers: `records` against a real
//! json-server from npm, `github` against a faithful fake of its API and its
//! signed deliveries, `slack` against a fake of its incoming webhooks and
//! signed Events API requests; the `jq` and `template` transforms in flows.
//! Every test runs a real `weft serve` with the real plugins.

use serde_json::{Value, json};
use weft_tests::github::FakeGithub;
use weft_tests::http::request;
use weft_tests::json_server::JsonServer;
use weft_tests::plugins;
use weft_tests::slack::{self, FakeSlack};
use weft_tests::weft::{Weft, workspace};

const EXE: &str = env!("CARGO_BIN_EXE_weft");

async fn runs_of(weft: &Weft, flow: &str) -> Vec<Value> {
    let mut runs = weft.ok("GET", &format!("/api/runs?flow={flow}&limit=1000"), None).await.as_array().unwrap().clone();
    runs.reverse(); // oldest first
    runs
}

/// Poll `flow` now; the ids of the runs it started, waited for, with their trigger payloads.
async fn poll(weft: &Weft, flow: &str) -> Vec<Value> {
    let out = weft.ok("POST", &format!("/api/flows/{flow}/poll"), None).await;
    let mut triggers = Vec::new();
    for id in out["runs"].as_array().unwrap() {
        let done = weft.finished(id.as_str().unwrap()).await;
        assert_eq!(done["run"]["status"], "succeeded", "{done}");
        triggers.push(done["run"]["trigger"].clone());
    }
    triggers
}

/// Start a manual run of `flow` with `input` and wait for it: `{run, steps}`.
async fn run(weft: &Weft, flow: &str, input: Value) -> Value {
    weft.ok("POST", &format!("/api/flows/{flow}/runs?wait=true"), Some(&input)).await
}

/// Replay every run so far offline, on the versions it ran: each replayed
/// action gives what it gave, byte for byte; the count of steps replayed.
async fn replays_the_same(weft: &Weft) -> usize {
    let runs = weft.ok("GET", "/api/runs?limit=1000", None).await;
    let mut replayed = 0;
    for run in runs.as_array().unwrap() {
        let id = run["id"].as_str().unwrap();
        let replay = weft.ok("POST", &format!("/api/runs/{id}/replay"), None).await;
        let expected = if run["status"] == "failed" { "still_fails" } else { "same" };
        match replay["verdict"].as_str() {
            Some("not_replayable") => assert!(
                replay["steps"].as_array().unwrap().is_empty(),
                "a run with actions could not be replayed: {replay}"
            ),
            verdict => assert_eq!(verdict, Some(expected), "{replay}"),
        }
        for step in replay["steps"].as_array().unwrap() {
            assert_eq!(step["replayed"], step["recorded"], "{step}");
            replayed += 1;
        }
    }
    replayed
}

fn step<'a>(done: &'a Value, id: &str) -> &'a Value {
    done["steps"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["step_id"] == id)
        .unwrap_or_else(|| panic!("no step {id} in {done}"))
}

fn polling(name: &str, trigger: &str, config: Value, steps: Value) -> Value {
    json!({
        "name": name,
        "trigger": { "polling": { "connector": "records", "trigger": trigger, "connection": "db", "config": config, "interval": "1h" } },
        "steps": steps,
    })
}

#[tokio::test(flavor = "multi_thread")]
async fn records_triggers_and_actions_against_a_real_json_server() {
    let db = JsonServer::start(&json!({
        "contacts": [
            { "id": 1, "name": "Ada", "email": "ada@example.com" },
            { "id": 2, "name": "Bo", "email": "bo@example.com", "updatedAt": "2026-01-01T00:00:00.000Z" }
        ],
        "leads": [],
        "tags": [{ "id": "red" }, { "id": "blue" }]
    }))
    .await;
    let (_dir, data, plugin_dir) = workspace(&[plugins::RECORDS, plugins::JQ]);
    let weft = Weft::start(EXE, &data, &plugin_dir, &[]);
    let connection = json!({
        "plugin": "records",
        "settings": { "base_url": db.url(), "timestamp_field": "updatedAt" },
        "hosts": [db.grant()],
    });
    weft.ok("PUT", "/api/connections/db", Some(&connection)).await;

    // New contacts → jq reshape → a lead created through the API.
    let reshape = json!([
        { "id": "shape", "transform": "jq",
          "input": { "program": "{contact_id: .id, label: (.name + \" <\" + .email + \">\")}", "data": "{{ trigger }}" } },
        { "id": "lead", "action": "records.create", "connection": "db",
          "input": { "collection": "leads", "record": "{{ steps.shape.output }}" } }
    ]);
    let mut new_contacts =
        polling("new-contacts", "new_record", json!({ "collection": "contacts", "limit": 2 }), reshape);
    new_contacts["concurrency"] = json!(1); // runs one at a time, in the order the records came
    weft.ok("POST", "/api/flows", Some(&new_contacts)).await;
    let identity = json!([{ "id": "seen", "transform": "jq", "input": { "program": ".", "data": "{{ trigger }}" } }]);
    weft.ok(
        "POST",
        "/api/flows",
        Some(&polling("changed-contacts", "updated_record", json!({ "collection": "contacts" }), identity.clone())),
    )
    .await;
    weft.ok("POST", "/api/flows", Some(&polling("all-tags", "any_record", json!({ "collection": "tags" }), identity)))
        .await;
    for flow in ["new-contacts", "changed-contacts", "all-tags"] {
        weft.ok("POST", &format!("/api/flows/{flow}/activate"), None).await;
        assert!(poll(&weft, flow).await.is_empty(), "the first poll of {flow} only seeds");
    }

    // Records added between polls are emitted once each, in order; `limit: 2`
    // pages through them over several polls.
    for name in ["Cy", "Di", "Ed"] {
        db.add("contacts", &json!({ "name": name, "email": format!("{}@example.com", name.to_lowercase()) })).await;
    }
    let first = poll(&weft, "new-contacts").await;
    let second = poll(&weft, "new-contacts").await;
    let names: Vec<&str> = first.iter().chain(&second).map(|t| t["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["Cy", "Di", "Ed"]);
    assert_eq!(first.len(), 2, "at most `limit` records per poll");
    assert!(poll(&weft, "new-contacts").await.is_empty(), "nothing new, nothing emitted");
    db.add("contacts", &json!({ "name": "Fay", "email": "fay@example.com" })).await;
    assert_eq!(poll(&weft, "new-contacts").await.len(), 1);
    let leads = db.get("/leads").await;
    let labels: Vec<&str> = leads.as_array().unwrap().iter().map(|l| l["label"].as_str().unwrap()).collect();
    assert_eq!(labels, ["Cy <cy@example.com>", "Di <di@example.com>", "Ed <ed@example.com>", "Fay <fay@example.com>"]);
    assert_eq!(leads[0]["contact_id"], 3);
    assert!(leads[0]["updatedAt"].as_str().unwrap().ends_with('Z'), "create stamps the timestamp field: {leads}");

    // Every action, through a manual flow.
    let crud = json!({
        "name": "crud",
        "trigger": "manual",
        "steps": [
            { "id": "create", "action": "records.create", "connection": "db", "input": { "collection": "contacts", "record": "{{ trigger }}" } },
            { "id": "get", "action": "records.get", "connection": "db", "input": { "collection": "contacts", "id": "{{ steps.create.output.id }}" } },
            { "id": "update", "action": "records.update", "connection": "db",
              "input": { "collection": "contacts", "id": "{{ steps.create.output.id }}", "changes": { "name": "Gus Updated" } } },
            { "id": "list", "action": "records.list", "connection": "db",
              "input": { "collection": "contacts", "filter": { "name_like": "Updated" }, "sort": "id", "order": "desc", "limit": 5 } },
            { "id": "delete", "action": "records.delete", "connection": "db", "input": { "collection": "contacts", "id": "{{ steps.create.output.id }}" } },
            { "id": "again", "action": "records.delete", "connection": "db", "input": { "collection": "contacts", "id": "{{ steps.create.output.id }}" } },
            { "id": "gone", "action": "records.get", "connection": "db", "input": { "collection": "contacts", "id": "{{ steps.create.output.id }}" },
              "on_error": "continue" }
        ]
    });
    weft.ok("POST", "/api/flows", Some(&crud)).await;
    let done = run(&weft, "crud", json!({ "name": "Gus", "email": "gus@example.com" })).await;
    assert_eq!(done["run"]["status"], "succeeded", "{done}");
    let id = step(&done, "create")["output"]["id"].clone();
    assert_eq!(id, 7, "json-server numbers new records after the greatest id");
    assert_eq!(step(&done, "get")["output"]["email"], "gus@example.com");
    assert_eq!(step(&done, "update")["output"]["name"], "Gus Updated");
    assert_eq!(step(&done, "list")["output"]["records"][0]["id"], id);
    assert_eq!(step(&done, "list")["output"]["total"], 1);
    assert_eq!(step(&done, "delete")["output"], json!({ "id": id, "deleted": true }));
    assert_eq!(step(&done, "again")["output"], json!({ "id": id, "deleted": false }), "deleting twice is not an error");
    let error = step(&done, "gone")["error"]["message"].as_str().unwrap().to_string();
    assert!(error.contains("there is no record 7 in \"contacts\""), "{error}");

    // Updated records: only those changed (stamped) since the last poll, oldest first.
    assert!(poll(&weft, "changed-contacts").await.is_empty(), "Gus was stamped, but is deleted");
    let touch = json!({
        "name": "touch",
        "trigger": "manual",
        "steps": [{ "id": "update", "action": "records.update", "connection": "db",
                    "input": { "collection": "contacts", "id": "{{ trigger.id }}", "changes": { "vip": true } } }]
    });
    weft.ok("POST", "/api/flows", Some(&touch)).await;
    assert_eq!(run(&weft, "touch", json!({ "id": 4 })).await["run"]["status"], "succeeded");
    let changed = poll(&weft, "changed-contacts").await;
    assert_eq!(changed.len(), 1, "{changed:?}");
    assert_eq!((&changed[0]["name"], &changed[0]["vip"]), (&json!("Di"), &json!(true)));
    db.patch("contacts", &json!(3), &json!({ "updatedAt": "2030-01-01T00:00:00.000Z" })).await;
    db.patch("contacts", &json!(1), &json!({ "updatedAt": "2029-01-01T00:00:00.000Z" })).await;
    let names: Vec<Value> = poll(&weft, "changed-contacts").await.iter().map(|t| t["id"].clone()).collect();
    assert_eq!(names, [json!(1), json!(3)], "in timestamp order");
    assert!(poll(&weft, "changed-contacts").await.is_empty());

    // Full fetch with dedupe: only ids never seen.
    db.add("tags", &json!({ "id": "green" })).await;
    let tags: Vec<Value> = poll(&weft, "all-tags").await.iter().map(|t| t["id"].clone()).collect();
    assert_eq!(tags, [json!("green")]);
    assert!(poll(&weft, "all-tags").await.is_empty());

    // Every run replays offline to the same outputs, byte for byte.
    let before = (db.get("/contacts").await, db.get("/leads").await);
    assert!(replays_the_same(&weft).await >= 5);
    assert_eq!((db.get("/contacts").await, db.get("/leads").await), before, "a replay reached the application");

    // A wrong base URL is a clear step error.
    let broken = json!({ "plugin": "records", "settings": { "base_url": format!("{}/nowhere", db.url()) }, "hosts": [db.grant()] });
    weft.ok("PUT", "/api/connections/db", Some(&broken)).await;
    let failed = weft.api("POST", "/api/flows/new-contacts/poll", None).await;
    assert_eq!(failed.status, 502, "{}", failed.text());
    assert!(
        failed.json()["error"]
            .as_str()
            .unwrap()
            .contains("/nowhere/contacts?_sort=id&_order=asc&id_gte=6&_limit=3 answered 404"),
        "{}",
        failed.text()
    );
    let status = weft.ok("GET", "/api/flows/new-contacts", None).await;
    assert!(status.to_string().contains("answered 404"), "the flow shows why its last poll failed: {status}");
}

const GH_TOKEN: &str = "ghp_test_token_0123456789";
const GH_SECRET: &str = "gh-webhook-secret";
const SLACK_SIGNING: &str = "slack-signing-secret-8f3a";

async fn github_and_slack() -> (FakeGithub, FakeSlack, tempfile::TempDir, Weft) {
    let github = FakeGithub::start(GH_TOKEN, &["acme/widgets"]).await;
    let slack = FakeSlack::start().await;
    let (dir, data, plugin_dir) = workspace(&[plugins::GITHUB, plugins::SLACK, plugins::TEMPLATE]);
    let weft = Weft::start(EXE, &data, &plugin_dir, &[]);
    let gh = json!({
        "plugin": "github",
        "settings": { "base_url": github.url() },
        "secrets": { "token": GH_TOKEN, "webhook_secret": GH_SECRET },
        "hosts": [github.addr.to_string()],
    });
    weft.ok("PUT", "/api/connections/gh", Some(&gh)).await;
    let team = json!({
        "plugin": "slack",
        "secrets": { "webhook_url": slack.webhook_url(slack::HOOK_PATH), "signing_secret": SLACK_SIGNING },
        "hosts": [slack.addr.to_string()],
    });
    weft.ok("PUT", "/api/connections/team", Some(&team)).await;
    (github, slack, dir, weft)
}

#[tokio::test(flavor = "multi_thread")]
async fn github_issue_opened_becomes_a_slack_message() {
    let (github, slack, _dir, weft) = github_and_slack().await;
    let flow = json!({
        "name": "issue-to-slack",
        "trigger": { "webhook": { "connector": "github", "trigger": "repository_event", "connection": "gh",
                                   "events": ["issues"], "config": { "owner": "acme", "repo": "widgets", "actions": ["opened"] } } },
        "steps": [
            { "id": "message", "transform": "template",
              "input": { "template": "{% raw %}New issue #{{ issue.number }}: *{{ issue.title }}*{% if issue.labels %} [{{ issue.labels | map(attribute='name') | join(', ') }}]{% endif %}\n{{ issue.html_url }}{% endraw %}",
                         "data": "{{ trigger }}", "strict": true } },
            { "id": "notify", "action": "slack.post_message", "connection": "team", "input": { "text": "{{ steps.message.output }}" } }
        ]
    });
    weft.ok("POST", "/api/flows", Some(&flow)).await;

    // Activation registers a repository hook for exactly the flow's URL and events, with the secret.
    let status = weft.ok("POST", "/api/flows/issue-to-slack/activate", None).await;
    let url = status["webhook_url"].as_str().unwrap().to_string();
    let hooks = github.hooks("acme/widgets");
    assert_eq!(hooks.len(), 1);
    assert_eq!(
        (hooks[0].url.as_str(), hooks[0].events.as_slice(), hooks[0].secret.as_str()),
        (url.as_str(), &["issues".to_string()][..], GH_SECRET)
    );
    assert_eq!(hooks[0].content_type, "json");

    // GitHub's ping is answered and starts nothing.
    let ping = request(
        "POST",
        &format!("{}/repos/acme/widgets/hooks/{}/pings", github.url(), hooks[0].id),
        &[("authorization", &format!("Bearer {GH_TOKEN}"))],
        Vec::new(),
    )
    .await;
    assert_eq!(ping.status, 204);
    let delivered = github.wait_deliveries(1).await;
    assert_eq!((delivered[0].event.as_str(), delivered[0].status), ("ping", 200), "{:?}", delivered[0]);

    // Opening an issue (through GitHub's API) delivers a signed `issues` event: a run, and a Slack message.
    let issue = request(
        "POST",
        &format!("{}/repos/acme/widgets/issues", github.url()),
        &[("authorization", &format!("Bearer {GH_TOKEN}")), ("content-type", "application/json")],
        json!({ "title": "Widgets melt at 40°C", "labels": ["bug", "urgent"] }).to_string(),
    )
    .await;
    assert_eq!(issue.status, 201);
    let delivered = github.wait_deliveries(2).await;
    assert_eq!((delivered[1].event.as_str(), delivered[1].status), ("issues", 202), "{:?}", delivered[1]);
    let run_id =
        serde_json::from_str::<Value>(&delivered[1].response).unwrap()["runs"][0].as_str().unwrap().to_string();
    let done = weft.finished(&run_id).await;
    assert_eq!(done["run"]["status"], "succeeded", "{done}");
    assert_eq!(done["run"]["trigger"]["event"], "issues");
    assert_eq!(done["run"]["trigger"]["delivery"], delivered[1].id.as_str());
    assert_eq!(
        slack.messages(),
        [
            json!({ "text": "New issue #1: *Widgets melt at 40°C* [bug, urgent]\nhttps://github.example/acme/widgets/issues/1" })
        ]
    );

    // Other actions of the event are filtered out by the trigger's config: no run.
    let closed = json!({ "action": "closed", "issue": { "number": 1, "title": "Widgets melt at 40°C" } });
    let delivered = github.deliver("acme/widgets", "issues", closed.clone(), None).await;
    assert_eq!(delivered[0].status, 202);
    assert_eq!(serde_json::from_str::<Value>(&delivered[0].response).unwrap()["runs"], json!([]));

    // A forged signature, a missing one, a missing event header: refused, nothing runs.
    let forged = github
        .deliver("acme/widgets", "issues", json!({ "action": "opened", "issue": {} }), Some("not-the-secret"))
        .await;
    assert_eq!(forged[0].status, 401);
    assert!(forged[0].response.contains("X-Hub-Signature-256 does not match the body"), "{}", forged[0].response);
    let unsigned =
        request("POST", &url, &[("x-github-event", "issues"), ("x-github-delivery", "d-1")], closed.to_string()).await;
    assert_eq!((unsigned.status, unsigned.json()["error"].as_str()), (401, Some("missing X-Hub-Signature-256 header")));
    assert_eq!(runs_of(&weft, "issue-to-slack").await.len(), 1);
    assert_eq!(slack.messages().len(), 1);

    // The run replays offline to the same outputs: no message is posted again.
    assert!(replays_the_same(&weft).await >= 1);
    assert_eq!(slack.messages().len(), 1);

    // Push events, on a second flow with its own hook.
    let pushes = json!({
        "name": "pushes",
        "trigger": { "webhook": { "connector": "github", "trigger": "repository_event", "connection": "gh",
                                   "events": ["push"], "config": { "owner": "acme", "repo": "widgets" } } },
        "steps": [{ "id": "branch", "transform": "template",
                    "input": { "template": "{% raw %}{{ ref }} by {{ pusher.name }} ({{ commits | length }} commits){% endraw %}", "data": "{{ trigger }}" } }]
    });
    weft.ok("POST", "/api/flows", Some(&pushes)).await;
    weft.ok("POST", "/api/flows/pushes/activate", None).await;
    assert_eq!(github.hooks("acme/widgets").len(), 2);
    let push =
        json!({ "ref": "refs/heads/main", "pusher": { "name": "ada" }, "commits": [{ "id": "a1" }, { "id": "b2" }] });
    let delivered = github.deliver("acme/widgets", "push", push, None).await;
    assert_eq!(delivered.len(), 1, "only the hook subscribed to push gets it");
    let run_id =
        serde_json::from_str::<Value>(&delivered[0].response).unwrap()["runs"][0].as_str().unwrap().to_string();
    assert_eq!(weft.finished(&run_id).await["run"]["output"], "refs/heads/main by ada (2 commits)");
    weft.ok("DELETE", "/api/flows/pushes", None).await;

    // Deactivating (and deleting) removes the repository hooks.
    weft.ok("POST", "/api/flows/issue-to-slack/deactivate", None).await;
    assert!(github.hooks("acme/widgets").is_empty());
}

#[tokio::test(flavor = "multi_thread")]
async fn github_actions_create_issues_and_comments_and_report_errors() {
    let (github, slack, _dir, weft) = github_and_slack().await;
    let flow = json!({
        "name": "file-issue",
        "trigger": "manual",
        "steps": [
            { "id": "issue", "action": "github.create_issue", "connection": "gh",
              "input": { "owner": "acme", "repo": "widgets", "title": "{{ trigger.title }}", "body": "Filed by weft", "labels": ["triage"] } },
            { "id": "comment", "action": "github.add_comment", "connection": "gh",
              "input": { "owner": "acme", "repo": "widgets", "issue_number": "{{ steps.issue.output.number }}", "body": "Looking into it" } }
        ]
    });
    weft.ok("POST", "/api/flows", Some(&flow)).await;
    let done = run(&weft, "file-issue", json!({ "title": "Gears squeak" })).await;
    assert_eq!(done["run"]["status"], "succeeded", "{done}");
    assert_eq!(step(&done, "issue")["output"]["number"], 1);
    assert_eq!(github.issues("acme/widgets")[0]["title"], "Gears squeak");
    assert_eq!(github.issues("acme/widgets")[0]["labels"], json!([{ "name": "triage" }]));
    assert_eq!(github.comments("acme/widgets")[0]["body"], "Looking into it");

    // GitHub's error answers become step errors that say what GitHub said.
    let comment_on = |number: u64, repo: &str| {
        json!({ "name": "comment", "trigger": "manual", "steps": [
            { "id": "comment", "action": "github.add_comment", "connection": "gh", "retry": { "max_attempts": 1 },
              "input": { "owner": "acme", "repo": repo, "issue_number": number, "body": "hello" } } ] })
    };
    let error_of = |done: &Value| step(done, "comment")["error"]["message"].as_str().unwrap_or_default().to_string();
    weft.ok("POST", "/api/flows", Some(&comment_on(99, "widgets"))).await;
    let done = run(&weft, "comment", json!({})).await;
    assert_eq!(done["run"]["status"], "failed");
    assert!(
        error_of(&done).contains("invalid input: GitHub answered 404") && error_of(&done).contains("Not Found"),
        "{}",
        error_of(&done)
    );
    weft.ok("PUT", "/api/flows/comment", Some(&comment_on(1, "gadgets"))).await;
    assert!(
        error_of(&run(&weft, "comment", json!({})).await).contains("/repos/acme/gadgets/issues/1/comments: Not Found")
    );

    // Invalid input never reaches GitHub: the flow is refused, naming the field.
    let bad = json!({ "name": "bad", "trigger": "manual", "steps": [
        { "id": "issue", "action": "github.create_issue", "connection": "gh", "input": { "owner": "acme", "repo": "widgets" } } ] });
    let refused = weft.api("POST", "/api/flows", Some(&bad)).await;
    assert_eq!(refused.status, 422);
    assert!(refused.text().contains(r#"steps.issue.input: \"title\" is a required property"#), "{}", refused.text());

    // The primary rate limit: a rate-limited error that waits for the reset.
    github.exhaust_rate_limit(120);
    weft.ok("PUT", "/api/flows/comment", Some(&comment_on(1, "widgets"))).await;
    let done = run(&weft, "comment", json!({})).await;
    assert!(
        error_of(&done).contains("rate limited") && error_of(&done).contains("API rate limit exceeded"),
        "{}",
        error_of(&done)
    );

    // A wrong token: an auth error, not retried.
    let gh = json!({ "plugin": "github", "settings": { "base_url": github.url() }, "secrets": { "token": "ghp_wrong" }, "hosts": [github.addr.to_string()] });
    weft.ok("PUT", "/api/connections/gh", Some(&gh)).await;
    let done = run(&weft, "comment", json!({})).await;
    assert!(
        error_of(&done).contains("authentication failed: GitHub answered 401")
            && error_of(&done).contains("Bad credentials"),
        "{}",
        error_of(&done)
    );
    // Every run replays offline to what it gave, the failed ones to their failure.
    let issues = github.issues("acme/widgets").len();
    assert!(replays_the_same(&weft).await >= 3);
    assert_eq!(github.issues("acme/widgets").len(), issues, "a replay reached the application");
    drop(slack);
}

#[tokio::test(flavor = "multi_thread")]
async fn slack_events_are_verified_and_messages_posted() {
    let (_github, slack, _dir, weft) = github_and_slack().await;
    let flow = json!({
        "name": "mentions",
        "trigger": { "webhook": { "connector": "slack", "trigger": "events", "connection": "team", "config": { "types": ["app_mention"] } } },
        "steps": [{ "id": "reply", "action": "slack.post_message", "connection": "team",
                    "input": { "text": "You said: {{ trigger.event.text }}", "thread_ts": "{{ trigger.event.ts }}" } }]
    });
    weft.ok("POST", "/api/flows", Some(&flow)).await;
    let status = weft.ok("POST", "/api/flows/mentions/activate", None).await;
    assert_eq!(status["manual_subscription"], true, "Slack has no API to set the Request URL: paste it by hand");
    let url = status["webhook_url"].as_str().unwrap().to_string();
    let send = |body: Value, ts: u64, secret: &'static str| {
        let url = url.clone();
        async move {
            let bytes = body.to_string().into_bytes();
            let headers = slack::signed_headers(secret, ts, &bytes);
            let headers: Vec<(&str, &str)> = headers.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
            request("POST", &url, &headers, bytes).await
        }
    };

    // Slack's url_verification handshake is answered with the challenge.
    let challenge = json!({ "token": "legacy", "challenge": "3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P", "type": "url_verification" });
    let reply = send(challenge.clone(), slack::now_s(), SLACK_SIGNING).await;
    assert_eq!(
        (reply.status, reply.json()),
        (200, json!({ "challenge": "3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P" }))
    );

    // Bad signatures and stale timestamps are refused.
    let reply = send(challenge.clone(), slack::now_s(), "wrong-secret").await;
    assert_eq!(
        (reply.status, reply.json()["error"].as_str()),
        (401, Some("X-Slack-Signature does not match the request"))
    );
    let reply = send(challenge.clone(), slack::now_s() - 600, SLACK_SIGNING).await;
    assert_eq!(reply.status, 401);
    assert!(reply.text().contains("refused as a possible replay"), "{}", reply.text());
    let reply = request("POST", &url, &[], challenge.to_string()).await;
    assert_eq!((reply.status, reply.json()["error"].as_str()), (401, Some("missing X-Slack-Request-Timestamp header")));

    // An app_mention runs the flow, which answers in the thread.
    let mention = |id: &str, kind: &str| {
        json!({
            "token": "legacy", "team_id": "T0001", "api_app_id": "A0001", "type": "event_callback", "event_id": id, "event_time": 1_700_000_000,
            "event": { "type": kind, "user": "U0001", "text": "<@U0BOT> deploy please", "ts": "1700000000.000100", "channel": "C0001" }
        })
    };
    let reply = send(mention("Ev0001", "app_mention"), slack::now_s(), SLACK_SIGNING).await;
    assert_eq!(reply.status, 202, "{}", reply.text());
    let done = weft.finished(reply.json()["runs"][0].as_str().unwrap()).await;
    assert_eq!(done["run"]["status"], "succeeded", "{done}");
    assert_eq!(
        slack.messages(),
        [json!({ "text": "You said: <@U0BOT> deploy please", "thread_ts": "1700000000.000100" })]
    );
    // Types the trigger does not want start nothing.
    let reply = send(mention("Ev0002", "message"), slack::now_s(), SLACK_SIGNING).await;
    assert_eq!((reply.status, reply.json()["runs"].clone()), (202, json!([])));

    // Slack's answers to the post become errors the engine acts on.
    let post = |text: &str| {
        json!({ "name": "post", "trigger": "manual", "steps": [
        { "id": "post", "action": "slack.post_message", "connection": "team", "retry": { "max_attempts": 1 }, "input": { "text": text } } ] })
    };
    weft.ok("POST", "/api/flows", Some(&post("hello"))).await;
    slack.rate_limit_next(1);
    let done = run(&weft, "post", json!({})).await;
    let error = &step(&done, "post")["error"];
    assert!(
        error["message"]
            .as_str()
            .unwrap()
            .contains("rate limited (retry after 7000 ms): Slack answered 429: rate_limited"),
        "{error}"
    );
    assert_eq!(error["retry_after_ms"], 7000, "Slack's Retry-After");
    assert_eq!(run(&weft, "post", json!({})).await["run"]["status"], "succeeded");
    let archived = json!({ "plugin": "slack", "secrets": { "webhook_url": slack.webhook_url(slack::ARCHIVED_PATH) }, "hosts": [slack.addr.to_string()] });
    weft.ok("PUT", "/api/connections/team", Some(&archived)).await;
    let done = run(&weft, "post", json!({})).await;
    let message = step(&done, "post")["error"]["message"].as_str().unwrap().to_string();
    assert!(message.contains("invalid input: Slack answered 410: channel_is_archived"), "{message}");
    assert!(!message.contains(slack::ARCHIVED_PATH), "the webhook URL is a secret and stays out of errors: {message}");
}

/// The GitHub connector's OAuth app option: no token pasted; a person signs
/// in once (at the test's authorization server standing in for github.com),
/// and weft adds the OAuth token to the connector's API requests.
#[tokio::test(flavor = "multi_thread")]
async fn github_through_an_oauth_app_files_issues_without_a_pasted_token() {
    let oauth = weft_tests::oauth::OAuthServer::start();
    let github = FakeGithub::start(GH_TOKEN, &["acme/widgets"]).await;
    github.accept_oauth_app_tokens();
    let (_dir, data, plugin_dir) = workspace(&[plugins::GITHUB]);
    let weft = Weft::start(EXE, &data, &plugin_dir, &[]);
    let described = weft.cli(&["plugin", "describe", plugins::GITHUB]);
    let shown = String::from_utf8_lossy(&described.stdout).to_string();
    assert!(shown.contains("oauth2: authorization code with PKCE; token sent to api.github.com"), "{shown}");
    assert!(shown.contains("authorize at https://github.com/login/oauth/authorize"), "{shown}");
    let gh = json!({
        "plugin": "github",
        "settings": { "base_url": github.url() },
        "hosts": [github.addr.to_string(), oauth.grant()],
        "oauth": { "client_id": "Iv1.weft-test", "client_secret": "github-oauth-app-secret",
                   "authorization_url": oauth.authorize_url(), "token_url": oauth.token_url(),
                   "token_hosts": [github.addr.to_string()] },
    });
    let saved = weft.ok("PUT", "/api/connections/gh", Some(&gh)).await;
    assert_eq!(saved["oauth"]["scopes"], json!(["repo", "admin:repo_hook"]), "the connector's scopes");
    let begun = weft.ok("POST", "/api/connections/gh/authorize", None).await;
    let approved = request("GET", begun["authorize_url"].as_str().unwrap(), &[], Vec::new()).await;
    let back = request("GET", approved.header("location").unwrap(), &[], Vec::new()).await;
    assert_eq!(back.status, 200, "{}", back.text());
    let exchanged = oauth.token_requests("authorization_code");
    assert_eq!(exchanged[0]["client_auth"], "body", "GitHub takes the client's credentials in the form body");

    let flow = json!({ "name": "file-issue", "trigger": "manual", "steps": [
        { "id": "issue", "action": "github.create_issue", "connection": "gh",
          "input": { "owner": "acme", "repo": "widgets", "title": "{{ trigger.title }}" } } ] });
    weft.ok("POST", "/api/flows", Some(&flow)).await;
    let done = run(&weft, "file-issue", json!({ "title": "Signed in, not pasted" })).await;
    assert_eq!(done["run"]["status"], "succeeded", "{done}");
    assert_eq!(github.issues("acme/widgets")[0]["title"], "Signed in, not pasted");
}
