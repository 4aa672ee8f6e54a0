//! Reference token backend, embedded MQTT broker and static server.

fn main() {}
