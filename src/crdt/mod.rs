//! State-based CRDTs with delta mutators over a causal context.
//!
//! Every type is a [`DotStore`]; paired with a [`CausalContext`] it forms a [`Causal`] state.
//! Mutators are pure: they take `&self` and the context and return a delta, which is itself
//! a state. The caller joins the delta into its state and also ships it.

mod any;
mod context;
mod dot;
mod dotset;
mod dotstore;
mod dwflag;
mod ewflag;
mod hlc;
mod lwwreg;
mod mvreg;
mod ormap;
mod orset;
mod pncounter;
#[cfg(all(test, not(target_arch = "wasm32")))]
pub(crate) mod testing;

pub use any::{AnyCrdt, AnyMap, Kind, Slot, SlotType};
pub use context::{CausalContext, Seen};
pub use dot::{Dot, ReplicaId};
pub use dotset::DotSet;
pub use dotstore::{Causal, DotFun, DotMap, DotStore, Lattice};
pub use dwflag::DwFlag;
pub use ewflag::EwFlag;
pub use hlc::Hlc;
pub use lwwreg::{LwwReg, Stamped};
pub use mvreg::MvReg;
pub use ormap::OrMap;
pub use orset::OrSet;
pub use pncounter::{Overflow, PnCounter};

mod key;
pub use key::{Key, KeyStr};
