//! Command replies, shaped like Redis replies.

/// A command's reply.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reply {
    /// No value (`nil`).
    Nil,
    /// A status such as `OK`, `PONG`, or a type name.
    Status(&'static str),
    /// An integer.
    Int(i64),
    /// A byte string.
    Bulk(Vec<u8>),
    /// A list of replies.
    Array(Vec<Reply>),
    /// Field/value pairs (`HGETALL`), in field order.
    Map(Vec<(Vec<u8>, Reply)>),
}

impl Reply {
    /// `OK`.
    pub const OK: Reply = Reply::Status("OK");
}
