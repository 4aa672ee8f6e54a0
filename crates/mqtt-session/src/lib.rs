//! Sans-IO MQTT 3.1.1/5.0 client session: bytes, commands and time in; bytes, events and the next deadline out.
