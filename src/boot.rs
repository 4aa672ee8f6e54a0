//! The thin browser side of start-up: find the mount element, read its `data-*` attributes, fetch
//! the configuration file, read `?room=`. The rules are in the `livechat-config` crate.

use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;
use web_sys::{Document, Element, Response, Window};

use livechat_config::{Config, ConfigError, RawConfig};
use mqtt_browser::JsError;

/// The selector of the element the app mounts into; without one, a `<div id="livechat">` is
/// appended to `<body>`.
pub const MOUNT_SELECTOR: &str = "[data-livechat], #livechat";
/// Attribute naming the configuration file (default `config.json` beside the app).
pub const CONFIG_URL_ATTRIBUTE: &str = "data-config-url";
/// The default configuration file, relative to the app's own files (boot.js, index.html).
pub const DEFAULT_CONFIG_FILE: &str = "config.json";
/// The global `boot.js` defines (read-only) with the URL of the folder the app is served from.
/// Only that folder's `config.json` is read by default: a page-relative file could be anything
/// the page's site lets its users upload.
pub const APP_BASE_GLOBAL: &str = "__livechatAppBase";

/// Finds (or creates) the mount element and clears its placeholder content.
pub fn mount_element(window: &Window) -> Result<Element, JsValue> {
    let doc = window.document().ok_or("no document")?;
    let mount = match doc.query_selector(MOUNT_SELECTOR)? {
        Some(el) => el,
        None => {
            let el = doc.create_element("div")?;
            el.set_attribute("id", "livechat")?;
            doc.body().ok_or("no body")?.append_child(&el)?;
            el
        }
    };
    mount.set_attribute(crate::panic::MOUNTED_ATTRIBUTE, "")?;
    mount.class_list().add_1("lc-root")?;
    make_region(&mount)?;
    Ok(mount)
}

/// The accessible name of the chat's landmark.
pub const REGION_LABEL: &str = "Live chat";

/// Makes a plain `<div>` mount element a landmark of its own (`role="region"`, labelled "Live
/// chat" unless the host labelled it), so the chat is inside a landmark on any host page and can
/// be reached by landmark navigation. An element the host gave a role, or another tag, keeps the
/// semantics the host chose.
fn make_region(mount: &Element) -> Result<(), JsValue> {
    let has = |name| mount.get_attribute(name).is_some();
    if !mount.tag_name().eq_ignore_ascii_case("div") || has("role") {
        return Ok(());
    }
    mount.set_attribute("role", "region")?;
    if !has("aria-label") && !has("aria-labelledby") {
        mount.set_attribute("aria-label", REGION_LABEL)?;
    }
    Ok(())
}

/// Removes the mount element's static placeholder ("Loading chat…").
pub fn clear(mount: &Element) {
    mount.set_inner_html("");
}

/// Fetches the configuration file. A missing default file (404 or unreachable) counts as empty:
/// the mount element's attributes may be enough. A file named explicitly must load.
async fn fetch_config_file(
    window: &Window,
    url: &str,
    explicit: bool,
) -> Result<RawConfig, ConfigError> {
    let file_error = |reason: String| ConfigError::File {
        url: url.to_owned(),
        reason,
    };
    // The default file is usually fetched already: the loader (static/early.js) started it while
    // the wasm downloaded, and hands the response over if it is a real one from exactly this URL.
    // Otherwise a plain GET (mode cors, credentials same-origin): the same request as the
    // loader's and the preload in index.html (`as="fetch" crossorigin`), so the browser hands
    // over the preload's response instead of downloading it again. Change all or none.
    let handed = match explicit {
        false => mqtt_browser::take_handed_over_response("config", url).await,
        true => None,
    };
    let response = match handed {
        Some(response) => response,
        None => match JsFuture::from(window.fetch_with_str(url)).await {
            Ok(r) => r.unchecked_into::<Response>(),
            Err(e) if explicit => return Err(file_error(JsError::from(e).to_string())),
            Err(_) => return Ok(RawConfig::default()),
        },
    };
    if response.status() == 404 && !explicit {
        return Ok(RawConfig::default());
    }
    if !response.ok() {
        return Err(file_error(format!("HTTP {}", response.status())));
    }
    // Through the body's stream: the loader's response is read in microtasks (`text()` waited
    // for a browser task, 8-28 ms at start-up).
    let text = mqtt_browser::response_text(&response)
        .await
        .map_err(|e| file_error(e.to_string()))?;
    RawConfig::from_json(&text).map_err(file_error)
}

/// The app's own folder, as `boot.js` recorded it (`None` when the app was started another way).
fn app_base(window: &Window) -> Option<String> {
    js_sys::Reflect::get(window, &APP_BASE_GLOBAL.into())
        .ok()?
        .as_string()
        .filter(|base| base.starts_with("https://") || base.starts_with("http://"))
}

/// How many elements match [`MOUNT_SELECTOR`].
fn mount_count(window: &Window) -> usize {
    window
        .document()
        .and_then(|doc| doc.query_selector_all(MOUNT_SELECTOR).ok())
        .map_or(0, |list| list.length() as usize)
}

/// Reads the whole configuration: file, then attributes over it, then `?room=`.
///
/// Refused before anything is fetched when the page holds more than one mount element: an
/// element injected into a page (user content that may carry attributes) must not be able to
/// name the broker the user's credentials are sent to.
pub async fn load_config(window: &Window, mount: &Element) -> Result<Config, ConfigError> {
    let mounts = mount_count(window);
    if mounts > 1 {
        return Err(ConfigError::AmbiguousMount(mounts));
    }
    // The file to fetch and whether it was named explicitly. One `fetch_config_file` await for
    // both: each await point is the fetch's whole future polled inline again.
    let file = match mount
        .get_attribute(CONFIG_URL_ATTRIBUTE)
        .filter(|u| !u.trim().is_empty())
    {
        Some(url) if url == "none" => None,
        Some(url) => Some((url, true)),
        None => app_base(window).map(|base| (format!("{base}{DEFAULT_CONFIG_FILE}"), false)),
    };
    let file = match file {
        Some((url, explicit)) => fetch_config_file(window, &url, explicit).await?,
        None => RawConfig::default(),
    };
    resolve(window, mount, file)
}

/// The attributes and `?room=` over `file`, validated. Out of line and not async: in
/// [`load_config`]'s state machine the same code cost the app more.
#[inline(never)]
fn resolve(window: &Window, mount: &Element, file: RawConfig) -> Result<Config, ConfigError> {
    let search = window.location().search().unwrap_or_default();
    Config::load(file, |name| mount.get_attribute(name), &search)
}

/// The headline of the configuration error panel.
pub const CONFIG_ERROR_TITLE: &str = "The chat is not configured correctly";

/// Shows why the configuration is invalid in the (cleared) mount element: a `role="alert"` panel
/// with a headline, the setting at fault if any, and the error in words.
///
/// Built with plain DOM calls, like the crash screen (`static/boot.js`): the chat's components
/// never run, and a Yew root of its own for this one static panel cost the app ~1 KB.
pub fn show_config_error(
    window: &Window,
    mount: &Element,
    error: &ConfigError,
) -> Result<(), JsValue> {
    let doc = window.document().ok_or("no document")?;
    let panel = element(&doc, "section", "lc-error", None)?;
    panel.set_attribute("role", "alert")?;
    let title = element(&doc, "h2", "lc-error-title", Some(CONFIG_ERROR_TITLE))?;
    panel.append_child(&title)?;
    if let Some(setting) = error.setting() {
        let line = element(&doc, "p", "lc-error-setting", Some("Setting: "))?;
        let code = doc.create_element("code")?;
        code.append_child(&doc.create_text_node(&setting.to_string()))?;
        line.append_child(&code)?;
        panel.append_child(&line)?;
    }
    let message = error.to_string();
    let text = element(&doc, "p", "lc-error-message", Some(&message))?;
    panel.append_child(&text)?;
    mount.append_child(&panel)?;
    Ok(())
}

/// A new `<tag class="class">` of `doc`, holding `text` if any.
fn element(doc: &Document, tag: &str, class: &str, text: Option<&str>) -> Result<Element, JsValue> {
    let el = doc.create_element(tag)?;
    // setAttribute and a text node, as Yew renders: each other DOM method would be one more
    // import of the app.
    el.set_attribute("class", class)?;
    if let Some(text) = text {
        el.append_child(&doc.create_text_node(text))?;
    }
    Ok(el)
}
