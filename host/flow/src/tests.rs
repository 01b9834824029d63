//! Validation of whole flows against a catalog without wasm.

use super::*;
use serde_json::json;
use weft_core::catalog::Catalog;
use weft_core::model::FlowDef;
use weft_core::plugin::{ActionSpec, Manifest, PollingStrategy, TriggerKind, TriggerSpec};

struct FakeCatalog;

impl Catalog for FakeCatalog {
    fn connector(&self, name: &str, version: Option<&str>) -> Option<Manifest> {
        if name != "http" || version.is_some_and(|v| v != "0.1.0") {
            return None;
        }
        Some(Manifest {
            name: "http".into(),
            version: "0.1.0".into(),
            description: String::new(),
            triggers: vec![TriggerSpec {
                name: "new-item".into(),
                description: String::new(),
                kind: TriggerKind::Polling,
                polling: Some(PollingStrategy::IncreasingId),
                events: vec![],
                config_schema: json!({ "type": "object", "required": ["path"] }),
                output_schema: json!({}),
            }],
            actions: vec![ActionSpec {
                name: "request".into(),
                description: String::new(),
                input_schema: json!({
                    "type": "object",
                    "required": ["url"],
                    "additionalProperties": false,
                    "properties": {
                        "url": { "type": "string" },
                        "method": { "enum": ["GET", "POST"] },
                        "body": {}
                    }
                }),
                output_schema: json!({}),
            }],
            settings: vec![],
            hosts: vec![],
            oauth2: None,
        })
    }

    fn has_transform(&self, name: &str, _version: Option<&str>) -> bool {
        name == "clean-contact"
    }

    fn connection_connector(&self, id: &str) -> Option<String> {
        match id {
            "crm" => Some("http".into()),
            "gh" => Some("github".into()),
            _ => None,
        }
    }
}

fn check(yaml: &str) -> Result<Flow, Vec<String>> {
    let def = FlowDef::parse(yaml).expect("parses");
    validate(def, &FakeCatalog).map_err(|e| e.problems.iter().map(|p| format!("{}: {}", p.path, p.message)).collect())
}

const GOOD: &str = r#"
name: contact-sync
trigger: manual
steps:
  - id: clean
    transform: clean-contact
    input: "{{ trigger }}"
  - id: create
    action: http.request
    connection: crm
    input:
      method: POST
      url: /contacts
      body: "{{ steps.clean.output }}"
    retry: { max_attempts: 5, initial_backoff: 2s, max_backoff: 1m }
    on_error: continue
  - id: check
    if: steps.create.output.status == 201
    then:
      - id: wait
        delay: 10m
    else:
      - id: alert
        action: http.request
        connection: crm
        input: { url: "/alerts?for={{ trigger.email }}" }
  - id: each
    for_each: trigger.items
    concurrency: 4
    steps:
      - id: item_clean
        transform: clean-contact
        input: { email: "{{ item.email }}", n: "{{ index }}" }
  - id: route
    switch: trigger.kind
    cases:
      a: [ { id: later, delay_until: "{{ trigger.due }}" } ]
    default: [ { id: fixed, delay_until: "2030-01-01T00:00:00Z" } ]
"#;

#[test]
fn a_good_flow_validates_into_steps() {
    let flow = check(GOOD).unwrap();
    assert_eq!(flow.steps.len(), 5);
    match &flow.steps[1].kind {
        StepKind::Action { connector, action, connection, .. } => {
            assert_eq!((connector.as_str(), action.as_str(), connection.as_str()), ("http", "request", "crm"));
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(flow.steps[1].retry.max_attempts, 5);
    assert_eq!(flow.steps[1].retry.initial_backoff, std::time::Duration::from_secs(2));
    assert!(matches!(flow.steps[1].on_error, validate::OnError::Continue));
    assert!(matches!(&flow.steps[3].kind, StepKind::ForEach { concurrency: 4, .. }));
}

#[test]
fn unknown_connector_action_transform_and_connection() {
    let problems = check(
        r#"
name: f
trigger: manual
steps:
  - { id: a, action: nope.request, connection: crm, input: { url: x } }
  - { id: b, action: http.fetch, connection: crm }
  - { id: c, transform: nope }
  - { id: d, action: http.request, connection: missing, input: { url: x } }
  - { id: e, action: http.request, connection: gh, input: { url: x } }
  - { id: f, action: http.request, input: { url: x } }
  - { id: g, action: http@9.9.9.request, connection: crm, input: { url: x } }
"#,
    )
    .unwrap_err();
    assert_eq!(
        problems,
        [
            "steps.a.connection: connection \"crm\" is for connector \"http\", not \"nope\"",
            "steps.a.action: unknown connector \"nope\"",
            "steps.b.connection: connection \"crm\" is for connector \"http\", not \"http\""
                .replace(", not \"http\"", "")
                .as_str(),
        ]
        .iter()
        .take(2)
        .map(|s| s.to_string())
        .chain([
            "steps.b.action: connector \"http\" has no action \"fetch\" (it has: request)".to_string(),
            "steps.c.transform: unknown transform \"nope\"".to_string(),
            "steps.d.connection: unknown connection \"missing\"".to_string(),
            "steps.e.connection: connection \"gh\" is for connector \"github\", not \"http\"".to_string(),
            "steps.f.connection: an action step needs a connection".to_string(),
            "steps.g.action: unknown connector \"http@9.9.9\"".to_string(),
        ])
        .collect::<Vec<_>>()
    );
}

#[test]
fn input_is_checked_against_the_action_schema() {
    let problems = check(
        r#"
name: f
trigger: manual
steps:
  - { id: a, action: http.request, connection: crm, input: { method: PUT, url: 5 } }
  - { id: b, action: http.request, connection: crm, input: { method: "{{ trigger.m }}", bogus: 1 } }
"#,
    )
    .unwrap_err();
    assert_eq!(problems.len(), 4, "{problems:#?}");
    assert!(problems[0].starts_with("steps.a.input.method: \"PUT\" is not one of"), "{problems:#?}");
    assert_eq!(problems[1], "steps.a.input.url: 5 is not of type \"string\"");
    assert_eq!(problems[2], "steps.b.input: \"url\" is a required property");
    assert_eq!(problems[3], "steps.b.input.bogus: is not a property of this input (additionalProperties is false)");
}

#[test]
fn expressions_must_parse_and_read_only_earlier_steps() {
    let problems = check(
        r#"
name: f
trigger: manual
steps:
  - { id: a, transform: clean-contact, input: { x: "{{ steps.b.output }}", y: "{{ trigger. }}" } }
  - { id: b, transform: clean-contact, input: { x: "{{ steps.b.output }}", z: "{{ steps.zz.output }}" } }
  - { id: c, transform: clean-contact, input: { i: "{{ item }}", v: "{{ vars.x }}", o: "{{ steps.a.outptu }}" } }
  - { id: d, if: "steps.a.output ==", then: [] }
  - id: e
    for_each: trigger.list
    steps: [ { id: inner, transform: clean-contact } ]
  - { id: f, transform: clean-contact, input: "{{ steps.inner.output }}" }
"#,
    )
    .unwrap_err();
    let expected = [
        "steps.a.input.y: syntax error: unexpected end of input, expected identifier or integer (in `{{ trigger. }}`)",
        "steps.b.input.x: refers to step \"b\", which does not run before this point",
        "steps.b.input.z: refers to unknown step \"zz\"",
        "steps.c.input.i: `item` exists only inside a for_each",
        "steps.c.input.o: steps.a.outptu: a step has `output` and `error`",
        "steps.c.input.v: unknown variable \"vars\": expressions can read trigger, steps.<id>.output, item, index and run",
        "steps.d.if: syntax error: unexpected end of input, expected expression (in `steps.a.output ==`)",
        "steps.f.input: refers to step \"inner\", which does not run before this point",
    ];
    assert_eq!(problems, expected);
}

#[test]
fn structure_problems() {
    let problems = check(
        r#"
name: Bad Name
trigger:
  polling: { connector: http, trigger: new-item, connection: crm, config: {}, interval: soon }
concurrency: 0
steps:
  - { id: a, transform: clean-contact, delay: 5s }
  - { id: a, delay: 5 parsecs }
  - { id: B-1, if: "true", input: {} }
  - { id: c }
  - { id: d, for_each: trigger.x }
  - { id: e, transform: clean-contact, retry: { max_attempts: 0, initial_backoff: 1m, max_backoff: 1s } }
"#,
    )
    .unwrap_err();
    let expected = [
        "name: \"Bad Name\" must be 1 to 64 characters of [a-z0-9_-]",
        "trigger.config: \"path\" is a required property",
        "trigger.interval: \"soon\" is not a duration like 30s, 10m or 2h 30m",
        "concurrency: must be at least 1 (omit it for no per-flow limit)",
        "steps.a: has more than one kind: a step has exactly one of action, transform, call, respond, if, switch, for_each, delay or delay_until",
        "steps.a.id: duplicate step id \"a\"",
        "steps.a.delay: \"5 parsecs\" is not a duration like 30s, 10m or 2h 30m",
        "steps.B-1.id: \"B-1\" must be 1 to 64 characters of [a-z0-9_]",
        "steps.B-1.input: only an action, transform or call step has input",
        "steps.B-1.then: an if step needs `then` steps",
        "steps.c: has no kind: a step has exactly one of action, transform, call, respond, if, switch, for_each, delay or delay_until",
        "steps.d.steps: a for_each step needs `steps`",
        "steps.e.retry.max_attempts: must be at least 1 (1 means no retries)",
        "steps.e.retry: max_backoff is shorter than initial_backoff",
    ];
    assert_eq!(problems, expected);
}

#[test]
fn the_error_lists_every_problem() {
    let def = FlowDef::parse("name: f\ntrigger: manual\nsteps: []\n").unwrap();
    let err = validate(def, &FakeCatalog).unwrap_err();
    assert_eq!(err.to_string(), "flow \"f\" is invalid:\n  steps: a flow needs at least one step");
}
