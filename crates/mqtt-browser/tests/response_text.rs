//! `response_text` reads a body through its stream and decodes it as `Response.text()` does
//! (UTF-8, a leading BOM dropped, invalid bytes replaced), in headless Chromium. No dev stack.
#![cfg(target_arch = "wasm32")]

use mqtt_browser::response_text;
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::JsFuture;
use wasm_bindgen_test::*;
use web_sys::Response;

wasm_bindgen_test_configure!(run_in_browser);

#[wasm_bindgen(inline_js = r#"
export function chunked(parts) {
  return new Response(new ReadableStream({
    start(c) { for (const p of parts) c.enqueue(new Uint8Array(p)); c.close(); },
  }));
}
"#)]
extern "C" {
    /// A response whose body streams `parts` (arrays of bytes), one chunk each.
    fn chunked(parts: JsValue) -> Response;
}

fn parts(chunks: &[&[u8]]) -> JsValue {
    chunks
        .iter()
        .map(|c| js_sys::Uint8Array::from(*c))
        .collect::<js_sys::Array>()
        .into()
}

/// What `Response.text()` makes of the same chunks.
async fn browser_text(chunks: &[&[u8]]) -> String {
    let promise = chunked(parts(chunks)).text().expect("text()");
    JsFuture::from(promise)
        .await
        .expect("text() resolves")
        .as_string()
        .expect("a string")
}

#[wasm_bindgen_test]
async fn decodes_like_text_across_chunks() {
    let cases: &[&[&[u8]]] = &[
        // A BOM, then "é" split across two chunks, then "…" (3 bytes) split over three.
        &[b"\xEF\xBB\xBFcaf\xC3", b"\xA9 ", b"\xE2", b"\x80", b"\xA6"],
        // Invalid UTF-8 is replaced, and a sequence cut off at the end too.
        &[b"a\xFFb", b"\xE2\x80"],
        // JSON as a token endpoint sends it, in one chunk.
        &[br#"{"username":"u","password":"p\u00e9"}"#],
        // No chunks at all.
        &[],
    ];
    for chunks in cases {
        let ours = response_text(&chunked(parts(chunks))).await.expect("read");
        assert_eq!(ours, browser_text(chunks).await, "chunks {chunks:?}");
    }
}

#[wasm_bindgen_test]
async fn a_response_without_a_body_is_empty() {
    let response = Response::new().expect("new Response()");
    assert_eq!(response_text(&response).await.expect("read"), "");
}

#[wasm_bindgen_test]
async fn a_body_already_read_is_an_error() {
    let response = chunked(parts(&[b"x"]));
    JsFuture::from(response.text().expect("text()"))
        .await
        .expect("first read");
    assert!(response_text(&response).await.is_err());
}
