//! The parameters that say which address this is and where it goes: `ip`,
//! `nic` (with IPaddr2's deprecated `nic:label` form), `iflabel`,
//! `cidr_netmask` (and its `netmask` alias), `broadcast`, `proto` and
//! `network_namespace`.

use super::clone::CloneMeta;
use super::names;
use super::reader::Reader;
use super::values::{self, BroadcastSpec};
use crate::error::{AgentError, AgentResult};
use crate::ocf::log::printable;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// Which address, on which NIC, with which prefix and attributes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AddressParams {
    pub ip: IpAddr,
    pub nic: Option<String>,
    /// The label suffix, from `iflabel` or the deprecated `nic=eth0:label`.
    pub label_suffix: Option<String>,
    pub prefix: Option<u8>,
    pub broadcast: BroadcastSpec,
    pub proto: Option<u8>,
    pub network_namespace: Option<String>,
}

pub(super) fn parse(r: &mut Reader, clone: &CloneMeta) -> AgentResult<AddressParams> {
    let mut ip = r.identity("ip", |given| {
        given.ok_or_else(|| "IP address (the ip parameter) is mandatory".to_string()).and_then(vip)
    })?;
    if let Some(warning) = r.given("ip").and_then(ip_warning) {
        r.warn(warning);
    }
    if clone.unique_address {
        ip = values::offset_address(ip, clone.id).map_err(AgentError::configured)?;
    }
    refuse_unusable(ip)?;

    let (nic, label_in_nic) = r.identity("nic", |given| match given {
        None => Ok((None, None)),
        Some(text) => {
            let (name, label) = match text.split_once(':') {
                Some((name, label)) => (name, Some(label.to_string())),
                None => (text, None),
            };
            names::interface_name(name)?;
            Ok((Some(name.to_string()), label))
        }
    })?;
    if let Some(label) = &label_in_nic {
        let given = printable(r.given("nic").unwrap_or_default());
        r.warn(match label.is_empty() {
            true => format!("nic=[{given}] ends in ':': no label, as IPaddr2 reads it; set nic without it"),
            false => format!("nic=[{given}] carries a label; the form nic:label is deprecated, use iflabel"),
        });
    }
    let label_suffix = parse_label(r, ip, nic.as_deref(), label_in_nic)?;

    let prefix = parse_prefix(r, ip)?;
    if let IpAddr::V6(v6) = ip {
        if nic.is_none() && v6.is_unicast_link_local() {
            return Err(AgentError::configured(format!(
                "the nic parameter is mandatory for a link-local address [{ip}]"
            )));
        }
    }
    if ip.is_loopback() && nic.as_deref().is_some_and(|n| n != "lo") {
        return Err(AgentError::configured(format!(
            "loopback address {ip} can only live on lo, not on nic {}",
            nic.as_deref().unwrap_or_default()
        )));
    }
    let broadcast = match ip {
        IpAddr::V4(_) => r.optional("broadcast", BroadcastSpec::Inherit, |given| {
            values::broadcast(given.unwrap_or_default())
        })?,
        // IPaddr2 handed it to ip, which ignores it for IPv6.
        IpAddr::V6(_) => {
            if r.given("broadcast").is_some() {
                r.warn("broadcast is ignored for IPv6 addresses: IPv6 has no broadcast addresses".into());
            }
            BroadcastSpec::Inherit
        }
    };
    let proto = r.optional("proto", None, |given| given.map(values::route_protocol).transpose())?;
    let network_namespace = r.identity("network_namespace", |given| {
        given.map(|name| names::namespace_name(name).map(|()| name.to_string())).transpose()
    })?;
    Ok(AddressParams { ip, nic, label_suffix, prefix, broadcast, proto, network_namespace })
}

/// The `ip` parameter as IPaddr2 took it: surrounding white space is
/// ignored (the shell dropped it), and an IPv6 address written with a
/// `/prefix` is the address (IPaddr2's `ip route get` dropped the prefix).
fn vip(text: &str) -> Result<IpAddr, String> {
    let trimmed = text.trim();
    let address = match trimmed.split_once('/') {
        Some((address, len)) if address.contains(':') && len.bytes().all(|b| b.is_ascii_digit()) => address,
        _ => trimmed,
    };
    values::vip(address)
}

/// What to tell an admin about an `ip` that `vip` accepted in a form of
/// IPaddr2's days.
fn ip_warning(text: &str) -> Option<String> {
    let trimmed = text.trim();
    if let Some((_, len)) = trimmed.split_once('/') {
        return Some(format!(
            "ip=[{}]: the /{len} is ignored, as IPaddr2 ignores it; set cidr_netmask={len} instead",
            printable(text)
        ));
    }
    (trimmed != text).then(|| format!("ip=[{}]: surrounding white space is ignored", printable(text)))
}

/// The loopback interface's own addresses belong to the node: a stop
/// would delete them.
fn refuse_unusable(ip: IpAddr) -> AgentResult<()> {
    if ip == IpAddr::V4(Ipv4Addr::LOCALHOST) || ip == IpAddr::V6(Ipv6Addr::LOCALHOST) {
        return Err(AgentError::configured(format!(
            "IP address [{ip}] is the loopback interface's own address, not a virtual IP"
        )));
    }
    Ok(())
}

/// The label suffix from `nic=eth0:label` or `iflabel`; IPv4 only. As in
/// IPaddr2, a label part in `nic` wins over `iflabel`, and an empty one
/// (`nic=eth0:`) means no label.
fn parse_label(
    r: &mut Reader,
    ip: IpAddr,
    nic: Option<&str>,
    label_in_nic: Option<String>,
) -> AgentResult<Option<String>> {
    let suffix = match label_in_nic {
        Some(label) => {
            if r.given("iflabel").is_some() {
                r.warn(format!(
                    "iflabel is ignored: nic=[{}] carries the label, as IPaddr2 reads it",
                    printable(r.given("nic").unwrap_or_default())
                ));
            }
            Some(label).filter(|label| !label.is_empty())
        }
        None => r.optional("iflabel", None, |given| Ok(given.map(str::to_string)))?,
    };
    let Some(suffix) = suffix else { return Ok(None) };
    let checked = r.optional("iflabel", None, |_| {
        names::label_suffix(&suffix)?;
        if let Some(nic) = nic {
            names::full_label(nic, &suffix)?;
        }
        Ok(Some(suffix.clone()))
    })?;
    if checked.is_some() && ip.is_ipv6() {
        r.warn("iflabel is ignored for IPv6 addresses: the kernel keeps labels for IPv4 only".into());
        return Ok(None);
    }
    Ok(checked)
}

/// `cidr_netmask`, or its deprecated alias `netmask` when it is empty.
fn parse_prefix(r: &mut Reader, ip: IpAddr) -> AgentResult<Option<u8>> {
    let name = match (r.given("cidr_netmask"), r.given("netmask")) {
        (None, Some(_)) => {
            r.warn("the netmask parameter is deprecated; use cidr_netmask".into());
            "netmask"
        }
        _ => "cidr_netmask",
    };
    let parsed = r.identity(name, |given| given.map(|text| values::prefix_len(text, ip)).transpose())?;
    Ok(parsed.map(|(len, warning)| {
        if let Some(warning) = warning {
            r.warn(warning);
        }
        len
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ip_takes_ipaddr2s_spellings() {
        assert_eq!(vip(" 192.0.2.5\t"), Ok("192.0.2.5".parse().unwrap()));
        assert_eq!(vip("2001:db8::5/64"), Ok("2001:db8::5".parse().unwrap()));
        assert!(vip("192.0.2.5/24").is_err(), "IPaddr2 refuses an IPv4 prefix in ip");
        assert!(vip("2001:db8::5/x").is_err());
        assert!(ip_warning("2001:db8::5/64").unwrap().contains("cidr_netmask=64"));
        assert!(ip_warning(" 192.0.2.5").is_some());
        assert_eq!(ip_warning("192.0.2.5"), None);
    }

    #[test]
    fn the_loopback_interfaces_own_addresses_are_refused() {
        assert!(refuse_unusable("127.0.0.1".parse().unwrap()).is_err());
        assert!(refuse_unusable("::1".parse().unwrap()).is_err());
        assert!(refuse_unusable("127.0.0.3".parse().unwrap()).is_ok());
    }
}
