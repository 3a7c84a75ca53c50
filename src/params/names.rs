//! Names the agent hands to the kernel or to a packet filter: interface
//! names, address labels, namespace names, iptables tables and chains.
//! Each check returns a reason that names the parameter and the value.

use crate::ocf::log::printable;

/// The longest interface name Linux accepts (IFNAMSIZ - 1); labels share it.
pub const IFNAME_MAX: usize = 15;

/// A network interface name as the kernel accepts it.
pub fn interface_name(value: &str) -> Result<(), String> {
    let bad = value.is_empty()
        || value.len() > IFNAME_MAX
        || value == "."
        || value == ".."
        || !value.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-' | '+' | '@'));
    if bad {
        Err(format!(
            "invalid nic [{}]: an interface name has 1 to {IFNAME_MAX} letters, digits or '_.-+@'",
            printable(value)
        ))
    } else {
        Ok(())
    }
}

/// The label suffix (after `nic:`): letters, digits and `_ . - :` only.
/// The kernel takes `eth0:a:b`, and IPaddr2 passes such a label on; spaces
/// and shell metacharacters end up in what ifconfig shows and scripts parse.
pub fn label_suffix(value: &str) -> Result<(), String> {
    let ok = !value.is_empty()
        && value.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-' | ':'));
    if ok {
        Ok(())
    } else {
        Err(format!(
            "invalid iflabel [{}]: use letters, digits, '_', '.', '-' and ':' only (no spaces)",
            printable(value)
        ))
    }
}

/// The full kernel label `nic:label`, which must fit in 15 bytes.
pub fn full_label(nic: &str, suffix: &str) -> Result<String, String> {
    let label = format!("{nic}:{suffix}");
    if label.len() > IFNAME_MAX {
        Err(format!(
            "interface label [{}] is {} characters long; the kernel allows at most {IFNAME_MAX}",
            printable(&label),
            label.len()
        ))
    } else {
        Ok(label)
    }
}

/// A named network namespace as `ip netns` creates it under /run/netns.
pub fn namespace_name(value: &str) -> Result<(), String> {
    let bad = value.len() > 255
        || value == "."
        || value == ".."
        || value.chars().any(|c| c == '/' || c.is_whitespace() || c.is_control());
    if bad { Err(format!("invalid network_namespace [{}]", printable(value))) } else { Ok(()) }
}

/// An iptables table or chain name: letters, digits, `_` and `-`, at most
/// 28 characters (the kernel's limit for chain names).
pub fn firewall_name(param: &str, value: &str) -> Result<(), String> {
    let ok = !value.is_empty()
        && value.len() <= 28
        && value.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
    if ok {
        Ok(())
    } else {
        Err(format!("invalid {param} [{}]: expected letters, digits, _ or -, at most 28", printable(value)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn interface_names_and_labels_are_checked() {
        assert!(interface_name("eth0").is_ok());
        assert!(interface_name("veth-abcdefghij").is_ok());
        for bad in ["", "eth0:1", "a/b", "eth 0", "abcdefghijklmnop", "..", "e\n", "e;x", "$(x)", "e`x`"] {
            assert!(interface_name(bad).is_err(), "{bad:?} accepted");
        }
        assert!(label_suffix("vip1").is_ok());
        assert!(label_suffix("a:b").is_ok(), "the kernel and IPaddr2 take eth0:a:b");
        for bad in ["", "a b", "x;reboot", "é", "a\nb"] {
            assert!(label_suffix(bad).is_err(), "{bad:?} accepted");
        }
        assert_eq!(full_label("eth0", "web").unwrap(), "eth0:web");
        assert!(full_label("eth0", "abcdefghijk").is_err());
        assert!(full_label("eth0", "abcdefghij").is_ok());
    }
}
