//! The exit-code table of docs/migration-from-ipaddr2.md ("Exit codes"),
//! walked: every row is a situation this test builds in a namespace, and
//! every code the row gives (validate-all, start, probe, recurring
//! monitor, stop) is what the agent answers there. A row without a
//! situation here, or a situation without its row, fails the test.

mod common;
use common::{Lab, NamespaceFile, ocf, wait_for};
use std::time::Duration;

const VIP: &str = "192.0.2.50";
const CIDR: &str = "192.0.2.50/24";

/// One row: the codes the docs give, `None` where they give none (—).
#[derive(Debug)]
struct Row {
    situation: String,
    codes: [Option<i32>; 5],
}

const COLUMNS: [&str; 5] = ["validate-all", "start", "probe", "recurring monitor", "stop"];

fn table() -> Vec<Row> {
    let text =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/docs/migration-from-ipaddr2.md"))
            .expect("the migration guide");
    let section = text.split("\n## Exit codes\n").nth(1).expect("an Exit codes section");
    let code = |cell: &str| -> Option<i32> {
        let digits: String = cell.chars().take_while(char::is_ascii_digit).collect();
        match cell {
            "—" => None,
            _ => Some(digits.parse().unwrap_or_else(|_| panic!("a cell that is no exit code: {cell:?}"))),
        }
    };
    section
        .lines()
        .skip_while(|line| !line.starts_with('|'))
        .take_while(|line| line.starts_with('|'))
        .skip(2) // the header and its rule
        .map(|line| {
            let cells: Vec<&str> = line.trim().trim_matches('|').split(" | ").map(str::trim).collect();
            assert_eq!(cells.len(), 6, "a row of six cells: {line}");
            Row {
                situation: cells[0].to_string(),
                codes: [code(cells[1]), code(cells[2]), code(cells[3]), code(cells[4]), code(cells[5])],
            }
        })
        .collect()
}

/// What a situation's actions run with, and what keeps it alive.
struct Situation {
    lab: Lab,
    params: Vec<(&'static str, String)>,
    env: Vec<(&'static str, &'static str)>,
    _hosts: Option<NamespaceFile>,
}

impl Situation {
    fn new(params: &[(&'static str, &str)]) -> Situation {
        let params = params.iter().map(|(k, v)| (*k, v.to_string())).collect();
        Situation { lab: Lab::new(), params, env: vec![("OCF_RESOURCE_INSTANCE", "vip")], _hosts: None }
    }

    fn run(&self, action: &str, extra_env: &[(&str, &str)]) -> common::Run {
        let params: Vec<(&str, &str)> = self.params.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let mut env = self.env.clone();
        env.extend_from_slice(extra_env);
        self.lab.agent_env(&self.lab.node, action, &params, &env)
    }

    fn start(&self) {
        let start = self.run("start", &[]);
        assert_eq!(start.code, ocf::SUCCESS, "setting up: {start:#?}");
    }
}

/// Pacemaker's calls for each column: a probe is a monitor of interval 0;
/// the recurring monitor comes from an OCF 1.1 caller (190 understood).
fn column_env(column: usize) -> Vec<(&'static str, &'static str)> {
    match column {
        2 => vec![("OCF_RESKEY_CRM_meta_interval", "0")],
        3 => vec![
            ("OCF_RESKEY_CRM_meta_interval", "10000"),
            ("OCF_RA_VERSION_MAJOR", "1"),
            ("OCF_RA_VERSION_MINOR", "1"),
            ("OCF_RESKEY_crm_feature_set", "3.16.2"),
        ],
        _ => Vec::new(),
    }
}

const BASE: [(&str, &str); 3] = [("ip", VIP), ("cidr_netmask", "24"), ("nic", "eth0")];

fn delete_vip(s: &Situation) {
    s.lab.node.ip(&["addr", "del", CIDR, "dev", "eth0"]);
}

/// The history's events of `name` so far.
fn events_named(s: &Situation, name: &str) -> usize {
    let params: Vec<(&str, &str)> = s.params.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let report = common::explain_report(&s.lab.node, &s.lab.rsctmp, "vip", &params);
    report["events"].as_array().map_or(0, |events| events.iter().filter(|e| e["event"] == name).count())
}

/// The situation a row describes, found by words of its first cell.
fn situation(row: &str) -> Option<Situation> {
    let s = if row.contains("is where this resource put it") {
        let s = Situation::new(&BASE);
        s.start();
        s
    } else if row.contains("is on no interface") {
        Situation::new(&BASE)
    } else if row.contains("`nic` does not exist on this node") {
        Situation::new(&[("ip", VIP), ("cidr_netmask", "24"), ("nic", "eth9")])
    } else if row.contains("no route places the VIP") {
        Situation::new(&[("ip", "198.51.100.50"), ("cidr_netmask", "24")])
    } else if row.contains("`network_namespace` missing") {
        Situation::new(&[("ip", VIP), ("cidr_netmask", "24"), ("network_namespace", "nowhere")])
    } else if row.contains("host name this node's /etc/hosts lacks") {
        let mut s = Situation::new(&[("ip", "vip-web"), ("cidr_netmask", "24"), ("nic", "eth0")]);
        s._hosts = Some(NamespaceFile::new(&s.lab.node, "hosts", b"127.0.0.1 localhost\n"));
        s
    } else if row.contains("a parameter can never work") {
        Situation::new(&[("ip", VIP), ("cidr_netmask", "99"), ("nic", "eth0")])
    } else if row.contains("`virtual_mac` is already the MAC of an interface on `nic`'s link") {
        let mut s = Situation::new(&BASE);
        let mac = s.lab.node.mac("eth0");
        s.params.push(("virtual_mac", mac));
        s
    } else if row.contains("a copy of the address this resource did not add") {
        let s = Situation::new(&BASE);
        s.lab.node.ip(&["addr", "add", CIDR, "dev", "eth0", "label", "eth0:hand"]);
        s
    } else if row.contains("probing finds another host using the address") {
        let s = Situation::new(&BASE);
        s.lab.client.ip(&["addr", "add", CIDR, "dev", "eth0"]);
        s
    } else if row.contains("the watcher put it back") {
        let s = Situation::new(&BASE);
        s.start();
        delete_vip(&s);
        let repaired = wait_for(Duration::from_secs(10), || events_named(&s, "repaired") == 1);
        assert!(repaired.is_some(), "the watcher puts the VIP back");
        s
    } else if row.contains("the watcher left it so") {
        let s = Situation::new(&BASE);
        s.start();
        for n in 1..=3 {
            delete_vip(&s);
            let repaired = wait_for(Duration::from_secs(10), || events_named(&s, "repaired") == n);
            assert!(repaired.is_some(), "repair {n}");
        }
        delete_vip(&s);
        let left = wait_for(Duration::from_secs(10), || events_named(&s, "not-repaired") == 1);
        assert!(left.is_some(), "the fourth removal in 60 s is left to Pacemaker");
        s
    } else if row.contains("bucket rule is gone") {
        let mut s =
            Situation::new(&[("ip", "192.0.2.60"), ("cidr_netmask", "24"), ("clusterip_firewall", "nft")]);
        s.env = vec![
            ("OCF_RESKEY_CRM_meta_clone_max", "2"),
            ("OCF_RESKEY_CRM_meta_globally_unique", "true"),
            ("OCF_RESKEY_CRM_meta_clone", "0"),
        ];
        s.start();
        // Instance 1 (bucket 2) ran here too; someone deleted its rule.
        s.env[2].1 = "1";
        s.start();
        let out =
            s.lab.node.exec("nft", &["-a", "list", "chain", "ip", "ocf_ipaddr_192_0_2_60", "prerouting"]);
        let text = String::from_utf8_lossy(&out.stdout).into_owned();
        let line = text.lines().find(|l| l.contains("\"ocf-ipaddr bucket 2\"")).expect("bucket 2's rule");
        let handle = line.rsplit("handle ").next().expect("its handle").trim().to_string();
        let deleted = s
            .lab
            .node
            .exec("nft", &["delete", "rule", "ip", "ocf_ipaddr_192_0_2_60", "prerouting", "handle", &handle]);
        assert!(deleted.status.success(), "{deleted:?}");
        s
    } else {
        return None;
    };
    Some(s)
}

#[test]
fn every_row_of_the_documented_exit_code_table_is_what_the_agent_answers() {
    let rows = table();
    assert!(rows.len() >= 10, "the table: {rows:?}");
    let mut wrong = Vec::new();
    for row in &rows {
        let Some(s) = situation(&row.situation) else {
            wrong.push(format!("no situation for the row \"{}\"", row.situation));
            continue;
        };
        // In the order that keeps each column's situation: the checks that
        // change nothing first, then start, then stop.
        for column in [0, 2, 3, 1, 4] {
            let Some(expected) = row.codes[column] else { continue };
            let action = match column {
                0 => "validate-all",
                1 => "start",
                4 => "stop",
                _ => "monitor",
            };
            let run = s.run(action, &column_env(column));
            if run.code != expected {
                wrong.push(format!(
                    "\"{}\", {}: the docs say {expected}, the agent answers {} ({})",
                    row.situation,
                    COLUMNS[column],
                    run.code,
                    run.reasons().join("; ")
                ));
            }
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}
