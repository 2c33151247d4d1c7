//! Helpers shared by the test crates (host tests and the kernel tests).
#![allow(dead_code)]

pub mod cases;

use std::net::IpAddr;

/// An address from its text (test data only).
#[track_caller]
pub fn ip(s: &str) -> IpAddr {
    s.parse().unwrap_or_else(|e| panic!("{s:?}: {e}"))
}
