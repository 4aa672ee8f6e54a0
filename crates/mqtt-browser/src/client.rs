//! [`Driver`]: the public client, running its own connection or sharing one with other tabs.

use std::rc::Rc;

use mqtt_lifecycle::{subscription, CommandError, Instant, OutgoingPublish, PublishId, QoS};

use crate::driver::{DriverConfig, Engine, Snapshot, Subscriber};
use crate::error::BrowserError;
#[cfg(feature = "tabs")]
use crate::tabs::Tab;

/// Runs one MQTT client in the page. Not `Clone`: it is the single owner of its sockets, timer,
/// listeners and fetches, and dropping it ends the session (DISCONNECT if connected) and
/// releases all of them.
///
/// With [`DriverConfig::share_tabs`] (and a browser with Web Locks and `BroadcastChannel`) the
/// driver is one tab of a group sharing one connection: the same API, the connection held by
/// whichever tab leads (see the crate docs, "Tabs sharing one connection").
pub struct Driver {
    mode: Mode,
}

enum Mode {
    Own(Engine),
    #[cfg(feature = "tabs")]
    Shared(Tab),
}

impl Driver {
    /// Creates the driver and starts connecting at once (the token request and the WebSocket
    /// open together). Every supervisor event goes to `subscriber`, never after the driver is
    /// dropped.
    ///
    /// The first driver of a page takes over what the page's loader already started, if it
    /// left that in [`HANDOVER_GLOBAL`](crate::HANDOVER_GLOBAL): the token request (when it went
    /// to this `token_url`) and the WebSocket (when it goes to this broker URL), each checked
    /// as the `handover` module says, and otherwise makes its own. Later connects, and later
    /// drivers, always make their own.
    ///
    /// With `share_tabs`, the driver joins its tabs' group instead: it connects only if it is
    /// (or becomes) the tab that leads.
    pub fn new(config: DriverConfig, subscriber: Subscriber) -> Result<Self, BrowserError> {
        #[cfg(feature = "tabs")]
        if config.share_tabs && crate::tabs::supported() {
            return Ok(Self {
                mode: Mode::Shared(Tab::new(config, subscriber)?),
            });
        }
        Ok(Self {
            mode: Mode::Own(Engine::new(config, subscriber)?),
        })
    }

    /// Subscribes `filter` at `qos`. Queued until connected and restored after every reconnect
    /// by the session; the result arrives as
    /// [`ClientEvent::Subscription`](crate::ClientEvent::Subscription).
    pub fn subscribe(&self, filter: &str, qos: QoS) -> Result<(), CommandError> {
        match &self.mode {
            Mode::Own(engine) => engine.subscribe(filter, qos),
            #[cfg(feature = "tabs")]
            Mode::Shared(tab) => tab.change_filters(|f| f.subscribe(filter, qos)),
        }
    }

    /// Unsubscribes `filter`; it leaves the snapshot at once.
    pub fn unsubscribe(&self, filter: &str) -> Result<(), CommandError> {
        match &self.mode {
            Mode::Own(engine) => engine.unsubscribe(filter),
            #[cfg(feature = "tabs")]
            Mode::Shared(tab) => tab.change_filters(|f| f.unsubscribe(filter)),
        }
    }

    /// Makes `filters` the whole subscription set, at `qos`: the session subscribes the new
    /// ones and unsubscribes the ones no longer listed (any filter subscribed with
    /// [`Driver::subscribe`] included). Declaring the same set again does nothing. Shared by
    /// tabs, the connection holds every filter some tab declared.
    pub fn declare_subscriptions<S: AsRef<str>>(
        &self,
        filters: &[S],
        qos: QoS,
    ) -> Result<(), CommandError> {
        match &self.mode {
            Mode::Own(engine) => {
                let filters: Vec<_> = filters
                    .iter()
                    .map(|filter| subscription(filter.as_ref(), qos))
                    .collect();
                engine.declare_filters(&filters)
            }
            #[cfg(feature = "tabs")]
            Mode::Shared(tab) => {
                let filters: Vec<String> = filters.iter().map(|f| f.as_ref().to_owned()).collect();
                tab.change_filters(|f| f.declare(&filters, qos))
            }
        }
    }

    /// Publishes `message`. `Ok(id)` means queued; progress arrives as
    /// [`ClientEvent::Delivery`](crate::ClientEvent::Delivery) with that id. Shared by tabs, a
    /// publish is kept by its tab until the leader reports a final status, and sent again (same
    /// id) to a new leader after a handover.
    pub fn publish(&self, message: OutgoingPublish) -> Result<PublishId, CommandError> {
        match &self.mode {
            Mode::Own(engine) => engine.publish(message),
            #[cfg(feature = "tabs")]
            Mode::Shared(tab) => tab.publish(message),
        }
    }

    /// Tries again at once (after signed-out, auth failure, backoff or offline).
    pub fn retry_now(&self) {
        match &self.mode {
            Mode::Own(engine) => engine.retry_now(),
            #[cfg(feature = "tabs")]
            Mode::Shared(tab) => tab.retry_now(),
        }
    }

    /// Ends the session gracefully and stops; [`Driver::start`] begins again. A tab sharing a
    /// connection leaves its group instead (another tab takes the connection over if this one
    /// held it), and joins again on `start`.
    pub fn stop(&self) {
        match &self.mode {
            Mode::Own(engine) => engine.stop(),
            #[cfg(feature = "tabs")]
            Mode::Shared(tab) => tab.stop(),
        }
    }

    /// Starts again after [`Driver::stop`].
    pub fn start(&self) {
        match &self.mode {
            Mode::Own(engine) => engine.start(),
            #[cfg(feature = "tabs")]
            Mode::Shared(tab) => tab.start(),
        }
    }

    /// The state and subscription statuses right now.
    pub fn snapshot(&self) -> Rc<Snapshot> {
        match &self.mode {
            Mode::Own(engine) => engine.snapshot(),
            #[cfg(feature = "tabs")]
            Mode::Shared(tab) => tab.snapshot(),
        }
    }

    /// The driver's clock: the instant every [`Instant`] it reports (such as
    /// `Backoff { retry_at }`) is measured against.
    pub fn now(&self) -> Instant {
        match &self.mode {
            Mode::Own(engine) => engine.now(),
            #[cfg(feature = "tabs")]
            Mode::Shared(tab) => tab.now(),
        }
    }

    /// Links (WebSockets) the driver holds right now (none in a tab that follows).
    pub fn open_links(&self) -> usize {
        match &self.mode {
            Mode::Own(engine) => engine.open_links(),
            #[cfg(feature = "tabs")]
            Mode::Shared(tab) => tab.open_links(),
        }
    }

    /// Whether this driver shares a connection with other tabs (`share_tabs` asked for it and
    /// the browser supports it).
    pub fn shares_tabs(&self) -> bool {
        #[cfg(feature = "tabs")]
        return matches!(self.mode, Mode::Shared(_));
        #[cfg(not(feature = "tabs"))]
        false
    }

    /// Whether this driver holds the connection: always without sharing; in a group of tabs,
    /// only in the tab that leads.
    pub fn is_leader(&self) -> bool {
        match &self.mode {
            Mode::Own(_) => true,
            #[cfg(feature = "tabs")]
            Mode::Shared(tab) => tab.is_leader(),
        }
    }
}
