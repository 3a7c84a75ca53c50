#!/usr/bin/env bash
# make demo: a real failover of a VIP between two nodes, each a network
# namespace, on one Ethernet segment (a bridge) with a client namespace
# watching. The agent is invoked directly, as Pacemaker would invoke it.
set -euo pipefail

AGENT=$(realpath "${1:-target/release/IPaddr}")
VIP=192.0.2.50
TAG="demo$$"
SEG="$TAG-seg" A="$TAG-a" B="$TAG-b" CLIENT="$TAG-client"
RSCTMP=$(mktemp -d)

cleanup() {
    for ns in "$CLIENT" "$A" "$B" "$SEG"; do
        for pid in $(ip netns pids "$ns" 2>/dev/null); do kill -9 "$pid" 2>/dev/null || true; done
        ip netns del "$ns" 2>/dev/null || true
    done
    rm -rf "$RSCTMP"
}
trap cleanup EXIT

now_ms() { echo $(( $(date +%s%N) / 1000000 )); }
say() { printf '\033[1m%s\033[0m\n' "$*"; }
agent() { # agent NODE ACTION: run the agent like Pacemaker would
    local node=$1 action=$2 t0 rc=0
    t0=$(now_ms)
    ip netns exec "$node" env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HA_RSCTMP="$RSCTMP/$node" \
        OCF_RESKEY_ip=$VIP OCF_RESKEY_cidr_netmask=24 OCF_RESKEY_nic=eth0 \
        "$AGENT" "$action" || rc=$?
    printf '  %-8s %-7s exit %d in %4d ms\n' "${node#"$TAG"-}" "$action" "$rc" $(( $(now_ms) - t0 ))
}
client_neigh() { ip -n "$CLIENT" neigh show "$VIP" | awk '{for (i=1;i<NF;i++) if ($i=="lladdr") print $(i+1)}'; }
mac_of() { ip -n "$1" -o link show eth0 | awk '{for (i=1;i<NF;i++) if ($i=="link/ether") print $(i+1)}'; }

say "Building the segment: nodes a and b and a client on one bridge"
ip netns add "$SEG"
ip -n "$SEG" link add br0 type bridge
ip -n "$SEG" link set br0 up
i=0
for ns in "$A" "$B" "$CLIENT"; do
    i=$((i + 1))
    ip netns add "$ns"
    ip -n "$ns" link set lo up
    ip -n "$SEG" link add "leg$i" type veth peer name eth0 netns "$ns"
    ip -n "$SEG" link set "leg$i" master br0 up
    ip -n "$ns" link set eth0 up
done
ip -n "$A" addr add 192.0.2.11/24 dev eth0
ip -n "$B" addr add 192.0.2.12/24 dev eth0
ip -n "$CLIENT" addr add 192.0.2.100/24 dev eth0
mkdir -p "$RSCTMP/$A" "$RSCTMP/$B"
MAC_A=$(mac_of "$A") MAC_B=$(mac_of "$B")
echo "  node a 192.0.2.11 ($MAC_A), node b 192.0.2.12 ($MAC_B), client 192.0.2.100, VIP $VIP"
sleep 1

say "1. Start the VIP on node a"
agent "$A" start
agent "$A" monitor
ip netns exec "$CLIENT" ping -c1 -W1 "$VIP" >/dev/null && echo "  client reaches $VIP"
echo "  client's neighbor entry: $VIP -> $(client_neigh) (node a is $MAC_A)"

say "2. Move it to node b while the client pings every 10 ms"
PINGLOG="$RSCTMP/ping.log"
ip netns exec "$CLIENT" ping -D -n -i 0.01 -W 0.1 -w 8 "$VIP" >"$PINGLOG" 2>&1 &
PING=$!
sleep 1
T_MOVE=$(now_ms)
agent "$A" stop
T_STOPPED=$(now_ms)
agent "$B" start
T_STARTED=$(now_ms)
FLIP=""
while (( $(now_ms) - T_STARTED < 6000 )); do
    if [ "$(client_neigh)" = "$MAC_B" ]; then FLIP=$(now_ms); break; fi
    sleep 0.005
done
wait "$PING" || true

say "3. Timeline (ms from the start of the move)"
printf '  %6d  node a: stop returned\n' $(( T_STOPPED - T_MOVE ))
printf '  %6d  node b: start returned\n' $(( T_STARTED - T_MOVE ))
if [ -n "$FLIP" ]; then
    printf '  %6d  client: neighbor entry for %s now points at node b (%s)\n' $(( FLIP - T_MOVE )) "$VIP" "$MAC_B"
else
    echo "  client: neighbor entry still $(client_neigh) after 6 s"
fi
awk -v move="$T_MOVE" '
    /bytes from/ { t = substr($1, 2, length($1) - 2) * 1000; if (last && t - last > gap) { gap = t - last; at = last }; last = t; n++ }
    END { printf "  client: %d replies; longest gap between replies %.0f ms (starting %+.0f ms)\n", n, gap, at - move }
' "$PINGLOG"
agent "$B" monitor
agent "$A" monitor || true
say "Done; cleaning up."
