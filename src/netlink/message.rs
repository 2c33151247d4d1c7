//! The IPVS generic-netlink message: a command and its top-level attributes.
//!
//! `IpvsMessage` implements `GenlFamily` so that `netlink-packet-generic`
//! builds the `genlmsghdr` (family "IPVS", version 1) and
//! `netlink-packet-core` the `nlmsghdr` around it.

use super::attr::CmdAttr;
use netlink_packet_core::{
    DecodeError, Emitable, NetlinkHeader, NetlinkMessage, NetlinkPayload, ParseableParametrized,
};
use netlink_packet_generic::{GenlFamily, GenlHeader, GenlMessage};

/// Family name registered by the kernel's ip_vs module.
pub const IPVS_GENL_NAME: &str = "IPVS";
/// `IPVS_GENL_VERSION`.
pub const IPVS_GENL_VERSION: u8 = 1;

/// `IPVS_CMD_*`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum IpvsCmd {
    NewService,
    SetService,
    DelService,
    GetService,
    NewDest,
    SetDest,
    DelDest,
    GetDest,
    NewDaemon,
    DelDaemon,
    GetDaemon,
    /// `IPVS_CMD_SET_CONFIG` (ipvsadm's SET_TIMEOUT).
    SetConfig,
    /// `IPVS_CMD_GET_CONFIG` (ipvsadm's GET_TIMEOUT).
    GetConfig,
    SetInfo,
    GetInfo,
    Zero,
    Flush,
    Other(u8),
}

impl IpvsCmd {
    const TABLE: [IpvsCmd; 17] = [
        IpvsCmd::NewService,
        IpvsCmd::SetService,
        IpvsCmd::DelService,
        IpvsCmd::GetService,
        IpvsCmd::NewDest,
        IpvsCmd::SetDest,
        IpvsCmd::DelDest,
        IpvsCmd::GetDest,
        IpvsCmd::NewDaemon,
        IpvsCmd::DelDaemon,
        IpvsCmd::GetDaemon,
        IpvsCmd::SetConfig,
        IpvsCmd::GetConfig,
        IpvsCmd::SetInfo,
        IpvsCmd::GetInfo,
        IpvsCmd::Zero,
        IpvsCmd::Flush,
    ];

    pub fn to_raw(self) -> u8 {
        match self {
            IpvsCmd::Other(n) => n,
            known => Self::TABLE
                .iter()
                .position(|c| *c == known)
                .map_or(0, |i| i as u8 + 1),
        }
    }

    pub fn from_raw(v: u8) -> IpvsCmd {
        Self::TABLE
            .get(usize::from(v).wrapping_sub(1))
            .copied()
            .unwrap_or(IpvsCmd::Other(v))
    }

    /// Commands the kernel only serves as dumps (`NLM_F_DUMP`).
    pub fn dump_only(self) -> bool {
        matches!(self, IpvsCmd::GetDest | IpvsCmd::GetDaemon)
    }
}

/// One IPVS generic-netlink message (request or reply).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IpvsMessage {
    pub cmd: IpvsCmd,
    pub attrs: Vec<CmdAttr>,
}

impl IpvsMessage {
    pub fn new(cmd: IpvsCmd, attrs: Vec<CmdAttr>) -> Self {
        IpvsMessage { cmd, attrs }
    }
}

impl GenlFamily for IpvsMessage {
    fn family_name() -> &'static str {
        IPVS_GENL_NAME
    }
    fn command(&self) -> u8 {
        self.cmd.to_raw()
    }
    fn version(&self) -> u8 {
        IPVS_GENL_VERSION
    }
}

impl Emitable for IpvsMessage {
    fn buffer_len(&self) -> usize {
        self.attrs.as_slice().buffer_len()
    }
    fn emit(&self, buffer: &mut [u8]) {
        self.attrs.as_slice().emit(buffer)
    }
}

impl ParseableParametrized<[u8], GenlHeader> for IpvsMessage {
    fn parse_with_param(buf: &[u8], header: GenlHeader) -> Result<Self, DecodeError> {
        let cmd = IpvsCmd::from_raw(header.cmd);
        let info = cmd == IpvsCmd::SetInfo;
        Ok(IpvsMessage {
            cmd,
            attrs: CmdAttr::parse_all(buf, info)?,
        })
    }
}

impl IpvsMessage {
    /// Parse one whole netlink message (header included) into typed
    /// attributes, with its netlink header (tests, fuzzing, debugging).
    pub fn parse_bytes(bytes: &[u8]) -> Result<(NetlinkHeader, IpvsMessage), DecodeError> {
        let m = NetlinkMessage::<GenlMessage<IpvsMessage>>::deserialize(bytes)?;
        match m.payload {
            NetlinkPayload::InnerMessage(g) => Ok((m.header, g.payload)),
            _ => Err(DecodeError::from("not an IPVS message")),
        }
    }
}
