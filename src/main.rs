//! The live chat app.

fn main() {}
