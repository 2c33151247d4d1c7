//! Text output of ipvsadm 1.31: `-L` listings in all their formats, `-S`
//! rules, `--timeout`, `--daemon` and `-c` connection listings, byte for
//! byte (with the deliberate fixes listed in [`text`]).
//!
//! Everything is appended to a `String`; nothing here writes to a file.

pub mod conn;
pub mod json;
pub mod names;
pub mod text;

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
