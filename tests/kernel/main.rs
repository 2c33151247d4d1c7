//! Tests against a real IPVS kernel. They run inside the qemu VM
//! (`scripts/vm-test`), each in its own network namespace, and check both
//! what the library reads back and what ipvsadm 1.31 (`-S -n`, the oracle)
//! prints for the same kernel state.

#[path = "../common/mod.rs"]
mod common;
mod support;

mod apply;
mod batch;
mod dests;
mod diff;
mod keepalived;
mod lock;
mod metrics;
mod misc;
mod prometheus;
mod restore;
mod serve;
mod services;
