//! The backend's live state: dev sessions, issued MQTT credentials, and the per-user rate limit.
//!
//! Every issued credential is a token of its own (`tokenId`, MQTT `username`, password,
//! `expiresAt`). A refresh issues a *new* token for the same user and leaves the old one alive
//! until its own expiry, so a client can rotate make-before-break. The MQTT user name is unique
//! per token (`{user}@{tokenId}`): Mosquitto's dynamic-security plugin needs one client per
//! credential, and the embedded broker uses the same shape so both brokers look alike.
//!
//! All methods take the current time as an argument; the caller reads the clock.

use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::{Duration, SystemTime};

use base64::Engine as _;

/// One issued credential.
#[derive(Clone, PartialEq, Eq)]
pub struct Token {
    /// Public id of the credential (used for refresh and in logs).
    pub token_id: String,
    /// The signed-in user it was issued to.
    pub user: String,
    /// MQTT user name.
    pub username: String,
    /// MQTT password (the `accessToken`). Never logged.
    pub password: String,
    /// When it was issued.
    pub issued_at: SystemTime,
    /// When a client should refresh (90 % of the lifetime).
    pub refresh_at: SystemTime,
    /// When it stops working and the broker closes connections that used it.
    pub expires_at: SystemTime,
}

impl std::fmt::Debug for Token {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Token")
            .field("token_id", &self.token_id)
            .field("user", &self.user)
            .field("username", &self.username)
            .field("password", &"[REDACTED]")
            .field("expires_at", &self.expires_at)
            .finish_non_exhaustive()
    }
}

/// Why a refresh was refused (all map to HTTP 401).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum RefreshError {
    /// No live token has this id (unknown or expired).
    #[error("unknown or expired token")]
    UnknownToken,
    /// The password does not match the token.
    #[error("wrong password for this token")]
    WrongPassword,
    /// The token belongs to another user than the session's.
    #[error("the token belongs to another user")]
    OtherUser,
}

#[derive(Default)]
struct Inner {
    tokens: HashMap<String, Token>,
    by_username: HashMap<String, String>,
    /// Session key ([`crate::sessions::session_key`] of the cookie value) → user.
    sessions: HashMap<String, String>,
    requests: HashMap<String, VecDeque<SystemTime>>,
}

/// Thread-safe store of sessions, tokens and rate-limit windows.
pub struct TokenStore {
    inner: Mutex<Inner>,
    ttl_ms: AtomicU64,
    rate_limit: u32,
    session_file: Option<crate::sessions::SessionFile>,
}

const RATE_WINDOW: Duration = Duration::from_secs(60);

/// Random bytes from the OS, hex encoded.
fn random_hex(bytes: usize) -> String {
    let mut buf = vec![0u8; bytes];
    getrandom::fill(&mut buf).expect("the OS random source works");
    buf.iter().map(|b| format!("{b:02x}")).collect()
}

/// Random bytes from the OS, base64url encoded (no padding).
fn random_b64(bytes: usize) -> String {
    let mut buf = vec![0u8; bytes];
    getrandom::fill(&mut buf).expect("the OS random source works");
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(buf)
}

/// Comparison whose time does not depend on where the inputs differ.
fn same_secret(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

impl TokenStore {
    /// A store issuing tokens that live `ttl`, allowing `rate_limit` token requests per user per
    /// minute (0 = unlimited).
    #[must_use]
    pub fn new(ttl: Duration, rate_limit: u32) -> Self {
        Self {
            inner: Mutex::new(Inner::default()),
            ttl_ms: AtomicU64::new(ttl.as_millis() as u64),
            rate_limit,
            session_file: None,
        }
    }

    /// Keeps the dev sessions in `dir` (see [`crate::sessions`]): the sessions found there are
    /// signed in again, and every sign-in and sign-out is written there.
    ///
    /// # Errors
    /// The directory cannot be created.
    pub fn with_state_dir(mut self, dir: &std::path::Path) -> std::io::Result<Self> {
        let (file, sessions) = crate::sessions::SessionFile::open(dir)?;
        self.inner
            .get_mut()
            .unwrap_or_else(|e| e.into_inner())
            .sessions = sessions;
        self.session_file = Some(file);
        Ok(self)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The lifetime of newly issued tokens.
    #[must_use]
    pub fn ttl(&self) -> Duration {
        Duration::from_millis(self.ttl_ms.load(Ordering::Relaxed))
    }

    /// Changes the lifetime of tokens issued from now on.
    pub fn set_ttl(&self, ttl: Duration) {
        self.ttl_ms
            .store(ttl.as_millis().max(1) as u64, Ordering::Relaxed);
    }

    /// Signs `user` in; returns the new session id (the cookie value).
    pub fn create_session(&self, user: &str) -> String {
        let sid = random_b64(24);
        let key = crate::sessions::session_key(&sid);
        self.lock().sessions.insert(key.clone(), user.to_owned());
        if let Some(file) = &self.session_file {
            file.update(&key, Some(user));
        }
        sid
    }

    /// The user of a session id.
    #[must_use]
    pub fn session_user(&self, sid: &str) -> Option<String> {
        self.lock()
            .sessions
            .get(&crate::sessions::session_key(sid))
            .cloned()
    }

    /// Signs a session out.
    pub fn end_session(&self, sid: &str) {
        let key = crate::sessions::session_key(sid);
        self.lock().sessions.remove(&key);
        if let Some(file) = &self.session_file {
            file.update(&key, None);
        }
    }

    /// Counts one token request of `user`; `Err(retry_after)` when over the limit.
    ///
    /// # Errors
    /// The time until the oldest request in the window leaves it.
    pub fn check_rate(&self, user: &str, now: SystemTime) -> Result<(), Duration> {
        if self.rate_limit == 0 {
            return Ok(());
        }
        let mut inner = self.lock();
        let window = inner.requests.entry(user.to_owned()).or_default();
        while window
            .front()
            .is_some_and(|t| now.duration_since(*t).unwrap_or_default() >= RATE_WINDOW)
        {
            window.pop_front();
        }
        if window.len() >= self.rate_limit as usize {
            let oldest = window.front().copied().unwrap_or(now);
            let age = now.duration_since(oldest).unwrap_or_default();
            return Err(RATE_WINDOW.saturating_sub(age));
        }
        window.push_back(now);
        Ok(())
    }

    /// Issues a new token for `user`.
    pub fn issue(&self, user: &str, now: SystemTime) -> Token {
        let ttl = self.ttl();
        let token_id = format!("tok_{}", random_hex(12));
        let token = Token {
            username: format!("{user}@{token_id}"),
            token_id,
            user: user.to_owned(),
            password: random_b64(32),
            issued_at: now,
            refresh_at: now + ttl.mul_f64(0.9),
            expires_at: now + ttl,
        };
        let mut inner = self.lock();
        inner
            .by_username
            .insert(token.username.clone(), token.token_id.clone());
        inner.tokens.insert(token.token_id.clone(), token.clone());
        token
    }

    /// Issues a new token for the user of a live token, given its id and password. The old
    /// token stays valid until its own expiry.
    ///
    /// # Errors
    /// Unknown or expired token, wrong password, or a token of another user.
    pub fn refresh(
        &self,
        user: &str,
        token_id: &str,
        password: &str,
        now: SystemTime,
    ) -> Result<Token, RefreshError> {
        {
            let inner = self.lock();
            let old = inner
                .tokens
                .get(token_id)
                .filter(|t| t.expires_at > now)
                .ok_or(RefreshError::UnknownToken)?;
            if !same_secret(old.password.as_bytes(), password.as_bytes()) {
                return Err(RefreshError::WrongPassword);
            }
            if old.user != user {
                return Err(RefreshError::OtherUser);
            }
        }
        Ok(self.issue(user, now))
    }

    /// The live token these MQTT credentials belong to.
    #[must_use]
    pub fn validate(&self, username: &str, password: &[u8], now: SystemTime) -> Option<Token> {
        let inner = self.lock();
        let id = inner.by_username.get(username)?;
        inner
            .tokens
            .get(id)
            .filter(|t| t.expires_at > now && same_secret(t.password.as_bytes(), password))
            .cloned()
    }

    /// The live token of an MQTT user name, without checking a password (for broker hooks
    /// that ask about a connection already authenticated, such as RabbitMQ's topic checks).
    #[must_use]
    pub fn live_user(&self, username: &str, now: SystemTime) -> Option<Token> {
        let inner = self.lock();
        let id = inner.by_username.get(username)?;
        inner.tokens.get(id).filter(|t| t.expires_at > now).cloned()
    }

    /// Whether a token exists and has not expired.
    #[must_use]
    pub fn is_live(&self, token_id: &str, now: SystemTime) -> bool {
        self.lock()
            .tokens
            .get(token_id)
            .is_some_and(|t| t.expires_at > now)
    }

    /// Removes and returns every token whose expiry has passed.
    pub fn take_expired(&self, now: SystemTime) -> Vec<Token> {
        let mut inner = self.lock();
        let expired: Vec<String> = inner
            .tokens
            .values()
            .filter(|t| t.expires_at <= now)
            .map(|t| t.token_id.clone())
            .collect();
        expired
            .into_iter()
            .filter_map(|id| {
                let token = inner.tokens.remove(&id)?;
                inner.by_username.remove(&token.username);
                Some(token)
            })
            .collect()
    }

    /// Makes every live token of `user` (all users when `None`) expire at `now`; they are
    /// revoked by the next [`take_expired`](Self::take_expired).
    pub fn expire_now(&self, user: Option<&str>, now: SystemTime) -> usize {
        let mut inner = self.lock();
        let mut count = 0;
        for token in inner.tokens.values_mut() {
            if user.is_none_or(|u| u == token.user) && token.expires_at > now {
                token.expires_at = now;
                count += 1;
            }
        }
        count
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t0() -> SystemTime {
        SystemTime::UNIX_EPOCH + Duration::from_secs(1_800_000_000)
    }

    #[test]
    fn issued_token_refreshes_at_ninety_percent_of_its_lifetime() {
        let store = TokenStore::new(Duration::from_secs(100), 0);
        let t = store.issue("alice", t0());
        assert_eq!(t.expires_at, t0() + Duration::from_secs(100));
        assert_eq!(t.refresh_at, t0() + Duration::from_secs(90));
        assert_eq!(t.username, format!("alice@{}", t.token_id));
        assert!(store
            .validate(&t.username, t.password.as_bytes(), t0())
            .is_some());
    }

    #[test]
    fn refresh_issues_a_new_password_and_keeps_the_old_one_until_expiry() {
        let store = TokenStore::new(Duration::from_secs(10), 0);
        let old = store.issue("alice", t0());
        let later = t0() + Duration::from_secs(5);
        let new = store
            .refresh("alice", &old.token_id, &old.password, later)
            .unwrap();
        assert_ne!(new.password, old.password);
        assert_ne!(new.token_id, old.token_id);
        assert!(store
            .validate(&old.username, old.password.as_bytes(), later)
            .is_some());
        let after_old = t0() + Duration::from_secs(11);
        assert!(store
            .validate(&old.username, old.password.as_bytes(), after_old)
            .is_none());
        assert!(store
            .validate(&new.username, new.password.as_bytes(), after_old)
            .is_some());
    }

    #[test]
    fn refresh_refuses_wrong_password_other_user_and_expired_token() {
        let store = TokenStore::new(Duration::from_secs(10), 0);
        let t = store.issue("alice", t0());
        assert_eq!(
            store.refresh("alice", &t.token_id, "nope", t0()),
            Err(RefreshError::WrongPassword)
        );
        assert_eq!(
            store.refresh("bob", &t.token_id, &t.password, t0()),
            Err(RefreshError::OtherUser)
        );
        let late = t0() + Duration::from_secs(10);
        assert_eq!(
            store.refresh("alice", &t.token_id, &t.password, late),
            Err(RefreshError::UnknownToken)
        );
    }

    #[test]
    fn take_expired_removes_only_expired_tokens() {
        let store = TokenStore::new(Duration::from_secs(10), 0);
        let a = store.issue("alice", t0());
        let b = store.issue("bob", t0() + Duration::from_secs(5));
        let gone = store.take_expired(t0() + Duration::from_secs(10));
        assert_eq!(gone, vec![a.clone()]);
        assert!(!store.is_live(&a.token_id, t0()));
        assert!(store.is_live(&b.token_id, t0() + Duration::from_secs(10)));
    }

    #[test]
    fn rate_limit_refuses_past_the_limit_with_the_time_left_in_the_window() {
        let store = TokenStore::new(Duration::from_secs(10), 2);
        assert!(store.check_rate("alice", t0()).is_ok());
        assert!(store
            .check_rate("alice", t0() + Duration::from_secs(20))
            .is_ok());
        assert_eq!(
            store.check_rate("alice", t0() + Duration::from_secs(30)),
            Err(Duration::from_secs(30))
        );
        assert!(store
            .check_rate("bob", t0() + Duration::from_secs(30))
            .is_ok());
        assert!(store
            .check_rate("alice", t0() + Duration::from_secs(60))
            .is_ok());
    }

    #[test]
    fn debug_output_never_shows_the_password() {
        let store = TokenStore::new(Duration::from_secs(10), 0);
        let t = store.issue("alice", t0());
        assert!(!format!("{t:?}").contains(&t.password));
    }

    #[test]
    fn expire_now_ends_the_tokens_of_one_user() {
        let store = TokenStore::new(Duration::from_secs(10), 0);
        let a = store.issue("alice", t0());
        let b = store.issue("bob", t0());
        assert_eq!(store.expire_now(Some("alice"), t0()), 1);
        let gone: Vec<String> = store
            .take_expired(t0())
            .into_iter()
            .map(|t| t.token_id)
            .collect();
        assert_eq!(gone, vec![a.token_id]);
        assert!(store.is_live(&b.token_id, t0()));
    }
}
