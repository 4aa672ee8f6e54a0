//! Browser driver: owns the WebSockets, one timer and the token fetches, and feeds the sans-IO core.
