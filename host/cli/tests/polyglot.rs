//! Components written in other languages, built against `wit/` by
//! `cargo xtask polyglot` (which `cargo xtask test` runs first): a JavaScript
//! transform built with componentize-js and a Python one built with
//! componentize-py. Both are 10–20 MB, which is what the compile cache is for.

use serde_json::json;
use std::path::PathBuf;
use weft_core::plugin::PluginError;
use weft_runtime::cache::CacheOutcome;
use weft_runtime::{CallError, CallOptions, Plugin, Runtime, RuntimeConfig};
use weft_tests::weft::{Weft, workspace};

const EXE: &str = env!("CARGO_BIN_EXE_weft");

/// A built polyglot component (`contact_card.wasm`, `slugify.wasm`).
fn component(file: &str) -> PathBuf {
    let dir = std::env::var_os("WEFT_POLYGLOT_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../target/polyglot"));
    let path = dir.join(file);
    assert!(
        path.exists(),
        "{} is missing: build the polyglot components with `cargo xtask polyglot` (`cargo xtask test` does)",
        path.display()
    );
    path
}

/// Load `file` twice with one cache folder: compiled the first time, found in
/// the cache by the second runtime (a restart).
async fn load_twice(file: &str) -> (Plugin, tempfile::TempDir) {
    let cache = tempfile::tempdir().unwrap();
    let runtime =
        || Runtime::new(RuntimeConfig { cache_dir: Some(cache.path().into()), ..Default::default() }).unwrap();
    let first = runtime().load_file(&component(file)).await.unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(first.cache_outcome(), CacheOutcome::Compiled);
    let second = runtime().load_file(&component(file)).await.unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(second.cache_outcome(), CacheOutcome::Hit);
    (second, cache)
}

#[tokio::test]
async fn a_javascript_transform_runs() {
    let (card, _cache) = load_twice("contact_card.wasm").await;
    assert_eq!(card.name(), "contact-card", "a transform is named by its file");
    let outcome = card
        .transform(&CallOptions::default(), &json!({ "first": "Ada", "last": "Lovelace", "email": "ada@Example.org" }))
        .await;
    assert_eq!(
        outcome.result.unwrap(),
        json!({ "display": "Lovelace, Ada <ada@Example.org>", "domain": "example.org", "language": "javascript" })
    );
    assert_eq!(outcome.logs.len(), 1);
    assert_eq!(outcome.logs[0].message, "contact card for example.org");

    let err = card.transform(&CallOptions::default(), &json!({ "first": "Ada" })).await.result.unwrap_err();
    assert!(matches!(&err, CallError::Plugin { error: PluginError::InvalidInput { .. }, .. }), "{err}");
    assert!(
        err.to_string().ends_with("invalid input: the input needs a text field \"email\" holding an address"),
        "{err}"
    );
}

#[tokio::test]
async fn a_python_transform_runs() {
    let (slugify, _cache) = load_twice("slugify.wasm").await;
    let outcome = slugify.transform(&CallOptions::default(), &json!({ "title": "Hello, Wasm World!" })).await;
    assert_eq!(outcome.result.unwrap(), json!({ "slug": "hello-wasm-world", "words": 3, "language": "python" }));
    assert_eq!(outcome.logs[0].message, "slugified 3 words");

    let err = slugify.transform(&CallOptions::default(), &json!({ "title": 7 })).await.result.unwrap_err();
    assert!(matches!(&err, CallError::Plugin { error: PluginError::InvalidInput { .. }, .. }), "{err}");
    assert!(err.to_string().ends_with("invalid input: the input needs a text field \"title\""), "{err}");
}

/// Both uploaded to a real `weft serve` and chained in one flow.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn javascript_and_python_steps_run_in_one_flow() {
    let (_dir, data, plugin_dir) = workspace(&[]);
    let weft = Weft::start(EXE, &data, &plugin_dir, &[]);
    for file in ["contact_card.wasm", "slugify.wasm"] {
        let out = weft.cli(&["plugin", "install", component(file).to_str().unwrap()]);
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    }
    let flow = json!({ "name": "polyglot", "trigger": "manual", "steps": [
        { "id": "card", "transform": "contact-card", "input": "{{ trigger }}" },
        { "id": "slug", "transform": "slugify", "input": { "title": "{{ steps.card.output.display }}" } },
    ] });
    weft.ok("POST", "/api/flows", Some(&flow)).await;
    let done = weft
        .ok(
            "POST",
            "/api/flows/polyglot/runs?wait=true",
            Some(&json!({ "first": "Grace", "last": "Hopper", "email": "grace@navy.mil" })),
        )
        .await;
    assert_eq!(done["run"]["status"], "succeeded", "{done:#}");
    assert_eq!(
        done["run"]["output"],
        json!({ "slug": "hopper-grace-grace-navy-mil", "words": 5, "language": "python" })
    );
}
