#!/usr/bin/env bash
# Runs one of resource-agents' ocft suites for IPaddr2 (IPaddr2, IPaddr2v4,
# IPaddr2v6) against AGENT, an OCF agent's path. Called by tests/ocft.rs
# inside `ip netns exec NS`, which gives it a network namespace with eth0
# and eth1 and a private mount namespace: ocft's case directory, its run
# log in /tmp and the agents' HA_RSCTMP are private tmpfs mounts, so
# parallel runs never meet.
# usage: ocft.sh AGENT CONFIG [upstream-4.18]
# With upstream-4.18, the suite as resource-agents 4.17 and 4.18 ship it:
# Debian's with upstream's one change since (commit 32f1e2d, "exit code has
# changed when findif fails"): a start with an invalid ip, cidr_netmask,
# broadcast or nic expects OCF_ERR_INSTALLED.
set -euo pipefail
agent=$1
config=$2
edition=${3:-debian}
for dir in /var/lib/resource-agents /run/resource-agents /tmp; do
    mkdir -p "$dir"
    mount -t tmpfs -o mode=0755 tmpfs "$dir"
    # A checkout under /tmp is hidden by the mount above: the agent runs
    # from a copy made before it.
    if [ "$dir" = /var/lib/resource-agents ]; then
        mkdir "$dir/agent-under-test"
        cp "$agent" "$dir/agent-under-test/"
        agent=$dir/agent-under-test/$(basename "$agent")
    fi
done
mkdir /tmp/configs
# The suite as resource-agents ships it, pointed at AGENT.
upstream=()
if [ "$edition" = upstream-4.18 ]; then
    upstream=(-e "/^CASE \"check base env: set invalid/,/^\$/ s/AgentRun start OCF_ERR_CONFIGURED/AgentRun start OCF_ERR_INSTALLED/")
fi
sed -e "s|^\([[:space:]]*\)Agent .*|\1Agent $(basename "$agent")|" \
    -e "s|^\([[:space:]]*\)AgentRoot .*|\1AgentRoot $(dirname "$agent")|" \
    "${upstream[@]}" \
    "/usr/share/resource-agents/ocft/configs/$config" > "/tmp/configs/$config"
ocft make -d /tmp/configs "$config" >/dev/null
ocft test "$config"
