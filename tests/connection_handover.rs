//! `kill_connections_on_stop`: a client holding an idle TCP connection to a
//! server on the VIP gets a reset the moment stop runs, instead of waiting
//! on a connection to an address that has gone; the server's side ends
//! too; what was reset is counted (metric) and recorded (history). Without
//! the parameter, as with IPaddr2, the client hears nothing.

mod common;
use common::{Lab, in_netns, ocf};
use std::io::{ErrorKind, Read};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::Path;
use std::sync::mpsc;
use std::time::{Duration, Instant};

const PORT: u16 = 8080;

/// A server on `listen` in the node namespace that takes one connection
/// and reads from it until it ends; a client in the client namespace
/// connected to `connect`. Returns the client's stream and how the
/// server's read ended.
fn connected(lab: &Lab, listen: SocketAddr, connect: SocketAddr) -> (TcpStream, mpsc::Receiver<ErrorKind>) {
    let (ready, bound) = mpsc::channel();
    let (ended, server_end) = mpsc::channel();
    in_netns(&lab.node, move || {
        let listener = TcpListener::bind(listen).expect("the server binds");
        ready.send(()).expect("the test waits");
        let (mut stream, _) = listener.accept().expect("a connection");
        let mut byte = [0u8; 1];
        let kind = match stream.read(&mut byte) {
            Ok(_) => ErrorKind::UnexpectedEof,
            Err(err) => err.kind(),
        };
        let _ = ended.send(kind);
    });
    bound.recv_timeout(Duration::from_secs(5)).expect("the server is listening");
    let client = in_netns(&lab.client, move || TcpStream::connect_timeout(&connect, Duration::from_secs(3)))
        .join()
        .expect("the client thread")
        .expect("the client connects");
    (client, server_end)
}

/// How the client's read ended after stop, and how long it took: a reset
/// within `limit`, or `TimedOut`/`WouldBlock` when nothing came.
fn client_hears(mut client: TcpStream, limit: Duration) -> (ErrorKind, Duration) {
    client.set_read_timeout(Some(limit)).expect("a read timeout");
    let waiting = Instant::now();
    let mut byte = [0u8; 1];
    let kind = match client.read(&mut byte) {
        Ok(_) => ErrorKind::UnexpectedEof,
        Err(err) => err.kind(),
    };
    (kind, waiting.elapsed())
}

fn params<'a>(ip: &'a str, prefix: &'a str, kill: &'a str, metrics: &'a str) -> Vec<(&'a str, &'a str)> {
    vec![
        ("ip", ip),
        ("cidr_netmask", prefix),
        ("nic", "eth0"),
        ("nodad", "true"),
        ("kill_connections_on_stop", kill),
        ("metrics_dir", metrics),
    ]
}

fn run(lab: &Lab, action: &str, params: &[(&str, &str)]) -> common::Run {
    lab.agent_env(&lab.node, action, params, &[("OCF_RESOURCE_INSTANCE", "vip")])
}

fn explained_events(lab: &Lab, params: &[(&str, &str)]) -> Vec<String> {
    let report = common::explain_report(&lab.node, &lab.rsctmp, "vip", params);
    report["events"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|e| format!("{} {}", e["event"].as_str().unwrap_or(""), e["detail"].as_str().unwrap_or("")))
        .collect()
}

fn metrics_dir(lab: &Lab) -> String {
    common::metrics::metrics_dir(&lab.rsctmp).to_string_lossy().into_owned()
}

/// (VIP, prefix, where the server listens, where the client connects)
fn layouts() -> [(&'static str, &'static str, SocketAddr, SocketAddr); 3] {
    let v4: SocketAddr = format!("192.0.2.50:{PORT}").parse().unwrap();
    let v6: SocketAddr = format!("[2001:db8::50]:{PORT}").parse().unwrap();
    // A dual-stack server: its IPv4 connections are IPv6 sockets whose
    // local address is ::ffff:192.0.2.50.
    let any6: SocketAddr = format!("[::]:{PORT}").parse().unwrap();
    [("192.0.2.50", "24", v4, v4), ("2001:db8::50", "64", v6, v6), ("192.0.2.50", "24", any6, v4)]
}

#[test]
fn stop_resets_the_vips_connections_at_once_and_counts_them() {
    for (ip, prefix, listen, connect) in layouts() {
        let lab = Lab::new();
        let metrics = metrics_dir(&lab);
        let params = params(ip, prefix, "true", &metrics);
        assert_eq!(run(&lab, "start", &params).code, ocf::SUCCESS, "{ip}");
        let (client, server_end) = connected(&lab, listen, connect);
        let stop = run(&lab, "stop", &params);
        assert_eq!(stop.code, ocf::SUCCESS, "{stop:#?}");
        let (kind, after) = client_hears(client, Duration::from_secs(3));
        assert_eq!(
            kind,
            ErrorKind::ConnectionReset,
            "{ip} via {listen}: the client got no reset ({after:?})"
        );
        assert!(after < Duration::from_secs(1), "{ip}: the reset took {after:?}");
        let server = server_end.recv_timeout(Duration::from_secs(3)).expect("the server's connection ended");
        assert_ne!(server, ErrorKind::UnexpectedEof, "{ip}: the server's side was aborted, not closed");
        let textfile =
            std::fs::read_to_string(Path::new(&metrics).join("ocf_ipaddr_vip.prom")).expect("textfile");
        let line =
            textfile.lines().find(|l| l.starts_with("ocf_ipaddr_connections_reset_total{")).unwrap_or("");
        assert!(line.ends_with(" 1"), "{ip}: one connection counted: {textfile}");
        let events = explained_events(&lab, &params);
        assert!(events.iter().any(|e| e == "connections-reset 1 TCP connections"), "{ip}: {events:?}");
    }
}

#[test]
fn without_the_parameter_clients_hear_nothing_as_with_ipaddr2() {
    let (ip, prefix, listen, connect) = layouts()[0];
    let lab = Lab::new();
    let metrics = metrics_dir(&lab);
    let params = params(ip, prefix, "false", &metrics);
    assert_eq!(run(&lab, "start", &params).code, ocf::SUCCESS);
    let (client, _server_end) = connected(&lab, listen, connect);
    assert_eq!(run(&lab, "stop", &params).code, ocf::SUCCESS);
    let (kind, _) = client_hears(client, Duration::from_millis(1500));
    assert!(matches!(kind, ErrorKind::WouldBlock | ErrorKind::TimedOut), "{kind:?}");
    assert!(!explained_events(&lab, &params).iter().any(|e| e.starts_with("connections-reset")));
}

#[test]
fn only_the_vips_connections_are_reset_and_listeners_stay() {
    let lab = Lab::new();
    let metrics = metrics_dir(&lab);
    let params = params("192.0.2.50", "24", "true", &metrics);
    assert_eq!(run(&lab, "start", &params).code, ocf::SUCCESS);
    // A connection to the node's own address, and a listener on the VIP.
    let own: SocketAddr = format!("192.0.2.1:{PORT}").parse().unwrap();
    let (bystander, _server) = connected(&lab, own, own);
    let (ready, bound) = mpsc::channel();
    let (go, stopped) = mpsc::channel::<()>();
    let (done, listener_after) = mpsc::channel();
    in_netns(&lab.node, move || {
        let listener = TcpListener::bind(("192.0.2.50", PORT + 1)).expect("a listener on the VIP");
        ready.send(()).expect("the test waits");
        stopped.recv().expect("stop ran");
        // Still listening: nothing waiting, which is not an error.
        listener.set_nonblocking(true).expect("non-blocking");
        let _ = done.send(listener.accept().err().map(|e| e.kind()));
    });
    bound.recv_timeout(Duration::from_secs(5)).expect("listening");
    assert_eq!(run(&lab, "stop", &params).code, ocf::SUCCESS);
    go.send(()).expect("the listener waits");
    assert_eq!(listener_after.recv_timeout(Duration::from_secs(5)), Ok(Some(ErrorKind::WouldBlock)));
    let (kind, _) = client_hears(bystander, Duration::from_millis(500));
    assert!(
        matches!(kind, ErrorKind::WouldBlock | ErrorKind::TimedOut),
        "the node's own connection: {kind:?}"
    );
}

/// An LVS real server's connections arrive on its loopback copy of the
/// VIP; a start with `lvs_support` that takes the copy over (this node
/// becomes the director) keeps the address on the node, so those
/// connections are not the stop's to reset.
#[test]
fn an_lvs_real_servers_connections_survive_the_start_that_takes_its_loopback_copy() {
    let (ip, prefix, listen, connect) = layouts()[0];
    let lab = Lab::new();
    // A real server: the VIP on lo, silent to ARP; clients route to it.
    lab.node.sysctl("net.ipv4.conf.all.arp_ignore=1");
    lab.node.sysctl("net.ipv4.conf.all.arp_announce=2");
    lab.node.ip(&["addr", "add", "192.0.2.50/32", "dev", "lo"]);
    lab.client.ip(&["route", "add", "192.0.2.50/32", "via", "192.0.2.1"]);
    let (client, _server_end) = connected(&lab, listen, connect);
    let metrics = metrics_dir(&lab);
    let mut params = params(ip, prefix, "true", &metrics);
    params.push(("lvs_support", "true"));
    let start = run(&lab, "start", &params);
    assert_eq!(start.code, ocf::SUCCESS, "{start:#?}");
    assert!(lab.node.has_address("eth0", "192.0.2.50/24"), "{}", lab.node.addresses("eth0"));
    assert!(
        !lab.node.has_address("lo", "192.0.2.50/32"),
        "start took the copy: {}",
        lab.node.addresses("lo")
    );
    let (kind, _) = client_hears(client, Duration::from_millis(1500));
    assert!(matches!(kind, ErrorKind::WouldBlock | ErrorKind::TimedOut), "the client was reset: {kind:?}");
    assert!(!explained_events(&lab, &params).iter().any(|e| e.starts_with("connections-reset")));
}

/// A connection does not say by which copy of an address it came: while
/// another resource's copy of the VIP stays on the node, a stop resets
/// nothing, whether its own copy was there or not; the last copy's stop
/// resets.
#[test]
fn a_stop_resets_nothing_while_another_resources_copy_of_the_address_stays() {
    let (ip, _, listen, connect) = layouts()[0];
    let lab = Lab::new();
    lab.add_eth1();
    let metrics = metrics_dir(&lab);
    let on_eth0 = params(ip, "24", "true", &metrics);
    let mut on_eth1 = params(ip, "32", "true", &metrics);
    on_eth1[2] = ("nic", "eth1");
    let as_resource = |name: &'static str| [("OCF_RESOURCE_INSTANCE", name)];
    assert_eq!(lab.agent_env(&lab.node, "start", &on_eth0, &as_resource("web")).code, ocf::SUCCESS);
    let (client, _server_end) = connected(&lab, listen, connect);
    // The other resource never ran here: its stop has nothing of its own.
    let stop = lab.agent_env(&lab.node, "stop", &on_eth1, &as_resource("web-vlan2"));
    assert_eq!(stop.code, ocf::SUCCESS, "{stop:#?}");
    // It runs, and stops: its copy goes, web's stays and keeps its clients.
    assert_eq!(lab.agent_env(&lab.node, "start", &on_eth1, &as_resource("web-vlan2")).code, ocf::SUCCESS);
    let stop = lab.agent_env(&lab.node, "stop", &on_eth1, &as_resource("web-vlan2"));
    assert_eq!(stop.code, ocf::SUCCESS, "{stop:#?}");
    assert!(stop.stderr.contains("none reset"), "{stop:#?}");
    assert!(lab.node.has_address("eth0", "192.0.2.50/24"));
    let mut client = client;
    client.set_read_timeout(Some(Duration::from_millis(1))).expect("a read timeout");
    let mut byte = [0u8; 1];
    let kind = match client.read(&mut byte) {
        Ok(_) => ErrorKind::UnexpectedEof,
        Err(err) => err.kind(),
    };
    assert!(matches!(kind, ErrorKind::WouldBlock | ErrorKind::TimedOut), "web's client was reset: {kind:?}");
    // The last copy's stop resets it.
    assert_eq!(lab.agent_env(&lab.node, "stop", &on_eth0, &as_resource("web")).code, ocf::SUCCESS);
    let (kind, _) = client_hears(client, Duration::from_secs(3));
    assert_eq!(kind, ErrorKind::ConnectionReset);
}
