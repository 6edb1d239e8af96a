//! Domain types and rules of safegrid (平安网格). Plain types and functions, no I/O:
//! storage and HTTP translate to and from these.
#![forbid(unsafe_code)]

pub mod calendar;
pub mod campaign;
pub mod catalog;
pub mod codes;
pub mod dispute;
pub mod engine;
pub mod error;
pub mod kpi;
pub mod pii;
pub mod place;
pub mod role;
pub mod scope;
pub mod staffing;
pub mod team;
pub mod totp;
pub mod visit;
pub mod workflow;

pub use error::FieldError;
pub use role::Role;
