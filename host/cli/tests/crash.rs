//! Crash safety: a real `weft serve` under webhook load, SIGKILLed at random
//! moments and restarted, again and again. Checked afterwards:
//! - every event that got a 2xx has a run, and every run ends (succeeded);
//! - no completed step ran twice. The test app numbers every call (`serial`)
//!   and logs its idempotency key. Steps are at-least-once, so a step cut off
//!   by a kill before its record was flushed may be called again, but:
//!   - two calls with one key always have a kill between them (never twice in
//!     one process's life);
//!   - once the step after it was called, a step is durably complete (the
//!     executor flushes a step's record before starting the next), so it is
//!     never called again;
//!   - the output a run recorded is the one of the last call.
//!
//! `WEFT_CRASH_KILLS` raises the number of kills (default 20) for a longer run.

use serde_json::{Value, json};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use weft_tests::app::TestApp;
use weft_tests::http::try_request;
use weft_tests::plugins;
use weft_tests::weft::{Weft, workspace};

const EXE: &str = env!("CARGO_BIN_EXE_weft");

/// A small xorshift generator: kill moments vary per run without a dependency.
fn next(state: &mut u64) -> u64 {
    *state ^= *state << 13;
    *state ^= *state >> 7;
    *state ^= *state << 17;
    *state
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sigkill_under_webhook_load_loses_no_acknowledged_event_and_repeats_no_completed_step() {
    let kills: usize = std::env::var("WEFT_CRASH_KILLS").ok().and_then(|k| k.parse().ok()).unwrap_or(20);
    let app = TestApp::start().await;
    let (_dir, data, plugin_dir) = workspace(&[plugins::HTTP, plugins::IDENTITY]);
    let mut weft = Weft::start(EXE, &data, &plugin_dir, &[]);
    let connection = json!({ "plugin": "http", "settings": { "base_url": app.url("") }, "hosts": [app.grant()] });
    weft.ok("PUT", "/api/connections/app", Some(&connection)).await;
    weft.ok("PUT", "/api/connections/inbox", Some(&json!({ "plugin": "http" }))).await;
    let flow = json!({
        "name": "crash",
        "trigger": { "webhook": { "connector": "http", "trigger": "incoming", "connection": "inbox" } },
        "steps": [
            { "id": "first", "action": "http.request", "connection": "app",
              "input": { "method": "POST", "url": "/echo/first", "body": "{{ trigger }}" } },
            { "id": "shape", "transform": "identity", "input": { "n": "{{ trigger.n }}" } },
            { "id": "second", "action": "http.request", "connection": "app",
              "input": { "method": "POST", "url": "/echo/second?delay", "body": "{{ steps.shape.output }}" } },
        ],
    });
    weft.ok("POST", "/api/flows", Some(&flow)).await;
    let url = weft.ok("POST", "/api/flows/crash/activate", None).await["webhook_url"].as_str().unwrap().to_string();

    // Load: 4 senders post events without pause; a refused connection (weft is
    // down) is simply not acknowledged.
    let acknowledged = Arc::new(Mutex::new(Vec::<String>::new()));
    let running = Arc::new(AtomicBool::new(true));
    let mut senders = Vec::new();
    for sender in 0..4u64 {
        let (url, acknowledged, running) = (url.clone(), acknowledged.clone(), running.clone());
        senders.push(tokio::spawn(async move {
            let mut n = 0u64;
            while running.load(Ordering::Relaxed) {
                n += 1;
                let body = json!({ "sender": sender, "n": n }).to_string();
                match try_request("POST", &url, &[("content-type", "application/json")], body).await {
                    Ok(reply) if reply.status == 202 => {
                        let ids = reply.json()["runs"].as_array().cloned().unwrap_or_default();
                        acknowledged.lock().unwrap().extend(ids.iter().map(|i| i.as_str().unwrap().to_string()));
                    }
                    Ok(reply) => {
                        assert!(matches!(reply.status, 429 | 503), "unexpected {} {}", reply.status, reply.text())
                    }
                    Err(_) => tokio::time::sleep(Duration::from_millis(20)).await,
                }
            }
        }));
    }

    let mut seed = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos() as u64 | 1;
    println!("kill schedule seed: {seed}");
    // The app's call count at each kill: calls numbered below a mark reached
    // the app before that kill.
    let mut kill_marks = Vec::new();
    for _ in 0..kills {
        tokio::time::sleep(Duration::from_millis(150 + next(&mut seed) % 450)).await;
        weft.kill();
        kill_marks.push(app.log().len());
        tokio::time::sleep(Duration::from_millis(next(&mut seed) % 100)).await;
        weft.restart(&[]);
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    running.store(false, Ordering::Relaxed);
    for sender in senders {
        sender.await.unwrap();
    }

    let acknowledged = acknowledged.lock().unwrap().clone();
    assert!(acknowledged.len() > kills, "the load kept going: only {} events acknowledged", acknowledged.len());
    let mut finished = Vec::new();
    for id in &acknowledged {
        let done = weft.finished(id).await;
        assert_eq!(done["run"]["status"], "succeeded", "every acknowledged event runs to the end: {done}");
        finished.push((id, done));
    }
    let repeated_after_a_kill = weft_tests::crash::check_calls(&app, &finished, &kill_marks);
    println!(
        "{kills} SIGKILLs; {} events acknowledged, all run to success; {repeated_after_a_kill} steps re-called after a kill cut them off before their record",
        acknowledged.len()
    );
    let _: Value = weft.ok("GET", "/api/runs?limit=1", None).await;
}
