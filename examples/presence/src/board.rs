//! The board: who was heard from lately and their status. A reducer; the hook feeds it what
//! arrives and the ticks of its heartbeat clock.

use std::collections::BTreeMap;
use std::rc::Rc;

use serde::{Deserialize, Serialize};
use yew::Reducible;

/// How often a member publishes a heartbeat, in milliseconds.
pub const HEARTBEAT_MS: u32 = 5_000;

/// A member not heard from for this long (three missed heartbeats) leaves the board.
pub const EXPIRY_MS: f64 = 16_000.0;

/// What a member says about themselves.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Availability {
    /// Happy to be interrupted.
    #[default]
    Available,
    /// Here, but do not disturb.
    Busy,
    /// Away from the keyboard.
    Away,
}

impl Availability {
    /// Every status, in the order the picker shows them.
    pub const ALL: [Availability; 3] = [Self::Available, Self::Busy, Self::Away];

    /// The status's name, also its CSS class.
    pub fn name(self) -> &'static str {
        match self {
            Self::Available => "available",
            Self::Busy => "busy",
            Self::Away => "away",
        }
    }
}

/// The heartbeat payload, as JSON: `{"status":"busy","hello":false}`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Beat {
    /// The member's status.
    pub status: Availability,
    /// Set on the first beat after (re)connecting: everyone answers with a beat at once.
    #[serde(default)]
    pub hello: bool,
}

/// One member on the board.
#[derive(Debug, Clone, PartialEq)]
pub struct Member {
    /// The user id, as the broker vouches for it (the topic's last level).
    pub name: String,
    /// Their last status.
    pub status: Availability,
    /// When their last beat arrived (epoch milliseconds, the page's clock).
    pub last_seen_ms: f64,
}

/// Who is here. Cheap to compare; changed only by [`BoardAction`]s.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Board {
    members: BTreeMap<String, Member>,
    now_ms: f64,
    beats_due: u64,
}

/// What changes the board.
#[derive(Debug, Clone, PartialEq)]
pub enum BoardAction {
    /// A beat arrived on `author`'s topic; `me` is who we are signed in as.
    Heard {
        /// Whose topic it came on.
        author: String,
        /// What it said.
        beat: Beat,
        /// The signed-in user, if known.
        me: Option<String>,
        /// When it arrived (epoch milliseconds).
        at_ms: f64,
    },
    /// The heartbeat clock ticked: forget the silent, owe the room a beat.
    Tick {
        /// The time (epoch milliseconds).
        now_ms: f64,
    },
}

impl Reducible for Board {
    type Action = BoardAction;

    fn reduce(self: Rc<Self>, action: BoardAction) -> Rc<Self> {
        let mut board = (*self).clone();
        match action {
            BoardAction::Heard {
                author,
                beat,
                me,
                at_ms,
            } => {
                // A newcomer's hello is answered at once, so it need not wait for our next beat.
                if beat.hello && me.as_deref() != Some(author.as_str()) {
                    board.beats_due += 1;
                }
                board.now_ms = board.now_ms.max(at_ms);
                board.members.insert(
                    author.clone(),
                    Member {
                        name: author,
                        status: beat.status,
                        last_seen_ms: at_ms,
                    },
                );
            }
            BoardAction::Tick { now_ms } => {
                board.now_ms = now_ms;
                board
                    .members
                    .retain(|_, m| now_ms - m.last_seen_ms < EXPIRY_MS);
                board.beats_due += 1;
            }
        }
        Rc::new(board)
    }
}

impl Board {
    /// The members, by name.
    pub fn members(&self) -> impl Iterator<Item = &Member> {
        self.members.values()
    }

    /// Whether nobody (not even we) has been heard from.
    pub fn is_empty(&self) -> bool {
        self.members.is_empty()
    }

    /// Whole seconds since `member` was last heard from, at the board's latest time.
    pub fn seen_secs_ago(&self, member: &Member) -> u64 {
        // Saturating float-to-int cast: a beat stamped after the last tick reads as 0 s.
        ((self.now_ms - member.last_seen_ms) / 1000.0) as u64
    }

    /// A counter bumped whenever a beat is owed (every tick, every newcomer's hello): the hook
    /// publishes when it changes.
    pub fn beats_due(&self) -> u64 {
        self.beats_due
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn heard(
        board: Rc<Board>,
        author: &str,
        status: Availability,
        hello: bool,
        at_ms: f64,
    ) -> Rc<Board> {
        board.reduce(BoardAction::Heard {
            author: author.into(),
            beat: Beat { status, hello },
            me: Some("me".into()),
            at_ms,
        })
    }

    #[test]
    fn the_latest_beat_of_each_member_is_shown_in_name_order() {
        let board = Rc::new(Board::default());
        let board = heard(board, "zoe", Availability::Available, false, 1_000.0);
        let board = heard(board, "ann", Availability::Busy, false, 2_000.0);
        let board = heard(board, "zoe", Availability::Away, false, 3_000.0);
        let members: Vec<_> = board
            .members()
            .map(|m| (m.name.as_str(), m.status))
            .collect();
        assert_eq!(
            members,
            [("ann", Availability::Busy), ("zoe", Availability::Away)]
        );
        let ann = board.members().next().unwrap();
        assert_eq!(board.seen_secs_ago(ann), 1);
    }

    #[test]
    fn members_silent_for_the_expiry_leave_the_board_at_the_next_tick() {
        let board = Rc::new(Board::default());
        let board = heard(board, "ann", Availability::Available, false, 0.0);
        let board = heard(board, "bob", Availability::Available, false, 10_000.0);
        let board = board.reduce(BoardAction::Tick { now_ms: EXPIRY_MS });
        let names: Vec<_> = board.members().map(|m| m.name.as_str()).collect();
        assert_eq!(names, ["bob"]);
        let board = board.reduce(BoardAction::Tick { now_ms: 60_000.0 });
        assert!(board.is_empty());
    }

    #[test]
    fn every_tick_and_every_newcomers_hello_owe_a_beat_but_our_own_hello_does_not() {
        let board = Rc::new(Board::default());
        assert_eq!(board.beats_due(), 0);
        let board = board.reduce(BoardAction::Tick { now_ms: 5_000.0 });
        assert_eq!(board.beats_due(), 1);
        let board = heard(board, "ann", Availability::Available, true, 5_100.0);
        assert_eq!(board.beats_due(), 2);
        let board = heard(board, "ann", Availability::Busy, false, 5_200.0);
        let board = heard(board, "me", Availability::Available, true, 5_300.0);
        assert_eq!(board.beats_due(), 2);
    }

    #[test]
    fn the_heartbeat_payload_is_small_json_and_hello_is_optional() {
        let beat = Beat {
            status: Availability::Busy,
            hello: true,
        };
        assert_eq!(
            serde_json::to_string(&beat).unwrap(),
            r#"{"status":"busy","hello":true}"#
        );
        let beat: Beat = serde_json::from_str(r#"{"status":"away"}"#).unwrap();
        assert_eq!(beat.status, Availability::Away);
        assert!(!beat.hello);
        // A chat message on the same topics is not a beat.
        assert!(serde_json::from_str::<Beat>(r#"{"id":"1","text":"hi"}"#).is_err());
    }
}
