//! What the crash tests check of the runs a killed weft left to finish: the
//! flow `first` (action) → `shape` (transform) → `second` (action), its
//! actions calling the test app, which numbers every call and logs its
//! idempotency key.

use crate::app::TestApp;
use serde_json::Value;
use std::collections::HashMap;

/// For every finished run (`{run, steps}`), with the app's call count at
/// each kill in `kill_marks`:
/// - the output a step recorded is its last call's;
/// - two calls with one key always have a kill between them (steps are at
///   least once, never twice in one process's life);
/// - `first` is never called again once `second` has started.
///
/// Returns how many steps were called again after a kill cut them off.
pub fn check_calls(app: &TestApp, finished: &[(&String, Value)], kill_marks: &[usize]) -> usize {
    // Which calls the app saw, per idempotency key, in arrival order.
    let mut calls: HashMap<String, Vec<usize>> = HashMap::new();
    for (serial, (_, _, key)) in app.log().into_iter().enumerate() {
        if let Some(key) = key {
            calls.entry(key).or_default().push(serial);
        }
    }
    let mut repeated_after_a_kill = 0;
    for (id, done) in finished {
        let mut first_call_of = HashMap::new();
        for step in done["steps"].as_array().unwrap().iter().filter(|s| s["step_id"] != "shape") {
            let output = &step["output"]["body"];
            let key = output["headers"]["idempotency-key"].as_str().unwrap_or_else(|| panic!("{step}"));
            let recorded = output["serial"].as_u64().unwrap() as usize;
            let seen = &calls[key];
            assert_eq!(seen.last(), Some(&recorded), "run {id}: the recorded output is not the last call's: {seen:?}");
            for pair in seen.windows(2) {
                assert!(
                    kill_marks.iter().any(|m| pair[0] < *m && *m <= pair[1]),
                    "run {id}: step {} was called twice ({pair:?}) with no kill between",
                    step["step_id"]
                );
            }
            repeated_after_a_kill += usize::from(seen.len() > 1);
            first_call_of.insert(step["step_id"].as_str().unwrap().to_string(), (seen[0], seen.clone()));
        }
        let (second_started, _) = first_call_of["second"];
        let (_, first_calls) = &first_call_of["first"];
        assert!(
            first_calls.iter().all(|c| *c < second_started),
            "run {id}: step `first` was called again ({first_calls:?}) after `second` had started ({second_started})"
        );
    }
    repeated_after_a_kill
}
