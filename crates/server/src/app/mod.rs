//! The application layer (应用层): the use cases every face offers — create a case, act on it, read
//! it as the caller may see it, list and export within scopes, reveal and erase personal data,
//! KPIs, imports, disputes and petitions, Open311's filings, the jobs — with the permission matrix,
//! the scope rules and the one write path for actions. It knows nothing of HTTP: its error
//! ([`error::AppError`]) says what went wrong, and each face (the API in `http/`, the pages in
//! `web/`, Open311 in `open311/`, the CLI in `main.rs`) maps it to its own answer. Faces import
//! this layer and never each other.

pub mod accounts_io;
pub mod addresses_io;
pub mod audit_archive;
pub mod auth;
pub mod backup;
pub mod campaign_cli;
pub mod campaign_tables;
pub mod campaigns;
pub mod coverage;
pub mod disputes;
pub mod error;
pub mod export;
pub mod import;
pub mod input;
pub mod intake;
pub mod jobs;
pub mod metrics;
pub mod patrols;
pub mod photos;
pub mod pii;
pub mod places;
pub mod places_cli;
pub mod places_io;
pub mod policy;
pub mod privacy;
pub mod scope;
pub mod service;
pub mod staffing;
pub mod state;
pub mod table;
pub mod teams;
pub mod teams_cli;
pub mod time;
pub mod tokens;
pub mod totp;
pub mod view;
pub mod visits;
pub mod visits_cli;
