//! The live list builds everyone else's messages with `item.js` in one call, and own messages
//! (whose delivery mark changes) with the `MessageItem` component: the two must give the same
//! markup. Each case is rendered both ways in a real browser and compared element by element
//! (tag, attributes in any order, text), so a change to one that is not made to the other fails.
#![cfg(target_arch = "wasm32")]

use std::rc::Rc;

use gloo_timers::future::TimeoutFuture;
use livechat::chat::ChatMessage;
use livechat::components::{message_node_for, MessageItem, MessageItemProps};
use wasm_bindgen::JsCast;
use wasm_bindgen_test::{wasm_bindgen_test, wasm_bindgen_test_configure};
use web_sys::{Element, Node};

wasm_bindgen_test_configure!(run_in_browser);

fn message(
    id: Option<&str>,
    author: Option<&str>,
    user: &str,
    own: bool,
    timestamp: u64,
) -> ChatMessage {
    ChatMessage {
        seq: 1,
        key: 7,
        id: id.map(str::to_owned),
        author: author.map(Rc::from),
        user: user.to_owned(),
        text: "hello <b>not bold</b> & \u{201c}quoted\u{201d}".to_owned(),
        timestamp,
        own,
        delivery: None,
        publish: None,
    }
}

/// A canonical text of a DOM subtree: element tags with their attributes sorted, adjacent
/// text nodes joined.
fn canon(node: &Node) -> String {
    if let Some(el) = node.dyn_ref::<Element>() {
        let attrs = el.attributes();
        let mut pairs: Vec<String> = (0..attrs.length())
            .filter_map(|i| attrs.item(i))
            .map(|a| format!("{}={:?}", a.name(), a.value()))
            .collect();
        pairs.sort();
        let mut out = format!("<{} {}>", el.tag_name(), pairs.join(" "));
        let mut text = String::new();
        let children = el.child_nodes();
        for i in 0..children.length() {
            let Some(child) = children.item(i) else {
                continue;
            };
            if child.node_type() == Node::TEXT_NODE {
                text.push_str(&child.text_content().unwrap_or_default());
                continue;
            }
            if !text.is_empty() {
                out.push_str(&format!("{text:?}"));
                text.clear();
            }
            out.push_str(&canon(&child));
        }
        if !text.is_empty() {
            out.push_str(&format!("{text:?}"));
        }
        out.push_str("</>");
        out
    } else {
        format!("{:?}", node.text_content().unwrap_or_default())
    }
}

/// What the `MessageItem` component renders for `m`.
async fn component_markup(m: &ChatMessage) -> String {
    let document = web_sys::window().unwrap().document().unwrap();
    let host = document.create_element("div").unwrap();
    document.body().unwrap().append_child(&host).unwrap();
    let app = yew::Renderer::<MessageItem>::with_root_and_props(
        host.clone(),
        MessageItemProps {
            message: Rc::new(m.clone()),
        },
    )
    .render();
    // Yew renders from its scheduler, after this task.
    TimeoutFuture::new(20).await;
    let li = host
        .first_element_child()
        .expect("MessageItem rendered an element");
    let markup = canon(&li);
    app.destroy();
    host.remove();
    markup
}

#[wasm_bindgen_test]
async fn a_message_built_in_one_call_has_the_message_items_markup() {
    let cases = [
        // Verified author, same claimed name, someone else's.
        message(Some("m1"), Some("alice"), "alice", false, 1_767_225_600_000),
        // Verified, claiming another name: the claim is shown beside the author.
        message(Some("m2"), Some("bob"), "Robert", false, 1_767_229_999_000),
        // Unverified (the shared topic), no id.
        message(None, None, "carol", false, 0),
        // Own, restored from another tab or storage (no delivery state).
        message(Some("m4"), Some("dave"), "dave", true, 1_767_225_600_000),
        // A timestamp JavaScript's Date cannot hold: no time shown either way.
        message(Some("m5"), Some("erin"), "erin", false, u64::MAX),
    ];
    for m in &cases {
        let built = canon(&message_node_for(m));
        let rendered = component_markup(m).await;
        assert_eq!(built, rendered, "markup differs for {m:?}");
        assert!(built.starts_with("<LI "), "{built}");
    }
}
