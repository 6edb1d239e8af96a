//! Black-box API tests: a real server on port 0, driven over HTTP. Every story is a test of its
//! own on SQLite and on PostgreSQL (`story!` in helpers.rs), each on a copy of a seeded database.

#[macro_use]
mod helpers;
mod actions;
mod campaigns;
mod disputes;
mod inputs;
mod offline;
mod open311;
mod open311_georeport;
mod openapi;
mod operations;
mod pii;
mod places;
mod probes;
mod python;
mod scenarios;
mod security;
mod staffing;
mod teams;
mod totp;
mod tracing;
mod visits;
mod web;
