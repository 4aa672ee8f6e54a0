//! A live presence board for one room, on [`yew_mqtt::use_mqtt`]: who is here, and whether they
//! are available, busy or away. An example of the hook in an app that is not the chat.
//!
//! Every member publishes a small JSON heartbeat ([`Beat`]) on their own topic,
//! `chat/{room}/messages/{user}`, every few seconds and whenever their status changes, and
//! subscribes to `chat/{room}/messages/+`. The broker only lets a user publish on the topic
//! ending in their own name (the dev stack's default ACL), so the last topic level is an author
//! the broker vouches for. Retained messages are refused by that ACL, so a newcomer announces
//! itself with `hello` and everyone answers with a heartbeat at once instead of making it wait
//! for the next one. Members not heard from for a while drop off the board.
//!
//! Layout, as in the chat app: the board is a reducer ([`Board`], tested natively), the wiring a
//! hook ([`use_presence`]), and each component is markup over the hook's handle.

mod board;
mod components;
mod hook;
mod page;
mod room;

pub use board::{Availability, Beat, Board, BoardAction, Member, EXPIRY_MS, HEARTBEAT_MS};
pub use components::App;
pub use hook::{use_presence, PresenceHandle};
pub use room::Room;
