//! `IPaddr explain`: what the agent would do and what it sees, for an
//! admin debugging a VIP — resolved NIC, prefix, broadcast, label, where the
//! address is, the link, whether another host answers for it, and why
//! ifconfig may not show it. Text, or JSON with `--format json`. It changes
//! nothing on the host.

use super::{Invocation, prepare, print_all};
use crate::error::AgentResult;
use crate::invocation::OutputFormat;
use crate::observe::history;
use crate::ocf::ExitCode;
use crate::params::Strictness;
use crate::store::{Kind, ResourceKey, RunDir};
use crate::vip::convergence::Convergence;
use crate::vip::parts::Part;
use crate::vip::place::link_problem;
use crate::vip::record::Record;
use crate::vip::wire::Wire;
use crate::vip::{Placement, Whereabouts};
use serde_json::{Value, json};

/// How many of the VIP's latest events explain shows.
const SHOWN_EVENTS: usize = 20;

pub(super) fn run(inv: &Invocation, format: OutputFormat) -> AgentResult<ExitCode> {
    let prepared = match prepare(inv, Strictness::Strict)? {
        Ok(prepared) => prepared,
        Err(code) => return Ok(code),
    };
    let vip = prepared.vip(inv);
    let params = vip.params;
    let mut report = json!({
        "ip": params.ip.to_string(),
        "family": if params.is_ipv4() { "IPv4" } else { "IPv6" },
    });
    if let Some(host) = vip.host_name {
        report["host_name"] = json!(host.name);
    }
    if let Some(record) = vip.record {
        report["record"] = json!({ "nic": record.nic, "index": record.ifindex, "prefix": record.prefix, "label": record.label });
    }
    report["events"] = events_of(&inv.run_dir(), vip.key);
    // By hand, without a resource's name, the address is the key: the
    // Pacemaker resources of this address keep their own records.
    if inv.env.instance.is_none() {
        report["resources"] = Record::of_resources(&inv.run_dir(), params.ip)
            .into_iter()
            .map(|(key, record)| {
                let convergence =
                    inv.run_dir().load::<Convergence>(&key.file(Kind::Convergence)).ok().flatten();
                json!({
                    "resource": record.resource,
                    "nic": record.nic,
                    "prefix": record.prefix,
                    "label": record.label,
                    "events": events_of(&inv.run_dir(), &key),
                    "neighbours": convergence.as_ref().map(neighbours),
                })
            })
            .collect();
    }
    let (placement, placed_now) = vip.placement()?;
    let target = match placement {
        Placement::Target(target) => target,
        Placement::Unplaced(lack) => {
            report["problem"] = json!(lack.reason());
            return print(&report, format);
        }
    };
    // Where this resource's own address is: by its record when it has one.
    let state = if vip.record.is_some() { vip.whereabouts()? } else { placed_now };
    let source = |given: bool| if given { "given" } else { "discovered" };
    report["nic"] =
        json!({ "name": target.nic(), "index": target.ifindex(), "source": source(params.nic.is_some()) });
    report["prefix"] = json!({ "length": target.prefix, "source": source(params.prefix.is_some()) });
    report["broadcast"] = json!(target.broadcast.map(|b| b.to_string()));
    report["label"] = json!(target.label);
    if let Some(link) = &target.site.link {
        report["link"] = json!({
            "admin_up": link.admin_up,
            "operstate": format!("{:?}", link.oper_state),
            "mac": link.mac.map(|mac| mac.to_string()),
            "problem": link_problem(link),
        });
    }
    let hint = match &state {
        Whereabouts::InPlace { site, entry } => {
            let shown_label = entry.label.clone().unwrap_or_default();
            let unlabelled = params.is_ipv4() && (shown_label.is_empty() || shown_label == site.nic);
            report["state"] = json!({
                "status": "configured",
                "on": site.nic,
                "prefix": entry.prefix,
                "label": entry.label,
                "tentative": entry.is_tentative(),
                "dad_failed": entry.is_dad_failed(),
            });
            unlabelled.then(|| {
                format!(
                    "{} has no label of its own, so ifconfig does not list it; `ip addr show dev {}` does, or set iflabel (ifconfig then shows {}:<label>)",
                    params.ip, site.nic, site.nic
                )
            })
        }
        Whereabouts::Absent | Whereabouts::Unplaced(_) => {
            report["state"] = json!({ "status": "absent" });
            None
        }
        Whereabouts::Foreign(foreign) if foreign.prefix.is_some() => {
            report["state"] =
                json!({ "status": "wrong prefix", "on": foreign.nic, "prefix": foreign.prefix });
            Some(foreign.describe(params.ip))
        }
        Whereabouts::Foreign(foreign) => {
            report["state"] = json!({ "status": "on another nic", "on": foreign.nic });
            Some(foreign.describe(params.ip))
        }
    };
    report["hint"] = json!(hint);
    if let Some(mac) = vip.virtual_mac() {
        report["virtual_mac"] = json!({
            "mac": mac.to_string(),
            "interface": vip.virtual_interface().virtual_link_name(),
            "parent": target.nic(),
            "present": vip.owned(Part::VirtualLink).left_over().is_some(),
        });
    }
    if let Some(cip) = &params.cluster_ip {
        let plan = vip.cluster_member(cip).plan(target.nic());
        let installed = crate::cluster_ip::find_program(plan.program()).is_some();
        report["cluster_ip"] = json!({
            "buckets": plan.total,
            "this_instance": plan.bucket,
            "filter": plan.program(),
            "filter_installed": installed,
            "shared_mac": plan.mac.to_string(),
            "served_here": if installed { plan.served().ok().map(Option::unwrap_or_default) } else { None },
        });
    }
    report["other_owner"] = match Wire::open(&vip, &target.site)? {
        // In a cluster IP every node answers for the VIP by design.
        Some(wire) if nix::unistd::geteuid().is_root() && params.cluster_ip.is_none() => {
            vip.probing().other_owner(&wire)?.map(|mac| mac.to_string()).into()
        }
        _ => Value::Null,
    };
    report["running_here"] = json!(matches!(state, Whereabouts::InPlace { .. }));
    report["neighbours"] = vip.neighbours().state().as_ref().map(neighbours).unwrap_or(Value::Null);
    print(&report, format)
}

/// The latest events of the resource `key`.
fn events_of(run_dir: &RunDir, key: &ResourceKey) -> Value {
    let events = history::last(run_dir, &crate::observe::history_file(key), SHOWN_EVENTS);
    events
        .iter()
        .map(|e| {
            let (event, detail) = (e.event.name(), e.event.detail());
            json!({ "time": e.time, "utc": history::utc(e.time), "event": event, "detail": detail })
        })
        .collect()
}

/// Which gateways were asked since the add, and whether they answered.
fn neighbours(c: &Convergence) -> Value {
    json!({
        "gateways": c.gateways.iter().map(ToString::to_string).collect::<Vec<_>>(),
        "silent": c.pending.iter().map(ToString::to_string).collect::<Vec<_>>(),
        "converged_after_ms": c.after_ms,
    })
}

fn print(report: &Value, format: OutputFormat) -> AgentResult<ExitCode> {
    let text = match format {
        OutputFormat::Json => format!("{}\n", serde_json::to_string_pretty(report).unwrap_or_default()),
        OutputFormat::Text => as_text(report),
    };
    print_all(&text)
}

/// One `name  value` line per fact, in a stable order.
fn as_text(report: &Value) -> String {
    let mut out = format!("VIP {} ({})\n", show(&report["ip"]), show(&report["family"]));
    if let Some(problem) = report.get("problem") {
        out.push_str(&format!("  problem      {}\n", show(problem)));
        return out + &events_text(report) + &resources_text(report);
    }
    let nic = &report["nic"];
    out.push_str(&format!(
        "  nic          {} (index {}, {})\n",
        show(&nic["name"]),
        show(&nic["index"]),
        show(&nic["source"])
    ));
    out.push_str(&format!(
        "  prefix       /{} ({})\n",
        show(&report["prefix"]["length"]),
        show(&report["prefix"]["source"])
    ));
    out.push_str(&format!("  broadcast    {}\n", show(&report["broadcast"])));
    out.push_str(&format!("  label        {}\n", show(&report["label"])));
    let link = &report["link"];
    if !link.is_null() {
        let problem = match &link["problem"] {
            Value::Null => "usable".to_string(),
            p => show(p),
        };
        out.push_str(&format!(
            "  link         {} (operstate {}, MAC {})\n",
            problem,
            show(&link["operstate"]),
            show(&link["mac"])
        ));
    }
    let state = &report["state"];
    out.push_str(&format!("  state        {}", show(&state["status"])));
    if !state["on"].is_null() {
        out.push_str(&format!(" on {}", show(&state["on"])));
    }
    if !state["prefix"].is_null() {
        out.push_str(&format!(" with prefix /{}", show(&state["prefix"])));
    }
    out.push('\n');
    let virtual_mac = &report["virtual_mac"];
    if !virtual_mac.is_null() {
        let present = if virtual_mac["present"] == Value::Bool(true) { "present" } else { "not present" };
        out.push_str(&format!(
            "  virtual mac  {} on {} (macvlan on {}, {present})\n",
            show(&virtual_mac["mac"]),
            show(&virtual_mac["interface"]),
            show(&virtual_mac["parent"])
        ));
    }
    let cip = &report["cluster_ip"];
    if !cip.is_null() {
        out.push_str(&format!(
            "  cluster ip   bucket {} of {} via {}{}, shared MAC {}, buckets served here: {}\n",
            show(&cip["this_instance"]),
            show(&cip["buckets"]),
            show(&cip["filter"]),
            if cip["filter_installed"] == Value::Bool(true) { "" } else { " (NOT INSTALLED)" },
            show(&cip["shared_mac"]),
            show(&cip["served_here"])
        ));
    }
    let owner = match &report["other_owner"] {
        Value::Null => "nobody else answered a probe for it".to_string(),
        mac => format!("{} ANSWERS FOR IT: another host holds this address", show(mac)),
    };
    out.push_str(&format!("  other hosts  {owner}\n"));
    out.push_str(&neighbours_text(&report["neighbours"], "  "));
    if let Value::String(hint) = &report["hint"] {
        out.push_str(&format!("  hint         {hint}\n"));
    }
    out + &events_text(report) + &resources_text(report)
}

fn show(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Null => "-".to_string(),
        other => other.to_string(),
    }
}

/// Whether the neighbours followed the VIP, one line, or nothing.
fn neighbours_text(neighbours: &Value, indent: &str) -> String {
    if neighbours.is_null() {
        return String::new();
    }
    let list = |v: &Value| {
        v.as_array().map(|a| a.iter().map(show).collect::<Vec<_>>().join(", ")).unwrap_or_default()
    };
    let told = match &neighbours["converged_after_ms"] {
        Value::Null => format!("NOT PROVEN: {} has not answered the VIP", list(&neighbours["silent"])),
        ms => format!("converged after {} ms ({} answered the VIP)", show(ms), list(&neighbours["gateways"])),
    };
    format!("{indent}neighbours   {told}\n")
}

/// The Pacemaker resources of the address, each with where its record
/// puts it, its neighbours and its events (explain by address).
fn resources_text(report: &Value) -> String {
    let Some(resources) = report["resources"].as_array().filter(|r| !r.is_empty()) else {
        return String::new();
    };
    let mut out = String::new();
    for resource in resources {
        out.push_str(&format!(
            "resource {} (record: {}/{} on {})\n",
            show(&resource["resource"]),
            show(&report["ip"]),
            show(&resource["prefix"]),
            show(&resource["nic"])
        ));
        out.push_str(&neighbours_text(&resource["neighbours"], "  "));
        out.push_str(&events_text(resource));
    }
    out
}

/// The latest events, oldest first, one per line.
fn events_text(report: &Value) -> String {
    let Some(events) = report["events"].as_array().filter(|e| !e.is_empty()) else {
        return "  events       none recorded\n".to_string();
    };
    let mut out = String::from("  events\n");
    for event in events {
        let (utc, name, detail) = (&event["utc"], &event["event"], &event["detail"]);
        let line = format!(
            "    {} {} {}",
            utc.as_str().unwrap_or(""),
            name.as_str().unwrap_or(""),
            detail.as_str().unwrap_or("")
        );
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}
