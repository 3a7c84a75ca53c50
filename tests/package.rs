//! The Debian package and the installed files: `make install` lays out the
//! agent, man page, metadata, Heartbeat wrapper and docs; the .deb installs
//! them with dpkg, runs under Pacemaker, and purges without a trace.

mod common;
use common::cluster::{Cluster, Stack};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

const AGENT: &str = "/usr/lib/ocf/resource.d/rust/IPaddr";
const FILES: &[&str] = &[
    AGENT,
    "/usr/share/man/man7/ocf_rust_IPaddr.7.gz",
    "/usr/share/ocf-ipaddr/IPaddr.xml",
    "/etc/ha.d/resource.d/IPaddr",
    "/usr/share/doc/ocf-ipaddr/README.md",
    "/usr/share/doc/ocf-ipaddr/migration-from-ipaddr2.md",
    "/usr/share/doc/ocf-ipaddr/troubleshooting.md",
    "/usr/share/doc/ocf-ipaddr/architecture.md",
    "/usr/share/doc/ocf-ipaddr/cluster-ip.md",
    "/usr/share/doc/ocf-ipaddr/copyright",
];

fn required_env(name: &str) -> PathBuf {
    PathBuf::from(
        std::env::var_os(name).unwrap_or_else(|| panic!("{name} is unset: run the tests with `make check`")),
    )
}

fn dpkg(args: &[&str]) -> std::process::Output {
    Command::new("dpkg").args(args).env("DEBIAN_FRONTEND", "noninteractive").output().expect("dpkg runs")
}

/// Purges the package when the test ends, however it ends.
struct Installed;

impl Drop for Installed {
    fn drop(&mut self) {
        let _ = dpkg(&["--purge", "ocf-ipaddr"]);
    }
}

#[test]
fn make_install_lays_out_every_file() {
    let stage = required_env("OCF_IPADDR_STAGE");
    for file in FILES.iter().filter(|f| !f.ends_with("/copyright")) {
        let path = stage.join(file.trim_start_matches('/'));
        assert!(path.is_file(), "{} missing", path.display());
    }
    let mode = std::os::unix::fs::PermissionsExt::mode(
        &std::fs::metadata(stage.join(&AGENT[1..])).unwrap().permissions(),
    );
    assert_eq!(mode & 0o777, 0o755);
}

#[test]
fn man_page_is_generated_from_the_metadata_and_renders_cleanly() {
    let stage = required_env("OCF_IPADDR_STAGE");
    let page = stage.join("usr/share/man/man7/ocf_rust_IPaddr.7.gz");
    let troff = Command::new("zcat").arg(&page).output().expect("zcat").stdout;
    let mut groff = Command::new("groff")
        .args(["-man", "-Tutf8", "-ww", "-z"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("groff is installed");
    let mut input = groff.stdin.take().unwrap();
    let writer = std::thread::spawn(move || std::io::Write::write_all(&mut input, &troff).map(|_| troff));
    let render = groff.wait_with_output().unwrap();
    let troff = writer.join().unwrap().expect("groff reads the page");
    assert!(
        render.status.success() && render.stderr.is_empty(),
        "{}",
        String::from_utf8_lossy(&render.stderr)
    );
    let text = String::from_utf8_lossy(&troff);
    let metadata =
        String::from_utf8(Command::new(stage.join(&AGENT[1..])).arg("meta-data").output().unwrap().stdout)
            .unwrap();
    for name in metadata.split("<parameter name=\"").skip(1).map(|rest| &rest[..rest.find('"').unwrap()]) {
        assert!(text.contains(&format!(".B {name}")), "man page lacks parameter {name}");
    }
}

#[test]
fn deb_installs_runs_under_pacemaker_and_purges_cleanly() {
    let deb = required_env("OCF_IPADDR_DEB");
    let _ = dpkg(&["--purge", "ocf-ipaddr"]);
    let install = dpkg(&["-i", deb.to_str().unwrap()]);
    assert!(install.status.success(), "{}", String::from_utf8_lossy(&install.stderr));
    let guard = Installed;
    for file in FILES {
        assert!(Path::new(file).is_file(), "{file} not installed");
    }
    let version = Command::new(AGENT).arg("--version").output().unwrap();
    assert!(String::from_utf8_lossy(&version.stdout).contains(env!("CARGO_PKG_VERSION")));

    {
        let cluster = Cluster::start_with_agent(Stack::Debian12, 1, Path::new(AGENT));
        cluster.crm_primitive_vip(&["op", "monitor", "interval=5s"]);
        cluster.wait_for(Duration::from_secs(30), "vip started", |c| c.location("vip") == Some(0));
        assert!(cluster.seg.client.exec("ping", &["-c1", "-W2", "192.0.2.50"]).status.success());
    }

    drop(guard);
    let status = dpkg(&["-s", "ocf-ipaddr"]);
    assert!(!status.status.success() || String::from_utf8_lossy(&status.stdout).contains("not-installed"));
    for file in FILES {
        assert!(!Path::new(file).exists(), "{file} left behind by purge");
    }
    assert!(!Path::new("/usr/share/doc/ocf-ipaddr").exists());
}
