//! Tracing as `crm resource trace` asks for it (the operation's
//! `trace_ra=1`, which ocf-shellfuncs reads for shell agents): the action's
//! environment and every log line, debug included, go to the trace file
//! where ocf-shellfuncs would put it, and stderr stays as quiet as without.

mod common;
use common::{Lab, ocf};
use std::path::Path;

const PARAMS: [(&str, &str); 3] = [("ip", "192.0.2.50"), ("cidr_netmask", "24"), ("nic", "eth0")];

/// The files under `dir`, recursively, with their contents.
fn files_under(dir: &Path) -> Vec<(String, String)> {
    let mut found = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).into_iter().flatten().flatten() {
            let path = entry.path();
            if path.is_dir() {
                stack.push(path);
            } else {
                let text = std::fs::read_to_string(&path).unwrap_or_default();
                found.push((path.display().to_string(), text));
            }
        }
    }
    found
}

#[test]
fn trace_ra_writes_the_environment_and_debug_lines_where_ocf_shellfuncs_would() {
    let lab = Lab::new();
    let trace_dir = lab.scratch("trace");
    let dir = trace_dir.to_string_lossy().into_owned();
    let env = [
        ("OCF_RESKEY_trace_ra", "1"),
        ("OCF_RESKEY_trace_dir", dir.as_str()),
        ("OCF_RESOURCE_TYPE", "IPaddr"),
        ("OCF_RESOURCE_INSTANCE", "vip"),
    ];
    let start = lab.agent_env(&lab.node, "start", &PARAMS, &env);
    assert_eq!(start.code, ocf::SUCCESS, "{start:#?}");
    assert!(!start.stderr.contains("DEBUG"), "stderr is as without tracing: {start:#?}");
    let validate = lab.agent_env(&lab.node, "validate-all", &PARAMS, &env);
    assert!(
        !validate.stderr.contains("unknown parameter"),
        "trace_ra is no unknown parameter: {validate:#?}"
    );

    let traces = files_under(&trace_dir);
    let (name, text) = traces
        .iter()
        .find(|(name, _)| name.contains("/IPaddr/vip.start."))
        .unwrap_or_else(|| panic!("no start trace under {dir}: {traces:?}"));
    let stamp = name.rsplit("vip.start.").next().unwrap();
    assert!(stamp.len() == "2026-12-04.23:59:59".len() && stamp.as_bytes()[10] == b'.', "{name}");
    assert!(
        text.contains("IPaddr start, environment:") && text.contains("OCF_RESKEY_ip=192.0.2.50"),
        "{text}"
    );
    assert!(text.contains("DEBUG:"), "debug lines go to the trace: {text}");
    assert!(text.contains("INFO: Adding inet address 192.0.2.50/24"), "{text}");
    assert!(traces.iter().any(|(name, _)| name.contains("/IPaddr/vip.validate-all.")), "{traces:?}");

    // OCF_TRACE_FILE as an absolute path wins over the default.
    let file = lab.scratch("tracefile");
    let path = file.to_string_lossy().into_owned();
    let mut with_file = env.to_vec();
    with_file.push(("OCF_TRACE_FILE", &path));
    assert_eq!(lab.agent_env(&lab.node, "stop", &PARAMS, &with_file).code, ocf::SUCCESS);
    let text = std::fs::read_to_string(&file).unwrap_or_default();
    assert!(text.contains("IPaddr stop, environment:") && text.contains("Removing 192.0.2.50/24"), "{text}");
    assert!(!files_under(&trace_dir).iter().any(|(name, _)| name.contains("vip.stop.")));

    // Without trace_ra nothing is written.
    let quiet = [
        ("OCF_RESKEY_trace_dir", dir.as_str()),
        ("OCF_RESOURCE_TYPE", "IPaddr"),
        ("OCF_RESOURCE_INSTANCE", "vip"),
    ];
    let before = files_under(&trace_dir).len();
    assert_eq!(lab.agent_env(&lab.node, "monitor", &PARAMS, &quiet).code, ocf::NOT_RUNNING);
    assert_eq!(files_under(&trace_dir).len(), before);
    let _ = std::fs::remove_dir_all(&trace_dir);
    let _ = std::fs::remove_file(&file);
}
