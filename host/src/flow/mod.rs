//! Flows: the format users write ([`model`]), the one expression language
//! ([`expr`]), and validation into a runnable [`Flow`] ([`validate`]).
//!
//! This module never names wasmtime, sled or hyper: it learns about plugins
//! and connections through the [`Catalog`] trait, so it can be tested without wasm.

pub mod engine;
pub mod expr;
pub mod model;
pub mod polling;
pub mod retention;
pub mod run;
pub mod triggers;
pub mod validate;

pub use engine::{ExecError, Executor, ExecutorConfig};
pub use model::FlowDef;
pub use triggers::{TriggerConfig, Triggers};
pub use validate::{Catalog, Flow, InvalidFlow, Problem, Step, StepKind, validate};

#[cfg(test)]
mod engine_tests;
#[cfg(test)]
mod tests;
