#!/usr/bin/env bash
# Installs what the tests, the demo and the benchmark need, with apt and
# cargo, and nothing that is already there. Safe to run again.
set -euo pipefail

packages=(
    iproute2          # ip netns / veth for every namespace test
    iputils-ping      # the client's reachability checks
    libxml2-utils     # xmllint: metadata against the OCF schemas
    resource-agents   # IPaddr2, ocf-tester and ocft, to compare against
    iputils-arping    # IPaddr2's run_arping, in the side-by-side test
    strace            # proves that no action spawns a child process
    tcpdump           # captures in the client namespace
    procps            # sysctl in the client namespace
    pacemaker         # the cluster tests: a real Pacemaker 2.1 ...
    pacemaker-cli-utils
    corosync          # ... on Corosync 3 ...
    crmsh             # ... driven with crm ...
    pcs               # ... and with pcs
    util-linux        # nsenter, unshare, setpriv
    xsltproc          # the man page, generated from the metadata
    groff-base        # checks that the man page renders
    dpkg-dev          # dpkg-architecture for make deb
    nftables          # the cluster IP's packet filter (nft) ...
    iptables          # ... and its iptables back end
    prometheus-node-exporter  # scrapes the agent's metrics textfiles ...
    prometheus        # ... and promtool checks them
    systemd           # systemd-networkd, a real remover of foreign addresses ...
    dbus              # ... and the bus networkctl reaches it through
    network-manager   # NetworkManager, another (run in a namespace; never on the host)
)

missing=()
for pkg in "${packages[@]}"; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed' || missing+=("$pkg")
done
if ((${#missing[@]})); then
    echo "installing: ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    # The tests start their daemons themselves, inside namespaces: keep the
    # packages' own services (corosync, pacemaker, node_exporter, prometheus)
    # from starting on the host while they install.
    policy=/usr/sbin/policy-rc.d
    if [ ! -e "$policy" ]; then
        printf '#!/bin/sh\nexit 101\n' > "$policy"
        chmod 755 "$policy"
        trap 'rm -f "$policy"' EXIT
    fi
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
    # Installed here for the tests only: it must not take over the host's
    # interfaces at the next boot either.
    if [[ " ${missing[*]} " == *" network-manager "* ]] && command -v systemctl >/dev/null; then
        systemctl disable --quiet NetworkManager.service NetworkManager-wait-online.service \
            NetworkManager-dispatcher.service 2>/dev/null || true
    fi
fi

if ! cargo nextest --version >/dev/null 2>&1; then
    echo "installing cargo-nextest"
    cargo install --locked cargo-nextest
fi
