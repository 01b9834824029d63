//! `template`: render a text template (Jinja2 syntax, by MiniJinja) with data:
//! e-mails, Slack messages, documents. Input: `{"template": "...", "data":
//! {...}, "strict": false}`; output: the rendered text. See this crate's README.

use minijinja::{Environment, ErrorKind, UndefinedBehavior};
use weft_sdk::{Error, Result, Transform, Value, json};

struct Template;

/// Describe a MiniJinja error with its line and the chain of causes.
fn describe(error: &minijinja::Error) -> String {
    let mut text = match error.line() {
        Some(line) => format!("template error on line {line}: {}", error.kind()),
        None => format!("template error: {}", error.kind()),
    };
    if let Some(detail) = error.detail() {
        text.push_str(": ");
        text.push_str(detail);
    }
    let mut source = std::error::Error::source(error);
    while let Some(cause) = source {
        text.push_str(&format!(" (caused by: {cause})"));
        source = cause.source();
    }
    text
}

impl Transform for Template {
    fn transform(input: Value) -> Result<Value> {
        let template = input["template"].as_str().ok_or_else(|| {
            Error::invalid_input(
                "the input needs `template`, the template text, e.g. {\"template\": \"Hi {{ name }}\", \"data\": …}",
            )
        })?;
        let strict = match &input["strict"] {
            Value::Null => false,
            Value::Bool(b) => *b,
            other => return Err(Error::invalid_input(format!("`strict` must be true or false, not {other}"))),
        };
        let data = match input.get("data") {
            None | Some(Value::Null) => json!({}),
            Some(data @ Value::Object(_)) => data.clone(),
            Some(other) => {
                return Err(Error::invalid_input(format!(
                    "`data` must be an object (its keys become the template's variables), not {other}"
                )));
            }
        };
        let mut env = Environment::new();
        env.set_undefined_behavior(if strict { UndefinedBehavior::Strict } else { UndefinedBehavior::Lenient });
        let compiled = env.template_from_str(template).map_err(|e| Error::invalid_input(describe(&e)))?;
        let text =
            compiled.render(minijinja::Value::from(minijinja::value::Serde(&data))).map_err(|e| match e.kind() {
                ErrorKind::UndefinedError if strict => {
                    Error::invalid_input(format!("{} (strict: every variable must be in `data`)", describe(&e)))
                }
                _ => Error::invalid_input(describe(&e)),
            })?;
        Ok(Value::String(text))
    }
}

weft_sdk::export_transform!(Template);
