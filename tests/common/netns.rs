//! A network namespace a test owns: created fresh, read back, and
//! deleted with every process in it when dropped.

use super::{sh, unique};
use std::process::{Command, Output};

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

    /// Sets a kernel setting of this namespace (`sysctl -w NAME=VALUE`),
    /// failing the test when the kernel refuses it.
    pub fn sysctl(&self, setting: &str) {
        let out = self.exec("sysctl", &["-qw", setting]);
        assert!(out.status.success(), "sysctl {setting} in {}: {out:?}", self.name);
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
        without_kernel_churn(&out)
    }

    /// Every route of every table, both families, in detail (`ip -d`),
    /// without what the kernel changes on its own (see `snapshot`).
    pub fn routes_in_detail(&self) -> String {
        let v4 = self.ip(&["-d", "route", "show", "table", "all"]);
        let v6 = self.ip(&["-6", "-d", "route", "show", "table", "all"]);
        without_kernel_churn(&format!("{v4}{v6}"))
    }

    /// The addresses on `dev` as `ip -o addr show` lines.
    pub fn addresses(&self, dev: &str) -> String {
        self.ip(&["-o", "addr", "show", "dev", dev])
    }

    pub fn has_address(&self, dev: &str, cidr: &str) -> bool {
        self.addresses(dev).split_whitespace().any(|w| w == cidr)
    }

    /// The processes in this namespace whose command line has the
    /// argument `arg` (the agent's background announcers: `__announce`).
    pub fn processes_with_arg(&self, arg: &str) -> Vec<u32> {
        self.processes(|pid| {
            std::fs::read(format!("/proc/{pid}/cmdline"))
                .is_ok_and(|cmdline| cmdline.split(|b| *b == 0).any(|word| word == arg.as_bytes()))
        })
    }

    /// The namespace's processes whose name (`comm`) is `name`.
    #[allow(dead_code)]
    pub fn processes_named(&self, name: &str) -> Vec<u32> {
        self.processes(|pid| {
            std::fs::read_to_string(format!("/proc/{pid}/comm")).is_ok_and(|comm| comm.trim() == name)
        })
    }

    fn processes(&self, keep: impl Fn(u32) -> bool) -> Vec<u32> {
        let out = Command::new("ip").args(["netns", "pids", &self.name]).output().expect("ip netns pids");
        String::from_utf8_lossy(&out.stdout)
            .split_whitespace()
            .filter_map(|pid| pid.parse().ok())
            .filter(|pid| keep(*pid))
            .collect()
    }

    pub fn mac(&self, dev: &str) -> String {
        let out = self.ip(&["-o", "link", "show", "dev", dev]);
        let mut words = out.split_whitespace();
        words.find(|w| *w == "link/ether");
        words.next().expect("link has a MAC").to_string()
    }
}

/// `ip` output without what changes while no one acts: lifetimes tick, and
/// the kernel finishes DAD of its own link-local address in its own time
/// (the tentative flag goes, a local route comes). Neither is state the
/// agent changes.
pub fn without_kernel_churn(text: &str) -> String {
    text.lines()
        .filter(|l| !l.trim_start().starts_with("valid_lft"))
        .filter(|l| !(l.starts_with("local fe80::") && l.contains(" table local ")))
        .map(|l| l.replace(" tentative", ""))
        .collect::<Vec<_>>()
        .join("\n")
}

impl Drop for Netns {
    fn drop(&mut self) {
        self.kill_processes();
        let _ = Command::new("ip").args(["netns", "del", &self.name]).status();
    }
}

impl Netns {
    /// Kills every process still in the namespace (a watcher, an announcer
    /// finishing its frames), so none of them writes to the test's run
    /// directory after the test removed it.
    pub fn kill_processes(&self) {
        if let Ok(out) = Command::new("ip").args(["netns", "pids", &self.name]).output() {
            for pid in String::from_utf8_lossy(&out.stdout).split_whitespace() {
                let _ = Command::new("kill").args(["-9", pid]).status();
            }
        }
    }

    /// When the kernel created `ip` on `dev` (IFA_CACHEINFO's `cstamp`,
    /// hundredths of a second), read with a netlink dump inside the
    /// namespace: the witness the agent records for the address it added.
    pub fn address_created(&self, dev: &str, ip: std::net::IpAddr) -> Option<u32> {
        use futures_util::TryStreamExt;
        use rtnetlink::packet_route::address::AddressAttribute;
        let dev = dev.to_string();
        let read = move || {
            let runtime = tokio::runtime::Builder::new_current_thread().enable_io().build().expect("runtime");
            runtime.block_on(async move {
                let (connection, handle, _) = rtnetlink::new_connection().expect("netlink socket");
                tokio::spawn(connection);
                let index = nix::net::if_::if_nametoindex(dev.as_str()).ok()?;
                let mut dump = handle.address().get().set_link_index_filter(index).execute();
                while let Some(message) = dump.try_next().await.expect("address dump") {
                    let attributes = &message.attributes;
                    let carries = attributes
                        .iter()
                        .any(|a| matches!(a, AddressAttribute::Local(x) | AddressAttribute::Address(x) if *x == ip));
                    let created = attributes.iter().find_map(|a| match a {
                        AddressAttribute::CacheInfo(info) => Some(info.cstamp),
                        _ => None,
                    });
                    if carries {
                        return created;
                    }
                }
                None
            })
        };
        in_netns(self, read).join().expect("reading an address's creation time")
    }
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
