//! The first-party transforms, run by the real runtime: `jq` (jaq compiled to
//! wasm32-wasip2) and `template` (MiniJinja), with valid and invalid programs,
//! and programs that never end stopped by the sandbox's budget.

use serde_json::{Value, json};
use weft_runtime::{CallError, CallOptions, LimitKind, Limits, Plugin, Runtime, RuntimeConfig};
use weft_tests::plugins;

async fn load(path: &str) -> Plugin {
    let rt = Runtime::new(RuntimeConfig::default()).expect("runtime");
    rt.load_file(path.as_ref()).await.unwrap_or_else(|e| panic!("{e}"))
}

async fn call(p: &Plugin, input: Value) -> Result<Value, String> {
    p.transform(&CallOptions::default(), &input).await.result.map_err(|e| e.to_string())
}

#[tokio::test]
async fn jq_runs_programs_and_names_what_is_wrong() {
    let jq = load(plugins::JQ).await;
    let contact = json!({ "id": 7, "name": "Ada Lovelace", "emails": ["ADA@example.com", "ada@work.example"], "tags": ["vip", "x"] });
    let reshape = "{ id, first: (.name | split(\" \") | .[0]), email: (.emails[0] | ascii_downcase), \
                   tags: [.tags[] | select(. != \"x\")], n: (.emails | length) }";
    assert_eq!(
        call(&jq, json!({ "program": reshape, "data": contact })).await.unwrap(),
        json!({ "id": 7, "first": "Ada", "email": "ada@example.com", "tags": ["vip"], "n": 2 })
    );
    // Variables, several outputs with `all`, regular expressions, formats, math.
    assert_eq!(
        call(&jq, json!({ "program": "$greeting + .", "data": "Ada", "vars": { "greeting": "Hi " } })).await.unwrap(),
        json!("Hi Ada")
    );
    assert_eq!(
        call(&jq, json!({ "program": ".[] | . * 2", "data": [1, 2, 3], "all": true })).await.unwrap(),
        json!([2, 4, 6])
    );
    assert_eq!(
        call(&jq, json!({ "program": "[test(\"^a.a$\"), @base64, (1.5 | floor)]", "data": "ada" })).await.unwrap(),
        json!([true, "YWRh", 1])
    );
    assert_eq!(
        call(&jq, json!({ "program": "select(.ok)", "data": { "ok": false } })).await.unwrap(),
        json!(null),
        "no output is null"
    );

    // Errors say what is wrong, and where.
    let cases = [
        (
            json!({ "program": ".name |", "data": {} }),
            "invalid input: jq program error: expected term at the end of the program (line 1, column 8)",
        ),
        (
            json!({ "program": "map(.x) | frobnicate", "data": [] }),
            "invalid input: jq program error: undefined filter frobnicate/0 at line 1, column 11 (near \"frobnicate\")",
        ),
        (
            json!({ "program": "{a: $who}", "data": {} }),
            "invalid input: jq program error: undefined variable $who at line 1, column 5 (near \"$who\")",
        ),
        (
            json!({ "program": "[.[] | {x: .}\n | .[0].x", "data": [] }),
            "invalid input: jq program error: expected closing bracket at the end of the program (line 2, column 10)",
        ),
        (json!({ "program": ".a.b", "data": [1] }), "invalid input: jq runtime error: cannot index [1] with \"a\""),
        (json!({ "program": "error(\"no email\")", "data": {} }), "invalid input: jq runtime error: \"no email\""),
        (
            json!({ "program": ".[]", "data": [1, 2] }),
            "invalid input: the program produced more than one value: collect them with [ … ], or set `all: true` to get them as a list",
        ),
        (json!({ "data": {} }), "invalid input: the input needs `program`, the jq program as a string"),
        (json!({ "program": ".", "vars": { "1x": 1 } }), "invalid input: `vars` key \"1x\" is not a jq variable name"),
    ];
    for (input, expected) in cases {
        let error = call(&jq, input.clone()).await.unwrap_err();
        assert!(error.contains(expected), "{input}:\n  got      {error}\n  expected {expected}");
    }
}

#[tokio::test]
async fn a_jq_program_that_never_ends_is_stopped_by_the_budget() {
    let jq = load(plugins::JQ).await;
    let limits = Limits { fuel: 200_000_000, ..Limits::default() };
    for program in ["last(range(infinite))", "def f: f; f", "[repeat(1)]"] {
        let out = jq
            .transform(
                &CallOptions { connection: None, limits: Some(&limits), io: None },
                &json!({ "program": program, "data": null }),
            )
            .await;
        match out.result {
            Err(CallError::Limit { limit: LimitKind::Cpu { .. } | LimitKind::Memory { .. }, .. }) => {}
            other => panic!("{program}: expected a budget error, got {other:?}"),
        }
    }
    // The instance is fresh per call: the next program runs normally.
    assert_eq!(call(&jq, json!({ "program": ".a", "data": { "a": 1 } })).await.unwrap(), json!(1));
}

#[tokio::test]
async fn templates_render_and_report_errors_with_their_line() {
    let template = load(plugins::TEMPLATE).await;
    let data =
        json!({ "issue": { "number": 12, "title": "Gears squeak", "labels": [{ "name": "bug" }, { "name": "p1" }] } });
    let text = "#{{ issue.number }} {{ issue.title | upper }}\n{% for l in issue.labels %}- {{ l.name }}\n{% endfor %}";
    assert_eq!(
        call(&template, json!({ "template": text, "data": data })).await.unwrap(),
        json!("#12 GEARS SQUEAK\n- bug\n- p1\n")
    );
    assert_eq!(
        call(&template, json!({ "template": "{{ x | tojson }}", "data": { "x": { "a": [1] } } })).await.unwrap(),
        json!("{\"a\": [1]}")
    );
    assert_eq!(
        call(&template, json!({ "template": "Hi {{ nobody }}!", "data": {} })).await.unwrap(),
        json!("Hi !"),
        "lenient by default"
    );

    let cases = [
        (
            json!({ "template": "Hi {{ nobody }}", "data": {}, "strict": true }),
            "template error on line 1: undefined value (strict: every variable must be in `data`)",
        ),
        (
            json!({ "template": "line one\n{% if %}", "data": {} }),
            "template error on line 2: syntax error: unexpected end of block",
        ),
        (
            json!({ "template": "{% for x in 3 %}{% endfor %}", "data": {} }),
            "template error on line 1: invalid operation",
        ),
        (json!({ "template": "x", "data": [1] }), "`data` must be an object"),
        (json!({ "data": {} }), "the input needs `template`"),
        (
            json!({ "template": "{% macro f() %}{{ f() }}{% endmacro %}{{ f() }}", "data": {} }),
            "recursion limit exceeded",
        ),
    ];
    for (input, expected) in cases {
        let error = call(&template, input.clone()).await.unwrap_err();
        assert!(error.contains(expected), "{input}:\n  got      {error}\n  expected {expected}");
    }
}
