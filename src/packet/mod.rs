//! Pure building and parsing of the Ethernet frames the agent sends and
//! listens for: ARP (RFC 826, RFC 5227 probes and announcements) and the
//! IPv6 neighbor discovery messages (RFC 4861) used for probing and
//! unsolicited advertisements. No sockets here.

pub mod arp;
pub mod ndp;

/// An Ethernet MAC address.
pub type Mac = [u8; 6];

pub const BROADCAST_MAC: Mac = [0xff; 6];
pub const ZERO_MAC: Mac = [0; 6];
pub const ETHERTYPE_ARP: u16 = 0x0806;
pub const ETHERTYPE_IPV6: u16 = 0x86dd;

/// Formats a MAC the way `ip link` does.
pub fn mac_string(mac: &Mac) -> String {
    mac.iter().map(|b| format!("{b:02x}")).collect::<Vec<_>>().join(":")
}

#[cfg(test)]
mod tests {
    #[test]
    fn macs_print_like_iproute2() {
        assert_eq!(super::mac_string(&[0x02, 0, 0xab, 0x10, 0xff, 1]), "02:00:ab:10:ff:01");
    }
}
