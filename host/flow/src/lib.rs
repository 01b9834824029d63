//! # weft-flow
//!
//! The flow engine: the one expression language ([`expr`]), validation of
//! the flow format into a runnable [`Flow`] ([`mod@validate`]), the [`Executor`]
//! that runs flows durably ([`engine`]), the [`Triggers`] that turn webhooks,
//! polls and schedule fires into runs ([`triggers`], [`polling`]), and
//! retention ([`retention`]).
//!
//! **Architecture invariant:** this crate depends on `weft-core` and no other
//! weft crate, and names no wasmtime, sled, hyper or axum type. It reaches
//! plugins through [`Plugins`](weft_core::run::Plugins),
//! [`TriggerPlugins`](weft_core::trigger::TriggerPlugins) and
//! [`Catalog`](weft_core::catalog::Catalog), and storage through
//! [`RunStore`](weft_core::run::RunStore) and
//! [`TriggerStore`](weft_core::trigger::TriggerStore), so it is tested with
//! in-memory fakes and a test clock, and builds without the sandbox or a
//! store backend (`cargo xtask edges` enforces it).

pub mod engine;
pub mod expr;
pub mod polling;
pub mod rate;
pub mod retention;
pub mod triggers;
pub mod validate;

pub use engine::{Change, Changes, ExecError, Executor, ExecutorConfig, RECORD_IO_CAP, SystemClock};
pub use triggers::{TriggerConfig, Triggers};
pub use validate::{Flow, InvalidFlow, Problem, Step, StepKind, validate};

#[cfg(test)]
mod memory;

#[cfg(test)]
mod engine_tests;
#[cfg(test)]
mod tests;
