//! Law tables: their file format, loading and validation, phone numbers, and the engine that
//! turns them into a [`onrecord_interface::Decision`]. Pure code apart from reading files in
//! [`load`].

pub mod eval;
pub mod load;
mod metadata;
pub mod model;
pub mod number;
pub mod set;
pub mod view;

pub use eval::{EvalError, UNKNOWN, evaluate, resolve, resolve_recorder};
pub use load::{LoadError, Problem, load};
pub use set::LawSet;
