//! The keyspace and its Redis-like commands.

use crate::error::{Error, Result};

/// A command's reply, shaped like a Redis reply.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reply {
    /// A status reply such as `PONG` or `OK`.
    Status(&'static str),
}

/// A replica's keyspace.
#[derive(Debug, Default)]
pub struct Store {}

impl Store {
    /// An empty store.
    pub fn new() -> Self {
        Store {}
    }

    /// Runs one command given as its words.
    pub fn exec(&mut self, args: &[&[u8]]) -> Result<Reply> {
        match args.first() {
            Some(name) if name.eq_ignore_ascii_case(b"PING") => Ok(Reply::Status("PONG")),
            Some(name) => Err(Error::UnknownCommand(
                String::from_utf8_lossy(name).into_owned(),
            )),
            None => Err(Error::UnknownCommand(String::new())),
        }
    }
}
