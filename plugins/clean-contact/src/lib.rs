//! `clean-contact`: an example transform. Tidies a contact record the way a
//! CRM import wants it: trims every string, lower-cases the email, splits
//! `name` into `first_name`/`last_name`, and rejects records without an email.

use weft_sdk::{Error, Result, Transform, Value, json, log};

struct CleanContact;

impl Transform for CleanContact {
    fn transform(input: Value) -> Result<Value> {
        let Value::Object(mut record) = input else {
            return Err(Error::invalid_input("the input must be a JSON object (one contact)"));
        };
        for value in record.values_mut() {
            if let Value::String(s) = value {
                *value = Value::String(s.trim().to_string());
            }
        }
        let email = record
            .get("email")
            .and_then(Value::as_str)
            .filter(|e| e.contains('@'))
            .ok_or_else(|| Error::invalid_input("the contact has no valid `email`"))?
            .to_lowercase();
        record.insert("email".into(), json!(email));
        if let Some(name) = record.get("name").and_then(Value::as_str).map(str::to_owned) {
            let (first, last) = name.split_once(' ').unwrap_or((&name, ""));
            record.entry("first_name").or_insert_with(|| json!(first));
            record.entry("last_name").or_insert_with(|| json!(last.trim()));
        }
        log::debug(&format!("cleaned contact {email}"));
        Ok(Value::Object(record))
    }
}

weft_sdk::export_transform!(CleanContact);
