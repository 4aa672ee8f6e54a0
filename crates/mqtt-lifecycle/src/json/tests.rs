//! Byte-level tests of the reader and the writer, and a differential test against `serde_json`.

use super::*;
use proptest::prelude::*;

fn ok(text: &[u8]) -> Value {
    parse(text).unwrap_or_else(|e| panic!("{:?}: {e}", String::from_utf8_lossy(text)))
}

fn err(text: &[u8]) -> Error {
    match parse(text) {
        Ok(v) => panic!("{:?} parsed as {v}", String::from_utf8_lossy(text)),
        Err(e) => e,
    }
}

fn string(s: &str) -> Value {
    Value::String(s.into())
}

#[test]
fn scalars_and_whitespace_parse() {
    assert_eq!(ok(b" null "), Value::Null);
    assert_eq!(ok(b"\t\r\ntrue"), Value::Bool(true));
    assert_eq!(ok(b"false\n"), Value::Bool(false));
    assert_eq!(ok(br#""hi""#), string("hi"));
    assert_eq!(ok(b"-1.5e3").to_string(), "-1.5e3");
}

#[test]
fn objects_keep_every_member_and_get_returns_the_last_duplicate() {
    let Value::Object(o) = ok(br#"{"a":1,"b":[true,null],"a":"two"}"#) else {
        panic!("an object")
    };
    assert_eq!(o.get("a"), Some(&string("two")));
    assert_eq!(o.count("a"), 2);
    assert_eq!(o.get("c"), None);
    assert_eq!(o.members().len(), 3);
    assert_eq!(ok(b"{ }"), Value::Object(Object::default()));
    assert_eq!(ok(b"[ ]"), Value::Array(vec![]));
}

#[test]
fn escapes_decode_including_surrogate_pairs() {
    assert_eq!(
        ok(br#""\" \\ \/ \b \f \n \r \t""#),
        string("\" \\ / \u{8} \u{c} \n \r \t")
    );
    assert_eq!(ok(br#""\u00e9\u20AC""#), string("é€"));
    assert_eq!(ok(br#""\ud83d\ude00""#), string("😀"));
    assert_eq!(ok("\"raw é 😀\"".as_bytes()), string("raw é 😀"));
    assert_eq!(ok(br#""\u0000""#), string("\0"));
}

#[test]
fn bad_escapes_and_lone_surrogates_are_refused() {
    for bad in [
        &br#""\x""#[..],
        br#""\u12""#,
        br#""\u12G4""#,
        br#""\ud83d""#,
        br#""\ud83dx""#,
        br#""\ud83d\u0041""#,
        br#""\ude00""#,
        br#""\"#,
        br#""\u"#,
    ] {
        err(bad);
    }
}

#[test]
fn invalid_utf8_and_raw_control_characters_are_refused() {
    for bad in [
        &b"\"\xff\""[..],
        b"\"\xc3\"",
        b"\"\xe2\x82\"",
        b"\"\xed\xa0\x80\"", // an encoded surrogate
        b"\"\xc0\xaf\"",     // an overlong encoding
        b"\"a\nb\"",
        b"\"\x1f\"",
        b"\xef\xbb\xbf{}", // a byte-order mark
        b"\xff",
    ] {
        err(bad);
    }
    assert_eq!(err(b"\"ab\xff\"").what, "invalid UTF-8 in a string");
}

#[test]
fn malformed_documents_are_refused_with_an_offset() {
    for bad in [
        &b""[..],
        b"   ",
        b"{",
        b"[1,]",
        b"{\"a\":1,}",
        b"{\"a\" 1}",
        b"{a:1}",
        b"{1:1}",
        b"[1 2]",
        b"nul",
        b"True",
        b"'a'",
        b"\"open",
        b"{} {}",
        b"1 x",
        b"// comment\n1",
    ] {
        err(bad);
    }
    assert_eq!(
        err(b"[1, 2 3]"),
        Error {
            what: "expected `,` or `]`",
            offset: 6
        }
    );
    assert_eq!(
        err(b"{} x").to_string(),
        "trailing characters after the value at byte 3"
    );
}

#[test]
fn numbers_follow_the_json_grammar() {
    for good in [
        "0", "-0", "7", "-12", "1.5", "1e3", "1E+3", "2.5e-3", "1e-400",
    ] {
        assert_eq!(ok(good.as_bytes()).to_string(), good);
    }
    for bad in [
        "01", "-", "+1", ".5", "1.", "1e", "1e+", "0x10", "-a", "Infinity", "NaN",
    ] {
        err(bad.as_bytes());
    }
}

#[test]
fn huge_numbers_overflowing_an_f64_are_refused_and_long_integers_kept_as_written() {
    assert_eq!(err(b"1e400").what, "number out of range");
    assert_eq!(err(b"-1e309").what, "number out of range");
    let long = "9".repeat(300);
    assert_eq!(ok(long.as_bytes()).to_string(), long);
    err("9".repeat(400).as_bytes());
    let Value::Number(n) = ok(b"18446744073709551615") else {
        panic!("a number")
    };
    assert_eq!(n.as_u64(), Some(u64::MAX));
    let Value::Number(n) = ok(b"18446744073709551616") else {
        panic!("a number")
    };
    assert_eq!(n.as_u64(), None);
    assert_eq!(n.as_f64(), 18446744073709551616.0);
    for not_u64 in ["-1", "-0", "1.0", "1e3"] {
        let Value::Number(n) = ok(not_u64.as_bytes()) else {
            panic!("a number")
        };
        assert_eq!(n.as_u64(), None, "{not_u64}");
    }
}

#[test]
fn nesting_is_limited_to_max_depth() {
    let nested = |depth: usize| format!("{}{}", "[".repeat(depth), "]".repeat(depth));
    ok(nested(MAX_DEPTH).as_bytes());
    assert_eq!(
        err(nested(MAX_DEPTH + 1).as_bytes()).what,
        "nested too deeply"
    );
    let objects = format!(
        "{}1{}",
        r#"{"a":"#.repeat(MAX_DEPTH + 1),
        "}".repeat(MAX_DEPTH + 1)
    );
    assert_eq!(err(objects.as_bytes()).what, "nested too deeply");
    // Far deeper input fails the same way, without exhausting the stack.
    err("[".repeat(100_000).as_bytes());
    // serde_json draws the line at the same depth.
    assert!(serde_json::from_str::<serde_json::Value>(&nested(MAX_DEPTH)).is_ok());
    assert!(serde_json::from_str::<serde_json::Value>(&nested(MAX_DEPTH + 1)).is_err());
}

#[test]
fn the_writer_escapes_like_serde_json() {
    let samples = [
        "",
        "plain",
        "\"quoted\" & <script>",
        "back\\slash / slash",
        "\n\r\t\u{8}\u{c}\0\u{1f}\u{7f}",
        "é € 😀 \u{2028}",
    ];
    for s in samples {
        let mut out = String::new();
        write_string(&mut out, s);
        assert_eq!(out, serde_json::to_string(s).unwrap());
        assert_eq!(ok(out.as_bytes()), string(s));
        assert_eq!(Quoted(s).to_string(), out);
    }
}

#[test]
fn display_writes_compact_json() {
    let text = br#" { "a" : [ 1 , "x\n" , null , true , { } ] , "b" : -2.5e1 } "#;
    assert_eq!(
        ok(text).to_string(),
        r#"{"a":[1,"x\n",null,true,{}],"b":-2.5e1}"#
    );
}

/// Our value and serde_json's agree (numbers by value, to 12 digits and below 1e-300 as zero: our `f64`
/// conversion is not correctly rounded for long or far-scaled numbers, serde_json's is).
fn same(ours: &Value, theirs: &serde_json::Value) -> bool {
    use serde_json::Value as J;
    match (ours, theirs) {
        (Value::Null, J::Null) => true,
        (Value::Bool(a), J::Bool(b)) => a == b,
        (Value::String(a), J::String(b)) => a == b,
        (Value::Number(a), J::Number(b)) => {
            let (x, y) = (a.as_f64(), b.as_f64().unwrap_or(f64::NAN));
            x == y || (x - y).abs() <= y.abs() * 1e-12 || (x.abs() < 1e-300 && y.abs() < 1e-300)
        }
        (Value::Array(a), J::Array(b)) => {
            a.len() == b.len() && a.iter().zip(b).all(|(x, y)| same(x, y))
        }
        (Value::Object(a), J::Object(b)) => {
            // serde_json keeps the last of duplicate keys, as `get` does.
            let keys: std::collections::BTreeSet<_> =
                a.members().iter().map(|(k, _)| k.as_str()).collect();
            keys.len() == b.len()
                && keys
                    .iter()
                    .all(|k| b.get(*k).is_some_and(|v| same(a.get(k).unwrap(), v)))
        }
        _ => false,
    }
}

fn json_text() -> impl Strategy<Value = String> {
    let leaf = prop_oneof![
        Just("null".to_owned()),
        Just("true".to_owned()),
        any::<i64>().prop_map(|n| n.to_string()),
        any::<f64>()
            .prop_filter("finite", |f| f.is_finite())
            .prop_map(|f| format!("{f:e}")),
        "-?(0|[1-9][0-9]{0,29})(\\.[0-9]{1,20})?([eE][+-]?[0-9]{1,2})?",
        any::<String>().prop_map(|s| serde_json::to_string(&s).unwrap()),
        // Escapes of every kind; `\u` outside the surrogates (those are tested above).
        "\"([a-z]|\\\\[\"\\\\/bfnrt]|\\\\u[0-9a-cA-CeEfF][0-9a-fA-F]{3})*\"",
    ];
    leaf.prop_recursive(6, 64, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(|v| format!("[{}]", v.join(","))),
            prop::collection::vec(("[a-c]{1,2}", inner), 0..6).prop_map(|v| {
                let members: Vec<_> = v.iter().map(|(k, v)| format!("\"{k}\" : {v}")).collect();
                format!("{{ {} }}", members.join(","))
            }),
        ]
    })
}

/// Valid JSON with a few bytes changed, dropped or inserted: mostly invalid.
fn mangled() -> impl Strategy<Value = Vec<u8>> {
    (
        json_text(),
        prop::collection::vec((any::<prop::sample::Index>(), any::<u8>(), 0..3u8), 1..4),
    )
        .prop_map(|(text, edits)| {
            let mut bytes = text.into_bytes();
            for (at, byte, kind) in edits {
                let i = at.index(bytes.len() + 1);
                match kind {
                    0 if i < bytes.len() => bytes[i] = byte,
                    1 if i < bytes.len() => {
                        bytes.remove(i);
                    }
                    _ => bytes.insert(i, byte),
                }
            }
            bytes
        })
}

proptest! {
    #[test]
    fn valid_json_reads_as_serde_json_reads_it(text in json_text()) {
        let theirs: serde_json::Value = serde_json::from_str(&text).unwrap();
        let ours = parse(text.as_bytes());
        prop_assert!(ours.as_ref().is_ok_and(|v| same(v, &theirs)), "{text}: {ours:?}");
    }

    #[test]
    fn mangled_json_is_accepted_exactly_when_serde_json_accepts_it(bytes in mangled()) {
        let theirs = serde_json::from_slice::<serde_json::Value>(&bytes);
        let ours = parse(&bytes);
        match (&ours, &theirs) {
            (Ok(a), Ok(b)) => prop_assert!(same(a, b), "{:?}", String::from_utf8_lossy(&bytes)),
            (Err(_), Err(_)) => {}
            _ => prop_assert!(
                false,
                "{:?}: ours {ours:?}, serde_json {theirs:?}",
                String::from_utf8_lossy(&bytes)
            ),
        }
    }

    #[test]
    fn any_string_survives_the_writer_and_the_reader(s in any::<String>()) {
        let mut out = String::new();
        write_string(&mut out, &s);
        prop_assert_eq!(&out, &serde_json::to_string(&s).unwrap());
        prop_assert_eq!(parse(out.as_bytes()), Ok(Value::String(s)));
    }
}
