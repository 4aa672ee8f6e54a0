//! MQTT packet model, codec adapter and streaming framer.

pub mod packet;
