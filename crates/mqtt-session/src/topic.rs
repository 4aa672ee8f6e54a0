//! Topic name and topic filter validation (MQTT §4.7), done before anything is queued.

use crate::CommandError;

/// Checks a topic name for PUBLISH: non-empty, no wildcards, no NUL, at most 65 535 bytes.
pub fn check_topic(topic: &str) -> Result<(), CommandError> {
    let fail = |reason| {
        Err(CommandError::InvalidTopic {
            topic: topic.to_owned(),
            reason,
        })
    };
    if topic.is_empty() {
        return fail("empty");
    }
    if topic.len() > usize::from(u16::MAX) {
        return fail("longer than 65535 bytes");
    }
    if topic.contains(['+', '#']) {
        return fail("wildcards are not allowed in a topic name");
    }
    if topic.contains('\0') {
        return fail("contains NUL");
    }
    Ok(())
}

/// Checks a topic filter: non-empty, `+` and `#` only as whole levels, `#` only last.
pub fn check_filter(filter: &str) -> Result<(), CommandError> {
    let fail = |reason| {
        Err(CommandError::InvalidFilter {
            filter: filter.to_owned(),
            reason,
        })
    };
    if filter.is_empty() {
        return fail("empty");
    }
    if filter.len() > usize::from(u16::MAX) {
        return fail("longer than 65535 bytes");
    }
    if filter.contains('\0') {
        return fail("contains NUL");
    }
    let levels: Vec<&str> = filter.split('/').collect();
    for (i, level) in levels.iter().enumerate() {
        if level.contains('#') && (*level != "#" || i + 1 != levels.len()) {
            return fail("'#' must be a whole level and the last one");
        }
        if level.contains('+') && *level != "+" {
            return fail("'+' must be a whole level");
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn topic_names_with_wildcards_or_nothing_are_refused() {
        assert!(check_topic("chat/room1").is_ok());
        assert!(check_topic("").is_err());
        assert!(check_topic("chat/+").is_err());
        assert!(check_topic("chat/#").is_err());
        assert!(check_topic("a\0b").is_err());
    }

    #[test]
    fn filters_accept_whole_level_wildcards_only() {
        for ok in ["#", "+", "chat/+/msgs", "chat/#", "+/+", "/"] {
            assert!(check_filter(ok).is_ok(), "{ok}");
        }
        for bad in ["", "chat/#/x", "chat#", "chat/a+", "a\0"] {
            assert!(check_filter(bad).is_err(), "{bad}");
        }
    }
}
