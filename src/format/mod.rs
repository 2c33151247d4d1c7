//! Text output of ipvsadm 1.31: `-L` listings in all their formats, `-S`
//! rules, `--timeout`, `--daemon` and `-c` connection listings, byte for
//! byte (with the deliberate fixes listed in [`text`]); our JSON
//! ([`json`]), Prometheus text ([`metrics`]) and the status page of
//! `serve --listen` ([`html`]).
//!
//! Everything is appended to a `String`; nothing here writes to a file.

pub mod conn;
pub mod html;
pub mod json;
pub mod metrics;
pub mod text;
