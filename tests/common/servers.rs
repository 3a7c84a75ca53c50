//! Servers in a namespace and clients that ask them who they are: the
//! cluster IP tests tell which node served which client.

use super::{Netns, in_netns};
use std::sync::atomic::{AtomicUsize, Ordering};

/// A TCP server in a namespace that answers every connection with its
/// name and counts the connections it accepted.
pub struct NameServer {
    pub accepted: std::sync::Arc<AtomicUsize>,
    stop: std::sync::Arc<std::sync::atomic::AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl NameServer {
    /// Answers each connection with `name`, then closes it.
    pub fn start(ns: &Netns, port: u16, name: &str) -> NameServer {
        NameServer::serve(ns, port, name, false)
    }

    /// Answers each connection with `name`, then holds it open and idle
    /// (a database pool's connection, a broker's subscriber).
    pub fn holding(ns: &Netns, port: u16, name: &str) -> NameServer {
        NameServer::serve(ns, port, name, true)
    }

    fn serve(ns: &Netns, port: u16, name: &str, hold: bool) -> NameServer {
        use std::io::Write;
        let accepted = std::sync::Arc::new(AtomicUsize::new(0));
        let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let (count, halt, name) = (accepted.clone(), stop.clone(), name.to_string());
        let (ready_tx, ready_rx) = std::sync::mpsc::channel();
        let thread = in_netns(ns, move || {
            let listener = std::net::TcpListener::bind(("0.0.0.0", port)).expect("bind");
            listener.set_nonblocking(true).expect("nonblocking");
            ready_tx.send(()).expect("ready");
            let mut held = Vec::new();
            while !halt.load(Ordering::SeqCst) {
                match listener.accept() {
                    Ok((mut stream, _)) => {
                        count.fetch_add(1, Ordering::SeqCst);
                        let _ = stream.write_all(name.as_bytes());
                        if hold {
                            held.push(stream);
                        }
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

/// Connects from `ns` to `server` and reads the name it answers with (as
/// many bytes as `name_len`); returns the open connection and the name.
pub fn connect_for_name(
    ns: &Netns,
    server: std::net::SocketAddr,
    name_len: usize,
) -> Option<(std::net::TcpStream, String)> {
    use std::io::Read;
    in_netns(ns, move || {
        let mut stream =
            std::net::TcpStream::connect_timeout(&server, std::time::Duration::from_secs(1)).ok()?;
        stream.set_read_timeout(Some(std::time::Duration::from_secs(2))).ok()?;
        let mut name = vec![0u8; name_len];
        stream.read_exact(&mut name).ok()?;
        Some((stream, String::from_utf8_lossy(&name).trim().to_string()))
    })
    .join()
    .ok()
    .flatten()
}
