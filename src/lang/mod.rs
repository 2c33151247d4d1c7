//! The ipvsadm command language: everything that reads or writes ipvsadm
//! command lines and rules, with no kernel and no output formatting.
//!
//! * [`flags`]: the one flag table. Each entry holds every fact of a flag:
//!   its names, value kind, matrix bit, choices, documentation and
//!   completion kind. The man page, the completions and the parser all
//!   read it.
//! * [`popt`]: popt's tokenizer semantics.
//! * [`values`]: C value parsers (`strtol`, `atoi`, `inet_aton`,
//!   ipvsadm's `parse_service`).
//! * [`parse`]: one command line → a typed [`parse::Action`], with ipvsadm
//!   1.31's checks in its order.
//! * [`stream`]: the `-R` input reader (`config_stream_read`).
//! * [`rules`]: rules files (the `-S` format plus `--set` and
//!   `--start-daemon`) read line by line into typed items.
//! * [`render`]: the way back: typed operations and states as rules.
//!
//! It sits right above [`crate::model`] and [`crate::names`]; the wire
//! layer, the formatters, `apply` and the CLI all build on it.

pub mod flags;
pub mod parse;
pub mod popt;
pub mod render;
pub mod rules;
pub mod stream;
pub mod values;

/// Listing options of `-L` (and `-S` with `rule`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ListFlags {
    /// `-n`: no name lookups.
    pub numeric: bool,
    /// `--stats`.
    pub stats: bool,
    /// `--rate`.
    pub rate: bool,
    /// `--thresholds`.
    pub thresholds: bool,
    /// `--persistent-conn`.
    pub persistent_conn: bool,
    /// `--tun-info`.
    pub tun_info: bool,
    /// `--exact`: full numbers in `--stats`/`--rate`.
    pub exact: bool,
    /// `--nosort`: keep the kernel's order.
    pub nosort: bool,
    /// `-S`: print rules instead of a listing.
    pub rule: bool,
    /// `--json` (ours, not ipvsadm's): print a JSON document instead.
    pub json: bool,
}
