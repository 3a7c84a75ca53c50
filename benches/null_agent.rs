//! The do-nothing OCF agent of `make bench`: answers every action at once,
//! so a cluster of its resources shows the cost Pacemaker itself imposes.
//! It keeps the least state an agent can (one empty file per running
//! resource) so that probes, starts, monitors and stops mean what they say.
//! Built static, like the agent, so both pay the same to be started.

use std::path::PathBuf;
use std::process::ExitCode;

const OCF_SUCCESS: u8 = 0;
const OCF_ERR_UNIMPLEMENTED: u8 = 3;
const OCF_NOT_RUNNING: u8 = 7;

const METADATA: &str = r#"<?xml version="1.0"?>
<!DOCTYPE resource-agent SYSTEM "ra-api-1.dtd">
<resource-agent name="null" version="1.0">
<version>1.1</version>
<longdesc lang="en">Does nothing, at once: the benchmark's floor.</longdesc>
<shortdesc lang="en">Do-nothing agent</shortdesc>
<parameters>
<parameter name="ip" unique-group="address" required="1">
<longdesc lang="en">Taken and ignored, like every other parameter.</longdesc>
<shortdesc lang="en">Ignored</shortdesc>
<content type="string"/>
</parameter>
</parameters>
<actions>
<action name="start" timeout="20s"/>
<action name="stop" timeout="20s"/>
<action name="monitor" timeout="20s" interval="10s" depth="0"/>
<action name="validate-all" timeout="20s"/>
<action name="meta-data" timeout="5s"/>
</actions>
</resource-agent>
"#;

fn state_file() -> PathBuf {
    let dir = std::env::var_os("HA_RSCTMP").unwrap_or_else(|| "/run/resource-agents".into());
    let instance = std::env::var("OCF_RESOURCE_INSTANCE").unwrap_or_default();
    PathBuf::from(dir).join(format!("null-{instance}"))
}

fn main() -> ExitCode {
    let action = std::env::args().nth(1).unwrap_or_default();
    let code = match action.as_str() {
        "meta-data" => {
            print!("{METADATA}");
            OCF_SUCCESS
        }
        "start" => match std::fs::File::create(state_file()) {
            Ok(_) => OCF_SUCCESS,
            Err(_) => 1,
        },
        "stop" => match std::fs::remove_file(state_file()) {
            Err(err) if err.kind() != std::io::ErrorKind::NotFound => 1,
            _ => OCF_SUCCESS,
        },
        "monitor" | "status" if state_file().exists() => OCF_SUCCESS,
        "monitor" | "status" => OCF_NOT_RUNNING,
        "validate-all" => OCF_SUCCESS,
        _ => OCF_ERR_UNIMPLEMENTED,
    };
    ExitCode::from(code)
}
