//! Sans-IO connection supervisor: credentials, backoff, token rotation and links around an MQTT session.
