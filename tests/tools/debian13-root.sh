#!/usr/bin/env bash
# Builds, once, a Debian 13 (trixie) root with its cluster stack
# (Pacemaker 3.0, Corosync, pcs 0.12, crmsh 5, resource-agents 4.16), so the
# cluster tests run on today's stack as well as on the host's Debian 12 one.
# The root is reused while its stamp matches this script's package list;
# an interrupted build is thrown away and started again.
#
#   tests/tools/debian13-root.sh [ROOT]      (default: target/debian13-root)
set -euo pipefail

root=${1:-$(cd "$(dirname "$0")/../.." && pwd)/target/debian13-root}
suite=trixie
packages=(pacemaker pacemaker-cli-utils corosync pcs crmsh resource-agents
    iproute2 nftables iptables procps util-linux prometheus-node-exporter)
stamp="$suite ${packages[*]}"

if [ -f "$root/.ocf-ipaddr-stamp" ] && [ "$(cat "$root/.ocf-ipaddr-stamp")" = "$stamp" ]; then
    exit 0
fi

# The mirror the machine already uses (deb822 or one-line sources).
mirror=$(sed -n 's/^URIs:[[:space:]]*\([^[:space:]]*\/debian\)\/\{0,1\}[[:space:]]*$/\1/p' \
    /etc/apt/sources.list.d/*.sources 2>/dev/null | head -n 1)
if [ -z "$mirror" ]; then
    mirror=$(sed -n 's/^deb[[:space:]]\+\(\[[^]]*\][[:space:]]\+\)\{0,1\}\([^[:space:]]*\/debian\)\/\{0,1\}[[:space:]].*/\2/p' \
        /etc/apt/sources.list /etc/apt/sources.list.d/*.list 2>/dev/null | head -n 1)
fi
if [ -z "$mirror" ]; then
    echo "debian13-root: no Debian mirror found in /etc/apt/sources.list*" >&2
    exit 1
fi

if ! command -v debootstrap >/dev/null; then
    echo "installing debootstrap"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends debootstrap >/dev/null
fi

echo "building a Debian 13 root in $root from $mirror (once; about 3 minutes)"
building="$root.building"
# On a fresh clone nothing has made target/ yet.
mkdir -p "$(dirname "$root")"
cleanup() {
    for m in proc sys dev; do umount -l "$building/$m" 2>/dev/null || true; done
}
trap cleanup EXIT
cleanup
rm -rf "$building"
debootstrap --variant=minbase "$suite" "$building" "$mirror" >"$building.log" 2>&1 || {
    tail -n 20 "$building.log" >&2
    exit 1
}
cp /etc/resolv.conf "$building/etc/resolv.conf"
# No daemon may start inside the root while packages install.
printf '#!/bin/sh\nexit 101\n' >"$building/usr/sbin/policy-rc.d"
chmod 0755 "$building/usr/sbin/policy-rc.d"
mount -t proc proc "$building/proc"
mount --rbind /sys "$building/sys"
mount --rbind /dev "$building/dev"
chroot "$building" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
    --no-install-recommends "${packages[@]}" >>"$building.log" 2>&1 || {
    tail -n 20 "$building.log" >&2
    exit 1
}
chroot "$building" apt-get clean
cleanup
trap - EXIT
mkdir -p "$building/usr/lib/ocf/resource.d/rust"
echo "$stamp" >"$building/.ocf-ipaddr-stamp"
rm -rf "$root"
mv "$building" "$root"
rm -f "$building.log"
echo "Debian 13 root ready: $(chroot "$root" dpkg-query -W -f='${Package} ${Version}\n' pacemaker pcs crmsh resource-agents | tr '\n' ' ')"
