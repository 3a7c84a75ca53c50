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
# cib.xml), HOSTS_FILE (optional /etc/hosts naming the nodes, for crmsh).
set -euo pipefail

mount --make-rprivate /
for dir in /etc/corosync /var/lib/corosync /var/lib/pacemaker /var/log/pacemaker /var/log/cluster /run /dev/shm; do
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
mkdir -p /usr/lib/ocf/resource.d/rust
mount --bind "$AGENT_DIR" /usr/lib/ocf/resource.d/rust
cp "$COROSYNC_CONF" /etc/corosync/corosync.conf
if [ -n "${HOSTS_FILE:-}" ]; then
    mount --bind "$HOSTS_FILE" /etc/hosts
fi
if [ -n "${CIB_SEED:-}" ]; then
    install -o hacluster -g haclient -m 0600 "$CIB_SEED" /var/lib/pacemaker/cib/cib.xml
fi

corosync
for _ in $(seq 1 100); do
    corosync-cfgtool -s >/dev/null 2>&1 && break
    sleep 0.1
done
export PCMK_logfile=/var/log/pacemaker/pacemaker.log
exec pacemakerd
