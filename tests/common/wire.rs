//! What crosses the wire: captures in a namespace, frames injected from
//! one, and the client's neighbor entries.

use super::{Netns, unique};
use pnet_packet::Packet;
use pnet_packet::arp::{ArpOperations, ArpPacket};
use pnet_packet::ethernet::{EtherTypes, EthernetPacket};
use pnet_packet::ipv6::Ipv6Packet;
use std::net::{Ipv4Addr, Ipv6Addr};
use std::path::PathBuf;
use std::process::{Command, Stdio};

/// One captured frame: microseconds since the epoch and the bytes.
#[derive(Debug, Clone)]
pub struct Frame {
    pub micros: u64,
    pub data: Vec<u8>,
}

/// A tcpdump capture running inside a namespace.
pub struct Capture {
    child: std::process::Child,
    file: PathBuf,
}

impl Capture {
    /// Starts capturing ARP and ICMPv6 on `dev` in `ns`, and returns once
    /// tcpdump is listening.
    pub fn start(ns: &Netns, dev: &str, dir: &std::path::Path) -> Capture {
        Capture::start_filtered(ns, dev, dir, "arp or icmp6")
    }

    /// Like `start`, for the frames a tcpdump `filter` selects.
    pub fn start_filtered(ns: &Netns, dev: &str, dir: &std::path::Path, filter: &str) -> Capture {
        use std::io::{BufRead, BufReader};
        let file = dir.join(format!("capture-{}.pcap", unique("cap")));
        let mut child = Command::new("ip")
            .args([
                "netns",
                "exec",
                &ns.name,
                "tcpdump",
                "-i",
                dev,
                "-U",
                "-n",
                "--immediate-mode",
                "-s",
                "256",
                "-w",
            ])
            .arg(&file)
            .arg(filter)
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("tcpdump is installed (make check installs it)");
        let stderr = child.stderr.take().expect("tcpdump stderr");
        let mut lines = BufReader::new(stderr).lines();
        loop {
            match lines.next() {
                Some(Ok(line)) if line.contains("listening on") => break,
                Some(Ok(_)) => continue,
                _ => panic!("tcpdump did not start"),
            }
        }
        // Keep draining stderr so tcpdump never blocks on it.
        std::thread::spawn(move || for _ in lines {});
        Capture { child, file }
    }

    /// The frames captured so far (tcpdump writes each as it comes).
    pub fn so_far(&self) -> Vec<Frame> {
        std::fs::read(&self.file).map(|bytes| parse_pcap(&bytes)).unwrap_or_default()
    }

    /// Stops the capture and returns the frames it saw.
    pub fn stop(mut self) -> Vec<Frame> {
        std::thread::sleep(std::time::Duration::from_millis(100));
        let _ = Command::new("kill").args(["-INT", &self.child.id().to_string()]).status();
        let _ = self.child.wait();
        let bytes = std::fs::read(&self.file).expect("capture file");
        let _ = std::fs::remove_file(&self.file);
        parse_pcap(&bytes)
    }
}

/// Reads a classic pcap file (microsecond or nanosecond timestamps).
fn parse_pcap(bytes: &[u8]) -> Vec<Frame> {
    let u32_at = |at: usize| u32::from_le_bytes(bytes[at..at + 4].try_into().expect("4 bytes"));
    if bytes.len() < 24 {
        return Vec::new();
    }
    let nanos = match u32_at(0) {
        0xa1b2c3d4 => false,
        0xa1b23c4d => true,
        magic => panic!("not a little-endian pcap file: {magic:#x}"),
    };
    let mut frames = Vec::new();
    let mut at = 24;
    // The last record may be half written while tcpdump runs.
    while at + 16 <= bytes.len() && at + 16 + u32_at(at + 8) as usize <= bytes.len() {
        let (secs, frac, len) = (u64::from(u32_at(at)), u64::from(u32_at(at + 4)), u32_at(at + 8) as usize);
        let micros = secs * 1_000_000 + if nanos { frac / 1000 } else { frac };
        frames.push(Frame { micros, data: bytes[at + 16..at + 16 + len].to_vec() });
        at += 16 + len;
    }
    frames
}

impl Drop for Capture {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_file(&self.file);
    }
}

/// Sends `frames` on `dev` of `ns` over and over (every 10 ms) for
/// `duration`, from a thread that joins that namespace: a peer injecting
/// whatever bytes a test wants onto the wire.
pub fn inject(
    ns: &Netns,
    dev: &str,
    frames: Vec<Vec<u8>>,
    duration: std::time::Duration,
) -> std::thread::JoinHandle<usize> {
    use nix::libc;
    let netns_path = format!("/run/netns/{}", ns.name);
    let dev = dev.to_string();
    std::thread::spawn(move || {
        let file = std::fs::File::open(netns_path).expect("netns");
        nix::sched::setns(file, nix::sched::CloneFlags::CLONE_NEWNET).expect("setns");
        let ifindex = nix::net::if_::if_nametoindex(dev.as_str()).expect("device") as i32;
        // SAFETY: a plain packet socket; every pointer below is to a live local.
        let fd = unsafe { libc::socket(libc::AF_PACKET, libc::SOCK_RAW | libc::SOCK_CLOEXEC, 0) };
        assert!(fd >= 0, "packet socket");
        // SAFETY: sockaddr_ll is plain old data.
        let mut addr: libc::sockaddr_ll = unsafe { std::mem::zeroed() };
        addr.sll_family = libc::AF_PACKET as u16;
        addr.sll_ifindex = ifindex;
        addr.sll_halen = 6;
        let started = std::time::Instant::now();
        let mut sent = 0;
        while started.elapsed() < duration {
            for frame in &frames {
                // SAFETY: frame and address pointers and lengths come from live values.
                let n = unsafe {
                    libc::sendto(
                        fd,
                        frame.as_ptr().cast(),
                        frame.len(),
                        0,
                        (&addr as *const libc::sockaddr_ll).cast(),
                        std::mem::size_of::<libc::sockaddr_ll>() as u32,
                    )
                };
                if n > 0 {
                    sent += 1;
                }
            }
            std::thread::sleep(std::time::Duration::from_millis(10));
        }
        // SAFETY: closing the descriptor this thread opened.
        unsafe { libc::close(fd) };
        sent
    })
}

/// The client's neighbor entry for `ip`: its MAC, if it has one.
pub fn neighbor_mac(client: &Netns, ip: &str) -> Option<String> {
    let out = client.ip(&["neigh", "show", ip]);
    let mut words = out.split_whitespace();
    words.find(|w| *w == "lladdr")?;
    words.next().map(str::to_string)
}

/// Plants a stale neighbor entry for `ip` pointing at `mac` (an old owner),
/// so a test can watch an announcement replace it.
pub fn stale_neighbor(client: &Netns, ip: &str, mac: &str) {
    client.ip(&["neigh", "replace", ip, "lladdr", mac, "dev", "eth0", "nud", "stale"]);
}

/// Lets the client's kernel take every neighbor update at once (no 1 s
/// locktime), so tests see the first announcement's effect.
pub fn no_neighbor_locktime(client: &Netns) {
    client.sysctl("net.ipv4.neigh.eth0.locktime=0");
}

/// An ARP frame as the test sees it.
#[derive(Debug)]
pub struct Arp {
    pub micros: u64,
    pub eth_src: String,
    pub eth_dst: String,
    pub reply: bool,
    pub sender_mac: String,
    pub sender_ip: Ipv4Addr,
    pub target_ip: Ipv4Addr,
}

pub fn arps(frames: &[Frame]) -> Vec<Arp> {
    frames
        .iter()
        .filter_map(|f| {
            let eth = EthernetPacket::new(&f.data)?;
            if eth.get_ethertype() != EtherTypes::Arp {
                return None;
            }
            let arp = ArpPacket::new(eth.payload())?;
            Some(Arp {
                micros: f.micros,
                eth_src: eth.get_source().to_string(),
                eth_dst: eth.get_destination().to_string(),
                reply: arp.get_operation() == ArpOperations::Reply,
                sender_mac: arp.get_sender_hw_addr().to_string(),
                sender_ip: arp.get_sender_proto_addr(),
                target_ip: arp.get_target_proto_addr(),
            })
        })
        .collect()
}

/// A Neighbor Advertisement as the test sees it.
#[derive(Debug)]
pub struct Na {
    pub micros: u64,
    pub eth_src: String,
    pub eth_dst: String,
    pub source: Ipv6Addr,
    pub destination: Ipv6Addr,
    pub hop_limit: u8,
    pub flags: u8,
    pub target: Ipv6Addr,
    pub tlla: Option<String>,
}

pub fn advertisements(frames: &[Frame]) -> Vec<Na> {
    frames
        .iter()
        .filter_map(|f| {
            let eth = EthernetPacket::new(&f.data)?;
            if eth.get_ethertype() != EtherTypes::Ipv6 {
                return None;
            }
            let ip = Ipv6Packet::new(eth.payload())?;
            let body = ip.payload();
            if ip.get_next_header().0 != 58 || body.first() != Some(&136) || body.len() < 24 {
                return None;
            }
            let tlla = (body.len() >= 32 && body[24] == 2)
                .then(|| body[26..32].iter().map(|b| format!("{b:02x}")).collect::<Vec<_>>().join(":"));
            Some(Na {
                micros: f.micros,
                eth_src: eth.get_source().to_string(),
                eth_dst: eth.get_destination().to_string(),
                source: ip.get_source(),
                destination: ip.get_destination(),
                hop_limit: ip.get_hop_limit(),
                flags: body[4],
                target: Ipv6Addr::from(<[u8; 16]>::try_from(&body[8..24]).ok()?),
                tlla,
            })
        })
        .collect()
}
