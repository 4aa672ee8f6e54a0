//! Token requests: at most one in flight ("single flight": every need shares it), answered
//! through [`Supervisor::handle_token`] or failed by its deadline, and what a token outcome
//! leads to.

use std::time::Duration;

use super::phase::Phase;
use super::{Action, Supervisor};
use crate::state::Reason;
use crate::token::{Credentials, TokenError, TokenOutcome, TokenResult};
use crate::Instant;

/// Names one token request, from [`Action::FetchToken`]/[`Action::RefreshToken`] to
/// [`Supervisor::handle_token`]. Never reused; answers to a request that is no longer awaited
/// (timed out, superseded by `stop` or `retry_now`) are ignored.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct RequestId(pub u64);

/// Which endpoint a request went to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum TokenKind {
    /// A fresh token ([`Action::FetchToken`]).
    Fetch,
    /// A renewal of the current one ([`Action::RefreshToken`]).
    Refresh,
}

#[derive(Debug, Clone, Copy)]
struct InFlight {
    id: RequestId,
    kind: TokenKind,
    deadline: Instant,
}

/// The one token request in flight, if any, and the numbering of requests.
#[derive(Debug)]
pub(super) struct TokenFlight {
    in_flight: Option<InFlight>,
    next_id: u64,
    /// A request not answered within this is treated as failed.
    timeout: Duration,
}

impl TokenFlight {
    pub(super) fn new(timeout: Duration) -> Self {
        TokenFlight {
            in_flight: None,
            next_id: 1,
            timeout,
        }
    }

    pub(super) fn is_in_flight(&self) -> bool {
        self.in_flight.is_some()
    }

    pub(super) fn awaits(&self, request: RequestId) -> bool {
        self.in_flight.is_some_and(|f| f.id == request)
    }

    /// When the request in flight times out.
    pub(super) fn deadline(&self) -> Option<Instant> {
        self.in_flight.map(|f| f.deadline)
    }

    /// Numbers a new request of `kind` and awaits its answer until `now` + the timeout.
    fn send(&mut self, now: Instant, kind: TokenKind) -> RequestId {
        let id = RequestId(self.next_id);
        self.next_id += 1;
        self.in_flight = Some(InFlight {
            id,
            kind,
            deadline: now + self.timeout,
        });
        id
    }

    /// Stops awaiting `request` if it is the one in flight, and says what kind it was.
    fn answer(&mut self, request: RequestId) -> Option<TokenKind> {
        let flight = self.in_flight.filter(|f| f.id == request)?;
        self.in_flight = None;
        Some(flight.kind)
    }

    /// Stops awaiting the request in flight if its deadline has passed, and says what kind it
    /// was.
    fn expire(&mut self, now: Instant) -> Option<TokenKind> {
        let flight = self.in_flight.filter(|f| f.deadline <= now)?;
        self.in_flight = None;
        Some(flight.kind)
    }

    /// Ignores the answer to the request in flight, whenever it comes.
    pub(super) fn abandon(&mut self) {
        self.in_flight = None;
    }
}

impl Supervisor {
    /// The answer to [`Action::FetchToken`] or [`Action::RefreshToken`] number `request`.
    pub fn handle_token(&mut self, now: Instant, request: RequestId, result: TokenResult) {
        self.last_now = now;
        // Any other answer is stale: timed out, or superseded by stop/retry_now.
        if let Some(kind) = self.tokens.answer(request) {
            self.on_token(now, kind, result.parse(now));
        }
        self.pump(now);
    }

    /// Whether the answer to token request `request` is still awaited (answers to any other
    /// request are ignored, so the driver may abort those fetches).
    #[must_use]
    pub fn awaits_token(&self, request: RequestId) -> bool {
        self.tokens.awaits(request)
    }

    /// Fails the request in flight if its deadline has passed.
    pub(super) fn check_token_deadline(&mut self, now: Instant) {
        if let Some(kind) = self.tokens.expire(now) {
            let outcome = TokenOutcome::Failed(TokenError::Timeout(self.tokens.timeout));
            self.on_token(now, kind, outcome);
        }
    }

    /// Single flight: if a request is already out, its answer will serve this need too.
    /// A refresh needs a current token with an id; without one it is a fetch.
    pub(super) fn request_token(&mut self, now: Instant, kind: TokenKind) {
        if self.tokens.is_in_flight() {
            return;
        }
        let refresh = match (&self.credentials, kind) {
            (
                Some(Credentials {
                    token_id: Some(token_id),
                    password,
                    ..
                }),
                TokenKind::Refresh,
            ) => Some((token_id.clone(), password.clone())),
            _ => None,
        };
        let action = match refresh {
            Some((token_id, password)) => Action::RefreshToken {
                request: self.tokens.send(now, TokenKind::Refresh),
                token_id,
                password,
            },
            None => Action::FetchToken {
                request: self.tokens.send(now, TokenKind::Fetch),
            },
        };
        self.actions.push_back(action);
    }

    pub(super) fn on_token(&mut self, now: Instant, kind: TokenKind, outcome: TokenOutcome) {
        let rotating = match self.phase {
            Phase::Fetching { .. } => false,
            Phase::Rotating {
                next: None,
                active: Some(_),
                ..
            } => true,
            // Nobody is waiting for a token any more.
            _ => return,
        };
        match outcome {
            TokenOutcome::Token(credentials) => {
                if let Some(id) = credentials.identity() {
                    self.user_id = Some(id.to_owned());
                }
                self.credentials = Some(credentials);
                self.open_link(now);
            }
            // A refresh that fails for any reason but rate limiting falls back to a fresh token.
            TokenOutcome::SignedOut { .. } | TokenOutcome::Failed(_)
                if kind == TokenKind::Refresh =>
            {
                self.request_token(now, TokenKind::Fetch);
            }
            TokenOutcome::SignedOut { status } => {
                self.user_id = None;
                self.give_up(Phase::SignedOut, Reason::SignedOut { status });
            }
            TokenOutcome::RateLimited { retry_after } => {
                let why = Reason::RateLimited { retry_after };
                if rotating {
                    self.rotation_failed(now, why, retry_after, true);
                } else {
                    self.schedule_retry(now, why, retry_after);
                }
            }
            TokenOutcome::Failed(error) => {
                let why = Reason::Token(error);
                if rotating {
                    self.rotation_failed(now, why, None, true);
                } else {
                    self.schedule_retry(now, why, None);
                }
            }
        }
    }
}
