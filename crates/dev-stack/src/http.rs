//! The HTTP side: static app, `/config.json`, the token endpoints, `/dev/*` sign-in and the
//! test-only `/dev/control/*` endpoints.

use std::convert::Infallible;
use std::sync::atomic::{AtomicU64, AtomicU8, Ordering};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use axum::body::{Body, Bytes};
use axum::extract::{Query, Request, State};
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::{json, Value};
use tokio::net::TcpListener;
use tokio::sync::watch;
use tower::ServiceExt as _;
use tower_http::cors::{AllowOrigin, CorsLayer};
use tower_http::services::ServeDir;

use crate::broker::Broker;
use crate::timefmt::rfc3339;
use crate::tokens::{Token, TokenStore};

/// Name of the dev session cookie.
pub const SESSION_COOKIE: &str = "devstack_session";

/// How the token endpoints behave (test control).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
pub enum EndpointMode {
    /// Normal operation.
    #[serde(rename = "ok")]
    Ok,
    /// The connection is closed without a response (the browser's fetch rejects).
    #[serde(rename = "down")]
    Down,
    /// No response for 120 s, then 504.
    #[serde(rename = "hang")]
    Hang,
    /// 401 as if the user were signed out.
    #[serde(rename = "401")]
    Unauthorized,
    /// 429 with `Retry-After`.
    #[serde(rename = "429")]
    RateLimited,
    /// 500.
    #[serde(rename = "500")]
    ServerError,
    /// 403 (signed in, but not allowed to chat).
    #[serde(rename = "403")]
    Forbidden,
    /// 200 with a body that is not JSON.
    #[serde(rename = "garbage")]
    Garbage,
}

impl EndpointMode {
    const ALL: [Self; 8] = [
        Self::Ok,
        Self::Down,
        Self::Hang,
        Self::Unauthorized,
        Self::RateLimited,
        Self::ServerError,
        Self::Forbidden,
        Self::Garbage,
    ];

    fn name(self) -> &'static str {
        match self {
            Self::Ok => "ok",
            Self::Down => "down",
            Self::Hang => "hang",
            Self::Unauthorized => "401",
            Self::RateLimited => "429",
            Self::ServerError => "500",
            Self::Forbidden => "403",
            Self::Garbage => "garbage",
        }
    }
}

/// Test controls shared by the handlers and the connection loop.
pub(crate) struct Controls {
    mode: AtomicU8,
    retry_after_secs: AtomicU64,
    /// When each token request (`/api/mqtt-token` and its refresh, not preflights) arrived, in
    /// milliseconds since the Unix epoch; the newest [`REQUEST_LOG_LIMIT`] are kept.
    requests: std::sync::Mutex<std::collections::VecDeque<u64>>,
    /// Token requests since the stack started (all of them, also those no longer in the log).
    request_count: AtomicU64,
    /// Set by `POST /dev/control/broker-urls`: `config.json` lists these as `brokerUrls` (no
    /// `brokerUrl`) and tokens name no broker, so the client picks from the configured list.
    broker_urls: std::sync::Mutex<Option<Vec<String>>>,
}

/// Token request arrival times kept for `GET /dev/control`.
const REQUEST_LOG_LIMIT: usize = 200;

impl Controls {
    fn mode(&self) -> EndpointMode {
        EndpointMode::ALL[usize::from(self.mode.load(Ordering::Relaxed))]
    }
    fn set_mode(&self, mode: EndpointMode) {
        let index = EndpointMode::ALL
            .iter()
            .position(|m| *m == mode)
            .unwrap_or(0);
        self.mode.store(index as u8, Ordering::Relaxed);
    }
    fn new() -> Self {
        Self {
            mode: AtomicU8::new(0),
            retry_after_secs: AtomicU64::new(5),
            requests: std::sync::Mutex::new(std::collections::VecDeque::new()),
            request_count: AtomicU64::new(0),
            broker_urls: std::sync::Mutex::new(None),
        }
    }
    /// The configured broker list of `POST /dev/control/broker-urls`, if one is set.
    fn broker_urls(&self) -> Option<Vec<String>> {
        self.broker_urls
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
    }
    /// Counts a token request (whatever its answer will be), before any forced failure.
    fn note_request(&self) {
        let now = SystemTime::now()
            .duration_since(SystemTime::UNIX_EPOCH)
            .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX));
        self.request_count.fetch_add(1, Ordering::Relaxed);
        let mut log = self
            .requests
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if log.len() == REQUEST_LOG_LIMIT {
            log.pop_front();
        }
        log.push_back(now);
    }
    fn request_log(&self) -> (u64, Vec<u64>) {
        let log = self
            .requests
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        (
            self.request_count.load(Ordering::Relaxed),
            log.iter().copied().collect(),
        )
    }
}

/// Everything the handlers share.
pub(crate) struct Shared {
    pub(crate) store: Arc<TokenStore>,
    pub(crate) broker: Arc<Broker>,
    pub(crate) controls: Controls,
    pub(crate) broker_url: String,
    pub(crate) csp: Option<HeaderValue>,
    pub(crate) serve_dir: ServeDir,
    pub(crate) cors_origins: Vec<String>,
}

type AppState = Arc<Shared>;

impl Shared {
    pub(crate) fn new(
        store: Arc<TokenStore>,
        broker: Arc<Broker>,
        broker_url: String,
        csp: Option<HeaderValue>,
        dist: &std::path::Path,
        cors_origins: Vec<String>,
    ) -> Self {
        Self {
            store,
            broker,
            controls: Controls::new(),
            broker_url,
            csp,
            serve_dir: ServeDir::new(dist).append_index_html_on_directories(true),
            cors_origins,
        }
    }

    /// Revokes every expired token now (the periodic sweep calls this too).
    pub(crate) async fn sweep(&self) {
        for token in self.store.take_expired(SystemTime::now()) {
            self.broker.revoke(&token).await;
        }
    }
}

fn error(status: StatusCode, code: &str, message: &str) -> Response {
    let mut response = (status, Json(json!({ "error": code, "message": message }))).into_response();
    stamp(response.headers_mut());
    response
}

/// `Date` (clients estimate clock skew from it) and no caching of credentials or errors.
fn stamp(headers: &mut HeaderMap) {
    let date = httpdate::fmt_http_date(SystemTime::now());
    if let Ok(v) = HeaderValue::from_str(&date) {
        headers.insert(header::DATE, v);
    }
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
}

fn rate_limited(wait: Duration) -> Response {
    let secs = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
    let secs = secs.max(1);
    let mut response = (
        StatusCode::TOO_MANY_REQUESTS,
        Json(json!({
            "error": "rate_limited",
            "message": "too many token requests",
            "retryAfter": secs
        })),
    )
        .into_response();
    stamp(response.headers_mut());
    response
        .headers_mut()
        .insert(header::RETRY_AFTER, HeaderValue::from(secs));
    response
}

fn session_id(headers: &HeaderMap) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, _)| *name == SESSION_COOKIE)
        .map(|(_, value)| value.to_owned())
}

fn session_user(state: &Shared, headers: &HeaderMap) -> Option<String> {
    session_id(headers).and_then(|sid| state.store.session_user(&sid))
}

/// The forced failure of the token endpoints, if a test asked for one.
async fn forced_failure(state: &Shared) -> Option<Response> {
    match state.controls.mode() {
        // `Down` never reaches a handler: the connection loop drops the connection.
        EndpointMode::Ok | EndpointMode::Down => None,
        EndpointMode::Hang => {
            tokio::time::sleep(Duration::from_secs(120)).await;
            Some(error(
                StatusCode::GATEWAY_TIMEOUT,
                "timeout",
                "forced by /dev/control",
            ))
        }
        EndpointMode::Unauthorized => Some(error(
            StatusCode::UNAUTHORIZED,
            "unauthorized",
            "forced by /dev/control",
        )),
        EndpointMode::RateLimited => Some(rate_limited(Duration::from_secs(
            state.controls.retry_after_secs.load(Ordering::Relaxed),
        ))),
        EndpointMode::ServerError => Some(error(
            StatusCode::INTERNAL_SERVER_ERROR,
            "server_error",
            "forced by /dev/control",
        )),
        EndpointMode::Forbidden => Some(error(
            StatusCode::FORBIDDEN,
            "forbidden",
            "forced by /dev/control",
        )),
        EndpointMode::Garbage => {
            let mut response = (
                StatusCode::OK,
                [(header::CONTENT_TYPE, "application/json")],
                "<html>not json {\"accessToken\":",
            )
                .into_response();
            stamp(response.headers_mut());
            Some(response)
        }
    }
}

/// A token response; `broker_url` `None`: no `brokerUrl` (the client uses its configuration).
fn token_body(token: &Token, broker_url: Option<&str>) -> Response {
    let mut body = json!({
        "accessToken": token.password,
        "tokenId": token.token_id,
        "expiresAt": rfc3339(token.expires_at),
        "refreshAt": rfc3339(token.refresh_at),
        "username": token.username,
        "userId": token.user,
    });
    if let Some(url) = broker_url {
        body["brokerUrl"] = json!(url);
    }
    let mut response = Json(body).into_response();
    stamp(response.headers_mut());
    response
}

async fn deliver(state: &Shared, token: Token) -> Response {
    if let Err(e) = state.broker.register(&token).await {
        tracing::error!(token = %token.token_id, "the broker refused the new credentials: {e}");
        return error(
            StatusCode::SERVICE_UNAVAILABLE,
            "broker_unavailable",
            "the broker could not register the credentials",
        );
    }
    // With a configured broker list (the control below) the token names no broker: the client
    // picks from its configuration.
    if state.controls.broker_urls().is_some() {
        tracing::info!(token = %token.token_id, user = %token.user, "token issued (no brokerUrl)");
        return token_body(&token, None);
    }
    // A cluster's token names one live node, taking turns (the backend spreads the load and
    // steers reconnects away from a dead node); one broker: its URL.
    let broker_url = match state.broker.assign_url().await {
        Some(url) => url,
        None => state.broker_url.clone(),
    };
    tracing::info!(token = %token.token_id, user = %token.user, broker = %broker_url, "token issued");
    token_body(&token, Some(&broker_url))
}

/// A browser request from a page that is neither this origin nor on the CORS allow-list
/// (cross-site request forgery with the user's cookie) — the response would be unreadable
/// anyway, so it is refused before it costs a token or a rate-limit slot.
fn foreign_origin(state: &Shared, headers: &HeaderMap) -> bool {
    let Some(origin) = headers.get(header::ORIGIN).and_then(|v| v.to_str().ok()) else {
        return false;
    };
    let own = headers
        .get(header::HOST)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|host| origin == format!("http://{host}"));
    !own && !state.cors_origins.iter().any(|o| o == origin)
}

/// Common gates of both token endpoints: forced failure, origin, session, rate limit.
async fn gate(state: &Shared, headers: &HeaderMap) -> Result<String, Response> {
    state.controls.note_request();
    if let Some(response) = forced_failure(state).await {
        return Err(response);
    }
    if foreign_origin(state, headers) {
        return Err(error(
            StatusCode::FORBIDDEN,
            "forbidden_origin",
            "this origin may not request credentials",
        ));
    }
    let Some(user) = session_user(state, headers) else {
        return Err(error(
            StatusCode::UNAUTHORIZED,
            "unauthorized",
            "not signed in",
        ));
    };
    state
        .store
        .check_rate(&user, SystemTime::now())
        .map_err(rate_limited)?;
    Ok(user)
}

fn json_object(body: &[u8]) -> Result<serde_json::Map<String, Value>, String> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(serde_json::Map::new());
    }
    match serde_json::from_slice::<Value>(body) {
        Ok(Value::Object(map)) => Ok(map),
        Ok(_) => Err("the body must be a JSON object".into()),
        Err(e) => Err(format!("the body is not valid JSON: {e}")),
    }
}

async fn issue_token(State(state): State<AppState>, headers: HeaderMap, body: Bytes) -> Response {
    let user = match gate(&state, &headers).await {
        Ok(user) => user,
        Err(response) => return response,
    };
    match json_object(&body) {
        Ok(map) if map.get("userEmail").is_some_and(|v| !v.is_string()) => error(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "userEmail must be a string",
        ),
        Ok(_) => {
            let token = state.store.issue(&user, SystemTime::now());
            deliver(&state, token).await
        }
        Err(message) => error(StatusCode::BAD_REQUEST, "invalid_request", &message),
    }
}

fn string_field<'a>(map: &'a serde_json::Map<String, Value>, names: &[&str]) -> Option<&'a str> {
    names
        .iter()
        .find_map(|n| map.get(*n).and_then(Value::as_str))
}

async fn refresh_token(State(state): State<AppState>, headers: HeaderMap, body: Bytes) -> Response {
    let user = match gate(&state, &headers).await {
        Ok(user) => user,
        Err(response) => return response,
    };
    let map = match json_object(&body) {
        Ok(map) => map,
        Err(message) => return error(StatusCode::BAD_REQUEST, "invalid_request", &message),
    };
    let (Some(token_id), Some(password)) = (
        string_field(&map, &["tokenId", "token_id"]),
        string_field(&map, &["password", "current_token_password"]),
    ) else {
        return error(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "tokenId and password (strings) are required",
        );
    };
    match state
        .store
        .refresh(&user, token_id, password, SystemTime::now())
    {
        Ok(token) => deliver(&state, token).await,
        Err(e) => {
            tracing::info!(user = %user, token = %token_id, "refresh refused: {e}");
            error(
                StatusCode::UNAUTHORIZED,
                "invalid_token",
                "unknown or expired token",
            )
        }
    }
}

/// The app's configuration on this stack; with the dev sign-in on, `devLogin` names it, so the
/// app's signed-out screen offers a name field instead of asking to edit the URL.
async fn config_json(State(state): State<AppState>, dev_auth: bool) -> Response {
    let mut config = json!({
        "brokerUrl": state.broker_url,
        "tokenUrl": "/api/mqtt-token",
        "refreshUrl": "/api/mqtt-token/refresh",
    });
    if let Some(urls) = state.controls.broker_urls() {
        config.as_object_mut().map(|c| c.remove("brokerUrl"));
        config["brokerUrls"] = json!(urls);
    }
    if dev_auth {
        config["devLogin"] = json!("/dev/login");
    }
    if state.broker.history().is_some() {
        config["historyUrl"] = json!("/api/history");
    }
    let mut response = Json(config).into_response();
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    response
}

#[derive(Deserialize)]
struct HistoryQuery {
    room: Option<String>,
}

/// `GET /api/history?room=R`: the room's last messages as the embedded broker accepted them
/// (`{"messages":[{id?, author?, user, text, timestamp}]}`, oldest first), for a signed-in user
/// who may read the room. Same origin rule as the token endpoint; not rate limited.
async fn room_history(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(query): Query<HistoryQuery>,
) -> Response {
    let Some(history) = state.broker.history() else {
        return error(
            StatusCode::NOT_FOUND,
            "not_found",
            "the room history is kept by the embedded broker only",
        );
    };
    if foreign_origin(&state, &headers) {
        return error(
            StatusCode::FORBIDDEN,
            "forbidden_origin",
            "this origin may not read room history",
        );
    }
    let Some(user) = session_user(&state, &headers) else {
        return error(StatusCode::UNAUTHORIZED, "unauthorized", "not signed in");
    };
    let room = query.room.unwrap_or_default();
    if crate::acl::room_of(&format!("chat/{room}/messages")).is_none() {
        return error(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "room must be 1 to 64 letters, digits, '_' or '-'",
        );
    }
    if !history.may_read(&user, &room) {
        return error(
            StatusCode::FORBIDDEN,
            "forbidden_room",
            "you may not read this room",
        );
    }
    let mut response = Json(json!({ "messages": history.messages(&room) })).into_response();
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

#[derive(Deserialize)]
struct LoginQuery {
    user: Option<String>,
    next: Option<String>,
}

/// Only same-origin relative paths: `/x`, never `//host` or `/\host`.
fn safe_next(next: Option<&str>) -> &str {
    match next {
        Some(n) if n.starts_with('/') && !n.starts_with("//") && !n.contains('\\') => n,
        _ => "/",
    }
}

fn redirect(to: &str, cookie: String) -> Response {
    let mut response = StatusCode::SEE_OTHER.into_response();
    if let Ok(location) = HeaderValue::from_str(to) {
        response.headers_mut().insert(header::LOCATION, location);
    }
    if let Ok(cookie) = HeaderValue::from_str(&cookie) {
        response.headers_mut().insert(header::SET_COOKIE, cookie);
    }
    response
}

async fn login(State(state): State<AppState>, Query(q): Query<LoginQuery>) -> Response {
    let Some(user) = q.user.filter(|u| crate::acl::valid_user(u)) else {
        return (
            StatusCode::BAD_REQUEST,
            "user must match [A-Za-z0-9_.-]{1,64}: /dev/login?user=alice\n",
        )
            .into_response();
    };
    let sid = state.store.create_session(&user);
    tracing::info!(user = %user, "dev login");
    redirect(
        safe_next(q.next.as_deref()),
        format!("{SESSION_COOKIE}={sid}; Path=/; HttpOnly; SameSite=Lax"),
    )
}

async fn logout(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(q): Query<LoginQuery>,
) -> Response {
    if let Some(sid) = session_id(&headers) {
        if let Some(user) = state.store.session_user(&sid) {
            state.store.end_session(&sid);
            // Sign-out revokes: every live credential of the user expires now and the sweep
            // closes their broker connections before this response is sent.
            let revoked = state.store.expire_now(Some(&user), SystemTime::now());
            state.sweep().await;
            state.broker.signed_out(&user);
            tracing::info!(user = %user, revoked, "dev logout: session ended, tokens revoked");
        }
    }
    redirect(
        safe_next(q.next.as_deref()),
        format!("{SESSION_COOKIE}=; Path=/; HttpOnly; SameSite=Lax; Max-Age=0"),
    )
}

async fn whoami(State(state): State<AppState>, headers: HeaderMap) -> Response {
    match session_user(&state, &headers) {
        Some(user) => Json(json!({ "user": user })).into_response(),
        None => error(StatusCode::UNAUTHORIZED, "unauthorized", "not signed in"),
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ModeRequest {
    mode: EndpointMode,
    retry_after_secs: Option<u64>,
}

async fn control_token_endpoint(
    State(state): State<AppState>,
    Json(req): Json<ModeRequest>,
) -> Response {
    state.controls.set_mode(req.mode);
    if let Some(secs) = req.retry_after_secs {
        state
            .controls
            .retry_after_secs
            .store(secs.max(1), Ordering::Relaxed);
    }
    tracing::warn!("control: token endpoints now {}", req.mode.name());
    Json(json!({ "mode": req.mode.name() })).into_response()
}

#[derive(Deserialize)]
struct TtlRequest {
    secs: u64,
}

async fn control_ttl(State(state): State<AppState>, Json(req): Json<TtlRequest>) -> Response {
    state.store.set_ttl(Duration::from_secs(req.secs.max(1)));
    tracing::warn!("control: new tokens live {} s", req.secs.max(1));
    Json(json!({ "ttlSecs": req.secs.max(1) })).into_response()
}

#[derive(Deserialize, Default)]
struct ExpireRequest {
    user: Option<String>,
}

async fn control_expire(State(state): State<AppState>, body: Bytes) -> Response {
    let req: ExpireRequest = if body.iter().all(u8::is_ascii_whitespace) {
        ExpireRequest::default()
    } else {
        match serde_json::from_slice(&body) {
            Ok(req) => req,
            Err(e) => return error(StatusCode::BAD_REQUEST, "invalid_request", &e.to_string()),
        }
    };
    let expired = state
        .store
        .expire_now(req.user.as_deref(), SystemTime::now());
    state.sweep().await;
    tracing::warn!("control: expired {expired} token(s)");
    Json(json!({ "expired": expired })).into_response()
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
struct RestartRequest {
    down_ms: Option<u64>,
}

async fn control_restart(State(state): State<AppState>, body: Bytes) -> Response {
    let req: RestartRequest = serde_json::from_slice(&body).unwrap_or_default();
    let down = Duration::from_millis(req.down_ms.unwrap_or(0).min(60_000));
    tracing::warn!("control: restarting the broker (down {down:?})");
    match state.broker.restart(down).await {
        Ok(()) => Json(json!({ "restarted": state.broker.name() })).into_response(),
        Err(e) => error(
            StatusCode::INTERNAL_SERVER_ERROR,
            "restart_failed",
            &e.to_string(),
        ),
    }
}

/// `POST /dev/control/broker/kill {"downMs": N}`: kills the broker abruptly and answers once it
/// is dead, before it is back: it starts again `downMs` later (default 10 000, at most 600 000)
/// in the background, so a test can act during the outage.
async fn control_kill(State(state): State<AppState>, body: Bytes) -> Response {
    let req: RestartRequest = serde_json::from_slice(&body).unwrap_or_default();
    let down = Duration::from_millis(req.down_ms.unwrap_or(10_000).min(600_000));
    tracing::warn!("control: killing the broker (back in {down:?})");
    state.broker.kill().await;
    let killed_at = SystemTime::now();
    let revive = Arc::clone(&state);
    tokio::spawn(async move {
        tokio::time::sleep(down).await;
        match revive.broker.revive().await {
            Ok(()) => tracing::warn!("control: the killed broker is back"),
            Err(e) => tracing::error!("control: the killed broker did not start again: {e}"),
        }
    });
    Json(json!({
        "killed": state.broker.name(),
        "downMs": u64::try_from(down.as_millis()).unwrap_or(u64::MAX),
        "killedAt": rfc3339(killed_at),
    }))
    .into_response()
}

#[derive(Deserialize)]
struct FramingRequest {
    mode: crate::reframe::Framing,
}

async fn control_framing(
    State(state): State<AppState>,
    Json(req): Json<FramingRequest>,
) -> Response {
    match state.broker.set_framing(req.mode) {
        Ok(()) => {
            tracing::warn!("control: new broker connections framed {}", req.mode.name());
            Json(json!({ "framing": req.mode.name() })).into_response()
        }
        Err(why) => error(StatusCode::CONFLICT, "unsupported", why),
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct FaultRequest {
    mode: crate::faults::FaultMode,
    scope: Option<String>,
    after_bytes: Option<u64>,
    delay_ms: Option<u64>,
    heal_after_ms: Option<u64>,
}

async fn control_faults(State(state): State<AppState>, body: Bytes) -> Response {
    use crate::faults::{FaultMode, FaultRule, FaultScope};
    let req: FaultRequest = match serde_json::from_slice(&body) {
        Ok(r) => r,
        Err(e) => return error(StatusCode::BAD_REQUEST, "bad_request", &e.to_string()),
    };
    let scope = match FaultScope::parse(req.scope.as_deref().unwrap_or("all")) {
        Ok(s) => s,
        Err(e) => return error(StatusCode::BAD_REQUEST, "bad_request", &e),
    };
    if req.mode == FaultMode::Delay && req.delay_ms.unwrap_or(0) == 0 {
        return error(
            StatusCode::BAD_REQUEST,
            "bad_request",
            "mode delay needs delayMs > 0",
        );
    }
    let Some(faults) = state.broker.faults() else {
        return error(
            StatusCode::CONFLICT,
            "unsupported",
            "the fault control needs the stack's broker proxy (DEV_CONTROLS=1)",
        );
    };
    let rule = FaultRule {
        mode: req.mode,
        scope,
        after_bytes: req.after_bytes.unwrap_or(0),
        delay: Duration::from_millis(req.delay_ms.unwrap_or(0).min(600_000)),
        heal_after: req.heal_after_ms.map(Duration::from_millis),
        ..FaultRule::default()
    };
    tracing::warn!(rule = %rule.to_json(), "control: broker link faults");
    faults.set(rule);
    Json(json!({ "faults": faults.rule().to_json() })).into_response()
}

/// `GET /dev/control/broker/nodes`: the RabbitMQ cluster's nodes (`name`, `wsUrl`, `pid` of the
/// node's process group leader while it runs); 409 for the other brokers.
async fn control_nodes(State(state): State<AppState>) -> Response {
    match state.broker.rabbitmq() {
        Some(cluster) => Json(json!({ "nodes": cluster.nodes().await })).into_response(),
        None => error(
            StatusCode::CONFLICT,
            "unsupported",
            "only the RabbitMQ cluster has nodes (BROKER=rabbitmq)",
        ),
    }
}

/// The RabbitMQ cluster if node `n` (1-based) is one of its nodes; else the 409 (another
/// broker) or 404 (no such node) to answer.
fn cluster_node(state: &Shared, n: usize) -> Result<&crate::rabbitmq::RabbitMq, Box<Response>> {
    let Some(cluster) = state.broker.rabbitmq() else {
        return Err(Box::new(error(
            StatusCode::CONFLICT,
            "unsupported",
            "only the RabbitMQ cluster has nodes (BROKER=rabbitmq)",
        )));
    };
    if !(1..=crate::rabbitmq::NODES).contains(&n) {
        return Err(Box::new(error(
            StatusCode::NOT_FOUND,
            "not_found",
            "no such node",
        )));
    }
    Ok(cluster)
}

/// `POST /dev/control/broker/nodes/{n}/kill` SIGKILLs RabbitMQ node `n` (1-based; answers once
/// it is dead) and `…/start` starts it again (answers once it is back in the cluster).
async fn control_node(
    State(state): State<AppState>,
    axum::extract::Path((n, action)): axum::extract::Path<(usize, String)>,
) -> Response {
    let cluster = match cluster_node(&state, n) {
        Ok(cluster) => cluster,
        Err(refused) => return *refused,
    };
    tracing::warn!("control: RabbitMQ node {n}: {action}");
    let done = match action.as_str() {
        "kill" => cluster.kill_node(n - 1).await,
        "start" => cluster.start_node(n - 1).await,
        _ => return error(StatusCode::NOT_FOUND, "not_found", "kill or start"),
    };
    match done {
        Ok(()) => Json(json!({ "node": n, "done": action, "at": rfc3339(SystemTime::now()) }))
            .into_response(),
        Err(e) => error(
            StatusCode::INTERNAL_SERVER_ERROR,
            "node_control_failed",
            &e.to_string(),
        ),
    }
}

/// `GET /dev/control/broker/nodes/{n}/log`: the last 40 lines of RabbitMQ node `n`'s (1-based)
/// console output and log, as text: what a failing test prints to say why a node refused it.
async fn control_node_log(
    State(state): State<AppState>,
    axum::extract::Path(n): axum::extract::Path<usize>,
) -> Response {
    let cluster = match cluster_node(&state, n) {
        Ok(cluster) => cluster,
        Err(refused) => return *refused,
    };
    cluster.log_tail_lines(n - 1, 40).into_response()
}

async fn control_state(State(state): State<AppState>) -> Response {
    let (token_requests, token_request_times) = state.controls.request_log();
    Json(json!({
        "mode": state.controls.mode().name(),
        "tokenRequests": token_requests,
        "tokenRequestTimes": token_request_times,
        "ttlSecs": state.store.ttl().as_secs(),
        "framing": state.broker.framing().name(),
        "faults": state.broker.faults().map(|f| f.rule().to_json()),
        "broker": state.broker.name(),
        "brokerUrl": state.broker_url,
        "brokerUrls": state.controls.broker_urls(),
    }))
    .into_response()
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct BrokerUrlsRequest {
    urls: Option<Vec<String>>,
}

/// `POST /dev/control/broker-urls` `{"urls": ["ws://…", …]}`: from now on `config.json` lists
/// these as `brokerUrls` (no `brokerUrl`) and token responses name no broker, so clients pick from
/// the configured list (shuffled per page, tried in turn), as behind a host whose token endpoint
/// does not steer; `{"urls": null}` or `[]` restores the default (the stack's own URL, tokens name
/// it). 1–8 URLs, each `ws://` or `wss://`; anything else is a 400.
async fn control_broker_urls(
    State(state): State<AppState>,
    Json(req): Json<BrokerUrlsRequest>,
) -> Response {
    let urls = req.urls.filter(|u| !u.is_empty());
    if let Some(urls) = &urls {
        if urls.len() > 8
            || !urls
                .iter()
                .all(|u| u.starts_with("ws://") || u.starts_with("wss://"))
        {
            return error(
                StatusCode::BAD_REQUEST,
                "invalid_request",
                "urls: 1 to 8 ws:// or wss:// URLs, or null",
            );
        }
    }
    tracing::warn!(?urls, "control: configured broker list");
    *state
        .controls
        .broker_urls
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner) = urls.clone();
    Json(json!({ "brokerUrls": urls })).into_response()
}

async fn serve_static(state: &Shared, req: Request) -> Response {
    match state.serve_dir.clone().oneshot(req).await {
        Ok(response) => response.into_response(),
        Err(never) => match never {},
    }
}

/// The app under the `/app/` sub-path, to check sub-path hosting.
async fn app_subpath(State(state): State<AppState>, mut req: Request) -> Response {
    let path = req.uri().path().strip_prefix("/app").unwrap_or("/");
    let path_and_query = match req.uri().query() {
        Some(q) => format!("{path}?{q}"),
        None => path.to_owned(),
    };
    match path_and_query.parse() {
        Ok(uri) => *req.uri_mut() = uri,
        Err(_) => return StatusCode::BAD_REQUEST.into_response(),
    }
    serve_static(&state, req).await
}

async fn app_root(State(state): State<AppState>, req: Request) -> Response {
    serve_static(&state, req).await
}

async fn add_csp(State(state): State<AppState>, mut response: Response) -> Response {
    if let Some(csp) = &state.csp {
        let csp = with_configured_brokers(csp, state.controls.broker_urls().as_deref());
        response
            .headers_mut()
            .entry(header::CONTENT_SECURITY_POLICY)
            .or_insert(csp);
    }
    response
}

/// `csp` with the origins of a configured broker list (`POST /dev/control/broker-urls`) added to
/// its `connect-src`, as a host must list every broker its pages may connect to.
fn with_configured_brokers(csp: &HeaderValue, urls: Option<&[String]>) -> HeaderValue {
    let (Some(urls), Ok(text)) = (urls, csp.to_str()) else {
        return csp.clone();
    };
    let origins: Vec<&str> = urls
        .iter()
        .map(|u| {
            let host_at = u.find("://").map_or(0, |i| i + 3);
            u[host_at..]
                .find('/')
                .map_or(u.as_str(), |i| &u[..host_at + i])
        })
        .collect();
    let text = text.replacen(
        "connect-src ",
        &format!("connect-src {} ", origins.join(" ")),
        1,
    );
    HeaderValue::from_str(&text).unwrap_or_else(|_| csp.clone())
}

fn cors(origins: &[String]) -> CorsLayer {
    let origins: Vec<HeaderValue> = origins
        .iter()
        .filter_map(|o| HeaderValue::from_str(o).ok())
        .collect();
    CorsLayer::new()
        .allow_origin(AllowOrigin::list(origins))
        .allow_credentials(true)
        .allow_methods([Method::POST])
        .allow_headers([header::CONTENT_TYPE])
        .expose_headers([header::DATE, header::RETRY_AFTER])
        .max_age(Duration::from_secs(600))
}

/// The whole application router.
pub(crate) fn router(
    state: AppState,
    cors_origins: &[String],
    dev_auth: bool,
    dev_controls: bool,
) -> Router {
    let api = Router::new()
        .route("/api/mqtt-token", post(issue_token))
        .route("/api/mqtt-token/refresh", post(refresh_token))
        .route("/api/history", get(room_history))
        .layer(cors(cors_origins));
    let mut app = Router::new()
        .route("/config.json", get(move |s| config_json(s, dev_auth)))
        .route("/app/config.json", get(move |s| config_json(s, dev_auth)))
        .route(
            "/app",
            get(|| async { axum::response::Redirect::permanent("/app/") }),
        )
        .route("/app/", get(app_subpath))
        .route("/app/{*rest}", get(app_subpath))
        .merge(api);
    if dev_auth {
        // CORS too, so a test page on an allowed origin can sign in and read its session.
        app = app.merge(
            Router::new()
                .route("/dev/login", get(login))
                .route("/dev/logout", get(logout).post(logout))
                .route("/dev/session", get(whoami))
                .layer(cors(cors_origins)),
        );
    } else {
        let disabled = || async {
            error(
                StatusCode::NOT_FOUND,
                "not_found",
                "dev sign-in is off (start with DEV_AUTH=1)",
            )
        };
        for path in ["/dev/login", "/dev/logout", "/dev/session"] {
            app = app.route(path, axum::routing::any(disabled));
        }
    }
    if dev_controls {
        // CORS like the API: browser tests (wasm-bindgen-test pages on another port) drive them.
        let controls = Router::new()
            .route("/dev/control", get(control_state))
            .route("/dev/control/token-endpoint", post(control_token_endpoint))
            .route("/dev/control/token-ttl", post(control_ttl))
            .route("/dev/control/tokens/expire", post(control_expire))
            .route("/dev/control/broker/restart", post(control_restart))
            .route("/dev/control/broker/kill", post(control_kill))
            .route("/dev/control/framing", post(control_framing))
            .route("/dev/control/faults", post(control_faults))
            .route("/dev/control/broker-urls", post(control_broker_urls))
            .route("/dev/control/broker/nodes", get(control_nodes))
            .route("/dev/control/broker/nodes/{n}/log", get(control_node_log))
            .route("/dev/control/broker/nodes/{n}/{action}", post(control_node))
            .layer(cors(cors_origins));
        app = app.merge(controls);
    } else {
        let disabled = || async {
            error(
                StatusCode::NOT_FOUND,
                "not_found",
                "test controls are off (start with DEV_CONTROLS=1)",
            )
        };
        app = app
            .route("/dev/control", axum::routing::any(disabled))
            .route("/dev/control/{*rest}", axum::routing::any(disabled));
    }
    app.fallback(app_root)
        .layer(axum::middleware::map_response_with_state(
            Arc::clone(&state),
            add_csp,
        ))
        .with_state(state)
}

/// The token endpoints are "down": drop the connection without an answer.
#[derive(Debug, thiserror::Error)]
#[error("token endpoint forced down by /dev/control")]
struct ForcedDown;

/// Accepts HTTP/1.1 connections until `stop` flips. Not `axum::serve`: the `down` control needs
/// to drop a connection without any response, which only a fallible hyper service can do.
pub(crate) async fn serve(
    listener: TcpListener,
    router: Router,
    state: AppState,
    mut stop: watch::Receiver<bool>,
) {
    let mut connections = tokio::task::JoinSet::new();
    loop {
        tokio::select! {
            accepted = listener.accept() => {
                let Ok((stream, _)) = accepted else { continue };
                let router = router.clone();
                let state = Arc::clone(&state);
                connections.spawn(async move {
                    let service = hyper::service::service_fn(move |req: Request<hyper::body::Incoming>| {
                        let router = router.clone();
                        let state_for_count = Arc::clone(&state);
                        let down = state.controls.mode() == EndpointMode::Down
                            && req.uri().path().starts_with("/api/")
                            && req.method() != Method::OPTIONS;
                        async move {
                            if down {
                                state_for_count.controls.note_request();
                                return Err(ForcedDown);
                            }
                            let response: Result<Response, Infallible> =
                                router.oneshot(req.map(Body::new)).await;
                            Ok(response.unwrap_or_else(|never| match never {}))
                        }
                    });
                    let io = hyper_util::rt::TokioIo::new(stream);
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(io, service)
                        .await;
                });
            }
            Some(_) = connections.join_next(), if !connections.is_empty() => {}
            _ = stop.changed() => break,
        }
    }
    connections.abort_all();
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn next_must_be_a_same_origin_path() {
        assert_eq!(safe_next(Some("/room/a?x=1")), "/room/a?x=1");
        assert_eq!(safe_next(Some("//evil.test/")), "/");
        assert_eq!(safe_next(Some("/\\evil.test")), "/");
        assert_eq!(safe_next(Some("https://evil.test/")), "/");
        assert_eq!(safe_next(None), "/");
    }

    #[test]
    fn the_session_cookie_is_found_among_others() {
        let mut headers = HeaderMap::new();
        headers.insert(
            header::COOKIE,
            HeaderValue::from_static("a=1; devstack_session=abc; b=2"),
        );
        assert_eq!(session_id(&headers).as_deref(), Some("abc"));
    }

    #[test]
    fn an_empty_body_is_an_empty_object_and_non_objects_are_refused() {
        assert!(json_object(b"").unwrap().is_empty());
        assert!(json_object(b" {\"userEmail\":\"a@b\"} ").is_ok());
        assert!(json_object(b"[1]").is_err());
        assert!(json_object(b"{").is_err());
    }

    #[test]
    fn endpoint_modes_round_trip_through_the_atomic() {
        let controls = Controls::new();
        for mode in EndpointMode::ALL {
            controls.set_mode(mode);
            assert_eq!(controls.mode(), mode);
        }
    }
}
