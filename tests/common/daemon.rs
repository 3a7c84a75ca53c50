//! A daemon a test runs inside a node namespace, with a private mount
//! namespace of its own (tmpfs over its configuration and state, its own
//! system bus), set up by a shell script that ends by exec'ing it: the
//! child is the daemon. Ended with the test.

use super::Netns;
use std::process::{Child, Command, Stdio};

pub struct NodeDaemon {
    child: Child,
}

impl NodeDaemon {
    /// Runs `script` (with `env`) in `node`'s network namespace and a new
    /// mount namespace.
    pub fn spawn(node: &Netns, script: &str, env: &[(&str, &str)]) -> NodeDaemon {
        let child = Command::new("unshare")
            .args(["-m", "--propagation", "private", "ip", "netns", "exec", &node.name, "bash", "-c", script])
            .envs(env.iter().copied())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("unshare, ip and bash (make check installs the daemons)");
        NodeDaemon { child }
    }

    /// Runs `program` in the daemon's namespaces, where its bus is; its
    /// output and errors together.
    pub fn tool(&self, program: &str, args: &[&str]) -> String {
        let pid = self.child.id().to_string();
        let out = Command::new("nsenter").args(["-t", &pid, "-m", "-n", program]).args(args).output();
        let out = out.expect("nsenter");
        format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr))
    }

    /// The daemon's pid.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Ends the daemon and starts `program` in its place, in the namespaces
    /// that `anchor` (a process of the set-up that outlives it, such as its
    /// bus) keeps alive.
    pub fn restart(&mut self, anchor: u32, program: &str) {
        self.end();
        self.child = Command::new("nsenter")
            .args(["-t", &anchor.to_string(), "-m", "-n", program])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("nsenter");
    }

    fn end(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for NodeDaemon {
    fn drop(&mut self) {
        self.end();
    }
}
