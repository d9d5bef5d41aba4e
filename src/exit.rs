//! Exit codes (sysexits): 0 ok, 2 usage, 65 bad data, 66 input missing, 70 internal error,
//! 73 cannot create output, 74 I/O error, 75 output locked by another run, 78 refused before start
//! (memory).

use ekg_loaders::Error as LoadError;
use ekg_schema::Error as SchemaError;

pub const USAGE: u8 = 2;
pub const DATA: u8 = 65;
pub const NO_INPUT: u8 = 66;
/// A process of a cluster could not be reached.
pub const UNAVAILABLE: u8 = 69;
pub const INTERNAL: u8 = 70;
pub const CANT_CREATE: u8 = 73;
pub const IO: u8 = 74;
/// Temporary failure: another run holds the output lock.
pub const TEMPFAIL: u8 = 75;
pub const REFUSED: u8 = 78;

/// An error that carries its own exit code (usage mistakes, refusals).
#[derive(Debug, thiserror::Error)]
#[error("{message}")]
pub struct Coded {
    pub code: u8,
    pub message: String,
}

pub fn coded(code: u8, message: impl Into<String>) -> anyhow::Error {
    Coded { code, message: message.into() }.into()
}

pub fn code_for(error: &anyhow::Error) -> u8 {
    for cause in error.chain() {
        if let Some(c) = cause.downcast_ref::<Coded>() {
            return c.code;
        }
        if let Some(e) = cause.downcast_ref::<LoadError>() {
            return match e {
                LoadError::Missing { .. } => NO_INPUT,
                // A table named but not there (a dangling link): the input is missing.
                LoadError::Io { source, .. } if source.kind() == std::io::ErrorKind::NotFound => NO_INPUT,
                LoadError::Io { .. } => IO,
                LoadError::Internal { .. } => INTERNAL,
                LoadError::Graph(_) => INTERNAL,
                _ if e.is_bad_data() => DATA,
                _ => INTERNAL,
            };
        }
        if let Some(e) = cause.downcast_ref::<SchemaError>() {
            return match e {
                SchemaError::Io { source, .. } if source.kind() == std::io::ErrorKind::NotFound => NO_INPUT,
                SchemaError::Io { .. } => IO,
                SchemaError::NotSnapshot { .. } | SchemaError::SnapshotVersion { .. } | SchemaError::CorruptSnapshot { .. } => DATA,
                _ => INTERNAL,
            };
        }
        // Bare io errors come from reading inputs (outputs are coded where they are created).
        if let Some(e) = cause.downcast_ref::<std::io::Error>() {
            return match e.kind() {
                std::io::ErrorKind::NotFound => NO_INPUT,
                _ => IO,
            };
        }
    }
    INTERNAL
}

/// The message with its context chain, most specific last.
pub fn describe(error: &anyhow::Error) -> String {
    let mut text = error.to_string();
    for cause in error.chain().skip(1) {
        let s = cause.to_string();
        if !text.contains(&s) {
            text.push_str(": ");
            text.push_str(&s);
        }
    }
    text
}
