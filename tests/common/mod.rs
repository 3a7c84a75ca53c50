//! The shared test harness: every test builds its own network namespaces
//! joined by veth pairs, runs the real agent binary inside them, reads back
//! what the kernel holds, and removes everything when dropped, even when
//! the test fails. Nothing here touches the host's own interfaces.
#![allow(dead_code)]

pub mod cluster;

use std::path::PathBuf;
use std::process::{Command, Output, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};

static COUNTER: AtomicUsize = AtomicUsize::new(0);

/// The agent under test: the installed copy when `OCF_IPADDR_AGENT` names
/// one (make check sets it), else the binary cargo just built.
pub fn agent_path() -> PathBuf {
    std::env::var_os("OCF_IPADDR_AGENT")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_BIN_EXE_IPaddr")))
}

fn unique(tag: &str) -> String {
    let n = COUNTER.fetch_add(1, Ordering::SeqCst);
    format!("oi{}-{}-{n}", tag, std::process::id())
}

/// Runs a command, panicking with its output if it fails.
pub fn sh(program: &str, args: &[&str]) -> String {
    let out = Command::new(program).args(args).output().unwrap_or_else(|e| panic!("{program}: {e}"));
    assert!(
        out.status.success(),
        "{program} {args:?} failed: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// A network namespace that is deleted (with every process in it) on drop.
pub struct Netns {
    pub name: String,
}

impl Netns {
    pub fn new(tag: &str) -> Netns {
        let name = unique(tag);
        sh("ip", &["netns", "add", &name]);
        let ns = Netns { name };
        ns.ip(&["link", "set", "lo", "up"]);
        ns
    }

    /// `ip -n NS ARGS...`, which must succeed.
    pub fn ip(&self, args: &[&str]) -> String {
        let mut full = vec!["-n", &self.name];
        full.extend_from_slice(args);
        sh("ip", &full)
    }

    /// `ip -n NS ARGS...`, whatever it returns.
    pub fn try_ip(&self, args: &[&str]) -> Output {
        Command::new("ip").arg("-n").arg(&self.name).args(args).output().expect("ip runs")
    }

    /// Runs a program inside the namespace.
    pub fn exec(&self, program: &str, args: &[&str]) -> Output {
        Command::new("ip")
            .args(["netns", "exec", &self.name, program])
            .args(args)
            .output()
            .expect("ip netns exec runs")
    }

    /// Everything the kernel holds in this namespace that the agent could
    /// change: addresses, routes of all tables, links, address labels.
    pub fn snapshot(&self) -> String {
        let mut out = String::new();
        for args in [
            &["-d", "addr", "show"][..],
            &["-4", "route", "show", "table", "all"],
            &["-6", "route", "show", "table", "all"],
            &["-d", "link", "show"],
            &["addrlabel", "list"],
        ] {
            out.push_str(&self.ip(args));
        }
        // Lifetimes tick, and the kernel finishes DAD of its own link-local
        // address in its own time (the tentative flag goes, a local route
        // comes): neither is state the agent changes.
        out.lines()
            .filter(|l| !l.trim_start().starts_with("valid_lft"))
            .filter(|l| !(l.starts_with("local fe80::") && l.contains(" table local ")))
            .map(|l| l.replace(" tentative", ""))
            .collect::<Vec<_>>()
            .join("\n")
    }

    /// The addresses on `dev` as `ip -o addr show` lines.
    pub fn addresses(&self, dev: &str) -> String {
        self.ip(&["-o", "addr", "show", "dev", dev])
    }

    pub fn has_address(&self, dev: &str, cidr: &str) -> bool {
        self.addresses(dev).split_whitespace().any(|w| w == cidr)
    }

    pub fn mac(&self, dev: &str) -> String {
        let out = self.ip(&["-o", "link", "show", "dev", dev]);
        let mut words = out.split_whitespace();
        words.find(|w| *w == "link/ether");
        words.next().expect("link has a MAC").to_string()
    }
}

impl Drop for Netns {
    fn drop(&mut self) {
        if let Ok(out) = Command::new("ip").args(["netns", "pids", &self.name]).output() {
            for pid in String::from_utf8_lossy(&out.stdout).split_whitespace() {
                let _ = Command::new("kill").args(["-9", pid]).status();
            }
        }
        let _ = Command::new("ip").args(["netns", "del", &self.name]).status();
    }
}

/// What one agent run produced.
#[derive(Debug)]
pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    /// The text of the `ocf-exit-reason:` lines.
    pub fn reasons(&self) -> Vec<&str> {
        self.stderr.lines().filter_map(|l| l.strip_prefix("ocf-exit-reason:")).collect()
    }

    pub fn reason(&self) -> &str {
        let reasons = self.reasons();
        assert_eq!(reasons.len(), 1, "expected one exit reason, got {self:#?}");
        reasons[0]
    }
}

/// A node namespace whose `eth0` is joined by a veth pair to a client
/// namespace's `eth0`; the node has 192.0.2.1/24 and 2001:db8::1/64, the
/// client 192.0.2.100/24 and 2001:db8::100/64. Each lab has its own
/// HA_RSCTMP, so parallel tests never share run-time files.
pub struct Lab {
    pub node: Netns,
    pub client: Netns,
    pub rsctmp: PathBuf,
}

impl Lab {
    pub fn new() -> Lab {
        let node = Netns::new("n");
        let client = Netns::new("c");
        node.ip(&["link", "add", "eth0", "type", "veth", "peer", "name", "eth0", "netns", &client.name]);
        for ns in [&node, &client] {
            ns.ip(&["link", "set", "eth0", "up"]);
        }
        node.ip(&["addr", "add", "192.0.2.1/24", "brd", "+", "dev", "eth0"]);
        node.ip(&["addr", "add", "2001:db8::1/64", "dev", "eth0", "nodad"]);
        client.ip(&["addr", "add", "192.0.2.100/24", "brd", "+", "dev", "eth0"]);
        client.ip(&["addr", "add", "2001:db8::100/64", "dev", "eth0", "nodad"]);
        let rsctmp = std::env::temp_dir().join(format!("{}-rsctmp", node.name));
        std::fs::create_dir_all(&rsctmp).expect("rsctmp");
        Lab { node, client, rsctmp }
    }

    /// Runs `IPaddr ACTION` in the node namespace with OCF_RESKEY_* set
    /// from `params` and extra environment from `env`.
    pub fn agent(&self, action: &str, params: &[(&str, &str)]) -> Run {
        self.agent_env(&self.node, action, params, &[])
    }

    pub fn agent_env(&self, ns: &Netns, action: &str, params: &[(&str, &str)], env: &[(&str, &str)]) -> Run {
        run_agent(ns, &self.rsctmp, action, params, env)
    }
}

impl Drop for Lab {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.rsctmp);
    }
}

/// Runs the agent in `ns` with a clean environment, like Pacemaker's executor.
pub fn run_agent(
    ns: &Netns,
    rsctmp: &std::path::Path,
    action: &str,
    params: &[(&str, &str)],
    env: &[(&str, &str)],
) -> Run {
    run_agent_at(ns, rsctmp, &agent_path(), action, params, env)
}

/// Runs the agent at `agent` (ours or another OCF agent) like `run_agent`.
pub fn run_agent_at(
    ns: &Netns,
    rsctmp: &std::path::Path,
    agent: &std::path::Path,
    action: &str,
    params: &[(&str, &str)],
    env: &[(&str, &str)],
) -> Run {
    let mut cmd = agent_command(ns, rsctmp, agent, action);
    for (key, value) in params {
        cmd.env(format!("OCF_RESKEY_{key}"), value);
    }
    for (key, value) in env {
        cmd.env(key, value);
    }
    finish(cmd)
}

/// The command that runs `agent ACTION` in `ns` with a clean environment,
/// like Pacemaker's executor, for a test to add its own variables to.
pub fn agent_command(ns: &Netns, rsctmp: &std::path::Path, agent: &std::path::Path, action: &str) -> Command {
    let mut cmd = Command::new("ip");
    cmd.args(["netns", "exec", &ns.name])
        .arg(agent)
        .arg(action)
        .env_clear()
        .env("PATH", "/usr/sbin:/usr/bin:/sbin:/bin")
        .env("HA_RSCTMP", rsctmp)
        .env("OCF_ROOT", "/usr/lib/ocf")
        .stdin(Stdio::null());
    cmd
}

/// Runs a prepared agent command and collects what it did.
pub fn finish(mut cmd: Command) -> Run {
    let out = cmd.output().expect("agent runs");
    Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// A hosts file that `ip netns exec` shows as /etc/hosts inside one
/// namespace only (`/etc/netns/NS/hosts`); removed when dropped.
pub struct NamespaceHosts(PathBuf);

impl NamespaceHosts {
    pub fn new(ns: &Netns, text: &[u8]) -> NamespaceHosts {
        let dir = PathBuf::from("/etc/netns").join(&ns.name);
        std::fs::create_dir_all(&dir).expect("/etc/netns");
        let hosts = NamespaceHosts(dir);
        hosts.write(text);
        hosts
    }

    /// Replaces the file's contents.
    pub fn write(&self, text: &[u8]) {
        std::fs::write(self.0.join("hosts"), text).expect("hosts file");
    }
}

impl Drop for NamespaceHosts {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Exit codes, named as in the OCF spec.
pub mod ocf {
    pub const SUCCESS: i32 = 0;
    pub const ERR_GENERIC: i32 = 1;
    pub const ERR_ARGS: i32 = 2;
    pub const ERR_UNIMPLEMENTED: i32 = 3;
    pub const ERR_PERM: i32 = 4;
    pub const ERR_INSTALLED: i32 = 5;
    pub const ERR_CONFIGURED: i32 = 6;
    pub const NOT_RUNNING: i32 = 7;
    pub const DEGRADED: i32 = 190;
}

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
    let nanos = match u32_at(0) {
        0xa1b2c3d4 => false,
        0xa1b23c4d => true,
        magic => panic!("not a little-endian pcap file: {magic:#x}"),
    };
    let mut frames = Vec::new();
    let mut at = 24;
    while at + 16 <= bytes.len() {
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

/// Several node namespaces and a client on one Ethernet segment (a bridge
/// in its own namespace). Node i has 192.0.2.(11+i)/24 and
/// 2001:db8::(11+i)/64; the client has .100 and ::100.
pub struct Segment {
    pub nodes: Vec<Netns>,
    pub client: Netns,
    bridge: Netns,
    pub rsctmp: PathBuf,
}

impl Segment {
    pub fn new(node_count: usize) -> Segment {
        let bridge = Netns::new("b");
        bridge.ip(&["link", "add", "br0", "type", "bridge"]);
        bridge.ip(&["link", "set", "br0", "up"]);
        let join = |ns: &Netns, leg: &str| {
            bridge.ip(&["link", "add", leg, "type", "veth", "peer", "name", "eth0", "netns", &ns.name]);
            bridge.ip(&["link", "set", leg, "master", "br0", "up"]);
            ns.ip(&["link", "set", "eth0", "up"]);
        };
        let mut nodes = Vec::new();
        for i in 0..node_count {
            let node = Netns::new("s");
            join(&node, &format!("leg{i}"));
            node.ip(&["addr", "add", &format!("192.0.2.{}/24", 11 + i), "brd", "+", "dev", "eth0"]);
            node.ip(&["addr", "add", &format!("2001:db8::{}/64", 11 + i), "dev", "eth0", "nodad"]);
            nodes.push(node);
        }
        let client = Netns::new("c");
        join(&client, "legc");
        client.ip(&["addr", "add", "192.0.2.100/24", "brd", "+", "dev", "eth0"]);
        client.ip(&["addr", "add", "2001:db8::100/64", "dev", "eth0", "nodad"]);
        let rsctmp = std::env::temp_dir().join(format!("{}-rsctmp", bridge.name));
        std::fs::create_dir_all(&rsctmp).expect("rsctmp");
        Segment { nodes, client, bridge, rsctmp }
    }

    /// Plugs another interface of `ns`, named `ifname`, into the segment.
    pub fn attach(&self, ns: &Netns, ifname: &str) {
        let leg = format!("x{}", COUNTER.fetch_add(1, Ordering::SeqCst));
        self.bridge.ip(&["link", "add", &leg, "type", "veth", "peer", "name", ifname, "netns", &ns.name]);
        self.bridge.ip(&["link", "set", &leg, "master", "br0", "up"]);
        ns.ip(&["link", "set", ifname, "up"]);
    }

    /// Runs the agent on node `i` (each node has its own HA_RSCTMP).
    pub fn agent(&self, i: usize, action: &str, params: &[(&str, &str)]) -> Run {
        let dir = self.rsctmp.join(format!("node{i}"));
        std::fs::create_dir_all(&dir).expect("node rsctmp");
        run_agent(&self.nodes[i], &dir, action, params, &[])
    }
}

impl Drop for Segment {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.rsctmp);
    }
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
    let out = client.exec("sysctl", &["-qw", "net.ipv4.neigh.eth0.locktime=0"]);
    assert!(out.status.success(), "{out:?}");
}

/// Polls `condition` every 2 ms until it holds or `limit` passes; returns
/// how long it took.
pub fn wait_for(
    limit: std::time::Duration,
    mut condition: impl FnMut() -> bool,
) -> Option<std::time::Duration> {
    let started = std::time::Instant::now();
    while started.elapsed() < limit {
        if condition() {
            return Some(started.elapsed());
        }
        std::thread::sleep(std::time::Duration::from_millis(2));
    }
    None
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

/// Runs `work` on a thread that has joined the network namespace `ns`.
pub fn in_netns<T: Send + 'static>(
    ns: &Netns,
    work: impl FnOnce() -> T + Send + 'static,
) -> std::thread::JoinHandle<T> {
    let path = format!("/run/netns/{}", ns.name);
    std::thread::spawn(move || {
        let file = std::fs::File::open(path).expect("netns");
        nix::sched::setns(file, nix::sched::CloneFlags::CLONE_NEWNET).expect("setns");
        work()
    })
}

/// A TCP server in a namespace that answers every connection with its
/// name and counts the connections it accepted.
pub struct NameServer {
    pub accepted: std::sync::Arc<AtomicUsize>,
    stop: std::sync::Arc<std::sync::atomic::AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl NameServer {
    pub fn start(ns: &Netns, port: u16, name: &str) -> NameServer {
        use std::io::Write;
        let accepted = std::sync::Arc::new(AtomicUsize::new(0));
        let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let (count, halt, name) = (accepted.clone(), stop.clone(), name.to_string());
        let (ready_tx, ready_rx) = std::sync::mpsc::channel();
        let thread = in_netns(ns, move || {
            let listener = std::net::TcpListener::bind(("0.0.0.0", port)).expect("bind");
            listener.set_nonblocking(true).expect("nonblocking");
            ready_tx.send(()).expect("ready");
            while !halt.load(Ordering::SeqCst) {
                match listener.accept() {
                    Ok((mut stream, _)) => {
                        count.fetch_add(1, Ordering::SeqCst);
                        let _ = stream.write_all(name.as_bytes());
                    }
                    Err(_) => std::thread::sleep(std::time::Duration::from_millis(2)),
                }
            }
        });
        ready_rx.recv().expect("server listening");
        NameServer { accepted, stop, thread: Some(thread) }
    }

    pub fn count(&self) -> usize {
        self.accepted.load(Ordering::SeqCst)
    }
}

impl Drop for NameServer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// Connects from `source` (an address of `ns`) to `target:port` and
/// returns what the server said, or `None` when nobody answered in time.
pub fn ask_name(ns: &Netns, source: &str, target: &str, port: u16) -> Option<String> {
    use nix::sys::socket::{AddressFamily, SockFlag, SockType, SockaddrIn, bind, connect, socket};
    use std::io::Read;
    let (source, target): (std::net::Ipv4Addr, std::net::Ipv4Addr) =
        (source.parse().expect("source"), target.parse().expect("target"));
    in_netns(ns, move || {
        let fd = socket(AddressFamily::Inet, SockType::Stream, SockFlag::SOCK_CLOEXEC, None).ok()?;
        bind(std::os::fd::AsRawFd::as_raw_fd(&fd), &SockaddrIn::from(std::net::SocketAddrV4::new(source, 0)))
            .ok()?;
        let mut stream = std::net::TcpStream::from(fd);
        stream.set_read_timeout(Some(std::time::Duration::from_secs(3))).ok()?;
        connect(
            std::os::fd::AsRawFd::as_raw_fd(&stream),
            &SockaddrIn::from(std::net::SocketAddrV4::new(target, port)),
        )
        .ok()?;
        let mut answer = String::new();
        stream.read_to_string(&mut answer).ok()?;
        Some(answer)
    })
    .join()
    .ok()
    .flatten()
}
