//! The IPVS generic-netlink protocol: attributes (`attr`), the message and
//! its commands (`message`), model ⇄ message conversion (`codec`) and the
//! batching socket transport (`transport`).

pub mod attr;
pub mod codec;
pub mod message;
pub mod transport;

pub use message::{IpvsCmd, IpvsMessage};
pub use transport::Transport;
