//! ipvsadm-rs: a compatible, fast replacement for `ipvsadm`, the control
//! tool of the Linux kernel's IP Virtual Server (IPVS, LVS).
//!
//! Data flows one way:
//! command line → [`model`] values → [`netlink`] messages → kernel, and
//! kernel replies → [`netlink`] decoding → [`model`] values → formatters.
//!
//! * [`model`]: the typed tables (services, real servers, daemons, …).
//! * [`netlink`]: attribute codec, messages, the batching transport.
//! * [`client`]: typed operations over one transport.
//! * [`error`]: typed errors.

pub mod apply;
pub mod cli;
pub mod client;
pub mod error;
pub mod format;
pub mod keepalived;
pub mod lang;
pub mod model;
pub mod names;
pub mod netlink;
pub mod serve;

pub use client::Ipvs;
pub use error::{Errno, Error};
pub use model::Op;
