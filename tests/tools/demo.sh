#!/usr/bin/env bash
# make demo: a real failover. Two Pacemaker/Corosync nodes and a client,
# each in its own network namespace on one Ethernet segment; the VIP is
# created with crm, the client pings it, the active node is put in standby,
# and the timeline of the move is printed. Then the new node's network
# manager (systemd-networkd, which manages eth0 without KeepConfiguration)
# reconfigures eth0 and drops the VIP it did not configure: the resource's
# watcher puts it back and says who removed it. Everything is removed at
# the end.
set -euo pipefail

AGENT=$(realpath "${1:-target/release/IPaddr}")
HERE=$(cd "$(dirname "$0")" && pwd)
VIP=192.0.2.50
TAG="oidemo$$"
WORK=$(mktemp -d)
NODES=("$TAG-n1" "$TAG-n2")
CLIENT="$TAG-client" SEG="$TAG-seg"
declare -A PACEMAKERD NETWORKD

bold() { printf '\033[1m%s\033[0m\n' "$*"; }
now_ms() { echo $(( $(date +%s%N) / 1000000 )); }
on() { local i=$1; shift; nsenter -t "${PACEMAKERD[$i]}" -m -n -- "$@"; }
# Every wait is for a condition, polled, with a limit: never a fixed time.
wait_for() { # wait_for LIMIT_MS COMMAND...: until COMMAND succeeds, or LIMIT_MS passed
    local limit=$1 start; shift; start=$(now_ms)
    until "$@"; do (( $(now_ms) - start < limit )) || return 1; sleep 0.05; done
}
replies() { grep -c 'bytes from' "$1" 2>/dev/null || true; }
replies_past() { (( $(replies "$1") > $2 )); } # replies_past LOG N: more than N replies logged

cleanup() {
    set +e
    for i in 0 1; do
        [ -n "${PACEMAKERD[$i]:-}" ] && kill -TERM "${PACEMAKERD[$i]}" 2>/dev/null
    done
    for i in 0 1; do
        for _ in $(seq 1 100); do kill -0 "${PACEMAKERD[$i]:-0}" 2>/dev/null || break; sleep 0.1; done
        ip netns exec "${NODES[$i]}" corosync-cfgtool -H >/dev/null 2>&1
    done
    for ns in "${NODES[@]}" "$CLIENT" "$SEG"; do
        for pid in $(ip netns pids "$ns" 2>/dev/null); do kill -9 "$pid" 2>/dev/null; done
        ip netns del "$ns" 2>/dev/null
    done
    rm -rf "$WORK"
}
trap cleanup EXIT

bold "1. Two nodes and a client on one segment (network namespaces, a bridge)"
ip netns add "$SEG"
ip -n "$SEG" link add br0 type bridge
ip -n "$SEG" link set br0 up
join() { # join NS LEG
    ip netns add "$1"
    ip -n "$1" link set lo up
    ip -n "$SEG" link add "$2" type veth peer name eth0 netns "$1"
    ip -n "$SEG" link set "$2" master br0 up
    ip -n "$1" link set eth0 up
}
# The nodes' own addresses and default routes are systemd-networkd's (below).
join "${NODES[0]}" leg1
join "${NODES[1]}" leg2
join "$CLIENT" legc; ip -n "$CLIENT" addr add 192.0.2.100/24 dev eth0
ip netns exec "$CLIENT" sysctl -qw net.ipv4.neigh.eth0.locktime=0
# systemd-networkd manages each node's eth0: its own address, and the
# client as its gateway (the agent asks it, from the VIP, whether it follows
# the move: docs/what-clients-see.md). It runs in the node's network
# namespace and a mount namespace of its own: tmpfs over its configuration
# and state, its own system bus for networkctl, /sys read-only so that it
# does not wait for udev.
NETWORKD_SETUP='set -e
for dir in /etc/systemd/network /run/systemd /run/dbus /var/lib/systemd; do
    mkdir -p "$dir"; mount -t tmpfs tmpfs "$dir"
done
mount -o remount,ro /sys
printf "[Match]\nName=eth0\n[Network]\nAddress=%s/24\nGateway=192.0.2.100\nLinkLocalAddressing=no\nIPv6AcceptRA=no\n" "$ADDRESS" \
    >/etc/systemd/network/10-eth0.network
mkdir -p /run/systemd/netif
chown systemd-network:systemd-network /run/systemd/netif
dbus-daemon --system --fork --nopidfile
exec /lib/systemd/systemd-networkd'
for i in 0 1; do
    ADDRESS="192.0.2.1$((i + 1))" unshare -m --propagation private \
        ip netns exec "${NODES[$i]}" bash -c "$NETWORKD_SETUP" >"$WORK/networkd$i.log" 2>&1 &
    NETWORKD[$i]=$!
    disown "${NETWORKD[$i]}" # ended with the namespace, silently
done
networkctl_on() { local i=$1; shift; nsenter -t "${NETWORKD[$i]}" -m -n networkctl "$@"; }
# Ready when networkd itself, over its bus, says it configured eth0 (its
# state file alone could be a previous networkd's).
networkd_state() { # networkd_state NODE_INDEX: eth0's administrative state as networkd answers it
    local ifindex
    ifindex=$(ip -n "${NODES[$1]}" -o link show eth0 | cut -d: -f1)
    # sd-bus escapes a label's leading digit as _ and its hex code: digit d is _3d.
    nsenter -t "${NETWORKD[$1]}" -m -n busctl --system get-property org.freedesktop.network1 \
        "/org/freedesktop/network1/link/_3$ifindex" org.freedesktop.network1.Link AdministrativeState 2>/dev/null
}
T_NETWORKD=$(now_ms)
for i in 0 1; do
    until [ "$(networkd_state "$i")" = 's "configured"' ]; do
        (( $(now_ms) - T_NETWORKD < 90000 )) || { echo "systemd-networkd did not configure eth0 on node$((i + 1)): $(networkd_state "$i"); $(cat "$WORK/networkd$i.log"; ps -o pid,stat,cmd -p "${NETWORKD[$i]}")"; exit 1; }
        sleep 0.1
    done
done
mkdir -p "$WORK/agent" /usr/lib/ocf/resource.d/rust
cp "$AGENT" "$WORK/agent/IPaddr"
printf '127.0.0.1 localhost\n192.0.2.11 node1\n192.0.2.12 node2\n' >"$WORK/hosts"
cat >"$WORK/corosync.conf" <<CONF
totem {
    version: 2
    cluster_name: demo
    transport: knet
    crypto_cipher: none
    crypto_hash: none
    token: 1000
}
nodelist {
    node {
        ring0_addr: 192.0.2.11
        name: node1
        nodeid: 1
    }
    node {
        ring0_addr: 192.0.2.12
        name: node2
        nodeid: 2
    }
}
quorum {
    provider: corosync_votequorum
    two_node: 1
}
logging {
    to_syslog: no
    to_stderr: no
}
CONF
# stonith-enabled=false: nothing in a namespace can be fenced. Demo only.
cat >"$WORK/cib.xml" <<'CIB'
<cib validate-with="pacemaker-3.9" epoch="1" num_updates="0" admin_epoch="0">
  <configuration>
    <crm_config>
      <cluster_property_set id="cib-bootstrap-options">
        <nvpair id="o1" name="stonith-enabled" value="false"/>
        <nvpair id="o2" name="dc-deadtime" value="2s"/>
      </cluster_property_set>
    </crm_config>
    <nodes/><resources/><constraints/>
    <rsc_defaults><meta_attributes id="rd"><nvpair id="rd1" name="resource-stickiness" value="100"/></meta_attributes></rsc_defaults>
  </configuration>
  <status/>
</cib>
CIB
echo "  node1 192.0.2.11, node2 192.0.2.12, client (and the nodes' gateway) 192.0.2.100; VIP $VIP"

bold "2. Starting Corosync and Pacemaker on both nodes"
T_BOOT=$(now_ms)
for i in 0 1; do
    ip netns exec "${NODES[$i]}" env NODE_NAME="node$((i + 1))" COROSYNC_CONF="$WORK/corosync.conf" \
        AGENT_DIR="$WORK/agent" CIB_SEED="$WORK/cib.xml" HOSTS_FILE="$WORK/hosts" \
        "$HERE/cluster-node.sh" >"$WORK/node$i.out" 2>&1 &
    PACEMAKERD[$i]=$!
done
until on 0 crm_mon -1 2>/dev/null | grep -q 'Online: \[ node1 node2 \]'; do
    (( $(now_ms) - T_BOOT < 90000 )) || { echo "cluster did not form"; exit 1; }
    sleep 0.5
done
echo "  both nodes online after $(( $(now_ms) - T_BOOT )) ms"

bold "3. crm configure primitive vip ocf:rust:IPaddr params ip=$VIP cidr_netmask=24 op monitor interval=5s"
on 0 crm configure primitive vip ocf:rust:IPaddr params ip=$VIP cidr_netmask=24 op monitor interval=5s
where() { on 0 crm_resource --locate --resource vip 2>/dev/null | sed -n 's/.*running on: //p'; }
until [ -n "$(where)" ]; do sleep 0.2; done
ACTIVE=$(where)
ip netns exec "$CLIENT" ping -c 3 -i 0.2 "$VIP" | sed 's/^/  /' | grep -E 'bytes from|packet loss'
mac_of() { ip -n "$1" -o link show eth0 | sed -n 's/.*link\/ether \([^ ]*\).*/\1/p'; }
neigh() { ip -n "$CLIENT" neigh show "$VIP" | sed -n 's/.*lladdr \([^ ]*\).*/\1/p'; }
echo "  vip runs on $ACTIVE; the client's neighbor entry: $VIP -> $(neigh)"

case $ACTIVE in node1) FROM=0 TO=1 ;; *) FROM=1 TO=0 ;; esac
NEW_MAC=$(mac_of "${NODES[$TO]}")
bold "4. crm node standby $ACTIVE, while the client pings every 10 ms"
ip netns exec "$CLIENT" ping -D -n -i 0.01 -W 0.1 -w 15 "$VIP" >"$WORK/ping.log" 2>&1 &
PING=$!
# The kernel reports every neighbor change, with a microsecond timestamp.
ip -n "$CLIENT" -ts monitor neigh >"$WORK/neigh.log" 2>&1 &
MONITOR=$!
# A baseline of answered pings before the move.
wait_for 5000 replies_past "$WORK/ping.log" 20 || true
T0=$(now_ms)
on "$TO" crm node standby "$ACTIVE"
until [ "$(where)" = "node$((TO + 1))" ]; do sleep 0.1; done
# Until the client's neighbor entry names the new node, the new node has
# the gateway's proof that it followed, and the client's pings are answered again.
flip_seen() { grep -F " $VIP " "$WORK/neigh.log" | grep -F "lladdr $NEW_MAC"; } # the client's entries naming the new node
flipped() { flip_seen >/dev/null; }
# The new node's history: when the gateway answered the VIP.
history_of() { on "$TO" sh -c 'cat /run/resource-agents/IPaddr-history-* 2>/dev/null' | grep -F "\"event\":\"$1\"" | tail -1; }
converged() { [ -n "$(history_of converged)" ]; }
wait_for 10000 flipped || true
wait_for 10000 converged || true
wait_for 3000 replies_past "$WORK/ping.log" "$(replies "$WORK/ping.log")" || true
kill -TERM "$PING" "$MONITOR" 2>/dev/null; wait "$PING" "$MONITOR" 2>/dev/null || true
FLIP=$(flip_seen | head -1 | sed -n 's/^\[\([^]]*\)\].*/\1/p')
[ -n "$FLIP" ] && FLIP=$(date -d "$FLIP" +%s%3N)

# Pacemaker's executor logs each agent run with a millisecond timestamp.
op_ms() { # op_ms NODE_INDEX OP (start|stop): when that operation of vip finished
    local line
    line=$(on "$1" grep -E "vip $2 \(call [0-9]+, PID [0-9]+\) exited" /var/log/pacemaker/pacemaker.log | tail -1)
    [ -n "$line" ] || return 0
    echo $(( $(date -d "$(echo "$line" | awk '{print $1, $2, $3}')" +%s%3N) ))
}
op_took() { on "$1" grep -E "vip $2 \(call [0-9]+, PID [0-9]+\) exited" /var/log/pacemaker/pacemaker.log | tail -1 | sed -n 's/.*execution time \([0-9.]*m\{0,1\}s\).*/\1/p'; }
STOPPED=$(op_ms "$FROM" stop); STARTED=$(op_ms "$TO" start)

CONVERGED=$(history_of converged || true)

bold "5. Failover timeline (ms after 'crm node standby')"
{
[ -n "$STOPPED" ] && printf '  %6d  node%d: Pacemaker stopped vip (agent stop took %s)\n' $((STOPPED - T0)) $((FROM + 1)) "$(op_took "$FROM" stop)"
[ -n "$STARTED" ] && printf '  %6d  node%d: our agent started vip (start took %s)\n' $((STARTED - T0)) $((TO + 1)) "$(op_took "$TO" start)"
[ -n "$FLIP" ] && printf '  %6d  client: neighbor entry for %s now %s (node%d)\n' $((FLIP - T0)) "$VIP" "$NEW_MAC" $((TO + 1))
if [ -n "$CONVERGED" ]; then
    AT=$(echo "$CONVERGED" | sed -n 's/.*"time":\([0-9.]*\).*/\1/p')
    AFTER=$(echo "$CONVERGED" | sed -n 's/.*"after_ms":\([0-9]*\).*/\1/p')
    printf '  %6d  node%d: gateway 192.0.2.100 answered the VIP: neighbours converged %s ms after the add\n' \
        $(( ${AT%.*} * 1000 + 10#$(printf '%.3s' "${AT#*.}000") - T0 )) $((TO + 1)) "$AFTER"
fi
true
} | sort -n
[ -n "$FLIP" ] || echo "  client: neighbor entry did not change within 15 s"
[ -n "$CONVERGED" ] || echo "  node$((TO + 1)): no proof that the gateway followed (IPaddr explain shows why)"
read -r REPLIES GAP BEFORE AFTER < <(awk -v t0="$T0" -f "$HERE/failover-gap.awk" "$WORK/ping.log")
printf '  client: %d ping replies; outage around the failover %d ms (last reply %s ms, next %s ms)\n' \
    "$REPLIES" "$GAP" "$BEFORE" "$AFTER"
ip netns exec "$CLIENT" ping -c 1 -W 1 "$VIP" >/dev/null && echo "  client reaches $VIP on node$((TO + 1))"

bold "6. On node$((TO + 1)), the network manager reconfigures eth0 and drops the VIP: networkctl reconfigure eth0"
ip netns exec "$CLIENT" ping -D -n -i 0.01 -W 0.1 -w 4 "$VIP" >"$WORK/ping2.log" 2>&1 &
PING=$!
ip -n "${NODES[$TO]}" -ts monitor address dev eth0 >"$WORK/addr.log" 2>&1 &
MONITOR=$!
wait_for 5000 replies_past "$WORK/ping2.log" 20 || true
T1=$(now_ms)
networkctl_on "$TO" reconfigure eth0
# Until the VIP was removed and is back, the watcher recorded its repair,
# and the client's pings are answered again.
event_ms() { # event_ms PATTERN: when `ip monitor` first saw a line with it, ms since the epoch
    local at
    at=$(grep -F " $VIP/" "$WORK/addr.log" | grep -E "$1" | head -1 | sed -n 's/^\[\([^]]*\)\].*/\1/p')
    [ -n "$at" ] && date -d "$at" +%s%3N
}
ADDED='^\[[^]]*\] [0-9]+: eth0 +inet ' # an `ip -ts monitor address` line of an add
back() { [ -n "$(event_ms "$ADDED")" ] && [ -n "$(history_of repaired)" ]; }
wait_for 10000 back || true
wait_for 3000 replies_past "$WORK/ping2.log" "$(replies "$WORK/ping2.log")" || true
kill -TERM "$PING" "$MONITOR" 2>/dev/null; wait "$PING" "$MONITOR" 2>/dev/null || true
DELETED=$(event_ms '^\[[^]]*\] Deleted') || true
READDED=$(event_ms "$ADDED") || true
REPAIRED=$(history_of repaired || true)
bold "7. Repair timeline (ms after 'networkctl reconfigure eth0')"
[ -n "$DELETED" ] && printf '  %6d  node%d: %s removed from eth0\n' $((DELETED - T1)) $((TO + 1)) "$VIP"
if [ -n "$REPAIRED" ]; then
    BY=$(echo "$REPAIRED" | sed -n 's/.*"by":"\([^"]*\)".*/\1/p')
    AFTER=$(echo "$REPAIRED" | sed -n 's/.*"after_ms":\([0-9]*\).*/\1/p')
    [ -n "$READDED" ] && printf '  %6d  node%d: the watcher put %s back (removed by %s; put back after %s ms)\n' \
        $((READDED - T1)) $((TO + 1)) "$VIP" "$BY" "$AFTER"
else
    echo "  node$((TO + 1)): no repair recorded (IPaddr explain shows why)"
fi
read -r REPLIES GAP BEFORE AFTER < <(awk -v t0="$T1" -f "$HERE/failover-gap.awk" "$WORK/ping2.log")
printf '  client: %d ping replies; outage around the removal %d ms\n' "$REPLIES" "$GAP"
# The next 5 s monitor tells Pacemaker: degraded once, with who removed it; no restart.
T_MON=$(now_ms)
until on 0 crm_mon -1 --output-as=xml 2>/dev/null | grep -q 'exitcode="190"'; do
    (( $(now_ms) - T_MON < 15000 )) || break
    sleep 0.5
done
REASON=$(on 0 crm_mon -1 --output-as=xml 2>/dev/null | grep 'exitcode="190"' | sed -n 's/.*exitreason="\([^"]*\)".*/\1/p' | head -1 || true)
[ -n "$REASON" ] && echo "  crm_mon: vip_monitor_5000 degraded (190): $REASON"
FAILCOUNT=$(on 0 crm_failcount --query --resource vip --node "node$((TO + 1))" 2>/dev/null | sed -n 's/.*value=//p' || true)
echo "  vip still on $(where); fail count $FAILCOUNT"
bold "8. Cleaning up"
