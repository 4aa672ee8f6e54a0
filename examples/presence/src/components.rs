//! The page's components, one per file; each is markup over a [`PresenceHandle`](crate::PresenceHandle).

mod app;
mod connection_line;
mod member_list;
mod status_picker;

pub use app::App;
pub use connection_line::ConnectionLine;
pub use member_list::MemberList;
pub use status_picker::StatusPicker;
