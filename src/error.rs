//! The error type of castamere and its `Result` alias.

use crate::codec::DecodeError;

/// Everything that can go wrong in the core. Command errors follow Redis wording (the first
/// word is the code); other messages say what to do next. An error never leaves a change
/// behind.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    /// The command name is not known.
    #[error("ERR unknown command '{0}', with args beginning with: {1}")]
    UnknownCommand(String, String),
    /// No command was given.
    #[error("ERR empty command: pass the command name and its arguments, e.g. [\"GET\", \"key\"]")]
    EmptyCommand,
    /// Wrong number of arguments.
    #[error("ERR wrong number of arguments for '{0}' command")]
    WrongArity(String),
    /// The key holds another type.
    #[error("WRONGTYPE Operation against a key holding the wrong kind of value")]
    WrongType,
    /// The hash field holds a string, not a counter.
    #[error("WRONGTYPE hash field holds a string, not a counter: HDEL it or HSET a number before HINCRBY")]
    FieldNotCounter,
    /// An argument is not an integer.
    #[error("ERR value is not an integer or out of range")]
    NotInteger,
    /// The result of an increment does not fit in an i64.
    #[error("ERR increment or decrement would overflow")]
    Overflow,
    /// A counter's merged value does not fit in an i64.
    #[error("ERR counter value is out of the 64-bit range after concurrent updates; DEL the key to reset it")]
    CounterOutOfRange,
    /// Bad syntax (an unknown option).
    #[error("ERR syntax error")]
    Syntax,
    /// A SCAN cursor that this store did not produce.
    #[error("ERR invalid cursor")]
    InvalidCursor,
    /// A key larger than the limit.
    #[error("ERR key is {len} bytes, larger than the limit of {max} bytes (Limits.maxKeyBytes)")]
    KeyTooLarge {
        /// Its size.
        len: usize,
        /// The limit.
        max: usize,
    },
    /// A value larger than the limit.
    #[error("ERR value is {len} bytes, larger than the limit of {max} bytes (Limits.maxValueBytes)")]
    ValueTooLarge {
        /// Its size.
        len: usize,
        /// The limit.
        max: usize,
    },
    /// A flag created with the other conflict rule.
    #[error("ERR flag '{0}' was created {1}; drop the option or DEL the key first")]
    FlagKind(String, &'static str),
    /// Bytes from the network or a caller that are not valid castamere data.
    #[error("EPROTO {0}")]
    Decode(#[from] DecodeError),
    /// An invalid argument from the embedding program.
    #[error("ERR {0}")]
    Invalid(String),
}

impl Error {
    /// The Redis-style error code: the first word of the message (`ERR`, `WRONGTYPE`, ...).
    pub fn code(&self) -> &'static str {
        match self {
            Error::WrongType | Error::FieldNotCounter => "WRONGTYPE",
            Error::Decode(_) => "EPROTO",
            _ => "ERR",
        }
    }
}

/// `Result` with castamere's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;
