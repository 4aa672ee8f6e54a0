//! The subscription commands. The desired set and each filter's status are
//! `crate::subscriptions`; this writes nothing itself: `pump` does.

use mqtt_codec::packet::SubscribeFilter;

use crate::event::CommandError;
use crate::topic::check_filter;

use super::Session;

impl Session {
    /// Adds `filter` to the desired subscription set. It is sent now if a link is connected
    /// (after a takeover under way), otherwise on the next connection; re-sent after reconnects
    /// only when the server lost the session. Subscribing again with the same options while granted or in flight is a
    /// no-op; new options (or a refused filter) subscribe again. The result comes as
    /// [`Event::Subscription`](crate::Event::Subscription).
    ///
    /// # Errors
    /// [`CommandError::InvalidFilter`], or [`CommandError::QueueFull`] when the change would
    /// have to wait and the queue is full.
    pub fn subscribe(&mut self, filter: SubscribeFilter) -> Result<(), CommandError> {
        check_filter(&filter.filter)?;
        if self.subs.subscribe_adds_op(&filter) {
            self.check_queue_room()?;
        }
        if self.subs.subscribe(filter) {
            self.pump();
        }
        Ok(())
    }

    /// Makes `filters` the whole desired subscription set: subscribes the filters not desired
    /// yet (or desired with other options) and unsubscribes the desired filters not listed. A
    /// filter already desired with the same options is left as it is, whatever its status (a
    /// refused one is not asked for again). Declaring the same set twice does nothing.
    ///
    /// # Errors
    /// [`CommandError::InvalidFilter`] before anything changes, or
    /// [`CommandError::QueueFull`] at the first change that finds the queue full.
    pub fn declare_subscriptions(
        &mut self,
        filters: &[SubscribeFilter],
    ) -> Result<(), CommandError> {
        for filter in filters {
            check_filter(&filter.filter)?;
        }
        let unlisted: Vec<String> = self
            .subs
            .filters()
            .filter(|desired| filters.iter().all(|f| f.filter != *desired))
            .map(str::to_owned)
            .collect();
        // Recorded first and written by one pump, so a connected session sends the changes as
        // one UNSUBSCRIBE and one SUBSCRIBE.
        let result = self.record_declared(&unlisted, filters);
        self.pump();
        result
    }

    fn record_declared(
        &mut self,
        unlisted: &[String],
        filters: &[SubscribeFilter],
    ) -> Result<(), CommandError> {
        for filter in unlisted {
            if self.subs.unsubscribe_adds_op(filter) {
                self.check_queue_room()?;
            }
            self.subs.unsubscribe(filter);
        }
        for filter in filters {
            if !self.subs.is_desired_as(filter) {
                if self.subs.subscribe_adds_op(filter) {
                    self.check_queue_room()?;
                }
                self.subs.subscribe(filter.clone());
            }
        }
        Ok(())
    }

    /// Removes `filter` from the desired set and unsubscribes it (now or once connected). The
    /// result comes as [`Event::Unsubscribed`](crate::Event::Unsubscribed).
    ///
    /// # Errors
    /// [`CommandError::InvalidFilter`], or [`CommandError::QueueFull`].
    pub fn unsubscribe(&mut self, filter: &str) -> Result<(), CommandError> {
        check_filter(filter)?;
        if self.subs.unsubscribe_adds_op(filter) {
            self.check_queue_room()?;
        }
        self.subs.unsubscribe(filter);
        self.pump();
        Ok(())
    }

    pub(super) fn release_sub_requests(&mut self) {
        for packet_id in self.subs.link_lost() {
            self.ids.release(packet_id);
        }
    }
}
