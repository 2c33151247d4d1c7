//! The wire layer: the IPVS generic-netlink protocol.
//!
//! * [`attr`]: one typed enum per attribute family, with the byte layout
//!   of each value written out.
//! * [`encode`]: the one request encoder, from model values straight into
//!   the send buffer.
//! * [`view`]: zero-copy reading of datagrams, messages and attributes.
//! * [`codec`]: model ⇄ attributes: the attribute arrays requests carry,
//!   and replies decoded from views into model values.
//! * [`transport`]: one socket; moves bytes (batches, acks and dumps
//!   matched by sequence number).
//! * [`message`]: a whole message parsed into typed attributes, for tests,
//!   fuzzing and debugging (the listing path never builds one).

pub mod attr;
pub mod codec;
pub mod encode;
pub mod message;
pub mod transport;
pub mod view;

pub use message::{IpvsCmd, IpvsMessage};
pub use transport::Transport;
