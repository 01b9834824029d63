//! The one expression language of flows: MiniJinja expressions.
//!
//! Mappings are JSON documents whose strings may hold `{{ … }}`:
//! - a string that is exactly one `{{ expr }}` becomes the expression's value
//!   with its JSON type kept (`"{{ steps.fetch.output.items }}"` is a list);
//! - any other string with `{{ … }}` renders to a string
//!   (`"Hello {{ trigger.name }}!"`);
//! - everything else is a literal.
//!
//! Conditions (`if`, `switch`, `for_each`) are bare expressions without braces.
//!
//! In scope: `trigger` (the event), `steps.<id>.output` of every earlier step,
//! `item` and `index` inside a `for_each`, `run.id`. Undefined values are errors
//! (use `x | default(…)` or `x is defined` for optional data), and every
//! evaluation has a fuel budget, so no expression can hang the host.

use minijinja::{Environment, Expression, UndefinedBehavior};
use serde_json::Value;
use std::collections::BTreeSet;
use std::fmt;
use std::sync::LazyLock;

/// Evaluation steps one expression may take.
const EXPRESSION_FUEL: u64 = 200_000;

/// Variables flows may read at the top level.
pub const ROOTS: &[&str] = &["trigger", "steps", "item", "index", "run"];

static ENV: LazyLock<Environment<'static>> = LazyLock::new(|| {
    let mut env = Environment::new();
    env.set_undefined_behavior(UndefinedBehavior::Strict);
    env.set_fuel(Some(EXPRESSION_FUEL));
    env.set_recursion_limit(64);
    env
});

/// An expression or template that failed to compile or evaluate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExprError {
    /// The source text.
    pub source: String,
    /// What went wrong.
    pub message: String,
}

impl fmt::Display for ExprError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} (in `{}`)", self.message, self.source)
    }
}

impl std::error::Error for ExprError {}

fn error(source: &str, e: minijinja::Error) -> ExprError {
    let mut message = e.detail().map_or_else(|| e.kind().to_string(), |d| format!("{}: {d}", e.kind()));
    if let Some(line) = e.line().filter(|l| *l > 1) {
        message.push_str(&format!(" (line {line})"));
    }
    ExprError { source: source.to_string(), message }
}

/// A compiled bare expression (a condition, a `for_each` list, a `switch` value).
pub struct Expr {
    source: String,
    compiled: Expression<'static, 'static>,
}

impl fmt::Debug for Expr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Expr({:?})", self.source)
    }
}

impl Expr {
    pub fn compile(source: &str) -> Result<Self, ExprError> {
        let trimmed = strip_braces(source).unwrap_or(source).trim();
        let compiled = ENV.compile_expression_owned(trimmed.to_string()).map_err(|e| error(source, e))?;
        Ok(Self { source: source.to_string(), compiled })
    }

    /// The expression's value in `scope`, as JSON. An undefined result is an
    /// error: a mapping must not silently turn a typo into `null`.
    pub fn eval(&self, scope: &ExprValue) -> Result<Value, ExprError> {
        let value = self.compiled.eval(scope.0.clone()).map_err(|e| error(&self.source, e))?;
        if value.is_undefined() {
            return Err(ExprError {
                source: self.source.clone(),
                message: "undefined value (use `| default(…)` for data that may be missing)".into(),
            });
        }
        to_json(&self.source, &value)
    }

    /// Whether the expression is true (Jinja truthiness: empty lists, `0`, `""` and `none` are false).
    pub fn is_true(&self, scope: &ExprValue) -> Result<bool, ExprError> {
        let value = self.compiled.eval(scope.0.clone()).map_err(|e| error(&self.source, e))?;
        Ok(value.is_true())
    }

    /// Dotted variable paths the expression reads (`steps.a.output.x`).
    pub fn references(&self) -> BTreeSet<String> {
        self.compiled.undeclared_variables(true).into_iter().collect()
    }

    pub fn source(&self) -> &str {
        &self.source
    }
}

/// A JSON value as expressions see it. Converting is a deep copy, so a run
/// converts each piece of its scope once (the event, each step's output, each
/// loop item) and assembles scopes from the converted pieces, which are
/// reference-counted: cloning one is cheap whatever its size.
#[derive(Clone, Debug)]
pub struct ExprValue(minijinja::Value);

impl ExprValue {
    pub fn from_json(value: &Value) -> Self {
        Self(minijinja::Value::from(minijinja::value::Serde(value)))
    }

    /// A map of converted values: the same value [`ExprValue::from_json`]
    /// gives for the JSON object of their JSON forms.
    pub fn map<'a>(entries: impl IntoIterator<Item = (&'a str, ExprValue)>) -> Self {
        Self(minijinja::Value::from_pairs(entries.into_iter().map(|(k, v)| (k, v.0))))
    }
}

fn to_json(source: &str, value: &minijinja::Value) -> Result<Value, ExprError> {
    serde_json::to_value(value)
        .map_err(|e| ExprError { source: source.to_string(), message: format!("the value is not JSON: {e}") })
}

/// `{{ expr }}` and nothing else → `Some("expr")`.
fn strip_braces(s: &str) -> Option<&str> {
    let inner = s.trim().strip_prefix("{{")?.strip_suffix("}}")?;
    if inner.contains("{{") || inner.contains("}}") { None } else { Some(inner) }
}

/// A JSON document with expressions in its strings.
#[derive(Debug)]
pub enum Mapping {
    Literal(Value),
    /// `"{{ expr }}"`: the value keeps its type.
    Value(Expr),
    /// Text with `{{ … }}` or `{% … %}` in it: renders to a string.
    Text {
        source: String,
        references: BTreeSet<String>,
    },
    Array(Vec<Mapping>),
    Object(Vec<(String, Mapping)>),
}

/// A compile error with where in the mapping it is (`body.name`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MappingError {
    pub path: String,
    pub error: ExprError,
}

impl Mapping {
    /// Compile every expression in `value`, failing on the first that does not parse.
    pub fn compile(value: &Value) -> Result<Self, MappingError> {
        Self::compile_at(value, String::new())
    }

    fn compile_at(value: &Value, path: String) -> Result<Self, MappingError> {
        let at = |path: &str, error| MappingError { path: path.to_string(), error };
        Ok(match value {
            Value::String(s) if strip_braces(s).is_some() => {
                Mapping::Value(Expr::compile(s).map_err(|e| at(&path, e))?)
            }
            Value::String(s) if s.contains("{{") || s.contains("{%") => {
                let template = ENV.template_from_str(s).map_err(|e| at(&path, error(s, e)))?;
                Mapping::Text {
                    source: s.clone(),
                    references: template.undeclared_variables(true).into_iter().collect(),
                }
            }
            Value::Array(items) => Mapping::Array(
                items
                    .iter()
                    .enumerate()
                    .map(|(i, v)| Self::compile_at(v, format!("{path}[{i}]")))
                    .collect::<Result<_, _>>()?,
            ),
            Value::Object(map) => Mapping::Object(
                map.iter()
                    .map(|(k, v)| {
                        let child = if path.is_empty() { k.clone() } else { format!("{path}.{k}") };
                        Ok((k.clone(), Self::compile_at(v, child)?))
                    })
                    .collect::<Result<_, _>>()?,
            ),
            literal => Mapping::Literal(literal.clone()),
        })
    }

    /// Evaluate against `scope`.
    pub fn render(&self, scope: &ExprValue) -> Result<Value, MappingError> {
        self.render_at(scope, String::new())
    }

    fn render_at(&self, scope: &ExprValue, path: String) -> Result<Value, MappingError> {
        let at = |error| MappingError { path: path.clone(), error };
        Ok(match self {
            Mapping::Literal(v) => v.clone(),
            Mapping::Value(expr) => expr.eval(scope).map_err(at)?,
            Mapping::Text { source, .. } => {
                Value::String(ENV.render_str(source, scope.0.clone()).map_err(|e| at(error(source, e)))?)
            }
            Mapping::Array(items) => Value::Array(
                items
                    .iter()
                    .enumerate()
                    .map(|(i, m)| m.render_at(scope, format!("{path}[{i}]")))
                    .collect::<Result<_, _>>()?,
            ),
            Mapping::Object(fields) => Value::Object(
                fields
                    .iter()
                    .map(|(k, m)| {
                        let child = if path.is_empty() { k.clone() } else { format!("{path}.{k}") };
                        Ok((k.clone(), m.render_at(scope, child)?))
                    })
                    .collect::<Result<_, _>>()?,
            ),
        })
    }

    /// Every variable path read anywhere in the mapping, with where it is read.
    pub fn references(&self) -> Vec<(String, String)> {
        let mut out = Vec::new();
        self.collect_references(String::new(), &mut out);
        out
    }

    fn collect_references(&self, path: String, out: &mut Vec<(String, String)>) {
        match self {
            Mapping::Literal(_) => {}
            Mapping::Value(expr) => out.extend(expr.references().into_iter().map(|r| (path.clone(), r))),
            Mapping::Text { references, .. } => out.extend(references.iter().map(|r| (path.clone(), r.clone()))),
            Mapping::Array(items) => {
                for (i, m) in items.iter().enumerate() {
                    m.collect_references(format!("{path}[{i}]"), out);
                }
            }
            Mapping::Object(fields) => {
                for (k, m) in fields {
                    m.collect_references(if path.is_empty() { k.clone() } else { format!("{path}.{k}") }, out);
                }
            }
        }
    }

    /// The value when the mapping holds no expression at all.
    pub fn as_literal(&self) -> Option<Value> {
        match self {
            Mapping::Literal(v) => Some(v.clone()),
            Mapping::Array(items) => {
                items.iter().map(Mapping::as_literal).collect::<Option<Vec<_>>>().map(Value::Array)
            }
            Mapping::Object(fields) => fields
                .iter()
                .map(|(k, m)| m.as_literal().map(|v| (k.clone(), v)))
                .collect::<Option<serde_json::Map<_, _>>>()
                .map(Value::Object),
            Mapping::Value(_) | Mapping::Text { .. } => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn scope() -> ExprValue {
        ExprValue::from_json(&scope_json())
    }

    fn scope_json() -> Value {
        json!({
            "trigger": { "name": "Ada", "email": "ADA@X.ORG", "items": [1, 2, 3], "n": 5 },
            "steps": { "fetch": { "output": { "status": 200, "body": { "id": 7 } } } },
        })
    }

    #[test]
    fn whole_expressions_keep_their_type() {
        let m = Mapping::compile(&json!({
            "items": "{{ trigger.items }}",
            "count": "{{ trigger.items | length }}",
            "id": "{{ steps.fetch.output.body.id }}",
            "email": "{{ trigger.email | lower }}",
            "greeting": "Hello {{ trigger.name }}!",
            "fixed": [1, "two", { "three": true }],
            "missing": "{{ trigger.phone | default(none) }}",
        }))
        .unwrap();
        assert_eq!(
            m.render(&scope()).unwrap(),
            json!({
                "items": [1, 2, 3], "count": 3, "id": 7, "email": "ada@x.org",
                "greeting": "Hello Ada!", "fixed": [1, "two", { "three": true }], "missing": null,
            })
        );
    }

    #[test]
    fn a_scope_assembled_from_converted_pieces_is_the_scope_converted_whole() {
        let whole = scope_json();
        let steps = ExprValue::map([("fetch", ExprValue::from_json(&whole["steps"]["fetch"]))]);
        let pieces = ExprValue::map([("trigger", ExprValue::from_json(&whole["trigger"])), ("steps", steps)]);
        let whole = ExprValue::from_json(&whole);
        for source in [
            "{{ steps }}",
            "{{ trigger }}",
            "{{ steps | length }}",
            "{{ steps | items | list }}",
            "{{ 'fetch' in steps }}",
            "{{ steps.fetch.output == {'status': 200, 'body': {'id': 7}} }}",
            "{{ steps | tojson }}",
            "{{ trigger.items[-1] }}",
            "{{ steps is mapping }}",
        ] {
            let m = Mapping::compile(&json!({ "v": source, "t": format!("as text: {source}") })).unwrap();
            assert_eq!(m.render(&pieces).unwrap(), m.render(&whole).unwrap(), "{source}");
        }
        let condition = Expr::compile("steps.fetch.output.status == 200 and trigger.n > 4").unwrap();
        assert!(condition.is_true(&pieces).unwrap());
    }

    #[test]
    fn conditions() {
        assert!(Expr::compile("steps.fetch.output.status == 200").unwrap().is_true(&scope()).unwrap());
        assert!(!Expr::compile("trigger.n > 10").unwrap().is_true(&scope()).unwrap());
        assert!(Expr::compile("{{ trigger.items }}").unwrap().is_true(&scope()).unwrap(), "braces are optional");
    }

    #[test]
    fn errors_say_where_and_what() {
        let err = Mapping::compile(&json!({ "a": { "b": "{{ trigger. }}" } })).unwrap_err();
        assert_eq!(err.path, "a.b");
        assert!(err.error.message.contains("syntax error"), "{}", err.error);

        let m = Mapping::compile(&json!({ "x": "{{ trigger.phone }}" })).unwrap();
        let err = m.render(&scope()).unwrap_err();
        assert_eq!(err.path, "x");
        assert!(err.error.message.contains("undefined"), "{}", err.error);
    }

    #[test]
    fn references_are_found() {
        let m = Mapping::compile(
            &json!({ "a": "{{ steps.fetch.output.body.id + trigger.n }}", "b": ["x {{ item.name }}"] }),
        )
        .unwrap();
        let refs: Vec<_> = m.references();
        assert!(refs.contains(&("a".into(), "steps.fetch.output.body.id".into())), "{refs:?}");
        assert!(refs.contains(&("a".into(), "trigger.n".into())), "{refs:?}");
        assert!(refs.contains(&("b[0]".into(), "item.name".into())), "{refs:?}");
    }

    #[test]
    fn runaway_templates_run_out_of_fuel() {
        let m =
            Mapping::compile(&json!("{% for i in range(10000) %}{% for j in range(10000) %}.{% endfor %}{% endfor %}"))
                .unwrap();
        let started = std::time::Instant::now();
        let err = m.render(&scope()).unwrap_err();
        assert!(err.error.message.contains("fuel"), "{}", err.error);
        assert!(started.elapsed() < std::time::Duration::from_secs(5));
    }
}
