//! The metadata the agent prints validates against the OCF 1.1 RelaxNG
//! schema (tests/schema/ra-api-1.1.rng, from ClusterLabs/OCF-spec) and, for
//! Debian's ocf-tester, against the OCF 1.0 DTD it names.

mod common;
use std::io::Write;
use std::process::{Command, Stdio};

fn metadata() -> Vec<u8> {
    let out = Command::new(common::agent_path()).arg("meta-data").output().expect("agent runs");
    assert!(out.status.success());
    out.stdout
}

fn xmllint(args: &[&str], input: &[u8], dir: &str) -> std::process::Output {
    let mut child = Command::new("xmllint")
        .args(args)
        .current_dir(dir)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("xmllint is installed (package libxml2-utils; make check installs it)");
    child.stdin.take().expect("stdin").write_all(input).expect("write");
    child.wait_with_output().expect("xmllint finishes")
}

#[test]
fn metadata_validates_against_the_ocf_1_1_schema() {
    let schema = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/schema/ra-api-1.1.rng");
    let out = xmllint(&["--noout", "--relaxng", schema, "-"], &metadata(), ".");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
}

#[test]
fn metadata_validates_against_the_dtd_ocf_tester_uses() {
    let dir = "/usr/share/resource-agents";
    assert!(
        std::path::Path::new(dir).join("ra-api-1.dtd").exists(),
        "ra-api-1.dtd missing: install resource-agents (make check does)"
    );
    let out = xmllint(&["--noout", "--valid", "-"], &metadata(), dir);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
}

#[test]
fn metadata_works_without_root_and_without_environment() {
    let out = Command::new("setpriv")
        .args(["--reuid=nobody", "--regid=nogroup", "--clear-groups"])
        .arg(common::agent_path())
        .arg("meta-data")
        .env_clear()
        .output()
        .expect("setpriv runs");
    assert!(out.status.success(), "{out:?}");
    assert_eq!(out.stdout, metadata());
}
