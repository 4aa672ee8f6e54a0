//! The `json` target: the client's JSON reader ([`mqtt_lifecycle::json`]), which reads the token
//! response, `config.json` and every chat message, against `serde_json`.
//!
//! It must never panic, and:
//! - it accepts exactly what `serde_json` accepts, and reads the same value (numbers by value,
//!   to 12 digits: its `f64` conversion is not correctly rounded for long or far-scaled numbers;
//!   duplicate keys as the last one, as `serde_json` keeps them);
//! - what it reads, written back ([`Value`]'s `Display`), reads the same;
//! - any string it reads survives the string writer and the reader.
//!
//! Input: the JSON text.

use mqtt_lifecycle::json::{self, Value};

/// Runs one input.
pub fn run(data: &[u8]) {
    let ours = json::parse(data);
    let theirs = serde_json::from_slice::<serde_json::Value>(data);
    let text = String::from_utf8_lossy(data);
    match (&ours, &theirs) {
        (Ok(ours), Ok(theirs)) => assert!(same(ours, theirs), "{text:?}: {ours} vs {theirs}"),
        (Err(_), Err(_)) => {}
        (Ok(ours), Err(e)) => panic!("only ours accepts {text:?} ({ours}); serde_json: {e}"),
        (Err(e), Ok(theirs)) => panic!("only serde_json accepts {text:?} ({theirs}); ours: {e}"),
    }
    let Ok(value) = ours else { return };
    let written = value.to_string();
    assert_eq!(
        json::parse(written.as_bytes()).as_ref(),
        Ok(&value),
        "{written:?}"
    );
    strings_round_trip(&value);
}

fn strings_round_trip(value: &Value) {
    match value {
        Value::String(s) => {
            let mut out = String::new();
            json::write_string(&mut out, s);
            assert_eq!(
                json::parse(out.as_bytes()),
                Ok(Value::String(s.clone())),
                "{out:?}"
            );
        }
        Value::Array(items) => items.iter().for_each(strings_round_trip),
        Value::Object(object) => {
            for (key, value) in object.members() {
                strings_round_trip(&Value::String(key.clone()));
                strings_round_trip(value);
            }
        }
        Value::Null | Value::Bool(_) | Value::Number(_) => {}
    }
}

/// Our value and serde_json's agree (as in `crates/mqtt-lifecycle/src/json/tests.rs`).
fn same(ours: &Value, theirs: &serde_json::Value) -> bool {
    use serde_json::Value as J;
    match (ours, theirs) {
        (Value::Null, J::Null) => true,
        (Value::Bool(a), J::Bool(b)) => a == b,
        (Value::String(a), J::String(b)) => a == b,
        (Value::Number(a), J::Number(b)) => {
            if let (Some(x), Some(y)) = (a.as_u64(), b.as_u64()) {
                return x == y;
            }
            let (x, y) = (a.as_f64(), b.as_f64().unwrap_or(f64::NAN));
            x == y || (x - y).abs() <= y.abs() * 1e-12 || (x.abs() < 1e-300 && y.abs() < 1e-300)
        }
        (Value::Array(a), J::Array(b)) => {
            a.len() == b.len() && a.iter().zip(b).all(|(x, y)| same(x, y))
        }
        (Value::Object(a), J::Object(b)) => {
            let keys: std::collections::BTreeSet<_> =
                a.members().iter().map(|(k, _)| k.as_str()).collect();
            keys.len() == b.len()
                && keys.iter().all(|k| {
                    b.get(*k)
                        .is_some_and(|v| a.get(k).is_some_and(|a| same(a, v)))
                })
        }
        _ => false,
    }
}
