//! castamere: a replicated key-value store of CRDTs that runs inside serverless edge functions.
//!
//! This crate is the pure, deterministic core: no IO, no clock, no randomness. Time and the
//! replica id come in as arguments. The wasm bindings (`src/wasm.rs`, compiled only for
//! `wasm32`) wrap it for JavaScript.
#![deny(missing_docs)]

pub mod codec;
pub mod crdt;
pub mod error;
mod sort;
pub mod store;
pub mod sync;
mod vecmap;

#[cfg(target_arch = "wasm32")]
pub mod wasm;

pub use error::{Error, Result};
pub use store::{Limits, Reply, Store};
