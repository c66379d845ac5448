//! The integration tests, in one binary (one link instead of one per file).

mod cli;
mod common;
mod determinism;
mod diagnostics;
mod docs;
mod examples;
mod federation;
mod gitops;
mod hostile;
mod kdl_reader;
mod mistakes;
mod models;
mod rollout;
mod rollout_sim;
mod services;
mod yaml_safety;
