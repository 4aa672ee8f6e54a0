//! Session flow tests.
