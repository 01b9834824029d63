//! `jq`: run a jq program (jaq, a Rust implementation of jq, inside the wasm
//! sandbox) over a document. Input: `{"program": "...", "data": ..., "vars":
//! {...}, "all": false}`. See this crate's README.

use jaq_core::load::{Arena, File, Loader, lex, parse};
use jaq_core::{Compiler, Ctx, RcIter};
use jaq_json::Val;
use weft_sdk::{Error, Result, Transform, Value, json};

struct Jq;

/// The most values one run may produce (the output-size cap would stop a
/// huge list later; this stops it with a clearer message).
const MAX_OUTPUTS: usize = 100_000;

/// 1-based line and column of byte `offset` in `code`.
fn position(code: &str, offset: usize) -> String {
    let before = &code[..offset.min(code.len())];
    let line = before.matches('\n').count() + 1;
    let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    format!("line {line}, column {column}")
}

/// Where `part` (a slice of `code`) starts, and what it is.
fn at(code: &str, part: &str) -> String {
    let span = jaq_core::load::span(code, part);
    let near: String = part.chars().take(20).collect();
    if near.is_empty() {
        format!("at the end of the program ({})", position(code, span.start))
    } else {
        format!("at {} (near {near:?})", position(code, span.start))
    }
}

fn load_error(code: &str, error: jaq_core::load::Error<&str>) -> String {
    match error {
        jaq_core::load::Error::Io(errors) => {
            errors.iter().map(|(path, e)| format!("cannot import {path:?}: {e}")).collect::<Vec<_>>().join("; ")
        }
        jaq_core::load::Error::Lex(errors) => errors
            .iter()
            .map(|(expect, part): &lex::Error<&str>| format!("expected {} {}", expect.as_str(), at(code, part)))
            .collect::<Vec<_>>()
            .join("; "),
        jaq_core::load::Error::Parse(errors) => errors
            .iter()
            .map(|(expect, part): &parse::Error<&str>| format!("expected {} {}", expect.as_str(), at(code, part)))
            .collect::<Vec<_>>()
            .join("; "),
    }
}

/// Compile `code` and run it on `data` with `vars` bound as `$name`.
fn run(code: &str, data: &Value, vars: &serde_json::Map<String, Value>, all: bool) -> Result<Value> {
    let invalid = |what: String| Error::invalid_input(format!("jq program error: {what}"));
    let names: Vec<String> = vars.keys().map(|k| format!("${k}")).collect();
    for name in vars.keys() {
        if name.is_empty()
            || !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
            || name.starts_with(|c: char| c.is_ascii_digit())
        {
            return Err(Error::invalid_input(format!(
                "`vars` key {name:?} is not a jq variable name ([A-Za-z_][A-Za-z0-9_]*)"
            )));
        }
    }

    let loader = Loader::new(jaq_std::defs().chain(jaq_json::defs()));
    let arena = Arena::default();
    let modules = loader.load(&arena, File { code, path: () }).map_err(|errors| {
        invalid(errors.into_iter().map(|(_, e)| load_error(code, e)).collect::<Vec<_>>().join("; "))
    })?;
    let filter = Compiler::default()
        .with_funs(jaq_std::funs().chain(jaq_json::funs()))
        .with_global_vars(names.iter().map(String::as_str))
        .compile(modules)
        .map_err(|errors| {
            let all: Vec<String> = errors
                .into_iter()
                .flat_map(|(_, errs)| errs)
                .map(|(name, undefined)| {
                    let kind = match undefined {
                        jaq_core::compile::Undefined::Filter(arity) => format!("filter {name}/{arity}"),
                        other => format!("{} {name}", other.as_str()),
                    };
                    format!("undefined {kind} {}", at(code, name))
                })
                .collect();
            invalid(all.join("; "))
        })?;

    let inputs = RcIter::new(core::iter::empty());
    let ctx = Ctx::new(vars.values().cloned().map(Val::from), &inputs);
    let mut outputs = Vec::new();
    for output in filter.run((ctx, Val::from(data.clone()))) {
        let value = output.map_err(|e| Error::invalid_input(format!("jq runtime error: {e}")))?;
        if outputs.len() == MAX_OUTPUTS {
            return Err(Error::invalid_input(format!("the program produced more than {MAX_OUTPUTS} values")));
        }
        outputs.push(Value::from(value));
        if !all && outputs.len() > 1 {
            return Err(Error::invalid_input(
                "the program produced more than one value: collect them with [ … ], or set `all: true` to get them as a list",
            ));
        }
    }
    Ok(if all { Value::Array(outputs) } else { outputs.pop().unwrap_or(Value::Null) })
}

impl Transform for Jq {
    fn transform(input: Value) -> Result<Value> {
        let program = input["program"].as_str().ok_or_else(|| {
            Error::invalid_input(
                "the input needs `program`, the jq program as a string, e.g. {\"program\": \".name\", \"data\": …}",
            )
        })?;
        let vars = match &input["vars"] {
            Value::Null => serde_json::Map::new(),
            Value::Object(vars) => vars.clone(),
            other => {
                return Err(Error::invalid_input(format!("`vars` must be an object of name → value, not {other}")));
            }
        };
        let all = match &input["all"] {
            Value::Null => false,
            Value::Bool(b) => *b,
            other => return Err(Error::invalid_input(format!("`all` must be true or false, not {other}"))),
        };
        run(program, input.get("data").unwrap_or(&json!(null)), &vars, all)
    }
}

weft_sdk::export_transform!(Jq);
