//! What /proc says about another process.

use std::fmt;

/// Who sent a netlink request, found from the port id the kernel put in
/// its notification.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Sender {
    /// Port 0: the kernel itself (a link going down, DAD, a namespace ending).
    Kernel,
    /// The process that owns the socket, with its name.
    Process { pid: i32, name: String },
    /// The socket is closed and no process has that pid: it has exited.
    Gone { port: u32 },
}

impl fmt::Display for Sender {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        match self {
            Sender::Kernel => write!(f, "the kernel"),
            Sender::Process { pid, name } => write!(f, "{name} (pid {pid})"),
            // A first socket's port is its process's pid (pids stay below 2^22).
            Sender::Gone { port } if *port < 1 << 22 => {
                write!(f, "pid {port} (exited before it could be named)")
            }
            Sender::Gone { port } => write!(f, "a process that has exited (netlink port {port})"),
        }
    }
}

/// Who owns the rtnetlink socket bound to `port` in the current network
/// namespace. The first socket of a process gets its pid as port id (as
/// `ip` does), later ones other numbers: the socket's inode, from
/// /proc/net/netlink, names the process whose descriptor holds it.
pub fn netlink_sender(port: u32) -> Sender {
    if port == 0 {
        return Sender::Kernel;
    }
    // Read first, while a short-lived remover (`ip addr del`) may still be
    // exiting: a port that is a pid names that process. Other sockets' ports
    // are numbers no pid takes (the kernel counts them down from -4096).
    let first_socket_owner =
        i32::try_from(port).ok().map(|pid| (pid, std::fs::read_to_string(format!("/proc/{pid}/comm"))));
    let Some(inode) = netlink_socket_inode(port) else {
        // Closed already: the process whose pid the port is, if it was
        // still there a moment ago (its socket closes as it exits).
        return match first_socket_owner {
            Some((pid, Ok(name))) => Sender::Process { pid, name: name.trim_end().to_string() },
            _ => Sender::Gone { port },
        };
    };
    let target = format!("socket:[{inode}]");
    let holds = |pid: &str| {
        std::fs::read_dir(format!("/proc/{pid}/fd"))
            .into_iter()
            .flatten()
            .flatten()
            .any(|fd| std::fs::read_link(fd.path()).is_ok_and(|link| link.as_os_str() == target.as_str()))
    };
    let first_guess = port.to_string();
    let owner = if holds(&first_guess) {
        Some(first_guess)
    } else {
        std::fs::read_dir("/proc")
            .into_iter()
            .flatten()
            .flatten()
            .filter_map(|entry| entry.file_name().into_string().ok())
            .filter(|name| name.bytes().all(|b| b.is_ascii_digit()))
            .find(|pid| holds(pid))
    };
    match owner.and_then(|pid| pid.parse().ok()) {
        Some(pid) => Sender::Process { pid, name: process_name(pid) },
        None => Sender::Gone { port },
    }
}

/// A process's command name (`comm`), or "?" when it cannot be read.
fn process_name(pid: i32) -> String {
    std::fs::read_to_string(format!("/proc/{pid}/comm"))
        .map_or_else(|_| "?".into(), |c| c.trim_end().to_string())
}

/// The inode of the rtnetlink socket bound to `port`, from /proc/net/netlink
/// (columns: sk, Eth, Pid, Groups, Rmem, Wmem, Dump, Locks, Drops, Inode).
fn netlink_socket_inode(port: u32) -> Option<u64> {
    let table = std::fs::read_to_string("/proc/net/netlink").ok()?;
    table.lines().skip(1).find_map(|line| {
        let columns: Vec<&str> = line.split_whitespace().collect();
        let (protocol, bound) = (columns.get(1)?, columns.get(2)?.parse::<u32>().ok()?);
        (*protocol == "0" && bound == port).then(|| columns.get(9)?.parse().ok()).flatten()
    })
}

/// Alive and not yet a zombie: a zombie sends nothing and writes nothing
/// more, whoever is still to reap it.
pub fn is_running(pid: i32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .ok()
        .and_then(|stat| stat.rfind(')').map(|i| !stat[i + 1..].trim_start().starts_with('Z')))
        .unwrap_or(false)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_owner_of_a_netlink_socket_is_found_by_its_port() {
        use rtnetlink::sys::{Socket, protocols::NETLINK_ROUTE};
        let mut socket = Socket::new(NETLINK_ROUTE).unwrap();
        let bound = socket.bind_auto().unwrap();
        let me = std::process::id() as i32;
        match netlink_sender(bound.port_number()) {
            Sender::Process { pid, name } => {
                assert_eq!(pid, me);
                assert_eq!(name, process_name(me));
            }
            other => panic!("found {other:?} for this process's own socket"),
        }
        drop(socket);
        let port = bound.port_number();
        if i32::try_from(port).is_ok_and(|pid| pid != me) {
            assert_eq!(netlink_sender(port), Sender::Gone { port }, "no process holds port {port} now");
        }
        assert_eq!(netlink_sender(0), Sender::Kernel);
    }

    #[test]
    fn a_zombie_and_a_reaped_process_are_not_running() {
        assert!(is_running(std::process::id() as i32));
        let mut child = std::process::Command::new("true").spawn().unwrap();
        let pid = child.id() as i32;
        // Exited but not reaped: a zombie until `wait`.
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
        while std::fs::read_to_string(format!("/proc/{pid}/stat")).is_ok_and(|s| !s.contains(") Z"))
            && std::time::Instant::now() < deadline
        {
            std::thread::sleep(std::time::Duration::from_millis(1));
        }
        assert!(std::path::Path::new(&format!("/proc/{pid}")).exists(), "the zombie is still listed");
        assert!(!is_running(pid));
        child.wait().unwrap();
        assert!(!is_running(pid));
    }
}
