//! Which topics the room runs on right now, and who the user is called: pure decisions the
//! [`use_chat_room`](super::use_chat_room) hook takes from configuration and the client's state.

use std::rc::Rc;

use crate::chat::{RoomTopics, TopicMode};

/// Where the room reads and writes at the moment.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Route<'a> {
    /// Per-author unless the site said shared, the broker refused the author topics, or the
    /// token's identity cannot be a topic level.
    pub mode: TopicMode,
    /// Why the room runs on the shared topic, in words; `None` in per-author mode.
    pub notice: Option<&'static str>,
    /// The topic own messages are published on; `None` before the first token names the user.
    pub topic: Option<String>,
    /// The verified author own messages will have (`None` on the shared topic).
    pub author: Option<Rc<str>>,
    /// The subscription whose status says whether the user is in the room.
    pub room_filter: &'a str,
}

impl<'a> Route<'a> {
    /// The route for `topics` given the configured mode, the token's user id (`me`), whether the
    /// link is up, and whether the broker refused the author topics' subscription.
    pub fn new(
        topics: &'a RoomTopics,
        configured: TopicMode,
        me: Option<&str>,
        connected: bool,
        authors_refused: bool,
    ) -> Self {
        let own_topic = me.and_then(|me| topics.author_topic(me));
        let configured_shared = configured == TopicMode::Shared;
        let unidentified = connected && own_topic.is_none();
        if configured_shared || authors_refused || unidentified {
            Route {
                mode: TopicMode::Shared,
                notice: Some(shared_reason(configured_shared, authors_refused)),
                topic: Some(topics.shared().to_owned()),
                author: None,
                room_filter: topics.shared(),
            }
        } else {
            Route {
                mode: TopicMode::PerAuthor,
                notice: None,
                topic: own_topic,
                author: me.map(Rc::from),
                room_filter: topics.authors_filter(),
            }
        }
    }
}

/// Why the room runs on the shared topic, in words for the notice.
fn shared_reason(configured: bool, refused: bool) -> &'static str {
    if configured {
        "This room uses the shared topic: authors are not verified by the broker."
    } else if refused {
        "The broker does not offer per-author topics in this room, so authors are not verified."
    } else {
        "Your sign-in gives no user id the broker can check, so authors are not verified."
    }
}

/// The name the user goes by when the site configured none: the token's user id, else (a token
/// without identity) a guest name once connected; `None` while nothing is known yet.
pub fn display_name(me: Option<&str>, connected: bool, guest_tag: &str) -> Option<String> {
    me.map(str::to_owned)
        .or_else(|| connected.then(|| format!("Guest {guest_tag}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn topics() -> RoomTopics {
        RoomTopics::new("r")
    }

    #[test]
    fn a_signed_in_user_publishes_on_their_own_author_topic() {
        let t = topics();
        let route = Route::new(&t, TopicMode::PerAuthor, Some("alice"), true, false);
        assert_eq!(route.mode, TopicMode::PerAuthor);
        assert_eq!(route.topic.as_deref(), Some("chat/r/messages/alice"));
        assert_eq!(route.author.as_deref(), Some("alice"));
        assert_eq!(
            (route.room_filter, route.notice),
            ("chat/r/messages/+", None)
        );
    }

    #[test]
    fn before_the_first_token_there_is_no_topic_to_publish_on() {
        let t = topics();
        let route = Route::new(&t, TopicMode::PerAuthor, None, false, false);
        assert_eq!((route.mode, route.topic), (TopicMode::PerAuthor, None));
    }

    #[test]
    fn the_site_can_choose_the_shared_topic() {
        let t = topics();
        let route = Route::new(&t, TopicMode::Shared, Some("alice"), true, false);
        assert_eq!(route.mode, TopicMode::Shared);
        assert_eq!(route.topic.as_deref(), Some("chat/r/messages"));
        assert_eq!((route.author, route.room_filter), (None, "chat/r/messages"));
        assert!(route
            .notice
            .is_some_and(|n| n.contains("uses the shared topic")));
    }

    #[test]
    fn a_refused_author_subscription_falls_back_to_the_shared_topic() {
        let t = topics();
        let route = Route::new(&t, TopicMode::PerAuthor, Some("alice"), true, true);
        assert_eq!((route.mode, route.author), (TopicMode::Shared, None));
        assert!(route
            .notice
            .is_some_and(|n| n.contains("does not offer per-author")));
    }

    #[test]
    fn an_identity_that_cannot_be_a_topic_level_falls_back_once_connected() {
        let t = topics();
        for me in [None, Some("a/b"), Some("#")] {
            let route = Route::new(&t, TopicMode::PerAuthor, me, true, false);
            assert_eq!(route.mode, TopicMode::Shared, "{me:?}");
            assert!(route.notice.is_some_and(|n| n.contains("no user id")));
        }
    }

    #[test]
    fn the_user_is_named_by_the_token_else_as_a_guest_once_connected() {
        assert_eq!(
            display_name(Some("alice"), false, "1a2b"),
            Some("alice".into())
        );
        assert_eq!(display_name(None, false, "1a2b"), None);
        assert_eq!(display_name(None, true, "1a2b"), Some("Guest 1a2b".into()));
    }
}
