//! The reachability check (OCF_CHECK_LEVEL 10, and start with
//! `ping_on_start`): `ping_list`, `ping_broadcast`, `ping_timeout`.

use super::reader::Reader;
use crate::error::AgentResult;
use crate::ocf::log::printable;
use std::net::IpAddr;
use std::time::Duration;

/// The most hosts a ping list may name: the check asks them all at once.
const MAX_PING_HOSTS: usize = 64;

/// Who the reachability check asks, and for how long.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PingParams {
    /// Hosts to ping, of the VIP's family.
    pub hosts: Vec<IpAddr>,
    /// Without hosts, ping the subnet's broadcast (IPv6: all-nodes) address.
    pub broadcast: bool,
    pub timeout: Duration,
    pub on_start: bool,
}

impl PingParams {
    /// Whether a reachability check has anyone to ask.
    pub fn is_configured(&self) -> bool {
        !self.hosts.is_empty() || self.broadcast
    }
}

pub(super) fn parse(r: &mut Reader, ip: IpAddr) -> AgentResult<PingParams> {
    let hosts = r.optional("ping_list", Vec::new(), |given| {
        let hosts = given
            .unwrap_or_default()
            .split(|c: char| c == ',' || c.is_whitespace())
            .filter(|item| !item.is_empty())
            .map(|item| ping_host(item, ip))
            .collect::<Result<Vec<_>, _>>()?;
        if hosts.len() > MAX_PING_HOSTS {
            return Err(format!(
                "ping_list names {} hosts; at most {MAX_PING_HOSTS} are allowed",
                hosts.len()
            ));
        }
        Ok(hosts)
    })?;
    let mut ping = PingParams {
        hosts,
        broadcast: r.flag("ping_broadcast")?,
        timeout: Duration::from_millis(r.integer("ping_timeout", 10, 60_000)?),
        on_start: r.flag("ping_on_start")?,
    };
    if ping.on_start && !ping.is_configured() {
        let reason = "ping_on_start needs a ping_list or ping_broadcast=true";
        ping.on_start = r.optional("ping_on_start", false, |_| Err(reason.to_string()))?;
    }
    Ok(ping)
}

/// One ping_list entry: a unicast address of the VIP's family.
fn ping_host(text: &str, vip: IpAddr) -> Result<IpAddr, String> {
    let host: IpAddr = text
        .parse()
        .map_err(|_| format!("invalid ping_list entry [{}]: expected an IP address", printable(text)))?;
    if host.is_ipv4() != vip.is_ipv4() {
        return Err(format!("ping_list entry {host} is not of the VIP's address family"));
    }
    if host.is_unspecified() || host.is_multicast() || host == vip {
        return Err(format!("ping_list entry {host} cannot answer for the network (use ping_broadcast)"));
    }
    Ok(host)
}
