//! The error type of castamere and its `Result` alias.

/// Everything that can go wrong in the core. Messages follow Redis wording where a Redis
/// command would fail the same way, and otherwise say what to do next.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    /// The command name is not known.
    #[error("ERR unknown command '{0}'")]
    UnknownCommand(String),
}

impl Error {
    /// The Redis-style error code: the first word of the message (`ERR`, `WRONGTYPE`, ...).
    pub fn code(&self) -> &'static str {
        match self {
            Error::UnknownCommand(_) => "ERR",
        }
    }
}

/// `Result` with castamere's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;
