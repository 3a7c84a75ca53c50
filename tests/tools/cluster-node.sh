#!/usr/bin/env bash
# Runs one cluster node: called by the test harness (and make demo) inside
# `ip netns exec NODE`, which gives it a network namespace and a private
# mount namespace. Mounts private state directories, installs the agent
# under test, writes corosync.conf from $COROSYNC_CONF, starts corosync,
# waits for it, then becomes pacemakerd (exec), so the caller's pid is
# pacemakerd's: `nsenter -t PID -m -n` reaches this node's daemons.
#
# Environment: NODE_NAME, COROSYNC_CONF (file), AGENT_DIR (directory with
# IPaddr to appear as /usr/lib/ocf/resource.d/rust), CIB_SEED (optional
# cib.xml), HOSTS_FILE (optional /etc/hosts naming the nodes, for crmsh),
# RUN_STATE (optional directory kept as /run/resource-agents, so the agents'
# run-time files outlive a restart of the cluster stack, as on a host that
# did not reboot), EXECD_ONLY (optional: run pacemaker-execd alone, without
# Corosync and the rest of Pacemaker), STACK_ROOT (optional: another
# distribution's root, e.g. Debian 13's from tests/tools/debian13-root.sh,
# whose cluster stack runs instead of the host's; the files above must all
# live under CLUSTER_DIR).
set -euo pipefail

mount --make-rprivate /
if [ -n "${STACK_ROOT:-}" ]; then
    # `ip netns` and the daemons expect the root to be a mount point with
    # this namespace's own proc and sys.
    mount --bind "$STACK_ROOT" "$STACK_ROOT"
    mount -t proc proc "$STACK_ROOT/proc"
    mount -t sysfs sysfs "$STACK_ROOT/sys"
    mount --rbind /dev "$STACK_ROOT/dev"
    here=$(cd "$(dirname "$0")" && pwd)
    for dir in "$here" "$CLUSTER_DIR"; do
        mkdir -p "$STACK_ROOT$dir"
        # rbind: the node's run-state tmpfs lives below CLUSTER_DIR.
        mount --rbind "$dir" "$STACK_ROOT$dir"
    done
    exec env -u STACK_ROOT chroot "$STACK_ROOT" "$here/$(basename "$0")"
fi
# /var/lib/prometheus/node-exporter: each node's own textfile directory
# (root's, 0755, as Debian's prometheus-node-exporter ships it).
# /var/lib/heartbeat: where `crm resource trace` makes agents write traces.
for dir in /etc/corosync /var/lib/corosync /var/lib/pacemaker /var/log/pacemaker /var/log/cluster /run /dev/shm \
    /var/lib/prometheus/node-exporter /var/lib/heartbeat; do
    mkdir -p "$dir"
    mount -t tmpfs -o mode=0755 tmpfs "$dir"
done
chmod 1777 /dev/shm
for dir in cib pengine blackbox cores; do
    install -d -o hacluster -g haclient -m 0750 "/var/lib/pacemaker/$dir"
done
chown hacluster:haclient /var/log/pacemaker /var/log/cluster
install -d -o hacluster -g haclient -m 0750 /run/crm
mkdir -p /run/resource-agents /run/lock
if [ -n "${RUN_STATE:-}" ]; then
    mount --bind "$RUN_STATE" /run/resource-agents
fi
mkdir -p /usr/lib/ocf/resource.d/rust
mount --bind "$AGENT_DIR" /usr/lib/ocf/resource.d/rust
cp "$COROSYNC_CONF" /etc/corosync/corosync.conf
if [ -n "${HOSTS_FILE:-}" ]; then
    mount --bind "$HOSTS_FILE" /etc/hosts
fi
if [ -n "${CIB_SEED:-}" ]; then
    install -o hacluster -g haclient -m 0600 "$CIB_SEED" /var/lib/pacemaker/cib/cib.xml
fi

export PCMK_logfile=/var/log/pacemaker/pacemaker.log
if [ -n "${EXECD_ONLY:-}" ]; then
    # Pacemaker's executor alone, as its own conformance tests run it: the
    # caller drives it with cts-exec-helper.
    exec /usr/lib/pacemaker/pacemaker-execd
fi
corosync
for _ in $(seq 1 100); do
    corosync-cfgtool -s >/dev/null 2>&1 && break
    sleep 0.1
done
exec pacemakerd
